// The Dagger module: `dagger call --env prod --owner ... with-prefect ... deploy` in any
// CI. The constructor and the with- functions only record configuration; deploy,
// publish, plan, image and script hand it to the library client by ID and call
// ci/pipeline, the same code mage runs, so there is no second implementation here.
//
// Caching: on engine v0.19 a function's result is cached by its inputs (for up to a
// week) unless the function is marked +cache="never". Every function that pushes to a
// registry or talks to Prefect carries that mark; otherwise a CI re-run would print the
// last summary and deploy nothing. ci/pipeline's shim test fails when one lacks it.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"

	lib "dagger.io/dagger"

	"dagger/prefect-flows/internal/dagger"

	"github.com/acme-data/prefect-flows/ci/config"
	"github.com/acme-data/prefect-flows/ci/pipeline"
)

// PrefectFlows builds this repository's agent image and deploys its Prefect flows.
//
// The fields are the configuration the constructor and the with- functions collect;
// each call turns them into config.Config, the type mage reads from the environment
// variables named in each doc, checked by the same rules with the same defaults.
type PrefectFlows struct {
	// +private
	Source *dagger.Directory
	// +private
	Env string
	// +private
	Owner string
	// +private
	PrefectApiUrl *dagger.Secret
	// +private
	PrefectApiKey *dagger.Secret
	// +private
	Registry string
	// +private
	ImageRepository string
	// +private
	RegistryUsername string
	// +private
	RegistryPassword *dagger.Secret
	// +private
	AllowUnpublishedImage bool
	// +private
	GitSha string
	// +private
	BaseImage string
	// +private
	EcsCluster string
	// +private
	EcsVpcId string
	// +private
	EcsExecutionRoleArn string
	// +private
	EcsTaskRoleArn string
	// +private
	EcsCpu string
	// +private
	EcsMemory string
	// +private
	AwsRegion string
	// +private
	AwsAccessKeyId *dagger.Secret
	// +private
	AwsSecretAccessKey *dagger.Secret
	// +private
	Runner string
	// +private
	Concurrency int
	// +private
	DeployTimeout string
	// +private
	PoolType string
	// +private
	PoolAnyType bool
	// +private
	PoolUpdateTemplate bool
}

// New holds the repository and the environment that every function works on.
//
// Without with-prefect only dev deploys, into a throwaway Prefect server.
func New(
	// The repository: Dockerfile, flows/, src/, infrastructure/ and prefect-deployments-<env>.yaml.
	// The ignore list is pipeline.SourceExcludes (a test keeps them equal).
	// +defaultPath="/"
	// +ignore=[".git", ".venv", "venv", "**/__pycache__", "**/*.pyc", ".mypy_cache", ".pytest_cache", "dist", "build", "node_modules", ".dagger"]
	source *dagger.Directory,
	// Environment: selects prefect-deployments-<env>.yaml and infrastructure/ecs-task-<env>.py
	// (mage: the target's argument; DEPLOY_ENV for its image target).
	// +default="dev"
	env string,
	// Owner in the ownership tag managed-by:prefect-flows:<owner>:<env> (PREFECT_OWNER),
	// e.g. "$GITHUB_REPOSITORY" or "$CI_PROJECT_PATH". deploy, plan and script need it:
	// the module sees neither .git nor the CI's environment, and two repositories sharing
	// a server need different owners.
	// +optional
	owner string,
) *PrefectFlows {
	return &PrefectFlows{Source: source, Env: env, Owner: owner}
}

// WithPrefect sets the Prefect API that register, deploy and plan talk to.
func (m *PrefectFlows) WithPrefect(
	// Prefect API URL (PREFECT_API_URL), e.g. env://PREFECT_API_URL.
	apiUrl *dagger.Secret,
	// Prefect API key (PREFECT_API_KEY) for Prefect Cloud, e.g. env://PREFECT_API_KEY.
	// +optional
	apiKey *dagger.Secret,
) *PrefectFlows {
	m.PrefectApiUrl, m.PrefectApiKey = apiUrl, apiKey
	return m
}

