// Package spec is the typed form of a prefect-deployments-<env>.yaml file: loading it
// with positions, applying defaults, and validating every deployment before anything runs.
package spec

import (
	"gopkg.in/yaml.v3"

	"github.com/acme-data/prefect-flows/ci/schedule"
	"github.com/acme-data/prefect-flows/ci/yamlpos"
)

// ReservedTagPrefix starts the ownership tag that apply puts on every deployment it
// builds (ReservedTagPrefix + env). The loader refuses user tags with this prefix so that
// only an apply can mark a deployment as managed, and prune never deletes a hand-made one.
const ReservedTagPrefix = "managed-by:prefect-flows:"

// Pos is a place in a deployments file, printed as file:line:col.
type Pos = yamlpos.Pos

// File is a loaded, defaulted and validated deployments file.
type File struct {
	Path string
	// Prefect is the major the file targets: its top-level `prefect:` key, else the
	// major of the first key only one major has, else Prefect 2.
	Prefect Major
	// PrefectFrom says how Prefect was decided, e.g. "prefect: 3 at line 1" or
	// "inferred from ib-block at line 1".
	PrefectFrom string
	// IBBlock is the top-level `ib-block` (block-type-slug/block-name).
	IBBlock     string
	Deployments []Deployment
	// Notes are entrypoints validation left to Prefect's loader (the pipeline's check
	// step): an imported or assigned flow, an unknown decorator. Not errors.
	Notes []FieldError `json:",omitempty"`
}

// Deployment is one entry of `deployments:` with defaults already applied:
// the top-level `defaults:` merged in and IBBlock resolved to the effective block.
type Deployment struct {
	Name       string
	Entrypoint string // path/file.py:flow_function, relative to the repository root
	// FlowName is the Prefect flow name: the decorator's literal `name=` when it has
	// one, else the function name with '_' replaced by '-'. Set by validation; "" when
	// the entrypoint was left to Prefect's loader and its name could not be read (see
	// File.Notes).
	FlowName string
	// Description is passed as -d when not empty.
	Description string
	// Parameters holds JSON-ready values (string, bool, int64, float64, nil,
	// []any, map[string]any). ParamsJSON renders them.
	Parameters map[string]any
	// Schedule is nil when the deployment has no schedule (it gets --no-schedule).
	// Always nil on Prefect 3, where Schedules holds every schedule.
	Schedule *schedule.Schedule
	// Schedules (Prefect 3) is the deployment's complete list of schedules: `schedules:`,
	// or `schedule:` as a one-item list. Empty means none.
	Schedules []ScheduleItem `json:",omitempty"`
	Tags      []string
	// Version is the literal text of `version`, passed as -v when not empty.
	Version  string
	WorkPool *WorkPool
	// IBBlock is the effective infrastructure block: the deployment's own, else the top-level one.
	IBBlock string
	// InfraOverrides are `infra_overrides` entries, sorted by key; each becomes --override key=value.
	InfraOverrides []Override
	// ScheduleActive is `is_schedule_active`: nil when the file does not declare it, and
	// then a schedule paused by hand in the UI is left as it is.
	ScheduleActive *bool `json:",omitempty"`
	// Paused (Prefect 3) is nil when the file does not say `paused`: then a deployment
	// paused by hand is left as it is.
	Paused *bool `json:",omitempty"`
	// ConcurrencyLimit (Prefect 3) is the positive `concurrency_limit`, nil when none.
	ConcurrencyLimit *int64 `json:",omitempty"`
	// EnforceParameterSchema (Prefect 3) is nil when the file does not say it.
	EnforceParameterSchema *bool `json:",omitempty"`
	// Pos is where the deployment's mapping starts.
	Pos Pos
}

// ScheduleItem is one schedule of `schedules:` (Prefect 3) and where it is written.
type ScheduleItem struct {
	schedule.Schedule
	// Pos is where the item starts (for `schedule:`, where its mapping starts).
	Pos Pos
}

// ScheduleValues is Schedules without their positions (never nil).
func (d Deployment) ScheduleValues() []schedule.Schedule {
	out := make([]schedule.Schedule, 0, len(d.Schedules))
	for _, item := range d.Schedules {
		out = append(out, item.Schedule)
	}
	return out
}

// WorkPool is `work_pool:`; on Prefect 2 either field may be empty, on Prefect 3 Name
// is always set.
type WorkPool struct {
	Name string
	// NamePos is where the name is written: in the deployment, or in defaults when it
	// comes from there. Left out of JSON: the golden files show the values.
	NamePos       Pos `json:"-"`
	WorkQueueName string
	// JobVariables (Prefect 3) are `work_pool.job_variables`, merged key by key with the
	// defaults' (the deployment's value wins for a key; a nested mapping is replaced
	// whole). nil when there are none.
	JobVariables map[string]JobVariable `json:",omitempty"`
}

// JobVariable is one top-level job variable: its value as typed in YAML (string, bool,
// int64, float64, nil, []any, map[string]any; dates stay the text written) and where
// it was written.
type JobVariable struct {
	Value any
	// Pos is where the variable's key is.
	Pos Pos
	// Node is the value as written (aliases not yet resolved), for a message about a
	// nested value such as env.LOG_LEVEL.
	Node *yaml.Node `json:"-"`
}

// JobVariableValues is the JSON object of the job variables, a deep copy (nil when
// there are none): what a Prefect 3 deployment's job_variables holds from the file.
func (w *WorkPool) JobVariableValues() map[string]any {
	if w == nil || w.JobVariables == nil {
		return nil
	}
	out := make(map[string]any, len(w.JobVariables))
	for k, v := range w.JobVariables {
		out[k] = deepCopy(v.Value)
	}
	return out
}

// Override is one `infra_overrides` entry; Value is the string Prefect receives.
type Override struct {
	Key   string
	Value string
}

// Function is the flow function part of the entrypoint.
func (d Deployment) Function() string {
	for i := len(d.Entrypoint) - 1; i >= 0; i-- {
		if d.Entrypoint[i] == ':' {
			return d.Entrypoint[i+1:]
		}
	}
	return ""
}
