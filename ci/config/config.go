// Package config is the pipeline's configuration: one type for mage (FromEnv reads the
// environment variables of the README's configuration table) and the Dagger module
// (which fills the same fields from its constructor and with- functions), with one
// validation (Check, CheckDeploy) and one set of defaults (the Default constants and
// the methods that apply them). Adding a setting means adding a field here, its
// variable in FromEnv, its rule in Check, and its route in the module.
package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/acme-data/prefect-flows/ci/deploycli"
)

// Config configures one pipeline run. Errors about it name the environment variables
// of the README's table; the Dagger module's arguments map onto them one to one (each
// argument's help names its variable).
type Config struct {
	// Env selects prefect-deployments-<Env>.yaml and infrastructure/ecs-task-<Env>.py
	// (mage: the target's argument, DEPLOY_ENV for the image target; module: --env).
	Env string
	// SourceDir is the repository on the local disk. The deployments file is read from
	// it, so a config error is found before the engine is asked anything.
	SourceDir string
	// BaseImage, when set, is passed to the Dockerfile as build argument BASE_IMAGE.
	BaseImage string // BASE_IMAGE

	// Registry (e.g. ghcr.io) turns publishing on; without it the image stays local.
	Registry string // REGISTRY
	// ImageRepository is the path under Registry; empty means DefaultRepository.
	ImageRepository  string // IMAGE_REPOSITORY
	RegistryUsername string // REGISTRY_USERNAME
	RegistryPassword Secret // REGISTRY_PASSWORD
	// AllowUnpublishedImage lets a run write to a real Prefect API without Registry:
	// the blocks then name an image that exists only in the engine. Only for
	// infrastructure that does not pull images.
	AllowUnpublishedImage bool // ALLOW_UNPUBLISHED_IMAGE
	// GitSHA tags the published image <env>-<GitSHA>; empty means read it from SourceDir.
	GitSHA string // GIT_SHA, else GITHUB_SHA shortened

	// PrefectAPIURL unset selects the embedded throwaway server, which only dev may use.
	PrefectAPIURL Secret // PREFECT_API_URL
	PrefectAPIKey Secret // PREFECT_API_KEY

	// ECS holds what infrastructure/ecs-task-<env>.py reads besides the image.
	ECS                ECS
	AWSAccessKeyID     Secret // AWS_ACCESS_KEY_ID
	AWSSecretAccessKey Secret // AWS_SECRET_ACCESS_KEY

	// Runner is how the deploy step writes the deployments; "" means RunnerAPI.
	Runner string // DEPLOY_RUNNER
	// Concurrency bounds the deploy step's work in flight; 0 means the runner's default
	// (DeployConcurrency).
	Concurrency int // DEPLOY_CONCURRENCY
	// Timeout bounds each deployment's build; 0 means DefaultTimeout.
	Timeout time.Duration // DEPLOY_TIMEOUT
	// Only, when not empty, limits the deploy step to these deployment names.
	Only []string // DEPLOY_ONLY
	// Prune deletes, after a fully successful and verified deploy, the deployments that
	// carry this environment's ownership tag but are no longer in the file.
	Prune bool // PREFECT_PRUNE
	// TakeOver lets the deploy overwrite deployments that another owner's tag marks as
	// theirs; without it the deploy step refuses them and deploys nothing.
	TakeOver bool // PREFECT_TAKE_OVER
	// Owner is the owner in the ownership tag managed-by:prefect-flows:<owner>:<env>;
	// empty means ownership.ResolveOwner on the process's environment and SourceDir.
	Owner string // PREFECT_OWNER
	// PoolType is the type of the work pools the pipeline creates for a Prefect 3 file
	// (the pools step creates only missing ones); "" means DefaultPoolType, or
	// EmbeddedPoolType on the embedded server.
	PoolType string // PREFECT_POOL_TYPE
	// PoolAnyType accepts an existing work pool of any type; without it a pool of a type
	// other than WorkPoolType stops the run before anything is built.
	PoolAnyType bool // PREFECT_POOL_ANY_TYPE
	// PoolUpdateTemplate sets the base job template of each existing pool of
	// WorkPoolType to that worker type's default; without it an existing pool is never
	// changed.
	PoolUpdateTemplate bool // PREFECT_POOL_UPDATE_TEMPLATE

	// StepSummaryPath is $GITHUB_STEP_SUMMARY; the Markdown report is appended to it.
	StepSummaryPath string // GITHUB_STEP_SUMMARY
	// LogGroups folds each step's details into a GitHub Actions log group.
	LogGroups bool // GITHUB_ACTIONS=true
	// DaggerProgress non-empty shows Dagger's own progress on stderr, in that format
	// (the Dagger CLI reads the variable itself); empty shows only the pipeline's lines.
	DaggerProgress string // DAGGER_PROGRESS
}

