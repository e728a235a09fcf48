package pipeline

import (
	"io"
	"time"

	"dagger.io/dagger"

	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/preflight"
)

// Options configure one pipeline run. Secrets are *dagger.Secret so their plaintext never
// passes through this package; Settings turns environment variables into Options.
type Options struct {
	// Env selects prefect-deployments-<Env>.yaml and infrastructure/ecs-task-<Env>.py.
	Env string
	// SourceDir is the repository on the local disk. The deployments file is read from it
	// with spec.Load, so a config error is found before the engine is asked anything.
	SourceDir string
	// Source is the build context; nil means SourceDir loaded from the host without
	// SourceExcludes.
	Source *dagger.Directory
	// BaseImage, when set, is passed to the Dockerfile as build argument BASE_IMAGE.
	BaseImage string

	// Registry (e.g. ghcr.io) turns publishing on; without it the image stays local.
	Registry string
	// ImageRepository is the path under Registry, e.g. acme-data/prefect-flows.
	ImageRepository  string
	RegistryUsername string
	RegistryPassword *dagger.Secret
	// AllowUnpublishedImage lets a run write to a real Prefect API (PrefectAPIURL set)
	// without Registry: the blocks then name an image that exists only in the engine.
	// Only for infrastructure that does not pull images (ALLOW_UNPUBLISHED_IMAGE=1).
	AllowUnpublishedImage bool
	// GitSHA tags the published image <env>-<GitSHA>; empty means read it from SourceDir.
	GitSHA string
	// GitSHAHint tells the user how to give the commit when it cannot be read, in the
	// caller's terms: "set GIT_SHA" (mage), "pass --git-sha" (the Dagger module).
	GitSHAHint string

	// PrefectAPIURL nil selects the embedded throwaway server, which only dev may use.
	PrefectAPIURL *dagger.Secret
	PrefectAPIKey *dagger.Secret
	// PrefectAPI is the same API as this process reaches it, for the preflight step
	// (before any build); nil skips that step (the deploy exec still checks).
	PrefectAPI preflight.API

	// ECS holds what infrastructure/ecs-task-<env>.py reads besides the image.
	ECS                ECS
	AWSAccessKeyID     *dagger.Secret
	AWSSecretAccessKey *dagger.Secret

	// Runner is how the deploy step writes the deployments: RunnerAPI ("" too) runs
	// `prefect-deploy apply --runner api` once in the registered image, with the check
	// step's inspect output; RunnerBatch runs them through Prefect's CLI application in a
	// few runner.py execs; RunnerCLI runs one `prefect deployment build` exec per deployment.
	Runner string
	// Concurrency bounds the writes in flight (RunnerAPI), the deployments in flight
	// (RunnerCLI) or the runner.py execs, each with its share of the deployments
	// (RunnerBatch); 0 means DefaultAPIConcurrency, DefaultConcurrency or DefaultBatchShares.
	Concurrency int
	// Timeout bounds each deployment's build; 0 means DefaultTimeout.
	Timeout time.Duration
	// Only, when not empty, limits the deploy step to these deployment names.
	Only []string
	// Prune deletes, after a fully successful and verified deploy, the deployments that
	// carry this environment's ownership tag but are no longer in the file. It cannot
	// be combined with Only.
	Prune bool
	// Owner is the owner in the ownership tag managed-by:prefect-flows:<owner>:<env>;
	// empty means liveplan.ResolveOwner on this process's environment and SourceDir.
	Owner string

	// Out receives the log lines; nil discards them.
	Out io.Writer
	// LogGroups folds each step's details into a GitHub Actions log group
	// (::group::/::endgroup::), leaving the step's result and the summary outside.
	LogGroups bool
	// StepSummaryPath is $GITHUB_STEP_SUMMARY; the Markdown report is appended to it.
	StepSummaryPath string
	// Redact masks secret plaintexts in what the pipeline writes itself (the step
	// summary); nil leaves the text as it is. Settings.Options sets it.
	Redact func(string) string
	// RunID returns the per-run cache buster; nil means time plus random bytes. Tests
	// inject it so two runs are told apart deterministically.
	RunID func() string
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

// DefaultConcurrency is how many deployments are built at once by RunnerCLI when Options
// say nothing. Each `prefect deployment build` spends seconds importing Prefect, so a
// few in parallel pay off without flooding the API.
const DefaultConcurrency = 4

// The deploy step's runners (DEPLOY_RUNNER).
const (
	RunnerAPI   = "api"
	RunnerBatch = "batch"
	RunnerCLI   = "cli"
)

// DefaultAPIConcurrency is how many writes RunnerAPI has in flight when Options say nothing.
const DefaultAPIConcurrency = deploycli.DefaultAPIConcurrency

// DefaultBatchShares is how many runner.py execs RunnerBatch runs at once when Options
// say nothing. Once Prefect's import is paid, a job is one Python thread's CPU work plus
// API waits: on 2 cores, 50 CPU-bound jobs took 12.8 s in 2 runners and 14.3 s in 4
// (ci/prefect/batch's benchmark), and every runner holds a whole Prefect in memory. The
// engine's CPU count is not known here (it may be a remote engine), so the figure is
// fixed at the 2 cores of a standard CI runner rather than this process's NumCPU.
const DefaultBatchShares = 2

// BatchDir is where the deploy step writes runner.py and the jobs files in the container.
const BatchDir = "/tmp/prefect-batch"

// DefaultTimeout bounds one deployment build: a healthy one takes seconds, a hung API
// call should not hold the pipeline for an hour.
const DefaultTimeout = 10 * time.Minute

// DefaultRepository names the image when IMAGE_REPOSITORY is not set.
const DefaultRepository = "prefect-flows"

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

// embedded says whether this run deploys into the throwaway server.
func (o *Options) embedded() bool { return o.PrefectAPIURL == nil }

func (o *Options) repository() string {
	if o.ImageRepository != "" {
		return o.ImageRepository
	}
	return DefaultRepository
}

func (o *Options) concurrency() int {
	if o.Concurrency > 0 {
		return o.Concurrency
	}
	switch o.runner() {
	case RunnerAPI:
		return DefaultAPIConcurrency
	case RunnerBatch:
		return DefaultBatchShares
	}
	return DefaultConcurrency
}

func (o *Options) runner() string {
	if o.Runner == "" {
		return RunnerAPI
	}
	return o.Runner
}

func (o *Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultTimeout
}

// check rejects options that cannot work, before any file is read or engine call made;
// deploys adds the rules of a run that writes to Prefect.
func (o *Options) check(deploys bool) error {
	c := o.config()
	if err := c.check(); err != nil {
		return err
	}
	if deploys {
		return c.checkDeploy()
	}
	return nil
}

func (o *Options) config() config {
	return config{
		env: o.Env, sourceDir: o.SourceDir,
		runner: o.Runner, concurrency: o.Concurrency, timeout: o.Timeout,
		only: len(o.Only) > 0, prune: o.Prune,
		apiURL: o.PrefectAPIURL != nil, apiKey: o.PrefectAPIKey != nil, ecs: o.ECS,
		registry: o.Registry, registryUser: o.RegistryUsername, registryPass: o.RegistryPassword != nil,
		awsID: o.AWSAccessKeyID != nil, awsSecret: o.AWSSecretAccessKey != nil,
		allowUnpublished: o.AllowUnpublishedImage, repository: o.ImageRepository,
	}
}

// ecsEnv is the plain environment of the infrastructure script, in a fixed order so the
// exec chain (and therefore Dagger's cache key) is stable.
func (o *Options) ecsEnv() [][2]string {
	e := o.ECS
	if o.embedded() {
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
	for _, kv := range [][2]string{
		{"ECS_CLUSTER", e.Cluster},
		{"ECS_VPC_ID", e.VPCID},
		{"ECS_EXECUTION_ROLE_ARN", e.ExecutionRoleARN},
		{"ECS_TASK_ROLE_ARN", e.TaskRoleARN},
		{"ECS_CPU", e.CPU},
		{"ECS_MEMORY", e.Memory},
		{"AWS_REGION", e.Region},
	} {
		if kv[1] != "" {
			out = append(out, kv)
		}
	}
	return out
}
