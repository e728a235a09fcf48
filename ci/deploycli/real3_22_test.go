package deploycli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefect3test"
)

// envReal3Python is a Python with Prefect 3.8 (for the chroot of ../shared/prefect3/real, a
// script running `bash run.sh ROOT python "$@"`; .ci/real-prefect3 passes one).
const envReal3Python = "PREFECT3_E2E_PYTHON"

// TestRealPrefect3API22 is issue 9's "done when" on a REAL Prefect 3 server: a
// 22-deployment file over 3 flow files (every Prefect 3 key) is inspected with the real
// Prefect 3 and created through the API, reads back as the file says, and plans no
// changes; then hand edits on the server (tags, paused, job variables) show in the plan
// as updates and exit code 2, as drift does on Prefect 2; an apply puts them back; and a
// prune deletes exactly the two deployments dropped from the file. Timings are logged,
// not asserted (CONTRIBUTING's benchmarks table).
func TestRealPrefect3API22(t *testing.T) {
	base, run := real3(t, "it creates the work pools pool and ecs-pool there when missing, and 22 deployments it deletes again")
	python := os.Getenv(envReal3Python)
	if python == "" {
		t.Skip(envReal3Python + " is not set: this test inspects the flows with a real Prefect 3 (a venv's bin/python, or a script running `bash ../shared/prefect3/real/run.sh ROOT python \"$@\"`)")
	}
	require.NoError(t, prefect3test.EnsureRecordedPools(base))

	dir := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(dir, "flows"), os.DirFS(filepath.Join("testdata", "realprefect", "flows"))))
	raw, err := os.ReadFile(filepath.Join("testdata", "realprefect", "prefect3-e2e-22.yaml"))
	require.NoError(t, err)
	prefix := "e2e3-" + run + "-"
	text := strings.ReplaceAll(string(raw), "RUN-", prefix)
	file := filepath.Join(dir, "prefect-deployments-e2e3.yaml")
	write := func(text string) { require.NoError(t, os.WriteFile(file, []byte(text), 0o644)) }
	write(text)

	names := map[string][]string{}
	for i := 0; i < 8; i++ {
		names["hello"] = append(names["hello"], fmt.Sprintf("%shello-%02d", prefix, i))
	}
	for i := 0; i < 7; i++ {
		names["echo"] = append(names["echo"], fmt.Sprintf("%secho-%02d", prefix, i))
		names["load-model"] = append(names["load-model"], fmt.Sprintf("%smodel-%02d", prefix, i))
	}
	t.Cleanup(func() {
		for flow, ns := range names {
			deleteDeployments3(t, base, flow, ns)
		}
	})

	env := []string{"PATH=" + os.Getenv("PATH"), "PREFECT_API_URL=" + base, "PREFECT_OWNER=real3-" + run}
	cli := func(args ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := deploycli.Main(context.Background(), append(args, file), &stdout, &stderr, env)
		return code, stdout.String() + stderr.String()
	}
	apply := []string{"apply", "--runner", "api", "--python", python, "--image", digest3}
	plan := []string{"plan", "--detailed-exitcode", "--image", digest3}

	start := time.Now()
	code, out := cli(apply...)
	first := time.Since(start)
	require.Equal(t, deploycli.ExitOK, code, out)
	assert.Contains(t, out, "22 deployment(s), 22 succeeded")
	assert.Contains(t, out, "Read back 22 deployment(s): 0 patched, 0 drifted.")
	code, out = cli(plan...)
	require.Equal(t, deploycli.ExitOK, code, out)
	assert.Contains(t, out, "Plan: 0 to create, 0 to update, 0 to delete, 22 unchanged.")

	// What the file says, read back raw: the paused one, the limit (stored as a global
	// concurrency limit), the inactive second schedule, job variables merged from defaults.
	model5 := read3(t, base, "load-model", prefix+"model-05")
	assert.Equal(t, true, model5["paused"])
	model0 := read3(t, base, "load-model", prefix+"model-00")
	assert.Nil(t, model0["concurrency_limit"], "Prefect 3 reads a limit back as global_concurrency_limit")
	assert.EqualValues(t, 1, model0["global_concurrency_limit"].(map[string]any)["limit"])
	echo1 := read3(t, base, "echo", prefix+"echo-01")
	assert.Equal(t, map[string]any{"env": map[string]any{"LOG_LEVEL": "DEBUG", "RUN": "1"}, "image": digest3}, echo1["job_variables"])
	assert.Equal(t, "q1", echo1["work_queue_name"])
	var active []any
	for _, s := range echo1["schedules"].([]any) {
		active = append(active, s.(map[string]any)["active"])
	}
	assert.ElementsMatch(t, []any{true, false}, active)

	// Hand edits on the server: each is an update in the plan.
	patch := func(flow, name string, body map[string]any) {
		id := read3(t, base, flow, name)["id"].(string)
		st, resp := call3(t, "PATCH", base+"/deployments/"+id, body)
		require.Equal(t, http.StatusNoContent, st, string(resp))
	}
	patch("hello", prefix+"hello-00", map[string]any{"tags": []string{"e2e", "by-hand"}})
	patch("load-model", prefix+"model-05", map[string]any{"paused": false})
	patch("echo", prefix+"echo-01", map[string]any{"job_variables": map[string]any{"env": map[string]any{"LOG_LEVEL": "WARNING"}}})
	code, out = cli(plan...)
	require.Equal(t, deploycli.ExitChanges, code, out)
	assert.Contains(t, out, "Plan: 0 to create, 3 to update, 0 to delete, 19 unchanged.")
	for _, w := range []string{"hello/" + prefix + "hello-00", "paused:  false → true", `{"env":{"LOG_LEVEL":"WARNING"}}`} {
		assert.Contains(t, out, w)
	}

	start = time.Now()
	code, out = cli(append(apply, "--no-read-back")...)
	again := time.Since(start)
	require.Equal(t, deploycli.ExitOK, code, out)
	code, out = cli(plan...)
	require.Equal(t, deploycli.ExitOK, code, "the apply put the hand edits back:\n%s", out)

	// Two deployments leave the file: the prune deletes those two and nothing else.
	dropped := []string{prefix + "hello-07", prefix + "model-06"}
	for _, d := range dropped {
		i := strings.Index(text, "  - name: "+d+"\n")
		require.GreaterOrEqual(t, i, 0, d)
		j := strings.Index(text[i+1:], "\n  - name: ")
		if j < 0 {
			text = text[:i]
		} else {
			text = text[:i] + text[i+1+j+1:]
		}
	}
	write(text)
	code, out = cli(append(apply, "--prune", "--yes")...)
	require.Equal(t, deploycli.ExitOK, code, out)
	assert.Equal(t, 2, strings.Count(out, "  - deleted  "), out)
	for flow, d := range map[string]string{"hello": dropped[0], "load-model": dropped[1]} {
		st, _ := get3(t, base+"/deployments/name/"+flow+"/"+url.PathEscape(d))
		assert.Equal(t, http.StatusNotFound, st, d)
	}
	code, out = cli(plan...)
	require.Equal(t, deploycli.ExitOK, code, out)
	assert.Contains(t, out, "20 unchanged.")
	t.Logf("Prefect 3 api runner, 22 deployments over 3 flow files: %.1fs new (inspect + writes + read-back), %.1fs again without read-back", first.Seconds(), again.Seconds())
}

// read3 is a deployment as the server returns it.
func read3(t *testing.T, base, flow, name string) map[string]any {
	t.Helper()
	st, body := get3(t, base+"/deployments/name/"+flow+"/"+url.PathEscape(name))
	require.Equal(t, http.StatusOK, st, string(body))
	var d map[string]any
	require.NoError(t, json.Unmarshal(body, &d))
	return d
}
