package deploycli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/ownership"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// apiRun runs apply with the api runner (the default: no --runner), the stand-in
// Prefect of testdata/pyprefect for the inspect program.
func (h *liveHarness) apiRun(args ...string) (int, string, string) {
	h.t.Helper()
	var stdout, stderr bytes.Buffer
	code := deploycli.Main(context.Background(), append([]string{"apply", "--python", "python3"}, args...), &stdout, &stderr, h.env)
	return code, stdout.String(), stderr.String()
}

func newAPIHarness(t *testing.T) *liveHarness {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	h := newLive(t, false)
	h.api.AddBlock("ecs-task/dev")
	return h
}

// The default runner writes through the API: no prefect process, one POST per flow and
// per deployment, and the read-back finds nothing to patch.
func TestAPIRunnerIsTheDefault(t *testing.T) {
	h := newAPIHarness(t)
	h.api.ResetRequests()
	resultsFile := filepath.Join(t.TempDir(), "results.json")
	code, stdout, stderr := h.apiRun("--results", resultsFile, h.file("prefect-deployments-dev.yaml"))
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	data, err := os.ReadFile(resultsFile)
	require.NoError(t, err)
	results, err := prefectcli.UnmarshalResults(data)
	require.NoError(t, err)
	require.Len(t, results, 4)
	for _, r := range results {
		assert.Equal(t, prefectcli.StatusSucceeded, r.Status, r.Name)
		assert.Equal(t, h.api.DeploymentID(map[bool]string{true: "daily-sales-etl", false: "hello"}[strings.HasPrefix(r.Name, "sales")], r.Name), r.DeploymentID)
	}
	assert.Contains(t, stdout, "Inspected 2 flow file entrypoint(s) with Prefect 2.14.21+standin (python ")
	assert.Contains(t, stdout, ": 8 at once, runner api (python ")
	assert.Contains(t, stdout, "Read back 4 deployment(s): 0 patched, 0 drifted.")
	assert.NoFileExists(t, h.log, "the api runner runs no prefect")
	posts := map[string]int{}
	for _, r := range h.api.Requests() {
		if r.Method != "GET" && !strings.HasSuffix(r.Path, "/filter") {
			posts[r.Method+" "+r.Path]++
		}
	}
	assert.Equal(t, map[string]int{"POST /flows/": 2, "POST /deployments/": 4}, posts)
	d, ok := h.api.Deployment(h.api.DeploymentID("daily-sales-etl", "sales-eu"))
	require.True(t, ok)
	assert.Equal(t, []any{"dev", "sales", marker}, d["tags"])
	assert.Equal(t, "/opt/prefect/flows", d["path"], "ecs-task has an image")
	assert.Equal(t, "flows/etl.py:daily_sales_etl", d["entrypoint"])
}

// A saved inspect output is used as is: no Python runs.
func TestAPIRunnerInspected(t *testing.T) {
	h := newAPIHarness(t)
	out := filepath.Join(t.TempDir(), "inspected.json")
	cmd := exec.Command("python3", append([]string{"../inspect/inspect_flows.py"}, "flows/etl.py:daily_sales_etl", "flows/hello.py:hello")...)
	cmd.Dir = h.dir
	cmd.Env = h.env
	abs, err := filepath.Abs("../inspect/inspect_flows.py")
	require.NoError(t, err)
	cmd.Args[1] = abs
	data, err := cmd.Output()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(out, data, 0o644))

	var stdout, stderr bytes.Buffer
	env := append(append([]string(nil), h.env...), "PATH=/nonexistent") // no python to find
	code := deploycli.Main(context.Background(), []string{"apply", "--inspected", out, h.file("prefect-deployments-dev.yaml")}, &stdout, &stderr, env)
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Contains(t, stdout.String(), "runner api (flows from "+out+")")
	assert.NotContains(t, stdout.String(), "Inspected ", "no inspect run")

	// An output that lacks an entrypoint of the file is refused before anything is written.
	require.NoError(t, os.WriteFile(out, []byte(`{"format": 1, "prefect_version": "2.14.21", "flows": []}`), 0o644))
	h.api.ResetRequests()
	stdout.Reset()
	stderr.Reset()
	code = deploycli.Main(context.Background(), []string{"apply", "--inspected", out, h.file("prefect-deployments-dev.yaml")}, &stdout, &stderr, env)
	assert.Equal(t, deploycli.ExitFailed, code)
	assert.Contains(t, stderr.String(), "does not cover 2 entrypoint(s)")
	assert.Contains(t, stderr.String(), "prefect-deploy: nothing was deployed\n")
	for _, r := range h.api.Requests() {
		assert.NotEqual(t, "POST /deployments/", r.Method+" "+r.Path)
	}
}

