package pipeline

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
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

// aws_credentials.py, run as the register step runs it, stops with one line, never
// echoing the secret key, when a key is missing or the image has no prefect-aws
// (testdata/credentials/cases.json; saving itself is checked against a real Prefect 3 by
// ci/deploycli's TestRealPrefect3ECSSettings).
func TestCredentialsProgram(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	raw, err := os.ReadFile("testdata/credentials/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name, Stderr string
		Env          map[string]string
		Code         int
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	file, err := CredentialsProgram.WriteUnder(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			argv := pyprog.Argv(python, file, "dev")
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "PYTHONNOUSERSITE=1"}
			for k, v := range tc.Env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != tc.Code || stderr.String() != tc.Stderr {
				t.Errorf("exit %d, stderr %q; want %d, %q", code, stderr.String(), tc.Code, tc.Stderr)
			}
			if secret := tc.Env["AWS_SECRET_ACCESS_KEY"]; secret != "" && strings.Contains(stdout.String()+stderr.String(), secret) {
				t.Error("the secret key in the output")
			}
		})
	}
}
