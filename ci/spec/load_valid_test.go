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

	"github.com/acme-data/prefect-flows/ci/schedule"
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
	assert.Equal(t, &schedule.Schedule{Kind: schedule.Cron, Cron: "0 6 * * *", Timezone: "Europe/Berlin"}, d.Schedule)
	assert.Equal(t, []string{"dev", "hello"}, d.Tags)
	assert.Equal(t, "1.2.3", d.Version)
	assert.Equal(t, &WorkPool{Name: "ecs-pool", NamePos: Pos{File: "testdata/valid/seed.yaml", Line: 16, Col: 13}, WorkQueueName: "dev"}, d.WorkPool)
	assert.Equal(t, "ecs-task/dev", d.IBBlock)
	assert.Empty(t, d.InfraOverrides)
	assert.Equal(t, 4, d.Pos.Line)
	assert.Equal(t, &schedule.Schedule{Kind: schedule.Interval, IntervalSeconds: 3600, Anchor: anchor(t, "2024-01-01T00:00:00"), Timezone: "UTC"}, f.Deployments[1].Schedule)
	assert.Equal(t, &schedule.Schedule{Kind: schedule.RRule, RRule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;BYMINUTE=0", Timezone: "America/New_York"}, f.Deployments[2].Schedule)
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
	assert.Equal(t, &schedule.Schedule{Kind: schedule.Cron, Cron: "0 3 * * *", Timezone: "Europe/Berlin"}, plain.Schedule)
	assert.Equal(t, []string{"dev", "etl"}, plain.Tags)
	assert.Equal(t, "2.0", plain.Version)
	assert.Equal(t, &WorkPool{Name: "ecs-pool", NamePos: Pos{File: "testdata/valid/defaults.yaml", Line: 13, Col: 11}, WorkQueueName: "default-queue"}, plain.WorkPool)
	assert.Equal(t, "ecs-task/dev", plain.IBBlock)
	assert.Equal(t, []Override{{"cpu", "512"}, {"env.LOG_LEVEL", "INFO"}}, plain.InfraOverrides)

	custom := byName(t, f, "custom")
	assert.Equal(t, "Own description", custom.Description)
	assert.Equal(t, map[string]any{"region": "eu", "limit": int64(99), "extra": true}, custom.Parameters, "parameters merge key by key")
	assert.Equal(t, []string{"own"}, custom.Tags, "tags are replaced, not merged")
	assert.Equal(t, "3", custom.Version)
	assert.Equal(t, &WorkPool{Name: "ecs-pool", NamePos: Pos{File: "testdata/valid/defaults.yaml", Line: 13, Col: 11}, WorkQueueName: "custom-queue"}, custom.WorkPool, "work_pool merges field by field; the name is where defaults write it")
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
	assert.Equal(t, "2024-01-31", byName(t, f, "compound").Schedule.Anchor.Text)
	assert.Equal(t, "2024-01-31T09:00:00Z", byName(t, f, "anchor-z").Schedule.Anchor.Text, "an unquoted timestamp keeps its text")
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

// The Prefect major: named by prefect:, else inferred from the keys, else Prefect 2.
func TestPrefectMajor(t *testing.T) {
	cases := []struct {
		file  string
		major Major
		from  string
	}{
		{"prefect3.yaml", Prefect3, "prefect: 3 at line 2"},
		{"prefect3_inferred.yaml", Prefect3, "inferred from schedules at line 5"},
		{"prefect2_declared.yaml", Prefect2, "prefect: 2 at line 2"},
		{"seed.yaml", Prefect2, "inferred from ib-block at line 2"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			f := loadValid(t, tc.file)
			assert.Equal(t, tc.major, f.Prefect)
			assert.Equal(t, tc.from, f.PrefectFrom)
		})
	}
}

// A file with no key of either major is Prefect 2, as before majors existed.
func TestPrefectMajorDefault(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "prefect-deployments-x.yaml")
	abs, err := filepath.Abs(testRepo)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, []byte("deployments: []\n"), 0o644))
	f, err := Load(file, LoadOptions{RepoRoot: abs})
	require.NoError(t, err)
	assert.Equal(t, Prefect2, f.Prefect)
	assert.Equal(t, "the default: no key of Prefect 3 is used", f.PrefectFrom)
}