// Every way the api runner cannot start is one line, and nothing is written.
func TestAPIRunnerRefusesEarly(t *testing.T) {
	h := newAPIHarness(t)
	broken := filepath.Join(h.dir, "flows", "broken.py")
	require.NoError(t, os.WriteFile(broken, []byte("from prefect import flow\nimport pandas_nowhere\n\n\n@flow\ndef broken():\n    pass\n"), 0o644))
	brokenFile := filepath.Join(h.dir, "prefect-deployments-broken.yaml")
	require.NoError(t, os.WriteFile(brokenFile, []byte("ib-block: ecs-task/dev\ndeployments:\n  - name: b\n    entrypoint: flows/broken.py:broken\n  - name: h\n    entrypoint: flows/hello.py:hello\n"), 0o644))
	noBlock := filepath.Join(h.dir, "prefect-deployments-noblock.yaml")
	require.NoError(t, os.WriteFile(noBlock, []byte("ib-block: ecs-task/missing\ndeployments:\n  - name: h\n    entrypoint: flows/hello.py:hello\n"), 0o644))
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no API URL", []string{"PREFECT_API_URL="}, []string{"--python", "python3", h.file("prefect-deployments-dev.yaml")},
			"prefect-deploy: --runner api writes through the Prefect API: set PREFECT_API_URL (or use --runner batch or cli, which also work without it)\nprefect-deploy: nothing was deployed\n"},
		{"a flow does not load", nil, []string{"--python", "python3", brokenFile},
			"prefect-deploy: flow does not load: flows/broken.py:broken: ModuleNotFoundError: No module named 'pandas_nowhere'\nprefect-deploy: 1 of 2 entrypoint(s) do not load\nprefect-deploy: nothing was deployed\n"},
		{"a block is missing", nil, []string{"--python", "python3", noBlock},
			"prefect-deploy: preflight: infrastructure block ecs-task/missing does not exist on HOST: save it first\nprefect-deploy: nothing was deployed\n"},
		{"API down", []string{"PREFECT_API_URL=http://127.0.0.1:1/api"}, []string{"--python", "python3", h.file("prefect-deployments-dev.yaml")},
			"prefect-deploy: preflight: the Prefect API at 127.0.0.1:1 is unreachable: connection refused (is the server running? check PREFECT_API_URL)\nprefect-deploy: nothing was deployed\n"},
		{"no such python", nil, []string{"--python", "/nonexistent/python", h.file("prefect-deployments-dev.yaml")},
			"prefect-deploy: --runner api inspects the flows with the Python that has Prefect installed: exec: \"/nonexistent/python\": stat /nonexistent/python: no such file or directory (give --python PATH, or --inspected FILE)\nprefect-deploy: nothing was deployed\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.api.ResetRequests()
			var stdout, stderr bytes.Buffer
			env := append(append([]string(nil), h.env...), tt.env...)
			code := deploycli.Main(context.Background(), append([]string{"apply"}, tt.args...), &stdout, &stderr, env)
			assert.Equal(t, deploycli.ExitFailed, code)
			assert.Equal(t, strings.ReplaceAll(tt.want, "HOST", strings.TrimSuffix(strings.TrimPrefix(h.api.URL, "http://"), "/api")), stderr.String())
			for _, r := range h.api.Requests() {
				// Reads only: GETs, and Prefect's POST .../filter queries (the plan that
				// looks for other owners' deployments before anything is written).
				read := r.Method == "GET" || (r.Method == "POST" && strings.HasSuffix(r.Path, "/filter"))
				assert.True(t, read, "nothing written: %s %s", r.Method, r.Path)
			}
		})
	}
}

// Hostile values reach the API byte for byte.
func TestAPIRunnerHostileValues(t *testing.T) {
	h := newAPIHarness(t)
	code, stdout, stderr := h.apiRun("--env", "test", h.file("hostile.yaml"))
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	f, err := spec.Load(h.file("hostile.yaml"), spec.LoadOptions{RepoRoot: h.dir})
	require.NoError(t, err)
	d, ok := h.api.Deployment(h.api.DeploymentID("hostile", "hostile"))
	require.True(t, ok)
	want, err := spec.ParamsJSON(f.Deployments[0].Parameters)
	require.NoError(t, err)
	var wantV any
	require.NoError(t, json.Unmarshal([]byte(want), &wantV))
	assert.Equal(t, wantV, d["parameters"])
	assert.Equal(t, f.Deployments[0].Description, d["description"])
	assert.Equal(t, []any{"$PATH", "`id`", "ünï 🚀", ownership.MarkerPrefix + testOwner + ":test"}, d["tags"])
}
