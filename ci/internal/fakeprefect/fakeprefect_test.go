package fakeprefect_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/internal/fakeprefect"
)

var fakeBin string

func TestMain(m *testing.M) { fakeprefect.RunTests(m, &fakeBin) }

type recordedCase struct {
	Case     string   `json:"case"`
	Argv     []string `json:"argv"`
	ExitCode int      `json:"exit_code"`
	Stdout   string   `json:"stdout"`
	Stderr   string   `json:"stderr"`
}

// copyRepo copies testdata/repo so that default output files land in a temp dir.
func copyRepo(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	require.NoError(t, os.CopyFS(dst, os.DirFS("testdata/repo")))
	return dst
}

func fakeEnv(t *testing.T, extra ...string) []string {
	t.Helper()
	spec, err := fakeprefect.SharedPath("prefect/cli-2.14.json")
	require.NoError(t, err)
	return append([]string{"PATH=" + os.Getenv("PATH"), "FAKE_PREFECT_CLI_SPEC=" + spec}, extra...)
}

var (
	uuidRe = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	pathRe = regexp.MustCompile(`'/[^']*\.yaml'`)
)

func normalise(s string) string {
	s = strings.TrimSuffix(strings.TrimSpace(s), "\n(printed inside a rich box; box characters removed here)")
	s = uuidRe.ReplaceAllString(s, "<id>")
	return pathRe.ReplaceAllString(s, "'<path>'")
}

func firstLast(s string) (string, string) {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[0], lines[len(lines)-1]
}

// TestRecordedCases runs every argv recorded from the real Prefect 2.14 CLI through
// the fake and compares exit code, stdout, and the ends of stderr.
func TestRecordedCases(t *testing.T) {
	replayRecorded(t, "FAKE_PREFECT_POOLS=pool,default-agent-pool", "FAKE_PREFECT_BLOCKS=process/dev")
}

func loadRecordedCases(t *testing.T) []recordedCase {
	t.Helper()
	path, err := fakeprefect.SharedPath("prefect/recorded/cli-cases.json")
	require.NoError(t, err)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var cases []recordedCase
	require.NoError(t, json.Unmarshal(data, &cases))
	require.NotEmpty(t, cases)
	return cases
}

func replayRecorded(t *testing.T, env ...string) {
	cases := loadRecordedCases(t)

	// Go's JSON decoder words its syntax errors differently from Python's.
	pythonOnlyLastLine := map[string]bool{"bad_params_json": true}

	for _, c := range cases {
		t.Run(c.Case, func(t *testing.T) {
			dir := copyRepo(t)
			cmd := exec.Command(fakeBin, c.Argv[1:]...)
			cmd.Dir = dir
			cmd.Env = fakeEnv(t, env...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, c.ExitCode, code, "exit code; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			assert.Equal(t, normalise(c.Stdout), normalise(stdout.String()), "stdout")
			if c.Stderr == "" {
				assert.Empty(t, stderr.String(), "stderr")
				return
			}
			wantFirst, wantLast := firstLast(normalise(c.Stderr))
			gotFirst, gotLast := firstLast(normalise(stderr.String()))
			assert.Equal(t, wantFirst, gotFirst, "stderr first line")
			if c.ExitCode == 2 {
				// usage errors: the whole (unboxed) text is comparable
				assert.Equal(t, normalise(c.Stderr), normalise(stderr.String()), "stderr")
			} else if !pythonOnlyLastLine[c.Case] {
				assert.Equal(t, wantLast, gotLast, "stderr last line")
			}
		})
	}
}

func TestIDIsStablePerFlowAndName(t *testing.T) {
	a := fakeprefect.DeploymentID("hello", "dev")
	assert.Equal(t, a, fakeprefect.DeploymentID("hello", "dev"))
	assert.NotEqual(t, a, fakeprefect.DeploymentID("hello", "prod"))
	assert.Regexp(t, uuidRe, a)
}

func runFake(t *testing.T, dir string, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(fakeBin, args...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), stdout.String(), stderr.String()
	}
	require.NoError(t, err)
	return 0, stdout.String(), stderr.String()
}

