package spec

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testRepo holds the fake flows the test files' entrypoints point at.
const testRepo = "testdata/repo"

type want struct {
	line, col int
	path, msg string
}

// invalidCases lists, for every file under testdata/invalid, each problem Load must
// report: position, field path and message, in file order.
var invalidCases = []struct {
	file string
	want []want
}{
	{"anchor_without_interval.yaml", []want{
		{7, 7, "deployments[0].schedule.anchor-date", "anchor-date only goes with interval, not with cron"},
	}},
	{"bad_anchor.yaml", []want{
		{3, 89, "deployments[0].schedule.anchor-date", "\"2024-13-01\" is not an ISO-8601 date or date-time: month out of range"},
		{4, 89, "deployments[1].schedule.anchor-date", "\"tomorrow\" is not an ISO-8601 date or date-time: not a form pendulum reads (such as 2024-01-31, 2024-01-31T09:00:00+01:00 or 20240131T090000Z)"},
		{5, 89, "deployments[2].schedule.anchor-date", "\"2023-02-29T00:00:00\" is not an ISO-8601 date or date-time: day out of range for month"},
		{6, 89, "deployments[3].schedule.anchor-date", "\"2024-01-01T25:00:00\" is not an ISO-8601 date or date-time: hour, minute or second out of range"},
		{7, 89, "deployments[4].schedule.anchor-date", "expected an ISO-8601 date or date-time such as 2024-01-31T09:00:00+01:00, got an integer"},
		{8, 89, "deployments[5].schedule.anchor-date", "\"09:00\" is read by Prefect at each deploy (a time without a date, or now), so the anchor would move with every deploy: write a date such as 2024-01-31T09:00:00+01:00"},
	}},
	{"bad_block.yaml", []want{
		{1, 11, "ib-block", "\"EcsTask/dev\" is not block-type-slug/block-name (lowercase letters, digits and dashes, one '/'), e.g. ecs-task/dev"},
		{3, 61, "deployments[0].ib-block", "\"ecs-task\" is not block-type-slug/block-name (lowercase letters, digits and dashes, one '/'), e.g. ecs-task/dev"},
		{4, 61, "deployments[1].ib-block", "\"ecs-task/dev/x\" is not block-type-slug/block-name (lowercase letters, digits and dashes, one '/'), e.g. ecs-task/dev"},
		{5, 61, "deployments[2].ib-block", "\"ecs-task/\" is not block-type-slug/block-name (lowercase letters, digits and dashes, one '/'), e.g. ecs-task/dev"},
		{6, 61, "deployments[3].ib-block", "\"ecs_task/dev\" is not block-type-slug/block-name (lowercase letters, digits and dashes, one '/'), e.g. ecs-task/dev"},
	}},
	{"bad_cron.yaml", []want{
		{3, 68, "deployments[0].schedule.cron", "invalid cron \"61 * * * *\": minute field \"61\": \"61\" is out of range (allowed 0-59)"},
		{4, 68, "deployments[1].schedule.cron", "invalid cron \"* * * *\": expected 5 fields (minute hour day-of-month month day-of-week) or an alias such as @daily, got 4"},
		{5, 68, "deployments[2].schedule.cron", "invalid cron \"0 0 * * * *\": expected 5 fields (minute hour day-of-month month day-of-week) or an alias such as @daily, got 6"},
		{6, 68, "deployments[3].schedule.cron", "invalid cron \"H * * * *\": minute field \"H\": random (R) and hashed (H) expressions are not supported by Prefect"},
		{7, 68, "deployments[4].schedule.cron", "invalid cron \"0 R * * *\": hour field \"R\": random (R) and hashed (H) expressions are not supported by Prefect"},
		{8, 68, "deployments[5].schedule.cron", "invalid cron \"0 0 ? * *\": day of month field \"?\": \"?\" is not a valid value (allowed 1-31)"},
		{9, 68, "deployments[6].schedule.cron", "invalid cron \"*/0 * * * *\": minute field \"*/0\": \"*/0\": the step must be at least 1"},
		{10, 68, "deployments[7].schedule.cron", "invalid cron \"0 0 * JAN-XYZ *\": month field \"JAN-XYZ\": \"jan-xyz\" is not a valid range (allowed 1-12 or JAN-DEC)"},
		{11, 68, "deployments[8].schedule.cron", "invalid cron \"0 0 0 * *\": day of month field \"0\": \"0\" is out of range (allowed 1-31)"},
		{12, 68, "deployments[9].schedule.cron", "invalid cron \"0 0 * * MON#6\": day of week field \"MON#6\": \"mon#6\": the nth weekday must be 1 to 5"},
		{13, 68, "deployments[10].schedule.cron", "invalid cron \"0 0 * * 8\": day of week field \"8\": \"8\" is out of range (allowed 0-7)"},
		{14, 68, "deployments[11].schedule.cron", "invalid cron \"30-10 * * * *\": minute field \"30-10\": \"30-10\": the range starts after it ends"},
		{15, 68, "deployments[12].schedule.cron", "invalid cron \"@every 5m\": expected 5 fields (minute hour day-of-month month day-of-week) or an alias such as @daily, got 2"},
		{16, 68, "deployments[13].schedule.cron", "invalid cron \"0 0 * * TUE,1#2\": day of week field \"TUE,1#2\" mixes plain days with nth-day (#) syntax"},
	}},
	{"bad_defaults.yaml", []want{
		{3, 3, "defaults.name", "name cannot be set in defaults: each deployment needs its own name"},
		{4, 3, "defaults.entrypoint", "entrypoint cannot be set in defaults: each deployment names its own flow"},
		{5, 3, "defaults.ib-block", "ib-block cannot be set in defaults: set the top-level ib-block instead"},
		{7, 11, "defaults.schedule.cron", "invalid cron \"99 * * * *\": minute field \"99\": \"99\" is out of range (allowed 0-59)"},
		{8, 3, "defaults.shedule", "unknown key \"shedule\": did you mean \"schedule\"?"},
	}},
	{"bad_entrypoint.yaml", []want{
		{3, 27, "deployments[0].entrypoint", "\"flows/hello.py\" is not path/file.py:flow_function (the function name is missing)"},
		{4, 27, "deployments[1].entrypoint", "\"flows/hello.txt:hello\" is not path/file.py:flow_function (the file must end in .py)"},
		{5, 27, "deployments[2].entrypoint", "\"/opt/prefect/flows/hello.py:hello\" must be a relative path with '/' separators from the repository root"},
		{6, 27, "deployments[3].entrypoint", "\"../outside/flows/hello.py:hello\" points outside the repository"},
		{7, 27, "deployments[4].entrypoint", "\"flows/hello.py:not-an-identifier\" is not path/file.py:flow_function (\"not-an-identifier\" is not a Python function name)"},
		{8, 27, "deployments[5].entrypoint", "\"flows/../../hello.py:hello\" points outside the repository"},
		{9, 27, "deployments[6].entrypoint", "\"flows\\\\hello.py:hello\" must be a relative path with '/' separators from the repository root"},
	}},
	{"bad_interval.yaml", []want{
		{4, 15, "defaults.schedule.interval", "interval 0: must be a positive whole number of seconds"},
		{6, 72, "deployments[0].schedule.interval", "interval -5: must be a positive whole number of seconds"},
		{7, 72, "deployments[1].schedule.interval", "expected a positive whole number of seconds or a duration such as 90m, got a number"},
		{8, 72, "deployments[2].schedule.interval", "interval \"1.5h\": expected a positive whole number of seconds or a duration such as 90m or 1h30m (units w, d, h, m, s)"},
		{9, 72, "deployments[3].schedule.interval", "interval \"90x\": expected a positive whole number of seconds or a duration such as 90m or 1h30m (units w, d, h, m, s)"},
		{10, 72, "deployments[4].schedule.interval", "expected a positive whole number of seconds or a duration such as 90m, got a boolean"},
		{11, 72, "deployments[5].schedule.interval", "interval \"0m\": must be positive"},
	}},
	{"bad_name.yaml", []want{
		{3, 12, "deployments[0].name", "deployment name \"a/b\" contains a character Prefect refuses (any of /%&><)"},
		{4, 12, "deployments[1].name", "expected a non-empty deployment name"},
	}},
	{"bad_overrides.yaml", []want{
		{6, 16, "deployments[0].infra_overrides.command", "lists cannot be passed as --override command=...; use a string"},
		{7, 14, "deployments[0].infra_overrides.memory", "missing value (write \"\" for an empty string)"},
		{8, 7, "deployments[0].infra_overrides.cpu=1", "invalid override key \"cpu=1\": expected a dotted field path such as env.FOO (no '=' or spaces)"},
		{11, 9, "deployments[0].infra_overrides.env.FOO", "override env.FOO is set twice (first at line 9)"},
		{12, 7, "deployments[0].infra_overrides.", "invalid override key \"\": expected a dotted field path such as env.FOO (no '=' or spaces)"},
	}},
	{"bad_parameter_types.yaml", []want{
		{4, 12, "deployments[0].parameters.limit", "a mapping is not an integer: flow function typed (flows/typed.py:9) declares limit: int, so every run with this value would fail Prefect's parameter validation (set in defaults.parameters)"},
		{9, 12, "deployments[0].parameters.day", "\"2024-01-01T09:00:00\" is not a date YYYY-MM-DD (pydantic 1.x refuses a date-time here): flow function typed (flows/typed.py:9) declares day: date, so every run with this value would fail Prefect's parameter validation"},
		{10, 11, "deployments[0].parameters.at", "\"2024-01-01\" is not a date-time YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|±HH:MM] (pydantic 1.x refuses a date alone here): flow function typed (flows/typed.py:9) declares at: datetime, so every run with this value would fail Prefect's parameter validation"},
		{11, 16, "deployments[0].parameters.regions", "a string (\"eu\") is not a list (write a YAML list): flow function typed (flows/typed.py:9) declares regions: List[str], so every run with this value would fail Prefect's parameter validation"},
		{12, 14, "deployments[0].parameters.ratio", "\"fast\" is not a number: flow function typed (flows/typed.py:9) declares ratio: float, so every run with this value would fail Prefect's parameter validation"},
		{13, 16, "deployments[0].parameters.dry_run", "\"maybe\" is not a boolean (pydantic takes true/false, yes/no, on/off, 1/0, t/f, y/n): flow function typed (flows/typed.py:9) declares dry_run: bool, so every run with this value would fail Prefect's parameter validation"},
		{14, 14, "deployments[0].parameters.label", "a list is not a string: flow function typed (flows/typed.py:9) declares label: str, so every run with this value would fail Prefect's parameter validation"},
	}},
	{"bad_parameters.yaml", []want{
		{6, 7, "deployments[0].parameters", "keys must be strings, got an integer (quote it)"},
		{8, 9, "deployments[0].parameters.nested", "keys must be strings, got a boolean (quote it)"},
		{9, 12, "deployments[0].parameters.inf", ".inf has no JSON form (quote it to pass a string)"},
		{10, 13, "deployments[0].parameters.huge", "integer 99999999999999999999 does not fit in 64 bits (quote it to pass a string)"},
		{11, 15, "deployments[0].parameters.tagged", "unsupported YAML tag !!binary (use a plain value)"},
	}},
	{"bad_rrule.yaml", []want{
		{3, 69, "deployments[0].schedule.rrule", "invalid RRULE \"BYDAY=MO\": FREQ is required (e.g. FREQ=WEEKLY;BYDAY=MO)"},
		{4, 69, "deployments[1].schedule.rrule", "invalid RRULE \"FREQ=SOMETIMES\": FREQ=SOMETIMES: expected YEARLY, MONTHLY, WEEKLY, DAILY, HOURLY, MINUTELY or SECONDLY"},
		{5, 69, "deployments[2].schedule.rrule", "invalid RRULE \"FREQ=DAILY;BYHOUR=25\": BYHOUR=25: 25 is out of range (0 to 23)"},
		{6, 69, "deployments[3].schedule.rrule", "invalid RRULE \"FREQ=DAILY;\": empty part (a stray ';'?)"},
		{7, 69, "deployments[4].schedule.rrule", "invalid RRULE \"FREQ=DAILY;COLOR=RED\": unknown part \"COLOR\""},
		{8, 69, "deployments[5].schedule.rrule", "invalid RRULE \"FREQ=DAILY;COUNT=0\": COUNT=0: expected a positive integer"},
		{9, 69, "deployments[6].schedule.rrule", "invalid RRULE \"FREQ=WEEKLY;BYDAY=XX\": BYDAY=XX: \"XX\" is not a weekday such as MO, 1MO or -1FR"},
		{13, 14, "deployments[7].schedule.rrule", "invalid RRULE \"DTSTART:20240101T090000\\nRRULE:FREQ=DAILY;UNTIL=20241231T000000Z\\n\": UNTIL must be in UTC (ending in Z) exactly when DTSTART has a time zone"},
		{19, 14, "deployments[8].schedule.rrule", "invalid RRULE \"DTSTART:2024-02-30\\nRRULE:FREQ=DAILY\\n\": DTSTART \"2024-02-30\" is not a date or date-time (YYYYMMDDTHHMMSSZ)"},
	}},
	{"bad_tags.yaml", []want{
		{6, 9, "deployments[0].tags[0]", "expected a string tag, got an integer (quote it: \"2024\")"},
		{7, 9, "deployments[0].tags[1]", "empty tag"},
		{8, 9, "deployments[0].tags[2]", "tag \"a,b\" contains a comma: Prefect keeps it as ONE tag; write each tag as its own list item"},
		{9, 8, "deployments[0].tags[3]", "expected a string tag, got null"},
		{10, 9, "deployments[0].tags[4]", "expected a string tag, got a mapping"},
	}},
	{"bad_timezone.yaml", []want{
		{3, 91, "deployments[0].schedule.timezone", "unknown time zone \"Mars/Olympus\": expected an IANA name such as Europe/Berlin or America/New_York"},
		{4, 91, "deployments[1].schedule.timezone", "unknown time zone \"Local\": expected an IANA name such as Europe/Berlin or America/New_York"},
		{5, 91, "deployments[2].schedule.timezone", "unknown time zone \"europe/berlin\": expected an IANA name such as Europe/Berlin or America/New_York"},
		{6, 91, "deployments[3].schedule.timezone", "unknown time zone \"\": expected an IANA name such as Europe/Berlin or America/New_York"},
	}},
	{"bad_work_pool.yaml", []want{
		{6, 13, "deployments[0].work_pool.name", "expected a non-empty name (leave the key out to use Prefect's default)"},
		{7, 23, "deployments[0].work_pool.work_queue_name", "expected a non-empty work_queue_name (leave the key out to use Prefect's default)"},
		{8, 7, "deployments[0].work_pool.work_queue", "unknown key \"work_queue\"; expected one of name, work_queue_name"},
	}},
	{"comments_only.yaml", []want{
		{1, 1, "", "empty file: expected a mapping with ib-block and deployments"},
	}},
	{"deployments_not_list.yaml", []want{
		{3, 3, "deployments", "expected a list of deployments, got a mapping"},
	}},
	{"duplicate_keys.yaml", []want{
		{7, 7, "deployments[0].parameters.name", "duplicate key \"name\" (first at line 6)"},
		{8, 5, "deployments[0].name", "duplicate key \"name\" (first at line 3)"},
	}},
	{"duplicate_names.yaml", []want{
		{7, 11, "deployments[2].name", "duplicate deployment name \"daily\" (first at line 3)"},
	}},
	{"empty.yaml", []want{
		{1, 1, "", "empty file: expected a mapping with ib-block and deployments"},
	}},
	{"missing_deployments.yaml", []want{
		{1, 1, "deployments", "missing required key: expected a list of deployments"},
	}},
	{"missing_file.yaml", []want{
		{4, 17, "deployments[0].entrypoint", "flow file flows/nope.py does not exist in the repository (testdata/repo)"},
	}},
	{"missing_parameters.yaml", []want{
		{8, 5, "deployments[0].parameters", "flow function positional (flows/params.py:25) requires parameters source, dry_run, which have no value here or in defaults.parameters: every scheduled run would fail"},
		{11, 11, "deployments[1].parameters", "flow function variadic (flows/params.py:40) requires parameter region, which has no value here or in defaults.parameters: every scheduled run would fail"},
		{21, 5, "deployments[4].parameters", "flow function variadic (flows/params.py:40) requires parameter region, which has no value here or in defaults.parameters: every scheduled run would fail"},
	}},
	{"missing_required.yaml", []want{
		{2, 5, "deployments[0].name", "missing required key name"},
		{4, 5, "deployments[1].entrypoint", "missing required key entrypoint (path/file.py:flow_function)"},
		{6, 5, "deployments[2].ib-block", "no infrastructure block: set the top-level ib-block or this deployment's ib-block (block-type/block-name)"},
		{8, 10, "deployments[3].name", "expected a non-empty deployment name"},
		{9, 16, "deployments[3].entrypoint", "expected an entrypoint such as flows/etl.py:daily"},
	}},
	{"not_a_flow.yaml", []want{
		{3, 27, "deployments[0].entrypoint", "function plain_function in flows/etl.py is not a flow: decorate it with @flow"},
		{4, 27, "deployments[1].entrypoint", "function a_task in flows/etl.py is not a flow: decorate it with @flow"},
		{5, 27, "deployments[2].entrypoint", "function in_docstring is not defined at the top level of flows/etl.py (its flows: daily, dotted, hourly, nested_name_arg, slash_name, weekly_report, with_comment)"},
		{6, 27, "deployments[3].entrypoint", "function method is not defined at the top level of flows/etl.py (its flows: daily, dotted, hourly, nested_name_arg, slash_name, weekly_report, with_comment)"},
		{7, 27, "deployments[4].entrypoint", "function nope is not defined at the top level of flows/etl.py (its flows: daily, dotted, hourly, nested_name_arg, slash_name, weekly_report, with_comment)"},
		{8, 27, "deployments[5].entrypoint", "flow slash_name in flows/etl.py is named \"bad/name\", which Prefect refuses (no /%&><)"},
		{9, 27, "deployments[6].entrypoint", "function dialy is not defined at the top level of flows/etl.py: did you mean daily?"},
	}},
	{"reserved_tag.yaml", []want{
		{5, 7, "defaults.tags[1]", "tag \"managed-by:prefect-flows:prod\": tags starting with managed-by:prefect-flows: are reserved for the ownership marker that apply adds"},
		{11, 9, "deployments[0].tags[1]", "tag \"managed-by:prefect-flows:dev\": tags starting with managed-by:prefect-flows: are reserved for the ownership marker that apply adds"},
	}},
	// syntax_*: the deployments file's own hint on top of ci/yamlpos's placement of a
	// syntax error (whose cases are in ci/yamlpos/testdata/syntax).
	// An unquoted cron starting with * or @: at the expression, with the quoted form.
	{"syntax_unquoted_cron.yaml", []want{
		{6, 13, "", `YAML syntax: did not find expected alphabetic or numeric character (YAML reads a value starting with * as an alias (*name): quote the cron expression, cron: "*/15 * * * *")`},
	}},
	{"syntax_unquoted_cron_flow.yaml", []want{
		{5, 22, "", `YAML syntax: did not find expected alphabetic or numeric character (YAML reads a value starting with * as an alias (*name): quote the cron expression, cron: "*/15 * * * *")`},
	}},
	{"syntax_unquoted_cron_at.yaml", []want{
		{6, 13, "", `YAML syntax: found character that cannot start any token (YAML reads a value starting with @ as a reserved character: quote the cron expression, cron: "@daily")`},
	}},
	{"two_documents.yaml", []want{
		{3, 1, "", "a second YAML document: a deployments file holds exactly one"},
	}},
	{"two_schedule_kinds.yaml", []want{
		{7, 7, "deployments[0].schedule", "more than one schedule kind (cron, interval): Prefect takes exactly one of cron, interval or rrule"},
		{11, 7, "deployments[1].schedule", "no schedule kind: expected exactly one of cron, interval or rrule (or leave schedule out for none)"},
	}},
	{"unknown_keys.yaml", []want{
		{2, 1, "deployment", "unknown key \"deployment\": did you mean \"deployments\"?"},
		{6, 5, "deployments[0].shedule", "unknown key \"shedule\": did you mean \"schedule\"?"},
		{8, 5, "deployments[0].tag", "unknown key \"tag\": did you mean \"tags\"?"},
		{9, 5, "deployments[0].work-pool", "unknown key \"work-pool\": did you mean \"work_pool\"?"},
		{11, 5, "deployments[0].colour", "unknown key \"colour\"; expected one of name, entrypoint, description, parameters, schedule, is_schedule_active, tags, version, work_pool, ib-block, infra_overrides"},
		{16, 7, "deployments[1].schedule.timezon", "unknown key \"timezon\": did you mean \"timezone\"?"},
		{19, 7, "deployments[1].work_pool.queue", "unknown key \"queue\"; expected one of name, work_queue_name"},
	}},
	{"unknown_parameters.yaml", []want{
		{4, 5, "deployments[2].parameters.retries", "flow function no_params (flows/params.py:45) takes no parameter \"retries\". It takes no parameters (set in defaults.parameters)"},
		{4, 5, "deployments[4].parameters.retries", "flow function positional (flows/params.py:25) takes no parameter \"retries\". It takes source, day, regions, sep, mapping, limit, dry_run (set in defaults.parameters)"},
		{9, 7, "deployments[0].parameters.regoin", "flow function variadic (flows/params.py:40) takes no parameter \"regoin\": did you mean \"region\"? It takes region, *more, retries, **options (Prefect passes parameters by name only: put extra keyword arguments inside options, e.g. options: {regoin: ...})"},
		{10, 7, "deployments[0].parameters.Retries", "flow function variadic (flows/params.py:40) takes no parameter \"Retries\": did you mean \"retries\"? It takes region, *more, retries, **options (Prefect passes parameters by name only: put extra keyword arguments inside options, e.g. options: {Retries: ...})"},
		{17, 7, "deployments[1].parameters.extra", "flow function variadic (flows/params.py:40) takes no parameter \"extra\". It takes region, *more, retries, **options (Prefect passes parameters by name only: put extra keyword arguments inside options, e.g. options: {extra: ...})"},
		{25, 63, "deployments[4].parameters.region", "flow function positional (flows/params.py:25) takes no parameter \"region\": did you mean \"regions\"? It takes source, day, regions, sep, mapping, limit, dry_run"},
	}},
	{"wrong_types.yaml", []want{
		{3, 11, "deployments[0].name", "expected a string, got an integer (quote it: \"123\")"},
		{5, 18, "deployments[0].description", "expected a string, got an integer (quote it: \"42\")"},
		{6, 17, "deployments[0].parameters", "expected a mapping of parameter names to values, got a list"},
		{7, 11, "deployments[0].tags", "expected a list of strings, got a string"},
		{8, 15, "deployments[0].schedule", "expected a mapping with one of cron, interval or rrule, got a string"},
		{9, 14, "deployments[0].version", "expected a version string such as 1.2.3, got a boolean"},
		{11, 17, "deployments[1].entrypoint", "expected a string, got a list"},
		{12, 16, "deployments[1].work_pool", "expected a mapping with name and work_queue_name, got a list"},
		{13, 14, "deployments[1].version", "expected a version string such as 1.2.3, got a mapping"},
		{14, 22, "deployments[1].infra_overrides", "expected a mapping of override keys to values, got a string"},
		{15, 5, "deployments[2]", "expected a deployment mapping (name, entrypoint, ...), got a string"},
		{18, 25, "deployments[3].is_schedule_active", "expected true or false (false keeps the schedule paused), got a string"},
	}},
	// The Prefect major: named by prefect:, else inferred from the first key only one
	// major has; every key of the other major is refused with what replaces it.
	{"prefect3_refuses_blocks.yaml", []want{
		{2, 1, "ib-block", "ib-block is a Prefect 2 key, but this file targets Prefect 3 (prefect: 3 at line 1): Prefect 3 has no infrastructure blocks: use a work pool (work_pool.name) and work_pool.job_variables"},
		{5, 3, "defaults.ib-block", "ib-block is a Prefect 2 key, but this file targets Prefect 3 (prefect: 3 at line 1): Prefect 3 has no infrastructure blocks: use a work pool (work_pool.name) and work_pool.job_variables"},
		{6, 3, "defaults.infra_overrides", "infra_overrides is a Prefect 2 key, but this file targets Prefect 3 (prefect: 3 at line 1): Prefect 3 has no infrastructure blocks to override: put these values in work_pool.job_variables (typed values, not key=value text)"},
		{10, 5, "deployments[0].ib-block", "ib-block is a Prefect 2 key, but this file targets Prefect 3 (prefect: 3 at line 1): Prefect 3 has no infrastructure blocks: use a work pool (work_pool.name) and work_pool.job_variables"},
		{11, 5, "deployments[0].is_schedule_active", "is_schedule_active is a Prefect 2 key, but this file targets Prefect 3 (prefect: 3 at line 1): Prefect 3 has no is_schedule_active: use paused (the whole deployment) or active on an item of schedules"},
		{12, 5, "deployments[0].infra_overrides", "infra_overrides is a Prefect 2 key, but this file targets Prefect 3 (prefect: 3 at line 1): Prefect 3 has no infrastructure blocks to override: put these values in work_pool.job_variables (typed values, not key=value text)"},
		{16, 35, "deployments[1].schedule.active", "active goes on an item of schedules (Prefect 3); for a single schedule use paused, or write it as an item of schedules"},
		{17, 5, "deployments[1].shedules", "unknown key \"shedules\": did you mean \"schedules\"?"},
	}},
	{"prefect2_refuses_pools.yaml", []want{
		{4, 3, "defaults.paused", "paused is a Prefect 3 key, but this file targets Prefect 2 (prefect: 2 at line 1): Prefect 2 has no paused: use is_schedule_active (false keeps the schedule paused)"},
		{8, 5, "deployments[0].schedules", "schedules is a Prefect 3 key, but this file targets Prefect 2 (prefect: 2 at line 1): Prefect 2 takes one schedule per deployment: use schedule (a single mapping)"},
		{10, 5, "deployments[0].concurrency_limit", "concurrency_limit is a Prefect 3 key, but this file targets Prefect 2 (prefect: 2 at line 1): Prefect 2 deployments have no concurrency limit: use a work queue or tag concurrency limit"},
		{11, 5, "deployments[0].enforce_parameter_schema", "enforce_parameter_schema is a Prefect 3 key, but this file targets Prefect 2 (prefect: 2 at line 1): Prefect 2's deployment build cannot set enforce_parameter_schema: leave it out"},
		{14, 7, "deployments[0].work_pool.job_variables", "job_variables is a Prefect 3 key, but this file targets Prefect 2 (prefect: 2 at line 1): Prefect 2 deploys through infrastructure blocks: use infra_overrides (values passed as text)"},
		{17, 35, "deployments[1].schedule.active", "active goes on an item of schedules (Prefect 3); for a single schedule use is_schedule_active"},
	}},
	{"mixed_majors.yaml", []want{
		{6, 5, "deployments[0].paused", "paused is a Prefect 3 key, but this file targets Prefect 2 (inferred from ib-block at line 2): Prefect 2 has no paused: use is_schedule_active (false keeps the schedule paused)"},
		{11, 7, "deployments[1].work_pool.job_variables", "job_variables is a Prefect 3 key, but this file targets Prefect 2 (inferred from ib-block at line 2): Prefect 2 deploys through infrastructure blocks: use infra_overrides (values passed as text)"},
	}},
	{"mixed_majors_pool_first.yaml", []want{
		{9, 5, "deployments[0].ib-block", "ib-block is a Prefect 2 key, but this file targets Prefect 3 (inferred from job_variables at line 5): Prefect 3 has no infrastructure blocks: use a work pool (work_pool.name) and work_pool.job_variables"},
	}},
	{"prefect3_no_pool.yaml", []want{
		{3, 5, "deployments[0].work_pool.name", "no work pool: Prefect 3 deploys into a work pool; set work_pool.name here or in defaults"},
		{5, 5, "deployments[1].work_pool.name", "no work pool: Prefect 3 deploys into a work pool; set work_pool.name here or in defaults"},
		{10, 5, "deployments[2].work_pool.name", "no work pool: Prefect 3 deploys into a work pool; set work_pool.name here or in defaults"},
		{18, 23, "deployments[4].work_pool.name", "expected a non-empty work pool name: Prefect 3 deploys into a work pool"},
	}},
	{"prefect3_pool_cleared.yaml", []want{
		{7, 5, "deployments[1].work_pool.name", "no work pool: Prefect 3 deploys into a work pool; set work_pool.name here or in defaults"},
		{12, 23, "deployments[2].work_pool.name", "expected a non-empty work pool name: Prefect 3 deploys into a work pool"},
	}},
	{"prefect3_bad_parameter_types.yaml", []want{
		{11, 12, "deployments[0].parameters.day", "\"2024-1-5\" is not a date YYYY-MM-DD: flow function typed (flows/typed.py:9) declares day: date, so every run with this value would fail Prefect's parameter validation"},
		{12, 11, "deployments[0].parameters.at", "null is not allowed (the annotation is not Optional; pydantic 2 does not make a default of None Optional): flow function typed (flows/typed.py:9) declares at: datetime, so every run with this value would fail Prefect's parameter validation"},
		{13, 14, "deployments[0].parameters.limit", "2.5 is not an integer (pydantic 2 refuses a number with a fraction): flow function typed (flows/typed.py:9) declares limit: int, so every run with this value would fail Prefect's parameter validation"},
		{14, 14, "deployments[0].parameters.label", "42 is not a string (pydantic 2 turns no number or boolean into text: quote it): flow function typed (flows/typed.py:9) declares label: str, so every run with this value would fail Prefect's parameter validation"},
		{19, 12, "deployments[1].parameters.day", "\"2024-01-01T09:00:00\" is not a date (pydantic 2 takes a date-time here only at midnight, 00:00:00): flow function typed (flows/typed.py:9) declares day: date, so every run with this value would fail Prefect's parameter validation"},
		{20, 11, "deployments[1].parameters.at", "a boolean is not a date-time: flow function typed (flows/typed.py:9) declares at: datetime, so every run with this value would fail Prefect's parameter validation"},
		{22, 14, "deployments[1].parameters.label", "false is not a string (pydantic 2 turns no number or boolean into text: quote it): flow function typed (flows/typed.py:9) declares label: str, so every run with this value would fail Prefect's parameter validation"},
		{23, 14, "deployments[1].parameters.since", "20240131 is not a date (pydantic 2 reads a number as Unix time and takes it for a date only at midnight UTC): flow function typed (flows/typed.py:9) declares since: Optional[date], so every run with this value would fail Prefect's parameter validation"},
	}},
	{"prefect3_bad_values.yaml", []want{
		{8, 13, "deployments[0].paused", "expected true or false (true pauses the deployment, false resumes it; leave it out to keep what the server has), got a string"},
		{9, 24, "deployments[0].concurrency_limit", "concurrency_limit 0: expected a positive whole number of concurrent runs (leave it out for no limit)"},
		{10, 31, "deployments[0].enforce_parameter_schema", "expected true or false (true makes Prefect check each run's parameters against the flow's schema), got an integer"},
		{13, 24, "deployments[1].concurrency_limit", "expected a positive whole number of concurrent runs, got a string"},
		{15, 22, "deployments[1].work_pool.job_variables", "expected a mapping of job variable names to values (the work pool's base job template variables, e.g. cpu, env, image), got a list"},
		{18, 24, "deployments[2].concurrency_limit", "expected a positive whole number of concurrent runs, got a number"},
		{21, 14, "deployments[2].work_pool.job_variables.cpu", ".inf has no JSON form (quote it to pass a string)"},
		{22, 9, "deployments[2].work_pool.job_variables", "job variable names must be strings, got an integer (quote it)"},
		{23, 9, "deployments[2].work_pool.job_variables.", "empty job variable name"},
		{24, 17, "deployments[2].work_pool.job_variables.memory", "integer 99999999999999999999 does not fit in 64 bits (quote it to pass a string)"},
		{27, 24, "deployments[3].concurrency_limit", "concurrency_limit -3: expected a positive whole number of concurrent runs (leave it out for no limit)"},
		{28, 16, "deployments[3].schedules", "expected a list of schedules, each a mapping with one of cron, interval or rrule, got a mapping"},
		{31, 24, "deployments[4].concurrency_limit", "expected a positive whole number of concurrent runs, got a mapping (prefect.yaml's {limit, collision_strategy} form is not supported: write the limit alone)"},
	}},
	{"prefect3_bad_schedules.yaml", []want{
		{8, 15, "deployments[0].schedules[0].cron", "invalid cron \"61 * * * *\": minute field \"61\": \"61\" is out of range (allowed 0-59)"},
		{9, 29, "deployments[0].schedules[1]", "more than one schedule kind (cron, interval): Prefect takes exactly one of cron, interval or rrule"},
		{10, 29, "deployments[0].schedules[2].anchor-date", "anchor-date only goes with interval, not with cron"},
		{11, 34, "deployments[0].schedules[3].timezone", "unknown time zone \"Mars/Olympus\": expected an IANA name such as Europe/Berlin or America/New_York"},
		{12, 24, "deployments[0].schedules[4].anchor_date", "unknown key \"anchor_date\": did you mean \"anchor-date\"?"},
		{13, 39, "deployments[0].schedules[5].active", "expected true or false (false keeps this schedule from creating runs), got a string"},
		{14, 29, "deployments[0].schedules[6].max_scheduled_runs", "unknown key \"max_scheduled_runs\"; expected one of cron, interval, rrule, timezone, anchor-date, active"},
		{15, 9, "deployments[0].schedules[7]", "no schedule kind: expected exactly one of cron, interval or rrule (or leave schedule out for none)"},
		{16, 9, "deployments[0].schedules[8]", "expected a mapping with one of cron, interval or rrule, got a string"},
		{17, 20, "deployments[0].schedules[9].interval", "interval \"0m\": must be positive"},
		{17, 32, "deployments[0].schedules[9].active", "expected true or false (false keeps this schedule from creating runs), got null"},
	}},
	{"schedule_and_schedules.yaml", []want{
		{5, 3, "defaults.schedule", "schedule and schedules are both set: write the single schedule as one more item of schedules"},
		{10, 5, "deployments[0].schedules", "schedule and schedules are both set: write the single schedule as one more item of schedules"},
	}},
	{"bad_prefect_key.yaml", []want{
		{1, 10, "prefect", "expected 2 or 3, the Prefect major this file deploys to, got \"2.14\""},
	}},
	{"bad_prefect_key_string.yaml", []want{
		{1, 10, "prefect", "expected 2 or 3, the Prefect major this file deploys to, got the string \"3\" (write it without quotes: prefect: 3)"},
	}},
}

