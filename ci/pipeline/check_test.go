package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/inspect"
	"github.com/acme-data/prefect-flows/ci/internal/fakedagger"
)

func isCheck(a []string) bool {
	return len(a) > 3 && runsProgram(a, inspect.Program)
}

// playCheck plays the inspect program (ci/inspect): one JSON document for every
// entrypoint. fail["import:"+entrypoint] makes that entrypoint fail to import (the error
// as traceback.format_exception_only gives it, several lines for a SyntaxError);
// fail["check-crash"] is an image whose python cannot import Prefect at all.
func playCheck(ex fakedagger.Exec, fail map[string]bool) fakedagger.ExecResult {
	if res, ok := programMissing(ex, inspect.Program); !ok {
		return res
	}
	if fail["check-crash"] {
		return fakedagger.ExecResult{ExitCode: 1, Stderr: "Traceback (most recent call last):\n  File \"/tmp/prefect-flows-ci/ci/inspect/inspect_flows.py\", line 12, in <module>\nModuleNotFoundError: No module named 'prefect'\n"}
	}
	doc := map[string]any{"format": 1, "prefect_version": "2.14.21", "python": "3.11.7", "error": nil}
	var flows []any
	for _, ep := range ex.Args[3:] {
		file, fn, _ := strings.Cut(ep, ":")
		r := map[string]any{"entrypoint": ep, "ok": true, "error": nil, "flow_name": strings.ReplaceAll(fn, "_", "-"), "function": fn,
			"deployment_entrypoint": ep, "parameter_openapi_schema": map[string]any{"title": "Parameters", "type": "object", "properties": map[string]any{}},
			"version": "md5-of-" + file, "description": nil, "file_md5": "md5-of-" + file}
		if fail["import:"+ep] {
			r = map[string]any{"entrypoint": ep, "ok": false, "error": "ModuleNotFoundError: No module named 'pandas'"}
			if strings.Contains(ep, "hello") {
				r["error"] = "  File \"/opt/prefect/flows/hello.py\", line 3\n    def hello(\n             ^\nSyntaxError: '(' was never closed"
			}
		}
		flows = append(flows, r)
	}
	doc["flows"] = flows
	line, _ := json.Marshal(doc)
	return fakedagger.ExecResult{Stdout: string(line) + "\n", Stderr: "a flow that prints at import time\n"}
}

// TestCheckStopsBadFlows: a flow that does not load stops the run after the image is
// built and before anything is pushed, registered or deployed, and the error names
// every failing entrypoint with the last line of its Python error.
func TestCheckStopsBadFlows(t *testing.T) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(handler(map[string]bool{
		"import:flows/etl.py:daily_etl": true,
		"import:flows/hello.py:hello":   true,
	})))
	c := connect(t, srv)
	var out bytes.Buffer
	rep, err := Run(context.Background(), c, prodOptions(t, c, &out))
	if err == nil {
		t.Fatalf("Run succeeded with flows that do not load\n%s", out.String())
	}
	for _, want := range []string{
		"step check",
		"2 of 2 entrypoint(s)",
		"flows/hello.py:hello: SyntaxError: '(' was never closed",
		"flows/etl.py:daily_etl: ModuleNotFoundError: No module named 'pandas'",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if n := len(srv.Publishes()); n != 0 {
		t.Errorf("published %d time(s) after a failed check", n)
	}
	for _, ex := range srv.Execs() {
		if a := ex.Exec.Args; !isCheck(a) {
			t.Errorf("exec after a failed check: %q", a)
		}
	}
	for _, step := range []string{"publish", "register", "deploy"} {
		if got := stepStatus(rep, step); got != StepNotRun {
			t.Errorf("%s = %s, want %s", step, got, StepNotRun)
		}
	}
	if got := stepStatus(rep, "check"); got != StepFailed {
		t.Errorf("check = %s, want %s", got, StepFailed)
	}
}

// TestCheckExec: one exec for the distinct entrypoints, in the image from its WORKDIR,
// Expect ANY, and nothing that would stop Dagger caching it: no secrets, no cache buster.
func TestCheckExec(t *testing.T) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(handler(nil)))
	c := connect(t, srv)
	for i := range 2 {
		var out bytes.Buffer
		o := prodOptions(t, c, &out)
		run := []string{"run-a", "run-b"}[i]
		o.RunID = func() string { return run }
		if _, err := Run(context.Background(), c, o); err != nil {
			t.Fatalf("run %d: %v\n%s", i, err, out.String())
		}
	}
	checks := execsWith(srv, isCheck)
	if len(checks) != 1 {
		t.Fatalf("check ran %d times over two runs of the same image, want 1 (cached)", len(checks))
	}
	ex := checks[0]
	if want := CheckArgs([]string{"flows/hello.py:hello", "flows/etl.py:daily_etl"}); !slices.Equal(ex.Args, want) {
		t.Errorf("argv = %q, want %q", ex.Args, want)
	}
	if ex.Expect != "ANY" || ex.Workdir != Workdir || len(ex.Secrets) != 0 || ex.Env["CACHEBUSTER"] != "" || ex.Base.Build == nil {
		t.Errorf("check exec: expect %s, workdir %s, secrets %v, env %v, base %+v", ex.Expect, ex.Workdir, ex.Secrets, ex.Env, ex.Base)
	}
	if n := len(execsWith(srv, isRegister)); n != 2 {
		t.Errorf("register ran %d times, want 2 (never cached)", n)
	}
}

func TestCheckCrash(t *testing.T) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(handler(map[string]bool{"check-crash": true})))
	var out bytes.Buffer
	_, err := Run(context.Background(), connect(t, srv), devOptions(t, &out))
	if err == nil || !strings.Contains(err.Error(), "exit code 1") || !strings.Contains(err.Error(), "No module named 'prefect'") {
		t.Fatalf("err = %v, want the check's exit code and last stderr line", err)
	}
	if n := len(srv.Services()); n != 0 {
		t.Errorf("%d service(s) started after a failed check", n)
	}
}
