package deploycli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefectapitest"
)

var update = flag.Bool("update", false, "rewrite testdata/live/*.golden")

const marker = "managed-by:prefect-flows:" + testOwner + ":dev"

// liveHarness is a harness whose fake prefect writes into a fake Prefect API (as the real
// build does), with PREFECT_API_URL pointing the CLI at that API.
type liveHarness struct {
	*harness
	api *prefectapitest.Server
}

// newLive seeds the fake API with testdata/live/server.json (next to the recorded
// deployments, which are not ours). builds says whether the fake prefect writes into it.
func newLive(t *testing.T, builds bool, extraEnv ...string) *liveHarness {
	t.Helper()
	api := prefectapitest.New(t)
	data, err := os.ReadFile("testdata/live/server.json")
	require.NoError(t, err)
	var seeds []prefectapitest.Seed
	require.NoError(t, json.Unmarshal(data, &seeds))
	for _, s := range seeds {
		api.AddDeployment(s)
	}
	api.AddPool("pool-a")
	env := append([]string{"PREFECT_API_URL=" + api.URL}, extraEnv...)
	if builds {
		env = append(env, "FAKE_PREFECT_API_URL="+api.URL)
	}
	return &liveHarness{harness: newHarness(t, env...), api: api}
}

// runWith runs the CLI with a stdin; interactive says whether it is a terminal.
func (h *harness) runWith(stdin string, interactive bool, args ...string) (int, string, string) {
	h.t.Helper()
	args = h.withFlags(args)
	var stdout, stderr bytes.Buffer
	app := &deploycli.App{Stdout: &stdout, Stderr: &stderr, Stdin: strings.NewReader(stdin), Interactive: interactive, Env: h.env}
	code := app.Run(context.Background(), args)
	return code, stdout.String(), stderr.String()
}

func (h *liveHarness) exists(flow, name string) bool { return h.api.DeploymentID(flow, name) != "" }

func (h *liveHarness) methods() map[string]int {
	out := map[string]int{}
	for _, r := range h.api.Requests() {
		out[r.Method+" "+r.Path]++
	}
	return out
}

func (h *liveHarness) deletes() int {
	n := 0
	for _, r := range h.api.Requests() {
		if r.Method == "DELETE" {
			n++
		}
	}
	return n
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", "live", name)
	if *update {
		require.NoError(t, os.WriteFile(p, []byte(got), 0o644))
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, string(want), got)
}

// TestPlanLive: a realistic change (one deployment added, one changed, one whose
// parameters were removed, one removed from the file) against a server that also holds
// a hand-made deployment and one of prod, which the plan must not list.
func TestPlanLive(t *testing.T) {
	summary := filepath.Join(t.TempDir(), "summary.md")
	h := newLive(t, false, "GITHUB_STEP_SUMMARY="+summary, "PREFECT_API_KEY=pnu_secret_value")
	code, stdout, stderr := h.run(context.Background(), "plan", h.file("prefect-deployments-dev.yaml"))
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	host := strings.TrimSuffix(strings.TrimPrefix(h.api.URL, "http://"), "/api")
	golden(t, "plan.golden", strings.ReplaceAll(strings.ReplaceAll(stdout, host, "<api>"), h.dir, "<repo>"))
	assert.NotContains(t, stdout, "hand-made")
	assert.NotContains(t, stdout, "hello-prod-smoke")
	assert.NotContains(t, stdout+stderr, "pnu_secret_value")

	md, err := os.ReadFile(summary)
	require.NoError(t, err)
	assert.Contains(t, string(md), "hello/hello-smoke")

	// the plan only reads
	for m := range h.methods() {
		assert.True(t, strings.HasPrefix(m, "GET ") || strings.HasSuffix(m, "/filter"), m)
	}
	assert.NoFileExists(t, h.log, "plan runs no prefect")

	code, _, _ = h.run(context.Background(), "plan", "--detailed-exitcode", h.file("prefect-deployments-dev.yaml"))
	assert.Equal(t, deploycli.ExitChanges, code)

	// The old spelling: the same plan, and a line that says what it is called now.
	code, old, stderr := h.run(context.Background(), "plan", "--live", h.file("prefect-deployments-dev.yaml"))
	assert.Equal(t, deploycli.ExitOK, code)
	assert.Equal(t, stdout, old)
	assert.Contains(t, stderr, "plan --live is plain plan now (--live is deprecated and does nothing); the command-printing plan is called script")
}

