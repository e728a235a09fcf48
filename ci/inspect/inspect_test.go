package inspect_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/inspect"
	"github.com/acme-data/prefect-flows/ci/internal/shareddata"
)

type testCase struct {
	Entrypoint           string `json:"entrypoint"`
	OK                   bool   `json:"ok"`
	FlowName             string `json:"flow_name"`
	Function             string `json:"function"`
	DeploymentEntrypoint string `json:"deployment_entrypoint"`
	Version              string `json:"version"`
	MD5Version           bool   `json:"md5_version"`
	Description          string `json:"description"`
	Schema               string `json:"schema"`
	ErrorLine            string `json:"error_line"`
}

func python(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	return p
}

func stubEnv(t *testing.T, dir string) []string {
	abs, err := filepath.Abs(filepath.Join("testdata", dir))
	require.NoError(t, err)
	return append(os.Environ(), "PYTHONPATH="+abs, "PYTHONDONTWRITEBYTECODE=1")
}

// The program against a stand-in Prefect: every case of testdata/cases.json in one run.
func TestRunCases(t *testing.T) {
	py := python(t)
	raw, err := os.ReadFile("testdata/cases.json")
	require.NoError(t, err)
	var cases []testCase
	require.NoError(t, json.Unmarshal(raw, &cases))
	eps := make([]string, 0, len(cases)+1)
	for _, c := range cases {
		eps = append(eps, c.Entrypoint)
	}
	eps = append(eps, cases[0].Entrypoint) // a repeat is inspected once
	res, err := inspect.Run(context.Background(), eps, inspect.Options{Python: py, Workdir: "testdata/repo", Env: stubEnv(t, "stub")})
	require.NoError(t, err)
	assert.Equal(t, "2.14.21+stub", res.PrefectVersion)
	require.Len(t, res.Flows, len(cases))
	for _, c := range cases {
		t.Run(c.Entrypoint, func(t *testing.T) {
			f, ok := res.Flow(c.Entrypoint)
			require.True(t, ok)
			require.Equal(t, c.OK, f.OK, f.Error)
			if !c.OK {
				assert.Equal(t, c.ErrorLine, f.ErrorLine())
				return
			}
			assert.Equal(t, c.FlowName, f.FlowName)
			assert.Equal(t, c.Function, f.Function)
			want := c.DeploymentEntrypoint
			if want == "" {
				want = c.Entrypoint
			}
			assert.Equal(t, want, f.DeploymentEntrypoint)
			file := filepath.Join("testdata/repo", strings.SplitN(strings.TrimPrefix(c.Entrypoint, "./"), ":", 2)[0])
			src, err := os.ReadFile(file)
			require.NoError(t, err)
			sum := md5.Sum(src)
			assert.Equal(t, hex.EncodeToString(sum[:]), f.FileMD5)
			switch {
			case c.MD5Version:
				require.NotNil(t, f.Version)
				assert.Equal(t, f.FileMD5, *f.Version)
			case c.Version != "":
				require.NotNil(t, f.Version)
				assert.Equal(t, c.Version, *f.Version)
			}
			if c.Description != "" {
				require.NotNil(t, f.Description)
				assert.Equal(t, c.Description, *f.Description)
			}
			if c.Schema != "" {
				assert.Equal(t, c.Schema, string(f.ParameterSchema), "the schema's bytes as json.dumps wrote them")
			}
		})
	}
	assert.Equal(t, []string{
		"flows/good.py:plain: prefect.flows.MissingFlowError: Function with name 'plain' is not a flow. Make sure that it is decorated with '@flow'.",
		"flows/good.py:absent: prefect.flows.MissingFlowError: Flow function with name 'absent' not found in 'flows/good.py'.",
		"flows/broken.py:x: ModuleNotFoundError: No module named 'pandas_that_is_missing'",
		"flows/exits.py:x: SystemExit: 3",
	}, res.Failed())
}

