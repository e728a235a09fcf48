package pyflow

import (
	"strings"
)

// ParamKind is how a Python parameter can be passed.
type ParamKind int

const (
	ParamPositionalOnly ParamKind = iota // before a `/`
	ParamNormal                          // positional or keyword
	ParamKeywordOnly                     // after `*` or `*args`
	ParamVarArgs                         // *args
	ParamVarKw                           // **kwargs
)

// Param is one parameter of a flow function's signature.
type Param struct {
	Name string
	Kind ParamKind
	// HasDefault is true when the parameter is written with `= value`.
	HasDefault bool
	// DefaultText is the default's code, with string literals as \x00N\x00 placeholders.
	DefaultText string
	// Annotation is the annotation's code ("" when there is none), with string literals
	// as \x00N\x00 placeholders.
	Annotation string
	// ann is the annotation resolved against the file's imports, when it is simple.
	ann annType
}

// Signature is a flow function's parameter list in source order.
type Signature struct {
	Params []Param
}

// Names lists the parameters as a reader writes them: *args and **kwargs with stars.
func (s *Signature) Names() []string {
	out := make([]string, 0, len(s.Params))
	for _, p := range s.Params {
		switch p.Kind {
		case ParamVarArgs:
			out = append(out, "*"+p.Name)
		case ParamVarKw:
			out = append(out, "**"+p.Name)
		default:
			out = append(out, p.Name)
		}
	}
	return out
}

// Param is the parameter called name, if any.
func (s *Signature) Param(name string) (Param, bool) {
	for _, p := range s.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// VarKw is the **kwargs parameter, if any.
func (s *Signature) VarKw() (Param, bool) {
	for _, p := range s.Params {
		if p.Kind == ParamVarKw {
			return p, true
		}
	}
	return Param{}, false
}

// Required lists the parameters a call must give: no default and not variadic.
func (s *Signature) Required() []string {
	var out []string
	for _, p := range s.Params {
		if !p.HasDefault && p.Kind != ParamVarArgs && p.Kind != ParamVarKw {
			out = append(out, p.Name)
		}
	}
	return out
}

// parseSignature reads the parameter list of a `def` from code that starts at its
// opening parenthesis (a logical line: comments gone, string literals replaced by
// placeholders, so brackets and commas inside strings cannot confuse it). Anything it
// cannot read with certainty, such as a lambda default whose commas would split it
// wrongly, makes it give up: false means "unknown", never "no parameters".
func parseSignature(code string) (*Signature, bool) {
	if !strings.HasPrefix(code, "(") {
		return nil, false
	}
	end := closingParen(code)
	if end < 0 {
		return nil, false
	}
	inner := code[1:end]
	if containsWord(inner, "lambda") {
		return nil, false
	}
	parts := splitTopLevel(inner, ',')
	// A trailing comma leaves one empty part at the end; an empty list leaves one too.
	if n := len(parts); n > 0 && strings.TrimSpace(parts[n-1]) == "" {
		parts = parts[:n-1]
	}
	sig := &Signature{}
	kind := ParamNormal
	seen := map[string]bool{}
	for _, part := range parts {
		part = strings.TrimSpace(part)
		switch {
		case part == "":
			return nil, false
		case part == "/":
			if kind != ParamNormal {
				return nil, false
			}
			for i := range sig.Params {
				sig.Params[i].Kind = ParamPositionalOnly
			}
			continue
		case part == "*":
			if kind != ParamNormal {
				return nil, false
			}
			kind = ParamKeywordOnly
			continue
		}
		if n := len(sig.Params); n > 0 && sig.Params[n-1].Kind == ParamVarKw {
			return nil, false // nothing may follow **kwargs
		}
		p := Param{Kind: kind}
		switch {
		case strings.HasPrefix(part, "**"):
			p.Kind = ParamVarKw
			part = strings.TrimSpace(part[2:])
		case strings.HasPrefix(part, "*"):
			if kind != ParamNormal {
				return nil, false
			}
			p.Kind = ParamVarArgs
			kind = ParamKeywordOnly
			part = strings.TrimSpace(part[1:])
		}
		if eq := topLevelIndex(part, '='); eq >= 0 {
			p.HasDefault = true
			p.DefaultText = strings.TrimSpace(part[eq+1:])
			part = strings.TrimSpace(part[:eq])
			if p.Kind == ParamVarArgs || p.Kind == ParamVarKw || p.DefaultText == "" {
				return nil, false
			}
		}
		if colon := topLevelIndex(part, ':'); colon >= 0 {
			p.Annotation = strings.TrimSpace(part[colon+1:])
			part = strings.TrimSpace(part[:colon])
			if p.Annotation == "" {
				return nil, false
			}
		}
		if !IsIdentifier(part) || seen[part] {
			return nil, false
		}
		seen[part] = true
		p.Name = part
		sig.Params = append(sig.Params, p)
	}
	return sig, true
}

// closingParen returns the index of the parenthesis that closes code[0], or -1.
func closingParen(code string) int {
	if i := closingBracket(code); i >= 0 && code[i] == ')' {
		return i
	}
	return -1
}

// splitTopLevel splits s at every sep that is outside brackets.
func splitTopLevel(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case sep:
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// topLevelIndex finds c outside brackets; for '=' it skips comparison operators
// (==, !=, <=, >=) so a default such as `a == b` is not split there.
func topLevelIndex(s string, c byte) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case c:
			if depth != 0 {
				continue
			}
			if c == '=' {
				if (i+1 < len(s) && s[i+1] == '=') || (i > 0 && strings.ContainsRune("=!<>", rune(s[i-1]))) {
					continue
				}
			}
			return i
		}
	}
	return -1
}

// containsWord reports whether word appears in s as a whole identifier.
func containsWord(s, word string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], word)
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || !isIdentByte(s[j-1])
		after := j+len(word) >= len(s) || !isIdentByte(s[j+len(word)])
		if before && after {
			return true
		}
		i = j + 1
	}
}

func isIdentByte(b byte) bool {
	return b == '_' || (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b >= 0x80
}
