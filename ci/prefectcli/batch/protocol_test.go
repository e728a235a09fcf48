package batch_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/prefectcli/batch"
)

type answer struct {
	ID       *string `json:"id"`
	ExitCode int     `json:"exit_code"`
	Stdout   string  `json:"stdout"`
	Stderr   string  `json:"stderr"`
	Error    string  `json:"error"`
	Ready    *bool   `json:"ready"`
}

func writeScript(t *testing.T) string {
	t.Helper()
	path, err := batch.Program.WriteUnder(t.TempDir())
	require.NoError(t, err)
	return path
}

// runner.py answers every non-blank line, even one it cannot use, so that the
// caller never waits for an answer that will not come.
func TestRunnerPyAnswersEveryLine(t *testing.T) {
	var cases []struct {
		Line     string  `json:"line"`
		Answer   *bool   `json:"answer"`
		ID       *string `json:"id"`
		Error    string  `json:"error"`
		ExitCode int     `json:"exit_code"`
	}
	raw, err := os.ReadFile("testdata/protocol.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &cases))

	e := newEnv(t)
	cmd := exec.Command(e.Python, "-u", writeScript(t))
	cmd.Env, cmd.Dir = e.Vars, e.Workdir
	var input bytes.Buffer
	for _, c := range cases {
		input.WriteString(c.Line + "\n")
	}
	cmd.Stdin = &input
	out, err := cmd.Output()
	require.NoError(t, err)

	sc := bufio.NewScanner(bytes.NewReader(out))
	require.True(t, sc.Scan())
	var ready answer
	require.NoError(t, json.Unmarshal(sc.Bytes(), &ready))
	require.NotNil(t, ready.Ready)
	require.True(t, *ready.Ready)
	for _, c := range cases {
		if c.Answer != nil && !*c.Answer {
			continue
		}
		require.True(t, sc.Scan(), "no answer for %q", c.Line)
		var a answer
		require.NoError(t, json.Unmarshal(sc.Bytes(), &a), sc.Text())
		assert.Equal(t, c.ID, a.ID, c.Line)
		if c.Error != "" {
			assert.Contains(t, a.Error, c.Error, c.Line)
			assert.Equal(t, 2, a.ExitCode, c.Line)
			continue
		}
		assert.Empty(t, a.Error, c.Line)
		assert.Equal(t, c.ExitCode, a.ExitCode, c.Line)
	}
	assert.False(t, sc.Scan(), "unexpected extra output: %s", sc.Text())
}

// In a Dagger exec there is no interactive stdin: the jobs come in a file and the
// results are read from stdout once the exec ends. A crash loses only the jobs from
// the crashed one on, which DecodeResults reports as missing.
func TestJobsFileMode(t *testing.T) {
	e := newEnv(t)
	jobs := []prefectcli.Job{
		build("first", "hello"),
		build("second", "nope"),
		{Name: "usage", Args: []string{"deployment", "build", "flows/hello.py:hello", "-n", "u", "--schedule", "x"}},
		build("bytes\xff\xfe", "hello", "-d", "\xc3\x28 not utf-8"),
		build("boom", "crash"),
		build("never", "hello"),
	}
	data, err := batch.EncodeJobs(jobs)
	require.NoError(t, err)
	jobsFile := filepath.Join(t.TempDir(), "jobs.jsonl")
	require.NoError(t, os.WriteFile(jobsFile, data, 0o644))

	cmd := exec.Command(e.Python, "-u", writeScript(t), "--jobs", jobsFile)
	cmd.Env, cmd.Dir = e.Vars, e.Workdir
	out, err := cmd.Output()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr, "the crash ends the runner")

	results, missing, err := batch.DecodeResults(jobs, out)
	require.NoError(t, err)
	require.Len(t, results, len(jobs))
	assert.Equal(t, []int{4, 5}, missing)
	assert.Equal(t, prefectcli.StatusSucceeded, results[0].Status)
	assert.Equal(t, stubID("first"), results[0].DeploymentID)
	assert.Equal(t, 1, results[1].ExitCode)
	assert.Equal(t, 2, results[2].ExitCode)
	assert.Contains(t, results[2].Stderr, "No such option: --schedule")
	assert.Equal(t, prefectcli.StatusSucceeded, results[3].Status)
	assert.Equal(t, stubID("bytes\xff\xfe"), results[3].DeploymentID, "non-UTF-8 bytes reach Prefect unchanged")
	for _, i := range missing {
		assert.ErrorIs(t, results[i].Err, batch.ErrNoAnswer)
		assert.Equal(t, jobs[i].Name, results[i].Name)
	}
}

// A runner killed while writing a result line leaves it without its newline: that
// job is missing, the complete lines before it stand. The same text with its newline
// is not a runner's output.
func TestDecodeResultsTruncatedLastLine(t *testing.T) {
	jobs := []prefectcli.Job{build("a", "hello"), build("b", "hello")}
	full := `{"ready": true, "pid": 1, "python": "3.11.7"}` + "\n" +
		`{"id": "0", "exit_code": 0, "stdout": "ok\n", "stderr": "", "seconds": 0.1}` + "\n"
	cut := `{"id": "1", "exit_code": 0, "stdout": "Deployment 'x/b' succ`
	results, missing, err := batch.DecodeResults(jobs, []byte(full+cut))
	require.NoError(t, err)
	assert.Equal(t, []int{1}, missing)
	assert.Equal(t, prefectcli.StatusSucceeded, results[0].Status)
	assert.ErrorIs(t, results[1].Err, batch.ErrNoAnswer)

	_, _, err = batch.DecodeResults(jobs, []byte(full+cut+"\n"))
	assert.Error(t, err)
}

