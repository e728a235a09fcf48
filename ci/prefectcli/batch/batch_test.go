package batch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/prefectcli/batch"
)

type recordedCase struct {
	Case     string   `json:"case"`
	Argv     []string `json:"argv"`
	ExitCode int      `json:"exit_code"`
	Stdout   string   `json:"stdout"`
	Stderr   string   `json:"stderr"`
}

type exitCase struct {
	Recorded    string   `json:"recorded"`
	Name        string   `json:"name"`
	Args        []string `json:"args"`
	ExitCode    int      `json:"exit_code"`
	Stdout      *string  `json:"stdout"`
	Stderr      *string  `json:"stderr"`
	StderrFirst string   `json:"stderr_first"`
	StderrLast  string   `json:"stderr_last"`
}

var (
	yamlPath = regexp.MustCompile(`created at '[^']*'`)
	idValue  = regexp.MustCompile(`with id '[^']*'`)
)

func normalStdout(s string) string {
	s = yamlPath.ReplaceAllString(s, "created at '<path>'")
	s = idValue.ReplaceAllString(s, "with id '<id>'")
	return strings.TrimSpace(s)
}

// stderrLines drops blank lines and the recorder's note about the rich box.
func stderrLines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "(printed inside a rich box") {
			continue
		}
		out = append(out, l)
	}
	return out
}

