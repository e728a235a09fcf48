// Package batch runs Prefect CLI jobs in a few warm Python processes.
//
// A `prefect deployment build` process spends 1.4 to 2.7 s importing Prefect and
// about 0.4 s working. runner.py (embedded here) imports Prefect once and then runs
// job after job through Prefect's own CLI application, `prefect.cli.app(argv,
// standalone_mode=False)`, with each job's stdout and stderr captured apart. Runner
// keeps a pool of such processes behind the prefectcli.Runner interface: a free
// process takes the next job; a process that dies or stops answering is replaced,
// and the job it held runs once more through the plain CLI runner.
package batch

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/pyprog"
)

//go:embed runner.py
var source []byte

// Program is runner.py: the wrapper writes it into a temporary directory, the pipeline
// into the registered image.
var Program = pyprog.New("ci/prefectcli/batch/runner.py", source)

// Options configures a Runner.
type Options struct {
	// Processes is the number of runner processes; 0 means DefaultProcesses(). Each
	// one holds a whole Prefect in memory (about 150 MB on a real install).
	Processes int
	// Python is the interpreter; "" means "python3".
	Python string
	// Env is the processes' whole environment; nil means os.Environ(). Prefect reads
	// its settings at import, so PREFECT_API_URL and friends belong here.
	Env []string
	// Workdir is the processes' working directory (the repository root, where
	// entrypoints are relative to); "" means the current one.
	Workdir string
	// Fallback runs a job once more when its runner process broke (died, answered
	// garbage, or gave no answer within AnswerTimeout): normally the plain CLI
	// runner. Without it such a job fails.
	Fallback prefectcli.Runner
	// AnswerTimeout, when positive, is how long a job may go without an answer
	// before its process counts as stuck (killed, and the job retried through
	// Fallback). A job's ctx deadline, in contrast, is the job's own timeout: the job
	// is reported as timed out and not retried.
	AnswerTimeout time.Duration
	// Log receives what runner processes print outside any job (import warnings,
	// their own crashes); nil discards it. Jobs' output is in their Results.
	Log io.Writer
	// OnRetry, when set, is told each time a job goes to Fallback and why.
	OnRetry func(job prefectcli.Job, reason error)
	// MaxOutput caps the bytes kept per stream of a job (the end is kept, as the CLI
	// runner keeps it); 0 means prefectcli.DefaultMaxOutput.
	MaxOutput int
	// StopGrace is how long Close waits for a process to exit on end of input
	// before killing it; 0 means 5 s.
	StopGrace time.Duration
}

// Runner runs jobs in a pool of runner.py processes. It is safe for concurrent use;
// at most Options.Processes processes exist at any time.
type Runner struct {
	opt    Options
	dir    string
	script string
	// slots holds one entry per allowed process: the idle process, or nil when that
	// slot has none yet (never started, or its process was killed).
	slots chan *proc
	seq   atomic.Uint64

	mu        sync.Mutex
	closed    bool
	live      map[*proc]struct{}
	importErr error
}

// New prepares a Runner. Processes start on demand, so the first job each one
// takes also waits for its import.
func New(opt Options) (*Runner, error) {
	if opt.Processes <= 0 {
		opt.Processes = DefaultProcesses()
	}
	if opt.Python == "" {
		opt.Python = "python3"
	}
	if opt.Env == nil {
		opt.Env = os.Environ()
	}
	if opt.StopGrace <= 0 {
		opt.StopGrace = 5 * time.Second
	}
	if opt.MaxOutput <= 0 {
		opt.MaxOutput = prefectcli.DefaultMaxOutput
	}
	dir, err := os.MkdirTemp("", "prefect-batch-")
	if err != nil {
		return nil, fmt.Errorf("batch runner: temp dir: %w", err)
	}
	script, err := Program.WriteUnder(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("batch runner: %w", err)
	}
	r := &Runner{
		opt:    opt,
		dir:    dir,
		script: script,
		slots:  make(chan *proc, opt.Processes),
		live:   make(map[*proc]struct{}),
	}
	for i := 0; i < opt.Processes; i++ {
		r.slots <- nil
	}
	return r, nil
}

// Run runs one job in a free runner process, waiting for one if all are busy.
func (r *Runner) Run(ctx context.Context, job prefectcli.Job) prefectcli.Result {
	if err := checkArgs(job.Args); err != nil {
		return prefectcli.Result{Name: job.Name, Status: prefectcli.StatusFailed, ExitCode: -1, Err: err}
	}
	var p *proc
	select {
	case p = <-r.slots:
	case <-ctx.Done():
		return prefectcli.Result{Name: job.Name, Status: prefectcli.StatusNotStarted, ExitCode: -1,
			Err: fmt.Errorf("waiting for a free batch runner process: %w", ctx.Err())}
	}
	if err := ctx.Err(); err != nil {
		// Interrupted while waiting: a free process must not start the job now.
		r.slots <- p
		return prefectcli.Result{Name: job.Name, Status: prefectcli.StatusNotStarted, ExitCode: -1,
			Err: fmt.Errorf("waiting for a free batch runner process: %w", err)}
	}
	start := time.Now()
	res, p := r.runIn(ctx, p, job)
	r.slots <- p
	if res.Duration == 0 {
		res.Duration = time.Since(start)
	}
	return res
}

