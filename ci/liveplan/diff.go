package liveplan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/schedule"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// Prefect's values when `build` gets no -p / -q (FACTS.md, recorded on 2.14.21).
const (
	DefaultPool  = "default-agent-pool"
	DefaultQueue = "default"
)

// Field names of a Change.
const (
	FieldSchedule       = "schedule"
	FieldTimezone       = "schedule.timezone"
	FieldAnchorDate     = "schedule.anchor_date"
	FieldDayOr          = "schedule.day_or"
	FieldScheduleActive = "schedule.active"
	FieldParameters     = "parameters"
	FieldTags           = "tags"
	FieldVersion        = "version"
	FieldWorkPool       = "work_pool"
	FieldWorkQueue      = "work_queue"
	FieldInfraBlock     = "infra_block"
	FieldDescription    = "description"
	FieldInfraOverrides = "infra_overrides"

	// Prefect 3.
	FieldSchedules        = "schedules"
	FieldPaused           = "paused"
	FieldJobVariables     = "job_variables"
	FieldConcurrencyLimit = "concurrency_limit"
	FieldEnforceSchema    = "enforce_parameter_schema"
)

// Change is one field that differs: Old is the server's value, New the file's, both
// as display text.
type Change struct {
	Field    string
	Old, New string
	// Patch holds the PATCH /deployments/{id} fields that set the file's value, for the
	// fields `prefect deployment build` leaves alone when their option is absent (tags,
	// parameters, pool and queue, a paused schedule). Nil when build itself sets the field.
	Patch map[string]any
}

// target is what a deployment of the file is compared as: the file's major (which
// writer applies it), the ownership marker, and the image apply sends as
// job_variables.image on Prefect 3 ("" when the plan does not know it).
type target struct {
	major  spec.Major
	marker string
	image  string
	// imageRepo is where the deploy pushes the image it then sends, digest not known
	// yet (Options.ImageRepository).
	imageRepo string
	// pools are the job variables apply adds under the file's, by pool name
	// (Options.PoolJobVariables).
	pools map[string]map[string]any
}

// compare lists how server differs from what d, applied with the marker, leads to.
// infraRef is the server's infrastructure block as "slug/name" ("" when none). The
// server's deployment is normalised over both majors (prefectapi.Deployment); the
// fields both majors share are compared once, then each major's own.
func compare(d spec.Deployment, s *prefectapi.Deployment, infraRef string, t target) []Change {
	var out []Change
	add := func(c Change) { out = append(out, c) }
	p3 := t.major == spec.Prefect3
	// patch is the read-back's fix for a field `prefect deployment build` leaves alone
	// (Prefect 2); the Prefect 3 writer's upsert sets every field, so there is none.
	patch := func(m map[string]any) map[string]any {
		if p3 {
			return nil
		}
		return m
	}
	marker := t.marker

	if p3 {
		out = append(out, compare3(d, s, t)...)
	} else {
		out = append(out, compareSchedule(d.Schedule, s)...)
		if d.ScheduleActive != nil && *d.ScheduleActive != s.ScheduleActive {
			add(Change{Field: FieldScheduleActive, Old: activeText(s.ScheduleActive), New: activeText(*d.ScheduleActive),
				Patch: map[string]any{"is_schedule_active": *d.ScheduleActive}})
		}
	}

	wantParams := canonical(orEmptyMap(d.Parameters))
	if got := canonical(orEmptyMap(s.Parameters)); got != wantParams {
		add(Change{Field: FieldParameters, Old: got, New: wantParams,
			Patch: patch(map[string]any{"parameters": orEmptyMap(d.Parameters)})})
	}

	wantTags := withMarker(d.Tags, marker)
	if got := tagSet(s.Tags); got != tagSet(wantTags) {
		add(Change{Field: FieldTags, Old: got, New: tagSet(wantTags), Patch: patch(map[string]any{"tags": wantTags})})
	}

	// Without -v Prefect stores the flow's own version (by default a hash of the flow
	// file), which the file cannot predict: an empty version is not compared.
	if d.Version != "" && s.Version != d.Version {
		add(Change{Field: FieldVersion, Old: quote(s.Version), New: quote(d.Version)})
	}

	pool, queue := DefaultPool, DefaultQueue
	if d.WorkPool != nil {
		if d.WorkPool.Name != "" {
			pool = d.WorkPool.Name
		}
		if d.WorkPool.WorkQueueName != "" {
			queue = d.WorkPool.WorkQueueName
		}
	}
	// Pool and queue are patched together: a queue name only means something in its pool.
	poolPatch := patch(map[string]any{"work_pool_name": pool, "work_queue_name": queue})
	if s.WorkPoolName != pool {
		add(Change{Field: FieldWorkPool, Old: quote(s.WorkPoolName), New: quote(pool), Patch: poolPatch})
	}
	if s.WorkQueueName != queue {
		add(Change{Field: FieldWorkQueue, Old: quote(s.WorkQueueName), New: quote(queue), Patch: poolPatch})
	}

	// Without -d Prefect keeps the server's description or takes the flow's docstring,
	// neither of which the file knows: an empty description is not compared.
	if d.Description != "" && s.Description != d.Description {
		add(Change{Field: FieldDescription, Old: quoteOrNull(s.Description), New: quote(d.Description)})
	}

	if p3 {
		// No infrastructure blocks on Prefect 3: job variables, compared above.
		return out
	}
	if d.IBBlock != "" && infraRef != d.IBBlock {
		add(Change{Field: FieldInfraBlock, Old: orNone(infraRef), New: d.IBBlock})
	}

	wantOv := map[string]string{}
	for _, o := range d.InfraOverrides {
		wantOv[o.Key] = o.Value
	}
	gotOv := map[string]string{}
	for k, v := range s.InfraOverrides {
		if str, ok := v.(string); ok {
			gotOv[k] = str
		} else {
			gotOv[k] = canonical(v)
		}
	}
	if a, b := canonical(gotOv), canonical(wantOv); a != b {
		add(Change{Field: FieldInfraOverrides, Old: a, New: b})
	}
	return out
}

