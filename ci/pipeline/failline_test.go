package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/internal/fakedagger"
)

// A command that fails in a container (here `prefect block register` that cannot reach
// the API, as a real 2.14 prints it) reads in one line: the step's result line, the
// summary row and the run's error name the exception; the traceback appears once.
func TestFailedCommandReadsInOneLine(t *testing.T) {
	trace, err := os.ReadFile(filepath.Join("testdata", "register-connect-error.txt"))
	if err != nil {
		t.Fatal(err)
	}
	const exception = "httpx.ConnectError: All connection attempts failed"
	h := handler(nil)
	srv := fakedagger.Start(t, fakedagger.WithHandler(func(ex fakedagger.Exec) fakedagger.ExecResult {
		if a := ex.Args; len(a) >= 2 && a[0] == "prefect" && a[1] == "block" {
			return fakedagger.ExecResult{ExitCode: 1, Stderr: string(trace)}
		}
		return h(ex)
	}))
	var out bytes.Buffer
	o := prodOptions(t, connect(t, srv), &out)
	rep, err := Run(context.Background(), connect(t, srv), o)
	if err == nil {
		t.Fatalf("Run succeeded, want the register failure\n%s", out.String())
	}
	if want := "step register: prefect block register: " + exception + " (exit code 1)"; err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err.Error(), want)
	}
	var reg *StepOutcome
	for i := range rep.Steps {
		if rep.Steps[i].Name == "register" {
			reg = &rep.Steps[i]
		}
	}
	if reg == nil || reg.Status != StepFailed || !strings.Contains(reg.Detail, exception) {
		t.Errorf("register outcome = %+v, want FAILED naming %q", reg, exception)
	}
	log := out.String()
	if n := strings.Count(log, "Traceback (most recent call last)"); n > 1 {
		t.Errorf("the traceback's head appears %d times in the log, want at most once", n)
	}
	if n := strings.Count(log, "line 105, in map_httpcore_exceptions"); n != 1 {
		t.Errorf("the traceback's last frame appears %d times in the log, want once:\n%s", n, log)
	}
	if !strings.Contains(log, "    FAILED: prefect block register: "+exception) {
		t.Errorf("the step's result line does not name the exception:\n%s", log)
	}
}
