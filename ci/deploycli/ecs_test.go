package deploycli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/desired"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefect3test"
)

// awsSecret is the secret key saved in the fake's aws-credentials/dev block: it must
// never reach a job variable, a request body of the deploy, or the output.
const awsSecret = "wJalrXUtnFEMI-p3ecs-SECRET"

// The ECS settings of a Prefect 3 file's ecs pools (testdata/api3/ecs/cases.json): apply
// writes them as job variables under the file's own, only into pools of type ecs, the
// AWS keys only as placeholders naming the aws-credentials block's fields; the plan given the same
// settings then has no changes, and one without them shows the job variables it would
// remove.
func TestECSSettingsPrefect3(t *testing.T) {
	raw, err := os.ReadFile("testdata/api3/ecs/cases.json")
	require.NoError(t, err)
	var cases []struct {
		Name, Stderr string
		Flags        []string
		Block        bool
		Code         int
		// PoolCredentials is a default of aws_credentials in ecs-pool's template.
		PoolCredentials any            `json:"pool_credentials"`
		ECSPool         map[string]any `json:"ecs_pool"`
		ProcessPool     map[string]any `json:"process_pool"`
	}
	require.NoError(t, json.Unmarshal(raw, &cases))
	require.NotEmpty(t, cases)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			fake := prefect3test.New(t)
			if tc.Block {
				fake.AddBlockDocument(desired.CredentialsBlockType, "dev",
					map[string]any{"aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": awsSecret, "region_name": "eu-west-1"},
					"aws_secret_access_key")
			}
			if tc.PoolCredentials != nil {
				fake.SetVariableDefault("ecs-pool", "aws_credentials", tc.PoolCredentials)
			}
			code, stdout, stderr, h := apply3(t, fake.URL, append([]string{"--image", digest3}, tc.Flags...)...)
			require.Equal(t, tc.Code, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			if tc.Stderr != "" {
				assert.Contains(t, stderr, tc.Stderr)
			}
			for _, r := range fake.Requests() {
				assert.NotContains(t, string(r.Body), awsSecret, "%s %s", r.Method, r.Path)
			}
			assert.NotContains(t, stdout+stderr, awsSecret)
			// The apply's preflight reads each pool once (it exists), and the ECS settings
			// and the job variable check share one more read.
			reads := map[string]int{}
			for _, r := range fake.Requests() {
				if r.Method == "GET" && strings.HasPrefix(r.Path, "/work_pools/") {
					reads[r.Path]++
				}
			}
			for path, n := range reads {
				assert.LessOrEqual(t, n, 2, "GET %s", path)
			}
			if tc.Code != deploycli.ExitOK {
				for _, r := range fake.Requests() {
					assert.NotEqual(t, "POST /deployments/", r.Method+" "+r.Path, "nothing is written")
				}
				return
			}
			for name, want := range map[string]map[string]any{"hello-scheduled": tc.ECSPool, "hello-paused": tc.ProcessPool} {
				d, ok := fake.Deployment("hello", name)
				require.True(t, ok, name)
				want = withImage(t, want)
				assert.Equal(t, want, d["job_variables"], name)
			}

			code, stdout, stderr = plan3(t, h, fake.URL, append([]string{"--image", digest3}, tc.Flags...)...)
			assert.Equal(t, deploycli.ExitOK, code, "the same settings: no changes\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
			assert.Contains(t, stdout, "No changes")
			var rb, rbErr bytes.Buffer
			code = deploycli.Main(context.Background(), append(append([]string{"read-back", "--image", digest3}, tc.Flags...), h.file("prefect-deployments-dev.yaml")), &rb, &rbErr, h.env)
			assert.Equal(t, deploycli.ExitOK, code, "read-back with the same settings:\n%s\n%s", rb.String(), rbErr.String())
			if len(tc.Flags) > 0 {
				code, stdout, _ = plan3(t, h, fake.URL, "--image", digest3)
				assert.Equal(t, deploycli.ExitChanges, code, "a plan without the settings would remove them:\n%s", stdout)
				assert.Contains(t, stdout, "job_variables")
			}
		})
	}
}

// withImage is want as JSON decodes it, with the image apply sends.
func withImage(t *testing.T, want map[string]any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(want)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out))
	out["image"] = digest3
	return out
}

// The ECS flags go with a Prefect 3 file only: on a Prefect 2 file they are a usage error.
func TestECSFlagsNeedPrefect3(t *testing.T) {
	h := newHarness(t)
	var out, errOut bytes.Buffer
	code := deploycli.Main(context.Background(), []string{"plan", "--ecs-cluster", "c", h.file("prefect-deployments-dev.yaml")}, &out, &errOut, h.env)
	assert.Equal(t, deploycli.ExitUsage, code)
	assert.Contains(t, errOut.String(), "--ecs-* and --aws-* go with a Prefect 3 file (they become job variables of its ecs pools)")
}