func loadExitCases(t *testing.T) []exitCase {
	var recorded []recordedCase
	raw, err := os.ReadFile(filepath.Join(sharedDir(t), "prefect", "recorded", "cli-cases.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &recorded))
	byName := map[string]recordedCase{}
	for _, c := range recorded {
		byName[c.Case] = c
	}

	var cases []exitCase
	raw, err = os.ReadFile("testdata/exit_codes.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &cases))
	for i, c := range cases {
		if c.Recorded == "" {
			continue
		}
		rc, ok := byName[c.Recorded]
		require.True(t, ok, "no recorded case %q", c.Recorded)
		out, errText := normalStdout(rc.Stdout), rc.Stderr
		c.Name, c.Args, c.ExitCode, c.Stdout = rc.Case, rc.Argv[1:], rc.ExitCode, &out
		if strings.HasPrefix(errText, "Traceback") {
			lines := stderrLines(errText)
			c.StderrFirst, c.StderrLast = lines[0], lines[len(lines)-1]
		} else {
			c.Stderr = &errText
		}
		cases[i] = c
	}
	return cases
}

// The runner must report what the real CLI reports for the same argv: the exit code
// returned or raised, stdout and stderr. The stub answers like the recordings.
func TestExitCodesAndOutputLikeTheCLI(t *testing.T) {
	cases := loadExitCases(t)
	e := newEnv(t)
	r := newRunner(t, e.options(2, nil))

	jobs := make([]prefectcli.Job, len(cases))
	for i, c := range cases {
		jobs[i] = prefectcli.Job{Name: c.Name, Args: c.Args}
	}
	results := runAll(context.Background(), r, jobs)

	for i, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			res := results[i]
			assert.Equal(t, c.Name, res.Name)
			assert.NoError(t, res.Err)
			assert.Equal(t, c.ExitCode, res.ExitCode)
			if c.ExitCode == 0 {
				assert.Equal(t, prefectcli.StatusSucceeded, res.Status)
				assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`, res.DeploymentID)
			} else {
				assert.Equal(t, prefectcli.StatusFailed, res.Status)
				assert.Empty(t, res.DeploymentID)
			}
			if c.Stdout != nil {
				assert.Equal(t, *c.Stdout, normalStdout(res.Stdout))
			}
			if c.Stderr != nil {
				assert.Equal(t, stderrLines(*c.Stderr), stderrLines(res.Stderr))
			}
			lines := stderrLines(res.Stderr)
			if c.StderrFirst != "" {
				require.NotEmpty(t, lines)
				assert.Equal(t, c.StderrFirst, lines[0])
			}
			if c.StderrLast != "" {
				require.NotEmpty(t, lines)
				assert.Equal(t, c.StderrLast, lines[len(lines)-1])
			}
		})
	}
}

func TestResultsMapToTheirJobs(t *testing.T) {
	e := newEnv(t, "STUB_JOB_SECONDS=0.01")
	r := newRunner(t, e.options(3, nil))
	var jobs []prefectcli.Job
	for i := 0; i < 40; i++ {
		fn := "hello"
		if i%7 == 3 {
			fn = "nope"
		}
		jobs = append(jobs, build(fmt.Sprintf("dep-%02d", i), fn))
	}
	results := runAll(context.Background(), r, jobs)
	for i, res := range results {
		j := jobs[i]
		require.Equal(t, j.Name, res.Name)
		if strings.HasSuffix(j.Args[2], ":nope") {
			assert.Equal(t, 1, res.ExitCode, j.Name)
			assert.Empty(t, res.DeploymentID, j.Name)
			continue
		}
		assert.Equal(t, 0, res.ExitCode, j.Name)
		assert.Equal(t, stubID(j.Name), res.DeploymentID, j.Name)
		assert.Contains(t, res.Stdout, "Deployment 'hello/"+j.Name+"' successfully created", j.Name)
	}
}

// Noisy jobs interleaved over two processes, log records from a handler built during
// an earlier job, once-per-place warnings, and a job that changes the process: none
// of it may show up in, or change, another job.
func TestOutputIsolatedPerJob(t *testing.T) {
	const lines = 500
	e := newEnv(t, fmt.Sprintf("STUB_NOISY_LINES=%d", lines))
	r := newRunner(t, e.options(2, nil))
	var jobs []prefectcli.Job
	for i := 0; i < 6; i++ {
		jobs = append(jobs, build(fmt.Sprintf("noisy%d", i), "noisy"))
		jobs = append(jobs, build(fmt.Sprintf("log%d", i), "logwarn"))
		jobs = append(jobs, build(fmt.Sprintf("warn%d", i), "warn"))
	}
	results := runAll(context.Background(), r, jobs)

	for i, res := range results {
		name := jobs[i].Name
		require.Equal(t, 0, res.ExitCode, "%s: %s", name, res.Stderr)
		switch {
		case strings.HasPrefix(name, "noisy"):
			var outN, errN int
			for _, l := range strings.Split(res.Stdout, "\n") {
				if strings.Contains(l, " out ") {
					require.True(t, strings.HasPrefix(l, name+" out "), "%s got %q", name, l)
					outN++
				}
			}
			for _, l := range strings.Split(strings.TrimSpace(res.Stderr), "\n") {
				require.True(t, strings.HasPrefix(l, name+" err "), "%s got %q", name, l)
				errN++
			}
			assert.Equal(t, lines, outN, name)
			assert.Equal(t, lines, errN, name)
		case strings.HasPrefix(name, "log"):
			assert.Equal(t, "warning from "+name, strings.TrimSpace(res.Stderr), name)
		case strings.HasPrefix(name, "warn"):
			assert.Contains(t, res.Stderr, "UserWarning: stub warning from "+name, name)
			assert.Equal(t, 1, strings.Count(res.Stderr, "UserWarning: stub warning from"), name)
		}
	}
}

func TestAJobCannotChangeTheProcessForTheNext(t *testing.T) {
	e := newEnv(t)
	r := newRunner(t, e.options(1, nil))
	ctx := context.Background()
	leak := r.Run(ctx, build("leaky", "leak"))
	require.Equal(t, 0, leak.ExitCode, leak.Stderr)
	next := r.Run(ctx, build("after", "warn"))
	require.Equal(t, 0, next.ExitCode, next.Stderr)
	// The leak job turned warnings off; the next job must still get its warning.
	assert.Contains(t, next.Stderr, "UserWarning: stub warning from after")

	var after *record
	for _, rec := range readRecords(t, e.RecordDir) {
		if rec.name() == "after" {
			after = &rec
		}
	}
	require.NotNil(t, after)
	workdir, err := filepath.EvalSymlinks(e.Workdir)
	require.NoError(t, err)
	assert.Equal(t, workdir, after.Cwd)
	assert.Nil(t, after.LeakEnv)
	assert.False(t, after.PathLeak)
	assert.Equal(t, append([]string{"prefect"}, build("after", "warn").Args...), after.SysArgv)
	assert.Contains(t, next.Stdout, "created at '"+filepath.Join(workdir, "warn-deployment.yaml")+"'")
}

func TestCrashMidJobRetriesThatJobThroughTheFallback(t *testing.T) {
	e := newEnv(t, "STUB_JOB_SECONDS=0.02")
	fb := &fakeFallback{}
	opt := e.options(2, fb)
	var retried []string
	var mu sync.Mutex
	opt.OnRetry = func(job prefectcli.Job, reason error) {
		mu.Lock()
		defer mu.Unlock()
		retried = append(retried, job.Name+": "+reason.Error())
	}
	r := newRunner(t, opt)

	var jobs []prefectcli.Job
	for i := 0; i < 8; i++ {
		jobs = append(jobs, build(fmt.Sprintf("ok%d", i), "hello"))
	}
	crash := build("boom", "crash")
	jobs = append(jobs[:4], append([]prefectcli.Job{crash}, jobs[4:]...)...)
	results := runAll(context.Background(), r, jobs)

	require.Len(t, fb.calls(), 1)
	assert.Equal(t, crash, fb.calls()[0], "the crashed job is retried once, with the same argv")
	require.Len(t, retried, 1)
	assert.Contains(t, retried[0], "boom: runner process died during the job")
	for i, res := range results {
		if jobs[i].Name == "boom" {
			assert.Equal(t, "ran by the fallback", res.Stdout)
			assert.Equal(t, prefectcli.StatusSucceeded, res.Status)
			continue
		}
		assert.Equal(t, 0, res.ExitCode, jobs[i].Name)
		assert.Equal(t, stubID(jobs[i].Name), res.DeploymentID, jobs[i].Name)
	}

	// The pool keeps working: the crashed process was replaced.
	more := runAll(context.Background(), r, []prefectcli.Job{build("later1", "hello"), build("later2", "hello"), build("later3", "hello")})
	for _, res := range more {
		assert.Equal(t, 0, res.ExitCode, res.Name)
		assert.Equal(t, stubID(res.Name), res.DeploymentID)
	}
	assert.Len(t, fb.calls(), 1)
}

func TestCrashWithoutFallbackFailsOnlyThatJob(t *testing.T) {
	e := newEnv(t)
	r := newRunner(t, e.options(1, nil))
	res := r.Run(context.Background(), build("boom", "crash"))
	assert.Equal(t, prefectcli.StatusFailed, res.Status)
	require.Error(t, res.Err)
	assert.Contains(t, res.Err.Error(), "exit status 3")
	assert.Contains(t, res.Err.Error(), "no CLI fallback configured")
	ok := r.Run(context.Background(), build("fine", "hello"))
	assert.Equal(t, prefectcli.StatusSucceeded, ok.Status)
}

func TestStuckRunnerIsKilledAndItsJobRetried(t *testing.T) {
	e := newEnv(t)
	fb := &fakeFallback{}
	opt := e.options(1, fb)
	opt.AnswerTimeout = 500 * time.Millisecond
	r := newRunner(t, opt)
	res := r.Run(context.Background(), build("stuck", "hang"))
	assert.Equal(t, "ran by the fallback", res.Stdout)
	require.Len(t, fb.calls(), 1)
	assert.Equal(t, "stuck", fb.calls()[0].Name)
	pid := pidsOf(readRecords(t, e.RecordDir))
	require.Len(t, pid, 1)
	assert.True(t, gone(pid[0]), "the stuck process is killed")

	ok := r.Run(context.Background(), build("fine", "hello"))
	assert.Equal(t, prefectcli.StatusSucceeded, ok.Status)
}

func TestImportFailureSendsEveryJobToTheFallback(t *testing.T) {
	e := newEnv(t)
	broken := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(broken, "prefect"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(broken, "prefect", "__init__.py"), []byte("raise ImportError('no pydantic here')\n"), 0o644))
	e.Vars = append(e.Vars, "PYTHONPATH="+broken)
	fb := &fakeFallback{}
	opt := e.options(2, fb)
	var reasons []error
	var mu sync.Mutex
	opt.OnRetry = func(_ prefectcli.Job, reason error) {
		mu.Lock()
		reasons = append(reasons, reason)
		mu.Unlock()
	}
	r := newRunner(t, opt)
	jobs := []prefectcli.Job{build("a", "hello"), build("b", "hello"), build("c", "hello")}
	for _, j := range jobs {
		res := r.Run(context.Background(), j)
		assert.Equal(t, "ran by the fallback", res.Stdout)
	}
	assert.Len(t, fb.calls(), 3)
	require.Len(t, reasons, 3)
	var ie *batch.ImportError
	for _, err := range reasons {
		require.True(t, errors.As(err, &ie), err.Error())
		assert.Contains(t, ie.Traceback, "no pydantic here")
	}
}

// An interrupt stops the running jobs, kills their processes and starts nothing
// new; jobs still waiting for a process are reported as not started.
func TestInterrupt(t *testing.T) {
	before := runtime.NumGoroutine()
	e := newEnv(t)
	r, err := batch.New(e.options(2, &fakeFallback{}))
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	jobs := []prefectcli.Job{build("hang1", "hang"), build("hang2", "hang"), build("q1", "hello"), build("q2", "hello")}
	results := make([]prefectcli.Result, len(jobs))
	var wg sync.WaitGroup
	run := func(i int) {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = r.Run(ctx, jobs[i]) }()
	}
	// The hanging jobs hold both processes; the others queue behind them.
	run(0)
	run(1)
	waitFor(t, func() bool { return len(readRecords(t, e.RecordDir)) == 2 })
	run(2)
	run(3)
	cancel()
	wg.Wait()

	for _, res := range results[:2] {
		assert.Equal(t, prefectcli.StatusCancelled, res.Status, res.Name)
		assert.ErrorIs(t, res.Err, context.Canceled)
	}
	for _, res := range results[2:] {
		assert.Equal(t, prefectcli.StatusNotStarted, res.Status, res.Name)
	}
	recs := readRecords(t, e.RecordDir)
	assert.Len(t, recs, 2, "no queued job ran after the interrupt")
	for _, pid := range pidsOf(recs) {
		assert.True(t, gone(pid), "process %d is killed", pid)
	}
	require.NoError(t, r.Close())
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before })
}

func TestJobTimeoutIsReportedAsTimedOut(t *testing.T) {
	e := newEnv(t)
	fb := &fakeFallback{}
	r := newRunner(t, e.options(1, fb))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res := r.Run(ctx, build("slow", "hang"))
	assert.Equal(t, prefectcli.StatusTimedOut, res.Status)
	assert.ErrorIs(t, res.Err, context.DeadlineExceeded)
	assert.Empty(t, fb.calls(), "a job's own timeout is not a broken runner")
	ok := r.Run(context.Background(), build("next", "hello"))
	assert.Equal(t, prefectcli.StatusSucceeded, ok.Status)
}

func TestConcurrencyBounded(t *testing.T) {
	e := newEnv(t, "STUB_JOB_SECONDS=0.05")
	r := newRunner(t, e.options(2, nil))
	var jobs []prefectcli.Job
	for i := 0; i < 12; i++ {
		jobs = append(jobs, build(fmt.Sprintf("c%d", i), "hello"))
	}
	for _, res := range runAll(context.Background(), r, jobs) {
		require.Equal(t, 0, res.ExitCode, res.Stderr)
	}
	recs := readRecords(t, e.RecordDir)
	assert.Len(t, recs, 12)
	assert.Len(t, pidsOf(recs), 2, "12 jobs shared the 2 processes")
}

func TestClosedRunnerRunsNothing(t *testing.T) {
	e := newEnv(t)
	r, err := batch.New(e.options(1, &fakeFallback{}))
	require.NoError(t, err)
	require.Equal(t, prefectcli.StatusSucceeded, r.Run(context.Background(), build("a", "hello")).Status)
	pids := pidsOf(readRecords(t, e.RecordDir))
	require.NoError(t, r.Close())
	require.Len(t, pids, 1)
	assert.True(t, gone(pids[0]))
	res := r.Run(context.Background(), build("b", "hello"))
	assert.Equal(t, prefectcli.StatusCancelled, res.Status)
	assert.Len(t, readRecords(t, e.RecordDir), 1)
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A job that prints megabytes travels as one long result line; what is kept of it is
// the end, marked like the CLI runner marks it, and the next job is unaffected.
func TestFloodOfOutput(t *testing.T) {
	e := newEnv(t, "STUB_NOISY_LINES=100000")
	opt := e.options(1, nil)
	opt.MaxOutput = 64 << 10
	r := newRunner(t, opt)
	res := r.Run(context.Background(), build("flood", "noisy"))
	require.Equal(t, prefectcli.StatusSucceeded, res.Status, res.Stderr)
	assert.Regexp(t, `^\[\.\.\. \d+ bytes dropped \.\.\.\]\n`, res.Stdout)
	assert.Contains(t, res.Stdout, "Deployment 'noisy/flood' successfully created")
	assert.True(t, strings.HasSuffix(res.Stderr, "flood err 99999\n"))
	assert.LessOrEqual(t, len(res.Stderr), 64<<10+64)
	next := r.Run(context.Background(), build("after", "hello"))
	assert.Equal(t, stubID("after"), next.DeploymentID)
	assert.NotContains(t, next.Stdout, "flood")
}

// A process that dies between jobs is replaced; the next job is not blamed for it.
func TestProcessDeadWhileIdleIsReplaced(t *testing.T) {
	e := newEnv(t)
	fb := &fakeFallback{}
	r := newRunner(t, e.options(1, fb))
	require.Equal(t, prefectcli.StatusSucceeded, r.Run(context.Background(), build("first", "hello")).Status)
	pids := pidsOf(readRecords(t, e.RecordDir))
	require.Len(t, pids, 1)
	require.NoError(t, killPID(pids[0]))
	waitFor(t, func() bool { return gone(pids[0]) || zombie(pids[0]) })
	// Its pipes closed as it died; the next job must find it known dead, else the
	// job would be sent to it and the fallback used by the test's own timing.
	waitFor(t, func() bool { return r.ExitedProcesses() == 1 })

	res := r.Run(context.Background(), build("second", "hello"))
	assert.Equal(t, stubID("second"), res.DeploymentID)
	assert.Empty(t, fb.calls())
	assert.Len(t, pidsOf(readRecords(t, e.RecordDir)), 2)
}

func zombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}
