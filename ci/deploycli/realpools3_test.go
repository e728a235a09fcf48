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
)

// prefect-deploy pools against a REAL Prefect 3 server: a pool of another type stops it
// before anything is written; --any-type lets it through, a missing pool is created,
// --update-template replaces the template of the existing pool of --type (the server
// stores it as sent) and leaves the other type's alone; a second run writes nothing.
// The pools are named per run and deleted after.
func TestRealPrefect3Pools(t *testing.T) {
	base, run := real3(t, "it creates three work pools there and deletes them again")
	newPool, processPool, ecsPool := "pools-new-"+run, "pools-process-"+run, "pools-ecs-"+run
	t.Cleanup(func() {
		for _, p := range []string{newPool, processPool, ecsPool} {
			if st, body := call3(t, "DELETE", base+"/work_pools/"+p, nil); st != http.StatusNoContent && st != http.StatusNotFound {
				t.Errorf("clean up: DELETE /work_pools/%s: %d %s", p, st, body)
			}
		}
	})
	for _, p := range []struct{ name, typ string }{{processPool, "process"}, {ecsPool, "ecs"}} {
		st, body := call3(t, "POST", base+"/work_pools/", map[string]any{"name": p.name, "type": p.typ})
		require.Equal(t, http.StatusCreated, st, "create %s: %s", p.name, body)
	}
	dir := t.TempDir()
	raw, err := os.ReadFile("testdata/pools/prefect-deployments-real3.yaml")
	require.NoError(t, err)
	file := filepath.Join(dir, "prefect-deployments-dev.yaml")
	text := strings.NewReplacer("name: NEW", "name: "+newPool, "name: PROCESS", "name: "+processPool, "name: ECS", "name: "+ecsPool).Replace(string(raw))
	require.NoError(t, os.WriteFile(file, []byte(text), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "flows"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "flows", "hello.py"), []byte("from prefect import flow\n\n\n@flow\ndef hello():\n    pass\n"), 0o644))
	tmpl, err := filepath.Abs("testdata/pools/process-template.json")
	require.NoError(t, err)
	pools := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := deploycli.Main(context.Background(), append(append([]string{"pools"}, args...), file), &stdout, &stderr, []string{"PREFECT_API_URL=" + base})
		return code, stdout.String(), stderr.String()
	}

	code, stdout, stderr := pools("--type", "process")
	require.Equal(t, deploycli.ExitFailed, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stderr, file+":17:13: work pool \""+ecsPool+"\" on ")
	assert.Contains(t, stderr, "has type ecs, but this run expects type process (--type)")
	st, _ := get3(t, base+"/work_pools/"+newPool)
	assert.Equal(t, http.StatusNotFound, st, "nothing is created when a pool is refused")

	update := []string{"--type", "process", "--any-type", "--update-template", "--base-job-template", tmpl}
	code, stdout, stderr = pools(update...)
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stdout, "work pools: 1 created ("+newPool+"), 1 updated ("+processPool+"), 1 left as they are ("+ecsPool+")\n")
	var want map[string]any
	tb, err := os.ReadFile(tmpl)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(tb, &want))
	for _, p := range []struct {
		name, typ string
		tmpl      map[string]any
	}{{newPool, "process", want}, {processPool, "process", want}, {ecsPool, "ecs", map[string]any{}}} {
		st, body := get3(t, base+"/work_pools/"+p.name)
		require.Equal(t, http.StatusOK, st, "%s: %s", p.name, body)
		var pool struct {
			Type     string         `json:"type"`
			Template map[string]any `json:"base_job_template"`
		}
		require.NoError(t, json.Unmarshal(body, &pool))
		assert.Equal(t, p.typ, pool.Type, p.name)
		assert.Equal(t, p.tmpl, pool.Template, "%s: the real server stores the template as sent", p.name)
	}

	code, stdout, stderr = pools(update...)
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stdout, "work pools: 0 created, 0 updated, 3 left as they are ("+newPool+", "+processPool+", "+ecsPool+")\n")
}
