package deploycli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/internal/fakeprefect"
	"github.com/acme-data/prefect-flows/ci/prefectcli/batch"
	"github.com/acme-data/prefect-flows/ci/pyflow"
	"github.com/acme-data/prefect-flows/ci/spec"
	"github.com/acme-data/prefect-flows/ci/spec/selecttest"
)

var fakeBin, cliBin string

func TestMain(m *testing.M) {
	fakeprefect.RunTests(m, &fakeBin, func(dir string) error {
		cliBin = filepath.Join(dir, "prefect-deploy")
		out, err := exec.Command("go", "build", "-o", cliBin, "github.com/acme-data/prefect-flows/ci/cmd/prefect-deploy").CombinedOutput()
		if err != nil {
			return fmt.Errorf("build prefect-deploy: %w\n%s", err, out)
		}
		return nil
	})
}

// harness is a copy of testdata/repo, a fake prefect call log, and the environment
// the CLI passes to prefect. The environment also puts the stand-in prefect.cli
// (testdata/pyprefect, which runs the same fake prefect per job) on PYTHONPATH, so
// --runner batch runs against the same fake as --runner cli.
type harness struct {
	t    testing.TB
	dir  string
	log  string
	env  []string
	spec string
	// runner, when set, is passed to apply as --runner.
	runner string
	// standinLog lists the jobs the stand-in prefect.cli ran (batch runner only).
	standinLog string
}

// runners are the values of --runner that the end-to-end tests run under.
var runners = []string{"batch", "cli"}

func newHarness(t testing.TB, extraEnv ...string) *harness {
	t.Helper()
	spec, err := fakeprefect.SharedPath("prefect/cli-2.14.json")
	require.NoError(t, err)
	standin, err := filepath.Abs("testdata/pyprefect")
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS("testdata/repo")))
	logs := t.TempDir()
	log := filepath.Join(logs, "calls.jsonl")
	standinLog := filepath.Join(logs, "standin.jsonl")
	env := append([]string{"PATH=" + os.Getenv("PATH"), "FAKE_PREFECT_CLI_SPEC=" + spec, "FAKE_PREFECT_LOG=" + log,
		"PYTHONPATH=" + standin, "FAKE_PREFECT_BIN=" + fakeBin, "STANDIN_LOG=" + standinLog,
		"PREFECT_OWNER=" + testOwner}, extraEnv...)
	return &harness{t: t, dir: dir, log: log, env: env, spec: spec, standinLog: standinLog}
}

// newRunnerHarness is newHarness for one --runner.
func newRunnerHarness(t testing.TB, runner string, extraEnv ...string) *harness {
	h := newHarness(t, extraEnv...)
	h.runner = runner
	return h
}

// batchJobs are the jobs the stand-in prefect.cli ran: deployment name → the runner
// processes (pids) that ran it, one entry per run.
func (h *harness) batchJobs() map[string][]int {
	h.t.Helper()
	out := map[string][]int{}
	b, err := os.ReadFile(h.standinLog)
	if os.IsNotExist(err) {
		return out
	}
	require.NoError(h.t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec struct {
			PID  int    `json:"pid"`
			Name string `json:"name"`
		}
		require.NoError(h.t, json.Unmarshal([]byte(line), &rec), line)
		out[rec.Name] = append(out[rec.Name], rec.PID)
	}
	return out
}

// checkRunner asserts that the deployments ran where the runner says: each exactly
// once in a batch runner process and never through the CLI fallback (batch), or
// never in one (cli). Without it a batch test could pass on the fallback alone.
func (h *harness) checkRunner(stdout, stderr string, names ...string) {
	h.t.Helper()
	jobs := h.batchJobs()
	switch h.runner {
	case "cli":
		assert.Empty(h.t, jobs, "--runner cli ran jobs in the batch runner")
		assert.Contains(h.t, stdout, ", runner cli, ")
	default:
		for _, n := range names {
			assert.Len(h.t, jobs[n], 1, "%s: runs in a batch runner process", n)
		}
		assert.NotContains(h.t, stderr, "with the prefect CLI", "a job fell back to the CLI")
		assert.Contains(h.t, stdout, ", runner batch (python ")
	}
}

// forRunners runs f once per --runner, as a subtest.
func forRunners(t *testing.T, f func(t *testing.T, runner string)) {
	for _, r := range runners {
		t.Run(r, func(t *testing.T) { f(t, r) })
	}
}

func (h *harness) file(name string) string { return filepath.Join(h.dir, name) }

// testOwner is the owner of every test run (PREFECT_OWNER in the harness's environment).
const testOwner = "acme-data/prefect-flows"

