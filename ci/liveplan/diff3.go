package liveplan

import (
	"strconv"
	"strings"

	"github.com/acme-data/prefect-flows/ci/desired"
	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/schedule"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// PendingDigest ends the image a plan shows for a deployment whose image the next push
// sets (Options.ImageRepository).
const PendingDigest = "@sha256:(digest of the deploy's push)"

// compare3 compares the fields only Prefect 3 has, as the Prefect 3 writer
// (ci/deployer/prefect3.go) writes them: the whole schedules list (a schedule removed
// from the file is removed), paused only when the file says it, job_variables (with
// the image), concurrency_limit (read back from global_concurrency_limit) and
// enforce_parameter_schema (Prefect's default true).
func compare3(d spec.Deployment, s *prefectapi.Deployment, t target) []Change {
	var out []Change
	add := func(c Change) { out = append(out, c) }

	if same, wantText, gotText := schedule.CompareSets(schedulesSent(d), s.Schedules); !same {
		add(Change{Field: FieldSchedules, Old: listText(gotText), New: listText(wantText)})
	}

	if d.Paused != nil {
		paused := s.Paused != nil && *s.Paused
		if paused != *d.Paused {
			add(Change{Field: FieldPaused, Old: strconv.FormatBool(paused), New: strconv.FormatBool(*d.Paused)})
		}
	}

	gotJV := make(map[string]any, len(s.JobVariables))
	for k, v := range s.JobVariables {
		gotJV[k] = v
	}
	wantJV := t.jobVariables(d)
	switch {
	case t.image != "":
		// jobVariables put it in, as the writer does.
	case t.imageRepo != "":
		// The deploy pushes first, so the digest is not known yet: an image of that
		// repository by digest is the pipeline's, and a deploy only moves it to the next
		// push; anything else (a tag, another repository, none) is replaced by the
		// push's digest to come, as jobVariables wrote it.
		if got, _ := gotJV["image"].(string); pushedByDigest(got, t.imageRepo) {
			wantJV["image"] = got
		}
	case !writesImage(d.WorkPool):
		// The image comes with apply (--image, the published digest); a plan that is not
		// told it cannot compare it.
		delete(gotJV, "image")
	}
	if a, b := canonical(gotJV), canonical(wantJV); a != b {
		add(Change{Field: FieldJobVariables, Old: a, New: b})
	}

	if a, b := limitText(s.ConcurrencyLimit), limitText(d.ConcurrencyLimit); a != b {
		add(Change{Field: FieldConcurrencyLimit, Old: a, New: b})
	}

	wantEnforce := d.EnforceParameterSchema == nil || *d.EnforceParameterSchema
	gotEnforce := s.EnforceParameterSchema == nil || *s.EnforceParameterSchema
	if wantEnforce != gotEnforce {
		add(Change{Field: FieldEnforceSchema, Old: strconv.FormatBool(gotEnforce), New: strconv.FormatBool(wantEnforce)})
	}
	return out
}

// jobVariables are the job variables the Prefect 3 writer sends for d: the pool's
// settings under the file's, then the image (when the plan knows it; with only the
// repository, the push's digest to come).
func (t target) jobVariables(d spec.Deployment) map[string]any {
	var pool map[string]any
	if d.WorkPool != nil {
		pool = t.pools[d.WorkPool.Name]
	}
	jv := desired.MergeJobVariables(pool, d.WorkPool.JobVariableValues(), t.image)
	if t.image == "" && t.imageRepo != "" {
		jv["image"] = t.imageRepo + PendingDigest
	}
	return jv
}

// schedulesSent are d's schedules as the Prefect 3 writer sends them: an rrule with the
// DTSTART Prefect 3's client adds.
func schedulesSent(d spec.Deployment) []schedule.Schedule {
	out := d.ScheduleValues()
	for i := range out {
		if out[i].Kind == schedule.RRule {
			out[i].RRule = schedule.WithDTStart(out[i].RRule)
		}
	}
	return out
}

// writesImage says whether the file itself sets job_variables.image.
func writesImage(wp *spec.WorkPool) bool {
	if wp == nil {
		return false
	}
	_, ok := wp.JobVariables["image"]
	return ok
}

// pushedByDigest says whether ref is an image of repository repo by digest, with or
// without a tag: "repo@sha256:..." or "repo:tag@sha256:..." (what the pipeline
// publishes and sends).
func pushedByDigest(ref, repo string) bool {
	rest, ok := strings.CutPrefix(ref, repo)
	if !ok {
		return false
	}
	if tagged, ok := strings.CutPrefix(rest, ":"); ok {
		at := strings.IndexByte(tagged, '@')
		if at <= 0 || strings.ContainsAny(tagged[:at], "/:") {
			return false
		}
		rest = tagged[at:]
	}
	return strings.HasPrefix(rest, "@sha256:")
}

func listText(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(items, "; ")
}

func limitText(n *int64) string {
	if n == nil {
		return "none"
	}
	return strconv.FormatInt(*n, 10)
}
