package spec

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loaderRepo is a small repository whose flow files really import under Prefect 2.14:
// re-exports, assignments, decorators, conditional and dynamic bindings.
var loaderRepo = filepath.Join("testdata", "loader")

// loaderCase is one entrypoint of testdata/loader/cases.json: what the static scanner
// says about it, and what Prefect's own loader said (recorded with Prefect 2.14.21;
// TestRealLoaderAgrees checks the record against a real Prefect).
type loaderCase struct {
	Entrypoint string `json:"entrypoint"`
	// Scanner is "static" (checked here), "note" (left to the loader) or "error".
	Scanner  string `json:"scanner"`
	FlowName string `json:"flow_name"`
	// Message is a part of the note or error.
	Message        string `json:"message"`
	LoaderOK       bool   `json:"loader_ok"`
	LoaderFlowName string `json:"loader_flow_name"`
}

func loaderCases(t *testing.T) []loaderCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(loaderRepo, "cases.json"))
	require.NoError(t, err)
	var cases []loaderCase
	require.NoError(t, json.Unmarshal(data, &cases))
	require.NotEmpty(t, cases)
	return cases
}

// judgeEntrypoint runs the same decision as Load does for one entrypoint.
func judgeEntrypoint(files *pyFiles, ep string) entrypointVerdict {
	file, fn, _ := strings.Cut(ep, ":")
	m := files.module(file)
	if m == nil {
		return entrypointVerdict{refuse: "no such file " + file}
	}
	return files.judge(file, fn, m)
}

func TestEntrypointVerdicts(t *testing.T) {
	files := &pyFiles{root: loaderRepo, mods: map[string]*pyModule{}}
	for _, c := range loaderCases(t) {
		t.Run(c.Entrypoint, func(t *testing.T) {
			v := judgeEntrypoint(files, c.Entrypoint)
			got, msg := "static", ""
			switch {
			case v.refuse != "":
				got, msg = "error", v.refuse
			case v.note != "":
				got, msg = "note", v.note
				assert.Contains(t, msg, NotCheckedStatically)
			}
			assert.Equal(t, c.Scanner, got, msg)
			assert.Contains(t, msg, c.Message)
			assert.Equal(t, c.FlowName, v.flowName)
			// The rule this table exists for: what the loader accepts is never refused,
			// and a flow name read statically is the loader's.
			if c.LoaderOK {
				assert.NotEqual(t, "error", got, "Prefect's loader accepts %s", c.Entrypoint)
			}
			if v.flowName != "" {
				assert.Equal(t, c.LoaderFlowName, v.flowName)
			}
		})
	}
}

// A deployments file whose entrypoints are left to the loader loads, with one note each
// at the entrypoint's line and column; a typo is still an error with a suggestion.
func TestLoadNotes(t *testing.T) {
	f, err := Load(filepath.Join(loaderRepo, "notes.yaml"), LoadOptions{RepoRoot: loaderRepo})
	require.NoError(t, err)
	var lines []string
	for _, n := range f.Notes {
		lines = append(lines, n.Note())
	}
	file := filepath.Join(loaderRepo, "notes.yaml")
	assert.Equal(t, []string{
		"note: " + file + ":4:17: deployments[0].entrypoint: hello2 in flows/reexport.py is imported at the top level (line 1: from examples.hello_world import hello as hello2): " + NotCheckedStatically,
		"note: " + file + ":6:33: deployments[1].entrypoint: factory_made in flows/assigned.py is assigned at the top level (line 25: factory_made = make_flow(...)): " + NotCheckedStatically + "; its flow name is not known statically either",
	}, lines)
	assert.Equal(t, "hello", f.Deployments[0].FlowName, "the re-exported flow's name is read from examples/hello_world.py")
	assert.Equal(t, "", f.Deployments[1].FlowName)

	_, err = Load(filepath.Join(loaderRepo, "typo.yaml"), LoadOptions{RepoRoot: loaderRepo})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	require.Len(t, ve.Errors, 1)
	assert.Equal(t, filepath.Join(loaderRepo, "typo.yaml")+":4:17: deployments[0].entrypoint: function helo is not defined at the top level of flows/static.py: did you mean hello?", ve.Errors[0].Error())
	require.Len(t, ve.Notes, 1, "notes are kept next to the errors")
	assert.Contains(t, ve.Error(), "\n  note: ")
}

// envRealPython names a Python with Prefect 2.14 installed (the same variable the
// deploycli end-to-end tests use for the batch runner).
const envRealPython = "PREFECT_E2E_PYTHON"

// TestRealLoaderAgrees loads every entrypoint of testdata/loader/cases.json with the
// real Prefect loader and checks the recorded verdicts and flow names against it, so
// TestEntrypointVerdicts's "never refuse what the loader accepts" holds for real.
func TestRealLoaderAgrees(t *testing.T) {
	python := os.Getenv(envRealPython)
	if python == "" {
		t.Skipf("%s is not set: it names a Python with Prefect 2.14 installed (e.g. a venv's bin/python); this test runs Prefect's load_flow_from_entrypoint on testdata/loader", envRealPython)
	}
	cases := loaderCases(t)
	args := []string{"load_entrypoints.py"}
	for _, c := range cases {
		args = append(args, c.Entrypoint)
	}
	cmd := exec.Command(python, args...)
	cmd.Dir = loaderRepo
	cmd.Env = append(os.Environ(), "PREFECT_HOME="+t.TempDir(), "PYTHONDONTWRITEBYTECODE=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%s: %s", python, stderr.String())

	type result struct {
		Entrypoint string `json:"entrypoint"`
		OK         bool   `json:"ok"`
		FlowName   string `json:"flow_name"`
		Error      string `json:"error"`
	}
	got := map[string]result{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r result
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Entrypoint != "" {
			got[r.Entrypoint] = r
		}
	}
	files := &pyFiles{root: loaderRepo, mods: map[string]*pyModule{}}
	for _, c := range cases {
		r, ok := got[c.Entrypoint]
		if !assert.True(t, ok, "%s: no answer from the loader; stderr: %s", c.Entrypoint, stderr.String()) {
			continue
		}
		assert.Equal(t, c.LoaderOK, r.OK, "%s: cases.json records the loader wrongly (%s)", c.Entrypoint, r.Error)
		assert.Equal(t, c.LoaderFlowName, r.FlowName, c.Entrypoint)
		v := judgeEntrypoint(files, c.Entrypoint)
		if r.OK {
			assert.Empty(t, v.refuse, "%s: the scanner refuses what Prefect's loader accepts", c.Entrypoint)
		}
		if v.flowName != "" || v.static {
			assert.Equal(t, r.FlowName, v.flowName, "%s: the flow name read statically differs from Prefect's", c.Entrypoint)
		}
	}
}
