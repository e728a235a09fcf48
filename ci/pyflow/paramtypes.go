package pyflow

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Before a flow run calls the flow function, Prefect validates the run's parameters
// against the function's annotations with pydantic (Flow.validate_parameters): pydantic
// 1.10 on Prefect 2.14, pydantic 2 on Prefect 3. The two coerce differently (pydantic 2
// turns no number into a str, no 2.5 into an int, and reads a date strictly), so the
// rules are one table per Prefect major. A check refuses only what that pydantic refuses
// for the annotation; where the rules get subtle (whitespace other than spaces, non-ASCII
// digits, numbers out of range, list items) the value is let through rather than guessed
// at. testdata/paramtypes/prefect<major>.json holds cases with Prefect's own answers.

// validation is how one Prefect major validates a parameter value.
type validation struct {
	// noneByDefault is set when a default of None makes None valid whatever the
	// annotation (pydantic 1 makes such a field Optional; pydantic 2 does not).
	noneByDefault bool
	// scalar says why a bool, int64, float64 or string is refused for each annotation
	// kind ("" when it is not).
	scalar map[annKind]func(v any) string
}

var validations = map[int]validation{
	2: {noneByDefault: true, scalar: map[annKind]func(any) string{
		annInt: intV1, annFloat: checkFloat, annBool: checkBool, annStr: func(any) string { return "" },
		annDate: dateV1, annDateTime: dateTimeV1, annList: checkList,
	}},
	3: {scalar: map[annKind]func(any) string{
		annInt: intV2, annFloat: checkFloat, annBool: checkBool, annStr: strV2,
		annDate: dateV2, annDateTime: dateTimeV2, annList: checkList,
	}},
}

// CheckParam says why Prefect of the given major would refuse v for parameter p when
// it validates a flow run's parameters, or "" when it accepts v (or when that is not
// certain, or the major has no rules here). v is a value as the deployments file gives
// it: nil, bool, int64, float64, string, []any or map[string]any.
func CheckParam(major int, p Param, v any) string {
	val, ok := validations[major]
	t := p.ann
	if !ok || t.kind == annUnknown || p.Kind == ParamVarArgs || p.Kind == ParamVarKw {
		return ""
	}
	noneDefault := p.DefaultText == "None"
	switch x := v.(type) {
	case nil:
		switch {
		case t.optional || (noneDefault && val.noneByDefault):
			return ""
		case val.noneByDefault:
			return "null is not allowed (the annotation is not Optional and the default is not None)"
		case noneDefault:
			return "null is not allowed (the annotation is not Optional; pydantic 2 does not make a default of None Optional)"
		}
		return "null is not allowed (the annotation is not Optional)"
	case []any:
		if t.kind == annList {
			return ""
		}
		return "a list is not " + kindWords[t.kind]
	case map[string]any:
		return "a mapping is not " + kindWords[t.kind]
	case bool, int64, float64, string:
		return val.scalar[t.kind](x)
	}
	return ""
}

var kindWords = map[annKind]string{
	annInt: "an integer", annFloat: "a number", annBool: "a boolean", annStr: "a string",
	annDate: "a date", annDateTime: "a date-time", annList: "a list",
}

var (
	pyIntText   = regexp.MustCompile(`^[-+]?[0-9](?:_?[0-9])*$`)
	pyFloatText = regexp.MustCompile(`(?i)^[-+]?(?:inf|infinity|nan|(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)(?:e[-+]?[0-9](?:_?[0-9])*)?)$`)
	boolWords   = map[string]bool{"0": true, "off": true, "f": true, "false": true, "n": true, "no": true, "1": true, "on": true, "t": true, "true": true, "y": true, "yes": true}
)

// Rules both majors share.

func checkList(v any) string {
	switch x := v.(type) {
	case bool:
		return "a boolean is not a list"
	case int64:
		return "an integer is not a list"
	case float64:
		return "a number is not a list"
	case string:
		return fmt.Sprintf("a string (%s) is not a list (write a YAML list)", shortQuote(x))
	}
	return ""
}

func checkFloat(v any) string {
	if s, ok := v.(string); ok && isPrintableASCII(s) && !pyFloatText.MatchString(strings.Trim(s, " ")) {
		return fmt.Sprintf("%s is not a number", shortQuote(s))
	}
	return ""
}

