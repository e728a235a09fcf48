// Package prefectapitest is a fake Prefect 2 REST API for tests: an httptest server on
// 127.0.0.1 holding deployments, flows, block documents and work pools in memory. It is
// seeded with, and answers in the shapes of, the responses recorded from a real Prefect
// 2.14.21 server (../shared/prefect/recorded/api-*.json): new objects are copies of a
// recorded one with fields replaced. Knobs: 2.14 or 2.16+ schedule shape, failures,
// 429 with Retry-After, 401/403, delays, and a record of every request. POST /flows/ and
// POST /deployments/ upsert as the real server does, so a fake `prefect deployment build`
// can write into it (see ci/internal/fakeprefect, FAKE_PREFECT_API_URL).
package prefectapitest

import (
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

// Shape is the deployment JSON shape the fake answers with.
type Shape int

const (
	// Shape214 is Prefect 2.14: `schedule` (one object or null) and `is_schedule_active`.
	Shape214 Shape = iota
	// Shape216 is Prefect 2.16 to 2.19: both the legacy fields and `schedules` + `paused`.
	Shape216
	// ShapeSchedulesOnly keeps only `schedules` + `paused`, so a test proves the client
	// reads the list and not the legacy field.
	ShapeSchedulesOnly
)

// HelloFlowID is the flow id of every recorded deployment (flow "hello").
const HelloFlowID = "33a9ac8f-72fc-4117-960a-75b9ae670b32"

// Request is one request the fake received. The Authorization value is not kept.
type Request struct {
	Method string
	Path   string // without the /api prefix
	Query  string
	Body   []byte
	// Auth says whether an Authorization header was sent; AuthOK whether it matched.
	Auth, AuthOK bool
}

// Fault changes the answer to one upcoming request.
type Fault struct {
	// Status, when not 0, is answered instead of the real answer.
	Status int
	// RetryAfter is the Retry-After header sent with Status.
	RetryAfter string
	// Delay is waited before answering (or until the client gives up).
	Delay time.Duration
}

// Server is the fake API. URL is the base to use as PREFECT_API_URL (ends in /api).
type Server struct {
	URL string
	srv *httptest.Server

	mu       sync.Mutex
	rec      *Recorded
	shape    Shape
	key      string
	status   int // forced on every request when not 0
	deps     map[string]map[string]any
	flows    map[string]map[string]any
	blocks   map[string]map[string]any
	pools    []map[string]any
	faults   []Fault
	requests []Request
	// schedules overrides the 2.16+ `schedules` list of a deployment (by id).
	schedules map[string][]ScheduleEntry
	seq       int
	version   string
	latency   func(method, path string) time.Duration
}

// Option configures New.
type Option func(*Server)

// WithShape sets the deployment shape.
func WithShape(s Shape) Option { return func(f *Server) { f.shape = s } }

// WithAPIKey makes the fake require `Authorization: Bearer key` (401 otherwise).
func WithAPIKey(key string) Option { return func(f *Server) { f.key = key } }

// WithLatency delays every answer by latency(method, path) (a benchmark's server time).
func WithLatency(latency func(method, path string) time.Duration) Option {
	return func(f *Server) { f.latency = latency }
}

// WithVersion sets what GET /admin/version answers (default "2.14.21", as recorded).
func WithVersion(v string) Option { return func(f *Server) { f.version = v } }

// Empty starts without the recorded deployments (flows, blocks and pools stay).
func Empty() Option { return func(f *Server) { f.deps = map[string]map[string]any{} } }

// New starts a fake seeded with the recorded data; it stops when the test ends. A
// missing ../shared directory fails the test.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	rec, err := LoadRecorded()
	if err != nil {
		t.Fatalf("prefectapitest: %v", err)
	}
	f := &Server{rec: rec, flows: map[string]map[string]any{}, blocks: map[string]map[string]any{}, version: "2.14.21"}
	f.deps = map[string]map[string]any{}
	for _, d := range rec.Deployments {
		f.deps[d["id"].(string)] = clone(d)
	}
	f.flows[HelloFlowID] = map[string]any{
		"id": HelloFlowID, "created": "2026-11-25T19:06:17.000000+00:00",
		"updated": "2026-11-25T19:06:17.000000+00:00", "name": "hello", "tags": []any{},
	}
	blk := completeBlock(rec.Block, "process", "Process")
	f.blocks[blk["id"].(string)] = blk
	for _, p := range rec.Pools {
		f.pools = append(f.pools, clone(p))
	}
	for _, o := range opts {
		o(f)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL + "/api"
	t.Cleanup(f.srv.Close)
	return f
}

// completeBlock adds the members the recording lost to its cut (block type and the
// rest of Prefect's BlockDocument schema) to a copy of the recorded block document.
func completeBlock(recorded map[string]any, slug, typeName string) map[string]any {
	b := clone(recorded)
	typeID := "c1a4f5a4-1d6b-4a7e-9e11-" + fmt.Sprintf("%012x", len(slug)*7919)
	b["block_type_id"] = typeID
	b["block_type_name"] = typeName
	b["block_type"] = map[string]any{
		"id": typeID, "created": b["created"], "updated": b["created"],
		"name": typeName, "slug": slug, "logo_url": nil, "documentation_url": nil,
		"description": nil, "code_example": nil, "is_protected": slug == "process",
	}
	b["block_document_references"] = map[string]any{}
	b["is_anonymous"] = false
	return b
}

// Close stops the server early (to test connection errors).
func (f *Server) Close() { f.srv.Close() }

// SetShape switches the deployment shape.
func (f *Server) SetShape(s Shape) { f.mu.Lock(); f.shape = s; f.mu.Unlock() }

// SetVersion changes what GET /admin/version answers.
func (f *Server) SetVersion(v string) { f.mu.Lock(); f.version = v; f.mu.Unlock() }

// ForceStatus answers every request with status (401, 403, ...); 0 stops it.
func (f *Server) ForceStatus(status int) { f.mu.Lock(); f.status = status; f.mu.Unlock() }

// Inject queues faults for the next requests, one fault per request.
func (f *Server) Inject(faults ...Fault) {
	f.mu.Lock()
	f.faults = append(f.faults, faults...)
	f.mu.Unlock()
}

// FailNext answers the next n requests with status (e.g. 503).
func (f *Server) FailNext(n, status int) {
	for i := 0; i < n; i++ {
		f.Inject(Fault{Status: status})
	}
}

// Requests returns a copy of the requests received so far.
func (f *Server) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// ResetRequests forgets the requests received so far.
func (f *Server) ResetRequests() { f.mu.Lock(); f.requests = nil; f.mu.Unlock() }

// Seed describes a deployment to add. Nil pointers keep the recorded template's value
// (the RecCron deployment of api-get-by-name.json); Schedule nil means no schedule.
type Seed struct {
	Flow           string         `json:"flow"` // flow name; created when new
	Name           string         `json:"name"`
	Schedule       map[string]any `json:"schedule"` // e.g. {"cron": "0 0 * * *", "timezone": "UTC", "day_or": true}
	ScheduleActive *bool          `json:"schedule_active"`
	Tags           []string       `json:"tags"`
	Parameters     map[string]any `json:"parameters"`
	Version        *string        `json:"version"`
	Description    *string        `json:"description"`
	Pool           string         `json:"pool"`
	Queue          string         `json:"queue"`
	InfraBlock     string         `json:"infra_block"` // "slug/name"; created when new
	InfraOverrides map[string]any `json:"infra_overrides"`
}

// Ptr is a helper for Seed's pointer fields.
func Ptr[T any](v T) *T { return &v }

// AddDeployment adds a deployment built from the recorded template and returns its id.
func (f *Server) AddDeployment(s Seed) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", f.seq)
	d := clone(f.rec.ByName)
	d["id"] = id
	d["name"] = s.Name
	d["flow_id"] = f.flowIDLocked(s.Flow)
	if s.Schedule != nil {
		d["schedule"] = toAny(s.Schedule)
	} else {
		d["schedule"] = nil
	}
	if s.ScheduleActive != nil {
		d["is_schedule_active"] = *s.ScheduleActive
	}
	d["tags"] = toAny(orEmpty(s.Tags))
	if s.Parameters != nil {
		d["parameters"] = toAny(s.Parameters)
	} else {
		d["parameters"] = map[string]any{}
	}
	if s.Version != nil {
		d["version"] = *s.Version
	}
	if s.Description != nil {
		d["description"] = *s.Description
	}
	d["work_pool_name"] = orDefault(s.Pool, "default-agent-pool")
	d["work_queue_name"] = orDefault(s.Queue, "default")
	if s.InfraBlock != "" {
		d["infrastructure_document_id"] = f.blockIDLocked(s.InfraBlock)
	}
	if s.InfraOverrides != nil {
		d["infra_overrides"] = toAny(s.InfraOverrides)
	} else {
		d["infra_overrides"] = map[string]any{}
	}
	f.deps[id] = d
	return id
}

