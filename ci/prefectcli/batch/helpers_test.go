package batch_test

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/internal/shareddata"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/prefectcli/batch"
)

// env describes one test's runner processes: the stub package on PYTHONPATH and a
// folder where the stub records every job it runs.
type env struct {
	Python    string
	Workdir   string
	RecordDir string
	Vars      []string
}

func newEnv(t testing.TB, extra ...string) env {
	t.Helper()
	stub, err := filepath.Abs("testdata/stub")
	require.NoError(t, err)
	e := env{Python: python(t), Workdir: t.TempDir(), RecordDir: t.TempDir()}
	// testdata/bin/prefect starts with "#!/usr/bin/env python3": let that find the
	// interpreter itself rather than a slow shim.
	bin := t.TempDir()
	require.NoError(t, os.Symlink(e.Python, filepath.Join(bin, "python3")))
	e.Vars = append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"PYTHONPATH="+stub,
		"PYTHONDONTWRITEBYTECODE=1",
		"STUB_RECORD_DIR="+e.RecordDir,
		"STUB_IMPORT_SECONDS=0",
		"STUB_JOB_SECONDS=0",
	)
	e.Vars = append(e.Vars, extra...)
	return e
}

func (e env) options(processes int, fallback prefectcli.Runner) batch.Options {
	return batch.Options{Processes: processes, Python: e.Python, Env: e.Vars, Workdir: e.Workdir, Fallback: fallback}
}

var (
	pythonOnce sync.Once
	pythonPath string
	pythonErr  error
)

// python is the interpreter itself: a version manager's python3 shim (pyenv) costs
// several hundred milliseconds per process, which would blur the tests and benchmarks.
func python(t testing.TB) string {
	t.Helper()
	pythonOnce.Do(func() {
		var out []byte
		out, pythonErr = exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
		pythonPath = strings.TrimSpace(string(out))
	})
	if pythonErr != nil || pythonPath == "" {
		t.Fatalf("python3 is needed to test the batch runner: %v", pythonErr)
	}
	return pythonPath
}

// cliRunner is the plain CLI runner over the fake `prefect` executable, which runs
// the same stub once per process.
func (e env) cliRunner(t testing.TB) *prefectcli.ExecRunner {
	t.Helper()
	bin, err := filepath.Abs("testdata/bin/prefect")
	require.NoError(t, err)
	return &prefectcli.ExecRunner{Prefect: bin, Workdir: e.Workdir, Env: e.Vars}
}

func newRunner(t testing.TB, opt batch.Options) *batch.Runner {
	t.Helper()
	r, err := batch.New(opt)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, r.Close()) })
	return r
}

// record is what the stub wrote for one job it ran.
type record struct {
	PID      int      `json:"pid"`
	Argv     []string `json:"argv"`
	ArgvB64  []string `json:"argv_b64"`
	Cwd      string   `json:"cwd"`
	LeakEnv  *string  `json:"leak_env"`
	SysArgv  []string `json:"sys_argv"`
	PathLeak bool     `json:"path_leak"`
}

// name is the value of -n in the recorded argv.
func (r record) name() string {
	for i := 0; i+1 < len(r.Argv); i++ {
		if r.Argv[i] == "-n" {
			return r.Argv[i+1]
		}
	}
	return ""
}

// argvBytes is the argv exactly as the stub's process received it.
func (r record) argvBytes(t testing.TB) []string {
	t.Helper()
	out := make([]string, len(r.ArgvB64))
	for i, a := range r.ArgvB64 {
		b, err := base64.StdEncoding.DecodeString(a)
		require.NoError(t, err)
		out[i] = string(b)
	}
	return out
}

func readRecords(t testing.TB, dir string) []record {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	require.NoError(t, err)
	var out []record
	for _, f := range files {
		fh, err := os.Open(f)
		require.NoError(t, err)
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var r record
			require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "record in %s", f)
			out = append(out, r)
		}
		require.NoError(t, sc.Err())
		require.NoError(t, fh.Close())
	}
	return out
}

func pidsOf(recs []record) []int {
	seen := map[int]bool{}
	var pids []int
	for _, r := range recs {
		if !seen[r.PID] {
			seen[r.PID] = true
			pids = append(pids, r.PID)
		}
	}
	sort.Ints(pids)
	return pids
}

// build is a `deployment build` job for the stub's flow function fn.
func build(name, fn string, extra ...string) prefectcli.Job {
	args := append([]string{"deployment", "build", "flows/hello.py:" + fn, "-n", name, "-a", "--skip-upload"}, extra...)
	return prefectcli.Job{Name: name, Args: args}
}

// stubID is the deployment id the stub prints for a name.
func stubID(name string) string {
	sum := md5.Sum([]byte(name))
	h := hex.EncodeToString(sum[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// runAll runs every job at once; the runner decides how many really run.
func runAll(ctx context.Context, r prefectcli.Runner, jobs []prefectcli.Job) []prefectcli.Result {
	out := make([]prefectcli.Result, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = r.Run(ctx, j)
		}()
	}
	wg.Wait()
	return out
}

// fakeFallback stands in for the CLI runner and remembers what it was asked to run.
type fakeFallback struct {
	mu   sync.Mutex
	jobs []prefectcli.Job
}

func (f *fakeFallback) Run(ctx context.Context, job prefectcli.Job) prefectcli.Result {
	f.mu.Lock()
	f.jobs = append(f.jobs, prefectcli.Job{Name: job.Name, Args: append([]string(nil), job.Args...)})
	f.mu.Unlock()
	return prefectcli.Result{Name: job.Name, Status: prefectcli.StatusSucceeded, Stdout: "ran by the fallback"}
}

func (f *fakeFallback) calls() []prefectcli.Job {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]prefectcli.Job(nil), f.jobs...)
}

// sharedDir is the shared data folder (see ci/internal/shareddata).
func sharedDir(t testing.TB) string {
	t.Helper()
	dir, err := shareddata.Dir()
	require.NoError(t, err)
	return dir
}
