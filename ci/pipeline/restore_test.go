package pipeline

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/acme-data/prefect-flows/ci/internal/fakedagger"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
)

// The image ecs-task/prod named after the last good deploy.
const lastGood = "registry.example:5000/acme/prefect-flows:prod-0000000@sha256:1111111111111111111111111111111111111111111111111111111111111111"

// TestRestoreAfterFailure: register reads the blocks before it saves them (the block
// script saves aws-credentials/prod and ecs-task/prod), and a run that does not go
// through after that puts them back, the credentials first, secret included, says so in
// the log and in the summary, and still fails. The restored ECS block reaches the
// previous keys. A run that goes through keeps the new image and keys.
func TestRestoreAfterFailure(t *testing.T) {
	thisRun := [2]string{secretAWSID, secretAWSKey}
	const credsRestored = "restored aws-credentials/prod to its previous document (secrets included, from the copy the snapshot kept)"
	for _, tc := range []struct {
		name      string
		fail      map[string]bool
		before    map[string]string // the ECS blocks on the API before the run
		creds     *[2]string        // aws-credentials/prod before the run; nil: it did not exist
		prune     bool
		wantImage string // what ecs-task/prod names after the run; "new" = this run's digest
		wantKeys  [2]string
		wantStep  StepStatus
		wantLines []string // in the log and, unless the step is skipped, the summary
		copyLeft  bool     // the snapshot's copy of the credentials is still on the server
	}{
		{name: "a deployment fails", fail: map[string]bool{"etl-prod": true}, creds: &lastGoodKeys, wantImage: lastGood, wantKeys: lastGoodKeys, wantStep: StepOK,
			wantLines: []string{credsRestored, "restored ecs-task/prod to its previous document (image " + lastGood + ")"}},
		{name: "verify finds drift", fail: map[string]bool{"read-back": true}, creds: &lastGoodKeys, wantImage: lastGood, wantKeys: lastGoodKeys, wantStep: StepOK,
			wantLines: []string{credsRestored, "restored ecs-task/prod"}},
		{name: "prune fails", fail: map[string]bool{"prune": true}, prune: true, creds: &lastGoodKeys, wantImage: lastGood, wantKeys: lastGoodKeys, wantStep: StepOK,
			wantLines: []string{credsRestored, "restored ecs-task/prod"}},
		{name: "the block script fails after saving", fail: map[string]bool{"infra": true}, creds: &lastGoodKeys, wantImage: lastGood, wantKeys: lastGoodKeys, wantStep: StepOK,
			wantLines: []string{credsRestored, "restored ecs-task/prod"}},
		{name: "the blocks did not exist before", fail: map[string]bool{"etl-prod": true}, before: map[string]string{}, wantImage: "new", wantKeys: thisRun, wantStep: StepOK,
			wantLines: []string{
				"before: aws-credentials/prod does not exist yet",
				"left aws-credentials/prod: it did not exist before this run, so it stays as this run saved it",
				"left ecs-task/prod: it did not exist before this run, so it stays as this run saved it"}},
		{name: "aws-credentials did not exist before", fail: map[string]bool{"etl-prod": true}, wantImage: lastGood, wantKeys: thisRun, wantStep: StepOK,
			wantLines: []string{
				"left aws-credentials/prod: it did not exist before this run, so it stays as this run saved it",
				"restored ecs-task/prod to its previous document (image " + lastGood + ")"}},
		{name: "aws-credentials was saved without keys", fail: map[string]bool{"etl-prod": true}, creds: &[2]string{}, wantImage: lastGood, wantStep: StepOK,
			wantLines: []string{"before: aws-credentials/prod exists (no image field)", "restored aws-credentials/prod to its previous document\n", "restored ecs-task/prod"}},
		{name: "the restore fails", fail: map[string]bool{"etl-prod": true, "restore": true}, creds: &lastGoodKeys, wantImage: "new", wantKeys: thisRun, wantStep: StepFailed, copyLeft: true,
			wantLines: []string{
				"NOT restored: aws-credentials/prod may still hold this run's document; its previous one, secrets included, is the anonymous block document copy-1",
				"NOT restored: ecs-task/prod may still name registry.example:5000/acme/prefect-flows:prod-abc1234@sha256:"}},
		{name: "the snapshot fails: nothing is written", fail: map[string]bool{"snapshot": true}, creds: &lastGoodKeys, wantImage: lastGood, wantKeys: lastGoodKeys, wantStep: StepSkipped,
			wantLines: []string{"read the blocks before saving them (nothing was written)"}},
		{name: "the run goes through", creds: &lastGoodKeys, wantImage: "new", wantKeys: thisRun, wantStep: StepSkipped,
			wantLines: []string{
				"before: aws-credentials/prod exists; a copy of it, secrets included, is kept on the server until the run ends",
				"deleted the snapshot's copy of aws-credentials/prod",
				"and aws-credentials/prod keeps what this run saved"}},
		{name: "prune goes through", prune: true, creds: &lastGoodKeys, wantImage: "new", wantKeys: thisRun, wantStep: StepSkipped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.before
			if before == nil {
				before = map[string]string{"ecs-task/prod": lastGood}
			}
			blocks := newFakeBlocks(before)
			if tc.creds != nil {
				blocks.setCredentials("prod", *tc.creds)
			}
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
			keys, copies := blocks.Credentials("aws-credentials/prod")
			if keys != tc.wantKeys || (copies != 0) != tc.copyLeft {
				t.Errorf("aws-credentials/prod holds %q with %d copies left after the run, want %q (a copy left: %v)\n%s", keys, copies, tc.wantKeys, tc.copyLeft, out.String())
			}
			// The ECS block refers to the credentials by document id: after a restore it
			// reaches the previous keys, as it did before the run.
			if tc.creds != nil && tc.before == nil {
				if got, ok := blocks.ECSCredentials("ecs-task/prod"); !ok || got != tc.wantKeys {
					t.Errorf("ecs-task/prod reaches the keys %q (found: %v), want %q\n%s", got, ok, tc.wantKeys, out.String())
				}
			}
			if got := stepStatus(rep, "restore"); got != tc.wantStep {
				t.Errorf("restore = %s, want %s\n%s", got, tc.wantStep, out.String())
			}
			var summary bytes.Buffer
			rep.WriteText(&summary)
			for _, line := range tc.wantLines {
				if !strings.Contains(out.String(), line) {
					t.Errorf("log lacks %q:\n%s", line, out.String())
				}
				if tc.wantStep != StepSkipped && !strings.HasPrefix(line, "before: ") && !strings.Contains(summary.String(), "blocks     "+line) {
					t.Errorf("summary lacks %q:\n%s", line, summary.String())
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
					if a[3] == "snapshot" && !slices.Equal(a[4:], []string{"aws-credentials/prod", "ecs-task/prod"}) {
						t.Errorf("%v: want the credentials snapshotted, before the ECS block", a)
					}
				case isInfra(a):
					order = append(order, "infra")
				}
			}
			if len(order) == 0 || order[0] != "snapshot" {
				t.Errorf("exec order %v: the snapshot must come first", order)
			}
			noSecretLeft(t, srv, out.String()+summary.String(), lastGoodKeys[1], secretAWSKey)
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
			blocks.setCredentials("prod", lastGoodKeys)
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
			if got, _ := blocks.ECSCredentials("ecs-task/prod"); got != lastGoodKeys {
				t.Errorf("ecs-task/prod reaches the keys %q after the interrupt, want the last good ones\n%s", got, out.String())
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
			if !strings.Contains(summary.String(), "blocks     restored aws-credentials/prod to its previous document (secrets included") ||
				!strings.Contains(summary.String(), "blocks     restored ecs-task/prod to its previous document") {
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