// AddPool adds a work pool (a copy of the recorded "pool") unless it exists.
func (f *Server) AddPool(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.poolLocked(name) {
		return
	}
	var tmpl map[string]any
	for _, p := range f.rec.Pools {
		if p["name"] == "pool" {
			tmpl = p
		}
	}
	if tmpl == nil {
		tmpl = f.rec.Pools[0]
	}
	p := clone(tmpl)
	f.seq++
	p["id"] = fmt.Sprintf("00000000-0000-4000-c000-%012d", f.seq)
	p["name"] = name
	f.pools = append(f.pools, p)
}

func (f *Server) poolLocked(name string) bool {
	for _, p := range f.pools {
		if p["name"] == name {
			return true
		}
	}
	return false
}

// AddBlock adds a block document typeSlug/name (a copy of the recorded one) and returns its id.
func (f *Server) AddBlock(ref string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.blockIDLocked(ref)
}

func (f *Server) blockIDLocked(ref string) string {
	slug, name, _ := strings.Cut(ref, "/")
	for id, b := range f.blocks {
		if b["name"] == name && b["block_type"].(map[string]any)["slug"] == slug {
			return id
		}
	}
	f.seq++
	b := completeBlock(f.rec.Block, slug, slug)
	if doc, ok := f.rec.BlockDocs[slug]; ok {
		// The recorded document of that type, block schema included (its fields say
		// whether the infrastructure has an image, which decides a deployment's path).
		b = clone(doc)
	}
	id := fmt.Sprintf("00000000-0000-4000-b000-%012d", f.seq)
	b["id"] = id
	b["name"] = name
	f.blocks[id] = b
	return id
}

