package spec

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// maxRRuleLen is Prefect's MAX_RRULE_LENGTH for RRuleSchedule.
const maxRRuleLen = 6500

var (
	rruleFreqs    = map[string]bool{"YEARLY": true, "MONTHLY": true, "WEEKLY": true, "DAILY": true, "HOURLY": true, "MINUTELY": true, "SECONDLY": true}
	rruleWeekdays = map[string]bool{"MO": true, "TU": true, "WE": true, "TH": true, "FR": true, "SA": true, "SU": true}
	rruleByDay    = regexp.MustCompile(`^([+-]?[0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)$`)
	rruleByDayFn  = regexp.MustCompile(`^(MO|TU|WE|TH|FR|SA|SU)\(([+-]?[0-9]{1,2})\)$`)
	rruleInt      = regexp.MustCompile(`^[+-]?[0-9]+$`)
)

// rruleIntLists gives the RFC 5545 range of each integer-list part; a value of 0 is
// refused where the RFC counts from both ends (±1..max). BYEASTER is dateutil's own.
var rruleIntLists = map[string]struct {
	min, max int
	signed   bool
}{
	"BYSECOND":   {0, 60, false},
	"BYMINUTE":   {0, 59, false},
	"BYHOUR":     {0, 23, false},
	"BYMONTHDAY": {1, 31, true},
	"BYYEARDAY":  {1, 366, true},
	"BYWEEKNO":   {1, 53, true},
	"BYMONTH":    {1, 12, false},
	"BYSETPOS":   {1, 366, true},
	"BYEASTER":   {-366, 366, false},
}

// checkRRule returns why dateutil's rrulestr (what Prefect's RRuleSchedule calls) would
// not accept s, or "". Both a bare rule (FREQ=WEEKLY;BYDAY=MO) and the multi-line form
// with DTSTART/RRULE/EXRULE/RDATE/EXDATE lines are accepted, case-insensitively like
// dateutil. Value ranges follow RFC 5545, which is stricter than dateutil: an out-of-range
// BYHOUR would otherwise give a schedule that never fires.
func checkRRule(s string) string {
	if len(s) > maxRRuleLen {
		return fmt.Sprintf("longer than Prefect's limit of %d characters", maxRRuleLen)
	}
	u := strings.ToUpper(s)
	lines := strings.Fields(u)
	if len(lines) == 0 {
		return "empty RRULE"
	}
	if len(lines) == 1 && (!strings.Contains(u, ":") || strings.HasPrefix(u, "RRULE:")) {
		_, msg := checkRule(strings.TrimPrefix(lines[0], "RRULE:"))
		return msg
	}
	var rules, untils []string
	dtstartZoned, haveDTStart := false, false
	for _, line := range lines {
		name, value := "RRULE", line
		if i := strings.Index(line, ":"); i >= 0 {
			name, value = line[:i], line[i+1:]
		}
		parms := strings.Split(name, ";")
		name, parms = parms[0], parms[1:]
		switch name {
		case "RRULE", "EXRULE":
			if len(parms) > 0 {
				return fmt.Sprintf("unsupported %s parameter %q", name, parms[0])
			}
			until, msg := checkRule(value)
			if msg != "" {
				return msg
			}
			rules = append(rules, value)
			if until != "" {
				untils = append(untils, until)
			}
		case "DTSTART", "RDATE", "EXDATE":
			zoned := false
			for _, p := range parms {
				switch {
				case strings.HasPrefix(p, "TZID="):
					zoned = true
				case p == "VALUE=DATE-TIME" || p == "VALUE=DATE":
				default:
					return fmt.Sprintf("unsupported %s parameter %q", name, p)
				}
			}
			dates := strings.Split(value, ",")
			if name == "DTSTART" {
				if haveDTStart || len(dates) != 1 {
					return "more than one DTSTART"
				}
				haveDTStart = true
			}
			for _, d := range dates {
				z, ok := parseISO(d)
				if !ok {
					return fmt.Sprintf("%s %q is not a date or date-time (YYYYMMDDTHHMMSSZ)", name, d)
				}
				if name == "DTSTART" {
					dtstartZoned = zoned || z
				}
			}
		default:
			return fmt.Sprintf("unsupported property %q (expected DTSTART, RRULE, EXRULE, RDATE or EXDATE)", name)
		}
	}
	if len(rules) == 0 && !strings.Contains(u, "RDATE") {
		return "no RRULE line"
	}
	if haveDTStart {
		for _, until := range untils {
			z, _ := parseISO(until)
			if z != dtstartZoned {
				return "UNTIL must be in UTC (ending in Z) exactly when DTSTART has a time zone"
			}
		}
	}
	return ""
}

