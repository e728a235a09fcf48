package schedule

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// cronField describes one of the five fields the way croniter (1.x/2.x, as used by
// Prefect 2.14) reads it.
type cronField struct {
	name     string
	min, max int
	names    map[string]int
}

var cronFields = [5]cronField{
	{"minute", 0, 59, nil},
	{"hour", 0, 23, nil},
	{"day of month", 1, 31, nil},
	{"month", 1, 12, map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}},
	{"day of week", 0, 7, map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}},
}

// croniter replaces these aliases (matched case-insensitively on the whole text).
var cronAliases = map[string]bool{"@midnight": true, "@hourly": true, "@daily": true, "@weekly": true, "@monthly": true, "@yearly": true, "@annually": true}

var (
	cronDigits   = regexp.MustCompile(`^[0-9]+$`)
	cronRange    = regexp.MustCompile(`^([^-]+)-([^-/]+)(/([0-9]+))?$`)
	cronHashed   = regexp.MustCompile(`^[hr](\([0-9]+-[0-9]+\))?(/[0-9]+)?$`)
	cronNth      = regexp.MustCompile(`^(.+)#([0-9]+)$`)
	cronLastWDay = regexp.MustCompile(`^l([0-9]+)$`)
	cronWord     = regexp.MustCompile(`^[a-z0-9_]+$`)
)

// CheckCron says why croniter (or Prefect's extra check against random and hashed
// fields) would reject expr: `invalid cron "<expr>": <why>`; nil when it is valid.
// Unlike croniter it insists on exactly five fields: a sixth (seconds) field is not a
// Prefect cron schedule anyone should rely on.
func CheckCron(expr string) error {
	if msg := cronProblem(expr); msg != "" {
		return fmt.Errorf("invalid cron %q: %s", expr, msg)
	}
	return nil
}

// cronProblem is CheckCron's reason, or "".
func cronProblem(expr string) string {
	if cronAliases[strings.ToLower(expr)] {
		return ""
	}
	fields := strings.Fields(expr)
	if len(fields) != 5 {
		return fmt.Sprintf("expected 5 fields (minute hour day-of-month month day-of-week) or an alias such as @daily, got %d", len(fields))
	}
	// croniter refuses a day-of-week field that mixes nth-day entries (5#3, L5) with plain
	// days, unless the field's set of entries (days and a bare "*") has exactly 7 members.
	nth := map[int]bool{}
	dow := map[string]bool{}
	for i, f := range fields {
		f = strings.ToLower(f)
		if cronHashed.MatchString(f) {
			return fmt.Sprintf("%s field %q: random (R) and hashed (H) expressions are not supported by Prefect", cronFields[i].name, fields[i])
		}
		for _, el := range strings.Split(f, ",") {
			vals, isNth, msg := cronElement(i, el)
			if msg != "" {
				return fmt.Sprintf("%s field %q: %s", cronFields[i].name, fields[i], msg)
			}
			if i != 4 {
				continue
			}
			if el == "*" {
				dow["*"] = true
			}
			for _, v := range vals {
				dow[strconv.Itoa(v%7)] = true
				if isNth {
					nth[v%7] = true
				}
			}
		}
	}
	if len(nth) > 0 && len(dow) != 7 {
		for k := range dow {
			if v, err := strconv.Atoi(k); err == nil && !nth[v] {
				return fmt.Sprintf("day of week field %q mixes plain days with nth-day (#) syntax", fields[4])
			}
		}
	}
	return ""
}

// cronElement checks one comma-separated element of field i and returns the values
// it stands for (for the day-of-week consistency check).
func cronElement(i int, el string) (vals []int, isNth bool, msg string) {
	fd := cronFields[i]
	if i == 4 {
		if m := cronNth.FindStringSubmatch(el); m != nil {
			n, err := strconv.Atoi(m[2])
			if err != nil || n < 1 || n > 5 {
				return nil, false, fmt.Sprintf("%q: the nth weekday must be 1 to 5", el)
			}
			if !cronWord.MatchString(m[1]) && !strings.Contains(m[1], "-") {
				return nil, false, fmt.Sprintf("%q: expected DAY#N such as 5#3 or FRI#3", el)
			}
			if lo, hi, isRange := strings.Cut(m[1], "-"); isRange {
				_, okLo := fd.names[lo]
				_, okHi := fd.names[hi]
				if !okLo || !okHi {
					return nil, false, fmt.Sprintf("%q: an nth-weekday range must use day names (MON-FRI#2)", el)
				}
			}
			el, isNth = m[1], true
		} else if m := cronLastWDay.FindStringSubmatch(el); m != nil {
			el, isNth = m[1], true
		}
	}
	if el == "" {
		return nil, false, "empty list element"
	}
	t := el
	if strings.HasPrefix(t, "*/") {
		t = fmt.Sprintf("%d-%d%s", fd.min, fd.max, t[1:])
	}
	m := cronRange.FindStringSubmatch(t)
	if m == nil {
		if j := strings.Index(t, "/"); j > 0 && !strings.Contains(t[j+1:], "/") {
			t = fmt.Sprintf("%s-%d%s", t[:j], fd.max, t[j:])
			m = cronRange.FindStringSubmatch(t)
		}
	}
	if m != nil {
		lowS, highS, stepS := m[1], m[2], m[4]
		if i == 2 && highS == "l" {
			highS = "31"
		}
		low, ok1 := cronValue(fd, lowS)
		high, ok2 := cronValue(fd, highS)
		if !ok1 || !ok2 {
			return nil, false, fmt.Sprintf("%q is not a valid range (allowed %d-%d%s)", el, fd.min, fd.max, nameHint(fd))
		}
		step := 1
		if stepS != "" {
			step, _ = strconv.Atoi(stepS)
			if step == 0 {
				return nil, false, fmt.Sprintf("%q: the step must be at least 1", el)
			}
		}
		if low > high {
			if i == 4 && high == 0 {
				high = 7
			} else {
				return nil, false, fmt.Sprintf("%q: the range starts after it ends", el)
			}
		}
		if high > fd.max || low < fd.min {
			return nil, false, fmt.Sprintf("%q is out of range (allowed %d-%d)", el, fd.min, fd.max)
		}
		for v := low; v <= high; v += step {
			vals = append(vals, v)
		}
		return vals, isNth, ""
	}
	if strings.HasPrefix(t, "-") {
		return nil, false, fmt.Sprintf("%q: negative numbers are not allowed", el)
	}
	if t == "*" {
		return nil, false, ""
	}
	if i == 2 && t == "l" {
		return nil, false, ""
	}
	v, ok := cronValue(fd, t)
	if !ok {
		return nil, false, fmt.Sprintf("%q is not a valid value (allowed %d-%d%s)", el, fd.min, fd.max, nameHint(fd))
	}
	if v < fd.min || v > fd.max {
		return nil, false, fmt.Sprintf("%q is out of range (allowed %d-%d)", el, fd.min, fd.max)
	}
	return []int{v}, isNth, ""
}

func cronValue(fd cronField, s string) (int, bool) {
	if cronDigits.MatchString(s) {
		v, err := strconv.Atoi(s)
		return v, err == nil
	}
	v, ok := fd.names[s]
	return v, ok
}

func nameHint(fd cronField) string {
	switch fd.name {
	case "month":
		return " or JAN-DEC"
	case "day of week":
		return " or SUN-SAT"
	}
	return ""
}