func TestDecodeResultsRejectsForeignOutput(t *testing.T) {
	jobs := []prefectcli.Job{build("a", "hello")}
	for _, out := range []string{
		`{"ready": false, "error": "ModuleNotFoundError: No module named 'prefect'"}`,
		"Traceback (most recent call last):",
		`{"id": "9", "exit_code": 0}`,
		`{"id": null, "exit_code": 2, "error": "malformed job line"}`,
	} {
		_, _, err := batch.DecodeResults(jobs, []byte(out+"\n"))
		assert.Error(t, err, out)
	}
	_, err := batch.EncodeJobs([]prefectcli.Job{{Name: "nul", Args: []string{"a\x00b"}}})
	assert.Error(t, err)
}

// goldenArgvs is the one golden argv set of both runners: the CLI runner's golden
// files (ci/prefectcli/testdata/golden), this package's hostile strings, and bytes that
// are not UTF-8.
func goldenArgvs(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	files, err := filepath.Glob("../testdata/golden/*.argv")
	require.NoError(t, err)
	files = append(files, "testdata/hostile.argv")
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var args []string
		dec := json.NewDecoder(bytes.NewReader(raw))
		for dec.More() {
			var a string
			require.NoError(t, dec.Decode(&a), f)
			args = append(args, a)
		}
		out[filepath.Base(f)] = args
	}
	out["not_utf8"] = []string{"deployment", "build", "flows/hello.py:hello", "-n", "raw \xff\xfe bytes", "-d", "\xc3\x28\xa0\xa1 half a rune \xe2\x82"}
	return out
}

// The batch runner hands Prefect exactly the argv the CLI runner would: the stub
// records the bytes each process got, once through runner.py and once as a
// `prefect` process started by prefectcli.ExecRunner.
func TestArgvByteForByteAsTheCLIRunner(t *testing.T) {
	golden := goldenArgvs(t)
	require.GreaterOrEqual(t, len(golden), 3)
	batchEnv, cliEnv := newEnv(t), newEnv(t)
	r := newRunner(t, batchEnv.options(2, nil))
	cli := cliEnv.cliRunner(t)

	var jobs []prefectcli.Job
	for name, args := range golden {
		jobs = append(jobs, prefectcli.Job{Name: name, Args: args})
	}
	ctx := context.Background()
	runAll(ctx, r, jobs)
	runAll(ctx, cli, jobs)

	byArgv := func(recs []record) map[string][]string {
		m := map[string][]string{}
		for _, rec := range recs {
			got := rec.argvBytes(t)
			m[strings.Join(got, "\x00")] = got
		}
		return m
	}
	viaBatch := byArgv(readRecords(t, batchEnv.RecordDir))
	viaCLI := byArgv(readRecords(t, cliEnv.RecordDir))
	for _, j := range jobs {
		key := strings.Join(j.Args, "\x00")
		assert.Equal(t, j.Args, viaBatch[key], "%s: argv through the batch runner", j.Name)
		assert.Equal(t, j.Args, viaCLI[key], "%s: argv through the CLI runner", j.Name)
	}
	assert.Len(t, viaBatch, len(jobs))
	assert.Len(t, viaCLI, len(jobs))
}

// Both runners, driven by prefectcli.Apply over the same stub, give the same results.
func TestSameResultsAsTheCLIRunner(t *testing.T) {
	e := newEnv(t)
	r := newRunner(t, e.options(2, nil))
	jobs := []prefectcli.Job{
		build("valid", "hello", "--cron", "0 0 * * *", "-p", "pool"),
		build("missing", "nope"),
		build("badcron", "hello", "--cron", "61 * * * *"),
		build("usage", "hello", "--interval", "1.5"),
		build("exit7", "sysexit"),
		{Name: "noname", Args: []string{"deployment", "build", "flows/hello.py:hello"}},
		{Name: "nofunc", Args: []string{"deployment", "build", "flows/hello.py", "-n", "x"}},
	}
	opts := prefectcli.ApplyOptions{Concurrency: 2}
	viaBatch := prefectcli.Apply(context.Background(), jobs, r, opts, nil)
	viaCLI := prefectcli.Apply(context.Background(), jobs, e.cliRunner(t), opts, nil)
	for i := range jobs {
		b, c := viaBatch[i], viaCLI[i]
		assert.Equal(t, c.Name, b.Name)
		assert.Equal(t, c.Status, b.Status, jobs[i].Name)
		assert.Equal(t, c.ExitCode, b.ExitCode, jobs[i].Name)
		assert.Equal(t, c.Stdout, b.Stdout, jobs[i].Name)
		assert.Equal(t, c.Stderr, b.Stderr, jobs[i].Name)
		assert.Equal(t, c.DeploymentID, b.DeploymentID, jobs[i].Name)
		assert.Equal(t, c.Err == nil, b.Err == nil, fmt.Sprintf("%s: %v / %v", jobs[i].Name, c.Err, b.Err))
	}
}