// ECS are the plain (not secret) settings of the ECS task block.
type ECS struct {
	Cluster          string // ECS_CLUSTER
	VPCID            string // ECS_VPC_ID
	ExecutionRoleARN string // ECS_EXECUTION_ROLE_ARN
	TaskRoleARN      string // ECS_TASK_ROLE_ARN
	CPU              string // ECS_CPU
	Memory           string // ECS_MEMORY
	Region           string // AWS_REGION
}

// The deploy step's runners (DEPLOY_RUNNER).
const (
	RunnerAPI   = "api"
	RunnerBatch = "batch"
	RunnerCLI   = "cli"
)

// The defaults, in one place.
const (
	// DefaultConcurrency is how many deployments RunnerCLI builds at once. Each
	// `prefect deployment build` spends seconds importing Prefect, so a few in
	// parallel pay off without flooding the API.
	DefaultConcurrency = 4
	// DefaultAPIConcurrency is how many writes RunnerAPI has in flight.
	DefaultAPIConcurrency = deploycli.DefaultAPIConcurrency
	// DefaultBatchShares is how many runner.py execs RunnerBatch runs at once. Once
	// Prefect's import is paid, a job is one Python thread's CPU work plus API waits: on
	// 2 cores, 50 CPU-bound jobs took 12.8 s in 2 runners and 14.3 s in 4
	// (ci/prefectcli/batch's benchmark), and every runner holds a whole Prefect in memory.
	// The engine's CPU count is not known here (it may be remote), so the figure is
	// fixed at the 2 cores of a standard CI runner.
	DefaultBatchShares = 2
	// DefaultTimeout bounds one deployment build: a healthy one takes seconds, a hung
	// API call should not hold the pipeline for an hour. It is prefect-deploy's own
	// --timeout default, which the deploy exec runs with.
	DefaultTimeout = deploycli.DefaultTimeout
	// DefaultRepository names the image when IMAGE_REPOSITORY is not set.
	DefaultRepository = "prefect-flows"
	// DefaultPoolType is the type of the work pools created on a real Prefect 3 API.
	DefaultPoolType = "ecs"
	// EmbeddedPoolType is the type created on the embedded server: the process worker
	// type ships with Prefect itself, so the server knows its base job template without
	// prefect-aws.
	EmbeddedPoolType = "process"
	// DefaultImageEnv is the image target's environment when DEPLOY_ENV is not set.
	DefaultImageEnv = "dev"
)

// DeployRunner is Runner, or its default.
func (c Config) DeployRunner() string {
	if c.Runner == "" {
		return RunnerAPI
	}
	return c.Runner
}

// DeployConcurrency is Concurrency, or the runner's default.
func (c Config) DeployConcurrency() int {
	if c.Concurrency > 0 {
		return c.Concurrency
	}
	switch c.DeployRunner() {
	case RunnerAPI:
		return DefaultAPIConcurrency
	case RunnerBatch:
		return DefaultBatchShares
	}
	return DefaultConcurrency
}

// DeployTimeout is Timeout, or DefaultTimeout.
func (c Config) DeployTimeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// Repository is ImageRepository, or DefaultRepository.
func (c Config) Repository() string {
	if c.ImageRepository != "" {
		return c.ImageRepository
	}
	return DefaultRepository
}

// WorkPoolType is PoolType, else the default for where the run deploys.
func (c Config) WorkPoolType() string {
	switch {
	case c.PoolType != "":
		return c.PoolType
	case c.Embedded():
		return EmbeddedPoolType
	}
	return DefaultPoolType
}

// Embedded says whether the run deploys into the throwaway server.
func (c Config) Embedded() bool { return !c.PrefectAPIURL.Set() }