// What fails before any flow is looked at is one line naming the Python and the cause.
func TestRunFailsInOneLine(t *testing.T) {
	py := python(t)
	missing := filepath.Join(t.TempDir(), "python9")
	tests := []struct {
		name, python, stub, want string
	}{
		{"prefect does not import", py, "noprefect", "inspect flows with " + py + ": exit code 1: ImportError: No module named 'pydantic'"},
		{"no such python", missing, "stub", "inspect flows with " + missing + ": no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := inspect.Run(context.Background(), []string{"flows/good.py:named"}, inspect.Options{Python: tt.python, Workdir: "testdata/repo", Env: stubEnv(t, tt.stub)})
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "\n")
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

// The recorded real output (Prefect 2.14.21, the deploy-traffic flows): each schema is,
// byte for byte, what the CLI sent in the recorded POST /api/deployments/ bodies.
func TestParseRealOutputMatchesRecordedBodies(t *testing.T) {
	res, err := inspect.ReadFile("testdata/deploy-traffic-flows.json")
	require.NoError(t, err)
	assert.Equal(t, "2.14.21", res.PrefectVersion)
	shared, err := shareddata.Dir()
	require.NoError(t, err)
	for c, ep := range map[string]string{
		"a-cron":            "flows/etl.py:daily_etl",
		"b-interval-anchor": "flows/report.py:weekly_report",
		"e-ecs-overrides":   "flows/model.py:load_model",
	} {
		var rec struct {
			Body string `json:"post_deployments_raw_body"`
		}
		raw, err := os.ReadFile(filepath.Join(shared, "prefect/recorded/deploy-traffic/cases", c+".json"))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &rec))
		f, ok := res.Flow(ep)
		require.True(t, ok, ep)
		assert.Contains(t, rec.Body, `"parameter_openapi_schema": `+string(f.ParameterSchema)+`, "parameters"`, c)
		assert.Contains(t, rec.Body, f.DeploymentEntrypoint, c)
	}
	assert.Equal(t, []string{
		"flows/nope.py:x: prefect.exceptions.ScriptError: Script at 'flows/nope.py' encountered an exception: FileNotFoundError(2, 'No such file or directory')",
		"flows/etl.py:nope: prefect.exceptions.MissingFlowError: Flow function with name 'nope' not found in 'flows/etl.py'.",
	}, res.Failed())
	assert.Equal(t, []string{"flows/x.py:y"}, res.Missing([]string{"flows/etl.py:daily_etl", "flows/x.py:y"}))
}

func TestParseRejects(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", "no JSON document"},
		{"garbage", "Traceback (most recent call last):\nboom\n", "no JSON document"},
		{"other format", `{"format": 2, "flows": []}`, "format 2, expected 1"},
		{"prefect broken", `{"format": 1, "error": "Traceback...\nImportError: x", "flows": []}`, "prefect does not import in that Python: ImportError: x"},
		{"incomplete flow", `{"format": 1, "flows": [{"entrypoint": "a.py:f", "ok": true}]}`, "flows[0] (a.py:f) lacks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := inspect.Parse([]byte(tt.in))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// On Prefect 3 the schema is model_dump(mode="json", exclude_unset=True), what `prefect
// deploy` 3.8.3 stores; a plain dump (dict(), model_dump()) adds "required": [] and
// "definitions": {} (recorded: ../shared/prefect3/recorded/schemas).
func TestRunPrefect3Schema(t *testing.T) {
	py := python(t)
	for _, tc := range []struct{ version string }{{"2.14.21+stub"}, {"3.8.3+stub"}} {
		t.Run(tc.version, func(t *testing.T) {
			env := append(stubEnv(t, "stub"), "STUB_PREFECT_VERSION="+tc.version)
			res, err := inspect.Run(context.Background(), []string{"flows/good.py:named"}, inspect.Options{Python: py, Workdir: "testdata/repo", Env: env})
			require.NoError(t, err)
			assert.Equal(t, tc.version, res.PrefectVersion)
			f, ok := res.Flow("flows/good.py:named")
			require.True(t, ok)
			require.True(t, f.OK, f.Error)
			var schema map[string]any
			require.NoError(t, json.Unmarshal(f.ParameterSchema, &schema))
			assert.NotContains(t, schema, "required")
			assert.NotContains(t, schema, "definitions")
			assert.Equal(t, "Parameters", schema["title"])
		})
	}
}
