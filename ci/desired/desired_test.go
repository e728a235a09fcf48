package desired_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/desired"
	"github.com/acme-data/prefect-flows/ci/inspect"
	"github.com/acme-data/prefect-flows/ci/schedule"
	"github.com/acme-data/prefect-flows/ci/spec"
)

const marker = "managed-by:prefect-flows:dev"

func ptr(s string) *string { return &s }
func ptrB(b bool) *bool    { return &b }
func ptrI(i int64) *int64  { return &i }

var loaded = inspect.Flow{
	Entrypoint: "./flows/etl.py:daily_etl", OK: true, FlowName: "daily-etl", Function: "daily_etl",
	DeploymentEntrypoint: "flows/etl.py:daily_etl", ParameterSchema: json.RawMessage(`{"title": "Parameters"}`),
	Version: ptr("md5ofthefile"), Description: ptr("Docstring."),
}

func TestResolve(t *testing.T) {
	pos := spec.Pos{File: "prefect-deployments-dev.yaml", Line: 4, Col: 5}
	anchor, err := schedule.ParseAnchor("2026-01-31T09:00:00.5+01:00")
	require.NoError(t, err)
	every := schedule.Schedule{Kind: schedule.Interval, IntervalSeconds: 5400, Anchor: anchor, Timezone: "Europe/Berlin"}
	tests := []struct {
		name string
		in   spec.Deployment
		flow *inspect.Flow
		want desired.Deployment
		err  string
	}{
		{
			name: "flow defaults fill version and description; the marker comes last, once",
			in:   spec.Deployment{Name: "n", Entrypoint: "./flows/etl.py:daily_etl", IBBlock: "ecs-task/dev", Tags: []string{"a", marker, "b"}, Pos: pos},
			flow: &loaded,
			want: desired.Deployment{Name: "n", FlowName: "daily-etl", Entrypoint: "flows/etl.py:daily_etl", SourceEntrypoint: "./flows/etl.py:daily_etl",
				Parameters: map[string]any{}, ParameterSchema: loaded.ParameterSchema, Tags: []string{"a", "b", marker},
				Version: ptr("md5ofthefile"), Description: ptr("Docstring."), InfraBlock: "ecs-task/dev", Pos: pos},
		},
		{
			name: "the file's values win; the schedule as loaded",
			in: spec.Deployment{Name: "n", Entrypoint: "./flows/etl.py:daily_etl", Version: "1.0", Description: "Mine",
				Parameters: map[string]any{"x": int64(1)}, WorkPool: &spec.WorkPool{Name: "p", WorkQueueName: "q"},
				Schedule:       &every,
				InfraOverrides: []spec.Override{{Key: "cpu", Value: "1024"}}, Pos: pos},
			flow: &loaded,
			want: desired.Deployment{Name: "n", FlowName: "daily-etl", Entrypoint: "flows/etl.py:daily_etl", SourceEntrypoint: "./flows/etl.py:daily_etl",
				Parameters: map[string]any{"x": int64(1)}, ParameterSchema: loaded.ParameterSchema, Tags: []string{marker},
				Version: ptr("1.0"), Description: ptr("Mine"), WorkPool: "p", WorkQueue: "q",
				Schedule:       &every,
				InfraOverrides: []desired.Override{{Key: "cpu", Value: "1024"}}, Pos: pos},
		},
		{
			name: "Prefect 3: every schedule with its switch, job variables, paused, limit, enforce",
			in: spec.Deployment{Name: "n", Entrypoint: "./flows/etl.py:daily_etl",
				WorkPool: &spec.WorkPool{Name: "ecs-pool", WorkQueueName: "q", JobVariables: map[string]spec.JobVariable{
					"cpu": {Value: int64(1024)}, "env": {Value: map[string]any{"A": "1"}}}},
				Schedules: []spec.ScheduleItem{
					{Schedule: schedule.Schedule{Kind: schedule.Cron, Cron: "0 6 * * *", Timezone: "Europe/Berlin"}},
					{Schedule: schedule.Schedule{Kind: schedule.Interval, IntervalSeconds: 5400, Anchor: anchor, Inactive: true}},
					{Schedule: schedule.Schedule{Kind: schedule.RRule, RRule: "FREQ=DAILY"}}},
				Paused: ptrB(true), ConcurrencyLimit: ptrI(2), EnforceParameterSchema: ptrB(false), Pos: pos},
			flow: &loaded,
			want: desired.Deployment{Name: "n", FlowName: "daily-etl", Entrypoint: "flows/etl.py:daily_etl", SourceEntrypoint: "./flows/etl.py:daily_etl",
				Parameters: map[string]any{}, ParameterSchema: loaded.ParameterSchema, Tags: []string{marker},
				Version: ptr("md5ofthefile"), Description: ptr("Docstring."), WorkPool: "ecs-pool", WorkQueue: "q",
				Schedules: []schedule.Schedule{
					{Kind: schedule.Cron, Cron: "0 6 * * *", Timezone: "Europe/Berlin"},
					{Kind: schedule.Interval, IntervalSeconds: 5400, Anchor: anchor, Inactive: true},
					{Kind: schedule.RRule, RRule: "FREQ=DAILY"}},
				JobVariables: map[string]any{"cpu": int64(1024), "env": map[string]any{"A": "1"}},
				Paused:       ptrB(true), ConcurrencyLimit: ptrI(2), EnforceParameterSchema: ptrB(false), Pos: pos},
		},
		{
			name: "not inspected",
			in:   spec.Deployment{Name: "n", Entrypoint: "flows/x.py:f", Pos: pos},
			err:  `prefect-deployments-dev.yaml:4:5: deployment "n": entrypoint flows/x.py:f was not inspected (is the inspect output from this file?)`,
		},
		{
			name: "a schedule put together by hand without a value",
			in:   spec.Deployment{Name: "n", Entrypoint: "flows/x.py:f", Schedule: &schedule.Schedule{Kind: schedule.Cron, Timezone: "UTC"}, Pos: pos},
			flow: &loaded,
			err:  `prefect-deployments-dev.yaml:4:5: deployment "n": schedule: schedule has none of cron, interval, rrule`,
		},
		{
			name: "does not load",
			in:   spec.Deployment{Name: "n", Entrypoint: "flows/x.py:f", Pos: pos},
			flow: &inspect.Flow{Entrypoint: "flows/x.py:f", Error: "Traceback...\nModuleNotFoundError: No module named 'pandas'"},
			err:  `prefect-deployments-dev.yaml:4:5: deployment "n": entrypoint flows/x.py:f does not load: ModuleNotFoundError: No module named 'pandas'`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := desired.Resolve(tt.in, tt.flow, marker)
			if tt.err != "" {
				require.EqualError(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestResolveAllListsEveryProblem(t *testing.T) {
	f := &spec.File{Deployments: []spec.Deployment{
		{Name: "a", Entrypoint: "flows/a.py:f", Pos: spec.Pos{File: "x.yaml", Line: 3, Col: 5}},
		{Name: "b", Entrypoint: "flows/b.py:f", Pos: spec.Pos{File: "x.yaml", Line: 5, Col: 5}},
	}}
	_, err := desired.ResolveAll(f, &inspect.Result{}, marker)
	require.EqualError(t, err, "2 deployment(s) cannot be deployed:\n"+
		"  x.yaml:3:5: deployment \"a\": entrypoint flows/a.py:f was not inspected (is the inspect output from this file?)\n"+
		"  x.yaml:5:5: deployment \"b\": entrypoint flows/b.py:f was not inspected (is the inspect output from this file?)")
}
