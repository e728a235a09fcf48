package prefect3test

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// perr is one pydantic error as the server lists it in exception_detail.
type perr struct {
	Type  string         `json:"type"`
	Loc   []any          `json:"loc"`
	Msg   string         `json:"msg"`
	Input any            `json:"input"`
	Ctx   map[string]any `json:"ctx,omitempty"`
}

// kind is the pydantic type of a request field.
type kind int

const (
	kAny kind = iota
	kStr
	kBool
	kInt
	kList
	kDict
	kUUID
	kSchedules
	kStrList
)

type field struct {
	name     string
	kind     kind
	nullable bool
	required bool
}

// deploymentCreate and deploymentUpdate are the server's DeploymentCreate and
// DeploymentUpdate in field order (recorded/openapi-deployer-subset.json); extra keys are
// forbidden.
var deploymentCreate = []field{
	{"name", kStr, false, true}, {"flow_id", kUUID, false, true}, {"paused", kBool, false, false},
	{"schedules", kSchedules, false, false}, {"concurrency_limit", kInt, true, false},
	{"concurrency_options", kDict, true, false}, {"global_concurrency_limit_id", kUUID, true, false},
	{"enforce_parameter_schema", kBool, false, false}, {"parameter_openapi_schema", kDict, true, false},
	{"parameters", kDict, false, false}, {"tags", kStrList, false, false}, {"labels", kDict, false, false},
	{"pull_steps", kList, true, false}, {"work_queue_name", kStr, true, false}, {"work_pool_name", kStr, true, false},
	{"storage_document_id", kUUID, true, false}, {"infrastructure_document_id", kUUID, true, false},
	{"description", kStr, true, false}, {"path", kStr, true, false}, {"version", kStr, true, false},
	{"entrypoint", kStr, true, false}, {"job_variables", kDict, false, false}, {"version_info", kDict, true, false},
}

var deploymentUpdate = []field{
	{"version", kStr, true, false}, {"description", kStr, true, false}, {"paused", kBool, false, false},
	{"schedules", kSchedules, false, false}, {"concurrency_limit", kInt, true, false},
	{"concurrency_options", kDict, true, false}, {"global_concurrency_limit_id", kUUID, true, false},
	{"parameters", kDict, true, false}, {"parameter_openapi_schema", kDict, true, false},
	{"tags", kStrList, false, false}, {"work_queue_name", kStr, true, false}, {"work_pool_name", kStr, true, false},
	{"path", kStr, true, false}, {"job_variables", kDict, true, false}, {"pull_steps", kList, true, false},
	{"entrypoint", kStr, true, false}, {"storage_document_id", kUUID, true, false},
	{"infrastructure_document_id", kUUID, true, false}, {"enforce_parameter_schema", kBool, true, false},
	{"version_info", kDict, true, false},
}

var flowCreate = []field{{"name", kStr, false, true}, {"tags", kStrList, false, false}, {"labels", kDict, true, false}}

var workPoolCreate = []field{
	{"name", kStr, false, true}, {"description", kStr, true, false}, {"type", kStr, false, false},
	{"base_job_template", kDict, false, false}, {"is_paused", kBool, false, false},
	{"concurrency_limit", kInt, true, false}, {"storage_configuration", kDict, false, false},
}

var workPoolUpdate = []field{
	{"description", kStr, true, false}, {"is_paused", kBool, true, false}, {"base_job_template", kDict, true, false},
	{"concurrency_limit", kInt, true, false}, {"storage_configuration", kDict, true, false},
}

// placeholder is the server's PLACEHOLDER_CAPTURE_REGEX ({{ name }} in a job configuration).
var placeholder = regexp.MustCompile(`{{\s*([\w.\-\[\]$]+)\s*}}`)

