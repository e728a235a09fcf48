package pipeline

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/config"
)

// What the Dagger module (ci/dagger/main.go) must get right that no compiler checks,
// read the way the v0.19.7 Go SDK's code generator reads it. Verified against the
// v0.19.7 sources (github.com/dagger/dagger at tag v0.19.7):
//   - cmd/codegen/generator/go/templates/module_funcs.go (parseGoFunc, TypeDefFunc): the
//     doc comment of a function is parsed for pragmas; `+cache="never"` sets
//     FunctionCachePolicyNever, "session" PerSession, "" leaves the default, anything
//     else is a TTL. The pragma text is removed from the description.
//   - cmd/codegen/generator/go/templates/modules.go (parsePragmaComment): a pragma is a
//     '+' followed by a key, then '=' and a JSON value (or the rest of the line); the
//     match is not anchored at the start of a line, so a '+' in prose can be taken for one.
//   - core/typedef.go (derivedCachePolicy, a function's cache spec): no policy means
//     Default, cached with TTL MaxFunctionCacheTTLSeconds = 7 days (core/modfunc.go),
//     unless dagger.json sets disableDefaultFunctionCaching; core/schema/modulesource.go
//     turns default caching on for a module whose engineVersion supports it (ours:
//     v0.19.7, and dagger.json sets no opt-out).
//   - cmd/dagger/module_inspect.go (shortDescription, modFunction.Short): `dagger
//     functions` and `dagger call --help` show only the description's first line.
//   - cmd/codegen/generator/go/templates/module_objects.go: `+private` keeps a field out
//     of the API while it is still carried from call to call.
//   - docs/current_docs/extending/modules/function-caching.mdx: the cache key is the
//     module's source, the arguments and the parent object's values (so the with-
//     configuration is part of it); "never" opts out of persistent and per-session caching.

// moduleFile is where the module lives, relative to this package.
var moduleFile = filepath.Join(shimDir, "main.go")

// effectfulCalls are the pipeline entry points that reach outside their inputs: Run
// publishes, registers and deploys; PlanLive reads the Prefect API; Build pushes when a
// registry is set. A module function that reaches one of them must never be cached.
var effectfulCalls = []string{"Run", "PlanLive", "Build"}

// notModuleSettings are README configuration rows that are not the module's to route,
// and why. Each must still be in the README (a stale entry fails).
var notModuleSettings = map[string]string{
	"DAGGER_PROGRESS":       "the Dagger CLI reads it itself: `dagger call --progress plain` or DAGGER_PROGRESS=plain",
	"GITHUB_ACTIONS":        "log groups for mage under GitHub Actions; in the module Dagger's own UI frames the function's log",
	"PREFECT_API_URL_<ENV>": "mage planPR only: every environment a pull request touches; the module plans one environment, with-prefect",
	"PREFECT_API_KEY_<ENV>": "mage planPR only, as PREFECT_API_URL_<ENV>",
}

// notModuleFields are config.Config fields the module does not fill, and why.
var notModuleFields = map[string]string{
	"StepSummaryPath": "deploy --format markdown returns the report; the CI appends it to its own page",
	"LogGroups":       "Dagger's own UI frames the function's log",
	"DaggerProgress":  "the Dagger CLI reads it itself",
}

// configFieldNames are the fields of config.Config and config.ECS.
func configFieldNames() []string {
	var names []string
	for _, t := range []reflect.Type{reflect.TypeFor[config.Config](), reflect.TypeFor[config.ECS]()} {
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && f.Type != reflect.TypeFor[config.ECS]() {
				names = append(names, f.Name)
			}
		}
	}
	return names
}

type moduleFunc struct {
	name    string
	method  bool // on *PrefectFlows (else New or a helper)
	pos     token.Position
	doc     string // the doc comment as Go gives it
	desc    string // without pragma lines: what Dagger shows
	pragmas map[string]string
	params  []moduleParam
	results []string
	calls   []string // pipeline.X, also through the file's own helpers
	// clearsRegistry: the body sets X.Registry = "" (builds without pushing).
	clearsRegistry bool
}

type moduleParam struct {
	name, typ, desc string
	pragmas         map[string]string
	pos             token.Position
}

type moduleField struct {
	name    string
	pragmas map[string]string
	pos     token.Position
}

type moduleDoc struct {
	typeDoc  string
	typePos  token.Position
	fields   []moduleField
	funcs    []*moduleFunc // exported: New and the methods of *PrefectFlows
	problems []string      // found while parsing
	// configFields are the config.Config and config.ECS fields the module fills: keys
	// of their composite literals and fields selected on anything but the module's
	// receiver m (o.Only = ...).
	configFields map[string]bool
}

