package pipeline

import (
	"fmt"
	"github.com/acme-data/prefect-flows/ci/preflight"
	"io"
	"strconv"
	"strings"
	"time"

	"dagger.io/dagger"

	"github.com/acme-data/prefect-flows/ci/liveplan"
)

// Secret is a plaintext read from the environment on its way to client.SetSecret. It
// prints as a mask, so an accidental %v or %+v of Settings shows nothing.
type Secret string

func (Secret) String() string   { return "[redacted]" }
func (Secret) GoString() string { return `"[redacted]"` }

// Set says whether the secret has a value.
func (s Secret) Set() bool { return s != "" }

// Settings is the environment-variable configuration of mage and CI, before there is an
// engine session to turn secrets into *dagger.Secret. Every name in the README's table is
// read here and nowhere else.
type Settings struct {
	Env             string
	SourceDir       string
	BaseImage       string // BASE_IMAGE
	Registry        string // REGISTRY
	ImageRepository string // IMAGE_REPOSITORY
	RegistryUser    string // REGISTRY_USERNAME
	RegistryPass    Secret // REGISTRY_PASSWORD
	GitSHA          string // GIT_SHA, else GITHUB_SHA shortened
	PrefectAPIURL   Secret // PREFECT_API_URL
	PrefectAPIKey   Secret // PREFECT_API_KEY
	ECS             ECS
	AWSAccessKeyID  Secret        // AWS_ACCESS_KEY_ID
	AWSSecretKey    Secret        // AWS_SECRET_ACCESS_KEY
	Runner          string        // DEPLOY_RUNNER: api (default), batch or cli
	Concurrency     int           // DEPLOY_CONCURRENCY
	Timeout         time.Duration // DEPLOY_TIMEOUT
	Only            []string
	Prune           bool   // PREFECT_PRUNE
	Owner           string // PREFECT_OWNER; empty: Options.owner applies the rest of the rule
	// AllowUnpublishedImage is ALLOW_UNPUBLISHED_IMAGE: see Options.AllowUnpublishedImage.
	AllowUnpublishedImage bool
	StepSummaryPath       string // GITHUB_STEP_SUMMARY
	GitHubActions         bool   // GITHUB_ACTIONS=true: fold each step's details into a log group
	// DaggerProgress (DAGGER_PROGRESS) non-empty shows Dagger's own progress on stderr,
	// in that format (the Dagger CLI reads the variable itself); empty shows only the
	// pipeline's lines.
	DaggerProgress string
	// SkipPreflight leaves out the preflight step (tests whose API URL is not a server).
	SkipPreflight bool
}

// SettingsFromEnv reads the configuration of environment env (dev, prod, ...) through
// getenv (os.Getenv in mage). A missing or malformed variable is a one-line error that
// names it. sourceDir is the repository root.
func SettingsFromEnv(env, sourceDir string, getenv func(string) string) (Settings, error) {
	s, err := parseSettings(env, sourceDir, getenv)
	if err != nil {
		return Settings{}, err
	}
	// The same rules as Options.check, which the Dagger module goes through.
	if err := s.config().check(); err != nil {
		return Settings{}, err
	}
	if s.PrefectAPIURL.Set() && !strings.HasPrefix(string(s.PrefectAPIURL), "http://") && !strings.HasPrefix(string(s.PrefectAPIURL), "https://") {
		// The value itself stays out of the message: a URL can carry credentials.
		return Settings{}, fmt.Errorf("PREFECT_API_URL does not start with http:// or https://")
	}
	return s, nil
}

// parseSettings reads the variables and rejects values that do not parse; whether they
// fit together is config.check's business.
func parseSettings(env, sourceDir string, getenv func(string) string) (Settings, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	s := Settings{
		Env:             env,
		SourceDir:       sourceDir,
		BaseImage:       get("BASE_IMAGE"),
		Registry:        get("REGISTRY"),
		ImageRepository: get("IMAGE_REPOSITORY"),
		RegistryUser:    get("REGISTRY_USERNAME"),
		RegistryPass:    Secret(getenv("REGISTRY_PASSWORD")),
		GitSHA:          get("GIT_SHA"),
		PrefectAPIURL:   Secret(get("PREFECT_API_URL")),
		PrefectAPIKey:   Secret(getenv("PREFECT_API_KEY")),
		ECS: ECS{
			Cluster:          get("ECS_CLUSTER"),
			VPCID:            get("ECS_VPC_ID"),
			ExecutionRoleARN: get("ECS_EXECUTION_ROLE_ARN"),
			TaskRoleARN:      get("ECS_TASK_ROLE_ARN"),
			CPU:              get("ECS_CPU"),
			Memory:           get("ECS_MEMORY"),
			Region:           get("AWS_REGION"),
		},
		AWSAccessKeyID:  Secret(getenv("AWS_ACCESS_KEY_ID")),
		AWSSecretKey:    Secret(getenv("AWS_SECRET_ACCESS_KEY")),
		Runner:          get("DEPLOY_RUNNER"),
		StepSummaryPath: get("GITHUB_STEP_SUMMARY"),
		GitHubActions:   get("GITHUB_ACTIONS") == "true",
		DaggerProgress:  get("DAGGER_PROGRESS"),
	}
	if s.GitSHA == "" {
		if full := get("GITHUB_SHA"); full != "" {
			s.GitSHA = shortSHA(full)
		}
	}
	if v := get("DEPLOY_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return Settings{}, fmt.Errorf("DEPLOY_CONCURRENCY=%q: want a whole number of at least 1", v)
		}
		s.Concurrency = n
	}
	if v := get("DEPLOY_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Settings{}, fmt.Errorf("DEPLOY_TIMEOUT=%q: want a positive Go duration such as 10m", v)
		}
		s.Timeout = d
	}
	if v := get("DEPLOY_ONLY"); v != "" {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				s.Only = append(s.Only, name)
			}
		}
	}
	switch s.DaggerProgress {
	case "", "plain", "dots", "report":
	default:
		// The engine session the SDK starts inherits the variable and exits on any other
		// value ("tty" needs a terminal, and its stderr is a pipe).
		return Settings{}, fmt.Errorf("DAGGER_PROGRESS=%q: want plain, dots or report (Dagger's progress reaches mage through a pipe, not a terminal), or leave it unset", s.DaggerProgress)
	}
	// The rest of the owner rule (GITHUB_REPOSITORY, git remote, directory) is applied
	// by Options.owner, in one place with the Dagger module's path.
	if v := get("PREFECT_OWNER"); v != "" {
		if err := liveplan.CheckOwner(v); err != nil {
			return Settings{}, fmt.Errorf("PREFECT_OWNER: %w", err)
		}
		s.Owner = v
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"PREFECT_PRUNE", &s.Prune}, {"ALLOW_UNPUBLISHED_IMAGE", &s.AllowUnpublishedImage}} {
		switch v := strings.ToLower(get(b.name)); v {
		case "", "0", "false":
		case "1", "true":
			*b.dst = true
		default:
			return Settings{}, fmt.Errorf("%s=%q: want 1 or 0", b.name, v)
		}
	}
	return s, nil
}

