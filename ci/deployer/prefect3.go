package deployer

// The Prefect 3 writer: the one place for Prefect 3's rules of a deployment write. Its
// body is the POST /api/deployments/ body Prefect 3.8.3's own `prefect deploy` and
// `flow.deploy()` send (recorded: ../shared/prefect3/recorded/deploy/*-post-bodies.json),
// minus their traps (FACTS.md there):
//
//   - schedules: the complete list, `[]` included. A POST upsert deletes and recreates
//     the schedules, so a schedule removed from the file is gone (the CLI omits the key
//     when prefect.yaml has none, and a PATCH without it keeps the old one).
//   - paused: sent only when the file says it. The SDK and CLI always send paused:false
//     and un-pause a deployment paused by hand; a POST upsert without the key keeps it.
//   - job_variables: the image is always job_variables.image, exactly as given
//     (`.deploy(image="repo@sha256:…")` rewrites it to an invalid "repo:sha256:…").
//     The server ignores `job_variables: {}` on POST and PATCH alike (its code tests
//     `if job_variables:`), but a non-empty object replaces the whole stored one: with
//     the image always in it, a job variable removed from the file is removed. With no
//     image and no job variables there is no API call that clears what the server
//     holds; the write then fails and says so, rather than leaving them silently.
//     Under the file's job variables go the pipeline's settings for the pool
//     (desired.ECS for an ecs pool; the file wins per key): desired.MergeJobVariables,
//     which the live plan compares too.
//   - work_pool_name and work_queue_name are always sent together (a PATCH naming only
//     the queue moves the deployment into "default-agent-pool"); no queue = null, the
//     pool's default queue, as the CLI sends it.
//   - concurrency_limit: the file's, else null, which deletes a limit the server holds
//     (the server keeps it as a global concurrency limit "deployment:<id>").
//
// Defaults as Prefect's client fills them: enforce_parameter_schema true, version the
// flow's (md5 of its file), description the flow's docstring and, when the flow has
// none, the literal text "None" (Prefect 3.8.3's client sends str(None)).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/acme-data/prefect-flows/ci/desired"
	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/schedule"
)

// Prefect 3 rules the body relies on.
const (
	// SetWorkingDirectory is the pull step that makes a worker run the flow from the
	// image's working directory, as prefect.yaml's `pull:` and from_source(dir) store it.
	SetWorkingDirectory = "prefect.deployments.steps.set_working_directory"
	// NoDescription is what Prefect 3's client sends as description for a flow without
	// a docstring: Python's str(None).
	NoDescription = "None"
)

// API3 is what the Prefect 3 writer needs; *prefectapi.Client implements it.
type API3 interface {
	CreateFlow(ctx context.Context, name string) (*prefectapi.Flow, error)
	UpsertDeployment(ctx context.Context, body []byte) (json.RawMessage, bool, error)
}

// Deployer3 writes deployments into a Prefect 3 server; safe for concurrent use.
type Deployer3 struct {
	API API3
	// Workdir is the image's working directory: the directory of the
	// set_working_directory pull step, which entrypoints are relative to.
	Workdir string
	// Now anchors interval schedules that name no anchor (Prefect's client anchors at
	// the time of the deploy); nil means time.Now.
	Now func() time.Time

	flows flowIDs
}

// New3 makes a Prefect 3 writer.
func New3(api API3, workdir string) *Deployer3 {
	return &Deployer3{API: api, Workdir: workdir, Now: time.Now}
}

