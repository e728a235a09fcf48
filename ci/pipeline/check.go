package pipeline

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"dagger.io/dagger"

	"github.com/acme-data/prefect-flows/ci/inspect"
	"github.com/acme-data/prefect-flows/ci/pytrace"
)

// CheckDir is where the check step's output is handed on in the image.
const CheckDir = "/tmp/prefect-check"

// InspectedPath is where the deploy step hands the check step's output to prefect-deploy.
const InspectedPath = CheckDir + "/inspected.json"

// CheckArgs is the argv of the check exec for these entrypoints.
func CheckArgs(entrypoints []string) []string {
	return inspect.Program.ContainerArgs(entrypoints...)
}

type checkStep struct{}

func (checkStep) String() string {
	return "check: inspect every flow in the built image with Prefect's own loader (no secrets, no API)"
}

// Run inspects every distinct entrypoint in the image once (ci/inspect: flow name,
// parameter schema, default version and description, Prefect's version) before anything
// is pushed or registered, so a flow that cannot load (a package missing from
// requirements.txt, a typo in the function name) stops the run while nothing has
// changed yet, and the deploy step gets what it needs without importing Prefect again.
// The exec has no secrets and no cache buster: it is a pure function of the image and
// the flows, so Dagger answers a second run from its cache.
func (checkStep) Run(ctx context.Context, st *State) error {
	eps := st.entrypoints()
	if len(eps) == 0 {
		return Skip("the deployments file lists no deployment")
	}
	ctr := withProgram(st.Image.WithWorkdir(Workdir), inspect.Program).
		// Expect ANY: a crash still hands back its stderr for the one-line reason.
		WithExec(CheckArgs(eps), dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	stdout, err := ctr.Stdout(ctx)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	res, perr := inspect.Parse([]byte(stdout))
	if perr != nil {
		return checkCrashed(ctx, ctr, eps[0], res)
	}
	if missing := res.Missing(eps); len(missing) > 0 {
		return fmt.Errorf("the flow check gave no result for %s", strings.Join(missing, ", "))
	}
	bad := res.Failed()
	fmt.Fprintf(st.out, "    %d entrypoint(s) load, %d do not (Prefect %s in the image)\n", len(eps)-len(bad), len(bad), res.PrefectVersion)
	if len(bad) > 0 {
		return fmt.Errorf("%d of %d entrypoint(s) do not load in the image, nothing was published or deployed: %s",
			len(bad), len(eps), strings.Join(bad, "; "))
	}
	// The file's major must be the image's: the server is checked against both later,
	// but a mismatch here is known before anything is pushed, created or deployed.
	if m := st.File.Prefect; m != 0 && res.PrefectVersion != "" && !strings.HasPrefix(res.PrefectVersion, strconv.Itoa(int(m))+".") {
		return fmt.Errorf("%s targets %s (%s) but the image has Prefect %s: install Prefect %d in the image (requirements.txt, BASE_IMAGE) or change the file; nothing was published or deployed",
			relTo(st.Opts.SourceDir, st.File.Path), m, st.File.PrefectFrom, res.PrefectVersion, int(m))
	}
	st.Inspected = stdout
	st.InspectedFlows = res
	return nil
}

func checkCrashed(ctx context.Context, ctr *dagger.Container, ep string, res *inspect.Result) error {
	code, err := ctr.ExitCode(ctx)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	stderr, err := ctr.Stderr(ctx)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	why := pytrace.LastLine(stderr)
	if res != nil && res.Error != "" {
		why = pytrace.LastLine(res.Error)
	}
	if why == "" {
		why = "no error output"
	}
	return fmt.Errorf("the flow check stopped (exit code %d) before %s: %s", code, ep, why)
}

// entrypoints are the distinct entrypoints of the deployments this run builds, in file order.
func (st *State) entrypoints() []string {
	due := map[string]bool{}
	for _, j := range st.Jobs {
		due[j.Name] = true
	}
	var eps []string
	for _, d := range st.File.Deployments {
		if due[d.Name] {
			eps = append(eps, d.Entrypoint)
		}
	}
	return inspect.Distinct(eps)
}
