package clispec

import (
	"strconv"
	"strings"
)

var cronAliases = map[string]bool{"@yearly": true, "@annually": true, "@monthly": true, "@weekly": true, "@daily": true, "@midnight": true, "@hourly": true}

var cronFields = []struct {
	min, max int
	names    []string
}{
	{0, 59, nil},
	{0, 23, nil},
	{1, 31, nil},
	{1, 12, []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{0, 7, []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

// ValidCron approximates croniter.is_valid for the five-field form Prefect accepts:
// numbers within range, names for months and weekdays, '*', ranges, steps and lists,
// 'L' for the last day of the month and '#' for the nth weekday. `R` and `H` (random
// and hashed) fields are rejected, as Prefect 2.14 does.
func ValidCron(expr string) bool {
	expr = strings.TrimSpace(expr)
	if cronAliases[strings.ToLower(expr)] {
		return true
	}
	fields := strings.Fields(expr)
	if len(fields) != 5 {
		return false
	}
	for i, f := range fields {
		for _, part := range strings.Split(f, ",") {
			if !validCronPart(part, i) {
				return false
			}
		}
	}
	return true
}

func validCronPart(part string, field int) bool {
	if part == "" {
		return false
	}
	spec := cronFields[field]
	base, step, hasStep := strings.Cut(part, "/")
	if hasStep {
		n, err := strconv.Atoi(step)
		if err != nil || n <= 0 {
			return false
		}
	}
	if base == "*" {
		return true
	}
	if field == 2 && base == "L" {
		return true
	}
	if field == 4 {
		if d, nth, ok := strings.Cut(base, "#"); ok {
			n, err := strconv.Atoi(nth)
			return err == nil && n >= 1 && n <= 5 && cronValue(d, spec.min, spec.max, spec.names)
		}
	}
	lo, hi, isRange := strings.Cut(base, "-")
	if !isRange {
		return cronValue(base, spec.min, spec.max, spec.names)
	}
	return cronValue(lo, spec.min, spec.max, spec.names) && cronValue(hi, spec.min, spec.max, spec.names)
}

func cronValue(s string, min, max int, names []string) bool {
	for _, n := range names {
		if strings.EqualFold(s, n) {
			return true
		}
	}
	v, err := strconv.Atoi(s)
	return err == nil && v >= min && v <= max && !strings.HasPrefix(s, "+")
}
