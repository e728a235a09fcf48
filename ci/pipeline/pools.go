package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
)

// PoolsDir is where the pools step writes the worker type's default base job template.
const PoolsDir = "/tmp/prefect-pools"

type poolsStep struct{}

func (poolsStep) String() string {
	return "pools: Prefect 3: create the missing work pools the file names (PREFECT_POOL_TYPE), never change an existing one"
}

// Run creates, through the API from inside the registered image, the work pools the
// file names that do not exist yet, of type PREFECT_POOL_TYPE (process on the embedded
// server, where nothing but Prefect's own worker types is known). The server does not
// fill a type's default base job template itself, so the image's Prefect writes it
// first (`prefect work-pool get-default-base-job-template`, from the installed worker:
// prefect-aws for ecs), as `prefect work-pool create` does. An existing pool is left as
// it is. The execs carry the run's cache buster: they act on the API.
func (poolsStep) Run(ctx context.Context, st *State) error {
	if !st.prefect3() {
		return Skip("Prefect 2: the deployments run on infrastructure blocks; work pools are checked by the preflight, not created")
	}
	if len(st.Jobs) == 0 {
		return Skip("the deployments file lists no deployment")
	}
	typ := st.Opts.WorkPoolType()
	tmpl := PoolsDir + "/" + typ + ".json"
	out, err := inImage(st).
		WithDirectory(PoolsDir, st.Client.Directory()).
		WithExec(TemplateArgs(typ, tmpl)).
		WithExec(PoolsArgs(typ, tmpl, filepath.Base(st.File.Path), st.Opts.Only)).
		Stdout(ctx)
	if err != nil {
		return fmt.Errorf("work pools: %w", execDetail(err))
	}
	printIndented(st.out, out)
	return nil
}

// TemplateArgs is the exec that writes work pool type typ's default base job template
// to file, from the worker class the image has installed.
func TemplateArgs(typ, file string) []string {
	return []string{"prefect", "work-pool", "get-default-base-job-template", "--type", typ, "--file", file}
}

// PoolsArgs is the exec that creates the missing pools of the deployments file; with
// only (DEPLOY_ONLY), those of the deployments it selects.
func PoolsArgs(typ, template, file string, only []string) []string {
	args := []string{"prefect-deploy", "pools", "--type", typ, "--base-job-template", template}
	return append(append(args, onlyArgs(only)...), file)
}
