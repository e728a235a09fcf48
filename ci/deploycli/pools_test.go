package deploycli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefect3test"
)

// pools reads every pool first: one of another type than --type stops it with nothing
// written (unless --any-type); otherwise it creates only the missing pools, once each,
// of --type, and writes an existing pool only with --update-template.
func TestPools(t *testing.T) {
	const file = "testdata/pools/prefect-deployments-dev.yaml"
	tmplArgs := []string{"--base-job-template", "testdata/pools/process-template.json"}
	for _, tc := range []struct {
		name        string
		file        string
		args        []string
		wantCode    int
		wantOut     []string
		wantErr     []string
		wantPosts   []map[string]any
		wantPatches []string // pool names
	}{
		{"an existing pool of another type is refused, nothing written", file, nil, deploycli.ExitFailed, nil,
			[]string{`prefect-deploy: pools: testdata/pools/prefect-deployments-dev.yaml:15:13: work pool "pool" on 127.0.0.1:`,
				"has type process, but this run expects type ecs (--type): name a pool of type ecs in work_pool.name, set --type process if process workers serve this file, or --any-type to accept each pool's own type",
				"; no work pool was created or changed"}, nil, nil},
		{"every pool of another type is named", "testdata/pools/prefect-deployments-update.yaml", []string{"--type", "docker"}, deploycli.ExitFailed, nil,
			[]string{`prefect-deployments-update.yaml:8:13: work pool "ecs-pool" on `, `prefect-deployments-update.yaml:12:13: work pool "pool" on `,
				"prefect-deploy: pools: 2 work pools cannot be used (above); no work pool was created or changed\n"}, nil, nil},
		{"--any-type accepts it and creates the missing ones", file, []string{"--any-type"}, deploycli.ExitOK,
			[]string{"work pool new-pool: created (type ecs)", "work pool pool: exists (type process), left as it is", "work pool other-pool: created (type ecs)",
				"work pools: 2 created (new-pool, other-pool), 0 updated, 1 left as they are (pool)\n"}, nil,
			[]map[string]any{{"name": "new-pool", "type": "ecs"}, {"name": "other-pool", "type": "ecs"}}, nil},
		{"the type the existing pool has", file, []string{"--type", "process"}, deploycli.ExitOK,
			[]string{"work pool new-pool: created (type process)", "work pool other-pool: created (type process)", "work pool pool: exists (type process), left as it is"}, nil,
			[]map[string]any{{"name": "new-pool", "type": "process"}, {"name": "other-pool", "type": "process"}}, nil},
		{"with the worker's default template", file, append([]string{"--type", "process"}, tmplArgs...), deploycli.ExitOK,
			[]string{"work pool new-pool: created (type process)", "work pool pool: exists (type process), left as it is"}, nil,
			[]map[string]any{{"name": "new-pool", "type": "process", "base_job_template": processTemplate(t)}, {"name": "other-pool", "type": "process", "base_job_template": processTemplate(t)}}, nil},
		{"--update-template sets an existing pool's template", file, append([]string{"--type", "process", "--update-template"}, tmplArgs...), deploycli.ExitOK,
			[]string{"work pool pool: exists (type process), base job template updated", "work pools: 2 created (new-pool, other-pool), 1 updated (pool), 0 left as they are\n"}, nil,
			[]map[string]any{{"name": "new-pool", "type": "process", "base_job_template": processTemplate(t)}, {"name": "other-pool", "type": "process", "base_job_template": processTemplate(t)}},
			[]string{"pool"}},
		{"--update-template leaves a pool of another type", "testdata/pools/prefect-deployments-update.yaml", append([]string{"--type", "process", "--any-type", "--update-template"}, tmplArgs...), deploycli.ExitOK,
			[]string{"work pool ecs-pool: exists (type ecs), left as it is: the template given is for type process", "work pool pool: exists (type process), base job template updated",
				"work pools: 0 created, 1 updated (pool), 1 left as they are (ecs-pool)\n"}, nil, nil, []string{"pool"}},
		{"--update-template without a template", file, []string{"--type", "process", "--update-template"}, deploycli.ExitUsage,
			nil, []string{"--update-template needs --base-job-template FILE"}, nil, nil},
		{"template not an object", file, []string{"--any-type", "--base-job-template", "testdata/pools/not-a-template.json"}, deploycli.ExitFailed,
			nil, []string{"--base-job-template testdata/pools/not-a-template.json: want a JSON object"}, nil, nil},
		{"only the pools of the deployments chosen", file, []string{"--only", "d"}, deploycli.ExitOK,
			[]string{"work pool other-pool: created (type ecs)", "work pools: 1 created (other-pool), 0 updated, 0 left as they are\n"}, nil,
			[]map[string]any{{"name": "other-pool", "type": "ecs"}}, nil},
		{"--only matching nothing", file, []string{"--only", "nope"}, deploycli.ExitUsage,
			nil, []string{"--only nope matches no deployment"}, nil, nil},
		{"Prefect 2 file", "testdata/pools/prefect-deployments-p2.yaml", nil, deploycli.ExitFailed,
			nil, []string{"targets Prefect 2"}, nil, nil},
		{"empty type", file, []string{"--type", ""}, deploycli.ExitUsage,
			nil, []string{"--type must not be empty"}, nil, nil},
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
			for _, w := range tc.wantErr {
				assert.Contains(t, stderr.String(), w)
			}
			var posts []map[string]any
			var patches []string
			for _, r := range fake.Requests() {
				switch {
				case r.Method == "POST" && r.Path == "/work_pools/":
					var b map[string]any
					require.NoError(t, json.Unmarshal(r.Body, &b))
					posts = append(posts, b)
				case r.Method == "PATCH" && strings.HasPrefix(r.Path, "/work_pools/"):
					var b map[string]any
					require.NoError(t, json.Unmarshal(r.Body, &b))
					assert.Equal(t, map[string]any{"base_job_template": processTemplate(t)}, b, "only the template is sent")
					patches = append(patches, strings.TrimPrefix(r.Path, "/work_pools/"))
				default:
					assert.NotContains(t, []string{"PATCH", "PUT", "DELETE"}, r.Method, "%s %s: an existing pool must not be changed", r.Method, r.Path)
				}
			}
			assert.Equal(t, tc.wantPosts, posts)
			assert.Equal(t, tc.wantPatches, patches)
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

// A second run finds the pools the first created (and the template it set) and writes nothing.
func TestPoolsSecondRunWritesNothing(t *testing.T) {
	fake := prefect3test.New(t)
	var stdout, stderr bytes.Buffer
	env := []string{"PREFECT_API_URL=" + fake.URL}
	args := []string{"pools", "--type", "process", "--update-template", "--base-job-template", "testdata/pools/process-template.json", "testdata/pools/prefect-deployments-dev.yaml"}
	require.Equal(t, deploycli.ExitOK, deploycli.Main(context.Background(), args, &stdout, &stderr, env), stderr.String())
	fake.ResetRequests()
	stdout.Reset()
	require.Equal(t, deploycli.ExitOK, deploycli.Main(context.Background(), args, &stdout, &stderr, env), stderr.String())
	assert.Contains(t, stdout.String(), "work pool new-pool: exists (type process), its base job template is already the one given, left as it is")
	assert.Contains(t, stdout.String(), "work pool pool: exists (type process), its base job template is already the one given, left as it is")
	assert.Contains(t, stdout.String(), "work pools: 0 created, 0 updated, 3 left as they are (new-pool, pool, other-pool)")
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