// runIn runs job in p (starting a process when p is nil) and returns the process to
// keep in the slot: nil when it had to be killed.
func (r *Runner) runIn(ctx context.Context, p *proc, job prefectcli.Job) (prefectcli.Result, *proc) {
	start := time.Now()
	if p != nil && p.exited() {
		// Died while idle: not this job's doing, so reap it and start another.
		r.forget(p)
		p.kill()
		p = nil
	}
	if p == nil {
		if err := r.usable(); err != nil {
			if errors.Is(err, errClosed) {
				return stopped(job, err, start), nil
			}
			return r.fallback(ctx, job, err), nil
		}
		var err error
		p, err = r.start(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return stopped(job, cause(ctx), start), nil
			}
			if errors.Is(err, errClosed) {
				return stopped(job, err, start), nil
			}
			return r.fallback(ctx, job, fmt.Errorf("start batch runner process: %w", err)), nil
		}
	}

	id := strconv.FormatUint(r.seq.Add(1), 10)
	line, err := encodeJob(id, job.Args)
	if err != nil {
		return prefectcli.Result{Name: job.Name, Status: prefectcli.StatusFailed, ExitCode: -1, Err: err}, p
	}
	w, err := p.do(ctx, id, line, r.opt.AnswerTimeout)
	if err == nil {
		res := toResult(job.Name, w)
		res.Stdout, res.Stderr = prefectcli.KeepTail(res.Stdout, r.opt.MaxOutput), prefectcli.KeepTail(res.Stderr, r.opt.MaxOutput)
		res.Duration = time.Since(start)
		return res, p
	}
	r.forget(p)
	p.kill()
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return stopped(job, cause(ctx), start), nil
	}
	if r.isClosed() {
		return stopped(job, errClosed, start), nil
	}
	return r.fallback(ctx, job, err), nil
}

var errClosed = errors.New("batch runner closed")

// cause is ctx's error with the reason it was cancelled (prefectcli.ErrTimedOut or
// prefectcli.ErrInterrupted from Apply), when one was given.
func cause(ctx context.Context) error {
	err := ctx.Err()
	if c := context.Cause(ctx); c != nil && !errors.Is(c, err) {
		return fmt.Errorf("%w: %w", err, c)
	}
	return err
}

func (r *Runner) usable() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errClosed
	}
	return r.importErr
}

func (r *Runner) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

func (r *Runner) start(ctx context.Context) (*proc, error) {
	p, err := startProc(ctx, r.opt.Python, r.script, r.opt.Workdir, r.opt.Env, r.opt.Log)
	r.mu.Lock()
	defer r.mu.Unlock()
	var ie *ImportError
	if errors.As(err, &ie) {
		r.importErr = err
	}
	if err != nil {
		return nil, err
	}
	if r.closed {
		go p.kill()
		return nil, errClosed
	}
	r.live[p] = struct{}{}
	return p, nil
}

func (r *Runner) forget(p *proc) {
	r.mu.Lock()
	delete(r.live, p)
	r.mu.Unlock()
}

func (r *Runner) fallback(ctx context.Context, job prefectcli.Job, reason error) prefectcli.Result {
	if r.opt.OnRetry != nil {
		r.opt.OnRetry(job, reason)
	}
	if r.opt.Fallback == nil {
		return prefectcli.Result{Name: job.Name, Status: prefectcli.StatusFailed, ExitCode: -1,
			Err: fmt.Errorf("%w (no CLI fallback configured)", reason)}
	}
	res := r.opt.Fallback.Run(ctx, job)
	res.Name = job.Name
	return res
}

// stopped is the result of a job stopped by its ctx (or by Close).
func stopped(job prefectcli.Job, err error, start time.Time) prefectcli.Result {
	status := prefectcli.StatusCancelled
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, prefectcli.ErrTimedOut) {
		status = prefectcli.StatusTimedOut
	}
	return prefectcli.Result{Name: job.Name, Status: status, ExitCode: -1,
		Duration: time.Since(start), Err: fmt.Errorf("batch runner: %w", err)}
}

// Close stops every runner process: end of input first, a kill after StopGrace.
// Call it once Run calls have returned; a job still running is killed and reported
// as cancelled.
func (r *Runner) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	procs := make([]*proc, 0, len(r.live))
	for p := range r.live {
		procs = append(procs, p)
	}
	r.live = map[*proc]struct{}{}
	r.mu.Unlock()

	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.stop(r.opt.StopGrace)
		}()
	}
	wg.Wait()
	if err := os.RemoveAll(r.dir); err != nil {
		return fmt.Errorf("batch runner: remove %s: %w", r.dir, err)
	}
	return nil
}

func defaultProcesses() int {
	return runtime.NumCPU()
}
