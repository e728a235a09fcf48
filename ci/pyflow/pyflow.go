package pyflow

import (
	"regexp"
	"strings"
)

// Func is a top-level function found in a Python file.
type Func struct {
	IsFlow bool
	// FlowName is the literal `name=` of the flow decorator, "" when absent or not a
	// plain string literal.
	FlowName string
	// Line is where the `def` starts (1-based), for messages that point into the flow file.
	Line int
	// Sig is the parameter list, nil when the signature could not be read with
	// certainty (then no parameter is checked).
	Sig *Signature
	// NoValidation is set by @flow(validate_parameters=...) with anything but True:
	// Prefect then never runs pydantic on the parameters, so their types are not checked.
	NoValidation bool
	// IsTask is set by @task / @prefect.task: a Task, which Prefect's loader refuses.
	IsTask bool
	// OtherDeco is the first decorator that is neither a flow nor a task decorator
	// ("" when none): what it returns is known only when the file runs.
	OtherDeco string
}

// logicalLine is a Python statement's text with comments and string contents kept
// apart: code holds the text with every string literal replaced by a placeholder,
// strs the literals' decoded values in order.
type logicalLine struct {
	indent int
	// line is the physical line (1-based) the statement starts on.
	line int
	code string
	strs []string
}

var pyIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// IsIdentifier reports whether s is an ASCII Python identifier, the only kind the
// scanner reads (an entrypoint's function name must be one).
func IsIdentifier(s string) bool { return pyIdent.MatchString(s) }

var (
	pyDef      = regexp.MustCompile(`^(?:async\s+)?def\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(`)
	pyFlowDeco = regexp.MustCompile(`^@\s*(?:prefect\s*\.\s*)?flow\s*(\(.*\))?\s*$`)
	pyNameArg  = regexp.MustCompile(`^\s*name\s*=\s*\x00(\d+)\x00\s*$`)
	pyValidArg = regexp.MustCompile(`^\s*validate_parameters\s*=\s*(.*?)\s*$`)
)

// scanFlows finds the top-level functions of a Python source and which of them carry a
// flow decorator (@flow, @flow(...), @prefect.flow, @prefect.flow(...)), without running
// Python. A function defined twice keeps its last definition, as Python would.
func scanFlows(src string) map[string]Func {
	return scanFlowLines(logicalLines(src))
}

func scanFlowLines(lines []logicalLine) map[string]Func {
	funcs := map[string]Func{}
	var decos []logicalLine
	for _, ll := range lines {
		if ll.indent > 0 {
			continue
		}
		switch {
		case strings.HasPrefix(ll.code, "@"):
			decos = append(decos, ll)
		case pyDef.MatchString(ll.code):
			m := pyDef.FindStringSubmatchIndex(ll.code)
			name := ll.code[m[2]:m[3]]
			f := Func{Line: ll.line}
			if sig, ok := parseSignature(ll.code[m[1]-1:]); ok {
				f.Sig = sig
			}
			for _, d := range decos {
				m := pyFlowDeco.FindStringSubmatch(d.code)
				if m == nil {
					switch {
					case pyTaskDeco.MatchString(d.code):
						f.IsTask = true
					case f.OtherDeco == "":
						f.OtherDeco = shorten(d.code)
					}
					continue
				}
				f.IsFlow = true
				if args := m[1]; args != "" {
					for _, arg := range topLevelArgs(args) {
						if v := pyValidArg.FindStringSubmatch(arg); v != nil && v[1] != "True" {
							f.NoValidation = true
						}
						if nm := pyNameArg.FindStringSubmatch(arg); nm != nil {
							if i := atoiSafe(nm[1]); i < len(d.strs) && d.strs[i] != "\x00" {
								f.FlowName = d.strs[i]
							}
						}
					}
				}
			}
			funcs[name] = f
			decos = nil
		default:
			decos = nil
		}
	}
	b, star := scanBindings(lines)
	for _, f := range funcs {
		if f.Sig == nil || star {
			continue
		}
		for i := range f.Sig.Params {
			f.Sig.Params[i].ann = b.classify(f.Sig.Params[i].Annotation)
		}
	}
	return funcs
}

// topLevelArgs splits "(a, b=(1, 2), c)" into its top-level arguments.
func topLevelArgs(call string) []string {
	call = strings.TrimSuffix(strings.TrimPrefix(call, "("), ")")
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(call); i++ {
		switch call[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, call[start:i])
				start = i + 1
			}
		}
	}
	return append(out, call[start:])
}

func atoiSafe(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
		if n > 1<<20 {
			return 1 << 20
		}
	}
	return n
}

