package schedule

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
	"BYSECOND":   {0, 59, false}, // RFC 5545 allows 60 (leap second); dateutil does not
	"BYMINUTE":   {0, 59, false},
	"BYHOUR":     {0, 23, false},
	"BYMONTHDAY": {1, 31, true},
	"BYYEARDAY":  {1, 366, true},
	"BYWEEKNO":   {1, 53, true},
	"BYMONTH":    {1, 12, false},
	"BYSETPOS":   {1, 366, true},
	"BYEASTER":   {-366, 366, false},
}

// CheckRRule says why dateutil's rrulestr (what Prefect's RRuleSchedule calls) would
// not accept s: `invalid RRULE "<s>": <why>`; nil when it would. Both a bare rule (FREQ=WEEKLY;BYDAY=MO) and the multi-line form
// with DTSTART/RRULE/EXRULE/RDATE/EXDATE lines are accepted, case-insensitively like
// dateutil. Value ranges follow RFC 5545, which is stricter than dateutil: an out-of-range
// BYHOUR would otherwise give a schedule that never fires.
func CheckRRule(s string) error {
	if msg := rruleProblem(s); msg != "" {
		return fmt.Errorf("invalid RRULE %q: %s", s, msg)
	}
	return nil
}

// rruleProblem is CheckRRule's reason, or "".
func rruleProblem(s string) string {
	if len(s) > maxRRuleLen {
		return fmt.Sprintf("longer than Prefect's limit of %d characters", maxRRuleLen)
	}
	u := strings.ToUpper(s)
	lines := strings.Fields(u)
	if len(lines) == 0 {
		return "empty RRULE"
	}
	if len(lines) == 1 && (!strings.Contains(u, ":") || strings.HasPrefix(u, "RRULE:")) {
		r, msg := checkRule(strings.TrimPrefix(lines[0], "RRULE:"))
		if msg != "" {
			return msg
		}
		return r.startDependence(nil)
	}
	var rules []rule
	var untils []string
	var start *[3]int
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
			r, msg := checkRule(value)
			if msg != "" {
				return msg
			}
			rules = append(rules, r)
			if r.until != "" {
				untils = append(untils, r.until)
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
				z, ok := rruleDate(d)
				if !ok {
					return fmt.Sprintf("%s %q is not a date or date-time (YYYYMMDDTHHMMSSZ)", name, d)
				}
				if name == "DTSTART" {
					dtstartZoned = zoned || z
					start = timeOfDay(d)
				}
			}
		default:
			return fmt.Sprintf("unsupported property %q (expected DTSTART, RRULE, EXRULE, RDATE or EXDATE)", name)
		}
	}
	if len(rules) == 0 && !strings.Contains(u, "RDATE") {
		return "no RRULE line"
	}
	for _, r := range rules {
		if msg := r.startDependence(start); msg != "" {
			return msg
		}
	}
	if haveDTStart {
		for _, until := range untils {
			z, _ := rruleDate(until)
			if z != dtstartZoned {
				return "UNTIL must be in UTC (ending in Z) exactly when DTSTART has a time zone"
			}
		}
	}
	return ""
}

// rule is what later checks need from one validated rule body.
type rule struct {
	freq, until string
	interval    int
	by          map[string][]int
}