func checkBool(v any) string {
	var f float64
	switch x := v.(type) {
	case string:
		if !isASCII(x) || boolWords[strings.ToLower(x)] {
			return ""
		}
		return fmt.Sprintf("%s is not a boolean (pydantic takes true/false, yes/no, on/off, 1/0, t/f, y/n)", shortQuote(x))
	case int64:
		f = float64(x)
	case float64:
		f = x
	default:
		return ""
	}
	if f != 0 && f != 1 {
		return fmt.Sprintf("%s is not a boolean (pydantic takes 0 and 1, true/false, yes/no, on/off)", strconv.FormatFloat(f, 'g', -1, 64))
	}
	return ""
}

// Prefect 2.14: pydantic 1.10. Every number and boolean is taken for int, float, str,
// date and datetime (bool is an int to Python; int truncates floats; date and datetime
// read numbers as Unix time).

var (
	pyDateText = regexp.MustCompile(`^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$`)
	pyDateTime = regexp.MustCompile(`^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})[T ]([0-9]{1,2}):([0-9]{1,2})(?::([0-9]{1,2})(?:\.[0-9]{1,6}[0-9]{0,6})?)?(Z|[-+][0-9]{2}(?::?[0-9]{2})?)?$`)
)

// printableText is v as text when it is a string of printable ASCII, the only strings
// whose parsing is predicted.
func printableText(v any) (string, bool) {
	s, ok := v.(string)
	return s, ok && isPrintableASCII(s)
}

func intV1(v any) string {
	if s, ok := printableText(v); ok && !pyIntText.MatchString(strings.Trim(s, " ")) {
		return fmt.Sprintf("%s is not an integer", shortQuote(s))
	}
	return ""
}

func dateV1(v any) string {
	s, ok := printableText(v)
	if !ok || pyFloatText.MatchString(strings.Trim(s, " ")) || validDate(pyDateText.FindStringSubmatch(s)) {
		return ""
	}
	return fmt.Sprintf("%s is not a date YYYY-MM-DD (pydantic 1.x refuses a date-time here)", shortQuote(s))
}

func dateTimeV1(v any) string {
	s, ok := printableText(v)
	if !ok || pyFloatText.MatchString(strings.Trim(s, " ")) || validDateTime(pyDateTime.FindStringSubmatch(s)) {
		return ""
	}
	return fmt.Sprintf("%s is not a date-time YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|±HH:MM] (pydantic 1.x refuses a date alone here)", shortQuote(s))
}

// Prefect 3.8: pydantic 2 in lax mode. A str takes only text; an int takes a float or
// a text only without a fraction ("5.0" and 5.0, not 2.5); a date takes YYYY-MM-DD
// with two-digit month and day, a date-time at exactly midnight, or a number of Unix
// seconds (milliseconds above 2e10) that falls on midnight UTC; a date-time takes
// YYYY-MM-DD[(T|t|_| )HH:MM[:SS[(.|,)f]][Z|±HH[:]MM]] or a number, and no boolean.

var (
	pyIntTextV2 = regexp.MustCompile(`^[-+]?[0-9](?:_?[0-9])*(?:\.0+)?$`)
	// pyNumberV2 is the number text pydantic 2 reads as Unix time for a date or datetime.
	pyNumberV2   = regexp.MustCompile(`^-?[0-9]+(?:\.[0-9]+)?$`)
	pyDateV2     = regexp.MustCompile(`^([0-9]{4})-([0-9]{2})-([0-9]{2})$`)
	pyDateTimeV2 = regexp.MustCompile(`^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[Tt_ ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?([Zz]|[-+][0-9]{2}:?[0-9]{2})?)?$`)
)

func intV2(v any) string {
	switch x := v.(type) {
	case float64:
		if !math.IsInf(x, 0) && !math.IsNaN(x) && x != math.Trunc(x) {
			return fmt.Sprintf("%s is not an integer (pydantic 2 refuses a number with a fraction)", strconv.FormatFloat(x, 'g', -1, 64))
		}
	case string:
		if s, ok := printableText(x); ok && !pyIntTextV2.MatchString(strings.Trim(s, " ")) {
			return fmt.Sprintf("%s is not an integer", shortQuote(s))
		}
	}
	return ""
}

func strV2(v any) string {
	var text string
	switch x := v.(type) {
	case bool:
		text = strconv.FormatBool(x)
	case int64:
		text = strconv.FormatInt(x, 10)
	case float64:
		text = strconv.FormatFloat(x, 'g', -1, 64)
	default:
		return ""
	}
	return fmt.Sprintf("%s is not a string (pydantic 2 turns no number or boolean into text: quote it)", text)
}