// splitPragmas separates the lines that start with '+' (key=value) from the prose. A
// '+' inside prose is reported: Dagger's parser would read it as a pragma.
func splitPragmas(comment string) (desc string, pragmas map[string]string, stray []string) {
	pragmas = map[string]string{}
	var prose []string
	for _, line := range strings.Split(comment, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "+") {
			k, v, _ := strings.Cut(trimmed[1:], "=")
			pragmas[strings.TrimSpace(k)] = strings.TrimSpace(v)
			continue
		}
		if strings.Contains(trimmed, "+") {
			stray = append(stray, trimmed)
		}
		prose = append(prose, line)
	}
	return strings.TrimSpace(strings.Join(prose, "\n")), pragmas, stray
}

func parseModule(name string, src []byte) (*moduleDoc, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	m := &moduleDoc{}
	// Comments by the line they end on: parameters and fields have theirs just above.
	endLine := map[int]*ast.CommentGroup{}
	for _, cg := range f.Comments {
		endLine[fset.Position(cg.End()).Line] = cg
	}
	above := func(n ast.Node) string {
		if cg := endLine[fset.Position(n.Pos()).Line-1]; cg != nil {
			return cg.Text()
		}
		return ""
	}
	noted := func(pos token.Position, comment string) (string, map[string]string) {
		desc, pragmas, stray := splitPragmas(comment)
		for _, s := range stray {
			m.problems = append(m.problems, fmt.Sprintf("%s: %q: a '+' in a doc comment is read by Dagger as a pragma; reword it", pos, s))
		}
		return desc, pragmas
	}

	// pipeline.X calls and calls of the file's own functions, per function.
	direct := map[string][]string{}
	local := map[string][]string{}
	declared := map[string]bool{}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok {
			declared[fd.Name.Name] = true
		}
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.GenDecl:
			for _, s := range d.Specs {
				ts, ok := s.(*ast.TypeSpec)
				if !ok || ts.Name.Name != "PrefectFlows" {
					continue
				}
				m.typePos = fset.Position(ts.Pos())
				if d.Doc != nil {
					m.typeDoc, _ = noted(m.typePos, d.Doc.Text())
				}
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				for _, fl := range st.Fields.List {
					var comment string
					if fl.Doc != nil {
						comment = fl.Doc.Text()
					}
					for _, n := range fl.Names {
						pos := fset.Position(n.Pos())
						_, pragmas := noted(pos, comment)
						m.fields = append(m.fields, moduleField{name: n.Name, pragmas: pragmas, pos: pos})
					}
				}
			}
		case *ast.FuncDecl:
			ast.Inspect(d.Body, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.CallExpr:
					switch fn := x.Fun.(type) {
					case *ast.SelectorExpr:
						if id, ok := fn.X.(*ast.Ident); ok && id.Name == "pipeline" {
							direct[d.Name.Name] = append(direct[d.Name.Name], fn.Sel.Name)
						} else if declared[fn.Sel.Name] {
							local[d.Name.Name] = append(local[d.Name.Name], fn.Sel.Name)
						}
					case *ast.Ident:
						if declared[fn.Name] {
							local[d.Name.Name] = append(local[d.Name.Name], fn.Name)
						}
					}
				}
				return true
			})
			recv := ""
			if d.Recv != nil {
				recv = exprType(d.Recv.List[0].Type)
			}
			if !d.Name.IsExported() || (recv != "*PrefectFlows" && !(recv == "" && d.Name.Name == "New")) {
				continue
			}
			mf := &moduleFunc{name: d.Name.Name, method: recv != "", pos: fset.Position(d.Pos())}
			if d.Doc != nil {
				mf.doc = d.Doc.Text()
			}
			mf.desc, mf.pragmas = noted(mf.pos, mf.doc)
			for _, p := range d.Type.Params.List {
				for _, n := range p.Names {
					mp := moduleParam{name: n.Name, typ: exprType(p.Type), pos: fset.Position(n.Pos())}
					mp.desc, mp.pragmas = noted(mp.pos, above(p))
					mf.params = append(mf.params, mp)
				}
			}
			if d.Type.Results != nil {
				for _, r := range d.Type.Results.List {
					mf.results = append(mf.results, exprType(r.Type))
				}
			}
			ast.Inspect(d.Body, func(n ast.Node) bool {
				if as, ok := n.(*ast.AssignStmt); ok && len(as.Lhs) == 1 && len(as.Rhs) == 1 {
					if sel, ok := as.Lhs[0].(*ast.SelectorExpr); ok && sel.Sel.Name == "Registry" {
						if lit, ok := as.Rhs[0].(*ast.BasicLit); ok && lit.Value == `""` {
							mf.clearsRegistry = true
						}
					}
				}
				return true
			})
			m.funcs = append(m.funcs, mf)
		}
	}
	m.configFields = map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.CompositeLit:
			if t := exprType(x.Type); t == "config.Config" || t == "config.ECS" {
				for _, e := range x.Elts {
					if kv, ok := e.(*ast.KeyValueExpr); ok {
						if id, ok := kv.Key.(*ast.Ident); ok {
							m.configFields[id.Name] = true
						}
					}
				}
			}
		case *ast.SelectorExpr:
			// m.X is the module's own field, not the configuration.
			if id, ok := x.X.(*ast.Ident); ok && id.Name != "m" {
				m.configFields[x.Sel.Name] = true
			}
		}
		return true
	})
	// Calls through the file's own helpers count as the caller's.
	for _, mf := range m.funcs {
		seen := map[string]bool{}
		var walk func(string)
		walk = func(fn string) {
			if seen[fn] {
				return
			}
			seen[fn] = true
			mf.calls = append(mf.calls, direct[fn]...)
			for _, c := range local[fn] {
				walk(c)
			}
		}
		walk(mf.name)
	}
	return m, nil
}

