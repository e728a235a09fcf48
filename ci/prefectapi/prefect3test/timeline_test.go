package prefect3test

// The recorded timeline: every request/answer pair of ../shared/prefect3/recorded, in the
// order the real server saw them, so each answer is replayed against the state it was
// given in. Steps marked setup rebuild what the recordings did not capture (the two work
// pools, flows made by SDK calls whose POST /flows/ was not logged, four older
// deployments); their expected answers come from the recorded filter answers.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// step is one request with the real server's recorded answer.
type step struct {
	Name         string
	Method, Path string
	Body         json.RawMessage // nil: no body
	Status       int             // 0: not recorded (setup steps)
	Resp         any             // the recorded JSON answer
	HasResp      bool            // false: the answer was not recorded (or elided)
	Setup        bool
	Probe        bool // from testdata/probes.json, not from the recordings
}

// orderedKeys lists the keys of a JSON object in file order.
func orderedKeys(raw []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, t.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

func readRecorded(rel string) ([]byte, error) {
	dir, err := RecordedDir()
	if err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
}

func decodeAny(raw []byte) (any, error) {
	var v any
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	err := json.Unmarshal(raw, &v)
	return v, err
}

// elidedSchema is how redeploy/*.json write parameter_openapi_schema.
const elidedSchema = `"<elided: same as schemas/daily_etl.json>"`

type timelineBuilder struct {
	steps  []step
	schema []byte // schemas/daily_etl.json stored_parameter_openapi_schema
	err    error
}

func (b *timelineBuilder) add(s step) { b.steps = append(b.steps, s) }

func (b *timelineBuilder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// exchanges adds the exchanges of a `{seq, method, path, req, status, resp}` file for which
// keep is true (all when keep is nil).
func (b *timelineBuilder) exchanges(rel string, keep func(seq int) bool) {
	raw, err := readRecorded(rel)
	if err != nil {
		b.fail(err)
		return
	}
	var list []struct {
		Seq    int             `json:"seq"`
		Method string          `json:"method"`
		Path   string          `json:"path"`
		Req    json.RawMessage `json:"req"`
		Status int             `json:"status"`
		Resp   json.RawMessage `json:"resp"`
	}
	var wrapped struct {
		Exchanges json.RawMessage `json:"exchanges"`
	}
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		if err := json.Unmarshal(raw, &wrapped); err != nil {
			b.fail(fmt.Errorf("%s: %w", rel, err))
			return
		}
		raw = wrapped.Exchanges
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		b.fail(fmt.Errorf("%s: %w", rel, err))
		return
	}
	for _, e := range list {
		if keep != nil && !keep(e.Seq) {
			continue
		}
		resp, err := decodeAny(e.Resp)
		if err != nil {
			b.fail(fmt.Errorf("%s seq %d: %w", rel, e.Seq, err))
			return
		}
		m, _ := resp.(map[string]any)
		_, elided := m["$elided"]
		st := step{Name: fmt.Sprintf("%s#%d", rel, e.Seq), Method: e.Method, Path: e.Path, Status: e.Status,
			Resp: resp, HasResp: !elided}
		if len(e.Req) > 0 && string(e.Req) != "null" {
			st.Body = e.Req
		}
		b.add(st)
	}
}

// exchange adds one api/ or errors/ file (`{request, status, response}`).
func (b *timelineBuilder) exchange(rel string) {
	e, err := ReadExchange(rel)
	if err != nil {
		b.fail(err)
		return
	}
	resp, err := decodeAny(e.Response)
	if err != nil {
		b.fail(fmt.Errorf("%s: %w", rel, err))
		return
	}
	st := step{Name: rel, Method: e.Request.Method, Path: e.Request.Path, Status: e.Status, Resp: resp, HasResp: true}
	if len(e.Request.Body) > 0 && string(e.Request.Body) != "null" {
		st.Body = e.Request.Body
	}
	b.add(st)
}

// unelide puts the daily_etl schema back where redeploy/*.json elided it.
func (b *timelineBuilder) unelide(raw []byte) []byte {
	return bytes.ReplaceAll(raw, []byte(elidedSchema), b.schema)
}

// redeploy adds redeploy/<file>: per step the requests sent, then GET of what was held.
// A POST's answer was not recorded: it is the object the GET after it read.
func (b *timelineBuilder) redeploy(rel string) {
	raw, err := readRecorded(rel)
	if err != nil {
		b.fail(err)
		return
	}
	raw = b.unelide(raw)
	keys, err := orderedKeys(raw)
	if err != nil {
		b.fail(fmt.Errorf("%s: %w", rel, err))
		return
	}
	var all map[string]struct {
		Sent []struct {
			Method string          `json:"method"`
			Path   string          `json:"path"`
			Status int             `json:"status"`
			Body   json.RawMessage `json:"body"`
		} `json:"sent"`
		Held map[string]any `json:"held_after (GET /api/deployments/{id})"`
	}
	if err := json.Unmarshal(raw, &all); err != nil {
		b.fail(fmt.Errorf("%s: %w", rel, err))
		return
	}
	for _, k := range keys {
		st := all[k]
		for i, s := range st.Sent {
			x := step{Name: fmt.Sprintf("%s %s sent[%d]", rel, k, i), Method: s.Method, Path: s.Path, Status: s.Status, Body: s.Body}
			if s.Method == "POST" && strings.HasSuffix(s.Path, "/deployments/") {
				x.Resp, x.HasResp = any(st.Held), true
			}
			b.add(x)
		}
		b.add(step{Name: fmt.Sprintf("%s %s held_after", rel, k), Method: "GET",
			Path: "/api/deployments/" + st.Held["id"].(string), Status: 200, Resp: any(st.Held), HasResp: true})
	}
}

// postBodies adds deploy/*-post-bodies.json entries (`{request, status, response}` by
// deployment name), except those already replayed from an exchanges file.
func (b *timelineBuilder) postBodies(rel string, flowOf func(flowID string) map[string]any, skip ...string) {
	raw, err := readRecorded(rel)
	if err != nil {
		b.fail(err)
		return
	}
	keys, err := orderedKeys(raw)
	if err != nil {
		b.fail(fmt.Errorf("%s: %w", rel, err))
		return
	}
	var all map[string]struct {
		Request  json.RawMessage `json:"request"`
		Status   int             `json:"status"`
		Response map[string]any  `json:"response"`
	}
	if err := json.Unmarshal(raw, &all); err != nil {
		b.fail(fmt.Errorf("%s: %w", rel, err))
		return
	}
	created := map[string]bool{}
next:
	for _, k := range keys {
		for _, s := range skip {
			if s == k {
				continue next
			}
		}
		e := all[k]
		// The SDK's POST /flows/ before it was not logged here.
		fl := flowOf(e.Response["flow_id"].(string))
		if fl != nil && !created[fl["name"].(string)] {
			created[fl["name"].(string)] = true
			body, _ := json.Marshal(map[string]any{"name": fl["name"], "tags": []any{}, "labels": map[string]any{}})
			b.add(step{Name: rel + " setup flow " + fl["name"].(string), Method: "POST", Path: "/api/flows/", Body: body,
				Resp: fl, HasResp: true, Setup: true})
		}
		b.add(step{Name: rel + " " + k, Method: "POST", Path: "/api/deployments/", Body: e.Request, Status: e.Status,
			Resp: any(e.Response), HasResp: true})
	}
}

// createBody turns a recorded deployment into the POST body that makes it again.
func createBody(d map[string]any) json.RawMessage {
	body := map[string]any{}
	for _, k := range []string{"name", "flow_id", "paused", "concurrency_options", "enforce_parameter_schema",
		"parameter_openapi_schema", "parameters", "tags", "pull_steps", "work_queue_name", "work_pool_name",
		"description", "path", "entrypoint", "job_variables", "version"} {
		body[k] = d[k]
	}
	if g, ok := d["global_concurrency_limit"].(map[string]any); ok {
		body["concurrency_limit"] = g["limit"]
	}
	scheds := []any{}
	list, _ := d["schedules"].([]any)
	for i := len(list) - 1; i >= 0; i-- { // read back newest first
		s := list[i].(map[string]any)
		scheds = append(scheds, map[string]any{"schedule": s["schedule"], "active": s["active"],
			"max_scheduled_runs": s["max_scheduled_runs"], "parameters": s["parameters"], "slug": s["slug"]})
	}
	body["schedules"] = scheds
	raw, _ := json.Marshal(body)
	return raw
}

// recordedTimeline is every recorded exchange in the order the real server saw them.
func recordedTimeline() ([]step, error) {
	b := &timelineBuilder{}
	var schemas struct {
		Stored json.RawMessage `json:"stored_parameter_openapi_schema"`
	}
	if err := readJSON("schemas/daily_etl.json", &schemas); err != nil {
		return nil, err
	}
	b.schema = schemas.Stored

	var pools, flows, deps []map[string]any
	for rel, dst := range map[string]*[]map[string]any{"api/work-pools-filter.json": &pools,
		"api/flows-filter.json": &flows, "api/deployments-filter-all.json": &deps} {
		e, err := ReadExchange(rel)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(e.Response, dst); err != nil {
			return nil, fmt.Errorf("%s: %w", rel, err)
		}
	}
	flowByID := map[string]map[string]any{}
	for _, f := range flows {
		flowByID[f["id"].(string)] = f
	}
	flowOf := func(id string) map[string]any { return flowByID[id] }

	// Setup: the pools (process first, as recorded: its id is older), flow "f" and the
	// four deployments made before the recording started, oldest first.
	sort.Slice(pools, func(i, j int) bool { return pools[i]["created"].(string) < pools[j]["created"].(string) })
	for _, p := range pools {
		body, _ := json.Marshal(map[string]any{"name": p["name"], "type": p["type"], "base_job_template": p["base_job_template"]})
		b.add(step{Name: "setup pool " + p["name"].(string), Method: "POST", Path: "/api/work_pools/", Body: body,
			Resp: any(p), HasResp: true, Setup: true})
	}
	var old []map[string]any
	for _, d := range deps {
		if d["flow_id"] != nil && flowByID[d["flow_id"].(string)]["name"] == "f" {
			old = append(old, d)
		}
	}
	sort.Slice(old, func(i, j int) bool { return old[i]["created"].(string) < old[j]["created"].(string) })
	if len(old) > 0 {
		fl := flowByID[old[0]["flow_id"].(string)]
		body, _ := json.Marshal(map[string]any{"name": fl["name"]})
		b.add(step{Name: "setup flow f", Method: "POST", Path: "/api/flows/", Body: body, Resp: any(fl), HasResp: true, Setup: true})
	}
	for _, d := range old {
		b.add(step{Name: "setup deployment " + d["name"].(string), Method: "POST", Path: "/api/deployments/",
			Body: createBody(d), Resp: any(d), HasResp: true, Setup: true})
	}

	// 1a: Prefect's own deploys.
	b.exchanges("deploy/sdk-create.exchanges.json", nil)
	b.exchanges("deploy/sdk-update.exchanges.json", nil)
	b.postBodies("deploy/sdk-post-bodies.json", flowOf, "fs-etl") // fs-etl: sdk-create.exchanges #10
	b.exchanges("deploy/cli-deploy-all.exchanges.json", nil)      // its POSTs are cli-post-bodies.json
	// 1b: redeploys of one deployment per path.
	b.redeploy("redeploy/sdk.json")
	b.redeploy("redeploy/cli.json")
	b.redeploy("redeploy/post.json")
	// 1c: missing pool and queue, job variable validation, unknown flow.
	b.exchanges("errors/sdk-missing-pool.exchanges.json", nil)
	b.exchanges("errors/cli-missing-pool.exchanges.json", nil)
	b.exchange("errors/post-missing-pool.json")
	b.exchange("errors/queue-before.json")
	// #45 of sdk-missing-queue reads a flow that api/ makes later: it is replayed after api/.
	late := func(seq int) bool { return seq == 45 }
	b.exchanges("errors/sdk-missing-queue.exchanges.json", func(seq int) bool { return !late(seq) })
	b.exchange("errors/sdk-missing-queue-readback.json")
	b.exchange("errors/queue-after.json")
	b.exchange("errors/post-missing-queue.json")
	b.exchange("errors/post-missing-queue-queue.json")
	b.exchange("errors/post-bad-job-variable-type.json")
	b.exchange("errors/post-unknown-job-variable.json")
	b.exchange("errors/post-missing-flow.json")
	// 2: the direct API calls, in the order _index.json lists them.
	idx, err := readRecorded("api/_index.json")
	if err != nil {
		return nil, err
	}
	names, err := orderedKeys(idx)
	if err != nil {
		return nil, fmt.Errorf("api/_index.json: %w", err)
	}
	for _, n := range names {
		b.exchange("api/" + n + ".json")
	}
	b.exchanges("errors/sdk-missing-queue.exchanges.json", late)
	// extras: paused across redeploys, the concurrency limit's lifecycle under PATCH.
	b.exchanges("extras/paused-and-concurrency.exchanges.json", nil)
	if b.err != nil {
		return nil, b.err
	}
	for i := range b.steps {
		b.steps[i].Body = b.unelide(b.steps[i].Body)
	}
	return b.steps, nil
}
