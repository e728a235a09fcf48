package schedule

import (
	"errors"
	"fmt"
	"time"

	"github.com/acme-data/prefect-flows/ci/isodate"
)

// rruleDate checks a DTSTART, UNTIL, RDATE or EXDATE value with the repository's one
// date parser (pendulum's rules; dateutil, which reads these in Prefect, is looser
// still) and says whether it has a zone. A value read relative to the time of parsing
// ("now", a time alone) is refused: dateutil does not read those.
func rruleDate(s string) (zoned bool, ok bool) {
	v, err := isodate.Parse(s, time.Now())
	if err != nil || v.Relative() {
		return false, false
	}
	return v.Zoned, true
}

// ParseAnchor reads an interval's anchor date with pendulum's rules (ci/isodate), as
// Prefect does; without a zone it is UTC, as `build` reads it. pendulum also takes
// "now" and a time alone, read at each deploy: an anchor that moves with every deploy
// names no fixed instant to compare, and in a file it is a mistake, so it is refused.
func ParseAnchor(s string) (Anchor, error) {
	v, err := isodate.Parse(s, time.Now())
	switch {
	case err != nil:
		var ie *isodate.Error
		if errors.As(err, &ie) && ie.Why != "" {
			return Anchor{}, fmt.Errorf("%q is not an ISO-8601 date or date-time: %s", s, ie.Why)
		}
		return Anchor{}, fmt.Errorf("%q is not an ISO-8601 date or date-time (e.g. 2024-01-31 or 2024-01-31T09:00:00+01:00)", s)
	case v.Relative():
		return Anchor{}, fmt.Errorf("%q is read by Prefect at each deploy (a time without a date, or now), so the anchor would move with every deploy: write a date such as 2024-01-31T09:00:00+01:00", s)
	}
	return Anchor{Time: v.Time, Text: s}, nil
}
