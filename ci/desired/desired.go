// Package desired is the version-neutral desired state of a deployment: what the
// deployments file says, completed with what the flow itself says (name, parameter
// schema, default version and description, as Prefect's loader saw it) and the
// ownership marker. Writers (the Prefect 2 REST deployer today, a Prefect 3 one later)
// turn it into API calls; nothing here knows a request body or an argv.
package desired

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/acme-data/prefect-flows/ci/inspect"
	"github.com/acme-data/prefect-flows/ci/schedule"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// Override is one infrastructure override (Prefect 2 infra_overrides, dotted key).
type Override struct {
	Key, Value string
}

// Deployment is one deployment's complete desired state.
type Deployment struct {
	// Name is the deployment name; FlowName the flow's, as Prefect's loader computed it.
	Name, FlowName string
	// Entrypoint is "file.py:function" as Prefect stores it (relative to the working
	// directory); SourceEntrypoint as written in the file.
	Entrypoint, SourceEntrypoint string
	// Parameters are the file's values, typed (string, bool, int64, float64, nil, []any,
	// map[string]any); never nil.
	Parameters map[string]any
	// ParameterSchema is the flow's parameter schema as Prefect computed it (raw JSON).
	ParameterSchema json.RawMessage
	// Schedule is nil for no schedule: a writer clears any schedule the server holds.
	// An interval without an anchor is anchored by the writer at the time of the write,
	// as Prefect's own tools do.
	Schedule *schedule.Schedule
	// Tags are the file's tags and then the ownership marker, once; never nil.
	Tags []string
	// Version is the file's version, else the flow's (md5 of its file unless the flow
	// sets one); nil when neither exists.
	Version *string
	// Description is the file's, else the flow's (its cleaned docstring); nil when neither.
	Description *string
	// WorkPool and WorkQueue are as written; "" leaves the choice to the server's
	// defaults, which differ per Prefect major (a writer's business).
	WorkPool, WorkQueue string
	// InfraBlock is the infrastructure block "type-slug/name" (Prefect 2); "" when none.
	InfraBlock string
	// InfraOverrides are sorted by key.
	InfraOverrides []Override
	// ScheduleActive is the file's is_schedule_active; nil when the file does not
	// declare it: a schedule paused by hand then stays as the server has it.
	ScheduleActive *bool

	// Prefect 3 (work pools and workers): a Prefect 2 writer ignores these fields.

	// Schedules is the complete list of schedules (`schedules:`); when it is empty,
	// Schedule, if any, is the one schedule. No schedule at all means a writer removes
	// every schedule the server holds. Each has its own switch (Inactive).
	Schedules []schedule.Schedule
	// JobVariables are work_pool.job_variables, typed as in the file (string, bool,
	// int64, float64, nil, []any, map[string]any); nil or empty means none: a writer
	// removes the job variables the server holds.
	JobVariables map[string]any
	// PoolJobVariables are what the pipeline adds under JobVariables for the
	// deployment's pool (ECS.JobVariables for a pool of type ecs); the file's own win
	// per key. nil when none.
	PoolJobVariables map[string]any
	// Image is the image every run of the deployment uses, e.g. the published
	// "registry/repo@sha256:<hex>". A Prefect 3 writer sends it as job_variables.image
	// exactly as given (it wins over a job_variables.image of the file); "" = none.
	Image string
	// Paused is the file's `paused`; nil when the file does not say it: a deployment
	// paused by hand then stays paused, and a new one starts unpaused.
	Paused *bool
	// ConcurrencyLimit is the most runs at once; nil means no limit (a writer removes
	// a limit the server holds).
	ConcurrencyLimit *int64
	// EnforceParameterSchema is the file's; nil means Prefect's default (true).
	EnforceParameterSchema *bool

	// Pos is where the deployment starts in the file.
	Pos spec.Pos
}

// ScheduleList is every schedule of the deployment: Schedules, else Schedule as a
// one-item list, else none (never nil).
func (d Deployment) ScheduleList() []schedule.Schedule {
	switch {
	case len(d.Schedules) > 0:
		return d.Schedules
	case d.Schedule != nil:
		return []schedule.Schedule{*d.Schedule}
	}
	return []schedule.Schedule{}
}

