package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"dagger.io/dagger"

	"github.com/acme-data/prefect-flows/ci/prefect"
)

type deployStep struct{}

func (deployStep) String() string {
	return "deploy: prefect deployment build per deployment, from the registered image"
}

func (deployStep) Run(ctx context.Context, st *State) error {
	if len(st.Jobs) == 0 {
		return Skip("the deployments file lists no deployment")
	}
	o := st.Opts
	fmt.Fprintf(st.out, "    %d deployment(s), at most %d at once\n", len(st.Jobs), o.concurrency())
	start := time.Now()
	st.Results = prefect.Apply(ctx, st.Jobs, &daggerRunner{base: st.Registered},
		prefect.ApplyOptions{Concurrency: o.concurrency(), Timeout: o.timeout()},
		&prefect.TextReporter{W: st.out})
	st.Report.Deployments, st.Report.DeployWall = st.Results, time.Since(start)
	var failed []string
	for _, r := range st.Results {
		if r.Status != prefect.StatusSucceeded {
			failed = append(failed, fmt.Sprintf("%s (%s)", r.Name, r.Status))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d deployment(s) did not succeed: %s", len(failed), len(st.Results), strings.Join(failed, ", "))
	}
	return nil
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
}

func (r *daggerRunner) Run(ctx context.Context, job prefect.Job) prefect.Result {
	start := time.Now()
	res := prefect.Result{Name: job.Name}
	// Siblings of one parent: each exec starts from the registered image, none sees
	// another's files, and all share the run's cache buster.
	out, err := r.base.WithExec(append([]string{"prefect"}, job.Args...)).Stdout(ctx)
	res.Duration = time.Since(start)
	var ee *dagger.ExecError
	switch {
	case err == nil:
		res.Status, res.Stdout = prefect.StatusSucceeded, out
		res.DeploymentID = prefect.ParseDeploymentID(out)
	case errors.As(err, &ee):
		res.Status, res.ExitCode, res.Stdout, res.Stderr = prefect.StatusFailed, ee.ExitCode, ee.Stdout, ee.Stderr
	default:
		// The engine or the connection failed, or ctx ended; prefect.Apply tells a
		// timeout from an interrupt by the context's cause.
		res.Status, res.ExitCode, res.Err = prefect.StatusFailed, -1, fmt.Errorf("engine: %w", err)
	}
	return res
}