// Prepare checks what can be checked before anything is written: every deployment
// names a work pool. The pools' existence and types are the preflight's business.
func (d *Deployer3) Prepare(_ context.Context, deps []desired.Deployment) error {
	var problems []string
	if strings.TrimSpace(d.Workdir) == "" {
		problems = append(problems, "no working directory for the pull step (the image's WORKDIR)")
	}
	for _, dep := range deps {
		if dep.WorkPool == "" {
			problems = append(problems, fmt.Sprintf("%s: %s: no work pool: Prefect 3 deploys into a work pool (work_pool.name)", dep.Pos, dep.Key()))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("nothing was deployed: %s", strings.Join(problems, "; "))
	}
	return nil
}

// written3 is what the writer reads back from the POST answer.
type written3 struct {
	ID           string         `json:"id"`
	JobVariables map[string]any `json:"job_variables"`
}

// Deploy writes one deployment: its flow (once per flow name), then one POST upsert.
func (d *Deployer3) Deploy(ctx context.Context, dep desired.Deployment) (Outcome, error) {
	if dep.WorkPool == "" {
		return Outcome{}, fmt.Errorf("%s: no work pool (Prefect 3 deploys into a work pool)", dep.Key())
	}
	flowID, err := d.flows.get(ctx, d.API, dep.FlowName)
	if err != nil {
		return Outcome{}, fmt.Errorf("%s: POST /flows/: %w", dep.Key(), err)
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	body, err := Body3(dep, flowID, d.Workdir, now())
	if err != nil {
		return Outcome{}, fmt.Errorf("%s: %w", dep.Key(), err)
	}
	raw, created, err := d.API.UpsertDeployment(ctx, body)
	if err != nil {
		return Outcome{}, fmt.Errorf("%s: %w", dep.Key(), err)
	}
	var got written3
	if err := json.Unmarshal(raw, &got); err != nil || got.ID == "" {
		return Outcome{}, fmt.Errorf("%s: POST /deployments/ answered without a deployment id", dep.Key())
	}
	out := Outcome{ID: got.ID, Created: created}
	if len(dep.AllJobVariables()) == 0 && len(got.JobVariables) > 0 {
		keys := make([]string, 0, len(got.JobVariables))
		for k := range got.JobVariables {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return out, fmt.Errorf("%s: deployed, but the job variables %s it had stay on the server: Prefect 3 ignores an empty job_variables and has no call that clears them; "+
			"give the deployment its image (job_variables.image replaces the whole set) or delete the deployment once so it is created afresh", dep.Key(), strings.Join(keys, ", "))
	}
	return out, nil
}

// Body3 is the POST /api/deployments/ body for dep, keys in the order Prefect 3.8.3's
// client sends them: name, flow_id, [paused], schedules, concurrency_limit,
// concurrency_options, enforce_parameter_schema, parameter_openapi_schema, parameters,
// tags, labels, pull_steps, work_queue_name, work_pool_name, storage_document_id,
// infrastructure_document_id, description, path, entrypoint, job_variables, version,
// version_info. paused is there only when the file says it (see the top of this file).
func Body3(dep desired.Deployment, flowID, workdir string, now time.Time) ([]byte, error) {
	if dep.WorkPool == "" {
		return nil, errors.New("no work pool")
	}
	if strings.TrimSpace(workdir) == "" {
		return nil, errors.New("no working directory for the pull step")
	}
	params, err := parameters(dep.Parameters)
	if err != nil {
		return nil, err
	}
	schema := json.RawMessage(dep.ParameterSchema)
	if !json.Valid(schema) {
		return nil, errors.New("parameter schema is not JSON")
	}
	tags := dep.Tags
	if tags == nil {
		tags = []string{}
	}
	scheds := []any{}
	for _, s := range dep.ScheduleList() {
		item, err := schedule3(s, now)
		if err != nil {
			return nil, err
		}
		scheds = append(scheds, item)
	}
	var limit any
	if dep.ConcurrencyLimit != nil {
		if *dep.ConcurrencyLimit < 1 {
			return nil, fmt.Errorf("concurrency_limit %d: expected a positive number of runs", *dep.ConcurrencyLimit)
		}
		limit = *dep.ConcurrencyLimit
	}
	enforce := true
	if dep.EnforceParameterSchema != nil {
		enforce = *dep.EnforceParameterSchema
	}
	description := NoDescription
	if dep.Description != nil {
		description = *dep.Description
	}
	jv, err := jsonObject(dep.AllJobVariables())
	if err != nil {
		return nil, fmt.Errorf("job_variables: %w", err)
	}
	o := object{{"name", dep.Name}, {"flow_id", flowID}}
	if dep.Paused != nil {
		o = append(o, member{"paused", *dep.Paused})
	}
	o = append(o, object{
		{"schedules", scheds},
		{"concurrency_limit", limit},
		{"concurrency_options", nil},
		{"enforce_parameter_schema", enforce},
		{"parameter_openapi_schema", schema},
		{"parameters", params},
		{"tags", tags},
		{"labels", object{}},
		{"pull_steps", []any{object{{SetWorkingDirectory, object{{"directory", workdir}}}}}},
		{"work_queue_name", orNil(dep.WorkQueue)},
		{"work_pool_name", dep.WorkPool},
		{"storage_document_id", nil},
		{"infrastructure_document_id", nil},
		{"description", description},
		{"path", nil},
		{"entrypoint", dep.Entrypoint},
		{"job_variables", jv},
		{"version", strOrNil(dep.Version)},
	}...)
	if dep.Version != nil {
		o = append(o, member{"version_info", object{{"type", "prefect:simple"}, {"version", *dep.Version}}})
	}
	var b bytes.Buffer
	if err := pyEncode(&b, o); err != nil {
		return nil, fmt.Errorf("request body: %w", err)
	}
	return b.Bytes(), nil
}

// jsonObject makes a typed map (string, bool, int, int64, float64, nil, []any,
// map[string]any) encodable by pyEncode with its keys sorted, refusing other types.
func jsonObject(m map[string]any) (any, error) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		c, err := jsonValue(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = c
	}
	return out, nil
}

func jsonValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string, int, int64, float64, json.Number:
		return x, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := jsonValue(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		return jsonObject(x)
	}
	return nil, fmt.Errorf("a %T is not a JSON value", v)
}

// schedule3 is one DeploymentScheduleCreate as Prefect 3's client sends it: the
// schedule (cron {cron, timezone, day_or}, interval {interval (float seconds),
// anchor_date, timezone ("UTC" when none)}, rrule {rrule with DTSTART, timezone ("UTC"
// when none)}), active,
// max_scheduled_runs, parameters, slug, replaces.
func schedule3(s schedule.Schedule, now time.Time) (object, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	var sch object
	switch s.Kind {
	case schedule.Cron:
		sch = object{{"cron", s.Cron}, {"timezone", orNil(s.Timezone)}, {"day_or", true}}
	case schedule.Interval:
		sch = object{{"interval", float64(s.IntervalSeconds)}, {"anchor_date", pydanticTime(s.AnchorAt(now))}, {"timezone", s.Zone()}}
	case schedule.RRule:
		// Not null: the server stores an rrule with timezone null, then its scheduler
		// fails on it every cycle (ZoneInfo(None), seen on 3.8.3) and no run is ever
		// scheduled. `prefect deploy` sends "UTC" for an rrule without a timezone.
		sch = object{{"rrule", schedule.WithDTStart(s.RRule)}, {"timezone", s.Zone()}}
	}
	return object{
		{"schedule", sch}, {"active", !s.Inactive}, {"max_scheduled_runs", nil},
		{"parameters", object{}}, {"slug", nil}, {"replaces", nil},
	}, nil
}

// pydanticTime is a time as pydantic 2 writes an aware datetime: "Z" for UTC, else
// the offset; microseconds only when not zero.
func pydanticTime(t time.Time) string {
	t = t.Truncate(time.Microsecond)
	s := t.Format("2006-01-02T15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	if _, off := t.Zone(); off == 0 {
		return s + "Z"
	}
	return s + t.Format("-07:00")
}

// Runner adapts the writer to prefectcli.Apply, like Deployer.Runner.
func (d *Deployer3) Runner(deps []desired.Deployment) prefectcli.Runner {
	byName := make(map[string]desired.Deployment, len(deps))
	for _, dep := range deps {
		byName[dep.Name] = dep
	}
	return &runner{d: d, deps: byName}
}
