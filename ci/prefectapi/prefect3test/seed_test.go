package prefect3test

import (
	"net/http"
	"strings"
	"testing"
)

// New seeds the recorded pools: each reads back exactly as the real server answered it.
func TestNewSeedsRecordedPools(t *testing.T) {
	f := New(t)
	for _, rel := range []string{"api/work-pool-pool.json", "api/work-pool-ecs-pool.json", "api/work-pools-filter.json"} {
		e, err := ReadExchange(rel)
		if err != nil {
			t.Fatal(err)
		}
		s := step{Name: rel, Method: e.Request.Method, Path: e.Request.Path, Body: e.Request.Body, Status: e.Status, HasResp: true}
		if s.Resp, err = decodeAny(e.Response); err != nil {
			t.Fatal(err)
		}
		if string(s.Body) == "null" {
			s.Body = nil
		}
		got, err := send(http.DefaultClient, f.URL, s, newIDMap())
		if err != nil {
			t.Fatal(err)
		}
		ids := newIDMap()
		if d := check(s, got, ids); len(d) > 0 {
			t.Errorf("%s:\n  %s", rel, strings.Join(d, "\n  "))
		}
		for a, b := range ids.fwd {
			if a != b {
				t.Errorf("%s: recorded id %s reads back as %s", rel, a, b)
			}
		}
	}
	g := New(t, Empty())
	resp, err := http.Get(g.URL + "/work_pools/pool")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("Empty(): GET /work_pools/pool = %d, want 404", resp.StatusCode)
	}
}

// Deployment and Requests let a deployer's test look at what it did.
func TestDeploymentAndRequests(t *testing.T) {
	f := New(t)
	post := func(path, body string) {
		t.Helper()
		resp, err := http.Post(f.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("POST %s = %d", path, resp.StatusCode)
		}
	}
	post("/flows/", `{"name":"daily-etl"}`)
	reqs := f.Requests()
	if len(reqs) != 1 || reqs[0].Method != "POST" || reqs[0].Path != "/flows/" {
		t.Fatalf("requests %+v", reqs)
	}
	var flowID string
	f.mu.Lock()
	for id := range f.flows {
		flowID = id
	}
	f.mu.Unlock()
	post("/deployments/", `{"name":"d","flow_id":"`+flowID+`","work_pool_name":"pool","work_queue_name":"q","concurrency_limit":3}`)
	d, ok := f.Deployment("daily-etl", "d")
	if !ok {
		t.Fatal("deployment daily-etl/d not found")
	}
	if d["work_queue_name"] != "q" || d["concurrency_limit"] != nil || d["global_concurrency_limit"].(map[string]any)["limit"] != 3.0 {
		t.Errorf("deployment %v", d)
	}
	if _, ok := f.Deployment("daily-etl", "nope"); ok {
		t.Error("found a deployment that does not exist")
	}
	f.ResetRequests()
	if len(f.Requests()) != 0 {
		t.Error("ResetRequests kept requests")
	}
}
