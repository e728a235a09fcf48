package pipeline

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/acme-data/prefect-flows/ci/internal/fakedagger"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
)

// The image ecs-task/prod named after the last good deploy.
const lastGood = "registry.example:5000/acme/prefect-flows:prod-0000000@sha256:1111111111111111111111111111111111111111111111111111111111111111"

// TestRestoreAfterFailure: register reads the blocks before it saves them, and a run
// that does not go through after that puts them back, says so in the log and in the
// summary, and still fails. A run that goes through keeps the new image.
func TestRestoreAfterFailure(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fail      map[string]bool
		before    map[string]string // the blocks on the API before the run
		prune     bool
		wantImage string // what ecs-task/prod names after the run; "new" = this run's digest
		wantStep  StepStatus
		wantLine  string // in the log and the summary
	}{
		{name: "a deployment fails", fail: map[string]bool{"etl-prod": true}, wantImage: lastGood, wantStep: StepOK,
			wantLine: "restored ecs-task/prod to its previous document (image " + lastGood + ")"},
		{name: "verify finds drift", fail: map[string]bool{"read-back": true}, wantImage: lastGood, wantStep: StepOK,
			wantLine: "restored ecs-task/prod"},
		{name: "prune fails", fail: map[string]bool{"prune": true}, prune: true, wantImage: lastGood, wantStep: StepOK,
			wantLine: "restored ecs-task/prod"},
		{name: "the block script fails after saving", fail: map[string]bool{"infra": true}, wantImage: lastGood, wantStep: StepOK,
			wantLine: "restored ecs-task/prod"},
		{name: "the block did not exist before", fail: map[string]bool{"etl-prod": true}, before: map[string]string{}, wantImage: "new", wantStep: StepOK,
			wantLine: "left ecs-task/prod: it did not exist before this run, so it stays as this run saved it"},
		{name: "the restore fails", fail: map[string]bool{"etl-prod": true, "restore": true}, wantImage: "new", wantStep: StepFailed,
			wantLine: "NOT restored: ecs-task/prod may still name registry.example:5000/acme/prefect-flows:prod-abc1234@sha256:"},
		{name: "the snapshot fails: nothing is written", fail: map[string]bool{"snapshot": true}, wantImage: lastGood, wantStep: StepSkipped,
			wantLine: "read the blocks before saving them (nothing was written)"},
		{name: "the run goes through", wantImage: "new", wantStep: StepSkipped},
		{name: "prune goes through", prune: true, wantImage: "new", wantStep: StepSkipped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.before
			if before == nil {
				before = map[string]string{"ecs-task/prod": lastGood}
			}
			blocks := newFakeBlocks(before)
			srv := fakedagger.Start(t, fakedagger.WithHandler(handlerWith(tc.fail, blocks)))
			c := connect(t, srv)
			var out bytes.Buffer
			o := prodOptions(t, c, &out)
			o.Prune = tc.prune
			rep, err := Run(context.Background(), c, o)
			if (err != nil) != (tc.fail != nil) {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			want := tc.wantImage
			if want == "new" {
				want = rep.ImageRef
			}
			if got := blocks.Image("ecs-task/prod"); got != want {
				t.Errorf("ecs-task/prod names %q after the run, want %q\n%s", got, want, out.String())
			}
			if got := stepStatus(rep, "restore"); got != tc.wantStep {
				t.Errorf("restore = %s, want %s\n%s", got, tc.wantStep, out.String())
			}
			var summary bytes.Buffer
			rep.WriteText(&summary)
			if tc.wantLine != "" {
				if !strings.Contains(out.String(), tc.wantLine) {
					t.Errorf("log lacks %q:\n%s", tc.wantLine, out.String())
				}
				if tc.wantStep != StepSkipped && !strings.Contains(summary.String(), "blocks     "+tc.wantLine) {
					t.Errorf("summary lacks %q:\n%s", tc.wantLine, summary.String())
				}
			}
			if tc.fail == nil && len(execsWith(srv, func(a []string) bool { return isBlocks(a) && a[3] == "restore" })) != 0 {
				t.Errorf("a run that went through restored the blocks")
			}
			// The snapshot comes before the block script, in the image, with the API's
			// secrets and the run's cache buster, and never holds a secret.
			var order []string
			for _, r := range srv.Execs() {
				switch a := r.Exec.Args; {
				case isBlocks(a):
					order = append(order, a[3]) // python -u blocks.py COMMAND
					if r.Exec.Env["CACHEBUSTER"] != "run-prod" || r.Exec.Secrets["PREFECT_API_URL"] == "" {
						t.Errorf("%v runs without the cache buster or the API secret", a)
					}
				case isInfra(a):
					order = append(order, "infra")
				}
			}
			if len(order) == 0 || order[0] != "snapshot" {
				t.Errorf("exec order %v: the snapshot must come first", order)
			}
			if leaks := srv.SecretLeaks(); len(leaks) != 0 {
				t.Errorf("secret plaintext leaked: %v", leaks)
			}
		})
	}
}

