// Package deployer writes desired deployments into Prefect 2 (2.14) through its REST
// API: the API runner of prefect-deploy. It is the one place for Prefect 2's rules of a
// deployment write: the body `prefect deployment build -a` sends (recorded on 2.14.21,
// ../shared/prefect/recorded/deploy-traffic), the server defaults it relies on, and the
// lookups it needs (the infrastructure block's document id). A Prefect 3 writer would be
// a sibling of this package, taking the same desired.Deployment.
//
// Per deployment: POST /api/flows/ (once per flow name per run), then POST
// /api/deployments/ with every field set. Prefect 2's POST /deployments/ replaces the
// whole deployment (an omitted field goes back to its default), so one complete body
// converges in one call: a schedule, tag or parameter removed from the file is gone
// after it, with no read-modify-write.
package deployer

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
	"github.com/acme-data/prefect-flows/ci/spec"
)

// Prefect 2 rules the body relies on (FACTS.md of the recordings).
const (
	// DefaultQueue is what the CLI sends as work_queue_name without -q; with no pool
	// the server then puts the deployment in its default agent pool.
	DefaultQueue = "default"
	// ImagePath is the deployment path the CLI sets when the infrastructure block has
	// an image (docker, ecs-task, kubernetes-job) and no storage: the flows are in the image.
	ImagePath = "/opt/prefect/flows"
)

// API is what the deployer needs from Prefect; *prefectapi.Client implements it.
type API interface {
	ReadBlockDocument(ctx context.Context, typeSlug, name string) (*prefectapi.BlockDocument, error)
	CreateFlow(ctx context.Context, name string) (*prefectapi.Flow, error)
	CreateDeployment(ctx context.Context, body []byte) (*prefectapi.Deployment, bool, error)
	ReadDeploymentByName(ctx context.Context, flowName, name string) (*prefectapi.Deployment, error)
	ListDeployments(ctx context.Context, f prefectapi.DeploymentFilter) ([]prefectapi.Deployment, error)
	ReadFlowNames(ctx context.Context, ids []string) (map[string]string, error)
}

// Block is a resolved infrastructure block.
type Block struct {
	ID string
	// HasImage says whether the block's type has an image field (docker-based).
	HasImage bool
}

// Deployer writes deployments; safe for concurrent use once Prepare has run.
type Deployer struct {
	API API
	// Workdir is the absolute directory entrypoints are relative to: the `path` of
	// deployments whose infrastructure has no image (Process), as the CLI sets it.
	Workdir string
	// Now anchors interval schedules that name no anchor (the CLI anchors at the time
	// of the build); nil means time.Now.
	Now func() time.Time

	blocks map[string]Block
	// active is the server's pause switch by "flow/name", read in Prepare for the
	// deployments whose file does not declare it; absent = no such deployment yet.
	active   map[string]bool
	prepared bool

	flows flowIDs
}

// New makes a deployer.
func New(api API, workdir string) *Deployer {
	return &Deployer{API: api, Workdir: workdir, Now: time.Now}
}

