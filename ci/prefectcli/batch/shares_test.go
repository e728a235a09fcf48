package batch_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/prefectcli/batch"
	"github.com/acme-data/prefect-flows/ci/pyprog"
)

// localShares runs each share as `python3 -u runner.py --jobs FILE`, the way the
// pipeline runs it in a container: jobs file in, stdout out, nothing interactive.
type localShares struct {
	e      env
	script string
	mu     sync.Mutex
	calls  int
}

func (l *localShares) run(ctx context.Context, share int, jobsFile []byte) ([]byte, error) {
	l.mu.Lock()
	l.calls++
	n := l.calls
	l.mu.Unlock()
	path := filepath.Join(l.e.Workdir, fmt.Sprintf("jobs-%d-%d.jsonl", share, n))
	if err := os.WriteFile(path, jobsFile, 0o644); err != nil {
		return nil, err
	}
	argv := pyprog.Argv(l.e.Python, l.script, "--jobs", path)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env, cmd.Dir = l.e.Vars, l.e.Workdir
	return cmd.Output()
}

type recordingReporter struct {
	mu       sync.Mutex
	started  []string
	finished []string
}

func (r *recordingReporter) Started(job prefectcli.Job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = append(r.started, job.Name)
}

func (r *recordingReporter) Finished(res prefectcli.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finished = append(r.finished, res.Name)
}

func TestRunSharesRetriesOnlyTheJobTheRunnerDiedOn(t *testing.T) {
	e := newEnv(t)
	ls := &localShares{e: e, script: writeScript(t)}
	fb := &fakeFallback{}
	rep := &recordingReporter{}
	var jobs []prefectcli.Job
	for i := 0; i < 9; i++ {
		jobs = append(jobs, build(fmt.Sprintf("s%d", i), "hello"))
	}
	jobs[1] = build("boom", "crash") // share 1 of 3: boom, s4, s7
	jobs[5] = build("missing", "nope")

	results := batch.RunShares(context.Background(), jobs, ls.run, batch.SharesOptions{Shares: 3, Fallback: fb, Reporter: rep})

	require.Len(t, fb.calls(), 1)
	assert.Equal(t, "boom", fb.calls()[0].Name)
	assert.Equal(t, 4, ls.calls, "three shares, and share 1 once more for the jobs after the crash")
	for i, res := range results {
		require.Equal(t, jobs[i].Name, res.Name)
		switch res.Name {
		case "boom":
			assert.Equal(t, "ran by the fallback", res.Stdout)
		case "missing":
			assert.Equal(t, 1, res.ExitCode)
		default:
			assert.Equal(t, prefectcli.StatusSucceeded, res.Status, res.Name)
			assert.Equal(t, stubID(res.Name), res.DeploymentID)
		}
	}
	assert.ElementsMatch(t, names(jobs), rep.started)
	assert.ElementsMatch(t, names(jobs), rep.finished)
}

func TestRunSharesSendsEverythingToTheFallbackWhenPrefectWillNotImport(t *testing.T) {
	e := newEnv(t)
	broken := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(broken, "prefect"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(broken, "prefect", "__init__.py"), []byte("import no_such_module\n"), 0o644))
	e.Vars = append(e.Vars, "PYTHONPATH="+broken)
	ls := &localShares{e: e, script: writeScript(t)}
	fb := &fakeFallback{}
	jobs := []prefectcli.Job{build("a", "hello"), build("b", "hello"), build("c", "hello")}
	results := batch.RunShares(context.Background(), jobs, ls.run, batch.SharesOptions{Shares: 2, Fallback: fb})
	assert.Equal(t, 2, ls.calls)
	assert.ElementsMatch(t, names(jobs), names(fb.calls()))
	for _, res := range results {
		assert.Equal(t, "ran by the fallback", res.Stdout)
	}
}

func TestRunSharesStopsOnInterrupt(t *testing.T) {
	e := newEnv(t)
	ls := &localShares{e: e, script: writeScript(t)}
	fb := &fakeFallback{}
	ctx, cancel := context.WithCancel(context.Background())
	jobs := []prefectcli.Job{build("a", "hello"), build("stuck", "hang"), build("c", "hello"), build("d", "hello")}
	rep := &recordingReporter{}
	done := make(chan []prefectcli.Result)
	go func() {
		done <- batch.RunShares(ctx, jobs, ls.run, batch.SharesOptions{Shares: 2, Fallback: fb, Reporter: rep})
	}()
	// Share 0 (a, c) has finished and share 1 is stuck on its first job.
	waitFor(t, func() bool {
		rep.mu.Lock()
		finished := len(rep.finished)
		rep.mu.Unlock()
		if finished < 2 {
			return false
		}
		for _, r := range readRecords(t, e.RecordDir) {
			if r.name() == "stuck" {
				return true
			}
		}
		return false
	})
	cancel()
	results := <-done
	assert.Empty(t, fb.calls(), "an interrupt is not a broken runner")
	assert.Equal(t, prefectcli.StatusSucceeded, results[0].Status)
	assert.Equal(t, prefectcli.StatusSucceeded, results[2].Status)
	for _, i := range []int{1, 3} {
		assert.Equal(t, prefectcli.StatusCancelled, results[i].Status, results[i].Name)
		assert.True(t, errors.Is(results[i].Err, context.Canceled), "%v", results[i].Err)
	}
}

func names(jobs []prefectcli.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.Name
	}
	return out
}
