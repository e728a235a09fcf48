// Package schedule is a deployment's schedule, one model wherever a schedule is seen:
// the deployments file (the text as written, checked by the grammars in this package:
// croniter's cron, `90m` intervals, dateutil's RRULE, pendulum's anchor dates, IANA
// time zones), the desired state, and what a Prefect server of either major answers
// (normalised by Observed). How a desired schedule compares with an observed one is
// here too, so the live plan and drift read the same rules.
//
// Where a schedule was written (file:line:col) is the deployments file's business
// (ci/spec): the functions here return errors without a position, which spec wraps.
package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind names the one schedule type a schedule has.
type Kind string

const (
	Cron     Kind = "cron"
	Interval Kind = "interval"
	RRule    Kind = "rrule"
)

// Schedule is one schedule. Exactly one of Cron, IntervalSeconds and RRule is set, the
// one Kind names.
type Schedule struct {
	Kind Kind
	Cron string `json:",omitempty"`
	// DayOr is cron's day_or as a server stores it; nil when it sends none. A file
	// cannot write it and the writers send true, Prefect's default: see CronDayOr.
	DayOr *bool `json:",omitempty"`
	// IntervalSeconds is the interval in whole seconds: Prefect's --interval takes
	// whole seconds only, and a server's float seconds are rounded (nothing is lost
	// for a schedule this repository wrote).
	IntervalSeconds int64 `json:",omitempty"`
	// Anchor is the interval's anchor; zero when none is written (a writer then
	// anchors at the time of the write, as Prefect's own tools do) or stored.
	Anchor Anchor `json:",omitzero"`
	RRule  string `json:",omitempty"`
	// Timezone is the IANA name as written or stored; "" when none (see Zone).
	Timezone string `json:",omitempty"`
	// Inactive is the schedule's own switch turned off (`active: false` in a file's
	// schedules, `active` false on a 2.16+ or 3.x server). The zero value is an active
	// schedule, Prefect's default; Prefect 2.14 has no such switch.
	Inactive bool `json:",omitempty"`
}

// Anchor is an interval's anchor date: the instant, and the text it was read from (as
// the file writes it, or as the server stores it). The zero value is no anchor.
type Anchor struct {
	Time time.Time `json:",omitzero"`
	Text string    `json:",omitempty"`
}

// IsZero says whether there is no anchor.
func (a Anchor) IsZero() bool { return a.Text == "" && a.Time.IsZero() }

// Every is the interval as a duration.
func (s Schedule) Every() time.Duration { return time.Duration(s.IntervalSeconds) * time.Second }

// Zone is the schedule's time zone: a schedule without one runs in UTC, whichever
// side (file or server) left it out.
func (s Schedule) Zone() string {
	if s.Timezone == "" {
		return "UTC"
	}
	return s.Timezone
}

// CronDayOr is day_or as Prefect applies it: true unless stored false.
func (s Schedule) CronDayOr() bool { return s.DayOr == nil || *s.DayOr }

// AnchorAt is the interval's anchor, or now in UTC when it names none: what Prefect's
// own tools (and the writers) send for an interval without --anchor-date.
func (s Schedule) AnchorAt(now time.Time) time.Time {
	if s.Anchor.IsZero() {
		return now.UTC()
	}
	return s.Anchor.Time
}

// Check says what is wrong with a schedule put together by hand rather than loaded
// (the loader never gives one of these): no value, more than one kind's value, a
// value that is not its kind's, an interval that is not positive, an anchor without
// an interval.
func (s Schedule) Check() error {
	var kinds []Kind
	if s.Cron != "" {
		kinds = append(kinds, Cron)
	}
	if s.IntervalSeconds != 0 {
		kinds = append(kinds, Interval)
	}
	if s.RRule != "" {
		kinds = append(kinds, RRule)
	}
	switch {
	case len(kinds) == 0:
		return errors.New("schedule has none of cron, interval, rrule")
	case len(kinds) > 1:
		return errors.New("schedule has more than one of cron, interval, rrule")
	case s.Kind != Cron && s.Kind != Interval && s.Kind != RRule:
		return fmt.Errorf("schedule kind %q: expected cron, interval or rrule", s.Kind)
	case s.Kind != kinds[0]:
		return fmt.Errorf("schedule kind %q does not match its value (%s)", s.Kind, kinds[0])
	case s.IntervalSeconds < 0:
		// Python's `elif interval:` reads 0 as "no schedule"; negative fails in pydantic.
		return fmt.Errorf("interval %d is not a positive number of seconds", s.IntervalSeconds)
	case !s.Anchor.IsZero() && s.Kind != Interval:
		return fmt.Errorf("anchor-date %q given without interval", s.Anchor.Text)
	}
	return nil
}

// Describe is a schedule's kind and value in a few words (`cron "0 6 * * *"`,
// `interval 3600s`, `rrule "FREQ=DAILY"`), "none" for nil.
func Describe(s *Schedule) string {
	if s == nil {
		return "none"
	}
	switch s.Kind {
	case Cron:
		return "cron " + strconv.Quote(s.Cron)
	case Interval:
		return "interval " + strconv.FormatInt(s.IntervalSeconds, 10) + "s"
	default:
		return "rrule " + strconv.Quote(s.RRule)
	}
}

// rruleStart is what Prefect 3's client (and the Prefect 3 writer) puts before an
// rrule that names no DTSTART; the server stores it so.
const rruleStart = "DTSTART:20200101T000000\n"

// WithDTStart is rule as Prefect 3's client sends it: with DTSTART:20200101T000000
// before it when it names no DTSTART.
func WithDTStart(rule string) string {
	if strings.Contains(strings.ToUpper(rule), "DTSTART") {
		return rule
	}
	return rruleStart + rule
}

// OneLineRRule is rule for a one-line listing: without the DTSTART that WithDTStart
// adds (so a rule reads the same on both majors), its line breaks (and any run of
// white space) as one space.
func OneLineRRule(rule string) string {
	return strings.Join(strings.Fields(strings.TrimPrefix(rule, rruleStart)), " ")
}
