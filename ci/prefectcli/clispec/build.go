package clispec

import (
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
	// Timezones are checked against the IANA database on any machine.
	_ "time/tzdata"

	"github.com/acme-data/prefect-flows/ci/isodate"
)

// Failure is a run-time error of `prefect deployment build` (exit 1). Prefect prints
// Msg on stdout; an Exception is an unexpected error, printed as "An exception
// occurred." on stdout and a traceback ending in Msg on stderr.
type Failure struct {
	Msg       string
	Exception bool
}

// Outcome renders the failure; before is what the command printed until then.
func (f *Failure) Outcome(before string) Outcome {
	if f.Exception {
		return Outcome{Exit: 1, Stdout: before + "An exception occurred.\n",
			Stderr: "Traceback (most recent call last):\n  File \"/usr/local/lib/python3.11/site-packages/prefect/cli/deployment.py\", line 1099, in build\n" + f.Msg + "\n"}
	}
	return Outcome{Exit: 1, Stdout: before + f.Msg + "\n"}
}

// Build is the parsed form of a `deployment build` invocation, with Python's notion of
// "given": an option holding "" is falsy but, for the schedule count, not None.
type Build struct {
	inv *Invocation
}

// AsBuild views an invocation of "deployment build".
func AsBuild(inv *Invocation) (*Build, error) {
	if inv.Command != "deployment build" {
		return nil, fmt.Errorf("not a deployment build: %q", inv.Command)
	}
	return &Build{inv: inv}, nil
}

// Value is the last value of option name ("" when absent).
func (b *Build) Value(name string) string { v, _ := b.inv.Last(name); return v }

// Entrypoint is the positional ENTRYPOINT.
func (b *Build) Entrypoint() string {
	if len(b.inv.Args) == 0 {
		return ""
	}
	return b.inv.Args[0]
}

// Values are all the values of a repeatable option.
func (b *Build) Values(name string) []string { return b.inv.Values[name] }

// OutputFile is where the YAML goes: -o with ".yaml" added when it has no suffix, else
// `<function>-deployment.yaml`.
func (b *Build) OutputFile() string {
	if o := b.Value("--output"); o != "" {
		if pySuffix(o) == "" {
			return o + ".yaml"
		}
		return o
	}
	ep := b.Entrypoint()
	return ep[strings.LastIndex(ep, ":")+1:] + "-deployment.yaml"
}

// PreFlow are the checks `build` makes before importing the flow file, in its order.
func (b *Build) PreFlow() *Failure {
	if b.Value("--name") == "" {
		return &Failure{Msg: "A name for this deployment must be provided with the '--name' flag."}
	}
	kinds := 0
	for _, k := range []string{"--cron", "--rrule", "--interval"} {
		if b.inv.Has(k) {
			kinds++
		}
	}
	if b.inv.Has("--no-schedule") {
		kinds++
	}
	if kinds > 1 {
		return &Failure{Msg: "Only one schedule type can be provided."}
	}
	if b.Value("--infra-block") != "" && b.Value("--infra") != "" {
		return &Failure{Msg: "Only one of `infra` or `infra_block` can be provided, please choose one."}
	}
	if o := b.Value("--output"); o != "" {
		if s := pySuffix(o); s != "" && s != ".yaml" {
			return &Failure{Msg: "Output file must be a '.yaml' file."}
		}
	}
	if ep := b.Entrypoint(); !strings.Contains(ep, ":") {
		return &Failure{Msg: "Your flow entrypoint must include the name of the function that is the entrypoint to your flow.\nTry " + ep + ":<flow_name>"}
	}
	return nil
}

