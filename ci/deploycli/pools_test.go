package deploycli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefect3test"
)

// pools creates only the missing pools, once each, of --type, and leaves the existing
// one alone (no write to it at all).
func TestPools(t *testing.T) {
	for _, tc := range []struct {
		name      string
		file      string
		args      []string
		wantCode  int
		wantOut   []string
		wantErr   string
		wantPosts []map[string]any
	}{
		{"default type ecs", "testdata/pools/prefect-deployments-dev.yaml", nil, deploycli.ExitOK,
			[]string{"work pool new-pool: created (type ecs)", "work pool pool: exists (type process), left as it is", "work pool other-pool: created (type ecs)"}, "",
			[]map[string]any{{"name": "new-pool", "type": "ecs"}, {"name": "other-pool", "type": "ecs"}}},
		{"process for the embedded server", "testdata/pools/prefect-deployments-dev.yaml", []string{"--type", "process"}, deploycli.ExitOK,
			[]string{"work pool new-pool: created (type process)", "work pool other-pool: created (type process)"}, "",
			[]map[string]any{{"name": "new-pool", "type": "process"}, {"name": "other-pool", "type": "process"}}},
		{"with the worker's default template", "testdata/pools/prefect-deployments-dev.yaml", []string{"--type", "process", "--base-job-template", "testdata/pools/process-template.json"}, deploycli.ExitOK,
			[]string{"work pool new-pool: created (type process)"}, "",
			[]map[string]any{{"name": "new-pool", "type": "process", "base_job_template": processTemplate(t)}, {"name": "other-pool", "type": "process", "base_job_template": processTemplate(t)}}},
		{"template not an object", "testdata/pools/prefect-deployments-dev.yaml", []string{"--base-job-template", "testdata/pools/not-a-template.json"}, deploycli.ExitFailed,
			nil, "--base-job-template testdata/pools/not-a-template.json: want a JSON object", nil},
		{"only the pools of the deployments chosen", "testdata/pools/prefect-deployments-dev.yaml", []string{"--only", "d", "--only", "c"}, deploycli.ExitOK,
			[]string{"work pool pool: exists", "work pool other-pool: created (type ecs)"}, "",
			[]map[string]any{{"name": "other-pool", "type": "ecs"}}},
		{"--only matching nothing", "testdata/pools/prefect-deployments-dev.yaml", []string{"--only", "nope"}, deploycli.ExitUsage,
			nil, "--only nope matches no deployment", nil},
		{"Prefect 2 file", "testdata/pools/prefect-deployments-p2.yaml", nil, deploycli.ExitFailed,
			nil, "targets Prefect 2", nil},
		{"empty type", "testdata/pools/prefect-deployments-dev.yaml", []string{"--type", ""}, deploycli.ExitUsage,
			nil, "--type must not be empty", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := prefect3test.New(t)
			var stdout, stderr bytes.Buffer
			args := append(append([]string{"pools"}, tc.args...), tc.file)
			code := deploycli.Main(context.Background(), args, &stdout, &stderr, []string{"PREFECT_API_URL=" + fake.URL})
			require.Equal(t, tc.wantCode, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			for _, w := range tc.wantOut {
				assert.Contains(t, stdout.String(), w)
			}
			if tc.wantErr != "" {
				assert.Contains(t, stderr.String(), tc.wantErr)
			}
			var posts []map[string]any
			for _, r := range fake.Requests() {
				if r.Method == "POST" && r.Path == "/work_pools/" {
					var b map[string]any
					require.NoError(t, json.Unmarshal(r.Body, &b))
					posts = append(posts, b)
				}
				assert.NotContains(t, []string{"PATCH", "PUT", "DELETE"}, r.Method, "%s %s: an existing pool must not be changed", r.Method, r.Path)
			}
			assert.Equal(t, tc.wantPosts, posts)
		})
	}
}

func processTemplate(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile("testdata/pools/process-template.json")
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

// A second run finds the pools the first created and writes nothing.
func TestPoolsSecondRunWritesNothing(t *testing.T) {
	fake := prefect3test.New(t)
	var stdout, stderr bytes.Buffer
	env := []string{"PREFECT_API_URL=" + fake.URL}
	require.Equal(t, deploycli.ExitOK, deploycli.Main(context.Background(), []string{"pools", "testdata/pools/prefect-deployments-dev.yaml"}, &stdout, &stderr, env), stderr.String())
	fake.ResetRequests()
	stdout.Reset()
	require.Equal(t, deploycli.ExitOK, deploycli.Main(context.Background(), []string{"pools", "--type", "process", "testdata/pools/prefect-deployments-dev.yaml"}, &stdout, &stderr, env), stderr.String())
	assert.Contains(t, stdout.String(), "work pool new-pool: exists (type ecs), left as it is")
	for _, r := range fake.Requests() {
		assert.Equal(t, "GET", r.Method, "%s %s", r.Method, r.Path)
	}
}

// Another run created the pool between the read (404) and the write (409, the body
// prefect3test answers): not a failure, and the pool stays theirs.
func TestPoolsConflictIsNotAFailure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "GET":
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"detail":"Work pool not found."}`))
		case r.Method == "POST" && r.URL.Path == "/api/work_pools/":
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"detail":"A work pool with this name already exists."}`))
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	code := deploycli.Main(context.Background(), []string{"pools", "testdata/pools/prefect-deployments-dev.yaml"}, &stdout, &stderr, []string{"PREFECT_API_URL=" + srv.URL + "/api"})
	require.Equal(t, deploycli.ExitOK, code, stderr.String())
	assert.Contains(t, stdout.String(), "work pool new-pool: created meanwhile by someone else, left as it is")
}