// checkTemplate is the server's validate_base_job_template: {} is accepted; otherwise
// job_configuration and variables must both be there and not empty, and every {{ name }}
// in the job configuration must be a property of variables.
func checkTemplate(loc []any, v any) []perr {
	t, ok := v.(map[string]any)
	if !ok || len(t) == 0 {
		return nil // absent, or {}; a non-object is checkModel's dict_type
	}
	bad := func(msg string) []perr {
		return []perr{{Type: "value_error", Loc: loc, Msg: "Value error, " + msg, Input: v, Ctx: map[string]any{"error": map[string]any{}}}}
	}
	conf, _ := t["job_configuration"].(map[string]any)
	vars, _ := t["variables"].(map[string]any)
	if len(conf) == 0 || len(vars) == 0 {
		return bad("The `base_job_template` must contain both a `job_configuration` key and a `variables` key.")
	}
	props, _ := vars["properties"].(map[string]any)
	missing := map[string]bool{}
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case string:
			for _, m := range placeholder.FindAllStringSubmatch(x, -1) {
				if _, ok := props[m[1]]; !ok {
					missing[m[1]] = true
				}
			}
		case map[string]any:
			for k, e := range x {
				walk(k)
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	for _, e := range conf {
		walk(e)
	}
	if len(missing) == 0 {
		return nil
	}
	names := make([]string, 0, len(missing))
	for n := range missing {
		names = append(names, n)
	}
	sort.Strings(names) // the server joins a set: its order varies
	return bad("The variables specified in the job configuration template must be present as properties in the variables schema. " +
		"Your job configuration uses the following undeclared variable(s): " + strings.Join(names, " ,") + ".")
}

var scheduleCreate = []field{
	{"active", kBool, false, false}, {"schedule", kAny, false, true}, {"max_scheduled_runs", kInt, true, false},
	{"parameters", kDict, false, false}, {"slug", kStr, true, false}, {"replaces", kStr, true, false},
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

// checkModel validates body against fields the way pydantic does: declared fields in
// order, then the extra keys (forbidden) in body order. input is what "missing" errors
// show as their input (the body after the server's defaults).
func (f *Server) checkModel(loc []any, body map[string]any, order []string, fields []field, input any) []perr {
	var errs []perr
	at := func(k ...any) []any { return append(append([]any{}, loc...), k...) }
	known := map[string]bool{}
	for _, fd := range fields {
		known[fd.name] = true
		v, ok := body[fd.name]
		if !ok {
			if fd.required {
				errs = append(errs, perr{Type: "missing", Loc: at(fd.name), Msg: "Field required", Input: input})
			}
			continue
		}
		if v == nil && fd.nullable {
			continue
		}
		errs = append(errs, f.checkValue(at(fd.name), fd.kind, v)...)
	}
	for _, k := range order {
		if !known[k] {
			errs = append(errs, perr{Type: "extra_forbidden", Loc: at(k), Msg: "Extra inputs are not permitted", Input: body[k]})
		}
	}
	return errs
}

func (f *Server) checkValue(loc []any, k kind, v any) []perr {
	bad := func(typ, msg string) []perr { return []perr{{Type: typ, Loc: loc, Msg: msg, Input: v}} }
	switch k {
	case kStr:
		if _, ok := v.(string); !ok {
			return bad("string_type", "Input should be a valid string")
		}
	case kBool:
		switch x := v.(type) {
		case bool:
		case float64:
			if x != 0 && x != 1 {
				return bad("bool_parsing", "Input should be a valid boolean, unable to interpret input")
			}
		case string:
			switch strings.ToLower(x) {
			case "0", "off", "f", "false", "n", "no", "1", "on", "t", "true", "y", "yes":
			default:
				return bad("bool_parsing", "Input should be a valid boolean, unable to interpret input")
			}
		default:
			return bad("bool_type", "Input should be a valid boolean")
		}
	case kInt:
		switch x := v.(type) {
		case float64:
			if x != math.Trunc(x) {
				return bad("int_from_float", "Input should be a valid integer, got a number with a fractional part")
			}
		case string:
			if _, err := strconv.Atoi(strings.TrimSpace(x)); err != nil {
				return bad("int_parsing", "Input should be a valid integer, unable to parse string as an integer")
			}
		default:
			return bad("int_type", "Input should be a valid integer")
		}
	case kList:
		if _, ok := v.([]any); !ok {
			return bad("list_type", "Input should be a valid list")
		}
	case kStrList:
		l, ok := v.([]any)
		if !ok {
			return bad("list_type", "Input should be a valid list")
		}
		var errs []perr
		for i, e := range l {
			if _, ok := e.(string); !ok {
				errs = append(errs, perr{Type: "string_type", Loc: append(append([]any{}, loc...), i), Msg: "Input should be a valid string", Input: e})
			}
		}
		return errs
	case kDict:
		if _, ok := v.(map[string]any); !ok {
			return bad("dict_type", "Input should be a valid dictionary")
		}
	case kUUID:
		s, ok := v.(string)
		if !ok {
			return bad("uuid_type", "UUID input should be a string, bytes or UUID object")
		}
		if !uuidRE.MatchString(s) {
			e := bad("uuid_parsing", "Input should be a valid UUID, "+uuidReason(s))
			e[0].Ctx = map[string]any{"error": uuidReason(s)}
			return e
		}
	case kSchedules:
		l, ok := v.([]any)
		if !ok {
			return bad("list_type", "Input should be a valid list")
		}
		var errs []perr
		for i, e := range l {
			eloc := append(append([]any{}, loc...), i)
			m, ok := e.(map[string]any)
			if !ok {
				errs = append(errs, perr{Type: "model_type", Loc: eloc, Msg: "Input should be a valid dictionary or instance of DeploymentScheduleCreate", Input: e})
				continue
			}
			errs = append(errs, f.checkModel(eloc, m, keysInOrder(m), scheduleCreate, e)...)
			if s, ok := m["schedule"]; ok {
				errs = append(errs, f.checkSchedule(append(eloc, "schedule"), s)...)
			}
		}
		return errs
	}
	return nil
}

// uuidReason imitates the uuid crate's message pydantic-core passes on, for the two
// common cases (a wrong character, a wrong length).
func uuidReason(s string) string {
	for i, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF-", r) {
			return fmt.Sprintf("invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `%c` at %d", r, i+1)
		}
	}
	return fmt.Sprintf("invalid length: expected length 32 for simple format, found %d", len(strings.ReplaceAll(s, "-", "")))
}

