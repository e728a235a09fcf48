package pipeline

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"dagger.io/dagger"
)

// checkScript loads each entrypoint given on its command line as Prefect does and
// prints one JSON line per entrypoint. It is a Go constant rather than an embedded
// file so that the Dagger module, which uploads only the files dagger.json lists,
// builds without another include pattern.
const checkScript = `"""Load every entrypoint given as an argument the way "prefect deployment build" does.

Prints one JSON line per entrypoint on stdout: {"entrypoint", "ok", "error"}, and keeps
going after a failure so that one bad flow does not hide the others. Whatever a flow
module prints while it is imported goes to stderr, so stdout stays JSON lines only.
"""
import contextlib
import json
import sys
import traceback

from prefect.flows import load_flow_from_entrypoint


def main(entrypoints):
    for entrypoint in entrypoints:
        result = {"entrypoint": entrypoint, "ok": True, "error": ""}
        try:
            with contextlib.redirect_stdout(sys.stderr):
                load_flow_from_entrypoint(entrypoint)
        except BaseException as exc:  # a flow module may even call sys.exit()
            result["ok"] = False
            result["error"] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
`

// CheckDir is where the check step writes its script in the image.
const CheckDir = "/tmp/prefect-check"

// CheckArgs is the argv of the check exec for these entrypoints.
func CheckArgs(entrypoints []string) []string {
	return append([]string{"python", CheckDir + "/check_flows.py"}, entrypoints...)
}

type checkStep struct{}

func (checkStep) String() string {
	return "check: every flow loads in the built image (no secrets, no API)"
}

// Run imports every distinct entrypoint in the image before anything is pushed or
// registered, so a flow that cannot load (a package missing from requirements.txt, a
// typo in the function name) stops the run while nothing has changed yet. The exec has
// no secrets and no cache buster: the same image and flows need checking only once.
func (checkStep) Run(ctx context.Context, st *State) error {
	eps := st.entrypoints()
	if len(eps) == 0 {
		return Skip("the deployments file lists no deployment")
	}
	ctr := st.Image.WithWorkdir(Workdir).
		WithNewFile(CheckDir+"/check_flows.py", checkScript).
		// Expect ANY: one flow's failure must not hide the results of the others.
		WithExec(CheckArgs(eps), dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	stdout, err := ctr.Stdout(ctx)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	results := parseCheck(stdout)
	var bad []string
	for _, ep := range eps {
		r, ok := results[ep]
		switch {
		case !ok:
			// The script died before reaching it (no Prefect in the image, ...).
			return checkCrashed(ctx, ctr, ep)
		case !r.OK:
			bad = append(bad, fmt.Sprintf("%s: %s", ep, lastLine(r.Error)))
		}
	}
	fmt.Fprintf(st.out, "    %d entrypoint(s) load, %d do not\n", len(eps)-len(bad), len(bad))
	if len(bad) > 0 {
		return fmt.Errorf("%d of %d entrypoint(s) do not load in the image, nothing was published or deployed: %s",
			len(bad), len(eps), strings.Join(bad, "; "))
	}
	return nil
}

type checkResult struct {
	Entrypoint string `json:"entrypoint"`
	OK         bool   `json:"ok"`
	Error      string `json:"error"`
}

// parseCheck reads the script's JSON lines; anything else on stdout is ignored.
func parseCheck(stdout string) map[string]checkResult {
	out := map[string]checkResult{}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r checkResult
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Entrypoint != "" {
			out[r.Entrypoint] = r
		}
	}
	return out
}

func checkCrashed(ctx context.Context, ctr *dagger.Container, ep string) error {
	code, err := ctr.ExitCode(ctx)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	stderr, err := ctr.Stderr(ctx)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	why := lastLine(stderr)
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
	seen := map[string]bool{}
	var eps []string
	for _, d := range st.File.Deployments {
		if due[d.Name] && !seen[d.Entrypoint] {
			seen[d.Entrypoint] = true
			eps = append(eps, d.Entrypoint)
		}
	}
	return eps
}

// lastLine is the last non-blank line: the end of a Python error says what went wrong.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
