// Package infrastructure_test runs the ECS block scripts against a stand-in prefect_aws
// (testdata/stub) so their environment handling is checked without Prefect or AWS.
package infrastructure_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type saved struct {
	Type   string         `json:"type"`
	Name   string         `json:"name"`
	Fields map[string]any `json:"fields"`
}

func TestBlockScripts(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed: the block scripts cannot be run")
	}
	full := map[string]string{
		"PREFECT_IMAGE":          "registry.example.com/flows@sha256:" + strings.Repeat("a", 64),
		"ECS_CLUSTER":            "data-dev",
		"ECS_EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/exec",
		"AWS_REGION":             "eu-west-1",
		"AWS_ACCESS_KEY_ID":      "AKIAEXAMPLE",
		"AWS_SECRET_ACCESS_KEY":  "s3cr3t-value-never-printed",
	}
	with := func(changes map[string]string) map[string]string {
		env := map[string]string{}
		for k, v := range full {
			env[k] = v
		}
		for k, v := range changes {
			if v == "" {
				delete(env, k)
			} else {
				env[k] = v
			}
		}
		return env
	}
	tests := []struct {
		name       string
		script     string
		env        map[string]string
		wantExit   int
		wantStderr string
		wantBlocks []string // type/name in save order
		wantCPU    []float64
		imported   bool
	}{
		{name: "dev saves credentials then the task", script: "ecs-task-dev.py", env: full,
			wantBlocks: []string{"aws-credentials/dev", "ecs-task/dev"}, wantCPU: []float64{512}, imported: true},
		{name: "prod saves both sizes", script: "ecs-task-prod.py", env: with(map[string]string{"ECS_CPU": "2048"}),
			wantBlocks: []string{"aws-credentials/prod", "ecs-task/prod", "ecs-task/prod-large"}, wantCPU: []float64{2048, 2048}, imported: true},
		{name: "missing variables named on one line before importing prefect", script: "ecs-task-dev.py",
			env:        with(map[string]string{"ECS_CLUSTER": "", "AWS_REGION": ""}),
			wantExit:   1,
			wantStderr: "ecs-task-dev: missing required environment variable(s): ECS_CLUSTER, AWS_REGION\n"},
		{name: "blank counts as missing", script: "ecs-task-prod.py", env: with(map[string]string{"PREFECT_IMAGE": "  "}),
			wantExit: 1, wantStderr: "ecs-task-prod: missing required environment variable(s): PREFECT_IMAGE\n"},
		{name: "cpu must be a whole number", script: "ecs-task-dev.py", env: with(map[string]string{"ECS_CPU": "half"}),
			wantExit: 1, wantStderr: "ecs-task-dev: ECS_CPU must be a positive whole number, got 'half'\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			savedPath := filepath.Join(dir, "saved.jsonl")
			mark := filepath.Join(dir, "imported")
			cmd := exec.Command("python3", tc.script)
			cmd.Env = []string{
				"PATH=" + os.Getenv("PATH"),
				"PYTHONPATH=" + filepath.Join("testdata", "stub"),
				"PYTHONDONTWRITEBYTECODE=1",
				"STUB_SAVED=" + savedPath,
				"STUB_IMPORT_MARK=" + mark,
			}
			for k, v := range tc.env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			exit := 0
			if ee, ok := err.(*exec.ExitError); ok {
				exit = ee.ExitCode()
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.wantExit, exit, "stderr: %s", stderr.String())
			if tc.wantStderr != "" {
				assert.Equal(t, tc.wantStderr, stderr.String())
			}
			assert.NotContains(t, stdout.String()+stderr.String(), full["AWS_SECRET_ACCESS_KEY"])
			_, statErr := os.Stat(mark)
			assert.Equal(t, tc.imported, statErr == nil, "prefect_aws imported")

			blocks := readSaved(t, savedPath)
			var got []string
			var cpus []float64
			for _, b := range blocks {
				got = append(got, b.Type+"/"+b.Name)
				if b.Type == "ecs-task" {
					cpus = append(cpus, b.Fields["cpu"].(float64))
					assert.Equal(t, tc.env["PREFECT_IMAGE"], b.Fields["image"])
					assert.Equal(t, "FARGATE", b.Fields["launch_type"])
					creds := b.Fields["aws_credentials"].(map[string]any)
					assert.Equal(t, tc.env["AWS_REGION"], creds["region_name"])
				}
			}
			assert.Equal(t, tc.wantBlocks, got)
			assert.Equal(t, tc.wantCPU, cpus)
		})
	}
}

func readSaved(t *testing.T, path string) []saved {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	var out []saved
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var s saved
		require.NoError(t, json.Unmarshal(sc.Bytes(), &s))
		out = append(out, s)
	}
	require.NoError(t, sc.Err())
	return out
}
