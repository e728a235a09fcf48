package deploycli_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deploycli"
)

// TestRealPools runs the pipeline's pools step by hand against a real server: the real
// CLI writes the process worker's default template, prefect-deploy pools creates the
// missing pool with it (the real server stores it as given) and leaves the existing one
// alone; a second run writes nothing. The pools are named per run and deleted after.
func TestRealPools(t *testing.T) {
	r := findRealPrefect(t)
	newPool, oldPool := "p3pipe-new-"+r.run, "p3pipe-old-"+r.run
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, p := range []string{newPool, oldPool} {
			if req, err := http.NewRequestWithContext(ctx, "DELETE", r.apiURL+"/work_pools/"+p, nil); err == nil {
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}
		}
	})
	r.cmd(t, r.prefect, "work-pool", "create", oldPool, "--type", "process")
	tmpl := filepath.Join(r.dir, "process.json")
	r.cmd(t, r.prefect, "work-pool", "get-default-base-job-template", "--type", "process", "--file", tmpl)
	raw, err := os.ReadFile("testdata/pools/prefect-deployments-dev.yaml")
	require.NoError(t, err)
	file := filepath.Join(r.dir, "prefect-deployments-dev.yaml")
	text := strings.NewReplacer("name: new-pool", "name: "+newPool, "name: pool", "name: "+oldPool, "name: other-pool", "name: "+newPool).Replace(string(raw))
	require.NoError(t, os.WriteFile(file, []byte(text), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(r.dir, "flows"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(r.dir, "flows", "hello.py"), []byte("from prefect import flow\n\n\n@flow\ndef hello():\n    pass\n"), 0o644))

	code, stdout, stderr := r.cli(t, "pools", "--type", "process", "--base-job-template", tmpl, file)
	require.Equal(t, deploycli.ExitOK, code, stderr)
	assert.Contains(t, stdout, "work pool "+newPool+": created (type process)")
	assert.Contains(t, stdout, "work pool "+oldPool+": exists (type process), left as it is")

	var want map[string]any
	tb, err := os.ReadFile(tmpl)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(tb, &want))
	resp, err := http.Get(r.apiURL + "/work_pools/" + newPool)
	require.NoError(t, err)
	defer resp.Body.Close()
	var pool struct {
		Type     string         `json:"type"`
		Template map[string]any `json:"base_job_template"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&pool))
	assert.Equal(t, "process", pool.Type)
	assert.Equal(t, want, pool.Template, "the real server stores the template prefect-deploy sent")

	code, stdout, stderr = r.cli(t, "pools", "--type", "process", "--base-job-template", tmpl, file)
	require.Equal(t, deploycli.ExitOK, code, stderr)
	assert.Contains(t, stdout, "work pool "+newPool+": exists (type process), left as it is")
}
