package prefectapi

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/acme-data/prefect-flows/ci/schedule"
)

// Deployment is a deployment as read from the API, normalised over the 2.14 shape
// (`schedule` + `is_schedule_active`) and the 2.16+ shape (`schedules` list + `paused`).
type Deployment struct {
	ID          string
	Name        string
	FlowID      string
	Version     string // "" when null
	Description string // "" when null
	// Schedule is the first (primary) schedule, nil when there is none.
	Schedule *schedule.Schedule
	// ScheduleCount is how many schedules the server holds (2.16+ may hold several).
	ScheduleCount int
	// ScheduleActive is false when the deployment's schedule is paused.
	ScheduleActive bool
	Parameters     map[string]any
	Tags           []string
	WorkPoolName   string
	WorkQueueName  string
	InfraOverrides map[string]any
	// InfrastructureDocumentID is the infrastructure block document, "" when none.
	InfrastructureDocumentID string
	Entrypoint               string
	Path                     string
	Updated                  string

	// Prefect 2.16+ and 3 (the `schedules` list and the deployment's own fields).

	// Schedules is every schedule, in the server's order, each with its own switch
	// (schedule.Observed); the 2.14 `schedule` is a one-item list. Never nil.
	Schedules []schedule.Schedule
	// Paused is the deployment's `paused` (3.x, 2.16+); nil when the server has no such field.
	Paused *bool
	// JobVariables are the deployment's job_variables (3.x); never nil.
	JobVariables map[string]any
	// ConcurrencyLimit is the deployment's limit of runs at once: Prefect 3 stores it as
	// a global concurrency limit and answers concurrency_limit null with
	// global_concurrency_limit{limit} (FACTS.md); nil when there is none.
	ConcurrencyLimit *int64
	// EnforceParameterSchema is the server's; nil when it does not send the field.
	EnforceParameterSchema *bool
}

