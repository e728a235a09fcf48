package pipeline

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The Dagger module (ci/dagger) cannot be generated or built here: no engine. These
// tests keep it honest: its shape is checked with go/parser, and it is compiled
// against a stand-in for the generated package whose types are aliases of the same
// v0.19.7 API in dagger.io/dagger.

const shimDir = "../dagger"

type shimFunc struct {
	params  map[string]string // name -> type
	notes   map[string]string // name -> comment above it
	results []string
	doc     string
	calls   []string // pipeline.X called in the body
}

func parseShim(t *testing.T) map[string]*shimFunc {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join(shimDir, "main.go"), nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name.Name != "main" {
		t.Errorf("package %s, want main", f.Name.Name)
	}
	var imports []string
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		imports = append(imports, p)
	}
	for _, want := range []string{"dagger/prefect-flows/internal/dagger", "dagger.io/dagger", "github.com/acme-data/prefect-flows/ci/pipeline"} {
		if !slices.Contains(imports, want) {
			t.Errorf("main.go does not import %s", want)
		}
	}
	// Comments by the line they end on, to find the doc above each parameter.
	endLine := map[int]*ast.CommentGroup{}
	for _, cg := range f.Comments {
		endLine[fset.Position(cg.End()).Line] = cg
	}
	typ := func(e ast.Expr) string {
		switch x := e.(type) {
		case *ast.Ident:
			return x.Name
		case *ast.StarExpr:
			switch y := x.X.(type) {
			case *ast.SelectorExpr:
				return "*" + y.X.(*ast.Ident).Name + "." + y.Sel.Name
			case *ast.Ident:
				return "*" + y.Name
			}
		case *ast.SelectorExpr:
			return x.X.(*ast.Ident).Name + "." + x.Sel.Name
		case *ast.ArrayType:
			if id, ok := x.Elt.(*ast.Ident); ok {
				return "[]" + id.Name
			}
		}
		return "?"
	}
	funcs := map[string]*shimFunc{}
	hasType := false
	for _, d := range f.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.TYPE {
			for _, s := range gd.Specs {
				if ts := s.(*ast.TypeSpec); ts.Name.Name == "PrefectFlows" && gd.Doc != nil {
					hasType = true
				}
			}
		}
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv == nil || !fd.Name.IsExported() {
			continue
		}
		if typ(fd.Recv.List[0].Type) != "*PrefectFlows" {
			continue
		}
		sf := &shimFunc{params: map[string]string{}, notes: map[string]string{}}
		if fd.Doc != nil {
			sf.doc = fd.Doc.Text()
		}
		for _, p := range fd.Type.Params.List {
			for _, n := range p.Names {
				sf.params[n.Name] = typ(p.Type)
				if cg := endLine[fset.Position(p.Pos()).Line-1]; cg != nil {
					sf.notes[n.Name] = cg.Text()
				}
			}
		}
		for _, r := range fd.Type.Results.List {
			sf.results = append(sf.results, typ(r.Type))
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "pipeline" {
					sf.calls = append(sf.calls, sel.Sel.Name)
				}
			}
			return true
		})
		funcs[fd.Name.Name] = sf
	}
	if !hasType {
		t.Errorf("no documented type PrefectFlows")
	}
	return funcs
}

var secretArg = regexp.MustCompile(`(Url|Key|Password|KeyId|SecretAccessKey)$`)

