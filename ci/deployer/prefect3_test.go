package deployer_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deployer"
	"github.com/acme-data/prefect-flows/ci/desired"
	"github.com/acme-data/prefect-flows/ci/internal/shareddata"
	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefect3test"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefectapitest"
	"github.com/acme-data/prefect-flows/ci/schedule"
)

// The Prefect 3 writer against the fake 3.8.3 API: every case of cases.json (create,
// update, schedule removal, paused kept, job variables cleared, digest exact, queue and
// pool together, concurrency limit removed, the server's refusals), and the rules of
// each POST body.
func TestPrefect3Writer(t *testing.T) {
	fake := prefect3test.New(t)
	client, err := prefectapi.New(fake.URL, "", prefectapi.WithRetry(prefectapi.RetryPolicy{MaxAttempts: 1}))
	require.NoError(t, err)
	runCases3(t, target3{url: fake.URL, client: client, bodies: func() []string {
		var out []string
		for _, r := range fake.Requests() {
			if r.Method == "POST" && r.Path == "/deployments/" {
				out = append(out, string(r.Body))
			}
		}
		fake.ResetRequests()
		return out
	}})
}

// The body is the body Prefect 3.8.3's `prefect deploy` sent for the same deployment
// (deploy/cli-post-bodies.json), key for key and value for value, except `paused`,
// which the CLI always sends (false) and the writer only when the file says it.
func TestBody3IsTheRecordedCLIBodyButPaused(t *testing.T) {
	shared, err := shareddata.Dir()
	require.NoError(t, err)
	raw, err := os.ReadFile(shared + "/prefect3/recorded/deploy/cli-post-bodies.json")
	require.NoError(t, err)
	var rec map[string]struct {
		Request map[string]any `json:"request"`
	}
	require.NoError(t, json.Unmarshal(raw, &rec))
	for _, name := range []string{"yaml-etl-cron", "yaml-etl-interval", "yaml-report-rrule", "yaml-report-noschedule", "yaml-etl-ecs"} {
		t.Run(name, func(t *testing.T) {
			sent := rec[name].Request
			require.NotNil(t, sent, "no recorded body for %s", name)
			dep := fromRecordedBody(t, sent)
			body, err := deployer.Body3(dep, sent["flow_id"].(string), "/opt/prefect", time.Now())
			require.NoError(t, err)
			var got map[string]any
			require.NoError(t, json.Unmarshal(body, &got))
			assert.Equal(t, false, sent["paused"])
			delete(sent, "paused")
			assert.Equal(t, sent, got)
		})
	}
}

// fromRecordedBody is the desired state a deployments file would give for a recorded
// CLI body: the values of its prefect.yaml, the rrule as written there (no DTSTART), an
// image given as job_variables.image, the flow's own version and description.
func fromRecordedBody(t *testing.T, b map[string]any) desired.Deployment {
	t.Helper()
	str := func(v any) string { s, _ := v.(string); return s }
	dep := desired.Deployment{
		Name: b["name"].(string), Entrypoint: b["entrypoint"].(string),
		ParameterSchema: mustJSON(t, b["parameter_openapi_schema"]),
		Parameters:      b["parameters"].(map[string]any),
		WorkPool:        str(b["work_pool_name"]), WorkQueue: str(b["work_queue_name"]),
	}
	for _, tag := range b["tags"].([]any) {
		dep.Tags = append(dep.Tags, tag.(string))
	}
	if v, ok := b["version"].(string); ok {
		dep.Version = &v
	}
	if d := b["description"].(string); d != deployer.NoDescription {
		dep.Description = &d
	}
	if l, ok := b["concurrency_limit"].(float64); ok {
		n := int64(l)
		dep.ConcurrencyLimit = &n
	}
	if e := b["enforce_parameter_schema"].(bool); !e {
		dep.EnforceParameterSchema = &e
	}
	jv := b["job_variables"].(map[string]any)
	for k, v := range jv {
		if k == "image" {
			dep.Image = v.(string)
			continue
		}
		if dep.JobVariables == nil {
			dep.JobVariables = map[string]any{}
		}
		dep.JobVariables[k] = v
	}
	for _, s := range b["schedules"].([]any) {
		item := s.(map[string]any)
		sch := item["schedule"].(map[string]any)
		ds := schedule.Schedule{Timezone: str(sch["timezone"]), Inactive: item["active"] == false}
		switch {
		case sch["cron"] != nil:
			ds.Kind, ds.Cron = schedule.Cron, sch["cron"].(string)
		case sch["interval"] != nil:
			ds.Kind, ds.IntervalSeconds = schedule.Interval, int64(sch["interval"].(float64))
			a, err := schedule.ParseAnchor(sch["anchor_date"].(string))
			require.NoError(t, err)
			ds.Anchor = a
		default:
			rule := sch["rrule"].(string)
			require.Contains(t, rule, "DTSTART:20200101T000000\n")
			ds.Kind, ds.RRule = schedule.RRule, rule[len("DTSTART:20200101T000000\n"):]
		}
		dep.Schedules = append(dep.Schedules, ds)
	}
	return dep
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

type versionStub struct {
	v   string
	err error
}

func (s versionStub) AdminVersion(context.Context) (string, error) { return s.v, s.err }

func TestServerMajor(t *testing.T) {
	for _, tc := range []struct {
		v, wantErr string
		want       int
	}{
		{v: "3.8.3", want: 3},
		{v: "2.14.21", want: 2},
		{v: "3.9.0rc1", want: 3},
		{v: "nightly", wantErr: `"nightly" is not MAJOR.MINOR.PATCH`},
		{v: "", wantErr: "is not MAJOR.MINOR.PATCH"},
	} {
		got, _, err := deployer.ServerMajor(context.Background(), versionStub{v: tc.v})
		if tc.wantErr != "" {
			assert.ErrorContains(t, err, tc.wantErr, tc.v)
			continue
		}
		require.NoError(t, err, tc.v)
		assert.Equal(t, tc.want, got, tc.v)
	}
	_, _, err := deployer.ServerMajor(context.Background(), versionStub{err: errors.New("refused")})
	assert.ErrorContains(t, err, "read the server's Prefect version: refused")
}

// ForServer picks the writer from GET /api/admin/version: the fake 3.8.3 gets the
// Prefect 3 writer, the fake 2.14 the Prefect 2 one.
func TestForServerPicksTheMajorsWriter(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
		want any
	}{
		{"prefect3", func(t *testing.T) string { return prefect3test.New(t).URL }, &deployer.Deployer3{}},
		{"prefect2", func(t *testing.T) string { return prefectapitest.New(t).URL }, &deployer.Deployer{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, err := prefectapi.New(tc.url(t), "")
			require.NoError(t, err)
			w, _, err := deployer.ForServer(context.Background(), client, "/opt/prefect")
			require.NoError(t, err)
			assert.IsType(t, tc.want, w)
		})
	}
}

// Prepare refuses, before any write, deployments without a pool and a writer without
// the working directory of its pull step.
func TestPrefect3PrepareRefuses(t *testing.T) {
	w := deployer.New3(nil, "")
	err := w.Prepare(context.Background(), []desired.Deployment{{Name: "a", FlowName: "f"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nothing was deployed")
	assert.Contains(t, err.Error(), "no working directory")
	assert.Contains(t, err.Error(), "f/a: no work pool")
}
