package schedule

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/internal/shareddata"
)

// want is a Schedule in the terms of the testdata files.
type want struct {
	Kind       string `json:"kind"`
	Cron       string `json:"cron,omitempty"`
	DayOr      *bool  `json:"day_or,omitempty"`
	Interval   int64  `json:"interval,omitempty"`
	Anchor     string `json:"anchor,omitempty"` // the instant in UTC, RFC 3339
	AnchorText string `json:"anchor_text,omitempty"`
	RRule      string `json:"rrule,omitempty"`
	Timezone   string `json:"timezone,omitempty"`
	Inactive   bool   `json:"inactive,omitempty"`
}

func asWant(s Schedule) want {
	w := want{Kind: string(s.Kind), Cron: s.Cron, DayOr: s.DayOr, Interval: s.IntervalSeconds, AnchorText: s.Anchor.Text,
		RRule: s.RRule, Timezone: s.Timezone, Inactive: s.Inactive}
	if !s.Anchor.Time.IsZero() {
		w.Anchor = s.Anchor.Time.UTC().Format(time.RFC3339Nano)
	}
	return w
}

func asWants(list []Schedule) []want {
	out := []want{}
	for _, s := range list {
		out = append(out, asWant(s))
	}
	return out
}

// observedFrom reads a deployment object's schedule members as prefectapi does.
func observedFrom(t *testing.T, raw json.RawMessage) ([]Schedule, error) {
	t.Helper()
	var d struct {
		Schedule  *Wire       `json:"schedule"`
		Schedules *[]WireItem `json:"schedules"`
	}
	require.NoError(t, json.Unmarshal(raw, &d))
	return Observed(d.Schedule, d.Schedules)
}

// at follows a JSON pointer such as /calls/1/response_body.
func at(t *testing.T, doc json.RawMessage, pointer string) json.RawMessage {
	t.Helper()
	for _, part := range strings.Split(strings.Trim(pointer, "/"), "/") {
		if part == "" {
			continue
		}
		if i, err := strconv.Atoi(part); err == nil {
			var list []json.RawMessage
			require.NoError(t, json.Unmarshal(doc, &list), pointer)
			require.Less(t, i, len(list), pointer)
			doc = list[i]
			continue
		}
		var obj map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(doc, &obj), pointer)
		require.Contains(t, obj, part, pointer)
		doc = obj[part]
	}
	return doc
}

// Deployments as real Prefect 2.14.21 and 3.8.3 servers answered them (the recorded
// files of ../shared), normalised into the one Schedule (testdata/observed.json).
func TestObservedFromRecordedServers(t *testing.T) {
	var cases []struct {
		Name, File, At string
		Want           []want
	}
	readJSON(t, "testdata/observed.json", &cases)
	require.NotEmpty(t, cases)
	majors := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			path, err := shareddata.Path(tc.File)
			require.NoError(t, err)
			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			got, err := observedFrom(t, at(t, raw, tc.At))
			require.NoError(t, err)
			assert.Equal(t, tc.Want, asWants(got))
		})
		majors[strings.SplitN(tc.File, "/", 2)[0]] = true
	}
	assert.Equal(t, map[string]bool{"prefect": true, "prefect3": true}, majors, "cases from both majors' recordings")
}

// The shapes the recordings do not hold (2.16's both-shapes answer, a missing
// `active`, day_or false) and what is refused (testdata/wire.json).
func TestObservedShapes(t *testing.T) {
	var cases []struct {
		Name       string
		Deployment json.RawMessage
		Want       []want
		Error      string
	}
	readJSON(t, "testdata/wire.json", &cases)
	require.NotEmpty(t, cases)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			got, err := observedFrom(t, tc.Deployment)
			if tc.Error != "" {
				require.EqualError(t, err, tc.Error)
				return
			}
			require.NoError(t, err)
			assert.NotNil(t, got, "never nil")
			assert.Equal(t, tc.Want, asWants(got))
		})
	}
}
