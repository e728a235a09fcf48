package pipeline

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/acme-data/prefect-flows/ci/internal/fakedagger"
	"github.com/acme-data/prefect-flows/ci/pyprog"
)

// runsProgram says whether argv runs p the one way (python -u PATH ...).
func runsProgram(argv []string, p pyprog.Program) bool {
	return len(argv) >= 3 && slices.Equal(argv[:3], p.ContainerArgs())
}

// programMissing is python's answer when the exec's container lacks p at its path (or
// holds another text there); ok when p is there.
func programMissing(ex fakedagger.Exec, p pyprog.Program) (fakedagger.ExecResult, bool) {
	if ex.Files[p.ContainerPath()] != p.Source() {
		return fakedagger.ExecResult{ExitCode: 2, Stderr: "python: can't open file '" + p.ContainerPath() + "': [Errno 2] No such file or directory\n"}, false
	}
	return fakedagger.ExecResult{}, true
}

// health.py, run as the server step runs it, waits for a server that answers `true`.
func TestHealthProgram(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := calls.Add(1); r.URL.Path != "/api/health" || n < 2 {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("true\n"))
	}))
	defer srv.Close()
	file, err := HealthProgram.WriteUnder(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	argv := pyprog.Argv(python, file, srv.URL+"/api/health")
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil || string(out) != "healthy after 2 attempt(s)\n" {
		t.Errorf("health.py: %v: %q, want healthy after 2 attempt(s)", err, out)
	}
}