// run calls the CLI in-process; apply and script get --prefect pointing at the fake.
func (h *harness) run(ctx context.Context, args ...string) (int, string, string) {
	h.t.Helper()
	args = h.withFlags(args)
	var stdout, stderr bytes.Buffer
	code := deploycli.Main(ctx, args, &stdout, &stderr, h.env)
	return code, stdout.String(), stderr.String()
}

// withFlags gives apply and script --prefect pointing at the fake, and apply the
// harness's --runner.
func (h *harness) withFlags(args []string) []string {
	if len(args) == 0 || (args[0] != "apply" && args[0] != "script") {
		return args
	}
	extra := []string{args[0], "--prefect", fakeBin}
	if args[0] == "apply" {
		// These tests drive the prefect CLI runners; the api runner has its own (api_test.go).
		runner := h.runner
		if runner == "" {
			runner = "batch"
		}
		extra = append(extra, "--runner", runner)
	}
	return append(extra, args[1:]...)
}

// calls are the fake's finished calls, by deployment name.
func (h *harness) calls() map[string]fakeprefect.Record {
	h.t.Helper()
	recs, err := fakeprefect.ReadLog(h.log)
	require.NoError(h.t, err)
	out := map[string]fakeprefect.Record{}
	for _, r := range recs {
		if r.Event == "end" {
			out[argValue(r.Argv, "-n")] = r
		}
	}
	return out
}

func (h *harness) started() []string {
	h.t.Helper()
	recs, err := fakeprefect.ReadLog(h.log)
	require.NoError(h.t, err)
	var names []string
	for _, r := range recs {
		if r.Event == "start" {
			names = append(names, argValue(r.Argv, "-n"))
		}
	}
	sort.Strings(names)
	return names
}

func argValue(argv []string, opt string) string {
	for i := 0; i+1 < len(argv); i++ {
		if argv[i] == opt {
			return argv[i+1]
		}
	}
	return ""
}

func tagsOf(argv []string) []string {
	var tags []string
	for i := 0; i+1 < len(argv); i++ {
		if argv[i] == "--tag" {
			tags = append(tags, argv[i+1])
		}
	}
	return tags
}

func keys(m map[string]fakeprefect.Record) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// summaryRow finds the summary table row of a deployment, split into its columns.
func summaryRow(t testing.TB, stdout, name string) []string {
	t.Helper()
	i := strings.Index(stdout, "DEPLOYMENT  ")
	require.GreaterOrEqual(t, i, 0, "no summary in:\n%s", stdout)
	for _, line := range strings.Split(stdout[i:], "\n") {
		if strings.HasPrefix(line, name+" ") {
			return strings.Fields(strings.TrimPrefix(line, name))
		}
	}
	t.Fatalf("no summary row for %s in:\n%s", name, stdout)
	return nil
}

func writeDeployments(t testing.TB, dir string, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("ib-block: ecs-task/dev\ndeployments:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: d%02d\n    entrypoint: flows/hello.py:hello\n    parameters:\n      number: %d\n", i, i)
	}
	p := filepath.Join(dir, fmt.Sprintf("prefect-deployments-many-%d.yaml", n))
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	return p
}

func TestValidate(t *testing.T) {
	h := newHarness(t)
	code, stdout, _ := h.run(context.Background(), "validate", h.file("prefect-deployments-dev.yaml"), h.file("invalid.yaml"), h.file("hostile.yaml"))
	assert.Equal(t, deploycli.ExitFailed, code)
	assert.Contains(t, stdout, "prefect-deployments-dev.yaml: ok, 4 deployment(s)")
	assert.Contains(t, stdout, "hostile.yaml: ok, 1 deployment(s)")
	assert.Contains(t, stdout, "invalid.yaml: 3 problem(s)")
	assert.Contains(t, stdout, "invalid.yaml:7:5: deployments[1].shedule")
	assert.Contains(t, stdout, "invalid.yaml:10:17: deployments[2].entrypoint")

	code, _, _ = h.run(context.Background(), "validate", h.file("prefect-deployments-dev.yaml"))
	assert.Equal(t, deploycli.ExitOK, code)
}

// An entrypoint only Prefect's loader can judge (a re-exported flow) validates, with a
// note that says so at its file:line:col.
func TestValidateNotes(t *testing.T) {
	h := newHarness(t)
	code, stdout, _ := h.run(context.Background(), "validate", h.file("reexport.yaml"))
	assert.Equal(t, deploycli.ExitOK, code, stdout)
	assert.Equal(t, "note: "+h.file("reexport.yaml")+":4:17: deployments[0].entrypoint: hello2 in flows/reexport.py is imported at the top level (line 2: from flows.hello import hello as hello2): "+pyflow.NotCheckedStatically+"\n"+
		h.file("reexport.yaml")+": ok, 1 deployment(s), Prefect 2 (inferred from ib-block at line 1)\n", stdout)
}

