package spec

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The checks below refuse only what pydantic 1.10 (Prefect 2.14's) refuses for the
// annotation, so a value it would coerce ("5" for int, "yes" for bool, 5 for str)
// always passes. Where Python's rules get subtle (whitespace other than spaces,
// non-ASCII digits) the value is let through rather than guessed at.
// testdata/paramtypes.json holds cases with pydantic's own answers.

var (
	pyIntText   = regexp.MustCompile(`^[-+]?[0-9](?:_?[0-9])*$`)
	pyFloatText = regexp.MustCompile(`(?i)^[-+]?(?:inf|infinity|nan|(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)(?:e[-+]?[0-9](?:_?[0-9])*)?)$`)
	pyDateText  = regexp.MustCompile(`^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$`)
	pyDateTime  = regexp.MustCompile(`^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})[T ]([0-9]{1,2}):([0-9]{1,2})(?::([0-9]{1,2})(?:\.[0-9]{1,6}[0-9]{0,6})?)?(Z|[-+][0-9]{2}(?::?[0-9]{2})?)?$`)
	boolWords   = map[string]bool{"0": true, "off": true, "f": true, "false": true, "n": true, "no": true, "1": true, "on": true, "t": true, "true": true, "y": true, "yes": true}
)

// checkParamValue says why pydantic 1.x would refuse v for a parameter annotated t,
// or "" when it would accept it (or when that is not certain). noneOK is true when
// the parameter's default is None, which makes pydantic 1.x accept None for any type.
func checkParamValue(t annType, noneOK bool, v any) string {
	if t.kind == annUnknown {
		return ""
	}
	if v == nil {
		if t.optional || noneOK {
			return ""
		}
		return "null is not allowed (the annotation is not Optional and the default is not None)"
	}
	switch x := v.(type) {
	case []any:
		if t.kind == annList {
			return ""
		}
		return "a list is not " + kindWords[t.kind]
	case map[string]any:
		return "a mapping is not " + kindWords[t.kind]
	case bool:
		if t.kind == annList {
			return "a boolean is not a list"
		}
		return "" // bool is an int to Python: int, float, str, date and datetime all take it
	case int64:
		return checkNumber(t.kind, float64(x), "an integer")
	case float64:
		return checkNumber(t.kind, x, "a number")
	case string:
		return checkString(t.kind, x)
	}
	return ""
}

var kindWords = map[annKind]string{
	annInt: "an integer", annFloat: "a number", annBool: "a boolean", annStr: "a string",
	annDate: "a date", annDateTime: "a date-time", annList: "a list",
}

func checkNumber(k annKind, f float64, what string) string {
	switch k {
	case annList:
		return what + " is not a list"
	case annBool:
		if f != 0 && f != 1 {
			return fmt.Sprintf("%s is not a boolean (pydantic takes 0 and 1, true/false, yes/no, on/off)", strconv.FormatFloat(f, 'g', -1, 64))
		}
	}
	return "" // int truncates floats; date and datetime read numbers as Unix time
}

func checkString(k annKind, s string) string {
	switch k {
	case annStr:
		return ""
	case annList:
		return fmt.Sprintf("a string (%s) is not a list (write a YAML list)", shortQuote(s))
	case annBool:
		if !isASCII(s) || boolWords[strings.ToLower(s)] {
			return ""
		}
		return fmt.Sprintf("%s is not a boolean (pydantic takes true/false, yes/no, on/off, 1/0, t/f, y/n)", shortQuote(s))
	}
	if !isPrintableASCII(s) {
		return ""
	}
	t := strings.Trim(s, " ")
	switch k {
	case annInt:
		if !pyIntText.MatchString(t) {
			return fmt.Sprintf("%s is not an integer", shortQuote(s))
		}
	case annFloat:
		if !pyFloatText.MatchString(t) {
			return fmt.Sprintf("%s is not a number", shortQuote(s))
		}
	case annDate:
		if pyFloatText.MatchString(t) || validDate(pyDateText.FindStringSubmatch(s)) {
			return ""
		}
		return fmt.Sprintf("%s is not a date YYYY-MM-DD (pydantic 1.x refuses a date-time here)", shortQuote(s))
	case annDateTime:
		if pyFloatText.MatchString(t) || validDateTime(pyDateTime.FindStringSubmatch(s)) {
			return ""
		}
		return fmt.Sprintf("%s is not a date-time YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|±HH:MM] (pydantic 1.x refuses a date alone here)", shortQuote(s))
	}
	return ""
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
