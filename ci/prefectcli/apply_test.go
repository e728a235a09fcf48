package prefectcli_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/prefectcli"
)

// scripted is an in-process Runner: each job name says how it behaves.
type scripted struct {
	inFlight, maxInFlight atomic.Int32
	started               sync.Map
	// release, when set, holds every "wait" job until closed
	release chan struct{}
	// running receives each "wait" or "hang" job's name once it runs
	running chan string
}

func (s *scripted) Run(ctx context.Context, job prefectcli.Job) prefectcli.Result {
	s.started.Store(job.Name, true)
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxInFlight.Load()
		if n <= m || s.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	switch {
	case strings.HasPrefix(job.Name, "fail"):
		return prefectcli.Result{Status: prefectcli.StatusFailed, ExitCode: 1, Stdout: "boom"}
	case strings.HasPrefix(job.Name, "hang"):
		if s.running != nil {
			s.running <- job.Name
		}
		<-ctx.Done()
		return prefectcli.Result{Status: prefectcli.StatusFailed, ExitCode: -1}
	case strings.HasPrefix(job.Name, "wait"):
		if s.running != nil {
			s.running <- job.Name
		}
		select {
		case <-s.release:
		case <-ctx.Done():
			return prefectcli.Result{Status: prefectcli.StatusFailed, ExitCode: -1}
		}
	}
	return prefectcli.Result{Status: prefectcli.StatusSucceeded, ExitCode: 0, DeploymentID: "id-" + job.Name}
}

func jobsNamed(names ...string) []prefectcli.Job {
	jobs := make([]prefectcli.Job, len(names))
	for i, n := range names {
		jobs[i] = prefectcli.Job{Name: n, Args: []string{"deployment", "build"}}
	}
	return jobs
}

func statuses(results []prefectcli.Result) []prefectcli.Status {
	out := make([]prefectcli.Status, len(results))
	for i, r := range results {
		out[i] = r.Status
	}
	return out
}

func TestApplyBoundsConcurrencyAndKeepsOrder(t *testing.T) {
	var names []string
	for i := range 12 {
		names = append(names, fmt.Sprintf("wait-%02d", i))
	}
	r := &scripted{release: make(chan struct{}), running: make(chan string, 12)}
	done := make(chan []prefectcli.Result)
	go func() {
		done <- prefectcli.Apply(context.Background(), jobsNamed(names...), r, prefectcli.ApplyOptions{Concurrency: 3}, nil)
	}()
	// three run at once and no fourth starts while they are held
	for range 3 {
		<-r.running
	}
	select {
	case n := <-r.running:
		t.Fatalf("%s started beyond the limit", n)
	case <-time.After(50 * time.Millisecond):
	}
	close(r.release)
	results := <-done
	assert.EqualValues(t, 3, r.maxInFlight.Load())
	for i, res := range results {
		assert.Equal(t, names[i], res.Name)
		assert.Equal(t, prefectcli.StatusSucceeded, res.Status)
		assert.Equal(t, "id-"+names[i], res.DeploymentID)
	}
	assert.True(t, prefectcli.AllSucceeded(results))
}

func TestApplyFailureDoesNotStopOthers(t *testing.T) {
	r := &scripted{}
	results := prefectcli.Apply(context.Background(), jobsNamed("a", "fail-b", "c", "d"), r, prefectcli.ApplyOptions{Concurrency: 1}, nil)
	assert.Equal(t, []prefectcli.Status{prefectcli.StatusSucceeded, prefectcli.StatusFailed, prefectcli.StatusSucceeded, prefectcli.StatusSucceeded}, statuses(results))
	assert.False(t, prefectcli.AllSucceeded(results))
}

func TestApplyFailFast(t *testing.T) {
	r := &scripted{}
	results := prefectcli.Apply(context.Background(), jobsNamed("a", "fail-b", "c", "d"), r, prefectcli.ApplyOptions{Concurrency: 1, FailFast: true}, nil)
	assert.Equal(t, []prefectcli.Status{prefectcli.StatusSucceeded, prefectcli.StatusFailed, prefectcli.StatusNotStarted, prefectcli.StatusNotStarted}, statuses(results))
	_, started := r.started.Load("c")
	assert.False(t, started)
}

func TestApplyTimeout(t *testing.T) {
	r := &scripted{}
	results := prefectcli.Apply(context.Background(), jobsNamed("hang-a", "b"), r, prefectcli.ApplyOptions{Concurrency: 2, Timeout: 20 * time.Millisecond}, nil)
	assert.Equal(t, []prefectcli.Status{prefectcli.StatusTimedOut, prefectcli.StatusSucceeded}, statuses(results))
	assert.ErrorIs(t, results[0].Err, prefectcli.ErrTimedOut)
}