// A Prefect 3 file validates and says its major; apply with a runner that drives
// Prefect 2's CLI stops with one line before it runs prefect or asks the API anything.
func TestPrefect3FileValidatesButOnlyApplyDeploys(t *testing.T) {
	h := newHarness(t, "PREFECT_API_URL=http://127.0.0.1:1/api")
	file := h.file("prefect3.yaml")
	code, stdout, _ := h.run(context.Background(), "validate", file)
	assert.Equal(t, deploycli.ExitOK, code, stdout)
	assert.Equal(t, file+": ok, 1 deployment(s), Prefect 3 (prefect: 3 at line 1)\n"+
		"note: "+file+" targets Prefect 3: apply deploys it (--runner api only), pools creates its work pools, and script prints both\n", stdout)
	code, stdout, stderr := h.run(context.Background(), "apply", file)
	assert.Equal(t, deploycli.ExitFailed, code)
	assert.Equal(t, "prefect-deploy: "+file+" targets Prefect 3 (prefect: 3 at line 1): it deploys with --runner api only (the batch and cli runners drive Prefect 2's `prefect deployment build`)\n", stderr)
	assert.Empty(t, stdout)
	assert.NoFileExists(t, h.log, "prefect must not have been called")
}

func TestNothingRunsWhenValidationFails(t *testing.T) {
	h := newHarness(t)
	code, stdout, stderr := h.run(context.Background(), "apply", h.file("invalid.yaml"))
	assert.Equal(t, deploycli.ExitFailed, code)
	assert.Contains(t, stderr, "3 problem(s)")
	assert.Contains(t, stderr, "nothing was deployed")
	assert.NotContains(t, stdout, "▶")
	assert.NoFileExists(t, h.log, "prefect must not have been called")
}

func TestUsageErrors(t *testing.T) {
	h := newHarness(t)
	for _, args := range [][]string{
		{},
		{"deploy"},
		{"apply"},
		{"apply", "--concurrency", "x", h.file("prefect-deployments-dev.yaml")},
		{"apply", "--only", "nope-*", h.file("prefect-deployments-dev.yaml")},
		{"apply", "--only", "[", h.file("prefect-deployments-dev.yaml")},
		{"apply", "--runner", "ssh", h.file("prefect-deployments-dev.yaml")},
		{"script", h.file("prefect-deployments-dev.yaml"), h.file("hostile.yaml")},
		{"validate"},
	} {
		code, _, stderr := h.run(context.Background(), args...)
		assert.Equal(t, deploycli.ExitUsage, code, "%q: %s", args, stderr)
	}
	assert.NoFileExists(t, h.log)
}

func TestHelpRunsNothing(t *testing.T) {
	h := newHarness(t)
	for _, cmd := range []string{"validate", "script", "apply"} {
		code, stdout, stderr := h.run(context.Background(), cmd, "-h", h.file("prefect-deployments-dev.yaml"))
		assert.Equal(t, deploycli.ExitOK, code, cmd)
		assert.Contains(t, stderr, "-workdir", cmd)
		assert.NotContains(t, stdout, "prefect deployment build", cmd)
	}
	assert.NoFileExists(t, h.log)
}

