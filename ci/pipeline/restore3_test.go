package pipeline

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/internal/fakedagger"
)

// The key pair aws-credentials/dev held after the last good run, and the one this run has.
var (
	lastGoodKeys = [2]string{"AKIALASTGOOD", "last/good+SECRET-0001"}
	newKeys      = [2]string{"AKIATHISRUN", "this/run+SECRET-0002"}
)

// TestPrefect3RestoresCredentials: on Prefect 3, register saves aws-credentials/<env>
// from the AWS keys, a block every deployment of the environment's ecs pools uses. It
// snapshots the block first (only when it will write it), and a run that does not go
// through puts the previous key pair back; a run that goes through keeps this run's and
// deletes the snapshot's copy. Neither secret reaches an argv, a plain variable, the
// log, the summary or the snapshot the pipeline hands to blocks.py.
func TestPrefect3RestoresCredentials(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fail      map[string]bool
		noKeys    bool
		before    bool      // aws-credentials/dev exists before the run
		wantKeys  [2]string // what it holds after the run
		wantStep  StepStatus
		wantLines []string // in the log
		wantSnaps int      // blocks.py snapshot execs
		summary   string   // the summary's blocks line
	}{
		{name: "a deployment fails after register", fail: map[string]bool{"hello-p3-ecs": true}, before: true,
			wantKeys: lastGoodKeys, wantStep: StepOK, wantSnaps: 1, wantLines: []string{
				"before: aws-credentials/dev exists; a copy of it, secrets included, is kept on the server until the run ends",
				"restored aws-credentials/dev to its previous document (secrets included, from the copy the snapshot kept)",
				"a deployment this run did not deploy keeps its previous image"},
			summary: "restored aws-credentials/dev to its previous document"},
		{name: "verify finds drift", fail: map[string]bool{"read-back": true}, before: true,
			wantKeys: lastGoodKeys, wantStep: StepOK, wantSnaps: 1, wantLines: []string{"restored aws-credentials/dev"},
			summary: "restored aws-credentials/dev"},
		{name: "the block did not exist before", fail: map[string]bool{"hello-p3-ecs": true},
			wantKeys: newKeys, wantStep: StepOK, wantSnaps: 1, wantLines: []string{
				"before: aws-credentials/dev does not exist yet",
				"left aws-credentials/dev: it did not exist before this run, so it stays as this run saved it"},
			summary: "left aws-credentials/dev"},
		{name: "the run goes through", before: true, wantKeys: newKeys, wantStep: StepSkipped, wantSnaps: 1, wantLines: []string{
			"deleted the snapshot's copy of aws-credentials/dev",
			"the run went through: aws-credentials/dev keeps this run's AWS keys"}},
		{name: "no AWS keys: nothing written, nothing snapshotted", noKeys: true, fail: map[string]bool{"hello-p3-ecs": true}, before: true,
			wantKeys: lastGoodKeys, wantStep: StepSkipped, wantLines: []string{
				"Prefect 3: no aws-credentials block was written (no AWS keys), and the image is per deployment"}},
		{name: "the snapshot fails: nothing is written", fail: map[string]bool{"snapshot": true}, before: true,
			wantKeys: lastGoodKeys, wantStep: StepSkipped, wantSnaps: 1, wantLines: []string{
				"read the blocks before saving them (nothing was written)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blocks := newFakeBlocks(nil)
			if tc.before {
				blocks.creds["aws-credentials/dev"] = lastGoodKeys
			}
			play := handler3(tc.fail)
			srv := fakedagger.Start(t, fakedagger.WithHandler(func(ex fakedagger.Exec) fakedagger.ExecResult {
				switch {
				case isCredentials(ex.Args):
					return blocks.saveCredentials(ex)
				case isBlocks(ex.Args):
					return blocks.play(ex, tc.fail)
				}
				return play(ex)
			}))
			vars := remote3
			if !tc.noKeys {
				vars = withVar(withVar(vars, "AWS_ACCESS_KEY_ID", newKeys[0]), "AWS_SECRET_ACCESS_KEY", newKeys[1])
			}
			var out bytes.Buffer
			rep, err := Run(context.Background(), connect(t, srv), p3Options(t, &out, vars))
			if (err != nil) != (tc.fail != nil) {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			keys, copies := blocks.Credentials("aws-credentials/dev")
			if keys != tc.wantKeys || copies != 0 {
				t.Errorf("aws-credentials/dev holds %q with %d copies left after the run, want %q and none\n%s", keys, copies, tc.wantKeys, out.String())
			}
			if got := stepStatus(rep, "restore"); got != tc.wantStep {
				t.Errorf("restore = %s, want %s\n%s", got, tc.wantStep, out.String())
			}
			for _, line := range tc.wantLines {
				if !strings.Contains(out.String(), line) {
					t.Errorf("log lacks %q:\n%s", line, out.String())
				}
			}
			var summary bytes.Buffer
			rep.WriteText(&summary)
			if tc.summary != "" && !strings.Contains(summary.String(), "blocks     "+tc.summary) {
				t.Errorf("summary does not say what happened to the block:\n%s", summary.String())
			}
			// The snapshot comes before the credentials are saved; nothing else runs blocks.py first.
			var order []string
			for _, r := range srv.Execs() {
				switch a := r.Exec.Args; {
				case isBlocks(a):
					order = append(order, a[3])
				case isCredentials(a):
					order = append(order, "save")
				}
			}
			if n := strings.Count(strings.Join(order, " "), "snapshot"); n != tc.wantSnaps {
				t.Errorf("%d snapshot exec(s), want %d (execs %v)", n, tc.wantSnaps, order)
			}
			if tc.wantSnaps > 0 && order[0] != "snapshot" {
				t.Errorf("exec order %v: the snapshot must come before the save", order)
			}
			noSecretLeft(t, srv, out.String()+summary.String(), lastGoodKeys[1], newKeys[1])
		})
	}
}

// noSecretLeft fails when a secret key is in shown (the log and the summary), an exec's
// argv, plain variables or snapshot file, or when the engine saw a secret's plaintext
// where a secret variable belongs (its cache key included).
func noSecretLeft(t *testing.T, srv *fakedagger.Server, shown string, secrets ...string) {
	t.Helper()
	for _, secret := range secrets {
		if strings.Contains(shown, secret) {
			t.Errorf("a secret key in the log or the summary")
		}
		for _, r := range srv.Execs() {
			if strings.Contains(strings.Join(r.Exec.Args, " "), secret) || strings.Contains(r.Exec.Files[BlocksDir+"/snapshot.json"], secret) {
				t.Errorf("%q: a secret key in the argv or the snapshot file", r.Exec.Args)
			}
			for k, v := range r.Exec.Env {
				if strings.Contains(v, secret) {
					t.Errorf("%q: a secret key in the plain variable %s", r.Exec.Args, k)
				}
			}
		}
	}
	if leaks := srv.SecretLeaks(); len(leaks) != 0 {
		t.Errorf("secret plaintext leaked: %v", leaks)
	}
}