func TestDaggerModuleShape(t *testing.T) {
	funcs := parseShim(t)
	want := map[string]struct {
		results []string
		calls   string
		params  map[string]string
	}{
		"Deploy":   {[]string{"string", "error"}, "Run", map[string]string{"source": "*dagger.Directory", "env": "string", "prefectApiUrl": "*dagger.Secret", "prefectApiKey": "*dagger.Secret", "registryPassword": "*dagger.Secret", "awsAccessKeyId": "*dagger.Secret", "awsSecretAccessKey": "*dagger.Secret", "registry": "string", "gitSha": "string", "runner": "string", "concurrency": "int", "only": "[]string", "prune": "bool", "owner": "string"}},
		"Script":   {[]string{"string", "error"}, "ScriptAll", map[string]string{"source": "*dagger.Directory", "owner": "string"}},
		"Plan":     {[]string{"string", "error"}, "PlanLive", map[string]string{"source": "*dagger.Directory", "env": "string", "prefectApiUrl": "*dagger.Secret", "prefectApiKey": "*dagger.Secret", "owner": "string"}},
		"PlanLive": {[]string{"string", "error"}, "", map[string]string{"source": "*dagger.Directory", "env": "string", "prefectApiUrl": "*dagger.Secret", "prefectApiKey": "*dagger.Secret", "owner": "string"}},
		"Image":    {[]string{"*dagger.Container", "error"}, "Build", map[string]string{"source": "*dagger.Directory", "env": "string"}},
		"Publish":  {[]string{"string", "error"}, "Build", map[string]string{"source": "*dagger.Directory", "registry": "string", "registryPassword": "*dagger.Secret", "gitSha": "string"}},
	}
	if len(funcs) != len(want) {
		var names []string
		for n := range funcs {
			names = append(names, n)
		}
		t.Errorf("functions %v, want %d", names, len(want))
	}
	for name, w := range want {
		f := funcs[name]
		if f == nil {
			t.Errorf("no function %s", name)
			continue
		}
		if !strings.HasPrefix(f.doc, name+" ") {
			t.Errorf("%s: doc comment %q does not start with its name", name, f.doc)
		}
		if !slices.Equal(f.results, w.results) {
			t.Errorf("%s returns %v, want %v", name, f.results, w.results)
		}
		// "": a deprecated alias that calls the function of its new name.
		if w.calls != "" && !slices.Contains(f.calls, w.calls) {
			t.Errorf("%s does not call pipeline.%s (calls %v)", name, w.calls, f.calls)
		}
		if f.params["ctx"] != "context.Context" {
			t.Errorf("%s: first argument is not ctx context.Context", name)
		}
		for p, ty := range w.params {
			if f.params[p] != ty {
				t.Errorf("%s(%s): type %q, want %q", name, p, f.params[p], ty)
			}
		}
		for p, ty := range f.params {
			if p == "ctx" {
				continue
			}
			note := f.notes[p]
			if doc, _, _ := strings.Cut(note, "+"); strings.TrimSpace(doc) == "" {
				t.Errorf("%s(%s): no doc comment (it is the CLI's help)", name, p)
			}
			if secretArg.MatchString(p) && ty != "*dagger.Secret" {
				t.Errorf("%s(%s): a secret must be *dagger.Secret, not %s", name, p, ty)
			}
			if ty == "*dagger.Secret" && !strings.Contains(note, "+optional") && name == "Deploy" {
				t.Errorf("%s(%s): secret should be +optional", name, p)
			}
		}
		src := f.notes["source"]
		if !strings.Contains(src, `+defaultPath="/"`) {
			t.Errorf("%s(source): no +defaultPath=\"/\"", name)
		}
		m := regexp.MustCompile(`\+ignore=(\[.*\])`).FindStringSubmatch(src)
		var ignore []string
		if m == nil || json.Unmarshal([]byte(m[1]), &ignore) != nil || !slices.Equal(ignore, SourceExcludes) {
			t.Errorf("%s(source): +ignore %v, want pipeline.SourceExcludes %q", name, ignore, SourceExcludes)
		}
	}
}

func TestDaggerModuleConfig(t *testing.T) {
	b, err := os.ReadFile("../../dagger.json")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Name          string `json:"name"`
		EngineVersion string `json:"engineVersion"`
		SDK           struct {
			Source string `json:"source"`
		} `json:"sdk"`
		Source string `json:"source"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "prefect-flows" || cfg.EngineVersion != "v0.19.7" || cfg.SDK.Source != "go" || cfg.Source != "ci/dagger" {
		t.Errorf("dagger.json = %+v", cfg)
	}
	mod, err := os.ReadFile(filepath.Join(shimDir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"module dagger/prefect-flows\n", "\tdagger.io/dagger v0.19.7\n", "replace github.com/acme-data/prefect-flows => ../..\n"} {
		if !strings.Contains(string(mod), want) {
			t.Errorf("ci/dagger/go.mod lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(shimDir, "internal")); err == nil {
		out, _ := exec.Command("git", "ls-files", filepath.Join(shimDir, "internal")).Output()
		if len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("files under ci/dagger/internal are tracked; the engine deletes that folder:\n%s", out)
		}
	}
}

// stubGenerated stands in for what `dagger develop` writes: the module's core types are
// the same v0.19.7 API as dagger.io/dagger's, so aliases compile main.go against it.
const stubGenerated = `// Package dagger is a test stand-in for the generated module package.
package dagger

import lib "dagger.io/dagger"

type (
	Client      = lib.Client
	Container   = lib.Container
	ContainerID = lib.ContainerID
	Directory   = lib.Directory
	DirectoryID = lib.DirectoryID
	Secret      = lib.Secret
	SecretID    = lib.SecretID
)

func Connect() *Client { return nil }
`

const stubMain = `package main

import "dagger/prefect-flows/internal/dagger"

var dag = dagger.Connect()

func main() {}
`

func TestDaggerModuleCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the module shim; skipped with -short")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mod, err := os.ReadFile(filepath.Join(shimDir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mod = []byte(strings.Replace(string(mod), "=> ../..", "=> "+root, 1))
	files := map[string][]byte{"go.mod": mod, "internal/dagger/dagger.gen.go": []byte(stubGenerated), "dagger.gen.go": []byte(stubMain)}
	for _, name := range []string{"main.go", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(shimDir, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "vet", ".")
	cmd.Dir = dir
	// Everything is in the module cache already; the network must not be needed.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the module shim does not compile against the v0.19.7 API:\n%s", out)
	}
}
