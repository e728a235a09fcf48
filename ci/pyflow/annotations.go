package pyflow

import (
	"regexp"
	"strings"
)

// annKind is a parameter annotation simple enough to say for certain which values
// pydantic 1.x (the one Prefect 2.14 runs on) refuses for it.
type annKind int

const (
	annUnknown annKind = iota // anything else: never checked
	annInt
	annFloat
	annBool
	annStr
	annDate
	annDateTime
	annList
)

// annType is a resolved annotation: Optional[X] and X | None are X with optional set.
type annType struct {
	kind     annKind
	optional bool
}

// binding says what a module-level name refers to: a module ("datetime"), a name
// imported from a module ("datetime.date"), or "" when it is bound some other way
// (assigned, defined, imported twice differently): then it is not trusted.
type bindings map[string]string

var (
	pyImport     = regexp.MustCompile(`^import\s+(.+)$`)
	pyFromImport = regexp.MustCompile(`^from\s+([A-Za-z_][\w.]*)\s+import\s+(.+)$`)
	pyAsName     = regexp.MustCompile(`\bas\s+([A-Za-z_]\w*)`)
	pyForTarget  = regexp.MustCompile(`\bfor\s+(.+?)\s+in\b`)
	pyDefOrClass = regexp.MustCompile(`^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)`)
	pyIdentAny   = regexp.MustCompile(`[A-Za-z_]\w*`)
)

// scanBindings finds what the names an annotation may use refer to. Only top-level
// `import` and `from ... import` statements are trusted; a name bound anywhere else in
// the file, at any indentation (an assignment, a def or class, a for target, an
// `as` name, an import inside a block), is distrusted, and so is every name after a
// star import. This errs towards "unknown", which only switches a check off.
func scanBindings(lines []logicalLine) (b bindings, star bool) {
	b = bindings{}
	bind := func(name, target string) {
		if old, ok := b[name]; ok && old != target {
			target = ""
		}
		b[name] = target
	}
	for _, ll := range lines {
		code := ll.code
		if ll.indent == 0 {
			if m := pyImport.FindStringSubmatch(code); m != nil {
				for _, item := range strings.Split(m[1], ",") {
					f := strings.Fields(item)
					switch {
					case len(f) == 1:
						mod := f[0]
						top, _, _ := strings.Cut(mod, ".")
						bind(top, top)
					case len(f) == 3 && f[1] == "as":
						bind(f[2], f[0])
					default:
						return b, true
					}
				}
				continue
			}
			if m := pyFromImport.FindStringSubmatch(code); m != nil {
				names := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(m[2]), "("), ")"))
				if names == "*" {
					star = true
					continue
				}
				for _, item := range strings.Split(names, ",") {
					f := strings.Fields(item)
					switch {
					case len(f) == 0:
					case len(f) == 1:
						bind(f[0], m[1]+"."+f[0])
					case len(f) == 3 && f[1] == "as":
						bind(f[2], m[1]+"."+f[0])
					default:
						star = true
					}
				}
				continue
			}
		}
		if strings.HasPrefix(code, "import ") || strings.HasPrefix(code, "from ") {
			for _, n := range pyIdentAny.FindAllString(code, -1) {
				bind(n, "")
			}
			continue
		}
		if m := pyDefOrClass.FindStringSubmatch(code); m != nil {
			bind(m[1], "")
			continue
		}
		for _, m := range pyAsName.FindAllStringSubmatch(code, -1) {
			bind(m[1], "")
		}
		for _, m := range pyForTarget.FindAllStringSubmatch(code, -1) {
			for _, n := range pyIdentAny.FindAllString(m[1], -1) {
				bind(n, "")
			}
		}
		if eq := topLevelIndex(code, '='); eq >= 0 {
			target := code[:eq]
			// `x: int = 0` binds x, not int.
			if colon := topLevelIndex(target, ':'); colon >= 0 {
				target = target[:colon]
			}
			for _, n := range pyIdentAny.FindAllString(target, -1) {
				bind(n, "")
			}
		}
	}
	return b, star
}

var pyBuiltinTypes = map[string]bool{"int": true, "str": true, "float": true, "bool": true, "list": true}

// resolve returns the qualified name a dotted annotation name refers to, such as
// "builtins.int", "typing.List" or "datetime.date"; "" when it is not certain.
func (b bindings) resolve(name string) string {
	head, rest, dotted := strings.Cut(name, ".")
	target, bound := b[head]
	switch {
	case !bound && !dotted && pyBuiltinTypes[head]:
		return "builtins." + head
	case !bound || target == "":
		return ""
	case !dotted:
		return target
	}
	// a.b is trusted only when a is a module bound by `import a` or `import x as a`.
	if !knownModules[target] {
		return ""
	}
	return target + "." + rest
}

var knownModules = map[string]bool{"typing": true, "datetime": true}

var annSimple = map[string]annKind{
	"builtins.int": annInt, "builtins.float": annFloat, "builtins.bool": annBool, "builtins.str": annStr,
	"builtins.list": annList, "typing.List": annList, "datetime.date": annDate, "datetime.datetime": annDateTime,
}

var pyDottedName = regexp.MustCompile(`^[A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)*$`)

// classify reads an annotation's code: int, str, float, bool, date, datetime,
// list / List / list[...] / List[...], and Optional[X] or X | None of those.
// Everything else, string (forward-reference) annotations included, is annUnknown.
func (b bindings) classify(ann string) annType {
	ann = strings.TrimSpace(ann)
	if ann == "" || strings.Contains(ann, "\x00") {
		return annType{}
	}
	if parts := splitTopLevel(ann, '|'); len(parts) == 2 {
		l, r := strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1])
		switch {
		case r == "None" && l != "None":
			return b.optional(l)
		case l == "None" && r != "None":
			return b.optional(r)
		}
		return annType{}
	} else if len(parts) > 2 {
		return annType{}
	}
	head, inner := ann, ""
	if i := strings.IndexByte(ann, '['); i >= 0 {
		if !strings.HasSuffix(ann, "]") || closingBracket(ann[i:]) != len(ann)-i-1 {
			return annType{}
		}
		head, inner = strings.TrimSpace(ann[:i]), ann[i+1:len(ann)-1]
	}
	if !pyDottedName.MatchString(head) {
		return annType{}
	}
	q := b.resolve(strings.Join(strings.Fields(head), ""))
	switch {
	case q == "typing.Optional" && inner != "":
		if len(splitTopLevel(inner, ',')) != 1 {
			return annType{}
		}
		return b.optional(inner)
	case inner != "":
		if annSimple[q] == annList {
			return annType{kind: annList}
		}
		return annType{}
	}
	return annType{kind: annSimple[q]}
}

func (b bindings) optional(inner string) annType {
	t := b.classify(inner)
	if t.kind == annUnknown {
		return annType{}
	}
	t.optional = true
	return t
}

// closingBracket returns the index of the bracket that closes s[0], or -1.
func closingBracket(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}