func exprType(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.StarExpr:
		return "*" + exprType(x.X)
	case *ast.SelectorExpr:
		return exprType(x.X) + "." + x.Sel.Name
	case *ast.ArrayType:
		return "[]" + exprType(x.Elt)
	}
	return "?"
}

func (f *moduleFunc) effectful() (string, bool) {
	for _, c := range f.calls {
		if !slices.Contains(effectfulCalls, c) {
			continue
		}
		if c == "Build" && f.clearsRegistry {
			continue // builds without pushing
		}
		return "pipeline." + c, true
	}
	return "", false
}

// firstLineProblem says what is wrong with the line `dagger functions` shows, or "".
func firstLineProblem(goName, desc string) string {
	if desc == "" {
		return "no doc comment (it is the CLI's help)"
	}
	para, _, _ := strings.Cut(desc, "\n\n")
	first, rest, _ := strings.Cut(para, "\n")
	switch {
	case rest != "":
		return fmt.Sprintf("the first paragraph runs over %d lines; `dagger functions` shows only %q: make the first line one complete sentence and start a new paragraph", strings.Count(para, "\n")+1, first)
	case !strings.HasPrefix(first, goName+" "):
		return fmt.Sprintf("first line %q does not start with %s", first, goName)
	case !strings.HasSuffix(first, "."), strings.HasSuffix(first, "e.g."), strings.HasSuffix(first, "i.e."):
		return fmt.Sprintf("first line %q is not a complete sentence ending with a full stop", first)
	}
	return ""
}

// readmeRows are the names in the first column of the README's configuration table and
// whether the row says they are secret.
func readmeRows(readme string) (map[string]bool, error) {
	_, sec, ok := strings.Cut(readme, "\n## Configuration\n")
	if !ok {
		return nil, fmt.Errorf("README.md has no ## Configuration section")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	rows := map[string]bool{}
	name := regexp.MustCompile("`([A-Z][A-Z0-9_]*(?:<ENV>)?)`")
	for _, line := range strings.Split(sec, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), "|")
		secret := strings.TrimSpace(cells[len(cells)-1]) == "yes"
		for _, m := range name.FindAllStringSubmatch(cells[0], -1) {
			rows[m[1]] = secret
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("README.md's configuration table has no rows")
	}
	return rows, nil
}

// terminal are the functions that end a chain, what they return and the pipeline entry
// point each one wraps.
var terminal = map[string]struct {
	results []string
	calls   string
}{
	"Deploy":   {[]string{"string", "error"}, "Run"},
	"Publish":  {[]string{"string", "error"}, "Build"},
	"Plan":     {[]string{"string", "error"}, "PlanLive"},
	"PlanLive": {[]string{"string", "error"}, "PlanLive"}, // deprecated alias of Plan
	"Image":    {[]string{"*dagger.Container", "error"}, "Build"},
	"Script":   {[]string{"string", "error"}, "ScriptAll"},
}

var secretArg = regexp.MustCompile(`(?i)(url|key|password|keyid|secretaccesskey)$`)

