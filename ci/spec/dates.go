package spec

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

// checkAnchor says what is wrong with an anchor-date for Prefect, or "" when nothing.
// pendulum also takes "now" and a time alone, read at each deploy: an anchor that
// moves with every deploy is refused here as a mistake.
func checkAnchor(s string) string {
	v, err := isodate.Parse(s, time.Now())
	switch {
	case err != nil:
		var ie *isodate.Error
		if errors.As(err, &ie) && ie.Why != "" {
			return fmt.Sprintf("%q is not an ISO-8601 date or date-time: %s", s, ie.Why)
		}
		return fmt.Sprintf("%q is not an ISO-8601 date or date-time (e.g. 2024-01-31 or 2024-01-31T09:00:00+01:00)", s)
	case v.Relative():
		return fmt.Sprintf("%q is read by Prefect at each deploy (a time without a date, or now), so the anchor would move with every deploy: write a date such as 2024-01-31T09:00:00+01:00", s)
	}
	return ""
}