func (f *Server) flowIDLocked(name string) string {
	for id, fl := range f.flows {
		if fl["name"] == name {
			return id
		}
	}
	f.seq++
	id := fmt.Sprintf("00000000-0000-4000-a000-%012d", f.seq)
	fl := clone(f.flows[HelloFlowID])
	fl["id"], fl["name"] = id, name
	f.flows[id] = fl
	return id
}

// ScheduleEntry is one element of a 2.16+ `schedules` list.
type ScheduleEntry struct {
	Schedule map[string]any
	Active   bool
}

// SetSchedules gives deployment id this 2.16+ `schedules` list (several schedules, or one
// switched off on its own), which only the 2.16 shapes can express. The legacy
// `schedule` field shows the first one, as 2.16 to 2.19 do.
func (f *Server) SetSchedules(id string, list []ScheduleEntry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.schedules == nil {
		f.schedules = map[string][]ScheduleEntry{}
	}
	f.schedules[id] = list
	if len(list) > 0 {
		f.deps[id]["schedule"] = toAny(list[0].Schedule)
	} else {
		f.deps[id]["schedule"] = nil
	}
}

// Deployment returns a copy of the stored deployment (2.14 shape) and whether it exists.
func (f *Server) Deployment(id string) (map[string]any, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.deps[id]
	if !ok {
		return nil, false
	}
	return clone(d), true
}

// DeploymentID finds flow/name; "" when absent.
func (f *Server) DeploymentID(flow, name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.findLocked(flow, name)
}

// Count is the number of stored deployments.
func (f *Server) Count() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.deps) }

// Update changes stored fields of a deployment directly (as if someone used the UI).
func (f *Server) Update(id string, fields map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, v := range fields {
		f.deps[id][k] = toAny(v)
	}
}