func TestPrefect3Keys(t *testing.T) {
	f := loadValid(t, "prefect3.yaml")
	sales := byName(t, f, "sales-eu")
	assert.Nil(t, sales.Schedule, "on Prefect 3 every schedule is in Schedules")
	require.Len(t, sales.Schedules, 3)
	assert.Equal(t, schedule.Schedule{Kind: schedule.Cron, Cron: "0 6 * * *", Timezone: "Europe/Berlin"}, sales.Schedules[0].Schedule)
	assert.False(t, sales.Schedules[0].Inactive, "active defaults to true")
	assert.Equal(t, schedule.Schedule{Kind: schedule.Interval, IntervalSeconds: 5400, Anchor: anchor(t, "2026-01-01T00:30:00+01:00"), Timezone: "Europe/Berlin", Inactive: true}, sales.Schedules[1].Schedule)
	assert.Equal(t, 24, sales.Schedules[1].Pos.Line)
	assert.Equal(t, "FREQ=WEEKLY;BYDAY=MO;BYHOUR=8;BYMINUTE=0", sales.Schedules[2].RRule)
	assert.Equal(t, int64(1), *sales.ConcurrencyLimit)
	assert.Nil(t, sales.Paused, "paused not written: the server's state is kept")
	assert.Equal(t, true, *sales.EnforceParameterSchema, "from defaults")
	// Job variables keep their YAML types and where they were written.
	jv := sales.WorkPool.JobVariables
	assert.Equal(t, "ecs-pool", sales.WorkPool.Name)
	assert.Equal(t, int64(1024), jv["cpu"].Value)
	assert.Equal(t, map[string]any{"LOG_LEVEL": "INFO"}, jv["env"].Value)
	assert.Equal(t, Pos{File: "testdata/valid/prefect3.yaml", Line: 10, Col: 7}, jv["cpu"].Pos)

	daily := byName(t, f, "hello-daily")
	require.Len(t, daily.Schedules, 1, "schedule: is a one-item schedules on Prefect 3")
	assert.Equal(t, schedule.Schedule{Kind: schedule.Cron, Cron: "30 7 * * 1-5", Timezone: "America/New_York"}, daily.Schedules[0].Schedule, "active")
	assert.Equal(t, true, *daily.Paused)
	assert.Nil(t, daily.ConcurrencyLimit)
	assert.Equal(t, &WorkPool{Name: "ecs-pool", WorkQueueName: "critical"}, &WorkPool{Name: daily.WorkPool.Name, WorkQueueName: daily.WorkPool.WorkQueueName}, "name from defaults, own queue")
	jv = daily.WorkPool.JobVariables
	assert.Equal(t, int64(1024), jv["cpu"].Value, "merged key by key from defaults")
	assert.Equal(t, 10, jv["cpu"].Pos.Line, "a default keeps the position it was written at")
	assert.Equal(t, int64(4096), jv["memory"].Value, "the deployment's own value wins")
	assert.Equal(t, map[string]any{"LOG_LEVEL": "DEBUG"}, jv["env"].Value, "a nested mapping is replaced whole")
	assert.Equal(t, false, jv["assign_public_ip"].Value)
	assert.Equal(t, 0.5, jv["ratio"].Value)
	assert.Equal(t, []any{"python", "-m", "flows"}, jv["command"].Value)
	assert.Equal(t, "arn:aws:iam::123456789012:role/flows", jv["task_role_arn"].Value)
	// A pool name keeps where it is written: the defaults' for a deployment that inherits it.
	assert.Equal(t, Pos{File: "testdata/valid/prefect3.yaml", Line: 7, Col: 11}, daily.WorkPool.NamePos)
	assert.Equal(t, Pos{File: "testdata/valid/prefect3.yaml", Line: 54, Col: 13}, byName(t, f, "hello-manual").WorkPool.NamePos)

	manual := byName(t, f, "hello-manual")
	assert.Empty(t, manual.Schedules)
	assert.Equal(t, "process-pool", manual.WorkPool.Name)
	assert.Equal(t, "dev", manual.WorkPool.WorkQueueName, "work_pool merges field by field")
	assert.Equal(t, false, *manual.EnforceParameterSchema)

	assert.Equal(t, map[string]any{"cpu": int64(1024), "memory": int64(4096), "env": map[string]any{"LOG_LEVEL": "DEBUG"},
		"task_role_arn": "arn:aws:iam::123456789012:role/flows", "assign_public_ip": false, "ratio": 0.5, "command": []any{"python", "-m", "flows"}},
		daily.WorkPool.JobVariableValues())
	assert.Equal(t, 42, jv["env"].Pos.Line)
	lvl := jv["env"].Node.Content[0]
	assert.Equal(t, []any{"LOG_LEVEL", 43, 11}, []any{lvl.Value, lvl.Line, lvl.Column}, "the value node keeps nested positions")
	assert.Nil(t, (&WorkPool{Name: "p"}).JobVariableValues())

	// Defaults are copied, never shared.
	sales.WorkPool.JobVariables["env"].Value.(map[string]any)["LOG_LEVEL"] = "changed"
	assert.Equal(t, map[string]any{"LOG_LEVEL": "INFO"}, byName(t, f, "hello-manual").WorkPool.JobVariables["env"].Value)

	inferred := loadValid(t, "prefect3_inferred.yaml")
	assert.Equal(t, []ScheduleItem{{Schedule: schedule.Schedule{Kind: schedule.Interval, IntervalSeconds: 3600}, Pos: Pos{File: "testdata/valid/prefect3_inferred.yaml", Line: 6, Col: 7}}}, byName(t, inferred, "hourly").Schedules, "schedules from defaults")
	assert.Empty(t, byName(t, inferred, "never").Schedules, "schedules: [] switches the defaults' off")
	assert.Equal(t, "@daily", byName(t, inferred, "daily").Schedules[0].Cron, "a deployment's schedule replaces the defaults' schedules")
}

// anchor is text read as the loader reads an anchor-date.
func anchor(t *testing.T, text string) schedule.Anchor {
	t.Helper()
	a, err := schedule.ParseAnchor(text)
	require.NoError(t, err)
	return a
}