func dateV2(v any) string {
	switch x := v.(type) {
	case bool:
		return "a boolean is not a date"
	case int64:
		return unixDate(x, strconv.FormatInt(x, 10))
	case float64:
		return unixDate(x, strconv.FormatFloat(x, 'f', -1, 64))
	}
	s, ok := printableText(v)
	switch {
	case !ok || strings.HasPrefix(s, "+"):
		return ""
	case pyNumberV2.MatchString(s):
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return ""
		}
		return unixDate(f, shortQuote(s))
	case validDate(pyDateV2.FindStringSubmatch(s)):
		return ""
	}
	if m := pyDateTimeV2.FindStringSubmatch(s); validDateTimeV2(m) && m[4] != "" {
		if strings.Trim(m[4]+m[5]+m[6]+m[7], "0") == "" {
			return ""
		}
		return fmt.Sprintf("%s is not a date (pydantic 2 takes a date-time here only at midnight, 00:00:00)", shortQuote(s))
	}
	return fmt.Sprintf("%s is not a date YYYY-MM-DD", shortQuote(s))
}

// unixDate refuses a number of Unix seconds (milliseconds above 2e10) that is not
// midnight UTC, which pydantic 2 refuses for a date; shown is how the message writes it.
func unixDate(v any, shown string) string {
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) || math.Abs(x) >= 1<<62 {
			return "" // out of range: refused, but not for the reason said below
		}
		if x == math.Trunc(x) {
			n = int64(x)
		} else {
			n = 1 // a fraction of a second is never midnight
		}
	}
	day := int64(86400)
	if n > 2e10 || n < -2e10 {
		day *= 1000
	}
	if n%day == 0 {
		return ""
	}
	return fmt.Sprintf("%s is not a date (pydantic 2 reads a number as Unix time and takes it for a date only at midnight UTC)", shown)
}

func dateTimeV2(v any) string {
	if _, ok := v.(bool); ok {
		return "a boolean is not a date-time"
	}
	s, ok := printableText(v)
	if !ok || strings.HasPrefix(s, "+") || pyNumberV2.MatchString(s) || validDateTimeV2(pyDateTimeV2.FindStringSubmatch(s)) {
		return ""
	}
	return fmt.Sprintf("%s is not a date-time YYYY-MM-DD[THH:MM[:SS[.ffffff]]][Z|±HH:MM]", shortQuote(s))
}

// validDateTimeV2 checks the fields pyDateTimeV2 matched: a real date, hours up to 23,
// minutes and seconds up to 59, an offset strictly inside ±24h with minutes up to 59.
func validDateTimeV2(m []string) bool {
	if m == nil || !validDate(m[:4]) {
		return false
	}
	if m[4] == "" {
		return true
	}
	if atoiSafe(m[4]) > 23 || atoiSafe(m[5]) > 59 || (m[6] != "" && atoiSafe(m[6]) > 59) {
		return false
	}
	if tz := strings.ReplaceAll(m[8], ":", ""); len(tz) == 5 {
		return atoiSafe(tz[1:3]) < 24 && atoiSafe(tz[3:]) < 60
	}
	return true
}

func validDate(m []string) bool {
	if m == nil {
		return false
	}
	y, mo, d := atoiSafe(m[1]), atoiSafe(m[2]), atoiSafe(m[3])
	if y < 1 || mo < 1 || mo > 12 || d < 1 {
		return false
	}
	return d <= time.Date(y, time.Month(mo)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func validDateTime(m []string) bool {
	if m == nil || !validDate(m[:4]) {
		return false
	}
	if atoiSafe(m[4]) > 23 || atoiSafe(m[5]) > 59 || (m[6] != "" && atoiSafe(m[6]) > 59) {
		return false
	}
	if tz := m[7]; len(tz) > 1 {
		// Python's timezone() takes offsets strictly inside ±24h; minutes may exceed 59.
		mins := 60 * atoiSafe(tz[1:3])
		if len(tz) > 3 {
			mins += atoiSafe(tz[len(tz)-2:])
		}
		if mins >= 24*60 {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// shortQuote quotes a value for a message, cut short so a long value stays readable.
func shortQuote(s string) string {
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return strconv.Quote(s)
}