// The three members of the server's SCHEDULE_TYPES union, in the order it tries them.
const (
	intervalMember = "function-after[validate_timezone(), IntervalSchedule]"
	cronMember     = "function-after[validate_timezone(), CronSchedule]"
	rruleMember    = "RRuleSchedule"
)

// checkSchedule validates one `schedule` object against the union: it passes when one
// member accepts it, else every member's errors are listed.
func (f *Server) checkSchedule(loc []any, v any) []perr {
	m, ok := v.(map[string]any)
	if !ok {
		var errs []perr
		for _, member := range []string{intervalMember, cronMember, rruleMember} {
			name := member
			if i := strings.LastIndex(member, ", "); i >= 0 {
				name = strings.TrimSuffix(member[i+2:], "]")
			}
			errs = append(errs, perr{Type: "model_type", Loc: append(append([]any{}, loc...), member),
				Msg: "Input should be a valid dictionary or instance of " + name, Input: v})
		}
		return errs
	}
	at := func(member string) []any { return append(append([]any{}, loc...), member) }
	order := keysInOrder(m)
	interval := f.checkModel(at(intervalMember), m, order, []field{
		{"interval", kAny, false, true}, {"anchor_date", kAny, false, false}, {"timezone", kStr, true, false}}, m)
	if len(interval) == 0 {
		interval = f.checkInterval(at(intervalMember), m)
	}
	if len(interval) == 0 {
		return nil
	}
	cron := f.checkModel(at(cronMember), m, order, []field{
		{"cron", kStr, false, true}, {"timezone", kStr, true, false}, {"day_or", kBool, false, false}}, m)
	if len(cron) == 0 {
		if c := m["cron"].(string); !validCron(c) {
			cron = []perr{{Type: "value_error", Loc: append(at(cronMember), "cron"),
				Msg: fmt.Sprintf("Value error, Invalid cron string: %q", c), Input: c, Ctx: map[string]any{"error": map[string]any{}}}}
		}
	}
	if len(cron) == 0 {
		cron = f.checkTimezone(at(cronMember), m)
	}
	if len(cron) == 0 {
		return nil
	}
	rrule := f.checkModel(at(rruleMember), m, nil, []field{{"rrule", kStr, false, true}}, m)
	if tz, ok := m["timezone"]; ok && tz != nil {
		if s, isStr := tz.(string); !isStr {
			rrule = append(rrule, perr{Type: "string_type", Loc: append(at(rruleMember), "timezone"), Msg: "Input should be a valid string", Input: tz})
		} else if !f.rec.Timezones[s] {
			rrule = append(rrule, perr{Type: "string_pattern_mismatch", Loc: append(at(rruleMember), "timezone"),
				Msg: "String should match pattern '" + f.rec.TimezonePattern + "'", Input: s,
				Ctx: map[string]any{"pattern": f.rec.TimezonePattern}})
		}
	}
	for _, k := range order {
		if k != "rrule" && k != "timezone" {
			rrule = append(rrule, perr{Type: "extra_forbidden", Loc: append(at(rruleMember), k), Msg: "Extra inputs are not permitted", Input: m[k]})
		}
	}
	if len(rrule) == 0 {
		return nil
	}
	return append(append(interval, cron...), rrule...)
}

