package deploycli

import (
	"context"
	"fmt"

	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/preflight"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// checkJobVariables refuses a Prefect 3 file whose deployments would send a job variable
// their pool's base job template does not declare (preflight.JobVariableKeys): the
// server stores such a key and the worker ignores it, so a typo would do nothing,
// silently. It reads the pools (nothing is written; once, with withPools: readPools) after withPools, whose ECS settings
// are checked too; a pool that does not exist yet is not checked. Problems and notes go
// to stderr, one line each; false means stop. unchecked (--unchecked-job-variables) makes
// each problem a note.
func (a *App) checkJobVariables(ctx context.Context, api *prefectapi.Client, f *spec.File, own *runOwner, unchecked bool) bool {
	if f.Prefect != spec.Prefect3 {
		return true
	}
	if !a.readPools(ctx, api, f, own) {
		return false
	}
	problems, notes := preflight.JobVariableKeys(f.Deployments, own.workPools, own.pools)
	for _, n := range notes {
		fmt.Fprintf(a.Stderr, "prefect-deploy: note: %s\n", n)
	}
	for _, p := range problems {
		if unchecked {
			fmt.Fprintf(a.Stderr, "prefect-deploy: note: %s (not refused: --unchecked-job-variables)\n", p)
			continue
		}
		fmt.Fprintf(a.Stderr, "prefect-deploy: %s\n", p)
	}
	if len(problems) > 0 && !unchecked {
		fmt.Fprintln(a.Stderr, "prefect-deploy: fix the job variables above, or pass --unchecked-job-variables if the pool's template reads them anyway (its job_configuration names them)")
	}
	return unchecked || len(problems) == 0
}

// uncheckedJobVarsHelp is --unchecked-job-variables of apply and plan.
const uncheckedJobVarsHelp = "Prefect 3 file: a job variable that the work pool's base job template does not declare is a note, not a refusal (the server would store it; the worker only reads declared ones unless the template's job_configuration names it). The pipeline passes it on its embedded server, whose pools are process stand-ins for the file's"
