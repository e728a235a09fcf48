package spec

import (
	"strconv"
	"strings"

	"github.com/acme-data/prefect-flows/ci/internal/suggest"
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
	if s := suggest.Closest(key, known); s != "" {
		msg += ": did you mean " + quote(s) + "?"
	} else {
		msg += "; expected one of " + strings.Join(known, ", ")
	}
	return msg
}

func quote(s string) string { return strconv.Quote(s) }