func TestBehaviour(t *testing.T) {
	base := []string{"deployment", "build", "flows/hello.py:hello", "-n", "d1", "-a", "--skip-upload", "-ib", "process/dev"}
	with := func(extra ...string) []string { return append(append([]string{}, base...), extra...) }
	cases := []struct {
		name     string
		args     []string
		env      []string
		exit     int
		stdout   string // substring
		stderr   string // substring
		fileMade string
	}{
		{name: "named flow", args: []string{"deployment", "build", "flows/named.py:daily_sales", "-n", "x", "-a", "-ib", "process/dev", "-o", "out/x.yaml"},
			stdout: "Deployment 'Daily Sales/x' successfully created", fileMade: "out/x.yaml"},
		{name: "helper is no flow", args: []string{"deployment", "build", "flows/named.py:helper", "-n", "x"}, exit: 1,
			stdout: "Function with name 'helper' is not a flow."},
		{name: "output suffix", args: with("-o", "x.yml"), exit: 1, stdout: "Output file must be a '.yaml' file."},
		{name: "output without suffix gets .yaml", args: with("-o", "plain"), fileMade: "plain.yaml", stdout: "successfully created"},
		{name: "no-schedule with cron", args: with("--no-schedule", "--cron", "0 * * * *"), exit: 1, stdout: "Only one schedule type can be provided."},
		{name: "param and params", args: with("--param", "a=1", "--params", `{"a":1}`), exit: 1, stdout: "Can only pass one of `param` or `params` options"},
		{name: "infra conflict", args: with("-i", "process"), exit: 1, stdout: "Only one of `infra` or `infra_block`"},
		{name: "flag with value", args: with("--skip-upload=yes"), exit: 2, stderr: "Option '--skip-upload' does not take a value."},
		{name: "missing value", args: with("-v"), exit: 2, stderr: "Option '-v' requires an argument."},
		{name: "missing entrypoint", args: []string{"deployment", "build", "-n", "x"}, exit: 2, stderr: "Missing argument 'ENTRYPOINT'."},
		{name: "extra argument", args: with("again.py:x"), exit: 2, stderr: "Got unexpected extra argument (again.py:x)"},
		{name: "typo suggestion", args: with("--tags", "x"), exit: 2, stderr: "No such option: --tags Did you mean --tag?"},
		{name: "override without =", args: with("--override", "cpu"), exit: 1, stdout: "An exception occurred."},
		{name: "interval zero is no schedule", args: with("--interval", "0"), stdout: "successfully created"},
		{name: "non-multiple twice: last wins", args: with("-v", "1", "-v", "2"), stdout: "successfully created"},
		{name: "forced failure", args: base, env: []string{"FAKE_PREFECT_FAIL=d*"}, exit: 1, stderr: "500 Internal Server Error"},
		{name: "unknown block", args: base, env: []string{"FAKE_PREFECT_BLOCKS=ecs-task/dev"}, exit: 1, stderr: "Unable to find block document named dev for block type process"},
		{name: "wrapped id", args: base, env: []string{"COLUMNS=80"}, stdout: "successfully created with id \n'"},
		{name: "register", args: []string{"block", "register", "-m", "prefect_aws.ecs"}, stdout: "Successfully registered 2 blocks"},
		{name: "register both", args: []string{"block", "register", "-m", "prefect_aws.ecs", "-f", "x.py"}, exit: 1, stdout: "but not both"},
		{name: "register unknown", args: []string{"block", "register", "-m", "nope"}, exit: 1, stdout: "Unable to load nope."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyRepo(t)
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "out"), 0o755))
			code, stdout, stderr := runFake(t, dir, fakeEnv(t, c.env...), c.args...)
			assert.Equal(t, c.exit, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			assert.Contains(t, stdout, c.stdout)
			assert.Contains(t, stderr, c.stderr)
			if c.fileMade != "" {
				assert.FileExists(t, filepath.Join(dir, c.fileMade))
			}
		})
	}
}

func TestLogRecordsCallsWithoutEnvValues(t *testing.T) {
	dir := copyRepo(t)
	logFile := filepath.Join(t.TempDir(), "calls.jsonl")
	args := []string{"deployment", "build", "flows/hello.py:hello", "-n", "q'\"$`x", "-a", "-ib", "process/dev", "-o", "o.yaml"}
	code, _, stderr := runFake(t, dir, fakeEnv(t, "FAKE_PREFECT_LOG="+logFile, "PREFECT_API_KEY=s3cr3t"), args...)
	require.Equal(t, 0, code, stderr)
	recs, err := fakeprefect.ReadLog(logFile)
	require.NoError(t, err)
	require.Len(t, recs, 2)
	assert.Equal(t, "start", recs[0].Event)
	assert.Equal(t, "end", recs[1].Event)
	assert.Equal(t, args, recs[1].Argv)
	assert.Equal(t, dir, recs[1].Cwd)
	assert.Contains(t, recs[1].Env, "PREFECT_API_KEY")
	raw, err := os.ReadFile(logFile)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "s3cr3t")
}

func TestConcurrentBuildsOfOneOutputFileCollide(t *testing.T) {
	dir := copyRepo(t)
	env := fakeEnv(t)
	args := []string{"deployment", "build", "flows/hello.py:hello", "-n", "x", "-a", "-ib", "process/dev"}
	// The first build holds hello-deployment.yaml until it is stopped, so the second
	// meets it however slowly either starts.
	a := exec.Command(fakeBin, args...)
	a.Dir, a.Env = dir, fakeEnv(t, "FAKE_PREFECT_HANG=x")
	require.NoError(t, a.Start())
	t.Cleanup(func() { _ = a.Process.Kill() })
	lock := filepath.Join(dir, "hello-deployment.yaml.fake-prefect-lock")
	for i := 0; i < 500; i++ {
		if _, err := os.Stat(lock); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.FileExists(t, lock)

	b := exec.Command(fakeBin, args...)
	b.Dir, b.Env = dir, env
	var out strings.Builder
	b.Stderr = &out
	assert.Error(t, b.Run())
	assert.Contains(t, out.String(), "being written by another build")

	require.NoError(t, a.Process.Signal(syscall.SIGTERM))
	assert.Error(t, a.Wait(), "the held build was stopped")
	assert.NoFileExists(t, lock, "a stopped build releases the output file")
	c := exec.Command(fakeBin, args...)
	c.Dir, c.Env = dir, env
	outC, err := c.CombinedOutput()
	assert.NoError(t, err, "once the first build is gone the file is free:\n%s", outC)
}