func TestApplySucceeds(t *testing.T) {
	forRunners(t, func(t *testing.T, runner string) {
		summary := filepath.Join(t.TempDir(), "step-summary.md")
		require.NoError(t, os.WriteFile(summary, []byte("earlier step\n"), 0o644))
		h := newRunnerHarness(t, runner, "GITHUB_STEP_SUMMARY="+summary, "PREFECT_API_KEY=pnu_secret_value")
		// flags after the file work too
		code, stdout, stderr := h.run(context.Background(), "apply", h.file("prefect-deployments-dev.yaml"), "--concurrency", "2")
		require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		h.checkRunner(stdout, stderr, "sales-eu", "sales-us", "hello-weekly", "hello-manual")

		calls := h.calls()
		assert.Equal(t, []string{"hello-manual", "hello-weekly", "sales-eu", "sales-us"}, keys(calls))
		for name, c := range calls {
			assert.Equal(t, h.dir, c.Cwd, "prefect runs in the file's directory")
			assert.Equal(t, 0, c.Exit, name)
			assert.Contains(t, c.Env, "PREFECT_API_KEY")
		}
		// the ownership tag comes last among the tags, before the schedule options
		assert.Equal(t, []string{"--tag", "managed-by:prefect-flows:" + testOwner + ":dev", "--no-schedule"}, calls["hello-manual"].Argv[9:12])
		for name, c := range calls {
			if tags := tagsOf(c.Argv); assert.NotEmpty(t, tags, name) {
				assert.Equal(t, "managed-by:prefect-flows:"+testOwner+":dev", tags[len(tags)-1], name)
			}
		}
		assert.Equal(t, []string{"dev", "sales", "managed-by:prefect-flows:" + testOwner + ":dev"}, tagsOf(calls["sales-eu"].Argv))
		assert.Equal(t, "5400", argValue(calls["sales-us"].Argv, "--interval"))

		assert.Contains(t, stdout, ": 2 at once, runner "+runner)
		for _, name := range []string{"sales-eu", "sales-us", "hello-weekly", "hello-manual"} {
			assert.Contains(t, stdout, "▶ "+name+"\n")
			assert.Regexp(t, "✔ "+name+` \d+\.\ds\n`, stdout)
			flow := "hello"
			if strings.HasPrefix(name, "sales") {
				flow = "daily-sales-etl"
			}
			row := summaryRow(t, stdout, name)
			assert.Equal(t, []string{"succeeded", row[1], fakeprefect.DeploymentID(flow, name)}, row)
		}
		// the summary follows the file's order
		assert.Less(t, strings.Index(stdout, "\nsales-eu "), strings.Index(stdout, "\nhello-manual "))
		assert.Contains(t, stdout, "4 deployment(s), 4 succeeded")
		assert.NotContains(t, stdout+stderr, "pnu_secret_value")

		md, err := os.ReadFile(summary)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(string(md), "earlier step\n### Prefect deployments\n"), string(md))
		assert.Contains(t, string(md), "| sales-eu | ✅ succeeded |")
		assert.Contains(t, string(md), "`"+fakeprefect.DeploymentID("hello", "hello-manual")+"`")
	})
}

func TestBatchRunnerDefaults(t *testing.T) {
	h := newHarness(t)
	code, stdout, stderr := h.run(context.Background(), "apply", h.file("prefect-deployments-dev.yaml"))
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	h.checkRunner(stdout, stderr, "sales-eu", "sales-us", "hello-weekly", "hello-manual")
	assert.Contains(t, stdout, fmt.Sprintf(": %d at once, runner batch (python ", batch.DefaultProcesses()))
}

func TestHostileValuesArriveByteForByte(t *testing.T) {
	forRunners(t, func(t *testing.T, runner string) {
		h := newRunnerHarness(t, runner)
		// hostile.yaml is not named for an environment: --env names it
		code, stdout, stderr := h.run(context.Background(), "apply", "--env", "test", h.file("hostile.yaml"))
		require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		h.checkRunner(stdout, stderr, "hostile")
		c, ok := h.calls()["hostile"]
		require.True(t, ok)

		var got map[string]any
		require.NoError(t, json.Unmarshal([]byte(argValue(c.Argv, "--params")), &got))
		want := map[string]any{
			"single": "it's", "double": `say "hi"`, "dollar": "$HOME ${PATH} $(id)", "backtick": "`id`",
			"newline": "line one\nline two\n", "unicode": "ünïcödé 🚀 ✓ \u2028",
			"html": "<script>alert('x')</script> & <>", "backslash": `C:\temp\new`, "glob": "* ? [a-z] ~",
			"semicolon": "a; rm -rf / | cat && echo",
			"nested":    map[string]any{"list": []any{"-n", "--cron", "-o x.yml"}, "number": 1.5, "whole": 2.0, "int": 7.0, "null": nil, "bool": true},
		}
		assert.Equal(t, want, got)
		assert.Contains(t, argValue(c.Argv, "--params"), `"whole":2.0`, "a YAML float stays a float for Python")
		assert.Equal(t, "it's \"quoted\" $HOME `id` $(touch /tmp/pwned) <b>&amp;</b>", argValue(c.Argv, "-d"))
		assert.Equal(t, []string{"$PATH", "`id`", "ünï 🚀", "managed-by:prefect-flows:" + testOwner + ":test"}, tagsOf(c.Argv))
		assert.NoFileExists(t, "/tmp/pwned")
	})
}