// startDependence reports a rule that dateutil accepts or refuses depending on the start
// time: with FREQ=HOURLY;INTERVAL=2 only every other hour is reachable, so BYHOUR=23
// fails when the start hour is even. Without DTSTART, Prefect validates against the
// current time, so such a rule would fail at random; start is DTSTART's hour, minute
// and second when the text has one.
func (r rule) startDependence(start *[3]int) string {
	part, base, idx := "", 0, 0
	switch r.freq {
	case "HOURLY":
		part, base, idx = "BYHOUR", 24, 0
	case "MINUTELY":
		part, base, idx = "BYMINUTE", 60, 1
	case "SECONDLY":
		part, base, idx = "BYSECOND", 60, 2
	default:
		return ""
	}
	vals, ok := r.by[part]
	if !ok {
		return ""
	}
	g := gcd(r.interval, base)
	if g == 1 {
		return ""
	}
	if start != nil {
		for _, v := range vals {
			if ((v-start[idx])%g+g)%g == 0 {
				return ""
			}
		}
		return fmt.Sprintf("FREQ=%s;INTERVAL=%d never reaches %s=%s from DTSTART", r.freq, r.interval, part, joinInts(vals))
	}
	covered := map[int]bool{}
	for _, v := range vals {
		covered[((v%g)+g)%g] = true
	}
	if len(covered) == g {
		return ""
	}
	return fmt.Sprintf("FREQ=%s;INTERVAL=%d reaches %s=%s only from some start times, and Prefect checks it against the current time: add a DTSTART line or choose an INTERVAL with no common factor with %d", r.freq, r.interval, part, joinInts(vals), base)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	if a < 0 {
		return -a
	}
	return a
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// timeOfDay returns the hour, minute and second of a DTSTART value (all 0 for a date).
func timeOfDay(d string) *[3]int {
	d = strings.NewReplacer("-", "", ":", "").Replace(d)
	var t [3]int
	if i := strings.IndexAny(d, "T "); i >= 0 {
		digits := d[i+1:]
		for k := 0; k < 3 && len(digits) >= 2*(k+1); k++ {
			n, err := strconv.Atoi(digits[2*k : 2*k+2])
			if err != nil {
				break
			}
			t[k] = n
		}
	}
	return &t
}

// checkRule validates one rule body (FREQ=...;...), already upper-cased.
func checkRule(body string) (r rule, msg string) {
	r = rule{interval: 1, by: map[string][]int{}}
	if body == "" {
		return r, "empty rule"
	}
	if strings.Contains(body, ":") {
		// dateutil splits the rule on ':' and fails on any left over
		return r, "':' is not allowed inside a rule (write UNTIL as 20301231T235959Z)"
	}
	seen := map[string]bool{}
	for _, pair := range strings.Split(body, ";") {
		name, value, ok := strings.Cut(pair, "=")
		if !ok || strings.Contains(value, "=") {
			if pair == "" {
				return r, "empty part (a stray ';'?)"
			}
			return r, fmt.Sprintf("%q is not NAME=VALUE", pair)
		}
		if seen[name] {
			return r, fmt.Sprintf("%s given twice", name)
		}
		seen[name] = true
		switch name {
		case "FREQ":
			r.freq = value
			if !rruleFreqs[value] {
				return r, fmt.Sprintf("FREQ=%s: expected YEARLY, MONTHLY, WEEKLY, DAILY, HOURLY, MINUTELY or SECONDLY", value)
			}
		case "INTERVAL", "COUNT":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 {
				return r, fmt.Sprintf("%s=%s: expected a positive integer", name, value)
			}
			if name == "INTERVAL" {
				r.interval = n
			}
		case "UNTIL":
			if _, ok := rruleDate(value); !ok {
				return r, fmt.Sprintf("UNTIL=%s: expected a date or date-time such as 20301231T235959Z", value)
			}
			r.until = value
		case "WKST":
			if !rruleWeekdays[value] {
				return r, fmt.Sprintf("WKST=%s: expected MO, TU, WE, TH, FR, SA or SU", value)
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
					return r, fmt.Sprintf("%s=%s: %q is not a weekday such as MO, 1MO or -1FR", name, value, d)
				}
				if n != "" {
					k, _ := strconv.Atoi(n)
					if k == 0 || k < -53 || k > 53 {
						return r, fmt.Sprintf("%s=%s: %q: the ordinal must be 1 to 53 or -53 to -1", name, value, d)
					}
				}
			}
		default:
			lim, known := rruleIntLists[name]
			if !known {
				return r, fmt.Sprintf("unknown part %q", name)
			}
			for _, x := range strings.Split(value, ",") {
				if !rruleInt.MatchString(x) {
					return r, fmt.Sprintf("%s=%s: %q is not an integer", name, value, x)
				}
				k, _ := strconv.Atoi(x)
				r.by[name] = append(r.by[name], k)
				bad := k < lim.min || k > lim.max
				if lim.signed {
					bad = k == 0 || k < -lim.max || k > lim.max
				}
				if bad {
					rng := fmt.Sprintf("%d to %d", lim.min, lim.max)
					if lim.signed {
						rng = fmt.Sprintf("%d to %d or %d to -1", lim.min, lim.max, -lim.max)
					}
					return r, fmt.Sprintf("%s=%s: %d is out of range (%s)", name, value, k, rng)
				}
			}
		}
	}
	if !seen["FREQ"] {
		return r, "FREQ is required (e.g. FREQ=WEEKLY;BYDAY=MO)"
	}
	return r, ""
}
