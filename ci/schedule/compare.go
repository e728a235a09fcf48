package schedule

import (
	"sort"
	"strconv"
	"strings"
)

// Parts of a schedule that Compare tells apart.
const (
	PartSchedule   = ""            // the kind and its value
	PartTimezone   = "timezone"    // Zone, so a missing zone equals "UTC"
	PartAnchorDate = "anchor_date" // only when the desired schedule names one
	PartDayOr      = "day_or"      // cron's day_or, which the writers always send true
)

// Difference is one part of a schedule that differs; Observed and Desired are display
// text.
type Difference struct {
	Part              string
	Observed, Desired string
}

// Compare lists how the observed schedule differs from the desired one, part by part
// (nil for no schedule on either side):
//   - the kind and value (Describe);
//   - the time zone, a missing one being UTC;
//   - the anchor, only when the desired interval names one, compared as an instant
//     (a server stores it with an offset): without one Prefect anchors at the time
//     of the write, which no file can predict;
//   - cron's day_or, which must be true (Prefect's default, what the writers send).
func Compare(desired, observed *Schedule) []Difference {
	if desired == nil || observed == nil {
		if desired != nil || observed != nil {
			return []Difference{{Part: PartSchedule, Observed: Describe(observed), Desired: Describe(desired)}}
		}
		return nil
	}
	var out []Difference
	if a, b := Describe(observed), Describe(desired); a != b {
		out = append(out, Difference{Part: PartSchedule, Observed: a, Desired: b})
	}
	if a, b := observed.Zone(), desired.Zone(); a != b {
		out = append(out, Difference{Part: PartTimezone, Observed: strconv.Quote(a), Desired: strconv.Quote(b)})
	}
	if desired.Kind == Interval && !desired.Anchor.IsZero() && !desired.Anchor.sameInstant(observed.Anchor) {
		old := "none"
		if strings.TrimSpace(observed.Anchor.Text) != "" {
			old = observed.Anchor.Text
		}
		out = append(out, Difference{Part: PartAnchorDate, Observed: old, Desired: desired.Anchor.Text})
	}
	if observed.Kind == Cron && !observed.CronDayOr() {
		out = append(out, Difference{Part: PartDayOr, Observed: "false", Desired: "true"})
	}
	return out
}

// sameInstant says whether both anchors name the same instant (whatever the offsets).
func (a Anchor) sameInstant(b Anchor) bool {
	return !a.Time.IsZero() && !b.Time.IsZero() && a.Time.Equal(b.Time)
}

// line is one schedule in one line, as the live plan lists a schedules list: kind and
// value, time zone (UTC when none), the interval's anchor in UTC when anchor is true
// ("anchor none" when it has none), "day_or false" when off, "inactive" when switched
// off.
func (s Schedule) line(anchor bool) string {
	text := Describe(&s) + " tz " + s.Zone()
	if s.Kind == Interval && anchor {
		if s.Anchor.Time.IsZero() {
			text += " anchor none"
		} else {
			text += " anchor " + s.Anchor.Time.UTC().Format("2006-01-02T15:04:05Z")
		}
	}
	if s.Kind == Cron && !s.CronDayOr() {
		text += " day_or false"
	}
	if s.Inactive {
		text += " inactive"
	}
	return text
}

// CompareSets compares desired schedules with observed ones as sets: Prefect 3 keeps
// no order that a file could predict (it lists them by their last update). An anchor
// the desired schedule does not name is Prefect's time of the write and is not
// compared. It returns whether they match and each side as sorted lines for a message.
func CompareSets(desired, observed []Schedule) (same bool, desiredLines, observedLines []string) {
	remaining := map[string]int{}
	desiredLines = make([]string, 0, len(desired))
	for _, s := range desired {
		text := s.line(!s.Anchor.IsZero())
		remaining[text]++
		desiredLines = append(desiredLines, text)
	}
	observedLines = make([]string, 0, len(observed))
	same = len(desired) == len(observed)
	for _, s := range observed {
		full, bare := s.line(true), s.line(false)
		observedLines = append(observedLines, full)
		switch {
		case remaining[full] > 0:
			remaining[full]--
		case remaining[bare] > 0:
			remaining[bare]--
		default:
			same = false
		}
	}
	sort.Strings(desiredLines)
	sort.Strings(observedLines)
	return same, desiredLines, observedLines
}
