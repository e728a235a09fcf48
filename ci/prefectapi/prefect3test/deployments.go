package prefect3test

import (
	"fmt"
	"sort"
	"strings"
)

// deployment is one stored deployment; view gives its JSON in the server's key order.
type deployment struct {
	ID, Created, Updated string
	Name                 string
	FlowID               string
	values               map[string]any // the plain stored fields (version, tags, ...)
	schedules            []map[string]any
	gcl                  map[string]any // the global concurrency limit, nil when none
	poolName, queueName  any
	queueID              any
}

// depView is the server's DeploymentResponse key order.
type depView struct {
	ID                       string           `json:"id"`
	Created                  string           `json:"created"`
	Updated                  string           `json:"updated"`
	Name                     string           `json:"name"`
	Version                  any              `json:"version"`
	Description              any              `json:"description"`
	FlowID                   string           `json:"flow_id"`
	Paused                   any              `json:"paused"`
	Schedules                []map[string]any `json:"schedules"`
	ConcurrencyLimit         any              `json:"concurrency_limit"`
	GlobalConcurrencyLimit   any              `json:"global_concurrency_limit"`
	ConcurrencyOptions       any              `json:"concurrency_options"`
	JobVariables             any              `json:"job_variables"`
	Parameters               any              `json:"parameters"`
	Tags                     any              `json:"tags"`
	Labels                   any              `json:"labels"`
	WorkQueueName            any              `json:"work_queue_name"`
	WorkQueueID              any              `json:"work_queue_id"`
	LastPolled               any              `json:"last_polled"`
	ParameterOpenAPISchema   any              `json:"parameter_openapi_schema"`
	Path                     any              `json:"path"`
	PullSteps                any              `json:"pull_steps"`
	Entrypoint               any              `json:"entrypoint"`
	StorageDocumentID        any              `json:"storage_document_id"`
	InfrastructureDocumentID any              `json:"infrastructure_document_id"`
	CreatedBy                any              `json:"created_by"`
	UpdatedBy                any              `json:"updated_by"`
	WorkPoolName             any              `json:"work_pool_name"`
	Status                   string           `json:"status"`
	EnforceParameterSchema   any              `json:"enforce_parameter_schema"`
}

