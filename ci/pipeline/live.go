package pipeline

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"dagger.io/dagger"

	"github.com/acme-data/prefect-flows/ci/config"
	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/ownership"
	"github.com/acme-data/prefect-flows/ci/prune"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// The live plan, the read-back and prune talk to the Prefect API with the URL and key,
// which in the pipeline are Dagger secrets. So they do not run in this process: the
// pipeline builds the wrapper CLI (ci/cmd/prefect-deploy) inside Dagger, for the engine's
// own platform, and runs it in a container that gets PREFECT_API_URL and PREFECT_API_KEY
// as secret variables, exactly as the deploy execs do. Its output is the CLI's.

// GoImage builds the prefect-deploy tool.
const GoImage = "golang:1.26-alpine"

// ToolPath is where prefect-deploy lands in the containers that run it.
const ToolPath = "/usr/local/bin/prefect-deploy"

// source is the repository as a Dagger directory, as the image step reads it.
func source(client *dagger.Client, o *Options) *dagger.Directory {
	if o.Source != nil {
		return o.Source
	}
	return client.Host().Directory(o.SourceDir, dagger.HostDirectoryOpts{Exclude: SourceExcludes})
}

// tool compiles prefect-deploy from src. It is a pure build: Dagger caches it by the
// source's content, and the module and build caches survive between runs in volumes.
func tool(client *dagger.Client, src *dagger.Directory) *dagger.File {
	return client.Container().From(GoImage).
		WithMountedCache("/go/pkg/mod", client.CacheVolume("prefect-flows-go-mod")).
		WithMountedCache("/root/.cache/go-build", client.CacheVolume("prefect-flows-go-build")).
		WithMountedDirectory("/src", src).
		WithWorkdir("/src").
		WithEnvVariable("CGO_ENABLED", "0").
		WithExec([]string{"go", "build", "-trimpath", "-o", "/out/prefect-deploy", "./ci/cmd/prefect-deploy"}).
		File("/out/prefect-deploy")
}

// inImage is the registered image with prefect-deploy and the deployments file added:
// the flows it checks the file against are the image's own, and the Prefect secrets and
// the run's cache buster are already set on it.
func inImage(st *State) *dagger.Container {
	if st.tool == nil {
		st.tool = tool(st.Client, source(st.Client, st.Opts))
	}
	name := filepath.Base(DeploymentsFile(st.Opts.SourceDir, st.Opts.Env))
	return st.Registered.
		WithFile(ToolPath, st.tool, dagger.ContainerWithFileOpts{Permissions: 0o755}).
		WithFile(Workdir+"/"+name, source(st.Client, st.Opts).File(name))
}

type verifyStep struct{}

func (verifyStep) String() string {
	return "verify: read every deployment back from the Prefect API, fix what build cannot clear, fail on drift"
}

func (verifyStep) Run(ctx context.Context, st *State) error {
	if st.Opts.Embedded() {
		return Skip("embedded server: nothing to compare on the real Prefect API")
	}
	if len(st.Jobs) == 0 {
		return Skip("no deployment was built")
	}
	owner, err := st.Opts.owner()
	if err != nil {
		return err
	}
	args := append([]string{"prefect-deploy", "read-back", "--owner", owner}, onlyArgs(st.Opts.Only)...)
	args = append(append(args, st.p3Args()...), filepath.Base(st.File.Path))
	out, err := inImage(st).WithExec(args).Stdout(ctx)
	if err != nil {
		return fmt.Errorf("read-back: %w", execDetail(err))
	}
	printIndented(st.out, out)
	st.Verified = true
	return nil
}

type pruneStep struct{}

func (pruneStep) String() string {
	return "prune: delete the managed deployments the file no longer lists (--prune)"
}

func (pruneStep) Run(ctx context.Context, st *State) error {
	o := st.Opts
	switch {
	case !o.Prune:
		return Skip("not asked for (dagger call deploy --prune, or PREFECT_PRUNE=1)")
	case o.Embedded():
		return Skip("embedded server: a throwaway server has nothing to prune")
	}
	// The steps before already stop on a failed deploy or drift; this is the rule itself.
	if err := prune.CheckFile(st.File, st.Results, nil); err != nil {
		return err
	}
	if !st.Verified {
		return fmt.Errorf("no prune: the read-back did not confirm the deploy")
	}
	// --yes: choosing prune for a pipeline run is the confirmation.
	owner, err := o.owner()
	if err != nil {
		return err
	}
	out, err := inImage(st).WithExec(append(append([]string{"prefect-deploy", "prune", "--yes", "--owner", owner}, st.p3Args()...), filepath.Base(st.File.Path))).Stdout(ctx)
	if err != nil {
		return fmt.Errorf("prune: %w", execDetail(err))
	}
	printIndented(st.out, out)
	return nil
}