// WithRegistry sets the registry that publish and deploy push the image to.
//
// Without it deploy does not publish the image.
func (m *PrefectFlows) WithRegistry(
	// Registry address (REGISTRY), e.g. ghcr.io.
	address string,
	// Image path under the registry (IMAGE_REPOSITORY), e.g. acme-data/prefect-flows (default prefect-flows).
	// +optional
	repository string,
	// Registry user name (REGISTRY_USERNAME).
	// +optional
	username string,
	// Registry password or token (REGISTRY_PASSWORD), e.g. env://REGISTRY_PASSWORD.
	// +optional
	password *dagger.Secret,
) *PrefectFlows {
	m.Registry, m.ImageRepository, m.RegistryUsername, m.RegistryPassword = address, repository, username, password
	return m
}

// WithUnpublishedImage lets deploy write to a real Prefect API without with-registry.
//
// The blocks then name an image that exists only in the engine: only for infrastructure
// that does not pull images. Without it such a deploy is refused before anything runs.
func (m *PrefectFlows) WithUnpublishedImage(
	// Allow it (ALLOW_UNPUBLISHED_IMAGE=1).
	// +default=true
	allow bool,
) *PrefectFlows {
	m.AllowUnpublishedImage = allow
	return m
}

// WithGitSha sets the commit that names the published tag <env>-<sha>.
//
// The module does not upload .git, so publishing needs it.
func (m *PrefectFlows) WithGitSha(
	// Git commit (GIT_SHA), e.g. "$(git rev-parse --short HEAD)".
	sha string,
) *PrefectFlows {
	m.GitSha = sha
	return m
}

// WithBaseImage sets the Dockerfile's BASE_IMAGE build argument.
func (m *PrefectFlows) WithBaseImage(
	// Base image (BASE_IMAGE), e.g. prefecthq/prefect:2.14.21-python3.11.
	image string,
) *PrefectFlows {
	m.BaseImage = image
	return m
}

// WithEcs sets the ECS settings: the ECS task block on Prefect 2, job variables on Prefect 3.
//
// Prefect 2: infrastructure/ecs-task-<env>.py saves them; cluster, execution role and
// region are required with with-prefect, CPU and memory default to the script's values.
// Prefect 3: each one set becomes a job variable of the deployments in ecs pools, under
// the file's own (README "ECS settings on Prefect 3"); none is required.
func (m *PrefectFlows) WithEcs(
	// ECS cluster (ECS_CLUSTER).
	// +optional
	cluster string,
	// Execution role ARN (ECS_EXECUTION_ROLE_ARN).
	// +optional
	executionRoleArn string,
	// AWS region of the task block (AWS_REGION).
	// +optional
	region string,
	// VPC id (ECS_VPC_ID).
	// +optional
	vpcId string,
	// Task role ARN (ECS_TASK_ROLE_ARN).
	// +optional
	taskRoleArn string,
	// Task CPU units (ECS_CPU), e.g. 1024.
	// +optional
	cpu string,
	// Task memory in MiB (ECS_MEMORY), e.g. 2048.
	// +optional
	memory string,
) *PrefectFlows {
	m.EcsCluster, m.EcsExecutionRoleArn, m.AwsRegion = cluster, executionRoleArn, region
	m.EcsVpcId, m.EcsTaskRoleArn, m.EcsCpu, m.EcsMemory = vpcId, taskRoleArn, cpu, memory
	return m
}