// TestBothRunnersPassTheSameArgv: what prefect receives is byte for byte the same
// whichever runner carried it (one golden set for both); only the temporary output
// directory of -o differs between two applies.
func TestBothRunnersPassTheSameArgv(t *testing.T) {
	for _, tc := range []struct{ file, env string }{{"prefect-deployments-dev.yaml", ""}, {"hostile.yaml", "test"}} {
		t.Run(tc.file, func(t *testing.T) {
			got := map[string]map[string]fakeprefect.Record{}
			dirs := map[string]string{}
			for _, runner := range runners {
				h := newRunnerHarness(t, runner)
				args := []string{"apply", h.file(tc.file)}
				if tc.env != "" {
					args = append(args, "--env", tc.env)
				}
				code, stdout, stderr := h.run(context.Background(), args...)
				require.Equal(t, deploycli.ExitOK, code, "%s\nstdout:\n%s\nstderr:\n%s", runner, stdout, stderr)
				got[runner], dirs[runner] = h.calls(), h.dir
				h.checkRunner(stdout, stderr, keys(got[runner])...)
			}
			b, c := got["batch"], got["cli"]
			require.Equal(t, keys(c), keys(b))
			for name := range c {
				x, y := b[name].Argv, c[name].Argv
				require.Equal(t, len(y), len(x), name)
				assert.Equal(t, y[:len(y)-1], x[:len(x)-1], name)
				assert.Equal(t, filepath.Base(y[len(y)-1]), filepath.Base(x[len(x)-1]), name)
				assert.Equal(t, dirs["cli"], c[name].Cwd, name)
				assert.Equal(t, dirs["batch"], b[name].Cwd, name)
				// The fake records the names of the variables it saw (never values).
				assert.Subset(t, b[name].Env, c[name].Env, name)
			}
		})
	}
}

// maxOverlap is the largest number of calls running at one instant.
func maxOverlap(calls map[string]fakeprefect.Record) int {
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, c := range calls {
		edges = append(edges, edge{c.Start, 1}, edge{c.End, -1})
	}
	sort.Slice(edges, func(i, j int) bool {
		if !edges[i].at.Equal(edges[j].at) {
			return edges[i].at.Before(edges[j].at)
		}
		return edges[i].delta < edges[j].delta // an end before a start at the same instant
	})
	cur, best := 0, 0
	for _, e := range edges {
		cur += e.delta
		best = max(best, cur)
	}
	return best
}

func TestConcurrencyIsBoundedAndReallyParallel(t *testing.T) {
	forRunners(t, func(t *testing.T, runner string) {
		h := newRunnerHarness(t, runner, "FAKE_PREFECT_DELAY=400ms")
		file := writeDeployments(t, h.dir, 8)
		code, stdout, stderr := h.run(context.Background(), "apply", "--concurrency", "3", file)
		require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		calls := h.calls()
		require.Len(t, calls, 8)
		h.checkRunner(stdout, stderr, keys(calls)...)
		assert.Equal(t, 3, maxOverlap(calls), "at most 3 at once, and 3 did run together")

		if runner == "batch" {
			// --concurrency 3 means 3 runner processes, each taking job after job.
			pids := map[int]int{}
			for _, ps := range h.batchJobs() {
				for _, p := range ps {
					pids[p]++
				}
			}
			assert.Len(t, pids, 3, "runner processes: %v", pids)
		}

		// every build wrote its own output file: none collided
		outs := map[string]bool{}
		for _, c := range calls {
			o := argValue(c.Argv, "-o")
			assert.False(t, outs[o], "shared output %s", o)
			outs[o] = true
		}
	})
}

func TestOneFailureDoesNotStopTheOthers(t *testing.T) {
	forRunners(t, func(t *testing.T, runner string) {
		h := newRunnerHarness(t, runner, "FAKE_PREFECT_FAIL=sales-us")
		code, stdout, stderr := h.run(context.Background(), "apply", "--concurrency", "1", h.file("prefect-deployments-dev.yaml"))
		assert.Equal(t, deploycli.ExitFailed, code, stderr)
		assert.Equal(t, []string{"hello-manual", "hello-weekly", "sales-eu", "sales-us"}, keys(h.calls()))
		h.checkRunner(stdout, stderr, "hello-manual", "hello-weekly", "sales-eu", "sales-us")
		assert.Regexp(t, `✖ sales-us \d+\.\ds \(exit 1\)\n`, stdout)
		// the full prefect output of the failed one
		assert.Contains(t, stdout, "    │ Found flow 'daily-sales-etl'\n    │ An exception occurred.\n")
		assert.Contains(t, stdout, "    │ httpx.HTTPStatusError: Server error '500 Internal Server Error'")
		assert.Equal(t, "failed", summaryRow(t, stdout, "sales-us")[0])
		assert.Equal(t, "-", summaryRow(t, stdout, "sales-us")[2])
		assert.Equal(t, "succeeded", summaryRow(t, stdout, "hello-manual")[0])
		assert.Contains(t, stdout, "4 deployment(s), 3 succeeded, 1 failed")
	})
}

