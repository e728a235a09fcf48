package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"dagger.io/dagger"

	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/prefectcli/batch"
)

type deployStep struct{}

func (deployStep) String() string {
	return "deploy: write every deployment from the registered image (DEPLOY_RUNNER: api, batch or cli)"
}

func (deployStep) Run(ctx context.Context, st *State) error {
	if len(st.Jobs) == 0 {
		return Skip("the deployments file lists no deployment")
	}
	o := st.Opts
	if o.DeployRunner() == RunnerAPI {
		return deployAPI(ctx, st)
	}
	// An interrupt cancels ctx; the execs see it only after the grace period (or, on
	// a session that died with the Ctrl-C, as an engine error): either way it is
	// reported as interrupted, not as a failure of the engine.
	cli := &daggerRunner{base: st.Registered, interrupted: func() bool { return ctx.Err() != nil }}
	// The fallback's warning lines and the reporter's lines come from many goroutines.
	out := &lockedWriter{w: st.out}
	rep := &prefectcli.TextReporter{W: out}
	start := time.Now()
	if o.DeployRunner() == RunnerBatch {
		shares := min(o.DeployConcurrency(), len(st.Jobs))
		perShare := (len(st.Jobs) + shares - 1) / shares
		fmt.Fprintf(st.out, "    %d deployment(s), runner batch: %d runner.py exec(s) at once, each building its share through prefect.cli.app; a share's results come when it ends\n",
			len(st.Jobs), shares)
		st.Results = batch.RunShares(ctx, st.Jobs, batchShare(st.Registered), batch.SharesOptions{
			Shares: shares,
			// Each deployment of a share gets the per-deployment limit.
			Timeout:  o.DeployTimeout() * time.Duration(perShare),
			Fallback: &fallbackRunner{cli: cli, timeout: o.DeployTimeout(), out: out},
			Reporter: rep,
		})
	} else {
		fmt.Fprintf(st.out, "    %d deployment(s), runner cli, at most %d at once\n", len(st.Jobs), o.DeployConcurrency())
		st.Results = prefectcli.Apply(ctx, st.Jobs, cli,
			prefectcli.ApplyOptions{Concurrency: o.DeployConcurrency(), Timeout: o.DeployTimeout()}, rep)
	}
	return st.settle(start)
}

// ResultsPath is where prefect-deploy apply writes its results in the deploy exec.
const ResultsPath = CheckDir + "/results.json"

// APIArgs is the argv of the api runner's exec: prefect-deploy apply in the registered
// image, with the check step's inspect output (no second Prefect import), no read-back
// (the verify step does it) and the results as JSON for the report.
func APIArgs(file, owner string, takeOver bool, concurrency int, timeout time.Duration, only []string) []string {
	return apiApply(file, owner, takeOver, concurrency, timeout, only).Args()
}

func apiApply(file, owner string, takeOver bool, concurrency int, timeout time.Duration, only []string) deploycli.APIApply {
	return deploycli.APIApply{Owner: owner, Inspected: InspectedPath, Results: ResultsPath, NoReadBack: true,
		Concurrency: concurrency, Timeout: timeout, TakeOver: takeOver, Only: only, File: file}
}

// applyArgs is APIArgs with this run's settings for file; a Prefect 3 file adds
// --image: the image each deployment's job_variables.image is written with, exactly,
// and the ECS settings (ecsArgs), which verify, prune and the live plan get too.
// The deploy step and the script (ScriptAll) both build the exec here.
// unchecked is --unchecked-job-variables: the deploy step on the embedded server, whose
// pools are process pools the run made as stand-ins for the file's (ecs, say), so their
// template cannot judge the file's job variables. The script assumes a real API.
func (o *Options) applyArgs(file, owner, image string, prefect3, unchecked bool) []string {
	c := apiApply(file, owner, o.TakeOver, o.apiConcurrency(prefect3), o.DeployTimeout(), o.Only)
	if prefect3 {
		c.Image, c.ECS = image, o.ecsArgs()
		c.UncheckedJobVariables = unchecked
	}
	return c.Args()
}