// WithAwsCredentials sets the keys saved in the aws-credentials/<env> block.
//
// Without them the ECS task role is used.
func (m *PrefectFlows) WithAwsCredentials(
	// AWS access key id (AWS_ACCESS_KEY_ID), e.g. env://AWS_ACCESS_KEY_ID.
	accessKeyId *dagger.Secret,
	// AWS secret access key (AWS_SECRET_ACCESS_KEY), e.g. env://AWS_SECRET_ACCESS_KEY.
	secretAccessKey *dagger.Secret,
) *PrefectFlows {
	m.AwsAccessKeyId, m.AwsSecretAccessKey = accessKeyId, secretAccessKey
	return m
}

// WithRunner sets how the deploy step writes the deployments from the image.
//
// api (the default) runs prefect-deploy once, writing through the Prefect REST API with
// the check step's inspect output (deployments identical to prefect deployment build on a
// real Prefect 2.14); batch runs the builds through Prefect's own CLI application in a
// few warm Python processes (a deployment whose runner breaks runs once more with the
// prefect CLI); cli runs one prefect process per deployment.
func (m *PrefectFlows) WithRunner(
	// api, batch or cli (DEPLOY_RUNNER).
	// +default="api"
	runner string,
	// With api: writes in flight (default 8); with batch: runner.py execs at once
	// (default 2); with cli: deployments built at once (default 4) (DEPLOY_CONCURRENCY).
	// +optional
	concurrency int,
) *PrefectFlows {
	m.Runner, m.Concurrency = runner, concurrency
	return m
}

// WithDeployTimeout limits how long one deployment's build may take.
func (m *PrefectFlows) WithDeployTimeout(
	// A Go duration such as 10m or 90s (DEPLOY_TIMEOUT; default 10m).
	timeout string,
) (*PrefectFlows, error) {
	if _, err := config.ParseTimeout(timeout); err != nil {
		return nil, fmt.Errorf("with-deploy-timeout: %w", err)
	}
	m.DeployTimeout = timeout
	return m, nil
}

// WithWorkPools sets how deploy treats the work pools a Prefect 3 file names.
//
// A missing pool is created of the type given; an existing pool of another type stops
// the deploy unless any-type; an existing pool is never changed unless update-template.
func (m *PrefectFlows) WithWorkPools(
	// Work pool type (PREFECT_POOL_TYPE), e.g. ecs, process or docker (default ecs; process
	// on the embedded server).
	// +optional
	poolType string,
	// Accept an existing pool of any type (PREFECT_POOL_ANY_TYPE=1), e.g. pools served by
	// workers of several or custom types.
	// +optional
	anyType bool,
	// Set the base job template of each existing pool of that type to the worker's
	// default (PREFECT_POOL_UPDATE_TEMPLATE=1).
	// +optional
	updateTemplate bool,
) *PrefectFlows {
	m.PoolType, m.PoolAnyType, m.PoolUpdateTemplate = poolType, anyType, updateTemplate
	return m
}

