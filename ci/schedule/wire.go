package schedule

import (
	"fmt"
	"math"
)

// Wire is one schedule object as both majors' APIs answer it: cron {cron, timezone,
// day_or}, interval {interval (float seconds), anchor_date, timezone}, rrule {rrule,
// timezone}.
type Wire struct {
	Cron       *string  `json:"cron"`
	Interval   *float64 `json:"interval"`
	RRule      *string  `json:"rrule"`
	Timezone   *string  `json:"timezone"`
	AnchorDate *string  `json:"anchor_date"`
	DayOr      *bool    `json:"day_or"`
}

// WireItem is one item of a deployment's `schedules` list (Prefect 2.16+ and 3): the
// schedule and its own switch.
type WireItem struct {
	Schedule Wire  `json:"schedule"`
	Active   *bool `json:"active"`
}

// Schedule normalises w: float seconds rounded to whole seconds, the anchor read with
// pendulum's rules (ParseAnchor), day_or and the time zone as stored.
func (w Wire) Schedule() (Schedule, error) {
	s := Schedule{DayOr: w.DayOr}
	if w.Timezone != nil {
		s.Timezone = *w.Timezone
	}
	switch {
	case w.Cron != nil:
		s.Kind, s.Cron = Cron, *w.Cron
	case w.Interval != nil:
		s.Kind, s.IntervalSeconds = Interval, int64(math.Round(*w.Interval))
		if w.AnchorDate != nil && *w.AnchorDate != "" {
			a, err := ParseAnchor(*w.AnchorDate)
			if err != nil {
				return Schedule{}, fmt.Errorf("anchor date: %w", err)
			}
			s.Anchor = a
		}
	case w.RRule != nil:
		s.Kind, s.RRule = RRule, *w.RRule
	default:
		return Schedule{}, fmt.Errorf("unknown schedule type (none of cron, interval, rrule)")
	}
	return s, nil
}

// Observed normalises a deployment's schedules from either server shape: the
// `schedules` list (2.16+ and 3.x), each item active unless it says otherwise, or
// the 2.14 `schedule` as a one-item list. When both are present (2.16 to 2.19 send
// both) the list wins: it is the source the legacy field is derived from. Never nil.
func Observed(legacy *Wire, list *[]WireItem) ([]Schedule, error) {
	out := []Schedule{}
	switch {
	case list != nil:
		for i, item := range *list {
			s, err := item.Schedule.Schedule()
			if err != nil {
				return nil, fmt.Errorf("schedules[%d]: %w", i, err)
			}
			s.Inactive = item.Active != nil && !*item.Active
			out = append(out, s)
		}
	case legacy != nil:
		s, err := legacy.Schedule()
		if err != nil {
			return nil, fmt.Errorf("schedule: %w", err)
		}
		out = append(out, s)
	}
	return out, nil
}