// deployArgs is the deploy step's exec: the image is the published digest reference
// (PREFECT_IMAGE), or on the embedded server the local image name. The pull steps'
// working directory is the exec's, the image's WORKDIR.
func deployArgs(st *State, owner string) []string {
	return st.Opts.applyArgs(filepath.Base(st.File.Path), owner, st.ImageRef, st.prefect3(), st.prefect3() && st.Opts.Embedded())
}

// apiConcurrency is the api runner's writes in flight: DEPLOY_CONCURRENCY, else the
// default of the file's major (prefect-deploy's: one at a time on Prefect 3, whose
// SQLite server answers concurrent writes with 503).
func (o *Options) apiConcurrency(prefect3 bool) int {
	if prefect3 && o.Concurrency == 0 {
		return deploycli.DefaultAPIConcurrency3
	}
	return o.DeployConcurrency()
}

// deployAPI runs `prefect-deploy apply --runner api` once inside the registered image:
// the API URL and key are the image's secret variables, the run's cache buster keeps it
// out of Dagger's cache. Expect ANY: a failed deployment must not hide the others'
// results, which come back in the results file.
func deployAPI(ctx context.Context, st *State) error {
	if st.Inspected == "" {
		return fmt.Errorf("no inspect output from the check step")
	}
	o := st.Opts
	// The image has neither the repository's git remote nor the CI's variables: the
	// owner is resolved here, as for read-back, verify and prune.
	owner, err := o.owner()
	if err != nil {
		return err
	}
	start := time.Now()
	fmt.Fprintf(st.out, "    %d deployment(s), runner api: prefect-deploy in the image, %d write(s) at once\n", len(st.Jobs), st.Opts.apiConcurrency(st.prefect3()))
	ctr := inImage(st).
		WithWorkdir(Workdir).
		WithNewFile(InspectedPath, st.Inspected).
		WithExec(deployArgs(st, owner), dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	out, err := ctr.Stdout(ctx)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	printIndented(st.out, out)
	data, ferr := ctr.File(ResultsPath).Contents(ctx)
	var results []prefectcli.Result
	if ferr == nil {
		results, ferr = prefectcli.UnmarshalResults([]byte(data))
	}
	if ferr != nil {
		// prefect-deploy stopped before writing anything (preflight, a flow, a block):
		// its stderr says why, in one line per problem.
		stderr, _ := ctr.Stderr(ctx)
		code, _ := ctr.ExitCode(ctx)
		st.Results = make([]prefectcli.Result, len(st.Jobs))
		for i, j := range st.Jobs {
			st.Results[i] = prefectcli.Result{Name: j.Name, Status: prefectcli.StatusNotStarted, ExitCode: -1}
		}
		st.Report.Deployments, st.Report.DeployWall = st.Results, time.Since(start)
		why := strings.TrimSpace(stderr)
		if why == "" {
			why = "no output"
		}
		return fmt.Errorf("prefect-deploy apply exited %d before deploying: %s", code, why)
	}
	st.Results = results
	return st.settle(start)
}

// batchShare runs one share of the jobs as `python -u runner.py --jobs FILE` in the
// registered container. The execs are siblings of the registered image, like the CLI
// runner's, so they carry the run's cache buster and are never answered from Dagger's
// cache. Expect ANY: a runner that crashed mid-share still hands back the results it
// wrote, and batch.RunShares sends the rest to the fallback.
func batchShare(registered *dagger.Container) batch.ShareFunc {
	return func(ctx context.Context, share int, jobsFile []byte) ([]byte, error) {
		jobs := fmt.Sprintf("%s/jobs-%d.jsonl", BatchDir, share)
		out, err := withProgram(registered, batch.Program).
			WithNewFile(jobs, string(jobsFile)).
			WithExec(BatchArgs(jobs), dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny}).
			Stdout(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return []byte(out), prefectcli.ErrInterrupted
		case err != nil:
			return []byte(out), fmt.Errorf("engine: %w", err)
		}
		return []byte(out), nil
	}
}

