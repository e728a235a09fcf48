package deployer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deployer"
	"github.com/acme-data/prefect-flows/ci/desired"
	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefect3test"
	"github.com/acme-data/prefect-flows/ci/schedule"
)

// cases3 is testdata/prefect3/cases.json: desired states applied in order by the Prefect
// 3 writer, each followed by a read-back compared field by field. The same file drives
// the fake (TestPrefect3Writer) and a real server (TestRealPrefect3Writer).
type cases3 struct {
	Workdir string               `json:"workdir"`
	Flows   map[string]flowCase3 `json:"flows"`
	Cases   []struct {
		Name  string      `json:"name"`
		Steps []stepCase3 `json:"steps"`
	} `json:"cases"`
}

type flowCase3 struct {
	Entrypoint  string          `json:"entrypoint"`
	Version     *string         `json:"version"`
	Description *string         `json:"description"`
	Schema      json.RawMessage `json:"schema"`
}

type stepCase3 struct {
	Dep *depCase3 `json:"dep"`
	// Patch is sent as PATCH /deployments/{id}: a change made outside the file.
	Patch map[string]any `json:"patch"`
	Want  struct {
		Created *bool          `json:"created"`
		SameID  bool           `json:"same_id"`
		Error   string         `json:"error"`
		Read    map[string]any `json:"read"`
	} `json:"want"`
}

// depCase3 is a desired.Deployment in short form.
type depCase3 struct {
	Name      string `json:"name"`
	Flow      string `json:"flow"`
	Pool      string `json:"pool"`
	Queue     string `json:"queue"`
	Schedules []struct {
		Cron     string `json:"cron"`
		Interval int64  `json:"interval"`
		Anchor   string `json:"anchor"`
		RRule    string `json:"rrule"`
		Timezone string `json:"timezone"`
		Inactive bool   `json:"inactive"`
	} `json:"schedules"`
	Tags             []string        `json:"tags"`
	Parameters       json.RawMessage `json:"parameters"`
	JobVariables     json.RawMessage `json:"job_variables"`
	Image            string          `json:"image"`
	Paused           *bool           `json:"paused"`
	ConcurrencyLimit *int64          `json:"concurrency_limit"`
	Enforce          *bool           `json:"enforce_parameter_schema"`
	Version          *string         `json:"version"`
	Description      *string         `json:"description"`
}

func loadCases3(t testing.TB) cases3 {
	t.Helper()
	raw, err := os.ReadFile("testdata/prefect3/cases.json")
	require.NoError(t, err)
	var c cases3
	require.NoError(t, json.Unmarshal(raw, &c))
	require.NotEmpty(t, c.Cases)
	return c
}

// typed decodes JSON the way the file loader types values: whole numbers int64, other
// numbers float64.
func typed(t testing.TB, raw json.RawMessage) map[string]any {
	t.Helper()
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v map[string]any
	require.NoError(t, dec.Decode(&v))
	return fixNumbers(v).(map[string]any)
}

func fixNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = fixNumbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = fixNumbers(x[k])
		}
	}
	return v
}

// desiredOf builds the desired state of c; suffix is added to the flow name.
func (cs cases3) desiredOf(t testing.TB, c *depCase3, suffix string) desired.Deployment {
	t.Helper()
	fl, ok := cs.Flows[c.Flow]
	require.True(t, ok, "flow %q is not in the flows of cases.json", c.Flow)
	d := desired.Deployment{
		Name: c.Name, FlowName: c.Flow + suffix, Entrypoint: fl.Entrypoint, SourceEntrypoint: fl.Entrypoint,
		Parameters: typed(t, c.Parameters), ParameterSchema: fl.Schema, Tags: c.Tags,
		Version: fl.Version, Description: fl.Description, WorkPool: c.Pool, WorkQueue: c.Queue,
		JobVariables: typed(t, c.JobVariables), Image: c.Image, Paused: c.Paused,
		ConcurrencyLimit: c.ConcurrencyLimit, EnforceParameterSchema: c.Enforce,
	}
	if d.Parameters == nil {
		d.Parameters = map[string]any{}
	}
	if d.Tags == nil {
		d.Tags = []string{}
	}
	if c.Version != nil {
		d.Version = c.Version
	}
	if c.Description != nil {
		d.Description = c.Description
	}
	for _, s := range c.Schedules {
		sch := schedule.Schedule{Timezone: s.Timezone, Inactive: s.Inactive}
		switch {
		case s.Cron != "":
			sch.Kind, sch.Cron = schedule.Cron, s.Cron
		case s.Interval > 0:
			sch.Kind, sch.IntervalSeconds = schedule.Interval, int64(s.Interval)
			if s.Anchor != "" {
				a, err := schedule.ParseAnchor(s.Anchor)
				require.NoError(t, err)
				sch.Anchor = a
			}
		default:
			sch.Kind, sch.RRule = schedule.RRule, s.RRule
		}
		d.Schedules = append(d.Schedules, sch)
	}
	return d
}

