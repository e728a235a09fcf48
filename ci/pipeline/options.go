package pipeline

import (
	"io"

	"dagger.io/dagger"

	"github.com/acme-data/prefect-flows/ci/config"
	"github.com/acme-data/prefect-flows/ci/preflight"
)

// Options configure one pipeline run: the configuration (config.Config, the same type
// mage reads from the environment and the Dagger module fills from its arguments) and
// what only this process knows (the source as a Dagger directory, where the log goes).
type Options struct {
	config.Config

	// Source is the build context; nil means SourceDir loaded from the host without
	// SourceExcludes.
	Source *dagger.Directory
	// GitSHAHint tells the user how to give the commit when it cannot be read, in the
	// caller's terms: "set GIT_SHA" (mage), "call with-git-sha" (the Dagger module).
	GitSHAHint string
	// PrefectAPI is the same API as this process reaches it, for the preflight step
	// (before any build); nil skips that step (the deploy exec still checks).
	PrefectAPI preflight.API

	// Out receives the log lines; nil discards them.
	Out io.Writer
	// Redact masks secret plaintexts in what the pipeline writes itself (the step
	// summary); nil leaves the text as it is. LocalOptions sets it.
	Redact func(string) string
	// RunID returns the per-run cache buster; nil means time plus random bytes. Tests
	// inject it so two runs are told apart deterministically.
	RunID func() string
}

// ECS are the plain (not secret) settings of the ECS task block.
type ECS = config.ECS

// The runners and defaults are config's; these names keep the pipeline's callers short.
const (
	RunnerAPI             = config.RunnerAPI
	RunnerBatch           = config.RunnerBatch
	RunnerCLI             = config.RunnerCLI
	DefaultConcurrency    = config.DefaultConcurrency
	DefaultAPIConcurrency = config.DefaultAPIConcurrency
	DefaultBatchShares    = config.DefaultBatchShares
	DefaultTimeout        = config.DefaultTimeout
	DefaultRepository     = config.DefaultRepository
)

// BatchDir is where the deploy step writes runner.py and the jobs files in the container.
const BatchDir = "/tmp/prefect-batch"

// SourceExcludes keep the build context small and free of local state. They match
// .dockerignore's intent; the list is the only one in the Go code.
var SourceExcludes = []string{
	".git", ".venv", "venv", "**/__pycache__", "**/*.pyc", ".mypy_cache", ".pytest_cache",
	"dist", "build", "node_modules", ".dagger",
}

// Embedded-mode placeholders: infrastructure/ecs-task-<env>.py requires these, but no task
// ever runs against the throwaway server, so obviously fake values are safer than real ones.
var embeddedECS = ECS{
	Cluster:          "embedded-placeholder-cluster",
	ExecutionRoleARN: "arn:aws:iam::000000000000:role/embedded-placeholder",
	Region:           "us-east-1",
}

// check rejects options that cannot work, before any file is read or engine call made;
// deploys adds the rules of a run that writes to Prefect.
func (o *Options) check(deploys bool) error {
	if err := o.Check(); err != nil {
		return err
	}
	if deploys {
		return o.CheckDeploy()
	}
	return nil
}

// ecsArgs are the ECS settings as prefect-deploy's flags for a Prefect 3 file: it makes
// them job variables of the deployments in ecs pools (desired.ECS). Only the settings
// that are set; with AWS keys, the aws-credentials/<env> block the register step saved
// (by name: prefect-deploy reads its id). No embedded placeholders: they exist for
// Prefect 2's block script only.
func (o *Options) ecsArgs() []string {
	var args []string
	for _, v := range ecsSettings(o.ECS) {
		if v.value != "" {
			args = append(args, v.flag, v.value)
		}
	}
	if o.AWSAccessKeyID.Set() {
		args = append(args, "--aws-credentials-block", o.Env)
	}
	return args
}

// ecsSettings are the ECS settings with the variable Prefect 2's block script reads
// and the prefect-deploy flag of Prefect 3, in a fixed order so the exec chain (and
// therefore Dagger's cache key) is stable.
func ecsSettings(e ECS) []struct{ env, flag, value string } {
	return []struct{ env, flag, value string }{
		{"ECS_CLUSTER", "--ecs-cluster", e.Cluster},
		{"ECS_VPC_ID", "--ecs-vpc-id", e.VPCID},
		{"ECS_EXECUTION_ROLE_ARN", "--ecs-execution-role-arn", e.ExecutionRoleARN},
		{"ECS_TASK_ROLE_ARN", "--ecs-task-role-arn", e.TaskRoleARN},
		{"ECS_CPU", "--ecs-cpu", e.CPU},
		{"ECS_MEMORY", "--ecs-memory", e.Memory},
		{"AWS_REGION", "--aws-region", e.Region},
	}
}

// ecsEnv is the plain environment of the infrastructure script (Prefect 2).
func (o *Options) ecsEnv() [][2]string {
	e := o.ECS
	if o.Embedded() {
		if e.Cluster == "" {
			e.Cluster = embeddedECS.Cluster
		}
		if e.ExecutionRoleARN == "" {
			e.ExecutionRoleARN = embeddedECS.ExecutionRoleARN
		}
		if e.Region == "" {
			e.Region = embeddedECS.Region
		}
	}
	var out [][2]string
	for _, v := range ecsSettings(e) {
		if v.value != "" {
			out = append(out, [2]string{v.env, v.value})
		}
	}
	return out
}