func TestAPIURLMissing(t *testing.T) {
	h := newHarness(t)
	for _, args := range [][]string{
		{"plan", h.file("prefect-deployments-dev.yaml")},
		{"apply", "--prune", "--yes", h.file("prefect-deployments-dev.yaml")},
	} {
		code, stdout, stderr := h.run(context.Background(), args...)
		assert.Equal(t, deploycli.ExitFailed, code, args)
		want := "prefect-deploy: PREFECT_API_URL is not set: point it at the Prefect API, e.g. http://127.0.0.1:4200/api\n"
		if args[0] == "plan" {
			// plan used to print the commands: say where that went.
			want += "prefect-deploy: plan compares the file with the server at PREFECT_API_URL; to print the commands instead, run prefect-deploy script\n"
		}
		assert.Equal(t, want, stderr, args)
		assert.Empty(t, stdout, args)
	}
	assert.NoFileExists(t, h.log, "nothing ran")
}

func TestLiveUsageErrors(t *testing.T) {
	h := newLive(t, true)
	file := h.file("prefect-deployments-dev.yaml")
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"apply", "--prune", "--yes", "--only", "sales-*", file}, "--prune cannot be combined with --only"},
		{[]string{"apply", "--prune", "--no-read-back", file}, "--prune needs the read-back"},
		{[]string{"apply", "--yes", file}, "--yes goes with --prune"},
		{[]string{"plan", "--only", "sales-*", file}, "--only and --prefect belong to the command-printing plan, which is now called script"},
		{[]string{"plan", "--prefect", "prefect", file}, "now called script"},
		{[]string{"apply", "--prune-legacy", file}, "--prune-legacy goes with --prune"},
		{[]string{"plan", "--owner", "Team A", file}, `--owner: owner "Team A"`},
		{[]string{"apply", h.file("hostile.yaml")}, "cannot tell the environment of"},
		{[]string{"apply", "--env", "prod", file}, "--env prod does not match"},
		{[]string{"plan", "--env", "Prod!", h.file("hostile.yaml")}, `environment "Prod!"`},
	} {
		code, _, stderr := h.run(context.Background(), tc.args...)
		assert.Equal(t, deploycli.ExitUsage, code, "%q: %s", tc.args, stderr)
		assert.Contains(t, stderr, tc.msg, tc.args)
	}
	assert.NoFileExists(t, h.log, "nothing ran")
	assert.Empty(t, h.api.Requests(), "nothing was asked of the API")
}

// TestApplyPruneYes: the builds write into the API, the read-back patches the parameters
// build kept, prune deletes the one marked deployment the file no longer lists and
// nothing else; afterwards the live plan has no changes.
func TestApplyPruneYes(t *testing.T) {
	summary := filepath.Join(t.TempDir(), "summary.md")
	h := newLive(t, true, "PREFECT_API_KEY=pnu_secret_value", "GITHUB_STEP_SUMMARY="+summary)
	before := h.api.Count()
	code, stdout, stderr := h.run(context.Background(), "apply", "--prune", "--yes", h.file("prefect-deployments-dev.yaml"))
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)

	assert.Contains(t, stdout, "4 deployment(s), 4 succeeded")
	assert.Contains(t, stdout, "Read back 4 deployment(s): 1 patched, 0 drifted.\n  ~ patched   hello/hello-manual (parameters)\n        parameters:  {\"number\":5} → {}\n")
	assert.Contains(t, stdout, "Prune will delete 1 deployment(s) (and their scheduled runs):\n  - hello/hello-smoke  (id ")
	assert.Contains(t, stdout, "  - deleted  hello/hello-smoke\n")
	assert.NotContains(t, stdout+stderr, "pnu_secret_value")
	md, err := os.ReadFile(summary)
	require.NoError(t, err)
	assert.Contains(t, string(md), "#### Read-back\n\n```\nRead back 4 deployment(s): 1 patched, 0 drifted.\n")
	assert.Contains(t, string(md), "#### Prune\n\n```\n  - deleted  hello/hello-smoke\n```\n")

	assert.False(t, h.exists("hello", "hello-smoke"))
	assert.Equal(t, 1, h.deletes())
	for _, keep := range []string{"hand-made", "hello-prod-smoke", "RecCron", "RecInterval", "RecNoSched", "RecRrule", "RecTagComma"} {
		assert.True(t, h.exists("hello", keep), "%s must not be touched", keep)
	}
	assert.Equal(t, before+1-1, h.api.Count(), "hello-weekly created, hello-smoke deleted")

	// the server now holds exactly the file
	us, _ := h.api.Deployment(h.api.DeploymentID("daily-sales-etl", "sales-us"))
	assert.Equal(t, []any{marker}, us["tags"], "the us-only tag is gone: -t replaces the tags")
	manual, _ := h.api.Deployment(h.api.DeploymentID("hello", "hello-manual"))
	assert.Equal(t, map[string]any{}, manual["parameters"])
	code, stdout, stderr = h.run(context.Background(), "plan", "--detailed-exitcode", h.file("prefect-deployments-dev.yaml"))
	assert.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stdout, "No changes")
}

