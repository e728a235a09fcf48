package pipeline

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/acme-data/prefect-flows/ci/liveplan"
)

// config is what the rules look at, whichever way the configuration came in: mage's
// environment variables (Settings) or the Dagger module's arguments (Options). Secrets
// count only as set or not. Errors name the environment variables of the README's
// table; the Dagger module's flags map onto them one to one.
type config struct {
	env, sourceDir                 string
	runner                         string
	concurrency                    int
	timeout                        time.Duration
	only, prune                    bool
	apiURL, apiKey                 bool
	ecs                            ECS
	registry, registryUser         string
	registryPass, awsID, awsSecret bool
	// allowUnpublished is ALLOW_UNPUBLISHED_IMAGE: deploy to a real API with an image
	// that was not pushed anywhere.
	allowUnpublished bool
	repository       string
}

// check returns the first rule the configuration breaks, as one line.
func (c config) check() error {
	if err := checkEnvName(c.env); err != nil {
		return err
	}
	if c.sourceDir == "" {
		return fmt.Errorf("no source directory")
	}
	if c.runner != "" && c.runner != RunnerAPI && c.runner != RunnerBatch && c.runner != RunnerCLI {
		return fmt.Errorf("DEPLOY_RUNNER=%q: want %s, %s or %s", c.runner, RunnerAPI, RunnerBatch, RunnerCLI)
	}
	if c.concurrency < 0 {
		return fmt.Errorf("DEPLOY_CONCURRENCY=%d: want a whole number of at least 1", c.concurrency)
	}
	if c.timeout < 0 {
		return fmt.Errorf("DEPLOY_TIMEOUT=%s: want a positive Go duration such as 10m", c.timeout)
	}
	if c.prune && c.only {
		// A partial deploy proves nothing about the deployments left out.
		return fmt.Errorf("PREFECT_PRUNE=1 cannot be combined with DEPLOY_ONLY: prune needs the whole file deployed")
	}
	if !c.apiURL && c.env != "dev" {
		return fmt.Errorf("PREFECT_API_URL is not set: only dev may deploy into the embedded throwaway Prefect server, %q must name its Prefect API", c.env)
	}
	if !c.apiURL && c.apiKey {
		return fmt.Errorf("PREFECT_API_URL is not set but PREFECT_API_KEY is")
	}
	if c.apiURL {
		for _, req := range []struct{ name, value string }{
			{"ECS_CLUSTER", c.ecs.Cluster},
			{"ECS_EXECUTION_ROLE_ARN", c.ecs.ExecutionRoleARN},
			{"AWS_REGION", c.ecs.Region},
		} {
			if strings.TrimSpace(req.value) == "" {
				return fmt.Errorf("%s is not set: infrastructure/ecs-task-%s.py needs it with PREFECT_API_URL", req.name, c.env)
			}
		}
	}
	// Task sizes the ECS API would refuse only when a flow runs, long after the deploy
	// looked fine.
	for _, v := range []struct{ name, value, unit string }{
		{"ECS_CPU", c.ecs.CPU, "CPU units, e.g. 1024"},
		{"ECS_MEMORY", c.ecs.Memory, "MiB, e.g. 2048"},
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
		{c.registry == "" && c.registryPass, "REGISTRY is not set but REGISTRY_PASSWORD is"},
		{c.registryUser != "" && !c.registryPass, "REGISTRY_PASSWORD is not set but REGISTRY_USERNAME is"},
		{c.registryUser == "" && c.registryPass, "REGISTRY_USERNAME is not set but REGISTRY_PASSWORD is"},
		{c.awsID && !c.awsSecret, "AWS_SECRET_ACCESS_KEY is not set but AWS_ACCESS_KEY_ID is"},
		{!c.awsID && c.awsSecret, "AWS_ACCESS_KEY_ID is not set but AWS_SECRET_ACCESS_KEY is"},
	} {
		if pair.bad {
			return fmt.Errorf("%s", pair.msg)
		}
	}
	return nil
}

// checkDeploy adds the rules of a run that writes to Prefect (the image-only runs
// write nothing there). Without REGISTRY the image stays in the engine, so the block
// saved on a real API would name an image no ECS task can pull, and that block is
// shared by every deployment of the environment, old ones included.
func (c config) checkDeploy() error {
	if c.apiURL && c.registry == "" && !c.allowUnpublished {
		repo := c.repository
		if repo == "" {
			repo = DefaultRepository
		}
		return fmt.Errorf("REGISTRY is not set: the image would not be published, yet the infrastructure blocks on PREFECT_API_URL would name %s:%s, which no ECS task can pull; set REGISTRY (and IMAGE_REPOSITORY) to publish it, or ALLOW_UNPUBLISHED_IMAGE=1 if your infrastructure does not pull images", repo, c.env)
	}
	return nil
}

// checkEnvName applies the one rule for environment names: every deploy tags what it
// builds with the environment's ownership marker, so the marker must be buildable.
func checkEnvName(env string) error {
	return liveplan.CheckEnv(env)
}
