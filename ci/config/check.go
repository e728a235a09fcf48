package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/acme-data/prefect-flows/ci/ownership"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// Check returns the first rule the configuration breaks, as one line naming the
// variable. Mage runs it on what it read from the environment, the pipeline on
// whatever it is given (the module's arguments): the same rules, the same words.
// Secrets count only as set or not, except that a URL known in plain text (mage) must
// be http(s).
func (c Config) Check() error {
	if err := ownership.CheckEnv(c.Env); err != nil {
		return err
	}
	if c.SourceDir == "" {
		return fmt.Errorf("no source directory")
	}
	if c.Runner != "" && c.Runner != RunnerAPI && c.Runner != RunnerBatch && c.Runner != RunnerCLI {
		return fmt.Errorf("DEPLOY_RUNNER=%q: want %s, %s or %s", c.Runner, RunnerAPI, RunnerBatch, RunnerCLI)
	}
	if c.Concurrency < 0 {
		return fmt.Errorf("DEPLOY_CONCURRENCY=%d: want a whole number of at least 1", c.Concurrency)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("DEPLOY_TIMEOUT=%s: want a positive Go duration such as 10m", c.Timeout)
	}
	if c.Prune && len(c.Only) > 0 {
		// A partial deploy proves nothing about the deployments left out.
		return fmt.Errorf("PREFECT_PRUNE=1 cannot be combined with DEPLOY_ONLY: prune needs the whole file deployed")
	}
	if err := spec.CheckPatterns(c.Only); err != nil {
		return fmt.Errorf("DEPLOY_ONLY %w", err)
	}
	if c.Owner != "" {
		// The rest of the owner rule (GITHUB_REPOSITORY, git remote, directory) applies
		// where the owner is used, with the process's environment.
		if err := ownership.CheckOwner(c.Owner); err != nil {
			return fmt.Errorf("PREFECT_OWNER: %w", err)
		}
	}
	if c.PoolType != "" && !poolType.MatchString(c.PoolType) {
		return fmt.Errorf("PREFECT_POOL_TYPE=%q: want a work pool type such as ecs, process or docker (lower case letters, digits, - and _)", c.PoolType)
	}
	switch c.DaggerProgress {
	case "", "plain", "dots", "report":
	default:
		// The engine session the SDK starts inherits the variable and exits on any other
		// value ("tty" needs a terminal, and its stderr is a pipe).
		return fmt.Errorf("DAGGER_PROGRESS=%q: want plain, dots or report (Dagger's progress reaches mage through a pipe, not a terminal), or leave it unset", c.DaggerProgress)
	}
	apiURL := c.PrefectAPIURL.Set()
	if !apiURL && c.Env != "dev" {
		return fmt.Errorf("PREFECT_API_URL is not set: only dev may deploy into the embedded throwaway Prefect server, %q must name its Prefect API", c.Env)
	}
	if !apiURL && c.PrefectAPIKey.Set() {
		return fmt.Errorf("PREFECT_API_URL is not set but PREFECT_API_KEY is")
	}
	if apiURL && !c.prefect3() {
		// Prefect 2: infrastructure/ecs-task-<env>.py saves the ECS task block and
		// needs these. Prefect 3 needs none of them: each that is set becomes a job
		// variable of the deployments in ecs pools, and what is not set is left to the
		// file's job variables and the pool's template.
		for _, req := range []struct{ name, value string }{
			{"ECS_CLUSTER", c.ECS.Cluster},
			{"ECS_EXECUTION_ROLE_ARN", c.ECS.ExecutionRoleARN},
			{"AWS_REGION", c.ECS.Region},
		} {
			if strings.TrimSpace(req.value) == "" {
				return fmt.Errorf("%s is not set: infrastructure/ecs-task-%s.py needs it with PREFECT_API_URL", req.name, c.Env)
			}
		}
	}
	// Task sizes the ECS API would refuse only when a flow runs, long after the deploy
	// looked fine.
	for _, v := range []struct{ name, value, unit string }{
		{"ECS_CPU", c.ECS.CPU, "CPU units, e.g. 1024"},
		{"ECS_MEMORY", c.ECS.Memory, "MiB, e.g. 2048"},
	} {
		if v.value == "" {
			continue
		}
		if n, err := strconv.Atoi(v.value); err != nil || n < 1 {
			return fmt.Errorf("%s=%q: want a positive whole number (%s)", v.name, v.value, v.unit)
		}
	}
	for _, pair := range []struct {
		bad bool
		msg string
	}{
		{c.Registry == "" && c.RegistryPassword.Set(), "REGISTRY is not set but REGISTRY_PASSWORD is"},
		{c.RegistryUsername != "" && !c.RegistryPassword.Set(), "REGISTRY_PASSWORD is not set but REGISTRY_USERNAME is"},
		{c.RegistryUsername == "" && c.RegistryPassword.Set(), "REGISTRY_USERNAME is not set but REGISTRY_PASSWORD is"},
		{c.AWSAccessKeyID.Set() && !c.AWSSecretAccessKey.Set(), "AWS_SECRET_ACCESS_KEY is not set but AWS_ACCESS_KEY_ID is"},
		{!c.AWSAccessKeyID.Set() && c.AWSSecretAccessKey.Set(), "AWS_ACCESS_KEY_ID is not set but AWS_SECRET_ACCESS_KEY is"},
	} {
		if pair.bad {
			return fmt.Errorf("%s", pair.msg)
		}
	}
	if url, ok := c.PrefectAPIURL.Plaintext(); ok && !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		// The value itself stays out of the message: a URL can carry credentials.
		return fmt.Errorf("PREFECT_API_URL does not start with http:// or https://")
	}
	return nil
}

// prefect3 says Env's deployments file targets Prefect 3 (by the rules the validate step
// loads it with). A file that cannot be read or decided counts as not Prefect 3: the
// validate step reports its problems before anything is built.
func (c Config) prefect3() bool {
	m, _, err := spec.ReadMajor(filepath.Join(c.SourceDir, spec.EnvFile(c.Env)))
	return err == nil && m == spec.Prefect3
}

// CheckDeploy adds the rules of a run that writes to Prefect (the image-only runs
// write nothing there). Without REGISTRY the image stays in the engine, so the block
// saved on a real API would name an image no ECS task can pull, and that block is
// shared by every deployment of the environment, old ones included.
func (c Config) CheckDeploy() error {
	if c.PrefectAPIURL.Set() && c.Registry == "" && !c.AllowUnpublishedImage {
		return fmt.Errorf("REGISTRY is not set: the image would not be published, yet the infrastructure blocks on PREFECT_API_URL would name %s:%s, which no ECS task can pull; set REGISTRY (and IMAGE_REPOSITORY) to publish it, or ALLOW_UNPUBLISHED_IMAGE=1 if your infrastructure does not pull images", c.Repository(), c.Env)
	}
	return nil
}

// poolType is what a work pool type looks like (Prefect's worker types: ecs, process,
// docker, kubernetes, cloud-run-v2, ...).
var poolType = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