func (s Settings) config() config {
	return config{
		env: s.Env, sourceDir: s.SourceDir,
		runner: s.Runner, concurrency: s.Concurrency, timeout: s.Timeout,
		only: len(s.Only) > 0, prune: s.Prune,
		apiURL: s.PrefectAPIURL.Set(), apiKey: s.PrefectAPIKey.Set(), ecs: s.ECS,
		registry: s.Registry, registryUser: s.RegistryUser, registryPass: s.RegistryPass.Set(),
		awsID: s.AWSAccessKeyID.Set(), awsSecret: s.AWSSecretKey.Set(),
		allowUnpublished: s.AllowUnpublishedImage, repository: s.ImageRepository,
	}
}

// CheckDeploy applies the rules of a run that writes to Prefect (mage's deploy targets,
// not its image target), so they stop the run before an engine is started.
func (s Settings) CheckDeploy() error { return s.config().checkDeploy() }

// Options turns the settings into pipeline options. client.SetSecret sends nothing by
// itself; the plaintext reaches the engine only when a step uses the secret.
func (s Settings) Options(client *dagger.Client, out io.Writer) Options {
	secret := func(name string, v Secret) *dagger.Secret {
		if !v.Set() {
			return nil
		}
		return client.SetSecret(name, string(v))
	}
	return Options{
		Env:                   s.Env,
		SourceDir:             s.SourceDir,
		BaseImage:             s.BaseImage,
		Registry:              s.Registry,
		ImageRepository:       s.ImageRepository,
		RegistryUsername:      s.RegistryUser,
		RegistryPassword:      secret("registry-password", s.RegistryPass),
		GitSHA:                s.GitSHA,
		GitSHAHint:            "set GIT_SHA",
		PrefectAPIURL:         secret("prefect-api-url", s.PrefectAPIURL),
		PrefectAPIKey:         secret("prefect-api-key", s.PrefectAPIKey),
		ECS:                   s.ECS,
		AWSAccessKeyID:        secret("aws-access-key-id", s.AWSAccessKeyID),
		AWSSecretAccessKey:    secret("aws-secret-access-key", s.AWSSecretKey),
		Runner:                s.Runner,
		Concurrency:           s.Concurrency,
		Timeout:               s.Timeout,
		Only:                  s.Only,
		Prune:                 s.Prune,
		Owner:                 s.Owner,
		AllowUnpublishedImage: s.AllowUnpublishedImage,
		Out:                   out,
		StepSummaryPath:       s.StepSummaryPath,
		LogGroups:             s.GitHubActions,
		Redact:                masker(s.plaintexts()).mask,
		PrefectAPI:            s.preflightAPI(),
	}
}

// ProgressOutput is where Dagger's own progress goes: stderr when DAGGER_PROGRESS asks
// for it, else nowhere. By default the log holds only the pipeline's lines; with both,
// every exec's output would appear twice (once in Dagger's progress, once in the step's
// lines). Nil also keeps the SDK quiet: it then buffers the engine's stderr only to
// quote it in a connection error.
func (s Settings) ProgressOutput(stderr io.Writer) io.Writer {
	if s.DaggerProgress == "" {
		return nil
	}
	return stderr
}

// preflightAPI is the client of the preflight step; nil without an API URL or with
// SkipPreflight.
func (s Settings) preflightAPI() preflight.API {
	if !s.PrefectAPIURL.Set() || s.SkipPreflight {
		return nil
	}
	return preflightClient(string(s.PrefectAPIURL), string(s.PrefectAPIKey))
}

// plaintexts lists the secret values, for masking output that the engine echoes back.
func (s Settings) plaintexts() []string {
	var out []string
	for _, v := range []Secret{s.RegistryPass, s.PrefectAPIURL, s.PrefectAPIKey, s.AWSAccessKeyID, s.AWSSecretKey} {
		if v.Set() {
			out = append(out, string(v))
		}
	}
	return out
}
