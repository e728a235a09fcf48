package prefectcli_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/internal/fakeprefect"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
)

var fakeBin string

func TestMain(m *testing.M) { fakeprefect.RunTests(m, &fakeBin) }

func execRunner(t testing.TB, extraEnv ...string) (*prefectcli.ExecRunner, string) {
	t.Helper()
	spec, err := fakeprefect.SharedPath("prefect/cli-2.14.json")
	require.NoError(t, err)
	work := t.TempDir()
	require.NoError(t, os.CopyFS(work, os.DirFS("testdata/repo")))
	logFile := filepath.Join(t.TempDir(), "calls.jsonl")
	env := append([]string{"PATH=" + os.Getenv("PATH"), "FAKE_PREFECT_CLI_SPEC=" + spec, "FAKE_PREFECT_LOG=" + logFile}, extraEnv...)
	return &prefectcli.ExecRunner{Prefect: fakeBin, Workdir: work, Env: env, StopTimeout: 200 * time.Millisecond}, logFile
}

func buildJob(name string) prefectcli.Job {
	return prefectcli.Job{Name: name, Args: []string{"deployment", "build", "flows/hello.py:hello", "-n", name, "-a", "--skip-upload", "-ib", "process/dev", "--no-schedule", "-o", "out-" + name + ".yaml"}}
}

func TestExecRunner(t *testing.T) {
	cases := []struct {
		name     string
		env      []string
		timeout  time.Duration
		status   prefectcli.Status
		exit     int
		stdout   string
		stderr   string
		signal   string // in the fake's log
		errMatch string
	}{
		{name: "ok", status: prefectcli.StatusSucceeded, stdout: "successfully created"},
		{name: "wrapped-id", env: []string{"COLUMNS=70"}, status: prefectcli.StatusSucceeded, stdout: "with id \n'"},
		{name: "fails", env: []string{"FAKE_PREFECT_FAIL=fails"}, status: prefectcli.StatusFailed, exit: 1, stdout: "An exception occurred.", stderr: "500 Internal Server Error"},
		{name: "hangs", env: []string{"FAKE_PREFECT_HANG=hangs"}, timeout: 300 * time.Millisecond, status: prefectcli.StatusTimedOut, exit: 143, stderr: "Aborted!", signal: "SIGTERM", errMatch: "prefect stopped (exit 143)"},
		{name: "ignores-term", env: []string{"FAKE_PREFECT_HANG=ignores-term", "FAKE_PREFECT_IGNORE_TERM=1"}, timeout: 300 * time.Millisecond, status: prefectcli.StatusTimedOut, exit: -1, errMatch: "killed by SIGKILL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, logFile := execRunner(t, c.env...)
			ctx := context.Background()
			if c.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeoutCause(ctx, c.timeout, prefectcli.ErrTimedOut)
				defer cancel()
			}
			res := r.Run(ctx, buildJob(c.name))
			assert.Equal(t, c.status, res.Status, "%+v", res)
			assert.Equal(t, c.exit, res.ExitCode)
			assert.Contains(t, res.Stdout, c.stdout)
			assert.Contains(t, res.Stderr, c.stderr)
			if c.status == prefectcli.StatusSucceeded {
				assert.Equal(t, fakeprefect.DeploymentID("hello", c.name), res.DeploymentID)
				assert.FileExists(t, filepath.Join(r.Workdir, "out-"+c.name+".yaml"))
			} else {
				assert.Empty(t, res.DeploymentID)
			}
			if c.errMatch != "" {
				assert.ErrorContains(t, res.Err, c.errMatch)
			}
			recs, err := fakeprefect.ReadLog(logFile)
			require.NoError(t, err)
			require.NotEmpty(t, recs)
			assert.Equal(t, buildJob(c.name).Args, recs[0].Argv)
			if c.signal != "" {
				require.Len(t, recs, 2)
				assert.Equal(t, c.signal, recs[1].Signal)
			}
		})
	}
}

func TestExecRunnerMissingBinary(t *testing.T) {
	r := &prefectcli.ExecRunner{Prefect: filepath.Join(t.TempDir(), "no-prefect")}
	res := r.Run(context.Background(), buildJob("x"))
	assert.Equal(t, prefectcli.StatusFailed, res.Status)
	assert.ErrorContains(t, res.Err, "no-prefect")
}