// checkModule lists every rule the module breaks, each with file:line:col.
func checkModule(m *moduleDoc, readme string) []string {
	probs := slices.Clone(m.problems)
	add := func(pos token.Position, format string, args ...any) {
		probs = append(probs, pos.String()+": "+fmt.Sprintf(format, args...))
	}
	if m.typePos.Line == 0 {
		return append(probs, "no type PrefectFlows")
	}
	if p := firstLineProblem("PrefectFlows", m.typeDoc); p != "" {
		add(m.typePos, "PrefectFlows: %s", p)
	}
	for _, f := range m.fields {
		if _, ok := f.pragmas["private"]; !ok {
			add(f.pos, "field %s: no +private (configuration is carried between calls, not part of the API)", f.name)
		}
	}
	byName := map[string]*moduleFunc{}
	ignores := 0
	for _, f := range m.funcs {
		byName[f.name] = f
		if p := firstLineProblem(f.name, f.desc); p != "" {
			add(f.pos, "%s: %s", f.name, p)
		}
		// The engine caches by default for 7 days: whatever pushes or talks to Prefect
		// must opt out, and whatever is pure should not.
		never := f.pragmas["cache"] == `"never"`
		if why, ok := f.effectful(); ok && !never {
			add(f.pos, "%s reaches %s (pushes or talks to Prefect) but has no +cache=\"never\": a second identical call would be answered from Dagger's function cache and do nothing", f.name, why)
		} else if !ok && never {
			add(f.pos, "%s is marked +cache=\"never\" but reaches nothing outside its inputs; let Dagger cache it", f.name)
		}
		if v, ok := f.pragmas["cache"]; ok && v != `"never"` && v != `"session"` {
			add(f.pos, "%s: +cache=%s: this module only uses \"never\"", f.name, v)
		}
		if strings.HasPrefix(f.name, "With") && (len(f.results) == 0 || f.results[0] != "*PrefectFlows") {
			add(f.pos, "%s returns %v, want *PrefectFlows so calls chain", f.name, f.results)
		}
		for _, p := range f.params {
			if p.typ == "context.Context" {
				continue
			}
			if p.desc == "" {
				add(p.pos, "%s(%s): no doc comment (it is the CLI's help)", f.name, p.name)
			}
			if secretArg.MatchString(p.name) && p.typ != "*dagger.Secret" {
				add(p.pos, "%s(%s): a secret must be *dagger.Secret, not %s", f.name, p.name, p.typ)
			}
			if _, ok := p.pragmas["ignore"]; ok {
				ignores++
			}
		}
	}
	if n := byName["New"]; n == nil {
		probs = append(probs, "no constructor New")
	} else {
		var src *moduleParam
		for i := range n.params {
			if n.params[i].name == "source" {
				src = &n.params[i]
			}
		}
		if src == nil || src.typ != "*dagger.Directory" {
			add(n.pos, "New has no source *dagger.Directory")
		} else {
			var ignore []string
			if src.pragmas["defaultPath"] != `"/"` {
				add(src.pos, `New(source): no +defaultPath="/"`)
			}
			if json.Unmarshal([]byte(src.pragmas["ignore"]), &ignore) != nil || !slices.Equal(ignore, SourceExcludes) {
				add(src.pos, "New(source): +ignore %v, want pipeline.SourceExcludes %q", ignore, SourceExcludes)
			}
		}
		if len(n.results) != 1 || n.results[0] != "*PrefectFlows" {
			add(n.pos, "New returns %v, want *PrefectFlows", n.results)
		}
	}
	if ignores != 1 {
		probs = append(probs, fmt.Sprintf("+ignore appears on %d parameters, want 1 (New's source; functions use the source the constructor holds)", ignores))
	}
	for name, w := range terminal {
		f := byName[name]
		if f == nil {
			probs = append(probs, "no function "+name)
			continue
		}
		if !slices.Equal(f.results, w.results) {
			add(f.pos, "%s returns %v, want %v", name, f.results, w.results)
		}
		if !slices.Contains(f.calls, w.calls) {
			add(f.pos, "%s does not call pipeline.%s (calls %v)", name, w.calls, f.calls)
		}
	}

	// Every field of the one configuration type is filled by the module, or is listed
	// with the reason it is not the module's.
	for _, name := range configFieldNames() {
		if _, ok := notModuleFields[name]; !ok && !m.configFields[name] {
			probs = append(probs, fmt.Sprintf("config.Config field %s is not filled by the module: route it from an argument (or list it in notModuleFields with the reason)", name))
		}
	}

	// Every setting of the README's table has a module route: a parameter whose doc
	// names the variable, of the same secrecy.
	rows, err := readmeRows(readme)
	if err != nil {
		return append(probs, err.Error())
	}
	for name, why := range notModuleSettings {
		if _, ok := rows[name]; !ok {
			probs = append(probs, fmt.Sprintf("README.md: no configuration row %s, but the module test lists it as not the module's (%s): drop it from notModuleSettings", name, why))
		}
	}
	for name, secret := range rows {
		if _, ok := notModuleSettings[name]; ok {
			continue
		}
		word := regexp.MustCompile(`\b` + regexp.QuoteMeta(name) + `\b`)
		found := false
		for _, f := range m.funcs {
			for _, p := range f.params {
				if !word.MatchString(p.desc) {
					continue
				}
				found = true
				if secret && p.typ != "*dagger.Secret" {
					add(p.pos, "%s(%s) routes %s, which the README marks secret, but is %s, not *dagger.Secret", f.name, p.name, name, p.typ)
				}
			}
		}
		if !found {
			probs = append(probs, fmt.Sprintf("README.md: configuration row %s has no module route: name it in the doc comment of the parameter that sets it, e.g. \"(%s)\"", name, name))
		}
	}
	slices.Sort(probs)
	return probs
}