func (d *deployment) view() depView {
	v := d.values
	// The server reads schedules newest first (ORDER BY updated DESC).
	scheds := make([]map[string]any, 0, len(d.schedules))
	for i := len(d.schedules) - 1; i >= 0; i-- {
		scheds = append(scheds, d.schedules[i])
	}
	var gcl any
	if d.gcl != nil {
		gcl = d.gcl
	}
	labels := map[string]any{}
	for k, val := range orMap(asMap(v["labels"])) {
		labels[k] = val
	}
	labels["prefect.flow.id"] = d.FlowID
	return depView{
		ID: d.ID, Created: d.Created, Updated: d.Updated, Name: d.Name, Version: v["version"],
		Description: v["description"], FlowID: d.FlowID, Paused: v["paused"], Schedules: scheds,
		GlobalConcurrencyLimit: gcl, ConcurrencyOptions: v["concurrency_options"],
		JobVariables: v["job_variables"], Parameters: v["parameters"], Tags: v["tags"], Labels: labels,
		WorkQueueName: d.queueName, WorkQueueID: d.queueID, ParameterOpenAPISchema: v["parameter_openapi_schema"],
		Path: v["path"], PullSteps: v["pull_steps"], Entrypoint: v["entrypoint"],
		StorageDocumentID: v["storage_document_id"], InfrastructureDocumentID: v["infrastructure_document_id"],
		WorkPoolName: d.poolName, Status: "NOT_READY", EnforceParameterSchema: v["enforce_parameter_schema"],
	}
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

// stored are the request keys kept as they are sent (the rest is handled on its own).
var stored = map[string]bool{
	"version": true, "description": true, "paused": true, "concurrency_options": true,
	"job_variables": true, "parameters": true, "tags": true, "labels": true,
	"parameter_openapi_schema": true, "path": true, "pull_steps": true, "entrypoint": true,
	"storage_document_id": true, "infrastructure_document_id": true, "enforce_parameter_schema": true,
}

func (f *Server) routeDeployments(method string, seg []string, raw []byte) answer {
	n := len(seg)
	switch {
	case method == "POST" && n == 1:
		return f.createDeployment(raw)
	case method == "POST" && n == 2 && (seg[1] == "filter" || seg[1] == "count"):
		body, a := parse(raw, true)
		if a != nil {
			return *a
		}
		list := f.filterLocked(body)
		if seg[1] == "count" {
			return reply(200, len(list))
		}
		views := make([]map[string]any, len(list))
		for i, d := range list {
			views[i] = toMap(d.view())
		}
		return reply(200, page(views, body))
	case method == "GET" && n == 4 && seg[1] == "name":
		if d := f.byNameLocked(seg[2], seg[3]); d != nil {
			return reply(200, d.view())
		}
		return detail(404, "Deployment not found")
	case n >= 2 && seg[1] != "name" && seg[1] != "filter" && seg[1] != "count" && !uuidRE.MatchString(seg[1]):
		return notFound()
	case method == "GET" && n == 2:
		if d := f.deps[seg[1]]; d != nil {
			return reply(200, d.view())
		}
		return detail(404, "Deployment not found")
	case method == "GET" && n == 3 && seg[2] == "schedules":
		d := f.deps[seg[1]]
		if d == nil {
			return detail(404, "Deployment not found.")
		}
		return reply(200, d.view().Schedules)
	case method == "DELETE" && n == 2:
		if f.deps[seg[1]] == nil {
			return detail(404, "Deployment not found")
		}
		delete(f.deps, seg[1])
		return noContent()
	case method == "PATCH" && n == 2:
		return f.updateDeployment(seg[1], raw)
	}
	return notFound()
}

func (f *Server) byNameLocked(flow, name string) *deployment {
	fl := f.flowByNameLocked(flow)
	if fl == nil {
		return nil
	}
	for _, d := range f.deps {
		if d.FlowID == fl["id"] && d.Name == name {
			return d
		}
	}
	return nil
}

// filterLocked applies a /deployments/filter body: flows.{name,id}.any_,
// deployments.{name,id}.any_, deployments.tags.all_, work_pools.name.any_; sort NAME_ASC
// (the default), NAME_DESC, CREATED_DESC or UPDATED_DESC.
func (f *Server) filterLocked(body map[string]any) []*deployment {
	var out []*deployment
	for _, d := range f.deps {
		fl := f.flows[d.FlowID]
		if !matchAny(dig(body, "flows", "name"), fl["name"]) || !matchAny(dig(body, "flows", "id"), d.FlowID) ||
			!matchAny(dig(body, "deployments", "name"), d.Name) || !matchAny(dig(body, "deployments", "id"), d.ID) ||
			!matchAny(dig(body, "work_pools", "name"), d.poolName) {
			continue
		}
		if all, ok := dig(body, "deployments", "tags", "all_").([]any); ok {
			have := map[any]bool{}
			for _, t := range asList(d.values["tags"]) {
				have[t] = true
			}
			missing := false
			for _, t := range all {
				missing = missing || !have[t]
			}
			if missing {
				continue
			}
		}
		out = append(out, d)
	}
	sortBy, _ := body["sort"].(string)
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		switch sortBy {
		case "NAME_DESC":
			return a.Name > b.Name
		case "CREATED_DESC":
			return a.Created > b.Created
		case "UPDATED_DESC":
			return a.Updated > b.Updated
		}
		return a.Name < b.Name
	})
	return out
}

func asList(v any) []any { l, _ := v.([]any); return l }