func TestLoadInvalid(t *testing.T) {
	for _, tc := range invalidCases {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "invalid", tc.file)
			f, err := Load(path, LoadOptions{RepoRoot: testRepo})
			require.Error(t, err)
			assert.Nil(t, f, "a file with problems must not load partially")
			var ve *ValidationError
			require.True(t, errors.As(err, &ve), "want *ValidationError, got %T: %v", err, err)
			assert.Equal(t, path, ve.File)
			var got []want
			for _, fe := range ve.Errors {
				assert.Equal(t, path, fe.Pos.File)
				got = append(got, want{fe.Pos.Line, fe.Pos.Col, fe.Path, fe.Msg})
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// Every input under testdata/invalid must have a row, so a new case cannot go unchecked.
func TestInvalidCasesCoverTestdata(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	require.NoError(t, err)
	var onDisk, inTable []string
	for _, f := range files {
		onDisk = append(onDisk, filepath.Base(f))
	}
	for _, tc := range invalidCases {
		inTable = append(inTable, tc.file)
	}
	sort.Strings(inTable)
	assert.Equal(t, onDisk, inTable)
}

func TestValidationErrorText(t *testing.T) {
	path := filepath.Join("testdata", "invalid", "duplicate_names.yaml")
	_, err := Load(path, LoadOptions{RepoRoot: testRepo})
	require.Error(t, err)
	assert.Equal(t, path+": 1 problem(s)\n  "+path+`:7:11: deployments[2].name: duplicate deployment name "daily" (first at line 3)`, err.Error())
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "nope.yaml"), LoadOptions{})
	require.Error(t, err)
	assert.True(t, errors.Is(err, os.ErrNotExist), "got %v", err)
	var ve *ValidationError
	assert.False(t, errors.As(err, &ve))
}