func TestFailedDeployMeansNoPrune(t *testing.T) {
	h := newLive(t, true, "FAKE_PREFECT_FAIL=sales-us")
	code, stdout, stderr := h.run(context.Background(), "apply", "--prune", "--yes", h.file("prefect-deployments-dev.yaml"))
	assert.Equal(t, deploycli.ExitFailed, code, stdout)
	assert.Contains(t, stderr, "prefect-deploy: no prune: 1 of 4 deployments did not succeed: sales-us (failed)\n")
	assert.NotContains(t, stdout, "Prune will delete")
	assert.True(t, h.exists("hello", "hello-smoke"))
	assert.Zero(t, h.deletes())
	// the others were still read back
	assert.Contains(t, stdout, "Read back 3 deployment(s)")
}

// TestDriftExitsNonZero: the API does not hold what the apply built (here the builds
// go nowhere and the server keeps its old sales-us schedule): drift, exit 1, no prune.
func TestDriftExitsNonZero(t *testing.T) {
	h := newLive(t, false)
	code, stdout, stderr := h.run(context.Background(), "apply", "--prune", "--yes", h.file("prefect-deployments-dev.yaml"))
	assert.Equal(t, deploycli.ExitFailed, code, stdout)
	assert.Contains(t, stdout, "4 deployment(s), 4 succeeded")
	assert.Contains(t, stdout, "  ! drift     daily-sales-etl/sales-us\n        schedule:")
	assert.Contains(t, stdout, "  ! drift     hello/hello-weekly: not on the server after a successful apply\n")
	assert.Contains(t, stderr, "prefect-deploy: 2 deployment(s) differ from the file after apply: daily-sales-etl/sales-us, hello/hello-weekly\n")
	assert.Contains(t, stderr, "no prune: the read-back did not confirm the apply")
	assert.Zero(t, h.deletes())

	// without --prune, drift alone fails the run
	code, _, _ = h.run(context.Background(), "apply", h.file("prefect-deployments-dev.yaml"))
	assert.Equal(t, deploycli.ExitFailed, code)
	// and --no-read-back does not look: it reads the deployments only for the plan made
	// before the apply (other owners' deployments), the read-back reads them again.
	reads := func() int {
		n := 0
		for _, r := range h.api.Requests() {
			if strings.Contains(r.Path, "/deployments") {
				n++
			}
		}
		return n
	}
	h.api.ResetRequests()
	code, stdout, _ = h.run(context.Background(), "apply", "--no-read-back", h.file("prefect-deployments-dev.yaml"))
	assert.Equal(t, deploycli.ExitOK, code)
	assert.Contains(t, stdout, "read-back skipped: --no-read-back\n")
	without := reads()
	h.api.ResetRequests()
	h.run(context.Background(), "apply", h.file("prefect-deployments-dev.yaml"))
	assert.Greater(t, reads(), without, "the read-back reads the deployments; --no-read-back must not")
}

func TestPruneConfirmation(t *testing.T) {
	file := "prefect-deployments-dev.yaml"
	for _, tc := range []struct {
		name        string
		stdin       string
		interactive bool
		code        int
		deleted     bool
		msg         string
	}{
		{"not a terminal", "y\n", false, deploycli.ExitFailed, false, "prune needs --yes when stdin is not a terminal: nothing deleted"},
		{"answer no", "n\n", true, deploycli.ExitFailed, false, "prune declined: nothing deleted"},
		{"no answer", "", true, deploycli.ExitFailed, false, "prune declined: nothing deleted"},
		{"answer yes", "yes\n", true, deploycli.ExitOK, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newLive(t, true)
			code, stdout, stderr := h.runWith(tc.stdin, tc.interactive, "apply", "--prune", h.file(file))
			assert.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			assert.Contains(t, stdout, "Prune will delete 1 deployment(s)", "the list is shown first")
			assert.Equal(t, !tc.deleted, h.exists("hello", "hello-smoke"))
			assert.Contains(t, stderr, tc.msg)
			if tc.interactive {
				assert.Contains(t, stdout, "Delete these 1 deployment(s)? [y/N] ")
			}
		})
	}
}

func TestReadBackSkippedWithoutAPIURL(t *testing.T) {
	h := newHarness(t)
	code, stdout, stderr := h.run(context.Background(), "apply", h.file("prefect-deployments-dev.yaml"))
	require.Equal(t, deploycli.ExitOK, code, stderr)
	assert.True(t, strings.HasSuffix(stdout, "\nread-back skipped: PREFECT_API_URL is not set\n"), stdout)
}