func (f *Server) createDeployment(raw []byte) answer {
	body, a := parse(raw, false)
	if a != nil {
		return *a
	}
	// The server fills its defaults in before it validates (they show in request_body).
	if _, ok := body["parameters"]; !ok {
		body["parameters"] = map[string]any{}
	}
	if errs := f.checkModel([]any{"body"}, body, keysInOrder(body), deploymentCreate, body); len(errs) > 0 {
		return reply(422, validationError(errs, body))
	}
	pool, queue, ans := f.resolveQueueLocked(body, nil)
	if ans != nil {
		return *ans
	}
	if jv := asMap(body["job_variables"]); len(jv) > 0 && pool != "" {
		if msg := checkJobVariables(asMap(f.pools[pool]["base_job_template"]), jv); msg != "" {
			return detail(422, "Error creating deployment: "+msg)
		}
	}
	flowID := body["flow_id"].(string)
	if f.flows[strings.ToLower(flowID)] == nil {
		return detail(409, "Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details.")
	}
	name := body["name"].(string)
	var d *deployment
	for _, e := range f.deps {
		if e.FlowID == flowID && e.Name == name {
			d = e
		}
	}
	status := 200
	now := f.stamp()
	if d == nil {
		status = 201
		d = &deployment{ID: newID(), Created: now, Name: name, FlowID: flowID, values: map[string]any{
			"version": nil, "description": nil, "paused": false, "concurrency_options": nil,
			"job_variables": map[string]any{}, "parameters": map[string]any{}, "tags": []any{},
			"labels": map[string]any{}, "parameter_openapi_schema": map[string]any{}, "path": nil,
			"pull_steps": []any{}, "entrypoint": nil, "storage_document_id": nil,
			"infrastructure_document_id": nil, "enforce_parameter_schema": true,
		}}
		f.deps[d.ID] = d
	}
	d.Updated = now
	f.applyLocked(d, body)
	if pool != "" || status == 201 {
		f.setQueue(d, pool, queue)
	}
	// A POST always replaces the schedules: none when the key is absent.
	d.schedules = nil
	for _, s := range asList(body["schedules"]) {
		d.schedules = append(d.schedules, f.newSchedule(d.ID, asMap(s)))
	}
	return reply(status, d.view())
}

func (f *Server) updateDeployment(id string, raw []byte) answer {
	body, a := parse(raw, true)
	if a != nil {
		return *a
	}
	if errs := f.checkModel([]any{"body"}, body, keysInOrder(body), deploymentUpdate, body); len(errs) > 0 {
		return reply(422, validationError(errs, body))
	}
	d := f.deps[id]
	if d == nil {
		return detail(404, "Deployment not found.")
	}
	// PATCH does not check job_variables against the pool's template (POST does), an
	// unknown pool is a 500, and a work_queue_name without work_pool_name moves the
	// deployment to "default-agent-pool" (created when missing), not to a queue of its pool.
	pool, hasPool := body["work_pool_name"].(string)
	queue, _ := body["work_queue_name"].(string)
	if hasPool && f.pools[pool] == nil {
		return reply(500, map[string]any{"exception_message": "Internal Server Error"})
	}
	if !hasPool && queue != "" {
		pool = defaultAgentPool
		if f.pools[pool] == nil {
			f.addPoolLocked(pool, "prefect-agent", map[string]any{}, nil)
		}
	}
	d.Updated = f.stamp()
	f.applyLocked(d, body)
	if pool != "" {
		f.setQueue(d, pool, queue)
	}
	if l, ok := body["schedules"]; ok {
		d.schedules = nil
		for _, s := range asList(l) {
			d.schedules = append(d.schedules, f.newSchedule(d.ID, asMap(s)))
		}
	}
	return noContent()
}

