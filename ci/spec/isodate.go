package spec

import (
	"regexp"
	"strconv"
	"time"
)

var (
	isoExtended = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$`)
	isoBasic    = regexp.MustCompile(`^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(?:(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?:\d{2})?)?)?$`)
)

// parseISO checks an ISO-8601 date or date-time in the forms pendulum.parse (Prefect's
// parser for anchor dates) accepts in practice: a calendar date, optionally followed by
// a time (hours and minutes at least, seconds and fractions optional) and a zone
// (Z, +HH, +HHMM or +HH:MM), in extended (2024-01-31T09:30) or basic (20240131T0930)
// form. It returns whether a zone was given; a value without one is read as UTC by Prefect.
func parseISO(s string) (zoned bool, ok bool) {
	m := isoExtended.FindStringSubmatch(s)
	if m == nil {
		m = isoBasic.FindStringSubmatch(s)
	}
	if m == nil {
		return false, false
	}
	num := func(i int) int {
		if m[i] == "" {
			return 0
		}
		v, _ := strconv.Atoi(m[i])
		return v
	}
	y, mo, d := num(1), num(2), num(3)
	if mo < 1 || mo > 12 || d < 1 {
		return false, false
	}
	// time.Date normalises an impossible day into the next month; catching that is how
	// 2023-02-29 is refused.
	if time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC).Day() != d {
		return false, false
	}
	if m[4] != "" && (num(4) > 23 || num(5) > 59 || num(6) > 59) {
		return false, false
	}
	if z := m[8]; z != "" && z != "Z" {
		h, _ := strconv.Atoi(z[1:3])
		mins := 0
		rest := z[3:]
		if len(rest) > 0 && rest[0] == ':' {
			rest = rest[1:]
		}
		if rest != "" {
			mins, _ = strconv.Atoi(rest)
		}
		if h > 23 || mins > 59 {
			return false, false
		}
	}
	return m[8] != "", true
}