// p3Args are the flags of a Prefect 3 file's apply, read-back and prune, the same for
// all three so the read-back compares what the deploy wrote: --image (the image each
// deployment's job_variables.image holds) and the ECS settings (ecsArgs).
func (st *State) p3Args() []string {
	if !st.prefect3() {
		return nil
	}
	return append([]string{"--image", st.ImageRef}, st.Opts.ecsArgs()...)
}

// PlanLive is the Dagger function's live plan: `prefect-deploy plan` for
// opts.Env in a Go container, with the API URL and key as secret variables and a fresh
// cache buster (the answer depends on the server, never on Dagger's cache). It returns
// the plan text. The deployments file is checked here first, so a config error costs
// no engine work.
func PlanLive(ctx context.Context, client *dagger.Client, opts Options) (string, error) {
	if err := ownership.CheckEnv(opts.Env); err != nil {
		return "", err
	}
	if !opts.PrefectAPIURL.Set() {
		return "", fmt.Errorf("PREFECT_API_URL is not set: the live plan compares the file with that Prefect API")
	}
	owner, err := opts.owner()
	if err != nil {
		return "", err
	}
	f, _, err := loadFile(opts.SourceDir, opts.Env, owner)
	if err != nil {
		return "", err
	}
	args := append([]string{"prefect-deploy", "plan", "--owner", owner}, opts.planImageArgs(f)...)
	opts.Config = opts.Bind(client)
	runID := newRunID()
	if opts.RunID != nil {
		runID = opts.RunID()
	}
	src := source(client, &opts)
	ctr := client.Container().From(GoImage).
		WithFile(ToolPath, tool(client, src), dagger.ContainerWithFileOpts{Permissions: 0o755}).
		WithMountedDirectory("/src", src).
		WithWorkdir("/src").
		WithSecretVariable("PREFECT_API_URL", opts.PrefectAPIURL.Dagger())
	if opts.PrefectAPIKey.Set() {
		ctr = ctr.WithSecretVariable("PREFECT_API_KEY", opts.PrefectAPIKey.Dagger())
	}
	out, err := ctr.
		WithEnvVariable("CACHEBUSTER", runID).
		WithExec(append(args, filepath.Base(f.Path))).
		Stdout(ctx)
	if err != nil {
		return "", fmt.Errorf("live plan: %w", execDetail(err))
	}
	return out, nil
}

// PlanLiveLocal is mage's live plan: the same CLI in this process, reading
// PREFECT_API_URL and PREFECT_API_KEY from environ, and for a Prefect 3 file REGISTRY and
// IMAGE_REPOSITORY (the image the deploy would send) and the ECS settings (the job
// variables it would send). No Docker and no engine are
// needed: it is a few HTTPS reads, and the values are already in this process's
// environment.
func PlanLiveLocal(ctx context.Context, root, env string, environ []string, stdout, stderr io.Writer) error {
	app := &deploycli.App{Stdout: stdout, Stderr: stderr, Env: environ}
	args := []string{"plan", "--workdir", root}
	// A file that does not load gets no image: the CLI reports its problems.
	if f, err := spec.Load(DeploymentsFile(root, env), spec.LoadOptions{RepoRoot: root}); err == nil {
		get := func(k string) string { return strings.TrimSpace(deploycli.LookupEnv(environ, k)) }
		o := Options{Config: config.Config{Env: env, Registry: get("REGISTRY"), ImageRepository: get("IMAGE_REPOSITORY"),
			ECS: config.ECS{Cluster: get("ECS_CLUSTER"), VPCID: get("ECS_VPC_ID"), ExecutionRoleARN: get("ECS_EXECUTION_ROLE_ARN"),
				TaskRoleARN: get("ECS_TASK_ROLE_ARN"), CPU: get("ECS_CPU"), Memory: get("ECS_MEMORY"), Region: get("AWS_REGION")},
			// Only whether it is set: it names the aws-credentials/<env> block the deploy references.
			AWSAccessKeyID: config.Plaintext(get("AWS_ACCESS_KEY_ID"))}}
		args = append(args, o.planImageArgs(f)...)
	}
	// The CLI has printed why on stderr.
	if code := app.Run(ctx, append(args, DeploymentsFile(root, env))); code != deploycli.ExitOK {
		return fmt.Errorf("live plan of %s failed (exit %d)", env, code)
	}
	return nil
}

// planImageArgs tells the live plan of a Prefect 3 file which image the deploy would
// write into job_variables.image: without REGISTRY the local image name, exactly; with
// it the repository the image is pushed to, since its digest is known only after the
// push (prefect-deploy plan --image-repository). The ECS settings come along, so the
// plan compares the job variables the deploy would write. A Prefect 2 file's image is the
// infrastructure block's: none.
func (o *Options) planImageArgs(f *spec.File) []string {
	switch {
	case f.Prefect != spec.Prefect3:
		return nil
	case o.Registry == "":
		return append([]string{"--image", o.unpublishedRef()}, o.ecsArgs()...)
	}
	return append([]string{"--image-repository", o.publishedRepo()}, o.ecsArgs()...)
}