// TestBatchRunnerCrashFallsBackToTheCLI: a runner process that dies in the middle of a
// job is replaced; that job runs once more with the prefect CLI, with a warning line,
// and the other jobs are not disturbed.
func TestBatchRunnerCrashFallsBackToTheCLI(t *testing.T) {
	h := newRunnerHarness(t, "batch", "STANDIN_CRASH=sales-us")
	code, stdout, stderr := h.run(context.Background(), "apply", "--concurrency", "1", h.file("prefect-deployments-dev.yaml"))
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Regexp(t, `(?m)^! sales-us: batch runner failed \(.*died.*\); running it once more with the prefect CLI$`, stderr)
	assert.Equal(t, 1, strings.Count(stderr, "running it once more"), stderr)
	jobs := h.batchJobs()
	for _, n := range []string{"sales-eu", "sales-us", "hello-weekly", "hello-manual"} {
		assert.Len(t, jobs[n], 1, n)
		assert.Equal(t, "succeeded", summaryRow(t, stdout, n)[0], n)
	}
	// one process until the crash, a fresh one after it
	assert.Equal(t, jobs["sales-eu"], jobs["sales-us"])
	assert.NotEqual(t, jobs["sales-us"], jobs["hello-weekly"])
	assert.Equal(t, jobs["hello-weekly"], jobs["hello-manual"])
	// The crashed job reached prefect only through the fallback: once.
	recs, err := fakeprefect.ReadLog(h.log)
	require.NoError(t, err)
	n := 0
	for _, r := range recs {
		if r.Event == "start" && argValue(r.Argv, "-n") == "sales-us" {
			n++
		}
	}
	assert.Equal(t, 1, n)
	assert.Contains(t, stdout, "4 deployment(s), 4 succeeded")
}

// TestBatchRunnerWithoutPrefect: a Python without Prefect is not fatal: every job runs
// with the CLI, the import error is shown once, one warning line per job.
func TestBatchRunnerWithoutPrefect(t *testing.T) {
	h := newRunnerHarness(t, "batch")
	for i, kv := range h.env {
		if strings.HasPrefix(kv, "PYTHONPATH=") {
			h.env[i] = "PYTHONPATH="
		}
	}
	code, stdout, stderr := h.run(context.Background(), "apply", h.file("prefect-deployments-dev.yaml"))
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Empty(t, h.batchJobs())
	assert.Len(t, h.calls(), 4)
	assert.Equal(t, 1, strings.Count(stderr, "cannot import prefect.cli"), stderr)
	assert.Contains(t, stderr, "No module named 'prefect'")
	assert.Equal(t, 4, strings.Count(stderr, "running it with the prefect CLI"), stderr)
	assert.Contains(t, stdout, "4 deployment(s), 4 succeeded")
}

func TestFailFast(t *testing.T) {
	forRunners(t, func(t *testing.T, runner string) {
		h := newRunnerHarness(t, runner, "FAKE_PREFECT_FAIL=sales-us")
		code, stdout, _ := h.run(context.Background(), "apply", "--concurrency", "1", "--fail-fast", h.file("prefect-deployments-dev.yaml"))
		assert.Equal(t, deploycli.ExitFailed, code)
		assert.Equal(t, []string{"sales-eu", "sales-us"}, keys(h.calls()))
		assert.Equal(t, []string{"not", "started", "-", "-"}, summaryRow(t, stdout, "hello-weekly"))
		assert.Equal(t, []string{"not", "started", "-", "-"}, summaryRow(t, stdout, "hello-manual"))
	})
}

func TestOnlyGlobs(t *testing.T) {
	h := newHarness(t)
	code, stdout, stderr := h.run(context.Background(), "apply", "--only", "sales-*", "--only", "hello-manual", h.file("prefect-deployments-dev.yaml"))
	require.Equal(t, deploycli.ExitOK, code, stderr)
	assert.Equal(t, []string{"hello-manual", "sales-eu", "sales-us"}, keys(h.calls()))
	assert.NotContains(t, stdout, "hello-weekly")

	h = newHarness(t)
	code, _, stderr = h.run(context.Background(), "apply", "--only", "sales-*", "--only", "typo*", h.file("prefect-deployments-dev.yaml"))
	assert.Equal(t, deploycli.ExitUsage, code)
	assert.Contains(t, stderr, `--only typo* matches no deployment`)
	assert.NoFileExists(t, h.log)
}