// PostFlow are the checks after "Found flow" that need no server: overrides, the
// anchor date rule, the schedule's validation, and the parameters. Block and work
// pool lookups need a server and are left to the caller.
func (b *Build) PostFlow() *Failure {
	for _, o := range b.Values("--override") {
		if !strings.Contains(o, "=") {
			return &Failure{Exception: true, Msg: "ValueError: not enough values to unpack (expected 2, got 1)"}
		}
	}
	interval := b.Value("--interval")
	intervalN := int64(0)
	if interval != "" {
		n, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(interval), "_", ""), 10, 64)
		if err != nil {
			return &Failure{Exception: true, Msg: "OverflowError: " + err.Error()}
		}
		intervalN = n
	}
	// Python: `if interval_anchor and not interval`, so an interval of 0 counts as none.
	if b.Value("--anchor-date") != "" && intervalN == 0 {
		return &Failure{Msg: "An anchor date can only be provided with an interval schedule"}
	}
	tz := b.Value("--timezone")
	var errs []string
	var model string
	switch {
	case b.Value("--cron") != "":
		model = "CronSchedule"
		if c := b.Value("--cron"); !ValidCron(c) {
			errs = append(errs, fmt.Sprintf("cron\n  Invalid cron string: \"%s\" (type=value_error)", c))
		}
		errs = append(errs, tzErrors(tz)...)
	case intervalN != 0:
		model = "IntervalSchedule"
		if intervalN < 0 {
			errs = append(errs, "interval\n  The interval must be positive (type=value_error)")
		}
		if a := b.Value("--anchor-date"); a != "" && !validISODate(a) {
			errs = append(errs, "anchor_date\n  invalid datetime format (type=value_error.datetime)")
		}
		errs = append(errs, tzErrors(tz)...)
	case b.Value("--rrule") != "":
		model = "RRuleSchedule"
		if r := b.Value("--rrule"); !validRRule(r) {
			errs = append(errs, fmt.Sprintf("rrule\n  Invalid RRule string \"%s\" (type=value_error)", r))
		}
		errs = append(errs, tzErrors(tz)...)
	}
	if len(errs) > 0 {
		noun := "error"
		if len(errs) > 1 {
			noun = "errors"
		}
		return &Failure{Exception: true, Msg: fmt.Sprintf("pydantic.error_wrappers.ValidationError: %d validation %s for %s\n%s", len(errs), noun, model, strings.Join(errs, "\n"))}
	}
	if b.inv.Has("--param") && b.inv.Has("--params") {
		return &Failure{Msg: "Can only pass one of `param` or `params` options"}
	}
	if b.inv.Has("--params") {
		var v any
		if err := json.Unmarshal([]byte(b.Value("--params")), &v); err != nil {
			return &Failure{Exception: true, Msg: "json.decoder.JSONDecodeError: " + err.Error()}
		}
		if _, ok := v.(map[string]any); !ok {
			return &Failure{Exception: true, Msg: "pydantic.error_wrappers.ValidationError: 1 validation error for Deployment\nparameters\n  value is not a valid dict (type=type_error.dict)"}
		}
	}
	return nil
}

func tzErrors(tz string) []string {
	if tz == "" || validTimezone(tz) {
		return nil
	}
	return []string{fmt.Sprintf("timezone\n  Invalid timezone: \"%s\" (specify in IANA tzdata format, for example, America/New_York) (type=value_error)", tz)}
}

func validTimezone(tz string) bool {
	if tz == "Local" || strings.HasPrefix(tz, "/") {
		return false
	}
	_, err := time.LoadLocation(tz)
	return err == nil
}

// pySuffix is pathlib's PurePath.suffix.
func pySuffix(p string) string {
	name := path.Base(strings.TrimRight(p, "/"))
	i := strings.LastIndexByte(name, '.')
	if i > 0 && i < len(name)-1 {
		return name[i:]
	}
	return ""
}

// validISODate is what pendulum.parse (Prefect's reader of --anchor-date) accepts,
// "now" and a time alone included.
func validISODate(s string) bool {
	_, err := isodate.Parse(s, time.Now())
	return err == nil
}

// validRRule accepts a JSON object with an "rrule" string or an RRULE text holding a
// FREQ; dateutil's full grammar is not reproduced.
func validRRule(s string) bool {
	var obj map[string]any
	if json.Unmarshal([]byte(s), &obj) == nil {
		r, ok := obj["rrule"].(string)
		return ok && validRRule(r)
	}
	return len(s) <= 6500 && strings.Contains(strings.ToUpper(s), "FREQ=")
}

// Check runs argv through everything this package knows: click's parsing and the
// build command's checks that need neither the flow file nor a server. It returns the
// outcome the real CLI would give, or nil when it would go on to import the flow.
func (s *Spec) Check(argv []string) *Outcome {
	inv, out := s.Parse(argv)
	if out != nil {
		return out
	}
	b, err := AsBuild(inv)
	if err != nil {
		return nil
	}
	if f := b.PreFlow(); f != nil {
		o := f.Outcome("")
		return &o
	}
	if f := b.PostFlow(); f != nil {
		o := f.Outcome("")
		return &o
	}
	return nil
}

// Has says whether the option was given.
func (b *Build) Has(name string) bool { return b.inv.Has(name) }
