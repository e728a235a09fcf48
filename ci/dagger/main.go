// The Dagger module: `dagger call deploy --env prod ...` in any CI. Each function hands
// its arguments to the library client by ID and calls ci/pipeline, the same code mage
// runs, so there is no second implementation here.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"

	lib "dagger.io/dagger"

	"dagger/prefect-flows/internal/dagger"

	"github.com/acme-data/prefect-flows/ci/pipeline"
)

// PrefectFlows builds the agent image and deploys the Prefect flows of this repository.
type PrefectFlows struct{}

// Deploy builds the image, publishes it when a registry is given, registers the ECS
// blocks and builds every deployment of one environment. It returns the summary.
func (m *PrefectFlows) Deploy(
	ctx context.Context,
	// The repository: Dockerfile, flows/, src/, infrastructure/ and prefect-deployments-<env>.yaml.
	// +defaultPath="/"
	// +ignore=[".git", ".venv", "venv", "**/__pycache__", "**/*.pyc", ".mypy_cache", ".pytest_cache", "dist", "build", "node_modules", ".dagger"]
	source *dagger.Directory,
	// Environment: selects prefect-deployments-<env>.yaml and infrastructure/ecs-task-<env>.py.
	env string,
	// Prefect API URL, e.g. env://PREFECT_API_URL. Without it only dev deploys, into a throwaway server.
	// +optional
	prefectApiUrl *dagger.Secret,
	// Prefect API key (Prefect Cloud), e.g. env://PREFECT_API_KEY.
	// +optional
	prefectApiKey *dagger.Secret,
	// Registry to publish to, e.g. ghcr.io. Without it the image is not published.
	// +optional
	registry string,
	// Image path under the registry, e.g. acme-data/prefect-flows (default prefect-flows).
	// +optional
	imageRepository string,
	// Registry user name.
	// +optional
	registryUsername string,
	// Registry password or token, e.g. env://REGISTRY_PASSWORD.
	// +optional
	registryPassword *dagger.Secret,
	// Git commit for the <env>-<sha> tag; needed with a registry (.git is not uploaded).
	// +optional
	gitSha string,
	// Base image for the Dockerfile's BASE_IMAGE build argument.
	// +optional
	baseImage string,
	// ECS cluster of the task block (ECS_CLUSTER).
	// +optional
	ecsCluster string,
	// VPC of the task block (ECS_VPC_ID).
	// +optional
	ecsVpcId string,
	// Execution role ARN of the task block (ECS_EXECUTION_ROLE_ARN).
	// +optional
	ecsExecutionRoleArn string,
	// Task role ARN of the task block (ECS_TASK_ROLE_ARN).
	// +optional
	ecsTaskRoleArn string,
	// Task CPU units (ECS_CPU); default from infrastructure/ecs-task-<env>.py.
	// +optional
	ecsCpu string,
	// Task memory in MiB (ECS_MEMORY); default from infrastructure/ecs-task-<env>.py.
	// +optional
	ecsMemory string,
	// AWS region of the task block (AWS_REGION).
	// +optional
	awsRegion string,
	// AWS access key id for the credentials block, e.g. env://AWS_ACCESS_KEY_ID.
	// +optional
	awsAccessKeyId *dagger.Secret,
	// AWS secret access key for the credentials block, e.g. env://AWS_SECRET_ACCESS_KEY.
	// +optional
	awsSecretAccessKey *dagger.Secret,
	// How the deployments are built in the image: batch runs them through Prefect's own
	// CLI application (prefect.cli.app) in a few warm Python processes, paying Prefect's
	// import once per process (on a real Prefect 2.14 server the same argv gave
	// field-for-field identical deployments); cli runs one prefect process per deployment.
	// A deployment whose batch runner breaks runs once more with the prefect CLI.
	// +default="batch"
	runner string,
	// With runner batch: runner.py execs at once, each with its share of the deployments
	// (default 2); with runner cli: deployments built at once (default 4).
	// +optional
	concurrency int,
	// Only these deployment names (default all).
	// +optional
	only []string,
	// After a fully successful deploy that reads back without drift, delete the
	// deployments tagged managed-by:prefect-flows:<owner>:<env> that the file no longer
	// lists. Needs prefectApiUrl; not with only.
	// +optional
	prune bool,
	// Owner of the deployments, in their ownership tag managed-by:prefect-flows:<owner>:<env>,
	// e.g. "$GITHUB_REPOSITORY" or "$CI_PROJECT_PATH". Required: the module sees neither
	// .git nor the CI's environment, and two repositories sharing a server need different owners.
	owner string,
) (string, error) {
	if owner == "" {
		return "", errNoOwner
	}
	c, err := connect(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	o, err := c.options(ctx, source, env)
	if err != nil {
		return "", err
	}
	o.BaseImage, o.Registry, o.ImageRepository, o.RegistryUsername, o.GitSHA = baseImage, registry, imageRepository, registryUsername, gitSha
	o.ECS = pipeline.ECS{Cluster: ecsCluster, VPCID: ecsVpcId, ExecutionRoleARN: ecsExecutionRoleArn, TaskRoleARN: ecsTaskRoleArn, CPU: ecsCpu, Memory: ecsMemory, Region: awsRegion}
	o.Runner, o.Concurrency, o.Only, o.Prune, o.Owner = runner, concurrency, only, prune, owner
	for _, s := range []struct {
		from *dagger.Secret
		to   **lib.Secret
	}{
		{prefectApiUrl, &o.PrefectAPIURL}, {prefectApiKey, &o.PrefectAPIKey}, {registryPassword, &o.RegistryPassword},
		{awsAccessKeyId, &o.AWSAccessKeyID}, {awsSecretAccessKey, &o.AWSSecretAccessKey},
	} {
		if *s.to, err = c.secret(ctx, s.from); err != nil {
			return "", err
		}
	}
	rep, err := pipeline.Run(ctx, c.Client, o)
	return text(rep), err
}

// Script validates every prefect-deployments-*.yaml and returns the commands each
// deployment would run. It builds nothing and needs no Prefect.
func (m *PrefectFlows) Script(
	ctx context.Context,
	// The repository with its prefect-deployments-<env>.yaml files and flows/.
	// +defaultPath="/"
	// +ignore=[".git", ".venv", "venv", "**/__pycache__", "**/*.pyc", ".mypy_cache", ".pytest_cache", "dist", "build", "node_modules", ".dagger"]
	source *dagger.Directory,
	// Owner of the deployments, in their ownership tag managed-by:prefect-flows:<owner>:<env>,
	// e.g. "$GITHUB_REPOSITORY" or "$CI_PROJECT_PATH". Required: the module sees neither
	// .git nor the CI's environment, and two repositories sharing a server need different owners.
	owner string,
) (string, error) {
	if owner == "" {
		return "", errNoOwner
	}
	dir, err := export(ctx, source)
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	var out bytes.Buffer
	err = pipeline.ScriptAll(dir, owner, &out)
	return out.String(), err
}

// Plan compares one environment's deployments file with its Prefect API, Terraform
// style: what a deploy would create, update or leave unchanged, and which deployments
// this repository manages that the file no longer lists (deleted by deploy --prune).
// It reads the API and changes nothing.
func (m *PrefectFlows) Plan(
	ctx context.Context,
	// The repository with its prefect-deployments-<env>.yaml files and flows/.
	// +defaultPath="/"
	// +ignore=[".git", ".venv", "venv", "**/__pycache__", "**/*.pyc", ".mypy_cache", ".pytest_cache", "dist", "build", "node_modules", ".dagger"]
	source *dagger.Directory,
	// Environment: selects prefect-deployments-<env>.yaml.
	env string,
	// Prefect API URL, e.g. env://PREFECT_API_URL.
	prefectApiUrl *dagger.Secret,
	// Prefect API key (Prefect Cloud), e.g. env://PREFECT_API_KEY; read access is enough.
	// +optional
	prefectApiKey *dagger.Secret,
	// Owner of the deployments, in their ownership tag managed-by:prefect-flows:<owner>:<env>,
	// e.g. "$GITHUB_REPOSITORY" or "$CI_PROJECT_PATH". Required: the module sees neither
	// .git nor the CI's environment, and two repositories sharing a server need different owners.
	owner string,
) (string, error) {
	if owner == "" {
		return "", errNoOwner
	}
	c, err := connect(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	o, err := c.options(ctx, source, env)
	if err != nil {
		return "", err
	}
	o.Owner = owner
	if o.PrefectAPIURL, err = c.secret(ctx, prefectApiUrl); err != nil {
		return "", err
	}
	if o.PrefectAPIKey, err = c.secret(ctx, prefectApiKey); err != nil {
		return "", err
	}
	return pipeline.PlanLive(ctx, c.Client, o)
}

// PlanLive is the old name of plan (deprecated: use plan; script prints the commands).
func (m *PrefectFlows) PlanLive(
	ctx context.Context,
	// The repository with its prefect-deployments-<env>.yaml files and flows/.
	// +defaultPath="/"
	// +ignore=[".git", ".venv", "venv", "**/__pycache__", "**/*.pyc", ".mypy_cache", ".pytest_cache", "dist", "build", "node_modules", ".dagger"]
	source *dagger.Directory,
	// Environment: selects prefect-deployments-<env>.yaml.
	env string,
	// Prefect API URL, e.g. env://PREFECT_API_URL.
	prefectApiUrl *dagger.Secret,
	// Prefect API key (Prefect Cloud), e.g. env://PREFECT_API_KEY; read access is enough.
	// +optional
	prefectApiKey *dagger.Secret,
	// Owner of the deployments, in their ownership tag managed-by:prefect-flows:<owner>:<env>,
	// e.g. "$GITHUB_REPOSITORY" or "$CI_PROJECT_PATH". Required: the module sees neither
	// .git nor the CI's environment, and two repositories sharing a server need different owners.
	owner string,
) (string, error) {
	fmt.Fprintln(os.Stderr, "plan-live is deprecated: it is called plan now (and the command-printing plan is script)")
	return m.Plan(ctx, source, env, prefectApiUrl, prefectApiKey, owner)
}

var errNoOwner = fmt.Errorf("pass --owner (e.g. --owner \"$GITHUB_REPOSITORY\"): the owner names the ownership tag managed-by:prefect-flows:<owner>:<env>, and the module cannot read it from .git")

// Image builds the agent image from the repository's Dockerfile, after validating the
// environment's deployments file. Chain it: `dagger call image --env dev terminal`.
func (m *PrefectFlows) Image(
	ctx context.Context,
	// The repository with its Dockerfile.
	// +defaultPath="/"
	// +ignore=[".git", ".venv", "venv", "**/__pycache__", "**/*.pyc", ".mypy_cache", ".pytest_cache", "dist", "build", "node_modules", ".dagger"]
	source *dagger.Directory,
	// Environment whose deployments file is validated first.
	// +default="dev"
	env string,
	// Base image for the Dockerfile's BASE_IMAGE build argument.
	// +optional
	baseImage string,
) (*dagger.Container, error) {
	c, err := connect(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	o, err := c.options(ctx, source, env)
	if err != nil {
		return nil, err
	}
	o.BaseImage = baseImage
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

// Publish builds the image and pushes it as <env> and <env>-<gitSha>; it returns the
// digest reference that ECS should run.
func (m *PrefectFlows) Publish(
	ctx context.Context,
	// The repository with its Dockerfile.
	// +defaultPath="/"
	// +ignore=[".git", ".venv", "venv", "**/__pycache__", "**/*.pyc", ".mypy_cache", ".pytest_cache", "dist", "build", "node_modules", ".dagger"]
	source *dagger.Directory,
	// Environment: the tag and the deployments file validated first.
	env string,
	// Registry to publish to, e.g. ghcr.io.
	registry string,
	// Image path under the registry, e.g. acme-data/prefect-flows (default prefect-flows).
	// +optional
	imageRepository string,
	// Registry user name.
	// +optional
	registryUsername string,
	// Registry password or token, e.g. env://REGISTRY_PASSWORD.
	// +optional
	registryPassword *dagger.Secret,
	// Git commit for the <env>-<sha> tag (.git is not uploaded).
	gitSha string,
	// Base image for the Dockerfile's BASE_IMAGE build argument.
	// +optional
	baseImage string,
) (string, error) {
	c, err := connect(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	o, err := c.options(ctx, source, env)
	if err != nil {
		return "", err
	}
	o.Registry, o.ImageRepository, o.RegistryUsername, o.GitSHA, o.BaseImage = registry, imageRepository, registryUsername, gitSha, baseImage
	if o.RegistryPassword, err = c.secret(ctx, registryPassword); err != nil {
		return "", err
	}
	_, rep, err := pipeline.Build(ctx, c.Client, o)
	if err != nil {
		return "", err
	}
	return rep.ImageRef, nil
}

// session is a library-mode client inside the function: the engine gives module
// containers a session, so dagger.io/dagger connects to it and the pipeline package runs
// unchanged. Objects cross from the generated types by ID.
type session struct {
	*lib.Client
	dirs []string
}

func connect(ctx context.Context) (*session, error) {
	c, err := lib.Connect(ctx, lib.WithLogOutput(os.Stderr))
	if err != nil {
		return nil, fmt.Errorf("connect to the module's session: %w", err)
	}
	return &session{Client: c}, nil
}

func (s *session) Close() error {
	for _, d := range s.dirs {
		os.RemoveAll(d)
	}
	return s.Client.Close()
}

// options loads the source by ID for the build, and exports it for spec.Load, which
// reads the deployments file and flows from a local disk.
func (s *session) options(ctx context.Context, source *dagger.Directory, env string) (pipeline.Options, error) {
	id, err := source.ID(ctx)
	if err != nil {
		return pipeline.Options{}, err
	}
	dir, err := export(ctx, source)
	if err != nil {
		return pipeline.Options{}, err
	}
	s.dirs = append(s.dirs, dir)
	return pipeline.Options{
		Env:       env,
		SourceDir: dir,
		Source:    s.LoadDirectoryFromID(lib.DirectoryID(id)),
		Out:       os.Stderr,
		// .git is not uploaded to the module: the commit has to come as an argument.
		GitSHAHint: "pass --git-sha",
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

func text(rep *pipeline.Report) string {
	if rep == nil {
		return ""
	}
	var b bytes.Buffer
	rep.WriteText(&b)
	return b.String()
}
