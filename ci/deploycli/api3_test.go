package deploycli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefect3test"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefectapitest"
)

const digest3 = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/flows@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// apply3 runs apply with the api runner on testdata/api3's Prefect 3 file (copied into
// the harness's repository) and its saved inspect output; extra flags go first.
func apply3(t *testing.T, apiURL string, extra ...string) (int, string, string, *harness) {
	t.Helper()
	h := newHarness(t, "PREFECT_API_URL="+apiURL)
	file := h.file("prefect-deployments-dev.yaml")
	raw, err := os.ReadFile("testdata/api3/prefect-deployments-dev.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, raw, 0o644))
	inspected, err := filepath.Abs("testdata/api3/inspected.json")
	require.NoError(t, err)
	args := append(append([]string{"apply", "--runner", "api", "--inspected", inspected}, extra...), file)
	var stdout, stderr bytes.Buffer
	code := deploycli.Main(context.Background(), args, &stdout, &stderr, h.env)
	return code, stdout.String(), stderr.String(), h
}

// A Prefect 3 file deploys through the Prefect 3 writer: one deployment at a time, the
// image exact in job_variables.image, the pull step to the working directory, every
// schedule, paused only where the file says it; the read-back is skipped with a reason.
func TestAPIRunnerPrefect3(t *testing.T) {
	fake := prefect3test.New(t)
	code, stdout, stderr, h := apply3(t, fake.URL, "--image", digest3)
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stdout, ": 1 at once, runner api (flows from ")
	assert.Contains(t, stdout, "Read back 2 deployment(s): 0 patched, 0 drifted.")

	sched, ok := fake.Deployment("hello", "hello-scheduled")
	require.True(t, ok)
	assert.Equal(t, map[string]any{"cpu": 1024.0, "env": map[string]any{"LOG_LEVEL": "INFO"}, "image": digest3}, sched["job_variables"])
	assert.Equal(t, []any{map[string]any{"prefect.deployments.steps.set_working_directory": map[string]any{"directory": h.dir}}}, sched["pull_steps"])
	assert.Equal(t, "ecs-pool", sched["work_pool_name"])
	assert.Equal(t, "dev", sched["work_queue_name"])
	assert.Len(t, sched["schedules"], 2)
	assert.Equal(t, false, sched["paused"])
	assert.Equal(t, "None", sched["description"], "a flow without a docstring, as Prefect 3's client sends it")
	assert.Equal(t, []any{marker}, sched["tags"])
	gcl, _ := sched["global_concurrency_limit"].(map[string]any)
	assert.Equal(t, 1.0, gcl["limit"])

	paused, ok := fake.Deployment("hello", "hello-paused")
	require.True(t, ok)
	assert.Equal(t, true, paused["paused"])
	assert.Equal(t, false, paused["enforce_parameter_schema"])
	assert.Equal(t, "pool", paused["work_pool_name"])

	var bodies []string
	for _, r := range fake.Requests() {
		if r.Method == "POST" && r.Path == "/deployments/" {
			bodies = append(bodies, string(r.Body))
		}
	}
	require.Len(t, bodies, 2)
	for _, b := range bodies {
		assert.Contains(t, b, `"image": "`+digest3+`"`)
		assert.Equal(t, strings.Contains(b, `"name": "hello-paused"`), strings.Contains(b, `"paused"`), "paused only where the file says it: %s", b)
	}
}

// A Prefect 3 file against a Prefect 2 server, and --image with a Prefect 2 file, stop
// before anything is written, in one line.
func TestAPIRunnerPrefect3Refusals(t *testing.T) {
	p2 := prefectapitest.New(t)
	code, stdout, stderr, _ := apply3(t, p2.URL, "--image", digest3)
	assert.Equal(t, deploycli.ExitFailed, code, stdout)
	assert.Contains(t, stderr, "prefect-deploy: preflight: the Prefect API at ")
	assert.Contains(t, stderr, "this deployer writes Prefect 3 deployments")
	assert.Contains(t, stderr, "prefect-deploy: nothing was deployed\n")
	for _, r := range p2.Requests() {
		assert.NotEqual(t, "POST /deployments/", r.Method+" "+r.Path)
	}

	h := newHarness(t, "PREFECT_API_URL="+p2.URL)
	raw, err := os.ReadFile("testdata/api3/prefect-deployments-dev.yaml")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(h.file("p3"), 0o755))
	require.NoError(t, os.WriteFile(h.file("p3/prefect-deployments-dev.yaml"), raw, 0o644))
	var planOut, planErr bytes.Buffer
	code = deploycli.Main(context.Background(), []string{"plan", "--workdir", h.dir, h.file("p3/prefect-deployments-dev.yaml")}, &planOut, &planErr, h.env)
	assert.Equal(t, deploycli.ExitFailed, code, planOut.String())
	assert.Contains(t, planErr.String(), "targets Prefect 3 (prefect: 3 at line 2) but the Prefect API at ")
	assert.Contains(t, planErr.String(), "the majors must agree")

	var out, errOut bytes.Buffer
	code = deploycli.Main(context.Background(), []string{"apply", "--runner", "api", "--image", digest3, h.file("prefect-deployments-dev.yaml")}, &out, &errOut, h.env)
	assert.Equal(t, deploycli.ExitUsage, code)
	assert.Contains(t, errOut.String(), "--image goes with a Prefect 3 file (it becomes job_variables.image)")
}