// observed3 is a deployment as read back, in the terms of cases.json: schedules as
// [{schedule, active}] in a stable order, concurrency_limit as the limit of the global
// concurrency limit the server keeps for it.
func observed3(v map[string]any) map[string]any {
	out := map[string]any{}
	for k, val := range v {
		out[k] = val
	}
	var scheds []any
	for _, s := range asList(v["schedules"]) {
		m := s.(map[string]any)
		scheds = append(scheds, map[string]any{"schedule": m["schedule"], "active": m["active"]})
	}
	out["schedules"] = sortedByJSON(scheds)
	out["concurrency_limit"] = nil
	if g, ok := v["global_concurrency_limit"].(map[string]any); ok {
		out["concurrency_limit"] = g["limit"]
	}
	return out
}

func asList(v any) []any { l, _ := v.([]any); return l }

// sortedByJSON orders a list by each item's JSON text: the server's schedule order is
// by update time, which ties within one write.
func sortedByJSON(l []any) []any {
	out := append([]any{}, l...)
	key := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	sort.SliceStable(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

// normJSON round-trips v through JSON so numbers compare as float64 on both sides.
func normJSON(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// target3 is a Prefect 3 API the cases run against.
type target3 struct {
	url    string
	client *prefectapi.Client
	// suffix is added to every flow name (a real server keeps earlier runs).
	suffix string
	// bodies, when set, returns the POST /deployments/ bodies sent since its last call.
	bodies func() []string
}

// getDeployment reads GET /deployments/{id} as the server answers it.
func (tg target3) getDeployment(t testing.TB, id string) map[string]any {
	t.Helper()
	status, raw, err := prefect3test.Call("GET", tg.url+"/deployments/"+id, nil) // retries a real server's 503
	require.NoError(t, err)
	require.Equal(t, 200, status, "GET /deployments/%s: %s", id, raw)
	var v map[string]any
	require.NoError(t, json.Unmarshal(raw, &v))
	return v
}

// runCases3 applies every case of cases.json to tg, one writer per step (as one
// `apply` run each), and checks each step's outcome and read-back.
func runCases3(t *testing.T, tg target3) {
	cs := loadCases3(t)
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, c := range cs.Cases {
		t.Run(c.Name, func(t *testing.T) {
			var id string
			for i, st := range c.Steps {
				ctx := context.Background()
				where := fmt.Sprintf("step %d", i+1)
				if st.Patch != nil {
					require.NotEmpty(t, id, "%s: a patch needs a deployment made by an earlier step", where)
					require.NoError(t, tg.client.PatchDeployment(ctx, id, st.Patch), where)
				}
				if st.Dep != nil {
					dep := cs.desiredOf(t, st.Dep, tg.suffix)
					if tg.bodies != nil {
						tg.bodies() // forget the requests of earlier steps
					}
					w := deployer.New3(tg.client, cs.Workdir)
					w.Now = func() time.Time { return now }
					require.NoError(t, w.Prepare(ctx, []desired.Deployment{dep}), where)
					out, err := w.Deploy(ctx, dep)
					if st.Want.Error != "" {
						require.Error(t, err, where)
						assert.Contains(t, err.Error(), st.Want.Error, where)
					} else {
						require.NoError(t, err, where)
					}
					if st.Want.Created != nil {
						assert.Equal(t, *st.Want.Created, out.Created, "%s: created", where)
					}
					if st.Want.SameID {
						assert.Equal(t, id, out.ID, "%s: the upsert keeps the deployment's id", where)
					}
					if out.ID != "" {
						id = out.ID
					}
					if tg.bodies != nil {
						checkBodies3(t, where, dep, tg.bodies())
					}
				}
				if st.Want.Read != nil {
					require.NotEmpty(t, id, "%s: nothing to read back", where)
					got := observed3(tg.getDeployment(t, id))
					for k, want := range st.Want.Read {
						if k == "schedules" {
							want = sortedByJSON(asList(want))
						}
						assert.Equal(t, normJSON(t, want), normJSON(t, got[k]), "%s: %s read back", where, k)
					}
				}
			}
		})
	}
}

// checkBodies3 checks the rules of the POST body that a read-back cannot show.
func checkBodies3(t *testing.T, where string, dep desired.Deployment, bodies []string) {
	t.Helper()
	require.Len(t, bodies, 1, "%s: one POST /deployments/ per deployment", where)
	var b map[string]any
	require.NoError(t, json.Unmarshal([]byte(bodies[0]), &b))
	_, pool := b["work_pool_name"]
	_, queue := b["work_queue_name"]
	assert.True(t, pool && queue, "%s: work_pool_name and work_queue_name are sent together: %s", where, bodies[0])
	_, paused := b["paused"]
	assert.Equal(t, dep.Paused != nil, paused, "%s: paused is sent only when the file says it", where)
	_, scheds := b["schedules"]
	assert.True(t, scheds, "%s: the complete schedules list is always sent", where)
	if dep.Image != "" {
		assert.True(t, strings.Contains(bodies[0], `"image": "`+dep.Image+`"`), "%s: the image is job_variables.image byte for byte", where)
	}
}
