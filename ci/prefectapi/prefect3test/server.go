// Package prefect3test is a fake Prefect 3.8.3 REST API for tests: an httptest server on
// 127.0.0.1 holding work pools, work queues, flows and deployments in memory, built from
// what a real 3.8.3 server answered (../shared/prefect3/recorded, FACTS.md there).
//
// It answers the deploy path the way the real server does:
//   - POST /flows/ upserts by name (201 new, 200 existing); POST /deployments/ upserts by
//     (flow_id, name) (201 new, 200 existing, same id): keys present replace, omitted keys
//     are kept, except parameters (reset to {}) and schedules (always deleted and recreated,
//     none when omitted);
//   - PATCH /deployments/{id} (204) replaces the keys present, schedules included; keeps
//     them when absent; `job_variables: {}` is ignored by both PATCH and POST;
//   - concurrency_limit N becomes a global concurrency limit "deployment:<id>", read back as
//     concurrency_limit null plus global_concurrency_limit; null deletes it;
//   - an unknown work queue is created in the pool; an unknown pool is 404; an unknown
//     flow_id is 409; job_variables are checked against the pool's base job template;
//   - errors have the server's shapes: 422 {"exception_message","exception_detail",
//     "request_body"} for body validation, {"detail": ...} for domain errors ("Deployment
//     not found" on GET/DELETE, "Deployment not found." on PATCH), 404 "Not Found" for an
//     id that is not a UUID, 500 for a body that is not an object;
//   - GET /admin/version is "3.8.3"; GET /csrf-token is 422 (CSRF protection disabled).
//
// New seeds the two recorded work pools ("pool", process; "ecs-pool", ECS from prefect-aws)
// with their recorded ids and default queues; Empty starts with none.
package prefect3test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Version is the server version the fake reports.
const Version = "3.8.3"

// Request is one request the fake received.
type Request struct {
	Method string
	Path   string // without the /api prefix
	Query  string
	Body   []byte
}

// Server is the fake API. URL is the base to use as PREFECT_API_URL (ends in /api).
type Server struct {
	URL string
	srv *httptest.Server
	rec *Recorded

	mu       sync.Mutex
	pools    map[string]map[string]any   // by name
	queues   map[string][]map[string]any // by pool name, in creation order
	flows    map[string]map[string]any   // by id
	deps     map[string]*deployment      // by id
	blocks   map[string]*blockDoc        // by id
	requests []Request
	now      func() time.Time
}

// Option configures New.
type Option func(*Server)

// Empty starts with no work pools (the recorded ones are not seeded).
func Empty() Option {
	return func(f *Server) { f.pools = map[string]map[string]any{}; f.queues = map[string][]map[string]any{} }
}

// New starts a fake; it stops when the test ends. Missing recordings fail the test.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	f, err := Start(opts...)
	if err != nil {
		t.Fatalf("prefect3test: %v", err)
	}
	t.Cleanup(f.Close)
	return f
}

