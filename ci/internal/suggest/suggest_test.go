package suggest

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClosest(t *testing.T) {
	known := []string{"hello", "daily_report", "work_pool", "tags"}
	cases := map[string]string{
		"helo": "hello", "ehllo": "hello", // a swapped pair is one typo
		"daily-report": "daily_report", "Work-Pool": "work_pool", // - and _ and case are the same
		"tag": "tags", "tgs": "tags", "tg": "", // short words allow one typo only
		"weekly_report": "", "x": "",
	}
	for in, want := range cases {
		assert.Equal(t, want, Closest(in, known), in)
	}
}
