package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/internal/fakedagger"
)

func isCheck(a []string) bool {
	return len(a) > 2 && a[0] == "python" && a[1] == CheckDir+"/check_flows.py"
}

// playCheck plays check_flows.py: one JSON line per entrypoint. fail["import:"+entrypoint]
// makes that entrypoint fail to import (the error as traceback.format_exception_only
// gives it, several lines for a SyntaxError); fail["check-crash"] is an image whose
// python cannot import Prefect at all.
func playCheck(ex fakedagger.Exec, fail map[string]bool) fakedagger.ExecResult {
	if ex.Files[ex.Args[1]] != checkScript {
		return fakedagger.ExecResult{ExitCode: 2, Stderr: "python: can't open file " + ex.Args[1]}
	}
	if fail["check-crash"] {
		return fakedagger.ExecResult{ExitCode: 1, Stderr: "Traceback (most recent call last):\n  File \"/tmp/prefect-check/check_flows.py\", line 12, in <module>\nModuleNotFoundError: No module named 'prefect'\n"}
	}
	var out strings.Builder
	out.WriteString("a flow that prints at import time\n")
	code := 0
	for _, ep := range ex.Args[2:] {
		r := map[string]any{"entrypoint": ep, "ok": true, "error": ""}
		if fail["import:"+ep] {
			r["ok"] = false
			r["error"] = "ModuleNotFoundError: No module named 'pandas'"
			if strings.Contains(ep, "hello") {
				r["error"] = "  File \"/opt/prefect/flows/hello.py\", line 3\n    def hello(\n             ^\nSyntaxError: '(' was never closed"
			}
		}
		line, _ := json.Marshal(r)
		out.Write(line)
		out.WriteByte('\n')
	}
	return fakedagger.ExecResult{ExitCode: code, Stdout: out.String()}
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

// TestCheckScript runs the check script with this machine's Python against a stand-in
// prefect.flows (load_flow_from_entrypoint imports path:func from the working directory
// as Prefect's does), so the script's own behaviour is tested, not only its handling.
func TestCheckScript(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 on PATH: the check script is exercised only through the fake engine")
	}
	dir := t.TempDir()
	files := map[string]string{
		"check_flows.py":           checkScript,
		"stub/prefect/__init__.py": "",
		"stub/prefect/flows.py": `import importlib.util, os
def load_flow_from_entrypoint(entrypoint):
    path, func = entrypoint.rsplit(":", 1)
    spec = importlib.util.spec_from_file_location("m", os.path.join(os.getcwd(), path))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    try:
        return getattr(mod, func)
    except AttributeError:
        raise RuntimeError(f"Flow function with name {func!r} not found in {path!r}. ") from None
`,
		"work/flows/good.py":   "print('hello from import')\ndef good():\n    pass\n",
		"work/flows/pandas.py": "import pandas_not_installed\ndef etl():\n    pass\n",
		"work/flows/exits.py":  "import sys\nsys.exit(3)\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	eps := []string{"flows/good.py:good", "flows/pandas.py:etl", "flows/good.py:missing", "flows/exits.py:x", "flows/good.py:good"}
	cmd := exec.Command(py, append([]string{filepath.Join(dir, "check_flows.py")}, eps...)...)
	cmd.Dir = filepath.Join(dir, "work")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(dir, "stub"), "PYTHONDONTWRITEBYTECODE=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("check_flows.py: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != len(eps) {
		t.Fatalf("stdout has %d lines, want one JSON line per entrypoint (%d):\n%s", len(lines), len(eps), stdout.String())
	}
	want := []struct {
		ok      bool
		lastErr string
	}{
		{true, ""},
		{false, "ModuleNotFoundError: No module named 'pandas_not_installed'"},
		{false, "RuntimeError: Flow function with name 'missing' not found in 'flows/good.py'."},
		{false, "SystemExit: 3"},
		{true, ""},
	}
	for i, line := range lines {
		var r checkResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %d %q: %v", i, line, err)
		}
		if r.Entrypoint != eps[i] || r.OK != want[i].ok || lastLine(r.Error) != want[i].lastErr {
			t.Errorf("line %d = %+v, want %s ok=%v error ending %q", i, r, eps[i], want[i].ok, want[i].lastErr)
		}
	}
	if !strings.Contains(stderr.String(), "hello from import") {
		t.Errorf("a flow's import-time print should go to stderr; stderr = %q", stderr.String())
	}
}
