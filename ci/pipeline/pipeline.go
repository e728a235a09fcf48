// Package pipeline is the Dagger pipeline that deploys the flows: it validates the
// deployments file, builds the agent image, publishes it, registers the ECS blocks and
// builds every deployment from inside that image. Mage (library mode) and the Dagger
// module (`dagger call deploy`) both call Run; there is no second implementation.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"dagger.io/dagger"

	"github.com/acme-data/prefect-flows/ci/inspect"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/prefectcli/blocksnap"
	"github.com/acme-data/prefect-flows/ci/pytrace"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// Step is one stage of the pipeline. String is the line the user sees when it starts.
type Step interface {
	String() string
	Run(ctx context.Context, st *State) error
}

// The pipeline, in order. Each step reads and extends State; the first failure stops the
// ones after it, except read-back, restore and report, which always run so that a
// failure is still shown, undone and summarised.
var (
	deploySteps = []Step{
		validateStep{},  // load and validate prefect-deployments-<env>.yaml: local only, no engine
		preflightStep{}, // the API answers, takes the key, runs the file's major, has the blocks and pools: before any build
		imageStep{},     // docker build of the repository
		checkStep{},     // inspect every entrypoint in the image: a bad flow stops the run before any push
		publishStep{},   // push <env>-<sha>; its digest becomes PREFECT_IMAGE
		serverStep{},    // dev without PREFECT_API_URL: throwaway Prefect server from the same image
		registerStep{},  // block register + infrastructure/ecs-task-<env>.py, never cached (Prefect 2)
		poolsStep{},     // Prefect 3: create the missing work pools the file names (PREFECT_POOL_TYPE), never cached
		deployStep{},    // prefect-deploy apply --runner api in the image (or batch/cli builds), never cached
		readBackStep{},  // embedded server: list what was deployed
		verifyStep{},    // real API: prefect-deploy read-back in the image; drift fails the run
		pruneStep{},     // --prune: prefect-deploy prune --yes in the image, after a clean deploy
		restoreStep{},   // a run that failed or was interrupted puts the blocks register overwrote back
		promoteStep{},   // move the <env> tag to that digest, only when everything above succeeded
		reportStep{},    // summary lines and GitHub step summary
	}
	imageSteps = []Step{validateStep{}, imageStep{}, checkStep{}, publishStep{}, promoteStep{}, reportStep{}}
)

// State is what the steps hand each other.
type State struct {
	Opts   *Options
	Client *dagger.Client
	// RunID busts Dagger's cache for everything that talks to Prefect.
	RunID string
	// OnlyImage marks an image-only run (no deployments are due).
	OnlyImage bool

	File *spec.File
	Jobs []prefectcli.Job
	// GitSHA is resolved by validate when publishing.
	GitSHA string

	Image *dagger.Container
	// Inspected is the check step's output (ci/inspect's JSON), InspectedFlows its
	// parsed form: the deploy step's api runner reads the flows from it.
	Inspected      string
	InspectedFlows *inspect.Result
	// ImageRef is what the infrastructure block gets as PREFECT_IMAGE.
	ImageRef string
	// Published lists the pushed references: <env>-<sha>, then <env> once promoted.
	Published []string

	// Server is the embedded Prefect server, started by serverStep.
	Server *dagger.Service
	// Registered is the image after block registration; deployments run from it.
	Registered *dagger.Container
	// BlocksBefore is what the infrastructure blocks held before register wrote them
	// (real API only); blocksWritten says the block script was started.
	BlocksBefore  *blocksnap.Snapshot
	blocksWritten bool
	// failed is the first step error so far: the always-run steps read it.
	failed error

	Results  []prefectcli.Result
	ReadBack string
	// Verified says the read-back on the real API found no drift.
	Verified bool
	// detail is what the running step reports beside "ok" (the pools step: what it
	// created, updated and left); the run resets it before each step.
	detail string
	// tool is the prefect-deploy binary, built once per run when needed.
	tool *dagger.File

	Report *Report
	out    io.Writer
}

// prefect3 says the deployments file targets Prefect 3: work pools and job variables,
// no infrastructure blocks, deployed by the api runner only.
func (st *State) prefect3() bool { return st.File != nil && st.File.Prefect == spec.Prefect3 }

// SkipError says a step had nothing to do; it is reported as skipped, not failed.
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return e.Reason }

// Skip returns a SkipError.
func Skip(format string, args ...any) error { return &SkipError{Reason: fmt.Sprintf(format, args...)} }

// InterruptedError is a step that ended because the run was interrupted (Ctrl-C,
// SIGTERM, a cancelled caller) rather than because something failed.
type InterruptedError struct{ Err error }

func (e *InterruptedError) Error() string { return "interrupted: " + e.Err.Error() }
func (e *InterruptedError) Unwrap() error { return e.Err }

