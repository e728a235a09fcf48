package prefectcli

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/acme-data/prefect-flows/ci/bounded"
)

// Causes a runner finds with context.Cause on the context it was given, to tell a
// per-deployment timeout from an interrupt.
var (
	ErrTimedOut    = errors.New("deployment timed out")
	ErrInterrupted = errors.New("interrupted")
)

// DefaultGrace is how long running builds may go on after an interrupt.
const DefaultGrace = 10 * time.Second

// DefaultConcurrency is how many builds run at once unless told otherwise.
//
// One `prefect deployment build -a` spends about 1.4 s of CPU importing Prefect and
// then about 2 s waiting for the API (recorded: 3.5 to 4.5 s on 2 cores). A build
// keeps a core busy well under half its life, so two per core keeps the CPUs busy
// without queueing imports behind each other. The cap keeps memory (a Python process
// each, ~150 MB) and the load on the Prefect API bounded on big machines.
func DefaultConcurrency() int {
	n := 2 * runtime.NumCPU()
	if n > 16 {
		n = 16
	}
	if n < 2 {
		n = 2
	}
	return n
}

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// Concurrency bounds the builds in flight; <= 0 means DefaultConcurrency().
	Concurrency int
	// FailFast starts nothing new after the first failure; running builds finish.
	FailFast bool
	// Timeout bounds each deployment's build; 0 means no limit.
	Timeout time.Duration
	// Grace is how long running builds may go on after ctx is cancelled before they
	// are stopped; 0 means DefaultGrace, a negative value stops them at once.
	Grace time.Duration
	// Abort, when closed, ends the grace period early (e.g. a second Ctrl-C).
	Abort <-chan struct{}
}

// Reporter hears about each job as it starts and ends. Apply calls it from several
// goroutines; implementations serialise their output.
type Reporter interface {
	Started(job Job)
	Finished(res Result)
}

// Apply runs the jobs with r, at most opts.Concurrency at a time, and returns one
// Result per job in the jobs' order.
//
// When ctx is cancelled (Ctrl-C, SIGTERM) no further job starts; the running ones get
// opts.Grace to finish and are then cancelled through their context, and the results
// say which succeeded, which were cancelled and which never started.
func Apply(ctx context.Context, jobs []Job, r Runner, opts ApplyOptions, rep Reporter) []Result {
	n := opts.Concurrency
	if n <= 0 {
		n = DefaultConcurrency()
	}
	grace := opts.Grace
	if grace == 0 {
		grace = DefaultGrace
	}

	// Running jobs do not see ctx directly: an interrupt first lets them finish within
	// the grace period, and only then cancels them.
	runCtx, stopRuns := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stopRuns(nil)
	go func() {
		select {
		case <-runCtx.Done():
			return
		case <-ctx.Done():
		}
		timer := time.NewTimer(max(grace, 0))
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-opts.Abort:
		case <-runCtx.Done():
		}
		stopRuns(ErrInterrupted)
	}()

	results := make([]Result, len(jobs))
	for i, j := range jobs {
		results[i] = Result{Name: j.Name, Status: StatusNotStarted, ExitCode: -1}
	}
	var (
		mu     sync.Mutex
		failed bool
	)
	stop := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return opts.FailFast && failed
	}
	bounded.Each(ctx, len(jobs), n, stop, func(i int) {
		job := jobs[i]
		if rep != nil {
			rep.Started(job)
		}
		res := runOne(runCtx, r, job, opts.Timeout)
		results[i] = res
		if res.Status != StatusSucceeded {
			mu.Lock()
			failed = true
			mu.Unlock()
		}
		if rep != nil {
			rep.Finished(res)
		}
	})
	return results
}

func runOne(ctx context.Context, r Runner, job Job, timeout time.Duration) Result {
	jobCtx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		jobCtx, cancel = context.WithTimeoutCause(ctx, timeout, ErrTimedOut)
		defer cancel()
	}
	start := time.Now()
	res := r.Run(jobCtx, job)
	res.Name = job.Name
	if res.Duration == 0 {
		res.Duration = time.Since(start)
	}
	// A runner reports what it saw; the context says why a job that did not succeed
	// was stopped.
	if res.Status != StatusSucceeded && jobCtx.Err() != nil {
		switch cause := context.Cause(jobCtx); {
		case errors.Is(cause, ErrTimedOut):
			res.Status = StatusTimedOut
			res.Err = explain(fmt.Errorf("%w after %s", ErrTimedOut, timeout), res.Err)
		case errors.Is(cause, ErrInterrupted):
			res.Status = StatusCancelled
			res.Err = explain(ErrInterrupted, res.Err)
		}
	}
	if res.Status == "" {
		res.Status = StatusFailed
	}
	return res
}

// AllSucceeded says whether every result succeeded.
func AllSucceeded(results []Result) bool {
	for _, r := range results {
		if r.Status != StatusSucceeded {
			return false
		}
	}
	return true
}

// explain puts why a job was stopped in front of what the runner saw.
func explain(why, seen error) error {
	if seen == nil || errors.Is(seen, why) {
		return why
	}
	return fmt.Errorf("%w: %v", why, seen)
}