func TestApplyInterruptLetsRunningFinishWithinGrace(t *testing.T) {
	r := &scripted{release: make(chan struct{}), running: make(chan string, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan []prefectcli.Result)
	go func() {
		done <- prefectcli.Apply(ctx, jobsNamed("wait-a", "wait-b", "c", "d"), r, prefectcli.ApplyOptions{Concurrency: 2, Grace: time.Hour}, nil)
	}()
	<-r.running
	<-r.running
	cancel()
	close(r.release) // they finish within the grace period
	results := <-done
	assert.Equal(t, []prefectcli.Status{prefectcli.StatusSucceeded, prefectcli.StatusSucceeded, prefectcli.StatusNotStarted, prefectcli.StatusNotStarted}, statuses(results))
}

func TestApplyInterruptStopsRunningAfterGrace(t *testing.T) {
	r := &scripted{running: make(chan string, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan []prefectcli.Result)
	go func() {
		done <- prefectcli.Apply(ctx, jobsNamed("hang-a", "hang-b", "c"), r, prefectcli.ApplyOptions{Concurrency: 2, Grace: 10 * time.Millisecond}, nil)
	}()
	<-r.running
	<-r.running
	cancel()
	results := <-done
	assert.Equal(t, []prefectcli.Status{prefectcli.StatusCancelled, prefectcli.StatusCancelled, prefectcli.StatusNotStarted}, statuses(results))
	assert.ErrorIs(t, results[0].Err, prefectcli.ErrInterrupted)
}

func TestApplyAbortEndsGraceEarly(t *testing.T) {
	r := &scripted{running: make(chan string, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	abort := make(chan struct{})
	done := make(chan []prefectcli.Result)
	go func() {
		done <- prefectcli.Apply(ctx, jobsNamed("hang-a"), r, prefectcli.ApplyOptions{Grace: time.Hour, Abort: abort}, nil)
	}()
	<-r.running
	cancel()
	close(abort)
	results := <-done
	assert.Equal(t, prefectcli.StatusCancelled, results[0].Status)
}

func TestReporterAndSummaries(t *testing.T) {
	results := []prefectcli.Result{
		{Name: "ok | one", Status: prefectcli.StatusSucceeded, Duration: 3400 * time.Millisecond, DeploymentID: "8fae07bd-f1e6-426a-b7cc-82c6f42b0358"},
		{Name: "bad", Status: prefectcli.StatusFailed, ExitCode: 1, Duration: 200 * time.Millisecond, Stdout: "Found flow 'hello'\nAn exception occurred.", Stderr: "Traceback (most recent call last):\nValueError: x"},
		{Name: "never", Status: prefectcli.StatusNotStarted, ExitCode: -1},
	}
	var live bytes.Buffer
	rep := &prefectcli.TextReporter{W: &live}
	rep.Started(prefectcli.Job{Name: "ok | one"})
	for _, r := range results[:2] {
		rep.Finished(r)
	}
	assert.Equal(t, "▶ ok | one\n✔ ok | one 3.4s\n✖ bad 0.2s (exit 1)\n"+
		"    ┌─ prefect stdout of bad\n    │ Found flow 'hello'\n    │ An exception occurred.\n    └─\n"+
		"    ┌─ prefect stderr of bad\n    │ Traceback (most recent call last):\n    │ ValueError: x\n    └─\n", live.String())

	var sum bytes.Buffer
	prefectcli.WriteSummary(&sum, results, 4*time.Second)
	assert.Equal(t, ""+
		"DEPLOYMENT  RESULT       SECONDS  PREFECT DEPLOYMENT ID\n"+
		"ok | one    succeeded    3.4      8fae07bd-f1e6-426a-b7cc-82c6f42b0358\n"+
		"bad         failed       0.2      -\n"+
		"never       not started  -        -\n"+
		"3 deployment(s), 1 succeeded, 1 failed, 1 not started in 4.0s\n", sum.String())

	var md bytes.Buffer
	require.NoError(t, prefectcli.WriteMarkdownSummary(&md, results, 4*time.Second))
	assert.Contains(t, md.String(), "| ok \\| one | ✅ succeeded | 3.4 | `8fae07bd-f1e6-426a-b7cc-82c6f42b0358` |\n")
	assert.Contains(t, md.String(), "| never | ⏸️ not started | - | – |\n")
}

func TestParseDeploymentID(t *testing.T) {
	const id = "8fae07bd-f1e6-426a-b7cc-82c6f42b0358"
	cases := map[string]string{
		"Deployment 'hello/RecCron' successfully created with id '" + id + "'.":                    id,
		"Deployment 'etl/daily' successfully created with id \n'" + id + "'.":                      id,
		"Deployment 'a/b' successfully created with\nid '8fae07bd-f1e6-426a-b7cc-\n82c6f42b0358'.": id,
		"Found flow 'hello'\nAn exception occurred.":                                               "",
		"successfully created with id 'not-an-id'":                                                 "",
	}
	for in, want := range cases {
		assert.Equal(t, want, prefectcli.ParseDeploymentID(in), in)
	}
}
