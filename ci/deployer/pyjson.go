package deployer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The Prefect 2 client sends its bodies as Python's json.dumps writes them: ", " and
// ": " separators, every non-ASCII character as \uXXXX, keys in insertion order. The
// server does not care, but writing the same bytes makes "the same request as the CLI"
// checkable byte for byte against the recordings.

// member is one key of an ordered object.
type member struct {
	key string
	val any
}

// object is a JSON object whose keys keep their order.
type object []member

// pyEncode writes v the way json.dumps(v) would. Values: nil, bool, string, int,
// int64, float64 (written as Python's repr of a float), json.Number (an integer text is
// an int, any other a float), json.RawMessage (verbatim), []any, []string,
// map[string]any and map[string]string (keys sorted) and object.
func pyEncode(b *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case string:
		pyString(b, x)
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		s, err := pyFloat(x)
		if err != nil {
			return err
		}
		b.WriteString(s)
	case json.Number:
		if isIntText(string(x)) {
			b.WriteString(string(x))
			return nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return fmt.Errorf("number %s: %w", x, err)
		}
		s, err := pyFloat(f)
		if err != nil {
			return err
		}
		b.WriteString(s)
	case json.RawMessage:
		b.Write(x)
	case []string:
		b.WriteByte('[')
		for i, s := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			pyString(b, s)
		}
		b.WriteByte(']')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := pyEncode(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		o := make(object, len(keys))
		for i, k := range keys {
			o[i] = member{k, x[k]}
		}
		return pyEncode(b, o)
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, v := range x {
			m[k] = v
		}
		return pyEncode(b, m)
	case object:
		b.WriteByte('{')
		for i, m := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			pyString(b, m.key)
			b.WriteString(": ")
			if err := pyEncode(b, m.val); err != nil {
				return fmt.Errorf("%s: %w", m.key, err)
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("cannot write %T as JSON", v)
	}
	return nil
}

func isIntText(s string) bool {
	return !strings.ContainsAny(s, ".eE")
}

// pyFloat is Python's repr of a float: the shortest text that reads back, in fixed
// notation from 1e-4 up to 1e16, else exponent notation ("1e+16", "1.5e-05"), and
// always with a '.' or an exponent so it reads back as a float.
func pyFloat(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("%v has no JSON form", f)
	}
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0", nil
		}
		return "0.0", nil
	}
	if a := math.Abs(f); a >= 1e16 || a < 1e-4 {
		s := strconv.FormatFloat(f, 'e', -1, 64)
		// Go writes e+16 / e-05 as Python does; only a two-digit minimum differs for
		// three-digit exponents, which both write in full.
		return s, nil
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s, nil
}

// pyString writes s as json.dumps(s, ensure_ascii=True) does.
func pyString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"':
				b.WriteString(`\"`)
			case c == '\\':
				b.WriteString(`\\`)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\t':
				b.WriteString(`\t`)
			case c == '\b':
				b.WriteString(`\b`)
			case c == '\f':
				b.WriteString(`\f`)
			case c < 0x20 || c == 0x7f:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == utf8.RuneError && size == 1 {
			r = 0xfffd // not UTF-8: Python would not have had this string
		}
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			writeU(b, r1)
			writeU(b, r2)
			continue
		}
		writeU(b, r)
	}
	b.WriteByte('"')
}

func writeU(b *bytes.Buffer, r rune) {
	fmt.Fprintf(b, `\u%04x`, r)
}

// numbersIn prepares a value decoded with UseNumber for pyEncode: it is already in a
// form pyEncode reads (json.Number, map[string]any, []any), so it is returned as is.
func numbersIn(v any) any { return v }