// logicalLines splits Python source into logical lines: physical lines joined while a
// bracket is open, a backslash continues the line, or a triple-quoted string runs on.
// Comments are dropped. Each string literal becomes \x00N\x00 in code; only literals
// without an f prefix and without implicit concatenation are decoded into strs, others
// are recorded as "\x00" so they never match a plain name.
func logicalLines(src string) []logicalLine {
	var out []logicalLine
	var code strings.Builder
	var strs []string
	depth := 0
	indent := 0
	atLineStart := true
	i := 0
	// startLine is counted lazily from the last counted offset, so long files stay linear.
	startLine, counted, countedLine := 1, 0, 1
	flush := func() {
		c := strings.TrimSpace(code.String())
		if c != "" {
			out = append(out, logicalLine{indent: indent, line: startLine, code: c, strs: strs})
		}
		code.Reset()
		strs = nil
		atLineStart = true
	}
	for i < len(src) {
		if atLineStart {
			j := i
			col := 0
			for j < len(src) && (src[j] == ' ' || src[j] == '\t' || src[j] == '\f') {
				col++
				j++
			}
			if j < len(src) && (src[j] == '\n' || src[j] == '\r' || src[j] == '#') {
				// blank or comment-only line: it does not set the indentation
				for j < len(src) && src[j] != '\n' {
					j++
				}
				i = j + 1
				continue
			}
			indent = col
			i = j
			countedLine += strings.Count(src[counted:i], "\n")
			counted = i
			startLine = countedLine
			atLineStart = false
			continue
		}
		c := src[i]
		switch {
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '\\' && i+1 < len(src) && src[i+1] == '\n':
			i += 2
		case c == '\\' && i+2 < len(src) && src[i+1] == '\r' && src[i+2] == '\n':
			i += 3
		case c == '\n':
			i++
			if depth == 0 {
				flush()
			} else {
				code.WriteByte(' ')
			}
		case c == '(' || c == '[' || c == '{':
			depth++
			code.WriteByte(c)
			i++
		case c == ')' || c == ']' || c == '}':
			if depth > 0 {
				depth--
			}
			code.WriteByte(c)
			i++
		case c == '"' || c == '\'':
			prefix := stringPrefix(code.String())
			val, n := pyString(src[i:], strings.ContainsAny(prefix, "rR"))
			if strings.ContainsAny(prefix, "fFbB") {
				val = "\x00"
			}
			i += n
			s := code.String()
			trimmed := strings.TrimRight(s[:len(s)-len(prefix)], " \t")
			code.Reset()
			code.WriteString(s[:len(s)-len(prefix)])
			if strings.HasSuffix(trimmed, "\x00") {
				// implicit concatenation ("a" "b"): not a plain literal any more
				if len(strs) > 0 {
					strs[len(strs)-1] = "\x00"
				}
				continue
			}
			code.WriteString("\x00" + itoa(len(strs)) + "\x00")
			strs = append(strs, val)
		default:
			code.WriteByte(c)
			i++
		}
	}
	flush()
	return out
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// stringPrefix returns the string prefix letters (r, b, f, u in any case) right before
// a quote, if they form a prefix and not the end of an identifier.
func stringPrefix(code string) string {
	j := len(code)
	for j > 0 && j > len(code)-2 && strings.ContainsRune("rRbBfFuU", rune(code[j-1])) {
		j--
	}
	if j > 0 {
		p := code[j-1]
		if p == '_' || (p >= '0' && p <= '9') || (p >= 'a' && p <= 'z') || (p >= 'A' && p <= 'Z') {
			return ""
		}
	}
	return code[j:]
}

// pyString reads a string literal at the start of s and returns its value and length.
func pyString(s string, raw bool) (string, int) {
	q := s[0]
	triple := len(s) >= 3 && s[1] == q && s[2] == q
	start := 1
	if triple {
		start = 3
	}
	var b strings.Builder
	i := start
	for i < len(s) {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			if raw {
				b.WriteByte(c)
				b.WriteByte(s[i+1])
			} else {
				b.WriteString(pyEscape(s[i+1]))
			}
			i += 2
			continue
		}
		if !triple && c == '\n' {
			return b.String(), i // unterminated: stop at the end of the line
		}
		if c == q && (!triple || (i+2 < len(s) && s[i+1] == q && s[i+2] == q)) {
			if triple {
				return b.String(), i + 3
			}
			return b.String(), i + 1
		}
		b.WriteByte(c)
		i++
	}
	return b.String(), len(s)
}

func pyEscape(c byte) string {
	switch c {
	case 'n':
		return "\n"
	case 't':
		return "\t"
	case '\\', '\'', '"':
		return string(c)
	case '\n':
		return ""
	}
	return "\\" + string(c)
}