// The hanging build never ends, so the timeout only bounds the test's time; it is long
// enough that a loaded machine still finishes the quick builds (Python start-up included).
func TestPerDeploymentTimeout(t *testing.T) {
	forRunners(t, func(t *testing.T, runner string) {
		h := newRunnerHarness(t, runner, "FAKE_PREFECT_HANG=hello-weekly")
		code, stdout, stderr := h.run(context.Background(), "apply", "--timeout", "3s", h.file("prefect-deployments-dev.yaml"))
		assert.Equal(t, deploycli.ExitFailed, code)
		assert.Equal(t, "timed", summaryRow(t, stdout, "hello-weekly")[0])
		assert.Equal(t, "succeeded", summaryRow(t, stdout, "hello-manual")[0])
		assert.Contains(t, stdout, "deployment timed out after 3s")
		if runner == "cli" {
			assert.Equal(t, "SIGTERM", h.calls()["hello-weekly"].Signal, "the build was stopped with SIGTERM")
			return
		}
		// The batch runner kills the process group of the runner that held the job:
		// the build (a child of that runner here) is gone, and no job was retried.
		assertGone(t, h, "hello-weekly")
		assert.NotContains(t, stderr, "with the prefect CLI")
	})
}

// assertGone checks that the fake prefect processes of these deployments no longer
// run (a killed child may linger as a zombie until it is reaped).
func assertGone(t *testing.T, h *harness, names ...string) {
	t.Helper()
	recs, err := fakeprefect.ReadLog(h.log)
	require.NoError(t, err)
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for _, r := range recs {
		if r.Event != "start" || !want[argValue(r.Argv, "-n")] {
			continue
		}
		delete(want, argValue(r.Argv, "-n"))
		deadline := time.Now().Add(5 * time.Second)
		for processRuns(r.PID) {
			require.True(t, time.Now().Before(deadline), "%s (pid %d) still runs", argValue(r.Argv, "-n"), r.PID)
			time.Sleep(20 * time.Millisecond)
		}
	}
	assert.Empty(t, want, "never started")
}

// processRuns says whether pid is a live process (not gone, not a zombie).
func processRuns(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		// No /proc (or the process is gone): ask the kernel directly.
		return processExists(pid)
	}
	// pid (comm) state ...: comm may hold spaces and parentheses, so cut at the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// waitForStarts waits until n builds have started, by the fake's log.
func waitForStarts(t *testing.T, h *harness, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(h.started()) < n {
		require.True(t, time.Now().Before(deadline), "builds did not start")
		time.Sleep(20 * time.Millisecond)
	}
}

func TestInterruptInProcess(t *testing.T) {
	forRunners(t, func(t *testing.T, runner string) {
		h := newRunnerHarness(t, runner, "FAKE_PREFECT_HANG=*")
		file := writeDeployments(t, h.dir, 5)
		ctx, cancel := context.WithCancel(context.Background())
		type out struct {
			code           int
			stdout, stderr string
		}
		done := make(chan out)
		go func() {
			code, stdout, stderr := h.run(ctx, "apply", "--concurrency", "2", "--grace", "200ms", file)
			done <- out{code, stdout, stderr}
		}()
		waitForStarts(t, h, 2)
		cancel()
		o := <-done
		assert.Equal(t, deploycli.ExitInterrupted, o.code)
		assert.Contains(t, o.stderr, "interrupted: starting nothing new")
		assert.Equal(t, []string{"d00", "d01"}, h.started())
		for _, n := range []string{"d00", "d01"} {
			assert.Equal(t, "cancelled", summaryRow(t, o.stdout, n)[0])
			if runner == "cli" {
				assert.Equal(t, "SIGTERM", h.calls()[n].Signal)
			}
		}
		if runner == "batch" {
			// After the grace period the runners' process groups are killed, builds
			// included; nothing is retried through the CLI.
			assertGone(t, h, "d00", "d01")
			assert.NotContains(t, o.stderr, "with the prefect CLI")
		}
		for _, n := range []string{"d02", "d03", "d04"} {
			assert.Equal(t, []string{"not", "started", "-", "-"}, summaryRow(t, o.stdout, n))
		}
		assert.Contains(t, o.stdout, "5 deployment(s), 2 cancelled, 3 not started")
	})
}

// TestSignalToTheBinary sends SIGTERM to a real prefect-deploy process: the running
// build that finishes within the grace period succeeds, the hung one is stopped, the
// rest never start.
func TestSignalToTheBinary(t *testing.T) {
	forRunners(t, func(t *testing.T, runner string) {
		h := newRunnerHarness(t, runner, "FAKE_PREFECT_HANG=d01")
		file := writeDeployments(t, h.dir, 4)
		cmd := exec.Command(cliBin, "apply", "--prefect", fakeBin, "--runner", runner, "--concurrency", "2", "--grace", "1s", file)
		cmd.Env = append(h.env, "FAKE_PREFECT_DELAY=600ms")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Start())
		waitForStarts(t, h, 2)
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		err := cmd.Wait()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		assert.Equal(t, deploycli.ExitInterrupted, ee.ExitCode())
		out := stdout.String()
		assert.Equal(t, "succeeded", summaryRow(t, out, "d00")[0], out)
		assert.Equal(t, "cancelled", summaryRow(t, out, "d01")[0], out)
		assert.Equal(t, []string{"not", "started", "-", "-"}, summaryRow(t, out, "d02"))
		assert.Equal(t, []string{"not", "started", "-", "-"}, summaryRow(t, out, "d03"))
		assert.Equal(t, []string{"d00", "d01"}, h.started())
		assert.Contains(t, stderr.String(), "interrupted")
		if runner == "batch" {
			assert.Len(t, h.batchJobs(), 2, "both ran in the batch runner")
			assertGone(t, h, "d01")
		}
	})
}