func (f *Server) checkInterval(loc []any, m map[string]any) []perr {
	switch x := m["interval"].(type) {
	case float64:
		if x <= 0 {
			return []perr{{Type: "value_error", Loc: append(append([]any{}, loc...), "interval"),
				Msg: "Value error, interval must be positive", Input: x, Ctx: map[string]any{"error": map[string]any{}}}}
		}
	default:
		return []perr{{Type: "time_delta_type", Loc: append(append([]any{}, loc...), "interval"),
			Msg: "Input should be a valid timedelta", Input: x}}
	}
	return f.checkTimezone(loc, m)
}

// checkTimezone is the model validator validate_timezone (an error on the member itself).
func (f *Server) checkTimezone(loc []any, m map[string]any) []perr {
	tz, _ := m["timezone"].(string)
	if tz == "" || f.rec.Timezones[tz] {
		return nil
	}
	return []perr{{Type: "value_error", Loc: loc,
		Msg:   fmt.Sprintf("Value error, Invalid timezone: %q (specify in IANA tzdata format, for example, America/New_York)", tz),
		Input: m, Ctx: map[string]any{"error": map[string]any{}}}}
}

var cronAliases = map[string]bool{"@yearly": true, "@annually": true, "@monthly": true, "@weekly": true,
	"@daily": true, "@midnight": true, "@hourly": true}

var cronField = regexp.MustCompile(`^(\*|\?|L|[0-9]+[LW]?|[A-Za-z]{3}|[0-9A-Za-z]+#[0-9]+)(-([0-9]+|[A-Za-z]{3}))?(/[0-9]+)?$`)

// validCron accepts what Prefect 3.8.3's vendored croniter accepts for the usual forms: 5
// to 7 fields of lists, ranges, steps and names, or an @alias. It is a syntax check only.
func validCron(s string) bool {
	s = strings.TrimSpace(s)
	if cronAliases[strings.ToLower(s)] {
		return true
	}
	fields := strings.Fields(s)
	if len(fields) < 5 || len(fields) > 7 {
		return false
	}
	for _, fld := range fields {
		for _, item := range strings.Split(fld, ",") {
			if !cronField.MatchString(item) {
				return false
			}
		}
	}
	return true
}

// checkJobVariables validates job variables against the pool's base_job_template
// variables the way the server does: only keys the template declares are checked,
// unknown keys are accepted. It returns the server's message, "" when valid.
func checkJobVariables(template map[string]any, jv map[string]any) string {
	vars, _ := template["variables"].(map[string]any)
	props, _ := vars["properties"].(map[string]any)
	defs, _ := vars["definitions"].(map[string]any)
	keys := make([]string, 0, len(jv))
	for k := range jv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		schema, ok := props[k].(map[string]any)
		if !ok {
			continue
		}
		field, reason := k, schemaError(schema, jv[k])
		if def := blockDefinition(defs, schema); def != nil {
			var sub string
			if sub, reason = blockError(def, jv[k]); sub != "" {
				field += "." + sub
			}
		}
		if reason != "" {
			return fmt.Sprintf("Validation failed for field '%s'. Failure reason: %s", field, reason)
		}
	}
	return ""
}

// blockDefinition is the definition a template variable refers to ("$ref":
// "#/definitions/X") when X is a block's schema (it names a block_type_slug), else nil.
func blockDefinition(defs, schema map[string]any) map[string]any {
	ref, _ := schema["$ref"].(string)
	name, ok := strings.CutPrefix(ref, "#/definitions/")
	if !ok {
		return nil
	}
	def, _ := defs[name].(map[string]any)
	if _, isBlock := def["block_type_slug"]; !isBlock {
		return nil
	}
	return def
}