// applyLocked writes the keys present in body: `job_variables: {}` is ignored (the server
// tests `if job_variables:`), concurrency_limit goes to the global concurrency limit.
func (f *Server) applyLocked(d *deployment, body map[string]any) {
	for k, v := range body {
		if !stored[k] {
			continue
		}
		if k == "job_variables" && len(asMap(v)) == 0 {
			continue
		}
		if k == "concurrency_options" && v != nil {
			o := map[string]any{"collision_strategy": nil, "grace_period_seconds": nil}
			for ok, ov := range asMap(v) {
				o[ok] = ov
			}
			v = o
		}
		d.values[k] = v
	}
	if l, ok := body["concurrency_limit"]; ok {
		if l == nil {
			d.gcl = nil
		} else {
			now := f.stamp()
			if d.gcl == nil {
				d.gcl = map[string]any{"id": newID(), "created": now, "updated": now, "active": true,
					"name": "deployment:" + d.ID, "limit": l, "active_slots": 0, "slot_decay_per_second": 0.0}
			} else {
				d.gcl["limit"], d.gcl["updated"] = l, now
			}
		}
	}
}

// resolveQueueLocked finds the pool and queue a body names (the default queue when no
// queue is named); an unknown queue is created later by setQueue. cur is the deployment a
// PATCH changes (its pool is kept when only a queue is named).
func (f *Server) resolveQueueLocked(body map[string]any, cur *deployment) (pool, queue string, a *answer) {
	pool, _ = body["work_pool_name"].(string)
	queue, _ = body["work_queue_name"].(string)
	if pool == "" && cur != nil {
		pool, _ = cur.poolName.(string)
	}
	if pool == "" {
		return "", queue, nil
	}
	if f.pools[pool] == nil {
		ans := detail(404, fmt.Sprintf("Work pool %q not found.", pool))
		return "", "", &ans
	}
	return pool, queue, nil
}

// defaultAgentPool is where the server puts a deployment whose PATCH names a queue but no pool.
const defaultAgentPool = "default-agent-pool"

// setQueue points d at queue in pool (the pool's default queue when queue is ""),
// creating the queue when it does not exist.
func (f *Server) setQueue(d *deployment, pool, queue string) {
	if pool == "" {
		d.poolName, d.queueName, d.queueID = nil, nil, nil
		if queue != "" {
			d.queueName = queue
		}
		return
	}
	var q map[string]any
	if queue == "" {
		for _, e := range f.queues[pool] {
			if e["id"] == f.pools[pool]["default_queue_id"] {
				q = e
			}
		}
	} else if q = f.queueLocked(pool, queue); q == nil {
		q = f.addQueueLocked(pool, queue)
	}
	if q == nil { // a pool without its default queue: make one
		q = f.addQueueLocked(pool, "default")
	}
	d.poolName, d.queueName, d.queueID = pool, q["name"], q["id"]
}

// newSchedule stores one DeploymentScheduleCreate the way the server reads it back.
func (f *Server) newSchedule(depID string, s map[string]any) map[string]any {
	now := f.stamp()
	active, ok := s["active"]
	if !ok {
		active = true
	}
	params := asMap(s["parameters"])
	if params == nil {
		params = map[string]any{}
	}
	return map[string]any{
		"id": newID(), "created": now, "updated": now, "deployment_id": depID,
		"schedule": f.normaliseSchedule(asMap(s["schedule"])), "active": active,
		"max_scheduled_runs": s["max_scheduled_runs"], "parameters": params, "slug": s["slug"],
	}
}

// normaliseSchedule fills the server's defaults: cron day_or true and timezone null;
// interval anchor_date now and timezone "UTC"; rrule timezone null.
func (f *Server) normaliseSchedule(s map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range s {
		out[k] = v
	}
	switch {
	case s["cron"] != nil:
		if _, ok := s["day_or"]; !ok {
			out["day_or"] = true
		}
		if _, ok := s["timezone"]; !ok {
			out["timezone"] = nil
		}
	case s["interval"] != nil:
		if s["anchor_date"] == nil {
			out["anchor_date"] = f.stamp()
		}
		if s["timezone"] == nil {
			out["timezone"] = "UTC"
		}
	case s["rrule"] != nil:
		if _, ok := s["timezone"]; !ok {
			out["timezone"] = nil
		}
	}
	return out
}