func TestPlanPastesIntoAShell(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	for _, file := range []string{"hostile.yaml", "prefect-deployments-dev.yaml"} {
		t.Run(file, func(t *testing.T) {
			var env []string
			if file == "hostile.yaml" {
				env = []string{"--env", "test"}
			}
			h := newHarness(t)
			code, plan, stderr := h.run(context.Background(), append(append([]string{"script"}, env...), h.file(file))...)
			require.Equal(t, deploycli.ExitOK, code, stderr)

			// run the pasted plan with sh; the fake logs the argv it received
			sh := exec.Command("sh", "-e", "-c", plan)
			sh.Env = h.env
			out, err := sh.CombinedOutput()
			require.NoError(t, err, "%s", out)
			pasted := h.calls()
			require.NotEmpty(t, pasted)

			// the same file applied directly: identical argv except the output directory
			h2 := newHarness(t)
			code, _, stderr = h2.run(context.Background(), append(append([]string{"apply"}, env...), h2.file(file))...)
			require.Equal(t, deploycli.ExitOK, code, stderr)
			direct := h2.calls()
			require.Equal(t, keys(direct), keys(pasted))
			for name := range direct {
				assert.Contains(t, tagsOf(pasted[name].Argv), "managed-by:prefect-flows:"+testOwner+":"+map[bool]string{true: "test", false: "dev"}[env != nil], "plan shows the marked commands")
				a, b := direct[name].Argv, pasted[name].Argv
				require.Equal(t, len(a), len(b))
				assert.Equal(t, a[:len(a)-1], b[:len(b)-1], name)
				assert.Equal(t, filepath.Base(a[len(a)-1]), filepath.Base(b[len(b)-1]))
			}
		})
	}
}

// TestExampleFilesApply applies the repository's own deployments files against the
// fake, from the repository root, as the pipeline does.
func TestExampleFilesApply(t *testing.T) {
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(root, "go.mod"))
	for _, name := range []string{"prefect-deployments-dev.yaml", "prefect-deployments-prod.yaml"} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			code, stdout, stderr := h.run(context.Background(), "apply", "--workdir", root, filepath.Join(root, name))
			require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			calls := h.calls()
			require.NotEmpty(t, calls)
			for n, c := range calls {
				assert.Equal(t, root, c.Cwd, n)
				assert.Equal(t, 0, c.Exit, n)
			}
		})
	}
}

// --only is the selection rule of ci/spec (selecttest's table, the one DEPLOY_ONLY is
// held to in ci/pipeline): script prints one build per deployment kept, in file order.
func TestOnlyFollowsTheSelectionTable(t *testing.T) {
	f, err := spec.Load(selecttest.File(), spec.LoadOptions{RepoRoot: selecttest.Dir()})
	require.NoError(t, err)
	for _, tc := range selecttest.Cases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			args := []string{"script", "--owner", testOwner}
			for _, p := range tc.Patterns {
				args = append(args, "--only", p)
			}
			var stdout, stderr bytes.Buffer
			code := deploycli.Main(context.Background(), append(args, selecttest.File()), &stdout, &stderr, nil)
			if len(tc.Error) > 0 {
				require.Equal(t, deploycli.ExitUsage, code, stderr.String())
				// The error follows the flag's name, then the rest of ci/spec's words.
				assert.Contains(t, stderr.String(), "--only "+tc.Error[0])
				for _, want := range tc.Error {
					assert.Contains(t, stderr.String(), want)
				}
				assert.Empty(t, stdout.String())
				return
			}
			require.Equal(t, deploycli.ExitOK, code, stderr.String())
			var kept []string
			for _, line := range strings.Split(stdout.String(), "\n") {
				for _, d := range f.Deployments {
					if strings.HasPrefix(line, "prefect deployment build ") && strings.Contains(line, " -n "+deploycli.ShellQuote(d.Name)+" ") {
						kept = append(kept, d.Name)
					}
				}
			}
			assert.Equal(t, tc.Kept, kept)
		})
	}
}
