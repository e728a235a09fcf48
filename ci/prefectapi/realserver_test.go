package prefectapi

// This file is an internal test so that it can read the JSON names wireDeployment
// decodes: a field added to it is checked against the real server without anyone
// editing a list here.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/acme-data/prefect-flows/ci/prefectapi/prefectapitest"
	"github.com/acme-data/prefect-flows/ci/schedule"
)

// envE2EURL names a THROWAWAY Prefect server for the opt-in tests against a real one
// (the same variable as ci/deploycli's TestRealPrefect).
const envE2EURL = "PREFECT_E2E_API_URL"

// realServerSkip is why the real-server test cannot run, "" when it can.
func realServerSkip(getenv func(string) string) string {
	if getenv(envE2EURL) == "" {
		return envE2EURL + " is not set: this test needs a THROWAWAY Prefect 2.14 server (`prefect server start`, then " +
			envE2EURL + "=http://127.0.0.1:4200/api); it creates a flow and deployments there and deletes them, so never point it at a server you care about"
	}
	return ""
}

func TestRealServerSkipReason(t *testing.T) {
	if got := realServerSkip(func(string) string { return "" }); !strings.Contains(got, envE2EURL+" is not set") || !strings.Contains(got, "THROWAWAY") {
		t.Errorf("skip reason %q", got)
	}
	if got := realServerSkip(func(string) string { return "http://127.0.0.1:4200/api" }); got != "" {
		t.Errorf("skips with the URL set: %q", got)
	}
}