// Start starts a fake without a testing.TB; Close stops it.
func Start(opts ...Option) (*Server, error) {
	rec, err := LoadRecorded()
	if err != nil {
		return nil, err
	}
	f := &Server{rec: rec, pools: map[string]map[string]any{}, queues: map[string][]map[string]any{},
		flows: map[string]map[string]any{}, deps: map[string]*deployment{}, now: time.Now}
	for _, p := range rec.Pools {
		name := p["name"].(string)
		f.pools[name] = clone(p)
		if q := rec.Queues[name]; q != nil {
			f.queues[name] = []map[string]any{clone(q)}
		}
	}
	for _, o := range opts {
		o(f)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL + "/api"
	return f, nil
}

// Close stops the server.
func (f *Server) Close() { f.srv.Close() }

// Requests returns a copy of the requests received so far.
func (f *Server) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// ResetRequests forgets the requests received so far.
func (f *Server) ResetRequests() { f.mu.Lock(); f.requests = nil; f.mu.Unlock() }

// Deployment returns the deployment (flow name, deployment name) as GET answers it.
func (f *Server) Deployment(flow, name string) (map[string]any, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.byNameLocked(flow, name)
	if d == nil {
		return nil, false
	}
	return toMap(d.view()), true
}

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// stamp is the server's timestamp format (microseconds, Z).
func (f *Server) stamp() string { return f.now().UTC().Format("2006-01-02T15:04:05.000000Z") }

func toMap(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return m
}

// answer is the fake's reply to one request: status and JSON body, or no body at all.
type answer struct {
	status int
	body   any
	empty  bool // no body (204)
}

func reply(status int, body any) answer { return answer{status: status, body: body} }
func noContent() answer                 { return answer{status: http.StatusNoContent, empty: true} }
func detail(status int, msg string) answer {
	return reply(status, map[string]any{"detail": msg})
}
func notFound() answer { return detail(http.StatusNotFound, "Not Found") }

func (f *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	path := strings.TrimPrefix(r.URL.Path, "/api")
	f.mu.Lock()
	f.requests = append(f.requests, Request{Method: r.Method, Path: path, Query: r.URL.RawQuery, Body: body})
	a := f.route(r.Method, path, r.URL.Query(), body)
	f.mu.Unlock()
	if a.empty {
		w.WriteHeader(a.status)
		return
	}
	b, err := json.Marshal(a.body)
	if err != nil {
		panic(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	_, _ = w.Write(b)
}

// route answers one request; f.mu is held.
func (f *Server) route(method, path string, query url.Values, raw []byte) answer {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range seg {
		if u, err := url.PathUnescape(s); err == nil {
			seg[i] = u
		}
	}
	is := func(m string, n int) bool { return method == m && len(seg) == n }
	switch {
	case is("GET", 2) && seg[0] == "admin" && seg[1] == "version":
		return reply(200, Version)
	case is("GET", 1) && seg[0] == "health":
		return reply(200, true)
	case is("GET", 1) && seg[0] == "csrf-token":
		if query.Get("client") == "" {
			return reply(422, validationError([]perr{{Type: "missing", Loc: []any{"query", "client"}, Msg: "Field required", Input: nil}}, nil))
		}
		return detail(422, "CSRF protection is disabled.")
	case seg[0] == "automations" && is("DELETE", 3) && seg[1] == "owned-by":
		return reply(202, nil)
	case seg[0] == "work_pools":
		return f.routePools(method, seg, raw)
	case seg[0] == "flows":
		return f.routeFlows(method, seg, raw)
	case seg[0] == "deployments":
		return f.routeDeployments(method, seg, raw)
	case seg[0] == "block_types" || seg[0] == "block_documents":
		return f.routeBlocks(method, seg, query)
	}
	return notFound()
}

// parse decodes a request body: an object, or the 500 the server gives for anything
// else valid JSON, or 422 json_invalid.
func parse(raw []byte, allowEmpty bool) (map[string]any, *answer) {
	if len(bytes.TrimSpace(raw)) == 0 {
		if allowEmpty {
			return map[string]any{}, nil
		}
		a := reply(422, validationError([]perr{{Type: "missing", Loc: []any{"body"}, Msg: "Field required", Input: nil}}, nil))
		return nil, &a
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		a := reply(422, validationError([]perr{{Type: "json_invalid", Loc: []any{"body", 0}, Msg: "JSON decode error",
			Input: map[string]any{}, Ctx: map[string]any{"error": err.Error()}}}, nil))
		return nil, &a
	}
	m, ok := v.(map[string]any)
	if !ok {
		a := reply(500, map[string]any{"exception_message": "Internal Server Error"})
		return nil, &a
	}
	return m, nil
}

func validationError(errs []perr, body any) map[string]any {
	return map[string]any{"exception_message": "Invalid request received.", "exception_detail": errs, "request_body": body}
}

// ---- work pools and queues ----

func (f *Server) routePools(method string, seg []string, raw []byte) answer {
	n := len(seg)
	switch {
	case method == "POST" && n == 1:
		return f.createPool(raw)
	case method == "POST" && n == 2 && seg[1] == "filter":
		if _, a := parse(raw, true); a != nil {
			return *a
		}
		names := make([]string, 0, len(f.pools))
		for name := range f.pools {
			names = append(names, name)
		}
		sort.Strings(names)
		out := []any{}
		for _, name := range names {
			out = append(out, f.pools[name])
		}
		return reply(200, out)
	case method == "GET" && n == 2:
		p := f.pools[seg[1]]
		if p == nil {
			return detail(404, fmt.Sprintf("Work pool %q not found.", seg[1]))
		}
		return reply(200, p)
	case method == "PATCH" && n == 2:
		return f.updatePool(seg[1], raw)
	case method == "DELETE" && n == 2:
		if f.pools[seg[1]] == nil {
			return detail(404, fmt.Sprintf("Work pool %q not found.", seg[1]))
		}
		delete(f.pools, seg[1])
		delete(f.queues, seg[1])
		return noContent()
	case method == "POST" && n == 4 && seg[2] == "workers" && seg[3] == "filter":
		if f.pools[seg[1]] == nil {
			return detail(404, fmt.Sprintf("Work pool %q not found.", seg[1]))
		}
		return reply(200, []any{})
	case method == "POST" && n == 4 && seg[2] == "queues" && seg[3] == "filter":
		if f.pools[seg[1]] == nil {
			return detail(404, fmt.Sprintf("Work pool %q not found.", seg[1]))
		}
		qs := append([]map[string]any(nil), f.queues[seg[1]]...)
		sort.SliceStable(qs, func(i, j int) bool { return qs[i]["priority"].(float64) < qs[j]["priority"].(float64) })
		out := []any{}
		for _, q := range qs {
			out = append(out, q)
		}
		return reply(200, out)
	case method == "GET" && n == 4 && seg[2] == "queues":
		if q := f.queueLocked(seg[1], seg[3]); q != nil {
			return reply(200, q)
		}
		return detail(404, fmt.Sprintf("Work pool queue '%s/%s' not found.", seg[1], seg[3]))
	}
	return notFound()
}

func (f *Server) createPool(raw []byte) answer {
	body, a := parse(raw, false)
	if a != nil {
		return *a
	}
	if errs := f.checkModel([]any{"body"}, body, keysInOrder(body), workPoolCreate, body); len(errs) > 0 {
		return reply(422, validationError(errs, body))
	}
	if errs := checkTemplate([]any{"body", "base_job_template"}, body["base_job_template"]); len(errs) > 0 {
		return reply(422, validationError(errs, body))
	}
	name := body["name"].(string)
	if reservedPool(name) {
		return detail(403, "Work pools starting with 'Prefect' are reserved for internal use.")
	}
	if f.pools[name] != nil {
		return detail(409, "A work pool with this name already exists.")
	}
	typ, _ := body["type"].(string)
	if typ == "" {
		typ = "prefect-agent"
	}
	tmpl, _ := body["base_job_template"].(map[string]any)
	if tmpl == nil {
		tmpl = map[string]any{}
	}
	return reply(201, f.addPoolLocked(name, typ, tmpl, body))
}

// updatePool is PATCH /work_pools/{name} as the server answers it: a body that is not an
// object, has keys other than WorkPoolUpdate's or a base job template the server's
// validator refuses is 422 (before the pool is looked up); a reserved name is 403 for
// anything but is_paused and concurrency_limit; a missing pool is 404; a null
// base_job_template is 500 (the column is not nullable); else the keys sent are stored,
// `{}` included (it empties the template), and the answer is 204 with no body.
func (f *Server) updatePool(name string, raw []byte) answer {
	var v any
	if len(bytes.TrimSpace(raw)) > 0 && json.Unmarshal(raw, &v) == nil {
		if _, ok := v.(map[string]any); !ok {
			return reply(422, validationError([]perr{{Type: "model_attributes_type", Loc: []any{"body"},
				Msg: "Input should be a valid dictionary or object to extract fields from", Input: v}}, v))
		}
	}
	body, a := parse(raw, true)
	if a != nil {
		return *a
	}
	if errs := f.checkModel([]any{"body"}, body, keysInOrder(body), workPoolUpdate, body); len(errs) > 0 {
		return reply(422, validationError(errs, body))
	}
	if t, ok := body["base_job_template"]; ok && t != nil {
		if errs := checkTemplate([]any{"body", "base_job_template"}, t); len(errs) > 0 {
			return reply(422, validationError(errs, body))
		}
	}
	if reservedPool(name) {
		for k := range body {
			if k != "is_paused" && k != "concurrency_limit" {
				return detail(403, "Work pools starting with 'Prefect' are reserved for internal use and can only be updated to set concurrency limits or pause.")
			}
		}
	}
	p := f.pools[name]
	if p == nil {
		return detail(404, fmt.Sprintf("Work pool %q not found.", name))
	}
	if t, ok := body["base_job_template"]; ok && t == nil {
		return reply(500, map[string]any{"exception_message": "Internal Server Error"})
	}
	for k, v := range body {
		if v != nil || k == "description" || k == "concurrency_limit" {
			p[k] = v
		}
	}
	p["updated"] = f.stamp()
	return noContent()
}

// reservedPool says the server keeps the name for its own pools.
func reservedPool(name string) bool { return strings.HasPrefix(strings.ToLower(name), "prefect") }

// addPoolLocked stores a new pool and its default queue.
func (f *Server) addPoolLocked(name, typ string, tmpl, body map[string]any) map[string]any {
	now := f.stamp()
	p := map[string]any{
		"id": newID(), "created": now, "updated": now, "name": name, "description": body["description"],
		"type": typ, "base_job_template": tmpl, "is_paused": body["is_paused"] == true,
		"concurrency_limit": body["concurrency_limit"], "status": "NOT_READY", "default_queue_id": nil,
		"storage_configuration": map[string]any{"bundle_upload_step": nil, "bundle_execution_step": nil, "default_result_storage_block_id": nil},
		"active_slots":          nil,
	}
	switch {
	case typ == "prefect-agent": // agent pools have no worker status
		p["status"] = nil
	case p["is_paused"] == true:
		p["status"] = "PAUSED"
	}
	f.pools[name] = p
	q := f.addQueueLocked(name, "default")
	q["description"] = "The work pool's default queue."
	p["default_queue_id"] = q["id"]
	return p
}

func (f *Server) queueLocked(pool, name string) map[string]any {
	for _, q := range f.queues[pool] {
		if q["name"] == name {
			return q
		}
	}
	return nil
}

// addQueueLocked creates a queue in pool with the next priority, as the server does for an
// unknown work_queue_name.
func (f *Server) addQueueLocked(pool, name string) map[string]any {
	now := f.stamp()
	q := map[string]any{
		"id": newID(), "created": now, "updated": now, "name": name, "description": "",
		"is_paused": false, "concurrency_limit": nil, "priority": float64(len(f.queues[pool]) + 1),
		"work_pool_id": f.pools[pool]["id"], "filter": nil, "last_polled": nil, "work_pool_name": pool,
		"status": "NOT_READY", "active_slots": nil,
	}
	f.queues[pool] = append(f.queues[pool], q)
	return q
}

// ---- flows ----

func (f *Server) routeFlows(method string, seg []string, raw []byte) answer {
	n := len(seg)
	switch {
	case method == "POST" && n == 1:
		body, a := parse(raw, false)
		if a != nil {
			return *a
		}
		if errs := f.checkModel([]any{"body"}, body, keysInOrder(body), flowCreate, body); len(errs) > 0 {
			return reply(422, validationError(errs, body))
		}
		if fl := f.flowByNameLocked(body["name"].(string)); fl != nil {
			return reply(200, fl)
		}
		now := f.stamp()
		tags, _ := body["tags"].([]any)
		labels, _ := body["labels"].(map[string]any)
		fl := map[string]any{"id": newID(), "created": now, "updated": now, "name": body["name"],
			"tags": orList(tags), "labels": orMap(labels)}
		f.flows[fl["id"].(string)] = fl
		return reply(201, fl)
	case method == "POST" && n == 2 && seg[1] == "filter":
		body, a := parse(raw, true)
		if a != nil {
			return *a
		}
		var out []map[string]any
		for _, fl := range f.flows {
			if matchAny(dig(body, "flows", "name"), fl["name"]) && matchAny(dig(body, "flows", "id"), fl["id"]) {
				out = append(out, fl)
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i]["name"].(string) < out[j]["name"].(string) })
		return reply(200, page(out, body))
	case method == "GET" && n == 3 && seg[1] == "name":
		if fl := f.flowByNameLocked(seg[2]); fl != nil {
			return reply(200, fl)
		}
		return detail(404, "Flow not found")
	case (method == "GET" || method == "DELETE") && n == 2:
		if !uuidRE.MatchString(seg[1]) {
			return notFound()
		}
		fl := f.flows[seg[1]]
		if fl == nil {
			return detail(404, "Flow not found")
		}
		if method == "GET" {
			return reply(200, fl)
		}
		delete(f.flows, seg[1])
		for id, d := range f.deps {
			if d.FlowID == seg[1] {
				delete(f.deps, id)
			}
		}
		return noContent()
	}
	return notFound()
}

func (f *Server) flowByNameLocked(name string) map[string]any {
	for _, fl := range f.flows {
		if fl["name"] == name {
			return fl
		}
	}
	return nil
}

func orList(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}

func orMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// dig returns body[k1][k2]..., nil when absent.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// matchAny applies a {"any_": [...]} filter (absent or null any_ matches everything).
func matchAny(filter any, v any) bool {
	list, ok := dig(filter, "any_").([]any)
	if !ok {
		return true
	}
	for _, e := range list {
		if e == v {
			return true
		}
	}
	return false
}

// page applies "offset" and "limit" of a filter body.
func page(items []map[string]any, body map[string]any) []any {
	out := []any{}
	off, _ := body["offset"].(float64)
	lim, hasLim := body["limit"].(float64)
	for i, it := range items {
		if i < int(off) {
			continue
		}
		if hasLim && len(out) >= int(lim) {
			break
		}
		out = append(out, it)
	}
	return out
}
