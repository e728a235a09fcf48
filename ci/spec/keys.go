package spec

import (
	"sort"
	"strconv"
	"strings"
)

// Keys accepted at each level of a deployments file. The JSON Schema under schema/
// is tested against these lists so the two cannot drift apart.
var (
	topKeys      = []string{"prefect", "ib-block", "deployments", "defaults"}
	deployKeys   = []string{"name", "entrypoint", "description", "parameters", "schedule", "schedules", "is_schedule_active", "tags", "version", "work_pool", "ib-block", "infra_overrides", "paused", "concurrency_limit", "enforce_parameter_schema"}
	defaultsKeys = []string{"description", "parameters", "schedule", "schedules", "is_schedule_active", "tags", "version", "work_pool", "infra_overrides", "paused", "concurrency_limit", "enforce_parameter_schema"}
	scheduleKeys = []string{"cron", "interval", "rrule", "timezone", "anchor-date"}
	// scheduleItemKeys are the keys of one item of `schedules:` (Prefect 3).
	scheduleItemKeys = []string{"cron", "interval", "rrule", "timezone", "anchor-date", "active"}
	workPoolKeys     = []string{"name", "work_queue_name", "job_variables"}
)

// notInDefaults explains why a deployment key is refused under `defaults:`.
var notInDefaults = map[string]string{
	"name":       "each deployment needs its own name",
	"entrypoint": "each deployment names its own flow",
	"ib-block":   "set the top-level ib-block instead",
}

// suggest returns the known key closest to an unknown one, or "" when none is close
// enough to be a likely typo. `-` and `_` are treated as the same character because
// the published schema mixes them (ib-block, work_pool).
func suggest(key string, known []string) string {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }
	nk := norm(key)
	best, bestD := "", 1<<30
	cands := append([]string(nil), known...)
	sort.Strings(cands)
	for _, k := range cands {
		if norm(k) == nk {
			return k
		}
		d := editDistance(nk, norm(k))
		if d < bestD {
			best, bestD = k, d
		}
	}
	limit := 2
	if len(key) <= 4 {
		limit = 1
	}
	if bestD <= limit {
		return best
	}
	return ""
}

// editDistance is the Damerau-Levenshtein distance (optimal string alignment), so a
// swapped pair of letters counts as one typo.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func unknownKeyMsg(key string, known []string) string {
	msg := "unknown key " + quote(key)
	if s := suggest(key, known); s != "" {
		msg += ": did you mean " + quote(s) + "?"
	} else {
		msg += "; expected one of " + strings.Join(known, ", ")
	}
	return msg
}

func quote(s string) string { return strconv.Quote(s) }
