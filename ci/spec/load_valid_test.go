package spec

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenJSON compares v, rendered as indented JSON, with a golden file; -update rewrites it.
func goldenJSON(t *testing.T, golden string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	require.NoError(t, err)
	got = append(got, '\n')
	if *update {
		require.NoError(t, os.WriteFile(golden, got, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), string(got), "golden %s differs (go test ./ci/spec -update rewrites it)", golden)
}

func loadValid(t *testing.T, name string) *File {
	t.Helper()
	f, err := Load(filepath.Join("testdata", "valid", name), LoadOptions{RepoRoot: testRepo})
	require.NoError(t, err)
	require.NotNil(t, f)
	return f
}

// Every file under testdata/valid loads, and its File matches a golden.
func TestLoadValidGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "valid", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			f := loadValid(t, name)
			goldenJSON(t, strings.TrimSuffix(path, ".yaml")+".golden.json", f)
		})
	}
}

func byName(t *testing.T, f *File, name string) Deployment {
	t.Helper()
	for _, d := range f.Deployments {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("no deployment %q", name)
	return Deployment{}
}

// The seed schema's file keeps every value as written and adds nothing it did not say.
func TestSeedSchemaLoadsUnchanged(t *testing.T) {
	f := loadValid(t, "seed.yaml")
	assert.Equal(t, "ecs-task/dev", f.IBBlock)
	require.Len(t, f.Deployments, 4)
	d := f.Deployments[0]
	assert.Equal(t, "hello-daily", d.Name)
	assert.Equal(t, "flows/hello.py:hello", d.Entrypoint)
	assert.Equal(t, "hello", d.FlowName)
	assert.Equal(t, map[string]any{"name": "Marvin"}, d.Parameters)
	assert.Equal(t, &Schedule{Cron: "0 6 * * *", Timezone: "Europe/Berlin"}, d.Schedule)
	assert.Equal(t, []string{"dev", "hello"}, d.Tags)
	assert.Equal(t, "1.2.3", d.Version)
	assert.Equal(t, &WorkPool{Name: "ecs-pool", WorkQueueName: "dev"}, d.WorkPool)
	assert.Equal(t, "ecs-task/dev", d.IBBlock)
	assert.Empty(t, d.InfraOverrides)
	assert.Equal(t, 4, d.Pos.Line)
	assert.Equal(t, &Schedule{IntervalSeconds: 3600, AnchorDate: "2024-01-01T00:00:00", Timezone: "UTC"}, f.Deployments[1].Schedule)
	assert.Equal(t, &Schedule{RRule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;BYMINUTE=0", Timezone: "America/New_York"}, f.Deployments[2].Schedule)
	manual := f.Deployments[3]
	assert.Nil(t, manual.Schedule)
	assert.Nil(t, manual.Parameters)
	assert.Nil(t, manual.WorkPool)
	assert.Empty(t, manual.Tags)
	assert.Empty(t, manual.Version)
}

func TestDefaultsMerge(t *testing.T) {
	f := loadValid(t, "defaults.yaml")
	plain := byName(t, f, "plain")
	assert.Equal(t, "Shared by every deployment", plain.Description)
	assert.Equal(t, map[string]any{"region": "eu", "limit": int64(10)}, plain.Parameters)
	assert.Equal(t, &Schedule{Cron: "0 3 * * *", Timezone: "Europe/Berlin"}, plain.Schedule)
	assert.Equal(t, []string{"dev", "etl"}, plain.Tags)
	assert.Equal(t, "2.0", plain.Version)
	assert.Equal(t, &WorkPool{Name: "ecs-pool", WorkQueueName: "default-queue"}, plain.WorkPool)
	assert.Equal(t, "ecs-task/dev", plain.IBBlock)
	assert.Equal(t, []Override{{"cpu", "512"}, {"env.LOG_LEVEL", "INFO"}}, plain.InfraOverrides)

	custom := byName(t, f, "custom")
	assert.Equal(t, "Own description", custom.Description)
	assert.Equal(t, map[string]any{"region": "eu", "limit": int64(99), "extra": true}, custom.Parameters, "parameters merge key by key")
	assert.Equal(t, []string{"own"}, custom.Tags, "tags are replaced, not merged")
	assert.Equal(t, "3", custom.Version)
	assert.Equal(t, &WorkPool{Name: "ecs-pool", WorkQueueName: "custom-queue"}, custom.WorkPool, "work_pool merges field by field")
	assert.Equal(t, "ecs-task/prod", custom.IBBlock)
	assert.Equal(t, []Override{{"cpu", "512"}, {"env.LOG_LEVEL", "DEBUG"}, {"memory", "1024"}}, custom.InfraOverrides)

	off := byName(t, f, "unscheduled")
	assert.Nil(t, off.Schedule, "schedule: null switches the default schedule off")
	assert.Empty(t, off.Tags)
	assert.Empty(t, off.Version)
	assert.Empty(t, off.Description)
	assert.Equal(t, "hourly-sync", off.FlowName)

	// Defaults are copied, never shared: changing one deployment leaves the others alone.
	plain.Parameters["region"] = "changed"
	plain.Tags[0] = "changed"
	plain.Schedule.Cron = "changed"
	assert.Equal(t, "eu", byName(t, f, "custom").Parameters["region"])
}

// version keeps the literal text of the scalar: 1.10 stays "1.10", 010 stays "010".
func TestVersionKeepsLiteralText(t *testing.T) {
	f := loadValid(t, "values.yaml")
	assert.Equal(t, "1.10", byName(t, f, "values").Version)
	assert.Equal(t, "010", byName(t, f, "merged").Version)
	assert.Equal(t, "2024-01-01", byName(t, f, "version-date").Version)
}

func TestParameterValues(t *testing.T) {
	f := loadValid(t, "values.yaml")
	p := byName(t, f, "values").Parameters
	assert.Equal(t, "2024-01-01", p["day"], "dates stay the text the user wrote")
	assert.Equal(t, "2024-01-01T09:30:00Z", p["stamp"])
	assert.Equal(t, 1.1, p["ratio"])
	assert.Equal(t, int64(9223372036854775807), p["big"])
	assert.Equal(t, int64(-42), p["negative"])
	assert.Equal(t, int64(31), p["hex"])
	assert.Equal(t, true, p["flag"])
	assert.Equal(t, "yes", p["word"], "YAML 1.2: yes is a string")
	assert.Contains(t, p, "nothing")
	assert.Nil(t, p["nothing"])
	assert.Equal(t, []any{int64(1), "two", 3.5, false}, p["list"])
	assert.Equal(t, map[string]any{"a": map[string]any{"b": []any{"x", "y"}}}, p["nested"])
	assert.Equal(t, "quote\" dollar$ `tick` <>& \n newline ünïcødé 🚀 \\ back", p["hostile"])

	m := byName(t, f, "merged").Parameters
	assert.Equal(t, int64(5), m["retries"], "an explicit key wins over the merged one")
	assert.Equal(t, "eu", m["region"], "<< merges the anchored mapping")
	assert.Equal(t, p, m["copy"], "an alias expands to the anchored value")
}

func TestSchedules(t *testing.T) {
	f := loadValid(t, "schedules.yaml")
	secs := map[string]int64{"seconds": 45, "quoted-seconds": 3600, "minutes": 5400, "compound": 5400, "days": 86400}
	for name, want := range secs {
		assert.Equal(t, want, byName(t, f, name).Schedule.IntervalSeconds, name)
	}
	assert.Equal(t, "2024-01-31", byName(t, f, "compound").Schedule.AnchorDate)
	assert.Equal(t, "2024-01-31T09:00:00Z", byName(t, f, "anchor-z").Schedule.AnchorDate, "an unquoted timestamp keeps its text")
	assert.Equal(t, "@daily", byName(t, f, "alias-daily").Schedule.Cron)
	assert.Contains(t, byName(t, f, "rrule-multiline").Schedule.RRule, "DTSTART;TZID=Europe/Berlin:20240101T090000\n")
}

func TestFlowNames(t *testing.T) {
	f := loadValid(t, "flows.yaml")
	want := map[string]string{
		"daily":            "daily",
		"async-named":      "hourly-sync",
		"dotted-multiline": "weekly report",
		"commented":        "with-comment",
		"nested-arg":       "nested-name-arg",
		"prefect-dot":      "dotted",
		"dot-slash":        "hello",
	}
	for name, flow := range want {
		assert.Equal(t, flow, byName(t, f, name).FlowName, name)
	}
}

// RepoRoot defaults to the directory of the file.
func TestRepoRootDefaultsToFileDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "flows"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "flows", "x.py"), []byte("from prefect import flow\n\n@flow\ndef x():\n    pass\n"), 0o644))
	file := filepath.Join(dir, EnvFile("qa"))
	require.NoError(t, os.WriteFile(file, []byte("ib-block: process/qa\ndeployments:\n  - name: x\n    entrypoint: flows/x.py:x\n"), 0o644))
	f, err := Load(file, LoadOptions{})
	require.NoError(t, err)
	assert.Equal(t, "qa", f.Env())
	assert.Equal(t, "x", f.Deployments[0].FlowName)

	_, err = Load(file, LoadOptions{RepoRoot: testRepo})
	require.Error(t, err, "with another RepoRoot the flow file is missing")
	assert.Contains(t, err.Error(), "flows/x.py does not exist")
}

// Nested default parameters are copied into each deployment, not shared.
func TestDefaultParametersNotShared(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "prefect-deployments-x.yaml")
	abs, err := filepath.Abs(testRepo)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, []byte(`ib-block: process/dev
defaults:
  parameters:
    regions: [eu]
    mapping: {depth: 1}
deployments:
  - {name: a, entrypoint: "flows/params.py:positional"}
  - {name: b, entrypoint: "flows/params.py:positional"}
`), 0o644))
	f, err := Load(file, LoadOptions{RepoRoot: abs})
	require.NoError(t, err)
	f.Deployments[0].Parameters["regions"].([]any)[0] = "changed"
	f.Deployments[0].Parameters["mapping"].(map[string]any)["depth"] = int64(2)
	assert.Equal(t, []any{"eu"}, f.Deployments[1].Parameters["regions"])
	assert.Equal(t, map[string]any{"depth": int64(1)}, f.Deployments[1].Parameters["mapping"])
}
