package pyflow

import (
	"regexp"
	"strings"
)

// Prefect's loader (load_flow_from_entrypoint) runs the whole file and then takes the
// module attribute the entrypoint names. So any statement that binds that name at
// module level can make a flow: a def, an import (re-exports), an assignment
// (`wrapped = flow(_impl)`), a def inside a top-level if or try, a star import, a
// module __getattr__. The scanner decides only what it can read for certain (a @flow
// def, a plain def, a @task, a name that nothing binds); every other binding is left
// to the loader, which the pipeline runs in the image at the check step.

// bindKind is the kind of statement that binds a module-level name.
type bindKind int

const (
	bindDef    bindKind = iota // def / async def (details in pyModule.funcs when unconditional)
	bindClass                  // class
	bindImport                 // import / from ... import
	bindAssign                 // an assignment (=, annotated, chained, unpacking)
	bindOther                  // a for or with target, except ... as, :=, a global statement
)

// pyBinding is one statement that binds a module-level name.
type pyBinding struct {
	kind bindKind
	line int
	// conditional is set when the statement sits inside a top-level if, try, with,
	// for, while or match block: whether it runs is not known statically.
	conditional bool
	// undecorated is set for a def or class without decorators.
	undecorated bool
	// stmt is a short form of the statement, for messages.
	stmt string
	// module and name are what a `from module import name` took (module keeps its
	// leading dots); empty for other kinds.
	module, name string
	// flowName is the Prefect flow name of `x = flow(fn, name="...")` when it can be
	// read (the name= literal, else fn's name); "" when unknown.
	flowName string
}

// pyModule is what the scanner knows about a flow file's module-level names.
type pyModule struct {
	// funcs are the unconditional top-level defs (the last one of each name).
	funcs map[string]Func
	// binds lists every module-level binding of each name, in file order.
	binds map[string][]pyBinding
	// dynamicLine and dynamicWhat say where the file may bind names no statement
	// shows (a star import, a module __getattr__, globals(), exec, setattr).
	dynamicLine int
	dynamicWhat string
}

var (
	pyClass      = regexp.MustCompile(`^class\s+([A-Za-z_]\w*)`)
	pyHeaderKw   = regexp.MustCompile(`^(if|elif|else|try|except|finally|with|async\s+with|for|async\s+for|while|match|case)\b`)
	pyWalrus     = regexp.MustCompile(`([A-Za-z_]\w*)\s*:=`)
	pyGlobal     = regexp.MustCompile(`^(?:global|nonlocal)\s+(.+)$`)
	pyExceptAs   = regexp.MustCompile(`\bas\s+([A-Za-z_]\w*)\s*$`)
	pyFlowCall   = regexp.MustCompile(`^(?:prefect\s*\.\s*)?flow\s*\((.*)\)$`)
	pyFlowCurry  = regexp.MustCompile(`^(?:prefect\s*\.\s*)?flow\s*(\(.*\))\s*\(\s*([A-Za-z_]\w*)\s*\)$`)
	pyDynamic    = regexp.MustCompile(`\b(globals\s*\(\s*\)|vars\s*\(\s*\)|exec\s*\(|setattr\s*\(|sys\s*\.\s*modules)`)
	pyTaskDeco   = regexp.MustCompile(`^@\s*(?:prefect\s*\.\s*)?task\s*(\(.*\))?\s*$`)
	pyAugAssign  = regexp.MustCompile(`(?:[-+*/%&|^@]|<<|>>|\*\*|//)$`)
	pyKeywordsIn = map[string]bool{"lambda": true, "in": true, "not": true, "and": true, "or": true, "is": true, "None": true, "True": true, "False": true}
)