// AllJobVariables is the deployment's job_variables as a Prefect 3 writer sends them:
// PoolJobVariables under JobVariables, then Image (MergeJobVariables).
func (d Deployment) AllJobVariables() map[string]any {
	return MergeJobVariables(d.PoolJobVariables, d.JobVariables, d.Image)
}

// Key is "flow/name", the deployment's identity on a Prefect server.
func (d Deployment) Key() string { return d.FlowName + "/" + d.Name }

// Resolve completes d with the inspected flow and the ownership marker. The error says
// where the deployment is in the file and what went wrong, in one line.
func Resolve(d spec.Deployment, flow *inspect.Flow, marker string) (Deployment, error) {
	where := fmt.Sprintf("%s: deployment %q", d.Pos, d.Name)
	switch {
	case flow == nil:
		return Deployment{}, fmt.Errorf("%s: entrypoint %s was not inspected (is the inspect output from this file?)", where, d.Entrypoint)
	case !flow.OK:
		return Deployment{}, fmt.Errorf("%s: entrypoint %s does not load: %s", where, d.Entrypoint, flow.ErrorLine())
	case len(flow.ParameterSchema) == 0 || !json.Valid(flow.ParameterSchema):
		return Deployment{}, fmt.Errorf("%s: entrypoint %s: the inspect output has no valid parameter schema", where, d.Entrypoint)
	case strings.TrimSpace(marker) == "":
		return Deployment{}, fmt.Errorf("%s: no ownership marker", where)
	}
	out := Deployment{
		Name:             d.Name,
		FlowName:         flow.FlowName,
		Entrypoint:       flow.DeploymentEntrypoint,
		SourceEntrypoint: d.Entrypoint,
		Parameters:       d.Parameters,
		ParameterSchema:  flow.ParameterSchema,
		Version:          flow.Version,
		Description:      flow.Description,
		InfraBlock:       d.IBBlock,
		ScheduleActive:   d.ScheduleActive,
		Pos:              d.Pos,
	}
	if out.Entrypoint == "" {
		out.Entrypoint = d.Entrypoint
	}
	if out.Parameters == nil {
		out.Parameters = map[string]any{}
	}
	if d.Version != "" {
		v := d.Version
		out.Version = &v
	}
	if d.Description != "" {
		v := d.Description
		out.Description = &v
	}
	if d.WorkPool != nil {
		out.WorkPool, out.WorkQueue = d.WorkPool.Name, d.WorkPool.WorkQueueName
	}
	out.Tags = make([]string, 0, len(d.Tags)+1)
	for _, t := range d.Tags {
		if t != marker {
			out.Tags = append(out.Tags, t)
		}
	}
	out.Tags = append(out.Tags, marker)
	for _, o := range d.InfraOverrides {
		out.InfraOverrides = append(out.InfraOverrides, Override{Key: o.Key, Value: o.Value})
	}
	if d.Schedule != nil {
		sch := *d.Schedule
		if err := sch.Check(); err != nil {
			return Deployment{}, fmt.Errorf("%s: schedule: %w", where, err)
		}
		out.Schedule = &sch
	}
	// Prefect 3: every schedule, each with its own switch; the pool's job variables.
	for i, item := range d.Schedules {
		if err := item.Check(); err != nil {
			return Deployment{}, fmt.Errorf("%s: schedules[%d]: %w", where, i, err)
		}
		out.Schedules = append(out.Schedules, item.Schedule)
	}
	if d.WorkPool != nil {
		out.JobVariables = d.WorkPool.JobVariableValues()
	}
	out.Paused, out.ConcurrencyLimit, out.EnforceParameterSchema = d.Paused, d.ConcurrencyLimit, d.EnforceParameterSchema
	return out, nil
}

// ResolveAll resolves every deployment of f against the inspect result, collecting every
// problem (one line each) before giving up.
func ResolveAll(f *spec.File, flows *inspect.Result, marker string) ([]Deployment, error) {
	var out []Deployment
	var problems []string
	for _, d := range f.Deployments {
		var fl *inspect.Flow
		if flows != nil {
			fl, _ = flows.Flow(d.Entrypoint)
		}
		r, err := Resolve(d, fl, marker)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		out = append(out, r)
	}
	if len(problems) > 0 {
		return nil, &Error{Problems: problems}
	}
	return out, nil
}

// Error lists every deployment that could not be resolved.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0]
	}
	return fmt.Sprintf("%d deployment(s) cannot be deployed:\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}
