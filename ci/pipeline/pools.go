package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/acme-data/prefect-flows/ci/config"
	"github.com/acme-data/prefect-flows/ci/deploycli"
)

// PoolsDir is where the pools step writes the worker type's default base job template.
const PoolsDir = "/tmp/prefect-pools"

type poolsStep struct{}

func (poolsStep) String() string {
	return "pools: Prefect 3: the work pools the file names have the expected type (PREFECT_POOL_TYPE); create the missing ones"
}

// Run makes the work pools the file names ready, through the API from inside the
// registered image: a pool of another type than PREFECT_POOL_TYPE (process on the
// embedded server, where nothing but Prefect's own worker types is known) stops the run
// unless PREFECT_POOL_ANY_TYPE; a missing pool is created of that type. The server does
// not fill a type's default base job template itself, so the image's Prefect writes it
// first (`prefect work-pool get-default-base-job-template`, from the installed worker:
// prefect-aws for ecs), as `prefect work-pool create` does. An existing pool is left as
// it is unless PREFECT_POOL_UPDATE_TEMPLATE, which sets its template to that default.
// The mage preflight checks the types before the build too; in the Dagger module this
// step is the check. The execs carry the run's cache buster: they act on the API.
func (poolsStep) Run(ctx context.Context, st *State) error {
	if !st.prefect3() {
		return Skip("Prefect 2: the deployments run on infrastructure blocks; work pools are checked by the preflight, not created")
	}
	if len(st.Jobs) == 0 {
		return Skip("the deployments file lists no deployment")
	}
	typ := st.Opts.WorkPoolType()
	out, err := inImage(st).
		WithDirectory(PoolsDir, st.Client.Directory()).
		WithExec(TemplateArgs(typ, PoolsTemplate(typ))).
		WithExec(PoolsArgs(st.Opts.Config, filepath.Base(st.File.Path))).
		Stdout(ctx)
	if err != nil {
		return fmt.Errorf("work pools: %w\n(%s)", execDetail(err), poolsFlagsHint)
	}
	printIndented(st.out, out)
	st.detail = poolsSummary(out)
	return nil
}

// poolsFlagsHint maps prefect-deploy pools' flags, which its messages name, to the
// pipeline's settings.
const poolsFlagsHint = "prefect-deploy pools --type is PREFECT_POOL_TYPE, --any-type is PREFECT_POOL_ANY_TYPE=1, --update-template is PREFECT_POOL_UPDATE_TEMPLATE=1; in the Dagger module: with-work-pools --pool-type, --any-type, --update-template"

// poolsSummary is the report's detail for the pools step: what prefect-deploy pools
// says it created, updated and left.
func poolsSummary(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	if rest, ok := strings.CutPrefix(last, deploycli.PoolsSummaryPrefix); ok {
		return rest
	}
	return ""
}

// PoolsTemplate is where the pools step writes worker type typ's default base job template.
func PoolsTemplate(typ string) string { return PoolsDir + "/" + typ + ".json" }

// TemplateArgs is the exec that writes work pool type typ's default base job template
// to file, from the worker class the image has installed.
func TemplateArgs(typ, file string) []string {
	return deploycli.TemplateArgs("prefect", typ, file)
}

// PoolsArgs is the exec that checks the pools of the deployments file (the file name
// in the image's working directory) and creates the missing ones, as c says: their
// type, whether any type is accepted, whether existing templates are updated; with
// c.Only (DEPLOY_ONLY), only the pools of the deployments named.
func PoolsArgs(c config.Config, file string) []string {
	typ := c.WorkPoolType()
	return deploycli.PoolsCommand{Type: typ, Template: PoolsTemplate(typ), AnyType: c.PoolAnyType,
		UpdateTemplate: c.PoolUpdateTemplate, Only: c.Only, File: file}.Args()
}