// alwaysRuns marks a step that runs even after an earlier one failed.
type alwaysRuns interface{ always() }

// Run executes the whole pipeline for opts.Env. The returned error names the step that
// failed; the report is returned either way (nil only when the options are unusable).
func Run(ctx context.Context, client *dagger.Client, opts Options) (*Report, error) {
	return run(ctx, client, opts, deploySteps, false)
}

// Build runs validate, image, check, publish and promote only and returns the built image: the Dagger
// module's `image` and `publish` functions and mage's Image target use it.
func Build(ctx context.Context, client *dagger.Client, opts Options) (*dagger.Container, *Report, error) {
	var img *dagger.Container
	rep, err := run(ctx, client, opts, imageSteps, true, func(st *State) { img = st.Image })
	return img, rep, err
}

func run(ctx context.Context, client *dagger.Client, opts Options, steps []Step, onlyImage bool, after ...func(*State)) (*Report, error) {
	if err := opts.check(!onlyImage); err != nil {
		return nil, err
	}
	if abs, err := filepath.Abs(opts.SourceDir); err == nil {
		opts.SourceDir = abs
	}
	opts.Config = opts.Bind(client)
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	runID := newRunID()
	if opts.RunID != nil {
		runID = opts.RunID()
	}
	st := &State{
		Opts: &opts, Client: client, RunID: runID, OnlyImage: onlyImage, out: out,
		Report: &Report{Env: opts.Env, Embedded: opts.Embedded()},
	}
	// The embedded server outlives single execs on purpose; stop it however we leave.
	defer func() {
		if st.Server != nil {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if _, err := st.Server.Stop(stopCtx); err != nil {
				fmt.Fprintf(out, "warning: stopping the embedded Prefect server: %v\n", err)
			}
		}
	}()

	var failed error
	for _, s := range steps {
		name := stepName(s)
		if failed != nil {
			if _, ok := s.(alwaysRuns); !ok {
				st.Report.Steps = append(st.Report.Steps, StepOutcome{Name: name, Status: StepNotRun})
				continue
			}
		}
		start := time.Now()
		st.failed, st.detail = failed, ""
		err := runStep(ctx, s, st, opts.LogGroups)
		o := StepOutcome{Name: name, Duration: time.Since(start)}
		var skip *SkipError
		switch {
		case err == nil:
			o.Status, o.Detail = StepOK, st.detail
			fmt.Fprintf(out, "    ok (%s)\n", round(o.Duration))
		case errors.As(err, &skip):
			o.Status, o.Detail = StepSkipped, skip.Reason
			fmt.Fprintf(out, "    skipped: %s\n", skip.Reason)
		case ctx.Err() != nil:
			// Ctrl-C or a cancelled caller: what the step saw (often the engine's
			// "context canceled") is the consequence, not the cause.
			o.Status, o.Detail = StepInterrupted, oneLine(err.Error())
			fmt.Fprintf(out, "    INTERRUPTED: %s\n", indent(err.Error()))
			printOutput(out, err)
			if failed == nil {
				failed = fmt.Errorf("step %s: %w", name, &InterruptedError{Err: err})
			}
		default:
			o.Status, o.Detail = StepFailed, oneLine(err.Error())
			fmt.Fprintf(out, "    FAILED: %s\n", indent(err.Error()))
			printOutput(out, err)
			if failed == nil {
				failed = fmt.Errorf("step %s: %w", name, err)
			}
		}
		st.Report.Steps = append(st.Report.Steps, o)
	}
	for _, f := range after {
		f(st)
	}
	return st.Report, failed
}

// printOutput shows, once and under the step's result line, what a failed command
// printed; the error itself (step line, summary, the caller's final error) is one line.
func printOutput(out io.Writer, err error) {
	var f *pytrace.Failure
	if errors.As(err, &f) && f.Output != "" {
		fmt.Fprintf(out, "    output of the failed command:\n        %s\n", strings.ReplaceAll(f.Output, "\n", "\n        "))
	}
}

// runStep runs one step under its "==> step" line. With groups (GitHub Actions) the line
// opens a log group holding everything the step prints, closed however the step ends, so
// the page shows one line per step, its result and the summary. The report is not
// folded: it is what the reader came for.
func runStep(ctx context.Context, s Step, st *State, groups bool) error {
	if _, report := s.(reportStep); !groups || report {
		fmt.Fprintf(st.out, "==> %s\n", s)
		return s.Run(ctx, st)
	}
	fmt.Fprintf(st.out, "::group::==> %s\n", s)
	defer fmt.Fprintf(st.out, "::endgroup::\n")
	return s.Run(ctx, st)
}

// stepName is the first word of a step's line: "validate", "image", ...
func stepName(s Step) string {
	name, _, _ := strings.Cut(s.String(), ":")
	return name
}

func round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func indent(s string) string { return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") }
