package deploycli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefect3test"
)

// TestRealPrefect3UnknownJobVariable: a REAL Prefect 3 server accepts a job variable
// that the pool's base job template does not declare (memroy on the recorded ecs-pool):
// POST /deployments/ answers 201 and the key is stored, so the check is ours. apply of a
// file with that typo then refuses it, with the key's position and a did you mean, and
// writes nothing: no deployment of that name exists afterwards.
func TestRealPrefect3UnknownJobVariable(t *testing.T) {
	base, run := real3(t, "it creates the work pools pool and ecs-pool there when missing, and a flow and a deployment it deletes again")
	require.NoError(t, prefect3test.EnsureRecordedPools(base))
	raw := "jv-raw-" + run
	typo := "hello-typo-" + run
	t.Cleanup(func() { deleteDeployments3(t, base, "hello", []string{raw, typo}) })

	// The server's own verdict, through the API as any client would send it.
	st, body := call3(t, "POST", base+"/flows/", map[string]any{"name": "hello"})
	require.Contains(t, []int{http.StatusOK, http.StatusCreated}, st, "%s", body)
	var flow struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(body, &flow))
	st, body = call3(t, "POST", base+"/deployments/", map[string]any{
		"flow_id": flow.ID, "name": raw, "work_pool_name": "ecs-pool",
		"job_variables": map[string]any{"cpu": 1024, "memroy": 4096},
	})
	require.Equal(t, http.StatusCreated, st, "the real server refused an undeclared job variable: %s", body)
	st, body = get3(t, base+"/deployments/name/hello/"+url.PathEscape(raw))
	require.Equal(t, http.StatusOK, st)
	var stored struct {
		JobVariables map[string]any `json:"job_variables"`
	}
	require.NoError(t, json.Unmarshal(body, &stored))
	assert.Equal(t, map[string]any{"cpu": 1024.0, "memroy": 4096.0}, stored.JobVariables, "stored as sent")

	h := newHarness(t, "PREFECT_API_URL="+base, "PREFECT_OWNER=real3-"+run)
	file := h.file("prefect-deployments-dev.yaml")
	text, err := os.ReadFile("testdata/api3/jobvars/typo.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, []byte(strings.ReplaceAll(string(text), "name: hello-typo", "name: "+typo)), 0o644))
	inspected, err := filepath.Abs("testdata/api3/inspected.json")
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	code := deploycli.Main(context.Background(), []string{"apply", "--runner", "api", "--inspected", inspected, "--image", digest3, file}, &stdout, &stderr, h.env)
	assert.Equal(t, deploycli.ExitFailed, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Contains(t, stderr.String(), file+`:10:9: job variable "memroy" is not a variable of work pool "ecs-pool" (type ecs)`)
	assert.Contains(t, stderr.String(), `did you mean "memory"?`)
	assert.Contains(t, stderr.String(), "prefect-deploy: nothing was deployed\n")
	st, _ = get3(t, base+"/deployments/name/hello/"+url.PathEscape(typo))
	assert.Equal(t, http.StatusNotFound, st, "apply wrote the refused deployment")
	t.Logf("the real server stored %v; apply said:\n%s", stored.JobVariables, stderr.String())
}