func TestAPIKeyIsSentNeverShown(t *testing.T) {
	h := newLive(t, false, "PREFECT_API_KEY=pnu_wrong_key")
	code, stdout, stderr := h.run(context.Background(), "plan", h.file("prefect-deployments-dev.yaml"))
	require.Equal(t, deploycli.ExitOK, code, stderr)
	for _, r := range h.api.Requests() {
		assert.True(t, r.Auth, r.Path)
	}
	assert.NotContains(t, stdout+stderr, "pnu_wrong_key")

	h.api.ForceStatus(401)
	code, stdout, stderr = h.run(context.Background(), "plan", h.file("prefect-deployments-dev.yaml"))
	assert.Equal(t, deploycli.ExitFailed, code)
	assert.Contains(t, stderr, "401")
	assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %s", stderr)
	assert.NotContains(t, stdout+stderr, "pnu_wrong_key")
}

// TestReadBackAndPruneCommands: the pipeline's way, read-back and prune after a deploy
// that did not go through apply. prune refuses while the server lacks part of the file.
func TestReadBackAndPruneCommands(t *testing.T) {
	h := newLive(t, true)
	file := h.file("prefect-deployments-dev.yaml")

	code, stdout, stderr := h.run(context.Background(), "prune", "--yes", file)
	assert.Equal(t, deploycli.ExitFailed, code, stdout)
	assert.Contains(t, stdout, "  ! drift     hello/hello-weekly: not on the server after a successful apply\n")
	assert.Contains(t, stderr, "no prune: the server does not hold exactly the file")
	assert.Contains(t, stdout, "  ~ patched   hello/hello-manual (parameters)\n")
	assert.Zero(t, h.deletes())

	code, _, stderr = h.run(context.Background(), "read-back", file)
	assert.Equal(t, deploycli.ExitFailed, code, stderr)

	code, stdout, stderr = h.run(context.Background(), "apply", "--no-read-back", file)
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	code, stdout, stderr = h.run(context.Background(), "read-back", "--only", "hello-*", file)
	assert.Equal(t, deploycli.ExitOK, code, stderr)
	// the refused prune's read-back already patched hello-manual's parameters
	assert.Contains(t, stdout, "Read back 2 deployment(s): 0 patched, 0 drifted.\n")

	code, stdout, stderr = h.run(context.Background(), "prune", file)
	assert.Equal(t, deploycli.ExitFailed, code)
	assert.Contains(t, stderr, "prune needs --yes when stdin is not a terminal")
	assert.True(t, h.exists("hello", "hello-smoke"))

	code, stdout, stderr = h.run(context.Background(), "prune", "--yes", file)
	assert.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stdout, "Read back 4 deployment(s): 0 patched, 0 drifted.\n")
	assert.Contains(t, stdout, "  - deleted  hello/hello-smoke\n")
	assert.False(t, h.exists("hello", "hello-smoke"))
	assert.True(t, h.exists("hello", "hand-made"))
	assert.Equal(t, 1, h.deletes())

	code, stdout, _ = h.run(context.Background(), "prune", "--yes", file)
	assert.Equal(t, deploycli.ExitOK, code)
	assert.Contains(t, stdout, "Prune: nothing to delete")
}

// A deployment that another owner's tag marks as theirs is not overwritten by apply unless
// --take-over says so; refused, nothing is written (the plan is read before any build).
func TestApplyRefusesTakeOver(t *testing.T) {
	const theirs = "managed-by:prefect-flows:someone/else:dev"
	h := newLive(t, true)
	h.api.AddDeployment(prefectapitest.Seed{Flow: "hello", Name: "hello-weekly", Tags: []string{"dev", theirs}, Pool: "pool-a"})
	h.api.ResetRequests()
	code, _, stderr := h.run(context.Background(), "apply", h.file("prefect-deployments-dev.yaml"))
	assert.Equal(t, deploycli.ExitFailed, code)
	assert.Contains(t, stderr, "prefect-deploy: hello/hello-weekly belongs to owner someone/else (tag "+theirs+"); this apply is owner "+testOwner+"\n")
	assert.Contains(t, stderr, "pass --take-over to make them ours")
	assert.Contains(t, stderr, "nothing was deployed")
	for _, r := range h.api.Requests() {
		read := r.Method == "GET" || (r.Method == "POST" && strings.HasSuffix(r.Path, "/filter"))
		assert.True(t, read, "refused, yet %s %s", r.Method, r.Path)
	}
	assert.Empty(t, h.calls(), "no build may start")

	code, stdout, stderr := h.run(context.Background(), "apply", "--take-over", h.file("prefect-deployments-dev.yaml"))
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	d, ok := h.api.Deployment(h.api.DeploymentID("hello", "hello-weekly"))
	require.True(t, ok)
	assert.Contains(t, d["tags"], marker)
	assert.NotContains(t, d["tags"], theirs)
}