// Deploy runs the whole pipeline and returns its summary.
//
// It validates the environment's file, builds and checks the image, publishes it with
// with-registry, registers the ECS blocks and builds every deployment. Never cached:
// each call really deploys.
// +cache="never"
func (m *PrefectFlows) Deploy(
	ctx context.Context,
	// Only these deployments, by name or glob as prefect-deploy --only (DEPLOY_ONLY; default all).
	// +optional
	only []string,
	// After a fully successful deploy that reads back without drift, delete the
	// deployments tagged managed-by:prefect-flows:<env> that the file no longer lists
	// (PREFECT_PRUNE=1). Needs with-prefect; not with only.
	// +optional
	prune bool,
	// Overwrite deployments that another owner's tag marks as theirs
	// (PREFECT_TAKE_OVER=1); without it the deploy refuses them and deploys nothing.
	// +optional
	takeOver bool,
	// text, or markdown for a CI page such as GitHub's step summary (mage appends it to
	// GITHUB_STEP_SUMMARY itself).
	// +default="text"
	format string,
) (string, error) {
	if format != "text" && format != "markdown" {
		return "", fmt.Errorf("deploy --format %q: want text or markdown", format)
	}
	if m.Owner == "" {
		return "", errNoOwner
	}
	c, o, err := m.session(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	o.Only, o.Prune, o.TakeOver = only, prune, takeOver
	rep, err := pipeline.Run(ctx, c.Client, o)
	return summary(rep, format), err
}

// Publish builds and checks the image, pushes it as <env>-<sha> and <env>, and returns the digest reference.
//
// It needs with-registry and with-git-sha. Never cached: each call pushes.
// +cache="never"
func (m *PrefectFlows) Publish(ctx context.Context) (string, error) {
	if m.Registry == "" || m.GitSha == "" {
		return "", fmt.Errorf("publish needs with-registry --address ... and with-git-sha --sha ...")
	}
	c, o, err := m.session(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_, rep, err := pipeline.Build(ctx, c.Client, o)
	if err != nil {
		return "", err
	}
	return rep.ImageRef, nil
}

// Plan compares the environment's deployments file with its Prefect API and changes nothing.
//
// Terraform style: what a deploy would create, update or leave unchanged, and which
// deployments this owner manages that the file no longer lists (deleted by deploy
// --prune). It needs with-prefect; read access is enough. Never cached: the answer
// depends on the server.
// +cache="never"
func (m *PrefectFlows) Plan(ctx context.Context) (string, error) {
	if m.Owner == "" {
		return "", errNoOwner
	}
	c, o, err := m.session(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return pipeline.PlanLive(ctx, c.Client, o)
}

// PlanLive is the old name of plan (deprecated: use plan; script prints the commands).
//
// Never cached, like plan.
// +cache="never"
func (m *PrefectFlows) PlanLive(ctx context.Context) (string, error) {
	fmt.Fprintln(os.Stderr, "plan-live is deprecated: it is called plan now (and the command-printing plan is script)")
	return m.Plan(ctx)
}

var errNoOwner = fmt.Errorf("pass --owner to the constructor (e.g. dagger call --owner \"$GITHUB_REPOSITORY\" ...): the owner names the ownership tag managed-by:prefect-flows:<owner>:<env>, and the module cannot read it from .git")

// Image builds the agent image from the Dockerfile and checks that every flow loads in it.
//
// It never publishes, so Dagger may cache it by the source. Chain it:
// `dagger call image terminal`.
func (m *PrefectFlows) Image(ctx context.Context) (*dagger.Container, error) {
	c, o, err := m.session(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	// A pure build: what may be cached must not push.
	o.Registry = ""
	img, _, err := pipeline.Build(ctx, c.Client, o)
	if err != nil {
		return nil, err
	}
	id, err := img.ID(ctx)
	if err != nil {
		return nil, err
	}
	return dag.LoadContainerFromID(dagger.ContainerID(id)), nil
}

// Script validates every prefect-deployments-*.yaml and returns the commands each environment runs.
//
// It builds nothing and needs no Prefect, so Dagger may cache it by the source.
func (m *PrefectFlows) Script(ctx context.Context) (string, error) {
	if m.Owner == "" {
		return "", errNoOwner
	}
	dir, err := export(ctx, m.Source)
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	var out bytes.Buffer
	err = pipeline.ScriptAll(dir, m.Owner, &out)
	return out.String(), err
}

// session is a library-mode client inside the function: the engine gives module
// containers a session, so dagger.io/dagger connects to it and the pipeline package runs
// unchanged. Objects cross from the generated types by ID.
type session struct {
	*lib.Client
	dir string
}

func (s *session) Close() error {
	os.RemoveAll(s.dir)
	return s.Client.Close()
}

// session connects and turns the module's configuration into pipeline options; the
// pipeline checks them, with the rules mage's settings go through.
func (m *PrefectFlows) session(ctx context.Context) (*session, pipeline.Options, error) {
	c, err := lib.Connect(ctx, lib.WithLogOutput(os.Stderr))
	if err != nil {
		return nil, pipeline.Options{}, fmt.Errorf("connect to the module's session: %w", err)
	}
	s := &session{Client: c}
	o, err := m.options(ctx, s)
	if err != nil {
		s.Close()
		return nil, pipeline.Options{}, err
	}
	return s, o, nil
}

func (m *PrefectFlows) options(ctx context.Context, s *session) (pipeline.Options, error) {
	id, err := m.Source.ID(ctx)
	if err != nil {
		return pipeline.Options{}, err
	}
	// spec.Load reads the deployments file and flows from a local disk.
	if s.dir, err = export(ctx, m.Source); err != nil {
		return pipeline.Options{}, err
	}
	// The same type mage reads from the environment; the pipeline checks it with the
	// same rules and applies the same defaults.
	c := config.Config{
		Env:              m.Env,
		SourceDir:        s.dir,
		BaseImage:        m.BaseImage,
		Registry:         m.Registry,
		ImageRepository:  m.ImageRepository,
		RegistryUsername: m.RegistryUsername,
		// Empty (image, publish): the pipeline's own rule, which tags nothing there.
		Owner:                 m.Owner,
		AllowUnpublishedImage: m.AllowUnpublishedImage,
		GitSHA:                m.GitSha,
		ECS: config.ECS{
			Cluster: m.EcsCluster, VPCID: m.EcsVpcId, ExecutionRoleARN: m.EcsExecutionRoleArn,
			TaskRoleARN: m.EcsTaskRoleArn, CPU: m.EcsCpu, Memory: m.EcsMemory, Region: m.AwsRegion,
		},
		Runner:      m.Runner,
		PoolType:    m.PoolType,
		PoolAnyType: m.PoolAnyType, PoolUpdateTemplate: m.PoolUpdateTemplate,
		Concurrency: m.Concurrency,
	}
	if m.DeployTimeout != "" {
		if c.Timeout, err = config.ParseTimeout(m.DeployTimeout); err != nil {
			return pipeline.Options{}, err
		}
	}
	for _, sec := range []struct {
		from *dagger.Secret
		to   *config.Secret
	}{
		{m.PrefectApiUrl, &c.PrefectAPIURL}, {m.PrefectApiKey, &c.PrefectAPIKey}, {m.RegistryPassword, &c.RegistryPassword},
		{m.AwsAccessKeyId, &c.AWSAccessKeyID}, {m.AwsSecretAccessKey, &c.AWSSecretAccessKey},
	} {
		ref, err := s.secret(ctx, sec.from)
		if err != nil {
			return pipeline.Options{}, err
		}
		*sec.to = config.FromDagger(ref)
	}
	return pipeline.Options{
		Config: c,
		Source: s.LoadDirectoryFromID(lib.DirectoryID(id)),
		// .git is not uploaded to the module: the commit has to come as an argument.
		GitSHAHint: "call with-git-sha",
		Out:        os.Stderr,
	}, nil
}

func (s *session) secret(ctx context.Context, sec *dagger.Secret) (*lib.Secret, error) {
	if sec == nil {
		return nil, nil
	}
	id, err := sec.ID(ctx)
	if err != nil {
		return nil, err
	}
	return s.LoadSecretFromID(lib.SecretID(id)), nil
}

func export(ctx context.Context, source *dagger.Directory) (string, error) {
	dir, err := os.MkdirTemp("", "prefect-flows-src-")
	if err != nil {
		return "", err
	}
	if _, err := source.Export(ctx, dir); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("export the source for validation: %w", err)
	}
	return dir, nil
}

func summary(rep *pipeline.Report, format string) string {
	if rep == nil {
		return ""
	}
	var b bytes.Buffer
	if format == "markdown" {
		// A Markdown error only loses the deployments table; the text went to the log.
		_ = rep.WriteMarkdown(&b)
	} else {
		rep.WriteText(&b)
	}
	return b.String()
}