// ImageEnv is the environment of mage's image target: DEPLOY_ENV, else DefaultImageEnv.
func ImageEnv(getenv func(string) string) string {
	if env := strings.TrimSpace(getenv("DEPLOY_ENV")); env != "" {
		return env
	}
	return DefaultImageEnv
}

// FromEnv reads the configuration of environment env (dev, prod, ...) through getenv
// (os.Getenv in mage) and checks it. A missing or malformed variable is a one-line
// error that names it. sourceDir is the repository root.
func FromEnv(env, sourceDir string, getenv func(string) string) (Config, error) {
	c, err := parse(env, sourceDir, getenv)
	if err != nil {
		return Config{}, err
	}
	if err := c.Check(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// parse reads the variables and rejects values that do not parse; whether they fit
// together is Check's business.
func parse(env, sourceDir string, getenv func(string) string) (Config, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	c := Config{
		Env:                env,
		SourceDir:          sourceDir,
		BaseImage:          get("BASE_IMAGE"),
		Registry:           get("REGISTRY"),
		ImageRepository:    get("IMAGE_REPOSITORY"),
		RegistryUsername:   get("REGISTRY_USERNAME"),
		RegistryPassword:   Plaintext(getenv("REGISTRY_PASSWORD")),
		GitSHA:             get("GIT_SHA"),
		PrefectAPIURL:      Plaintext(get("PREFECT_API_URL")),
		PrefectAPIKey:      Plaintext(getenv("PREFECT_API_KEY")),
		AWSAccessKeyID:     Plaintext(getenv("AWS_ACCESS_KEY_ID")),
		AWSSecretAccessKey: Plaintext(getenv("AWS_SECRET_ACCESS_KEY")),
		ECS: ECS{
			Cluster:          get("ECS_CLUSTER"),
			VPCID:            get("ECS_VPC_ID"),
			ExecutionRoleARN: get("ECS_EXECUTION_ROLE_ARN"),
			TaskRoleARN:      get("ECS_TASK_ROLE_ARN"),
			CPU:              get("ECS_CPU"),
			Memory:           get("ECS_MEMORY"),
			Region:           get("AWS_REGION"),
		},
		Runner:          get("DEPLOY_RUNNER"),
		Owner:           get("PREFECT_OWNER"),
		PoolType:        get("PREFECT_POOL_TYPE"),
		StepSummaryPath: get("GITHUB_STEP_SUMMARY"),
		LogGroups:       get("GITHUB_ACTIONS") == "true",
		DaggerProgress:  get("DAGGER_PROGRESS"),
	}
	if c.GitSHA == "" {
		if full := get("GITHUB_SHA"); full != "" {
			c.GitSHA = ShortSHA(full)
		}
	}
	if v := get("DEPLOY_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return Config{}, fmt.Errorf("DEPLOY_CONCURRENCY=%q: want a whole number of at least 1", v)
		}
		c.Concurrency = n
	}
	if v := get("DEPLOY_TIMEOUT"); v != "" {
		d, err := ParseTimeout(v)
		if err != nil {
			return Config{}, err
		}
		c.Timeout = d
	}
	if v := get("DEPLOY_ONLY"); v != "" {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				c.Only = append(c.Only, name)
			}
		}
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"PREFECT_PRUNE", &c.Prune}, {"PREFECT_TAKE_OVER", &c.TakeOver}, {"ALLOW_UNPUBLISHED_IMAGE", &c.AllowUnpublishedImage},
		{"PREFECT_POOL_ANY_TYPE", &c.PoolAnyType}, {"PREFECT_POOL_UPDATE_TEMPLATE", &c.PoolUpdateTemplate}} {
		switch v := strings.ToLower(get(b.name)); v {
		case "", "0", "false":
		case "1", "true":
			*b.dst = true
		default:
			return Config{}, fmt.Errorf("%s=%q: want 1 or 0", b.name, v)
		}
	}
	return c, nil
}

// ParseTimeout reads a DEPLOY_TIMEOUT value (the module's with-deploy-timeout too).
func ParseTimeout(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("DEPLOY_TIMEOUT=%q: want a positive Go duration such as 10m", v)
	}
	return d, nil
}

// ShortSHA shortens a full commit hash (GITHUB_SHA) the way git rev-parse --short does
// by default.
func ShortSHA(full string) string {
	if len(full) > 7 {
		return full[:7]
	}
	return full
}