// HasTag says whether the deployment carries tag exactly.
func (d *Deployment) HasTag(tag string) bool {
	for _, t := range d.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

type wireDeployment struct {
	ID                       string               `json:"id"`
	Name                     string               `json:"name"`
	FlowID                   string               `json:"flow_id"`
	Version                  *string              `json:"version"`
	Description              *string              `json:"description"`
	Schedule                 *schedule.Wire       `json:"schedule"`
	IsScheduleActive         *bool                `json:"is_schedule_active"`
	Paused                   *bool                `json:"paused"`
	Schedules                *[]schedule.WireItem `json:"schedules"`
	Parameters               map[string]any       `json:"parameters"`
	Tags                     []string             `json:"tags"`
	WorkPoolName             *string              `json:"work_pool_name"`
	WorkQueueName            *string              `json:"work_queue_name"`
	InfraOverrides           map[string]any       `json:"infra_overrides"`
	InfrastructureDocumentID *string              `json:"infrastructure_document_id"`
	Entrypoint               *string              `json:"entrypoint"`
	Path                     *string              `json:"path"`
	Updated                  string               `json:"updated"`
	JobVariables             map[string]any       `json:"job_variables"`
	ConcurrencyLimit         *float64             `json:"concurrency_limit"`
	GlobalConcurrencyLimit   *struct {
		Limit *float64 `json:"limit"`
	} `json:"global_concurrency_limit"`
	EnforceParameterSchema *bool `json:"enforce_parameter_schema"`
}

// UnmarshalJSON reads either server shape. When both are present (2.16 to 2.19 send
// both), the `schedules` list wins: it is the source the legacy fields are derived from.
func (d *Deployment) UnmarshalJSON(b []byte) error {
	var w wireDeployment
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*d = Deployment{
		ID: w.ID, Name: w.Name, FlowID: w.FlowID,
		Version: str(w.Version), Description: str(w.Description),
		Parameters: w.Parameters, Tags: w.Tags,
		WorkPoolName: str(w.WorkPoolName), WorkQueueName: str(w.WorkQueueName),
		InfraOverrides: w.InfraOverrides, InfrastructureDocumentID: str(w.InfrastructureDocumentID),
		Entrypoint: str(w.Entrypoint), Path: str(w.Path), Updated: w.Updated,
	}
	if d.Parameters == nil {
		d.Parameters = map[string]any{}
	}
	if d.InfraOverrides == nil {
		d.InfraOverrides = map[string]any{}
	}
	if d.Tags == nil {
		d.Tags = []string{}
	}
	d.JobVariables = w.JobVariables
	if d.JobVariables == nil {
		d.JobVariables = map[string]any{}
	}
	d.Paused, d.EnforceParameterSchema = w.Paused, w.EnforceParameterSchema
	switch {
	case w.GlobalConcurrencyLimit != nil && w.GlobalConcurrencyLimit.Limit != nil:
		n := int64(math.Round(*w.GlobalConcurrencyLimit.Limit))
		d.ConcurrencyLimit = &n
	case w.ConcurrencyLimit != nil:
		n := int64(math.Round(*w.ConcurrencyLimit))
		d.ConcurrencyLimit = &n
	}
	d.ScheduleActive = true
	if w.IsScheduleActive != nil {
		d.ScheduleActive = *w.IsScheduleActive
	} else if w.Paused != nil {
		d.ScheduleActive = !*w.Paused
	}
	scheds, err := schedule.Observed(w.Schedule, w.Schedules)
	if err != nil {
		return fmt.Errorf("deployment %s: %w", w.Name, err)
	}
	d.Schedules, d.ScheduleCount = scheds, len(scheds)
	if len(scheds) > 0 {
		first := scheds[0]
		d.Schedule = &first
	}
	return nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Flow is a flow as the API returns it.
type Flow struct {
	ID   string   `json:"id"`
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

// BlockType is the part of a block type this client uses.
type BlockType struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Slug string `json:"slug"`
}

// BlockDocument is the part of a block document this client uses.
type BlockDocument struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	BlockTypeID string       `json:"block_type_id"`
	BlockType   *BlockType   `json:"block_type"`
	IsAnonymous bool         `json:"is_anonymous"`
	BlockSchema *BlockSchema `json:"block_schema"`
}

// BlockSchema is the part of a block schema this client uses: the names of its fields.
type BlockSchema struct {
	Fields struct {
		Properties map[string]json.RawMessage `json:"properties"`
	} `json:"fields"`
}

// HasField says whether the block's schema declares field name (false when the server
// sent no schema).
func (b *BlockDocument) HasField(name string) bool {
	if b.BlockSchema == nil {
		return false
	}
	_, ok := b.BlockSchema.Fields.Properties[name]
	return ok
}

// Ref is "type-slug/name", the form `--infra-block` takes.
func (b *BlockDocument) Ref() string {
	slug := ""
	if b.BlockType != nil {
		slug = b.BlockType.Slug
	}
	return slug + "/" + b.Name
}

// WorkPool is the part of a work pool this client uses.
type WorkPool struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Type           string `json:"type"`
	IsPaused       bool   `json:"is_paused"`
	DefaultQueueID string `json:"default_queue_id"`
	// BaseJobTemplate is the pool's base job template as the server holds it ({} when
	// the pool was created without one).
	BaseJobTemplate json.RawMessage `json:"base_job_template,omitempty"`
}

// TemplateVariables are the pool's base_job_template.variables.properties by name, each
// as the server holds it (its type, default, ...); none for an empty template ({}, what a
// pool created without one holds).
func (p *WorkPool) TemplateVariables() (map[string]json.RawMessage, error) {
	if len(p.BaseJobTemplate) == 0 {
		return nil, nil
	}
	var t struct {
		Variables struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"variables"`
	}
	if err := json.Unmarshal(p.BaseJobTemplate, &t); err != nil {
		return nil, err
	}
	return t.Variables.Properties, nil
}
