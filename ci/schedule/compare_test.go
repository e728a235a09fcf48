package schedule

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// schedule is w as a Schedule; an anchor is read from anchor_text as the loader and
// the wire reader read it.
func (w want) schedule(t *testing.T) Schedule {
	t.Helper()
	s := Schedule{Kind: Kind(w.Kind), Cron: w.Cron, DayOr: w.DayOr, IntervalSeconds: w.Interval, RRule: w.RRule, Timezone: w.Timezone, Inactive: w.Inactive}
	if w.AnchorText != "" {
		a, err := ParseAnchor(w.AnchorText)
		require.NoError(t, err)
		s.Anchor = a
	}
	return s
}

func (w *want) ptr(t *testing.T) *Schedule {
	if w == nil {
		return nil
	}
	s := w.schedule(t)
	return &s
}

func schedules(t *testing.T, ws []want) []Schedule {
	out := []Schedule{}
	for _, w := range ws {
		out = append(out, w.schedule(t))
	}
	return out
}

type compareCases struct {
	Compare []struct {
		Name              string
		Desired, Observed *want
		Want              []struct{ Part, Observed, Desired string }
	}
	Sets []struct {
		Name              string
		Desired, Observed []want
		Same              bool
		DesiredLines      []string `json:"desired_lines"`
		ObservedLines     []string `json:"observed_lines"`
	}
	Check []struct {
		Name     string
		Schedule want
		Error    string
	}
}

// The equality rules of a desired and an observed schedule, one by one (Compare) and
// as sets (CompareSets), and what Check refuses (testdata/compare.json).
func TestEqualityRules(t *testing.T) {
	var cases compareCases
	readJSON(t, "testdata/compare.json", &cases)
	require.NotEmpty(t, cases.Compare)
	require.NotEmpty(t, cases.Sets)
	require.NotEmpty(t, cases.Check)
	for _, tc := range cases.Compare {
		t.Run("Compare/"+tc.Name, func(t *testing.T) {
			got := []struct{ Part, Observed, Desired string }{}
			for _, d := range Compare(tc.Desired.ptr(t), tc.Observed.ptr(t)) {
				got = append(got, struct{ Part, Observed, Desired string }{d.Part, d.Observed, d.Desired})
			}
			assert.Equal(t, tc.Want, got)
		})
	}
	for _, tc := range cases.Sets {
		t.Run("CompareSets/"+tc.Name, func(t *testing.T) {
			same, desiredLines, observedLines := CompareSets(schedules(t, tc.Desired), schedules(t, tc.Observed))
			assert.Equal(t, tc.Same, same)
			assert.Equal(t, tc.DesiredLines, desiredLines)
			assert.Equal(t, tc.ObservedLines, observedLines)
		})
	}
	for _, tc := range cases.Check {
		t.Run("Check/"+tc.Name, func(t *testing.T) {
			err := tc.Schedule.schedule(t).Check()
			if tc.Error == "" {
				assert.NoError(t, err)
				return
			}
			assert.EqualError(t, err, tc.Error)
		})
	}
}

func TestWriterDefaults(t *testing.T) {
	now := time.Date(2026, 12, 3, 8, 1, 22, 0, time.FixedZone("+01:00", 3600))
	a, err := ParseAnchor("2026-01-01T00:30:00+01:00")
	require.NoError(t, err)
	anchored := Schedule{Kind: Interval, IntervalSeconds: 60, Anchor: a}
	assert.True(t, anchored.AnchorAt(now).Equal(a.Time), "a written anchor is kept")
	assert.Equal(t, "+01:00", anchored.AnchorAt(now).Format("-07:00"), "with its offset")
	unanchored := Schedule{Kind: Interval, IntervalSeconds: 60}
	assert.Equal(t, now.UTC(), unanchored.AnchorAt(now), "none: the time of the write, in UTC")
	assert.Equal(t, "UTC", unanchored.Zone())
	assert.Equal(t, "Europe/Berlin", Schedule{Timezone: "Europe/Berlin"}.Zone())
	assert.Equal(t, time.Minute, unanchored.Every())
	assert.Equal(t, "DTSTART:20200101T000000\nFREQ=DAILY", WithDTStart("FREQ=DAILY"))
	assert.Equal(t, "dtstart:20240101T090000\nRRULE:FREQ=DAILY", WithDTStart("dtstart:20240101T090000\nRRULE:FREQ=DAILY"), "a rule's own DTSTART is kept")
	for rule, want := range map[string]string{
		WithDTStart("FREQ=DAILY"):                        "FREQ=DAILY",
		"FREQ=DAILY":                                     "FREQ=DAILY",
		"DTSTART:20240101T090000\nRRULE:FREQ=DAILY":      "DTSTART:20240101T090000 RRULE:FREQ=DAILY",
		"DTSTART:20200101T000000\nRRULE:FREQ=DAILY\r\nX": "RRULE:FREQ=DAILY X",
	} {
		assert.Equal(t, want, OneLineRRule(rule), "OneLineRRule(%q)", rule)
	}
}