// scanModule reads a Python source's module-level bindings and its top-level defs.
func scanModule(src string) *pyModule {
	lines := logicalLines(src)
	m := &pyModule{funcs: scanFlowLines(lines), binds: map[string][]pyBinding{}}
	type block struct {
		indent int
		scope  bool // def or class: names bound inside are not module-level
	}
	var stack []block
	decorated := false
	for _, ll := range lines {
		for len(stack) > 0 && stack[len(stack)-1].indent >= ll.indent {
			stack = stack[:len(stack)-1]
		}
		inScope := false
		for _, b := range stack {
			inScope = inScope || b.scope
		}
		code := ll.code
		if m.dynamicLine == 0 {
			if d := pyDynamic.FindString(code); d != "" {
				m.dynamicLine, m.dynamicWhat = ll.line, strings.Join(strings.Fields(d), "")
			}
		}
		if inScope {
			// `global x` in a function binds the module's x when the function runs.
			if g := pyGlobal.FindStringSubmatch(code); g != nil {
				for _, n := range strings.Split(g[1], ",") {
					m.bind(strings.TrimSpace(n), pyBinding{kind: bindOther, line: ll.line, conditional: true, stmt: "global " + strings.TrimSpace(n)})
				}
			}
			continue
		}
		cond := len(stack) > 0
		switch {
		case strings.HasPrefix(code, "@"):
			decorated = true
			continue
		case pyDef.MatchString(code):
			name := pyDef.FindStringSubmatch(code)[1]
			m.bind(name, pyBinding{kind: bindDef, line: ll.line, conditional: cond, undecorated: !decorated, stmt: "def " + name})
			if name == "__getattr__" && m.dynamicLine == 0 {
				m.dynamicLine, m.dynamicWhat = ll.line, "a module __getattr__"
			}
			stack = append(stack, block{indent: ll.indent, scope: true})
		case pyClass.MatchString(code):
			name := pyClass.FindStringSubmatch(code)[1]
			m.bind(name, pyBinding{kind: bindClass, line: ll.line, conditional: cond, undecorated: !decorated, stmt: "class " + name})
			stack = append(stack, block{indent: ll.indent, scope: true})
		case pyHeaderKw.MatchString(code):
			kw := strings.Join(strings.Fields(pyHeaderKw.FindString(code)), " ")
			colon := headerColon(code)
			head, body := code, ""
			if colon >= 0 {
				head, body = code[:colon], strings.TrimSpace(code[colon+1:])
			}
			switch kw {
			case "for", "async for":
				if in := strings.Index(head, " in "); in >= 0 {
					for _, n := range targetNames(head[len(kw):in]) {
						m.bind(n, pyBinding{kind: bindOther, line: ll.line, conditional: true, stmt: strings.TrimSpace(head)})
					}
				}
			case "with", "async with":
				for _, item := range splitTopLevel(head[len(kw):], ',') {
					if _, target, ok := strings.Cut(item, " as "); ok {
						for _, n := range targetNames(target) {
							m.bind(n, pyBinding{kind: bindOther, line: ll.line, conditional: true, stmt: strings.TrimSpace(head)})
						}
					}
				}
			case "except":
				if as := pyExceptAs.FindStringSubmatch(head); as != nil {
					m.bind(as[1], pyBinding{kind: bindOther, line: ll.line, conditional: true, stmt: strings.TrimSpace(head)})
				}
			}
			m.walrus(head, ll.line)
			stack = append(stack, block{indent: ll.indent})
			if body != "" {
				m.simple(body, ll, true)
			}
		default:
			m.simple(code, ll, cond)
		}
		decorated = false
	}
	return m
}

func (m *pyModule) bind(name string, b pyBinding) {
	if !IsIdentifier(name) {
		return
	}
	m.binds[name] = append(m.binds[name], b)
}

func (m *pyModule) walrus(code string, line int) {
	for _, w := range pyWalrus.FindAllStringSubmatch(code, -1) {
		m.bind(w[1], pyBinding{kind: bindOther, line: line, conditional: true, stmt: w[1] + " := ..."})
	}
}

// simple reads the simple statements of one logical line (split at top-level ';').
func (m *pyModule) simple(code string, ll logicalLine, cond bool) {
	for _, st := range splitTopLevel(code, ';') {
		st = strings.TrimSpace(st)
		if st == "" {
			continue
		}
		m.walrus(st, ll.line)
		if im := pyImport.FindStringSubmatch(st); im != nil {
			for _, item := range splitTopLevel(im[1], ',') {
				f := strings.Fields(item)
				switch {
				case len(f) == 1:
					top, _, _ := strings.Cut(f[0], ".")
					m.bind(top, pyBinding{kind: bindImport, line: ll.line, conditional: cond, stmt: "import " + f[0]})
				case len(f) == 3 && f[1] == "as":
					m.bind(f[2], pyBinding{kind: bindImport, line: ll.line, conditional: cond, stmt: "import " + f[0] + " as " + f[2]})
				}
			}
			continue
		}
		if im := pyFromImportRel.FindStringSubmatch(st); im != nil {
			mod := strings.Join(strings.Fields(im[1]), "")
			names := strings.TrimSpace(im[2])
			names = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(names, "("), ")"))
			if names == "*" {
				if m.dynamicLine == 0 {
					m.dynamicLine, m.dynamicWhat = ll.line, "from "+mod+" import *"
				}
				continue
			}
			for _, item := range splitTopLevel(names, ',') {
				f := strings.Fields(item)
				var orig, as string
				switch {
				case len(f) == 1:
					orig, as = f[0], f[0]
				case len(f) == 3 && f[1] == "as":
					orig, as = f[0], f[2]
				default:
					continue
				}
				stmt := "from " + mod + " import " + orig
				if as != orig {
					stmt += " as " + as
				}
				m.bind(as, pyBinding{kind: bindImport, line: ll.line, conditional: cond, stmt: stmt, module: mod, name: orig})
			}
			continue
		}
		if g := pyGlobal.FindStringSubmatch(st); g != nil {
			continue // at module level a global statement binds nothing
		}
		m.assignment(st, ll, cond)
	}
}

