package batch

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/acme-data/prefect-flows/ci/prefectcli"
)

// ShareFunc runs `runner.py --jobs FILE` once, on the given jobs file (EncodeJobs of
// one share of the jobs), and returns the runner's stdout. It must return stdout even
// when the runner exits non-zero (a crash mid-share): in Dagger, an exec with
// Expect: ReturnTypeAny. An error with no stdout sends the whole share to Fallback.
type ShareFunc func(ctx context.Context, share int, jobsFile []byte) (stdout []byte, err error)

// SharesOptions configures RunShares.
type SharesOptions struct {
	// Shares is how many runner.py execs run at once, each on its own slice of the
	// jobs; <= 0 means DefaultProcesses().
	Shares int
	// Timeout bounds each share (all of its jobs); 0 means no limit.
	Timeout time.Duration
	// Fallback runs, once each, the jobs a share gave no result for (the runner died,
	// could not import Prefect, or the exec failed). Nil: they fail.
	Fallback prefectcli.Runner
	// Reporter hears Started for a share's jobs when the share starts, and Finished
	// for each job when its result is known.
	Reporter prefectcli.Reporter
}

// RunShares runs jobs where the runner cannot be fed interactively (a Dagger exec has
// no stdin to write to while it runs): the jobs are dealt round-robin into Shares
// jobs files, each run by one runner.py --jobs exec, all at once. It returns one
// Result per job, in the jobs' order.
func RunShares(ctx context.Context, jobs []prefectcli.Job, run ShareFunc, opt SharesOptions) []prefectcli.Result {
	n := opt.Shares
	if n <= 0 {
		n = DefaultProcesses()
	}
	if n > len(jobs) {
		n = len(jobs)
	}
	results := make([]prefectcli.Result, len(jobs))
	var wg sync.WaitGroup
	for s := 0; s < n; s++ {
		var idx []int
		for i := s; i < len(jobs); i += n {
			idx = append(idx, i)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			runShare(ctx, s, idx, jobs, run, opt, results)
		}()
	}
	wg.Wait()
	return results
}

func runShare(ctx context.Context, s int, idx []int, all []prefectcli.Job, run ShareFunc, opt SharesOptions, results []prefectcli.Result) {
	for _, i := range idx {
		if opt.Reporter != nil {
			opt.Reporter.Started(all[i])
		}
	}
	finish := func(i int, r prefectcli.Result) {
		r.Name = all[i].Name
		results[i] = r
		if opt.Reporter != nil {
			opt.Reporter.Finished(r)
		}
	}
	shareCtx := ctx
	if opt.Timeout > 0 {
		var cancel context.CancelFunc
		shareCtx, cancel = context.WithTimeoutCause(ctx, opt.Timeout, prefectcli.ErrTimedOut)
		defer cancel()
	}

	// Each round either finishes every pending job or hands the job the runner died
	// on to Fallback and runs the rest in a fresh runner, so it always ends.
	pending := idx
	for len(pending) > 0 {
		jobs := make([]prefectcli.Job, len(pending))
		for k, i := range pending {
			jobs[k] = all[i]
		}
		data, err := EncodeJobs(jobs)
		if err != nil {
			for _, i := range pending {
				finish(i, prefectcli.Result{Status: prefectcli.StatusFailed, ExitCode: -1, Err: err})
			}
			return
		}
		start := time.Now()
		out, runErr := run(shareCtx, s, data)
		elapsed := time.Since(start)

		decoded, missing, decodeErr := DecodeResults(jobs, out)
		if decodeErr == nil {
			isMissing := make(map[int]bool, len(missing))
			for _, k := range missing {
				isMissing[k] = true
			}
			for k, i := range pending {
				if !isMissing[k] {
					finish(i, decoded[k])
				}
			}
		} else {
			missing = missing[:0]
			for k := range pending {
				missing = append(missing, k)
			}
		}
		if len(missing) == 0 {
			return
		}

		reason := fmt.Errorf("batch runner (share %d) gave no result after %s", s, elapsed.Round(time.Millisecond))
		switch {
		case decodeErr != nil:
			reason = fmt.Errorf("%w: %w", reason, decodeErr)
		case runErr != nil:
			reason = fmt.Errorf("%w: %w", reason, runErr)
		}
		if shareCtx.Err() != nil {
			status := prefectcli.StatusCancelled
			if ctx.Err() == nil {
				status = prefectcli.StatusTimedOut
			}
			for _, k := range missing {
				finish(pending[k], prefectcli.Result{Status: status, ExitCode: -1,
					Err: fmt.Errorf("%w: %w", reason, context.Cause(shareCtx))})
			}
			return
		}
		retry := missing
		if decodeErr == nil && len(bytes.TrimSpace(out)) > 0 {
			// The runner got going (it said it was ready) and died on the first
			// missing job; the others never started.
			retry = missing[:1]
		}
		for _, k := range retry {
			finish(pending[k], fallback(ctx, all[pending[k]], opt.Fallback, reason))
		}
		var rest []int
		for _, k := range missing[len(retry):] {
			rest = append(rest, pending[k])
		}
		pending = rest
	}
}

func fallback(ctx context.Context, job prefectcli.Job, fb prefectcli.Runner, reason error) prefectcli.Result {
	if fb == nil {
		return prefectcli.Result{Status: prefectcli.StatusFailed, ExitCode: -1, Err: fmt.Errorf("%w (no CLI fallback configured)", reason)}
	}
	return fb.Run(ctx, job)
}

// DefaultProcesses is how many runner processes (or shares) run at once by default:
// one per CPU. A job in a warm runner is CPU work in one Python thread plus waiting
// for the API; with the import paid once, more processes than cores only queue for
// the CPU (see README-batch for the figures) while each costs a whole Prefect in
// memory.
func DefaultProcesses() int {
	return defaultProcesses()
}
