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
)

// TestUnknownJobVariablesRefused runs testdata/api3/jobvars/cases.json against the fake
// Prefect 3 API (which, like the real server, stores a job variable its pool's template
// does not declare): apply and plan refuse such a key with file:line:col (FILE in the
// cases), the pool, its type and a did you mean, and apply writes nothing; with
// --unchecked-job-variables, or for a pool created without a template, it is a note.
func TestUnknownJobVariablesRefused(t *testing.T) {
	raw, err := os.ReadFile("testdata/api3/jobvars/cases.json")
	require.NoError(t, err)
	var cases []struct {
		Name, File string
		Flags      []string
		BarePool   string `json:"bare_pool"`
		Code       int
		Stderr     []string
	}
	require.NoError(t, json.Unmarshal(raw, &cases))
	inspected, err := filepath.Abs("testdata/api3/inspected.json")
	require.NoError(t, err)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			fake := prefect3test.New(t)
			if tc.BarePool != "" {
				// A pool created without a template: the server keeps {}.
				resp, err := http.Post(fake.URL+"/work_pools/", "application/json", strings.NewReader(`{"name": "`+tc.BarePool+`", "type": "process"}`))
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, http.StatusCreated, resp.StatusCode)
			}
			fake.ResetRequests()
			h := newHarness(t, "PREFECT_API_URL="+fake.URL)
			file := h.file("prefect-deployments-dev.yaml")
			yaml, err := os.ReadFile(filepath.Join("testdata/api3/jobvars", tc.File))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(file, yaml, 0o644))
			for _, cmd := range [][]string{
				append([]string{"plan"}, tc.Flags...),
				append([]string{"apply", "--runner", "api", "--inspected", inspected, "--image", digest3}, tc.Flags...),
			} {
				var stdout, stderr bytes.Buffer
				code := deploycli.Main(context.Background(), append(cmd, file), &stdout, &stderr, h.env)
				assert.Equal(t, tc.Code, code, "%s\nstdout:\n%s\nstderr:\n%s", cmd[0], stdout.String(), stderr.String())
				for _, want := range tc.Stderr {
					assert.Contains(t, stderr.String(), strings.ReplaceAll(want, "FILE", file), cmd[0])
				}
				if tc.Code == deploycli.ExitOK {
					continue
				}
				if cmd[0] == "apply" {
					assert.Contains(t, stderr.String(), "prefect-deploy: nothing was deployed\n")
				} else {
					assert.Contains(t, stderr.String(), "prefect-deploy: plan: apply would refuse this file (above) and write nothing\n")
				}
				for _, r := range fake.Requests() {
					assert.Equal(t, "GET", r.Method, "%s wrote %s %s", cmd[0], r.Method, r.Path)
				}
			}
		})
	}
}
