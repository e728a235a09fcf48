package deploycli_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deploycli"
)

func TestPythonFor(t *testing.T) {
	for file, want := range map[string]string{
		"venv":           "/opt/venv/bin/python3.11",
		"env":            "python3",
		"env-split":      "python3.11",
		"pip-trampoline": "/home/ci/a very long path/venv/bin/python",
		"crlf":           "/opt/venv/bin/python",
		"shell-wrapper":  "python3", // not a Python entry point: nothing to learn from it
		"binary":         "python3",
		"no-shebang":     "python3",
		"perl":           "python3",
		"empty":          "python3",
		"missing":        "python3",
	} {
		t.Run(file, func(t *testing.T) {
			assert.Equal(t, want, deploycli.PythonFor(filepath.Join("testdata", "shebang", file)))
		})
	}
}

// TestBatchUsesThePrefectScriptsPython: without --python, the runner processes run on
// the interpreter the prefect script names, as a pip-installed prefect does.
func TestBatchUsesThePrefectScriptsPython(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	pyLog := filepath.Join(dir, "python-calls")
	py := filepath.Join(dir, "venv python")
	require.NoError(t, os.WriteFile(py, []byte("#!/bin/sh\necho \"$$\" >> \""+pyLog+"\"\nexec python3 \"$@\"\n"), 0o755))
	// A prefect entry point as pip writes it for an interpreter whose path has a space.
	prefectScript := filepath.Join(dir, "prefect")
	require.NoError(t, os.WriteFile(prefectScript, []byte("#!/bin/sh\n'''exec' \""+py+"\" \"$0\" \"$@\"\n' '''\n"+
		"import os, sys\nos.execv(os.environ['FAKE_PREFECT_BIN'], [sys.argv[0]] + sys.argv[1:])\n"), 0o755))

	var stdout, stderr bytes.Buffer
	code := deploycli.Main(context.Background(), []string{"apply", "--runner", "batch", "--prefect", prefectScript, "--concurrency", "2", h.file("prefect-deployments-dev.yaml")}, &stdout, &stderr, h.env)
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Contains(t, stdout.String(), "runner batch (python "+py+"), prefect "+prefectScript)
	h.checkRunner(stdout.String(), stderr.String(), "sales-eu", "sales-us", "hello-weekly", "hello-manual")
	b, err := os.ReadFile(pyLog)
	require.NoError(t, err)
	assert.Len(t, strings.Fields(string(b)), 2, "two runner processes on that interpreter")

	// --python wins over the script's interpreter.
	python3, err := exec.LookPath("python3")
	require.NoError(t, err)
	h = newHarness(t)
	stdout.Reset()
	stderr.Reset()
	code = deploycli.Main(context.Background(), []string{"apply", "--runner", "batch", "--prefect", prefectScript, "--python", "python3", h.file("prefect-deployments-dev.yaml")}, &stdout, &stderr, h.env)
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Contains(t, stdout.String(), "runner batch (python "+python3+")")
	b, err = os.ReadFile(pyLog)
	require.NoError(t, err)
	assert.Len(t, strings.Fields(string(b)), 2, "the script's interpreter was not used again")

	// A relative --python means relative to where the command runs, not to --workdir.
	wd, err := os.Getwd()
	require.NoError(t, err)
	rel, err := filepath.Rel(wd, py)
	require.NoError(t, err)
	h = newHarness(t)
	stdout.Reset()
	stderr.Reset()
	code = deploycli.Main(context.Background(), []string{"apply", "--runner", "batch", "--prefect", prefectScript, "--python", rel, "--concurrency", "1", h.file("prefect-deployments-dev.yaml")}, &stdout, &stderr, h.env)
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Contains(t, stdout.String(), "runner batch (python "+py+")")
	h.checkRunner(stdout.String(), stderr.String(), "sales-eu", "sales-us", "hello-weekly", "hello-manual")
	b, err = os.ReadFile(pyLog)
	require.NoError(t, err)
	assert.Len(t, strings.Fields(string(b)), 3)
}

func TestPythonFlagErrors(t *testing.T) {
	h := newHarness(t)
	code, stdout, stderr := h.run(context.Background(), "apply", "--python", filepath.Join(t.TempDir(), "no-python"), h.file("prefect-deployments-dev.yaml"))
	assert.Equal(t, deploycli.ExitFailed, code)
	assert.Contains(t, stderr, "--runner batch needs the Python that has Prefect installed")
	assert.NotContains(t, stdout, "▶")
	assert.NoFileExists(t, h.log)

	h = newRunnerHarness(t, "cli")
	code, _, stderr = h.run(context.Background(), "apply", "--python", "python3", h.file("prefect-deployments-dev.yaml"))
	assert.Equal(t, deploycli.ExitUsage, code)
	assert.Contains(t, stderr, "--python goes with --runner api or batch")
	assert.NoFileExists(t, h.log)
}
