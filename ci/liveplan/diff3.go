package liveplan

import (
	"sort"
	"strconv"
	"strings"

	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// rruleStart is what the Prefect 3 writer (and Prefect 3's client) puts before an rrule
// that names no DTSTART; the server stores it so.
const rruleStart = "DTSTART:20200101T000000\n"

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

	if c, ok := compareSchedules(d.Schedules, s.Schedules); !ok {
		add(c)
	}

	if d.Paused != nil {
		paused := s.Paused != nil && *s.Paused
		if paused != *d.Paused {
			add(Change{Field: FieldPaused, Old: strconv.FormatBool(paused), New: strconv.FormatBool(*d.Paused)})
		}
	}

	wantJV := d.WorkPool.JobVariableValues()
	if wantJV == nil {
		wantJV = map[string]any{}
	}
	gotJV := make(map[string]any, len(s.JobVariables))
	for k, v := range s.JobVariables {
		gotJV[k] = v
	}
	switch _, fileImage := wantJV["image"]; {
	case t.image != "":
		wantJV["image"] = t.image
	case t.imageRepo != "":
		// The deploy pushes first, so the digest is not known yet: an image of that
		// repository by digest is the pipeline's, and a deploy only moves it to the next
		// push; anything else (a tag, another repository, none) is replaced.
		if got, _ := gotJV["image"].(string); strings.HasPrefix(got, t.imageRepo+"@sha256:") {
			wantJV["image"] = got
		} else {
			wantJV["image"] = t.imageRepo + PendingDigest
		}
	case !fileImage:
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

// describeItem is one schedule of the file as text: kind and value (an rrule with the
// DTSTART the writer adds when it has none), timezone (UTC when none), a written
// anchor, and "inactive" when switched off.
func describeItem(item spec.ScheduleItem) string {
	sc := item.Schedule
	if sc.RRule != "" && !strings.Contains(strings.ToUpper(sc.RRule), "DTSTART") {
		// As the writer sends it.
		sc.RRule = rruleStart + sc.RRule
	}
	text := describeSpec(&sc) + " tz " + orUTC(sc.Timezone)
	if sc.IntervalSeconds > 0 && sc.AnchorDate != "" {
		if a, err := prefectapi.ParseAnchor(sc.AnchorDate); err == nil {
			text += " anchor " + a.UTC().Format("2006-01-02T15:04:05Z")
		} else {
			text += " anchor " + sc.AnchorDate
		}
	}
	if !item.Active {
		text += " inactive"
	}
	return text
}

// compareSchedules compares the file's schedules with the server's as sets: Prefect 3
// keeps no order that the file could predict (it lists them by their last update).
// An anchor the file does not write is Prefect's time of the deploy and not compared.
func compareSchedules(want []spec.ScheduleItem, got []prefectapi.Schedule) (Change, bool) {
	remaining := map[string]int{}
	wantText := make([]string, 0, len(want))
	for _, item := range want {
		text := describeItem(item)
		remaining[text]++
		wantText = append(wantText, text)
	}
	gotText := make([]string, 0, len(got))
	ok := len(want) == len(got)
	for _, sch := range got {
		full, bare := describeObserved(sch, true), describeObserved(sch, false)
		gotText = append(gotText, full)
		switch {
		case remaining[full] > 0:
			remaining[full]--
		case remaining[bare] > 0:
			remaining[bare]--
		default:
			ok = false
		}
	}
	if ok {
		return Change{}, true
	}
	sort.Strings(wantText)
	sort.Strings(gotText)
	return Change{Field: FieldSchedules, Old: listText(gotText), New: listText(wantText)}, false
}

// describeObserved is one server schedule as describeItem writes the file's, with the
// interval's anchor or without it.
func describeObserved(s prefectapi.Schedule, anchor bool) string {
	cp := s
	text := describeServer(&cp) + " tz " + orUTC(s.Timezone)
	if s.Kind == prefectapi.Interval && anchor {
		if s.AnchorDate.IsZero() {
			text += " anchor none"
		} else {
			text += " anchor " + s.AnchorDate.UTC().Format("2006-01-02T15:04:05Z")
		}
	}
	if s.Kind == prefectapi.Cron && !s.DayOr {
		text += " day_or false"
	}
	if !s.Active {
		text += " inactive"
	}
	return text
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