// blockReference is the second member of the oneOf the server puts in place of a
// block's definition (prefect/utilities/schema_tools/validation.py preprocess_schema),
// as Python prints it.
const blockReference = "{'type': 'object', 'properties': {'$ref': {'oneOf': [{'type': 'string', 'format': 'uuid'}, {'type': 'object', 'additionalProperties': {'type': 'string'}, 'minProperties': 1}]}}, 'required': ['$ref']}"

// blockError validates v against oneOf [def, a block document reference] as the server
// does: exactly one must match. A reference {"$ref": ...} also matches a block schema
// that allows any key (AwsCredentials does), so the server refuses it ("is valid under
// each of"); an object of the block's fields (placeholders included) passes. A field of
// the block with a wrong value is reported at that field (sub), as jsonschema's
// best_match does.
func blockError(def map[string]any, v any) (sub, reason string) {
	m, isObj := v.(map[string]any)
	defOK := isObj
	if props, ok := def["properties"].(map[string]any); ok && isObj {
		for _, k := range keysSorted(m) {
			if ps, ok := props[k].(map[string]any); ok {
				if r := schemaError(ps, m[k]); r != "" && defOK {
					defOK, sub, reason = false, k, r
				}
			}
		}
	}
	refOK := false
	if r, ok := m["$ref"]; ok {
		switch x := r.(type) {
		case string:
			refOK = uuidRE.MatchString(x)
		case map[string]any:
			refOK = len(x) > 0
			for _, e := range x {
				if _, isStr := e.(string); !isStr {
					refOK = false
				}
			}
		}
	}
	switch {
	case defOK && refOK:
		return "", pyRepr(v) + " is valid under each of " + blockReference + ", " + pyRepr(def)
	case !defOK && !refOK && sub != "":
		return sub, reason
	case !defOK && !refOK:
		return "", pyRepr(v) + " is not valid under any of the given schemas"
	}
	return "", ""
}

// schemaError is python-jsonschema's message for the first failure of v against schema
// (type, anyOf, additionalProperties, items), "" when v is valid.
func schemaError(schema map[string]any, v any) string {
	if alts, ok := schema["anyOf"].([]any); ok {
		for _, s := range alts {
			if sm, ok := s.(map[string]any); ok && schemaError(sm, v) == "" {
				return ""
			}
		}
		return pyRepr(v) + " is not valid under any of the given schemas"
	}
	if t, ok := schema["type"].(string); ok && !hasType(t, v) {
		return fmt.Sprintf("%s is not of type '%s'", pyRepr(v), t)
	}
	if m, ok := v.(map[string]any); ok {
		if ap, ok := schema["additionalProperties"].(map[string]any); ok {
			keys := keysSorted(m)
			for _, k := range keys {
				if r := schemaError(ap, m[k]); r != "" {
					return r
				}
			}
		}
	}
	if l, ok := v.([]any); ok {
		if items, ok := schema["items"].(map[string]any); ok {
			for _, e := range l {
				if r := schemaError(items, e); r != "" {
					return r
				}
			}
		}
	}
	return ""
}

func hasType(t string, v any) bool {
	switch t {
	case "string":
		_, ok := v.(string)
		return ok
	case "integer":
		x, ok := v.(float64)
		return ok && x == math.Trunc(x)
	case "number":
		_, ok := v.(float64)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "null":
		return v == nil
	}
	return true
}

// pyRepr prints a JSON value the way Python's repr prints it after json.loads.
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e16 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		if strings.Contains(x, "'") && !strings.Contains(x, `"`) {
			return `"` + x + `"`
		}
		return "'" + strings.ReplaceAll(x, "'", `\'`) + "'"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		parts := []string{}
		for _, k := range keysSorted(x) {
			parts = append(parts, pyRepr(k)+": "+pyRepr(x[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

func keysSorted(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// keysInOrder is the order extra keys are reported in. pydantic reports them in the order
// the body lists them; the fake decodes into Go maps, so it sorts them (the same answer for
// a body with one unknown key, which is what the recordings hold).
func keysInOrder(m map[string]any) []string { return keysSorted(m) }