var pyFromImportRel = regexp.MustCompile(`^from\s+(\.*\s*(?:[A-Za-z_][\w]*(?:\s*\.\s*[A-Za-z_]\w*)*)?)\s+import\s+(.+)$`)

// assignment binds the targets of `a = b = value`, `a, *b = ...`, `x: T = value`.
func (m *pyModule) assignment(st string, ll logicalLine, cond bool) {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(st); i++ {
		switch c := st[i]; c {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case '=':
			if depth != 0 || (i+1 < len(st) && st[i+1] == '=') || (i > 0 && strings.ContainsRune("=!<>:", rune(st[i-1]))) {
				if i > 1 && (st[i-2:i] == "<<" || st[i-2:i] == ">>") {
					break // <<= and >>= are augmented assignments, not comparisons
				}
				continue
			}
			parts = append(parts, st[start:i])
			start = i + 1
		}
	}
	if len(parts) == 0 {
		return
	}
	value := strings.TrimSpace(st[start:])
	for _, target := range parts {
		if pyAugAssign.MatchString(strings.TrimRight(target, " ")) {
			return // x += 1 rebinds a name that is already bound
		}
		if containsWord(target, "lambda") {
			break // `f = lambda x=1: x`: the rest are lambda defaults
		}
		if colon := topLevelIndex(target, ':'); colon >= 0 {
			target = target[:colon] // x: T = value binds x
		}
		names := targetNames(target)
		for _, n := range names {
			b := pyBinding{kind: bindAssign, line: ll.line, conditional: cond, stmt: n + " = " + shorten(value)}
			if len(parts) == 1 && len(names) == 1 {
				b.flowName = m.flowCallName(value, ll.strs)
			}
			m.bind(n, b)
		}
	}
}

// targetNames lists the names an assignment target binds: a, (a, b), [a, *b];
// attribute and subscript targets (a.b, a[0]) bind no name.
func targetNames(target string) []string {
	var out []string
	for _, part := range splitTopLevel(target, ',') {
		p := strings.TrimSpace(part)
		p = strings.TrimPrefix(p, "*")
		p = strings.TrimSpace(p)
		if strings.HasPrefix(p, "(") && strings.HasSuffix(p, ")") || strings.HasPrefix(p, "[") && strings.HasSuffix(p, "]") {
			if closingBracket(p) == len(p)-1 {
				out = append(out, targetNames(p[1:len(p)-1])...)
				continue
			}
		}
		if IsIdentifier(p) && !pyKeywordsIn[p] {
			out = append(out, p)
		}
	}
	return out
}

// flowCallName reads the flow name of `flow(fn, name="x", ...)` or `flow(name="x")(fn)`:
// the name= literal, else the function's name as Prefect derives it ("_" -> "-") when
// fn is a top-level def of this file. "" when it is not that kind of call or unknown.
func (m *pyModule) flowCallName(value string, strs []string) string {
	var args []string
	fn := ""
	if c := pyFlowCurry.FindStringSubmatch(value); c != nil {
		args, fn = topLevelArgs(c[1]), c[2]
	} else if c := pyFlowCall.FindStringSubmatch(value); c != nil && closingBracket(value[strings.IndexByte(value, '('):]) == len(value)-strings.IndexByte(value, '(')-1 {
		args = topLevelArgs("(" + c[1] + ")")
		if len(args) > 0 && IsIdentifier(strings.TrimSpace(args[0])) {
			fn = strings.TrimSpace(args[0])
		}
	} else {
		return ""
	}
	for _, a := range args {
		if nm := pyNameArg.FindStringSubmatch(a); nm != nil {
			if i := atoiSafe(nm[1]); i < len(strs) && strs[i] != "\x00" {
				return strs[i]
			}
			return ""
		}
		if strings.HasPrefix(strings.TrimSpace(a), "name") && strings.Contains(a, "=") {
			return "" // name= something that is not a plain literal
		}
	}
	if f, ok := m.funcs[fn]; ok && fn != "" && f.Line > 0 {
		return strings.ReplaceAll(fn, "_", "-")
	}
	return ""
}

// headerColon finds the colon that ends a compound statement's header, outside
// brackets and not part of :=.
func headerColon(code string) int {
	depth := 0
	for i := 0; i < len(code); i++ {
		switch code[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case ':':
			if depth == 0 && !(i+1 < len(code) && code[i+1] == '=') {
				return i
			}
		}
	}
	return -1
}

var pyStrPlaceholder = regexp.MustCompile("\x00[0-9]+\x00")

// shorten is a statement's value for a message: calls as f(...), strings as "...".
func shorten(s string) string {
	s = pyStrPlaceholder.ReplaceAllString(strings.Join(strings.Fields(s), " "), `"..."`)
	if i := strings.IndexByte(s, '('); i >= 0 && closingBracket(s[i:]) > 0 {
		return s[:i] + "(...)" + shorten(s[i+closingBracket(s[i:])+1:])
	}
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}