// compareSchedule compares the file's one schedule with the server's (schedule.Compare);
// a server holding more than one schedule (2.16+) differs whatever they are.
func compareSchedule(want *schedule.Schedule, s *prefectapi.Deployment) []Change {
	if s.ScheduleCount > 1 {
		return []Change{{Field: FieldSchedule, Old: fmt.Sprintf("%d schedules", s.ScheduleCount), New: schedule.Describe(want)}}
	}
	var out []Change
	for _, d := range schedule.Compare(want, s.Schedule) {
		field := FieldSchedule
		if d.Part != schedule.PartSchedule {
			field += "." + d.Part
		}
		out = append(out, Change{Field: field, Old: d.Observed, New: d.Desired})
	}
	return out
}

// notes lists the state of s that the file does not declare and apply leaves as it is.
//
// A schedule paused by hand (is_schedule_active false on 2.14, paused on 2.16+) stays
// paused unless the file declares is_schedule_active: recorded on a real Prefect 2.14.21
// server, `prefect deployment build -a` of a paused deployment writes
// is_schedule_active: false into its output and keeps the deployment paused, with a
// changed --cron and with --no-schedule alike. The read-back used to switch it on again;
// now only a declared is_schedule_active is compared (and patched).
func notes(d spec.Deployment, s *prefectapi.Deployment, major spec.Major) []string {
	var out []string
	if major == spec.Prefect3 {
		if d.Paused == nil && s.Paused != nil && *s.Paused {
			out = append(out, "deployment paused on the server: apply leaves it paused (the file does not declare paused)")
		}
		return out
	}
	switch {
	case d.ScheduleActive != nil:
		// Declared: compare says what differs.
	case !s.ScheduleActive:
		out = append(out, "schedule paused on the server: apply leaves it paused (the file does not declare is_schedule_active)")
	case s.Schedule != nil && s.Schedule.Inactive:
		out = append(out, "schedule switched off on the server: apply leaves it off (the file does not declare it)")
	}
	return out
}

func activeText(active bool) string {
	if active {
		return "active"
	}
	return "paused"
}

// withMarker is the tag list apply sends: the file's tags, then the marker once.
func withMarker(tags []string, marker string) []string {
	out := make([]string, 0, len(tags)+1)
	for _, t := range tags {
		if t != marker {
			out = append(out, t)
		}
	}
	return append(out, marker)
}

// tagSet renders tags as a sorted, de-duplicated JSON list: Prefect keeps the order
// given, which means nothing.
func tagSet(tags []string) string {
	seen := map[string]bool{}
	var list []string
	for _, t := range tags {
		if !seen[t] {
			seen[t] = true
			list = append(list, t)
		}
	}
	sort.Strings(list)
	if list == nil {
		list = []string{}
	}
	return canonical(list)
}

// canonical is compact JSON with sorted keys, numbers as the server would send them
// back (7 and 7.0 are the same), and no HTML escaping.
func canonical(v any) string {
	raw, err := marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	var back any
	if err := json.Unmarshal(raw, &back); err != nil {
		return string(raw)
	}
	raw, err = marshal(back)
	if err != nil {
		return string(raw)
	}
	return string(raw)
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func orEmptyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func quote(s string) string { return strconv.Quote(s) }

func quoteOrNull(s string) string {
	if s == "" {
		return "null"
	}
	return quote(s)
}

func orNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return "none"
	}
	return s
}