// plan3 runs plan on the harness's file against apiURL; extra flags go first.
func plan3(t *testing.T, h *harness, apiURL string, extra ...string) (int, string, string) {
	t.Helper()
	args := append(append([]string{"plan", "--detailed-exitcode"}, extra...), h.file("prefect-deployments-dev.yaml"))
	var stdout, stderr bytes.Buffer
	env := append(append([]string(nil), h.env...), "PREFECT_API_URL="+apiURL)
	code := deploycli.Main(context.Background(), args, &stdout, &stderr, env)
	return code, stdout.String(), stderr.String()
}

// Right after an apply, the live plan of the same Prefect 3 file has no changes (with
// the image apply sent, and without it); an edited file shows each changed field, read
// from the server's Prefect 3 shapes (schedules list, job_variables, paused,
// global_concurrency_limit, enforce_parameter_schema).
func TestPlanPrefect3(t *testing.T) {
	fake := prefect3test.New(t)
	code, stdout, stderr, h := apply3(t, fake.URL, "--image", digest3)
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)

	for _, extra := range [][]string{{"--image", digest3}, nil} {
		code, stdout, stderr := plan3(t, h, fake.URL, extra...)
		assert.Equal(t, deploycli.ExitOK, code, "%q: stdout:\n%s\nstderr:\n%s", extra, stdout, stderr)
		assert.Contains(t, stdout, "No changes", "%q", extra)
	}

	edits, err := filepath.Glob("testdata/api3/plan/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, edits)
	for _, edit := range edits {
		t.Run(filepath.Base(edit), func(t *testing.T) {
			raw, err := os.ReadFile(edit)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(h.file("prefect-deployments-dev.yaml"), raw, 0o644))
			want, err := os.ReadFile(strings.TrimSuffix(edit, ".yaml") + ".want")
			require.NoError(t, err)
			code, stdout, stderr := plan3(t, h, fake.URL, "--image", digest3)
			assert.Equal(t, deploycli.ExitChanges, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			// Each line of the .want file is a part of the plan (the anchor of a schedule
			// without one is the time of the apply: the line stops before it).
			for _, line := range strings.Split(strings.TrimSpace(string(want)), "\n") {
				assert.Contains(t, stdout, line)
			}
		})
	}
}

// A deployment removed from a Prefect 3 file is deleted by apply --prune, and only it:
// the read-back confirms the rest first; prune on its own then has nothing to delete.
func TestPrunePrefect3(t *testing.T) {
	fake := prefect3test.New(t)
	code, stdout, stderr, h := apply3(t, fake.URL, "--image", digest3)
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)

	raw, err := os.ReadFile("testdata/api3/prune/prefect-deployments-dev.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(h.file("prefect-deployments-dev.yaml"), raw, 0o644))
	inspected, err := filepath.Abs("testdata/api3/inspected.json")
	require.NoError(t, err)
	var out, errOut bytes.Buffer
	code = deploycli.Main(context.Background(), []string{"apply", "--runner", "api", "--inspected", inspected, "--image", digest3, "--prune", "--yes", h.file("prefect-deployments-dev.yaml")}, &out, &errOut, h.env)
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	assert.Contains(t, out.String(), "Read back 1 deployment(s): 0 patched, 0 drifted.")
	_, ok := fake.Deployment("hello", "hello-paused")
	assert.False(t, ok, "removed from the file: deleted")
	_, ok = fake.Deployment("hello", "hello-scheduled")
	assert.True(t, ok, "still in the file: kept")
	var deletes int
	for _, r := range fake.Requests() {
		if r.Method == "DELETE" {
			deletes++
		}
	}
	assert.Equal(t, 1, deletes)

	out.Reset()
	errOut.Reset()
	code = deploycli.Main(context.Background(), []string{"prune", "--yes", "--image", digest3, h.file("prefect-deployments-dev.yaml")}, &out, &errOut, h.env)
	assert.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	assert.Contains(t, out.String(), "Prune: nothing to delete")
}

// A Prefect 3 deployment changed by hand after the apply is drift: read-back names the
// field and fails, and the plan shows it as an update (testdata/api3/drift/cases.json).
func TestReadBackPrefect3Drift(t *testing.T) {
	raw, err := os.ReadFile("testdata/api3/drift/cases.json")
	require.NoError(t, err)
	var cases []struct {
		Name, Deployment, Field string
		Patch                   map[string]any
	}
	require.NoError(t, json.Unmarshal(raw, &cases))
	require.NotEmpty(t, cases)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			fake := prefect3test.New(t)
			code, stdout, stderr, h := apply3(t, fake.URL, "--image", digest3)
			require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			d, ok := fake.Deployment("hello", tc.Deployment)
			require.True(t, ok)
			body, err := json.Marshal(tc.Patch)
			require.NoError(t, err)
			req, err := http.NewRequestWithContext(t.Context(), "PATCH", fake.URL+"/deployments/"+d["id"].(string), bytes.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusNoContent, resp.StatusCode)

			var out, errOut bytes.Buffer
			code = deploycli.Main(context.Background(), []string{"read-back", "--image", digest3, h.file("prefect-deployments-dev.yaml")}, &out, &errOut, h.env)
			assert.Equal(t, deploycli.ExitFailed, code, "stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
			assert.Contains(t, out.String(), "  ! drift     hello/"+tc.Deployment+"\n")
			assert.Contains(t, out.String(), tc.Field)
			assert.Contains(t, out.String(), "0 patched", "the Prefect 3 read-back reports, it does not patch")

			code, stdout, stderr = plan3(t, h, fake.URL, "--image", digest3)
			assert.Equal(t, deploycli.ExitChanges, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			assert.Contains(t, stdout, tc.Field)
		})
	}
}