// checkRule validates one rule body (FREQ=...;...), already upper-cased, and returns
// its UNTIL text.
func checkRule(rule string) (until, msg string) {
	if rule == "" {
		return "", "empty rule"
	}
	seen := map[string]bool{}
	for _, pair := range strings.Split(rule, ";") {
		name, value, ok := strings.Cut(pair, "=")
		if !ok || strings.Contains(value, "=") {
			if pair == "" {
				return "", "empty part (a stray ';'?)"
			}
			return "", fmt.Sprintf("%q is not NAME=VALUE", pair)
		}
		if seen[name] {
			return "", fmt.Sprintf("%s given twice", name)
		}
		seen[name] = true
		switch name {
		case "FREQ":
			if !rruleFreqs[value] {
				return "", fmt.Sprintf("FREQ=%s: expected YEARLY, MONTHLY, WEEKLY, DAILY, HOURLY, MINUTELY or SECONDLY", value)
			}
		case "INTERVAL", "COUNT":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 {
				return "", fmt.Sprintf("%s=%s: expected a positive integer", name, value)
			}
		case "UNTIL":
			if _, ok := parseISO(value); !ok {
				return "", fmt.Sprintf("UNTIL=%s: expected a date or date-time such as 20301231T235959Z", value)
			}
			until = value
		case "WKST":
			if !rruleWeekdays[value] {
				return "", fmt.Sprintf("WKST=%s: expected MO, TU, WE, TH, FR, SA or SU", value)
			}
		case "BYDAY", "BYWEEKDAY":
			for _, d := range strings.Split(value, ",") {
				m := rruleByDay.FindStringSubmatch(d)
				n := ""
				if m != nil {
					n = m[1]
				} else if m2 := rruleByDayFn.FindStringSubmatch(d); m2 != nil {
					n = m2[2]
				} else {
					return "", fmt.Sprintf("%s=%s: %q is not a weekday such as MO, 1MO or -1FR", name, value, d)
				}
				if n != "" {
					k, _ := strconv.Atoi(n)
					if k == 0 || k < -53 || k > 53 {
						return "", fmt.Sprintf("%s=%s: %q: the ordinal must be 1 to 53 or -53 to -1", name, value, d)
					}
				}
			}
		default:
			r, known := rruleIntLists[name]
			if !known {
				return "", fmt.Sprintf("unknown part %q", name)
			}
			for _, x := range strings.Split(value, ",") {
				if !rruleInt.MatchString(x) {
					return "", fmt.Sprintf("%s=%s: %q is not an integer", name, value, x)
				}
				k, _ := strconv.Atoi(x)
				bad := k < r.min || k > r.max
				if r.signed {
					bad = k == 0 || k < -r.max || k > r.max
				}
				if bad {
					rng := fmt.Sprintf("%d to %d", r.min, r.max)
					if r.signed {
						rng = fmt.Sprintf("%d to %d or %d to -1", r.min, r.max, -r.max)
					}
					return "", fmt.Sprintf("%s=%s: %d is out of range (%s)", name, value, k, rng)
				}
			}
		}
	}
	if !seen["FREQ"] {
		return "", "FREQ is required (e.g. FREQ=WEEKLY;BYDAY=MO)"
	}
	return until, ""
}