func readModuleAndReadme(t *testing.T) ([]byte, string) {
	t.Helper()
	src, err := os.ReadFile(moduleFile)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return src, string(readme)
}

func TestDaggerModule(t *testing.T) {
	src, readme := readModuleAndReadme(t)
	m, err := parseModule(moduleFile, src)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checkModule(m, readme) {
		t.Error(p)
	}
	// The checks above look at something: the effectful functions are found as such.
	var never []string
	for _, f := range m.funcs {
		if _, ok := f.effectful(); ok {
			never = append(never, f.name)
		}
	}
	slices.Sort(never)
	if want := []string{"Deploy", "Plan", "PlanLive", "Publish"}; !slices.Equal(never, want) {
		t.Errorf("functions that push or talk to Prefect = %v, want %v", never, want)
	}
}

// TestDaggerModuleCheckFails edits a copy of the module or the README the way a
// regression would (testdata/shim/mutations.json) and expects checkModule to say so.
func TestDaggerModuleCheckFails(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "shim", "mutations.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name, File, Old, New, Want string
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatalf("testdata/shim/mutations.json: %v", err)
	}
	src, readme := readModuleAndReadme(t)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			mod, rd := string(src), readme
			target := &mod
			if tc.File == "README.md" {
				target = &rd
			}
			if n := strings.Count(*target, tc.Old); n != 1 {
				t.Fatalf("%s holds %q %d times, want once: update the case", tc.File, tc.Old, n)
			}
			*target = strings.Replace(*target, tc.Old, tc.New, 1)
			m, err := parseModule(moduleFile, []byte(mod))
			if err != nil {
				t.Fatal(err)
			}
			probs := checkModule(m, rd)
			if !slices.ContainsFunc(probs, func(p string) bool { return strings.Contains(p, tc.Want) }) {
				t.Errorf("no problem mentions %q; got:\n%s", tc.Want, strings.Join(probs, "\n"))
			}
		})
	}
}

func TestFirstLineProblem(t *testing.T) {
	for _, tc := range []struct{ desc, want string }{
		{"Deploy runs the pipeline.", ""},
		{"Deploy runs the pipeline.\n\nMore here.", ""},
		{"Deploy builds the image, publishes it and registers the ECS\nblocks.", "runs over 2 lines"},
		{"Deploy builds the image", "not a complete sentence"},
		{"Deploys the image.", "does not start with Deploy"},
		{"Deploy takes a registry, e.g.", "not a complete sentence"},
		{"", "no doc comment"},
	} {
		got := firstLineProblem("Deploy", tc.desc)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("firstLineProblem(%q) = %q, want %q", tc.desc, got, tc.want)
		}
	}
}

func TestSplitPragmas(t *testing.T) {
	desc, pragmas, stray := splitPragmas("Deploy runs it.\n\nNever cached.\n+cache=\"never\"\n  +ignore=[\"a\", \"b\"]\nC++ is not a pragma.\n")
	if desc != "Deploy runs it.\n\nNever cached.\nC++ is not a pragma." {
		t.Errorf("desc = %q", desc)
	}
	if pragmas["cache"] != strconv.Quote("never") || pragmas["ignore"] != `["a", "b"]` {
		t.Errorf("pragmas = %v", pragmas)
	}
	if len(stray) != 1 {
		t.Errorf("stray = %v, want the C++ line", stray)
	}
}