// jsonNames are the JSON names of a struct's fields.
func jsonNames(v any) []string {
	var out []string
	rt := reflect.TypeOf(v)
	for i := 0; i < rt.NumField(); i++ {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// scheduleShapes are the two ways a server states the schedule: 2.14 (`schedule` +
// `is_schedule_active`) and 2.16+ (`schedules` + `paused`). Deployment reads either,
// so a server needs to send one of them whole, not both.
var scheduleShapes = [][]string{{"schedule", "is_schedule_active"}, {"schedules", "paused"}}

func TestScheduleShapesAreDecoded(t *testing.T) {
	names := map[string]bool{}
	for _, n := range jsonNames(wireDeployment{}) {
		names[n] = true
	}
	for _, shape := range scheduleShapes {
		for _, k := range shape {
			if !names[k] {
				t.Errorf("wireDeployment does not decode %q: update scheduleShapes", k)
			}
		}
	}
}

// checkDeploymentKeys fails unless got holds every top-level key Deployment decodes
// (one schedule shape whole) and exactly the keys the fake answers with.
// prefect3Only are members prefectapi.Deployment decodes from a Prefect 3 server (see
// testdata/observed3.json; prefect3test holds the fake for 3.x to a real 3.8.3) that a
// 2.14 server does not send: absent there, they decode as "not set".
var prefect3Only = map[string]bool{"job_variables": true, "concurrency_limit": true, "global_concurrency_limit": true}

func checkDeploymentKeys(t *testing.T, what string, got, fake map[string]json.RawMessage) {
	t.Helper()
	inShape := map[string]bool{}
	for _, shape := range scheduleShapes {
		for _, k := range shape {
			inShape[k] = true
		}
	}
	for _, k := range jsonNames(wireDeployment{}) {
		if _, ok := got[k]; !ok && !inShape[k] && !prefect3Only[k] {
			t.Errorf("%s: the real server sends no %q, which prefectapi.Deployment decodes", what, k)
		}
	}
	whole := false
	for _, shape := range scheduleShapes {
		all := true
		for _, k := range shape {
			_, ok := got[k]
			all = all && ok
		}
		whole = whole || all
	}
	if !whole {
		t.Errorf("%s: the real server sends neither schedule shape %v whole (keys %v)", what, scheduleShapes, keysOf(got))
	}
	sameKeys(t, what, got, fake)
}

// sameKeys fails unless the real and the fake answer have the same top-level keys.
func sameKeys(t *testing.T, what string, live, fake map[string]json.RawMessage) {
	t.Helper()
	if a, b := keysOf(live), keysOf(fake); strings.Join(a, ",") != strings.Join(b, ",") {
		t.Errorf("%s: the real server and the fake (prefectapitest) answer with different keys:\nonly real: %v\nonly fake: %v", what, minus(a, b), minus(b, a))
	}
}

func keysOf(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func minus(a, b []string) []string {
	in := map[string]bool{}
	for _, k := range b {
		in[k] = true
	}
	out := []string{}
	for _, k := range a {
		if !in[k] {
			out = append(out, k)
		}
	}
	return out
}

// scheduleObject is the schedule object of a deployment in either shape, nil when none.
func scheduleObject(t *testing.T, d map[string]json.RawMessage) map[string]json.RawMessage {
	t.Helper()
	var s map[string]json.RawMessage
	if raw, ok := d["schedule"]; ok {
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("schedule: %v", err)
		}
		return s
	}
	var list []struct {
		Schedule map[string]json.RawMessage `json:"schedule"`
	}
	if err := json.Unmarshal(d["schedules"], &list); err != nil {
		t.Fatalf("schedules: %v", err)
	}
	if len(list) == 0 {
		return nil
	}
	return list[0].Schedule
}

// TestRealServerShapes creates the recorded deployments (api-filter-sample.json, as the
// fake serves them) on a real server through the API, reads them back by name, by id
// and through the filter, and checks that the real answers carry every key
// prefectapi.Deployment decodes, the same keys as the fake's answers (schedule objects
// included), and decode to the same values.
func TestRealServerShapes(t *testing.T) {
	if skip := realServerSkip(os.Getenv); skip != "" {
		t.Skip(skip)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	live, err := New(os.Getenv(envE2EURL), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := live.Health(ctx); err != nil {
		t.Fatalf("%s is set, so the server must answer: %v", envE2EURL, err)
	}
	fakeServer := prefectapitest.New(t)
	fake, err := New(fakeServer.URL, "")
	if err != nil {
		t.Fatal(err)
	}

	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	prefix := "e2e-shape-" + hex.EncodeToString(b)
	// A flow of its own: deleting it at the end leaves nothing of this test behind.
	var flow map[string]json.RawMessage
	if err := live.do(ctx, "POST", "/flows/", map[string]any{"name": prefix}, &flow); err != nil {
		t.Fatal(err)
	}
	var flowID string
	if err := json.Unmarshal(flow["id"], &flowID); err != nil || flowID == "" {
		t.Fatalf("flow id in %s: %v", flow["id"], err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := live.do(ctx, "DELETE", "/flows/"+url.PathEscape(flowID), nil, nil); err != nil {
			t.Errorf("cleanup: delete flow %s (%s): %v", prefix, flowID, err)
		}
	})
	var fakeFlow map[string]json.RawMessage
	if err := fake.do(ctx, "GET", "/flows/"+prefectapitest.HelloFlowID, nil, &fakeFlow); err != nil {
		t.Fatal(err)
	}
	var realFlow map[string]json.RawMessage
	if err := live.do(ctx, "GET", "/flows/"+url.PathEscape(flowID), nil, &realFlow); err != nil {
		t.Fatal(err)
	}
	sameKeys(t, "GET /flows/{id}", realFlow, fakeFlow)

	for _, rec := range []string{"RecCron", "RecInterval", "RecRrule", "RecNoSched"} {
		t.Run(rec, func(t *testing.T) {
			var recorded map[string]json.RawMessage
			if err := fake.do(ctx, "GET", "/deployments/name/hello/"+rec, nil, &recorded); err != nil {
				t.Fatal(err)
			}
			name := prefix + "-" + rec
			// Pool and queue are left out: the recorded ones need not exist there, and
			// a queue named here would be created and outlive the test.
			body := map[string]any{"name": name, "flow_id": flowID, "is_schedule_active": false}
			for _, k := range []string{"schedule", "parameters", "tags", "version", "description", "entrypoint", "path", "infra_overrides"} {
				body[k] = recorded[k]
			}
			var created struct {
				ID string `json:"id"`
			}
			if err := live.do(ctx, "POST", "/deployments/", body, &created); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if err := live.DeleteDeployment(ctx, created.ID); err != nil {
					t.Errorf("cleanup: delete %s: %v", name, err)
				}
			})

			var byName, byID map[string]json.RawMessage
			if err := live.do(ctx, "GET", "/deployments/name/"+url.PathEscape(prefix)+"/"+url.PathEscape(name), nil, &byName); err != nil {
				t.Fatal(err)
			}
			checkDeploymentKeys(t, "GET /deployments/name/{flow}/{name}", byName, recorded)
			if err := live.do(ctx, "GET", "/deployments/"+url.PathEscape(created.ID), nil, &byID); err != nil {
				t.Fatal(err)
			}
			var fakeByID map[string]json.RawMessage
			var recID string
			_ = json.Unmarshal(recorded["id"], &recID)
			if err := fake.do(ctx, "GET", "/deployments/"+url.PathEscape(recID), nil, &fakeByID); err != nil {
				t.Fatal(err)
			}
			checkDeploymentKeys(t, "GET /deployments/{id}", byID, fakeByID)
			filter := func(c *Client, name string) map[string]json.RawMessage {
				var list []map[string]json.RawMessage
				body := map[string]any{"deployments": map[string]any{"name": map[string]any{"any_": []string{name}}}, "limit": 10, "offset": 0}
				if err := c.do(ctx, "POST", "/deployments/filter", body, &list); err != nil {
					t.Fatal(err)
				}
				if len(list) != 1 {
					t.Fatalf("POST /deployments/filter for %s: %d answers", name, len(list))
				}
				return list[0]
			}
			checkDeploymentKeys(t, "POST /deployments/filter", filter(live, name), filter(fake, rec))

			realSched, fakeSched := scheduleObject(t, byName), scheduleObject(t, recorded)
			if (realSched == nil) != (fakeSched == nil) {
				t.Fatalf("schedule: real %v, fake %v", realSched, fakeSched)
			}
			if realSched != nil {
				sameKeys(t, "the schedule object", realSched, fakeSched)
			}

			// The typed view agrees too.
			var got, want Deployment
			if err := json.Unmarshal(mustJSON(t, byName), &got); err != nil {
				t.Fatalf("decode the real answer: %v", err)
			}
			if err := json.Unmarshal(mustJSON(t, recorded), &want); err != nil {
				t.Fatal(err)
			}
			if msg := sameSchedule(got.Schedule, want.Schedule); msg != "" {
				t.Errorf("schedule: %s", msg)
			}
			if g, w := fmt.Sprint(got.Parameters, got.Tags, got.Version, got.Entrypoint, got.Path), fmt.Sprint(want.Parameters, want.Tags, want.Version, want.Entrypoint, want.Path); g != w {
				t.Errorf("parameters, tags, version, entrypoint, path: real %s, recorded %s", g, w)
			}
			if got.ScheduleActive {
				t.Error("is_schedule_active false reads back as active")
			}
		})
	}

	t.Run("work pools", func(t *testing.T) {
		var realPools, fakePools []map[string]json.RawMessage
		if err := live.do(ctx, "POST", "/work_pools/filter", map[string]any{"limit": 10, "offset": 0}, &realPools); err != nil {
			t.Fatal(err)
		}
		if err := fake.do(ctx, "POST", "/work_pools/filter", map[string]any{"limit": 10, "offset": 0}, &fakePools); err != nil {
			t.Fatal(err)
		}
		if len(realPools) == 0 {
			t.Fatal("the real server has no work pool (a 2.14 server has default-agent-pool)")
		}
		for _, k := range jsonNames(WorkPool{}) {
			if _, ok := realPools[0][k]; !ok {
				t.Errorf("work pool: the real server sends no %q, which prefectapi.WorkPool decodes", k)
			}
		}
		sameKeys(t, "POST /work_pools/filter", realPools[0], fakePools[0])
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameSchedule compares two decoded schedules; anchors as instants.
func sameSchedule(a, b *schedule.Schedule) string {
	if a == nil || b == nil {
		if a != b {
			return fmt.Sprintf("real %+v, recorded %+v", a, b)
		}
		return ""
	}
	x, y := *a, *b
	if !x.Anchor.Time.Equal(y.Anchor.Time) {
		return fmt.Sprintf("anchor real %s, recorded %s", x.Anchor.Text, y.Anchor.Text)
	}
	x.Anchor, y.Anchor = schedule.Anchor{}, schedule.Anchor{}
	if !reflect.DeepEqual(x, y) {
		return fmt.Sprintf("real %+v, recorded %+v", x, y)
	}
	return ""
}