// BatchArgs is the argv of one batch share's exec: the image's Python runs runner.py
// on a jobs file (Dagger execs have no stdin to feed jobs to while they run).
func BatchArgs(jobsFile string) []string {
	return batch.Program.ContainerArgs("--jobs", jobsFile)
}

// fallbackRunner runs, in its own `prefect deployment build` exec, a job that a batch
// share gave no result for, with the per-deployment time limit, and says so in the log.
type fallbackRunner struct {
	cli     prefectcli.Runner
	timeout time.Duration
	out     io.Writer
}

func (f *fallbackRunner) Run(ctx context.Context, job prefectcli.Job) prefectcli.Result {
	fmt.Fprintf(f.out, "! %s: the batch runner gave no result for it; running it once more with the prefect CLI\n", job.Name)
	jctx, cancel := context.WithTimeoutCause(ctx, f.timeout, prefectcli.ErrTimedOut)
	defer cancel()
	res := f.cli.Run(jctx, job)
	if res.Status != prefectcli.StatusSucceeded && jctx.Err() != nil {
		why := fmt.Errorf("%w after %s", prefectcli.ErrTimedOut, f.timeout)
		res.Status = prefectcli.StatusTimedOut
		if ctx.Err() != nil {
			why, res.Status = prefectcli.ErrInterrupted, prefectcli.StatusCancelled
		}
		if res.Err != nil {
			why = fmt.Errorf("%w: %w", why, res.Err)
		}
		res.Err = why
	}
	return res
}

// lockedWriter serialises writes from concurrent goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// daggerRunner runs a job as an exec in the registered container, so the same executor
// (bounded concurrency, timeouts, interrupts) and reporting as the wrapper CLI apply.
//
// It keeps the default expectation (exit 0) and reads *dagger.ExecError on failure
// instead of Expect: ANY plus exitCode/stdout/stderr: one query per deployment instead of
// three, and the error already carries the exit code, stdout and stderr. The only loss
// is stderr of a successful build (warnings), which nothing acts on.
type daggerRunner struct {
	base *dagger.Container
	// interrupted says whether the run was interrupted; nil means never.
	interrupted func() bool
}

func (r *daggerRunner) Run(ctx context.Context, job prefectcli.Job) prefectcli.Result {
	start := time.Now()
	res := prefectcli.Result{Name: job.Name}
	// Siblings of one parent: each exec starts from the registered image, none sees
	// another's files, and all share the run's cache buster.
	out, err := r.base.WithExec(append([]string{"prefect"}, job.Args...)).Stdout(ctx)
	res.Duration = time.Since(start)
	var ee *dagger.ExecError
	switch {
	case err == nil:
		res.Status, res.Stdout = prefectcli.StatusSucceeded, out
		res.DeploymentID = prefectcli.ParseDeploymentID(out)
	case errors.As(err, &ee):
		res.Status, res.ExitCode, res.Stdout, res.Stderr = prefectcli.StatusFailed, ee.ExitCode, ee.Stdout, ee.Stderr
	case r.interrupted != nil && r.interrupted():
		// Whatever the engine said (a cancelled query, or a 502 from a session that
		// the Ctrl-C reached too), the build was stopped by the interrupt.
		res.Status, res.ExitCode, res.Err = prefectcli.StatusCancelled, -1, prefectcli.ErrInterrupted
	default:
		// The engine or the connection failed, or ctx ended; prefectcli.Apply tells a
		// timeout from an interrupt by the context's cause.
		res.Status, res.ExitCode, res.Err = prefectcli.StatusFailed, -1, fmt.Errorf("engine: %w", err)
	}
	return res
}

// settle records the deploy step's results in the report and fails the step when any
// deployment did not succeed, naming each with its status.
func (st *State) settle(start time.Time) error {
	st.Report.Deployments, st.Report.DeployWall = st.Results, time.Since(start)
	var failed []string
	for _, r := range st.Results {
		if r.Status != prefectcli.StatusSucceeded {
			failed = append(failed, fmt.Sprintf("%s (%s)", r.Name, r.Status))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d deployment(s) did not succeed: %s", len(failed), len(st.Results), strings.Join(failed, ", "))
	}
	return nil
}