func (f *Server) findLocked(flow, name string) string {
	for id, d := range f.deps {
		if d["name"] == name {
			if fl, ok := f.flows[d["flow_id"].(string)]; ok && fl["name"] == flow {
				return id
			}
		}
	}
	return ""
}

func (f *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	auth := r.Header.Get("Authorization")
	f.mu.Lock()
	req := Request{Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, "/api"), Query: r.URL.RawQuery, Body: body,
		Auth: auth != "", AuthOK: f.key != "" && auth == "Bearer "+f.key}
	f.requests = append(f.requests, req)
	var fault Fault
	if len(f.faults) > 0 {
		fault, f.faults = f.faults[0], f.faults[1:]
	}
	forced, key := f.status, f.key
	if f.latency != nil {
		fault.Delay += f.latency(r.Method, req.Path)
	}
	f.mu.Unlock()

	if fault.Delay > 0 {
		select {
		case <-time.After(fault.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if fault.Status != 0 {
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		writeStatus(w, fault.Status)
		return
	}
	if forced != 0 {
		writeStatus(w, forced)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, 404, map[string]any{"detail": "Not Found"})
		return
	}
	if key != "" && !req.AuthOK {
		writeStatus(w, 401)
		return
	}
	f.route(w, r.Method, req.Path, r.URL.Query(), body)
}

func writeStatus(w http.ResponseWriter, status int) {
	switch {
	case status == 401:
		writeJSON(w, status, map[string]any{"detail": "Unauthorized"})
	case status == 403:
		writeJSON(w, status, map[string]any{"detail": "Forbidden"})
	case status == 429:
		writeJSON(w, status, map[string]any{"detail": "Too Many Requests"})
	case status == 500:
		// Prefect's handler for unexpected server exceptions.
		writeJSON(w, status, map[string]any{"exception_message": "Internal Server Error"})
	default:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>", status, http.StatusText(status))
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *Server) route(w http.ResponseWriter, method, path string, q url.Values, body []byte) {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	for i := range seg {
		seg[i], _ = url.PathUnescape(seg[i])
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case method == "GET" && path == "/health":
		writeJSON(w, 200, true)
	case method == "GET" && path == "/admin/version":
		writeJSON(w, 200, f.version)
	case method == "GET" && len(seg) == 4 && seg[0] == "deployments" && seg[1] == "name":
		id := f.findLocked(seg[2], seg[3])
		if id == "" {
			f.notFound(w)
			return
		}
		writeJSON(w, 200, f.renderLocked(f.deps[id]))
	case method == "POST" && path == "/deployments/filter":
		f.filterDeployments(w, body)
	case method == "POST" && path == "/deployments/":
		f.createDeployment(w, body)
	case method == "POST" && path == "/flows/":
		f.createFlow(w, body)
	case method == "GET" && len(seg) == 2 && seg[0] == "work_pools":
		for _, p := range f.pools {
			if p["name"] == seg[1] {
				writeJSON(w, 200, p)
				return
			}
		}
		writeJSON(w, 404, map[string]any{"detail": fmt.Sprintf("Work pool %q not found.", seg[1])})
	case len(seg) == 2 && seg[0] == "deployments":
		d, ok := f.deps[seg[1]]
		if !ok {
			if method == "PATCH" {
				writeJSON(w, 404, map[string]any{"detail": "Deployment not found."})
				return
			}
			f.notFound(w)
			return
		}
		switch method {
		case "GET":
			writeJSON(w, 200, f.renderLocked(d))
		case "DELETE":
			delete(f.deps, seg[1])
			w.WriteHeader(204)
		case "PATCH":
			f.patch(w, d, body)
		default:
			writeJSON(w, 405, map[string]any{"detail": "Method Not Allowed"})
		}
	case method == "GET" && len(seg) == 2 && seg[0] == "flows":
		fl, ok := f.flows[seg[1]]
		if !ok {
			writeJSON(w, 404, map[string]any{"detail": "Flow not found"})
			return
		}
		writeJSON(w, 200, fl)
	case method == "POST" && path == "/flows/filter":
		f.filterFlows(w, body)
	case method == "GET" && len(seg) == 6 && seg[0] == "block_types" && seg[1] == "slug" && seg[3] == "block_documents" && seg[4] == "name":
		for _, b := range f.blocks {
			if b["name"] == seg[5] && b["block_type"].(map[string]any)["slug"] == seg[2] {
				writeJSON(w, 200, b)
				return
			}
		}
		writeJSON(w, 404, map[string]any{"detail": "Block document not found"})
	case method == "GET" && len(seg) == 2 && seg[0] == "block_documents":
		b, ok := f.blocks[seg[1]]
		if !ok {
			writeJSON(w, 404, map[string]any{"detail": "Block document not found"})
			return
		}
		writeJSON(w, 200, b)
	case method == "POST" && path == "/work_pools/filter":
		writeJSON(w, 200, f.pools)
	default:
		writeJSON(w, 404, map[string]any{"detail": "Not Found"})
	}
}

func (f *Server) notFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(404)
	_, _ = w.Write(f.rec.NotFound)
}

// renderLocked turns a stored (2.14-shaped) deployment into the configured shape.
func (f *Server) renderLocked(d map[string]any) map[string]any {
	out := clone(d)
	if f.shape == Shape214 {
		return out
	}
	active, _ := d["is_schedule_active"].(bool)
	out["paused"] = !active
	var list []any
	if extra, ok := f.schedules[d["id"].(string)]; ok {
		for i, e := range extra {
			list = append(list, map[string]any{
				"id": fmt.Sprintf("5c4e%04d-0000-4000-8000-%s", i, d["id"].(string)[24:]), "created": d["created"], "updated": d["updated"],
				"deployment_id": d["id"], "schedule": toAny(e.Schedule), "active": e.Active,
			})
		}
	} else if s, ok := d["schedule"].(map[string]any); ok {
		list = append(list, map[string]any{
			"id": "5c4e0000-0000-4000-8000-" + d["id"].(string)[24:], "created": d["created"], "updated": d["updated"],
			"deployment_id": d["id"], "schedule": clone(s), "active": true,
		})
	}
	out["schedules"] = orEmptyAny(list)
	if f.shape == ShapeSchedulesOnly {
		delete(out, "schedule")
		delete(out, "is_schedule_active")
	}
	return out
}

func (f *Server) filterDeployments(w http.ResponseWriter, body []byte) {
	var b struct {
		Limit       *int `json:"limit"`
		Offset      int  `json:"offset"`
		Deployments *struct {
			Tags *struct {
				All []string `json:"all_"`
			} `json:"tags"`
			Name *struct {
				Any []string `json:"any_"`
			} `json:"name"`
		} `json:"deployments"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &b); err != nil {
			writeJSON(w, 422, map[string]any{"detail": []any{map[string]any{"loc": []any{"body"}, "msg": err.Error(), "type": "value_error.jsondecode"}}})
			return
		}
	}
	limit := 200
	if b.Limit != nil {
		limit = *b.Limit
	}
	if limit > 200 {
		writeJSON(w, 422, map[string]any{"detail": "Invalid limit: must be less than or equal to 200."})
		return
	}
	var list []map[string]any
	for _, d := range f.deps {
		if b.Deployments != nil && b.Deployments.Tags != nil && !hasAll(d["tags"], b.Deployments.Tags.All) {
			continue
		}
		if b.Deployments != nil && b.Deployments.Name != nil && !contains(b.Deployments.Name.Any, d["name"].(string)) {
			continue
		}
		list = append(list, d)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i]["name"] != list[j]["name"] {
			return list[i]["name"].(string) < list[j]["name"].(string)
		}
		return list[i]["id"].(string) < list[j]["id"].(string)
	})
	out := []any{}
	for i := b.Offset; i < len(list) && i < b.Offset+limit; i++ {
		out = append(out, f.renderLocked(list[i]))
	}
	writeJSON(w, 200, out)
}

func (f *Server) filterFlows(w http.ResponseWriter, body []byte) {
	var b struct {
		Flows *struct {
			ID *struct {
				Any []string `json:"any_"`
			} `json:"id"`
		} `json:"flows"`
	}
	_ = json.Unmarshal(body, &b)
	var ids []string
	for id := range f.flows {
		if b.Flows != nil && b.Flows.ID != nil && !contains(b.Flows.ID.Any, id) {
			continue
		}
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := []any{}
	for _, id := range ids {
		out = append(out, f.flows[id])
	}
	writeJSON(w, 200, out)
}

// creatable are the fields of Prefect 2.14's DeploymentCreate (extra fields: 422).
var creatable = map[string]bool{
	"name": true, "flow_id": true, "is_schedule_active": true, "parameters": true, "tags": true,
	"pull_steps": true, "manifest_path": true, "work_queue_name": true, "work_pool_name": true,
	"storage_document_id": true, "infrastructure_document_id": true, "schedule": true,
	"description": true, "path": true, "version": true, "entrypoint": true, "infra_overrides": true,
	"parameter_openapi_schema": true, "enforce_parameter_schema": true,
}

// createDeployment is POST /deployments/ as Prefect 2.14 answers it
// (deploy-traffic/upsert-semantics.json): an upsert by (flow_id, name) that REPLACES the
// deployment: a field the body omits goes back to its default (null, {}, [], true,
// false), except pool and queue: with both omitted the previous ones stay, with only a
// queue the pool is default-agent-pool, with only a pool the queue is "default".
// 201 when created, 200 when replaced, the deployment in both cases.
func (f *Server) createDeployment(w http.ResponseWriter, body []byte) {
	var fields map[string]any
	if err := json.Unmarshal(body, &fields); err != nil {
		writeJSON(w, 422, map[string]any{"detail": []any{map[string]any{"loc": []any{"body"}, "msg": err.Error(), "type": "value_error.jsondecode"}}})
		return
	}
	var bad []any
	for k := range fields {
		if !creatable[k] {
			bad = append(bad, map[string]any{"loc": []any{"body", k}, "msg": "extra fields not permitted", "type": "value_error.extra"})
		}
	}
	for _, k := range []string{"tags", "parameters", "enforce_parameter_schema"} {
		if v, ok := fields[k]; ok && v == nil {
			bad = append(bad, map[string]any{"loc": []any{"body", k}, "msg": "none is not an allowed value", "type": "type_error.none.not_allowed"})
		}
	}
	if v, ok := fields["tags"]; ok && v != nil {
		if _, isList := v.([]any); !isList {
			bad = append(bad, map[string]any{"loc": []any{"body", "tags"}, "msg": "value is not a valid list", "type": "type_error.list"})
		}
	}
	if len(bad) > 0 {
		writeJSON(w, 422, map[string]any{"exception_message": "Invalid request received.", "exception_detail": bad, "request_body": fields})
		return
	}
	if v, _ := fields["name"].(string); v == "" {
		writeStatus(w, 500) // recorded: a body without a name is an unhandled server error
		return
	}
	for _, k := range []string{"is_schedule_active", "infra_overrides"} {
		if v, ok := fields[k]; ok && v == nil {
			writeStatus(w, 500) // recorded: null here is an unhandled server error
			return
		}
	}
	flowID, _ := fields["flow_id"].(string)
	if _, ok := f.flows[flowID]; !ok {
		writeJSON(w, 409, map[string]any{"detail": "Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details."})
		return
	}
	if p, _ := fields["work_pool_name"].(string); p != "" && !f.poolLocked(p) {
		writeJSON(w, 404, map[string]any{"detail": fmt.Sprintf("Work pool %q not found.", p)})
		return
	}
	if b, _ := fields["infrastructure_document_id"].(string); b != "" {
		if _, ok := f.blocks[b]; !ok {
			writeJSON(w, 409, map[string]any{"detail": "Error creating deployment. Could not find infrastructure block with id: " + b + ". This usually occurs when applying a deployment specification that was built against a different Prefect database / workspace."})
			return
		}
	}
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000000+00:00")
	var id string
	for did, d := range f.deps {
		if d["flow_id"] == flowID && d["name"] == fields["name"] {
			id = did
		}
	}
	status := 200
	old := f.deps[id]
	if id == "" {
		status = 201
		f.seq++
		id = fmt.Sprintf("00000000-0000-4000-8000-%012d", f.seq)
		old = nil
	}
	d := clone(f.rec.ByName)
	if old != nil {
		d = clone(old)
	}
	for k, v := range map[string]any{
		"id": id, "schedule": nil, "is_schedule_active": true, "parameters": map[string]any{},
		"tags": []any{}, "description": nil, "version": nil, "infra_overrides": map[string]any{},
		"infrastructure_document_id": nil, "path": nil, "entrypoint": nil, "parameter_openapi_schema": nil,
		"pull_steps": nil, "manifest_path": nil, "storage_document_id": nil, "enforce_parameter_schema": false,
	} {
		d[k] = v
	}
	if old == nil {
		d["created"], d["last_polled"], d["status"] = now, nil, "NOT_READY"
		d["work_pool_name"], d["work_queue_name"] = nil, nil
	}
	for k, v := range fields {
		d[k] = toAny(v)
	}
	pool, _ := fields["work_pool_name"].(string)
	queue, _ := fields["work_queue_name"].(string)
	switch {
	case pool == "" && queue != "":
		d["work_pool_name"] = "default-agent-pool"
	case pool != "" && queue == "":
		d["work_queue_name"] = "default"
	case pool == "" && queue == "" && old != nil:
		d["work_pool_name"], d["work_queue_name"] = old["work_pool_name"], old["work_queue_name"]
	}
	d["updated"] = now
	f.deps[id] = d
	writeJSON(w, status, f.renderLocked(d))
}

// createFlow is POST /flows/: Prefect upserts a flow by name (201 new, 200 existing).
func (f *Server) createFlow(w http.ResponseWriter, body []byte) {
	var b struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Name == "" {
		writeJSON(w, 422, map[string]any{"detail": []any{map[string]any{"loc": []any{"body", "name"}, "msg": "field required", "type": "value_error.missing"}}})
		return
	}
	for _, fl := range f.flows {
		if fl["name"] == b.Name {
			writeJSON(w, 200, fl)
			return
		}
	}
	id := f.flowIDLocked(b.Name)
	writeJSON(w, 201, f.flows[id])
}

// updatable are the fields of Prefect 2.14's DeploymentUpdate (extra fields: 422).
var updatable = map[string]bool{
	"version": true, "schedule": true, "description": true, "is_schedule_active": true,
	"parameters": true, "tags": true, "work_queue_name": true, "work_pool_name": true,
	"path": true, "infra_overrides": true, "entrypoint": true, "manifest_path": true,
	"storage_document_id": true, "infrastructure_document_id": true, "enforce_parameter_schema": true,
}

func (f *Server) patch(w http.ResponseWriter, d map[string]any, body []byte) {
	var fields map[string]any
	if err := json.Unmarshal(body, &fields); err != nil {
		writeJSON(w, 422, map[string]any{"detail": []any{map[string]any{"loc": []any{"body"}, "msg": err.Error(), "type": "value_error.jsondecode"}}})
		return
	}
	var bad []any
	for k := range fields {
		if !updatable[k] {
			bad = append(bad, map[string]any{"loc": []any{"body", k}, "msg": "extra fields not permitted", "type": "value_error.extra"})
		}
	}
	if len(bad) > 0 {
		writeJSON(w, 422, map[string]any{"detail": bad})
		return
	}
	if p, ok := fields["work_pool_name"].(string); ok && p != "" {
		found := false
		for _, pool := range f.pools {
			found = found || pool["name"] == p
		}
		if !found {
			writeJSON(w, 404, map[string]any{"detail": fmt.Sprintf("Work pool %q not found.", p)})
			return
		}
		if _, ok := fields["work_queue_name"]; !ok {
			fields["work_queue_name"] = "default"
		}
	}
	for k, v := range fields {
		d[k] = v
	}
	d["updated"] = time.Now().UTC().Format("2006-01-02T15:04:05.000000+00:00")
	w.WriteHeader(204)
}

func hasAll(tags any, want []string) bool {
	list, _ := tags.([]any)
	for _, t := range want {
		found := false
		for _, have := range list {
			found = found || have == t
		}
		if !found {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// toAny round-trips v through JSON so stored values look like decoded server JSON.
func toAny(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orEmptyAny(s []any) []any {
	if s == nil {
		return []any{}
	}
	return s
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