// Prepare resolves every infrastructure block the deployments name to its document id,
// once per block, and fails with every missing block at once before anything is written.
func (d *Deployer) Prepare(ctx context.Context, deps []desired.Deployment) error {
	users := map[string][]string{}
	var refs []string
	for _, dep := range deps {
		if dep.InfraBlock == "" {
			continue
		}
		if _, ok := users[dep.InfraBlock]; !ok {
			refs = append(refs, dep.InfraBlock)
		}
		users[dep.InfraBlock] = append(users[dep.InfraBlock], dep.Name)
	}
	d.blocks = map[string]Block{}
	var problems []string
	for _, ref := range refs {
		slug, name, ok := strings.Cut(ref, "/")
		if !ok {
			problems = append(problems, fmt.Sprintf("infrastructure block %q: want type-slug/name", ref))
			continue
		}
		doc, err := d.API.ReadBlockDocument(ctx, slug, name)
		switch {
		case errors.Is(err, prefectapi.ErrNotFound):
			problems = append(problems, fmt.Sprintf("infrastructure block %s does not exist (used by %s): save it first (infrastructure/ecs-task-<env>.py, or `prefect block register` + the block's save())",
				ref, strings.Join(users[ref], ", ")))
		case err != nil:
			return fmt.Errorf("resolve infrastructure block %s: %w", ref, err)
		default:
			d.blocks[ref] = Block{ID: doc.ID, HasImage: doc.HasField("image")}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("nothing was deployed: %s", strings.Join(problems, "; "))
	}
	return d.readSwitches(ctx, deps)
}

// readSwitches reads, in one listing (a page per 200), the pause switch of the existing
// deployments whose file does not declare is_schedule_active, instead of one GET each.
func (d *Deployer) readSwitches(ctx context.Context, deps []desired.Deployment) error {
	var names []string
	want := map[string]bool{}
	for _, dep := range deps {
		if dep.ScheduleActive == nil {
			if !want[dep.Key()] {
				names = append(names, dep.Name)
			}
			want[dep.Key()] = true
		}
	}
	d.active = map[string]bool{}
	if len(names) > 0 {
		list, err := d.API.ListDeployments(ctx, prefectapi.DeploymentFilter{Names: names})
		if err != nil {
			return fmt.Errorf("read the existing deployments: %w", err)
		}
		ids := make([]string, 0, len(list))
		for _, l := range list {
			ids = append(ids, l.FlowID)
		}
		flows, err := d.API.ReadFlowNames(ctx, ids)
		if err != nil {
			return fmt.Errorf("read the existing deployments' flows: %w", err)
		}
		for _, l := range list {
			if key := flows[l.FlowID] + "/" + l.Name; want[key] {
				d.active[key] = l.ScheduleActive
			}
		}
	}
	d.prepared = true
	return nil
}

// Outcome is what one deployment write did.
type Outcome struct {
	ID      string
	Created bool
}

// Deploy writes one deployment: its flow (once per flow name), then the deployment.
func (d *Deployer) Deploy(ctx context.Context, dep desired.Deployment) (Outcome, error) {
	var blk Block
	if dep.InfraBlock != "" {
		var ok bool
		if blk, ok = d.blocks[dep.InfraBlock]; !ok {
			return Outcome{}, fmt.Errorf("%s: infrastructure block %s was not resolved (Prepare first)", dep.Key(), dep.InfraBlock)
		}
	} else {
		// The CLI would save an anonymous Process block; the file format requires a block.
		return Outcome{}, fmt.Errorf("%s: no infrastructure block (ib-block)", dep.Key())
	}
	flowID, err := d.flowID(ctx, dep.FlowName)
	if err != nil {
		return Outcome{}, fmt.Errorf("%s: POST /flows/: %w", dep.Key(), err)
	}
	active := dep.ScheduleActive
	if active == nil {
		// The file says nothing about pausing: keep the server's switch, as the CLI does
		// (the replace would otherwise set it back to active).
		if d.prepared {
			if v, ok := d.active[dep.Key()]; ok {
				active = &v
			}
		} else {
			old, err := d.API.ReadDeploymentByName(ctx, dep.FlowName, dep.Name)
			switch {
			case err == nil:
				active = &old.ScheduleActive
			case !errors.Is(err, prefectapi.ErrNotFound):
				return Outcome{}, fmt.Errorf("%s: %w", dep.Key(), err)
			}
		}
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	body, err := Body(dep, flowID, blk, d.Workdir, now(), active)
	if err != nil {
		return Outcome{}, fmt.Errorf("%s: %w", dep.Key(), err)
	}
	got, created, err := d.API.CreateDeployment(ctx, body)
	if err != nil {
		return Outcome{}, fmt.Errorf("%s: %w", dep.Key(), err)
	}
	return Outcome{ID: got.ID, Created: created}, nil
}

// flowID upserts the flow once per name (see flowIDs.get).
func (d *Deployer) flowID(ctx context.Context, name string) (string, error) {
	return d.flows.get(ctx, d.API, name)
}

// Body is the POST /api/deployments/ body for dep, key for key and byte for byte what
// Prefect 2.14's `prefect deployment build -a` sends for a new deployment built from the
// same file (the recorded bodies are the test): key order name, flow_id,
// parameter_openapi_schema, parameters, tags, manifest_path, work_queue_name,
// [work_pool_name], storage_document_id, infrastructure_document_id, schedule,
// description, path, version, entrypoint, infra_overrides.
//
// Where the CLI's body depends on the server's old deployment (it copies tags,
// parameters, schedule, queue, pool and description when their option is absent), this
// body sends the file's values instead: that is what converges. is_schedule_active
// (after flow_id, as the CLI places it) is active when not nil: the file's value, else
// the existing deployment's, copied as the CLI does; nil leaves it out (a new deployment,
// active by the server's default). Without a pool it leaves out work_pool_name and sends
// the "default" queue (the server picks its default agent pool, as for the CLI).
func Body(dep desired.Deployment, flowID string, blk Block, workdir string, now time.Time, active *bool) ([]byte, error) {
	params, err := parameters(dep.Parameters)
	if err != nil {
		return nil, err
	}
	queue := dep.WorkQueue
	if queue == "" {
		queue = DefaultQueue
	}
	path := workdir
	if blk.HasImage {
		path = ImagePath
	}
	overrides := object{}
	ov := append([]desired.Override(nil), dep.InfraOverrides...)
	sort.SliceStable(ov, func(i, j int) bool { return ov[i].Key < ov[j].Key })
	for _, o := range ov {
		overrides = append(overrides, member{o.Key, o.Value})
	}
	tags := dep.Tags
	if tags == nil {
		tags = []string{}
	}
	schema := json.RawMessage(dep.ParameterSchema)
	if !json.Valid(schema) {
		return nil, errors.New("parameter schema is not JSON")
	}
	o := object{
		{"name", dep.Name},
		{"flow_id", flowID},
	}
	if active != nil {
		o = append(o, member{"is_schedule_active", *active})
	}
	o = append(o, object{
		{"parameter_openapi_schema", schema},
		{"parameters", params},
		{"tags", tags},
		{"manifest_path", nil},
		{"work_queue_name", queue},
	}...)
	if dep.WorkPool != "" {
		o = append(o, member{"work_pool_name", dep.WorkPool})
	}
	o = append(o,
		member{"storage_document_id", nil},
		member{"infrastructure_document_id", orNil(blk.ID)},
		member{"schedule", scheduleBody(dep.Schedule, now)},
		member{"description", strOrNil(dep.Description)},
		member{"path", path},
		member{"version", strOrNil(dep.Version)},
		member{"entrypoint", dep.Entrypoint},
		member{"infra_overrides", overrides},
	)
	var b bytes.Buffer
	if err := pyEncode(&b, o); err != nil {
		return nil, fmt.Errorf("request body: %w", err)
	}
	return b.Bytes(), nil
}

// parameters renders the file's values as the CLI receives them (--params, the text of
// spec.ParamsJSON) and as Python's json.loads then holds them: a number with '.' or an
// exponent is a float, any other an int; keys keep ParamsJSON's (sorted) order.
func parameters(p map[string]any) (any, error) {
	text, err := spec.ParamsJSON(p)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("parameters: %w", err)
	}
	return v, nil
}

// schedule is the schedule object the CLI's client schemas produce: cron {cron,
// timezone, day_or}, interval {interval (float seconds), anchor_date, timezone}, rrule
// {rrule, timezone}; null for none.
func scheduleBody(s *schedule.Schedule, now time.Time) any {
	if s == nil {
		return nil
	}
	switch s.Kind {
	case schedule.Cron:
		return object{{"cron", s.Cron}, {"timezone", orNil(s.Timezone)}, {"day_or", true}}
	case schedule.Interval:
		// Without a timezone Prefect infers one from the anchor: an ISO text only has an
		// offset, which is not an IANA name, so it is always "UTC".
		return object{{"interval", float64(s.IntervalSeconds)}, {"anchor_date", pyISO(s.AnchorAt(now))}, {"timezone", s.Zone()}}
	default:
		return object{{"rrule", s.RRule}, {"timezone", orNil(s.Timezone)}}
	}
}

// pyISO is Python's datetime.isoformat() of an aware time: microseconds only when not
// zero, the offset as +HH:MM.
func pyISO(t time.Time) string {
	t = t.Truncate(time.Microsecond)
	s := t.Format("2006-01-02T15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	return s + t.Format("-07:00")
}

func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func strOrNil(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

// Runner adapts the deployer to prefectcli.Apply (bounded concurrency, per-deployment
// timeouts, interrupts, the per-deployment lines and summary of the other runners): a
// job's Name picks its desired deployment, its argv is not used.
func (d *Deployer) Runner(deps []desired.Deployment) prefectcli.Runner {
	byName := make(map[string]desired.Deployment, len(deps))
	for _, dep := range deps {
		byName[dep.Name] = dep
	}
	return &runner{d: d, deps: byName}
}

type runner struct {
	d    Writer
	deps map[string]desired.Deployment
}

func (r *runner) Run(ctx context.Context, job prefectcli.Job) prefectcli.Result {
	// ExitCode -1: no process; the line shows Err, the API's own words.
	res := prefectcli.Result{Name: job.Name, ExitCode: -1, Status: prefectcli.StatusFailed}
	dep, ok := r.deps[job.Name]
	if !ok {
		res.Err = fmt.Errorf("no desired state for deployment %q", job.Name)
		return res
	}
	out, err := r.d.Deploy(ctx, dep)
	if err != nil {
		res.Err = err
		return res
	}
	verb := "updated"
	if out.Created {
		verb = "created"
	}
	res.Status, res.ExitCode, res.DeploymentID = prefectcli.StatusSucceeded, 0, out.ID
	res.Stdout = fmt.Sprintf("Deployment '%s' successfully %s with id '%s'.\n", dep.Key(), verb, out.ID)
	return res
}

// WriteRetry is the retry policy for the writes: POST /flows/ and POST /deployments/ are
// upserts, so repeating one is harmless, and a Prefect server on SQLite answers 500
// ("database is locked") under concurrent writes on a busy machine (seen on 2.14.21
// with 8 writes in flight on 2 loaded cores): up to 6 attempts, 0.5 s doubling to 8 s.
var WriteRetry = prefectapi.RetryPolicy{MaxAttempts: 6, BaseDelay: 500 * time.Millisecond, MaxDelay: 8 * time.Second, MaxRetryAfter: 60 * time.Second}

// Jobs are the prefectcli.Apply jobs for deps (names only: the runner ignores argv).
func Jobs(deps []desired.Deployment) []prefectcli.Job {
	jobs := make([]prefectcli.Job, len(deps))
	for i, dep := range deps {
		jobs[i] = prefectcli.Job{Name: dep.Name}
	}
	return jobs
}