// TestRestoreAfterInterrupt: Ctrl-C (the run's context cancelled) while the deployments
// are being built. The restore still runs, on a context of its own, and the run
// reports an interrupt, not an engine error. With the batch runner the shares are
// stopped at once; with the CLI runner the builds in flight finish within the grace
// period and the next step (verify) is the one the interrupt stops.
func TestRestoreAfterInterrupt(t *testing.T) {
	for _, runner := range []string{RunnerBatch, RunnerCLI} {
		t.Run(runner, func(t *testing.T) {
			blocks := newFakeBlocks(map[string]string{"ecs-task/prod": lastGood})
			h := handlerWith(nil, blocks)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			release := make(chan struct{})
			var once sync.Once
			srv := fakedagger.Start(t, fakedagger.WithHandler(func(ex fakedagger.Exec) fakedagger.ExecResult {
				if isBatch(ex.Args) || isDeploy(ex.Args) {
					// The first build in flight is where the user presses Ctrl-C.
					once.Do(func() {
						cancel()
						close(release)
					})
					<-release
				}
				return h(ex)
			}))
			c := connect(t, srv)
			var out bytes.Buffer
			o := prodOptions(t, c, &out)
			o.Runner = runner
			rep, err := Run(ctx, c, o)
			var ie *InterruptedError
			if !errors.As(err, &ie) {
				t.Fatalf("Run = %v, want an InterruptedError\n%s", err, out.String())
			}
			if got := blocks.Image("ecs-task/prod"); got != lastGood {
				t.Errorf("ecs-task/prod names %q after the interrupt, want the last good %q\n%s", got, lastGood, out.String())
			}
			if got := stepStatus(rep, "restore"); got != StepOK {
				t.Errorf("restore = %s, want ok\n%s", got, out.String())
			}
			// The cancel lands while the first build runs; which step sees it first (deploy
			// when the runner checks the context before its builds return, else the next
			// step that talks to the engine) depends on scheduling, so any of them may be
			// the interrupted one, but one must be.
			var stopped []string
			for _, name := range []string{"deploy", "read-back", "verify"} {
				if stepStatus(rep, name) == StepInterrupted {
					stopped = append(stopped, name)
				}
			}
			if len(stopped) != 1 {
				t.Errorf("interrupted steps = %v, want exactly one of deploy, read-back, verify\n%s", stopped, out.String())
			}
			for _, r := range rep.Deployments {
				if r.Status == prefectcli.StatusFailed {
					t.Errorf("%s failed (%v): an interrupt is not a failure", r.Name, r.Err)
				}
				if r.Err != nil && strings.Contains(r.Err.Error(), "engine:") {
					t.Errorf("%s reported as an engine error: %v", r.Name, r.Err)
				}
			}
			var summary bytes.Buffer
			rep.WriteText(&summary)
			if !strings.Contains(summary.String(), "blocks     restored ecs-task/prod to its previous document") {
				t.Errorf("summary does not say the block was restored:\n%s", summary.String())
			}
		})
	}
}

// TestInterruptedBuildIsNotAnEngineError: when Ctrl-C reaches the engine session too
// (the SDK's `dagger session` child shares the terminal's process group), a build's
// query fails with whatever the dying session answers. Once the run is interrupted,
// that is reported as interrupted, not as an engine error; before, it is an engine
// error as it always was.
func TestInterruptedBuildIsNotAnEngineError(t *testing.T) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(handler(nil)))
	c := connect(t, srv)
	gone, cancel := context.WithCancel(context.Background())
	cancel() // the query fails without reaching the engine, like a dead session's
	job := prefectcli.Job{Name: "etl-prod", Args: []string{"deployment", "build", "flows/etl.py:daily_etl", "-n", "etl-prod"}}
	for _, tc := range []struct {
		name        string
		interrupted bool
		want        prefectcli.Status
		wantErr     string
	}{
		{"run interrupted", true, prefectcli.StatusCancelled, "interrupted"},
		{"run not interrupted", false, prefectcli.StatusFailed, "engine: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &daggerRunner{base: c.Container().From("python:3.11-slim"), interrupted: func() bool { return tc.interrupted }}
			res := r.Run(gone, job)
			if res.Status != tc.want || res.Err == nil || !strings.HasPrefix(res.Err.Error(), tc.wantErr) {
				t.Errorf("status %s, err %v; want %s, %q...", res.Status, res.Err, tc.want, tc.wantErr)
			}
		})
	}
}
