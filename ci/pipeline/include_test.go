package pipeline_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/internal/shareddata"
)

// rootModule is the module ci/dagger reaches through its `replace ... => ../..`.
const rootModule = "github.com/acme-data/prefect-flows"

// daggerConfig is the part of dagger.json the engine uses to decide what to upload.
type daggerConfig struct {
	EngineVersion string   `json:"engineVersion"`
	Source        string   `json:"source"`
	Include       []string `json:"include"`
}

// TestDaggerIncludeCoversModuleBuild guards the module's build on a real engine: since
// Dagger v0.16 (PR #9505) a module's context holds only dagger.json, the source dir and
// the dagger.json "include" patterns, so every file of the root module that ci/dagger
// compiles (through the replace directive) must be matched by them, and nothing else.
func TestDaggerIncludeCoversModuleBuild(t *testing.T) {
	root := includeRepoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "dagger.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg daggerConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("dagger.json: %v", err)
	}
	if cfg.EngineVersion != "v0.19.7" {
		t.Errorf("dagger.json engineVersion = %q, want v0.19.7 (the include semantics checked here)", cfg.EngineVersion)
	}
	if len(cfg.Include) == 0 {
		t.Fatal("dagger.json has no include list: the engine would not upload the root module ci/dagger replaces to")
	}

	imports := rootImports(t, filepath.Join(root, cfg.Source))
	if len(imports) == 0 {
		t.Fatalf("%s imports nothing from %s; this test would check nothing", cfg.Source, rootModule)
	}
	need := neededFiles(t, root, imports)
	for _, f := range []string{"go.mod", "go.sum", "ci/prefectcli/batch/runner.py"} {
		if !need[f] {
			t.Errorf("go list did not report %s as needed; the package walk is wrong", f)
		}
	}

	included := map[string]bool{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			switch d.Name() {
			case ".git", ".venv", "venv", "node_modules", "__pycache__":
				return filepath.SkipDir
			}
			return nil
		}
		if includeMatch(cfg.Include, rel) {
			included[rel] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, f := range sortedKeys(need) {
		if !included[f] {
			t.Errorf("%s is needed to build the module but no dagger.json include pattern loads it", f)
		}
	}
	for _, f := range sortedKeys(included) {
		if strings.HasSuffix(f, "_test.go") || slices.Contains(strings.Split(f, "/"), "testdata") {
			t.Errorf("dagger.json include loads test file %s", f)
		} else if !need[f] {
			t.Errorf("dagger.json include loads %s, which the module build does not use", f)
		}
	}
}

// rootImports lists the root-module packages the Dagger module's own files import. The
// module itself cannot be listed: its generated internal/dagger package is not committed.
func rootImports(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || filepath.Base(f) == "dagger.gen.go" {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == rootModule || strings.HasPrefix(p, rootModule+"/") {
				seen[p] = true
			}
		}
	}
	return sortedKeys(seen)
}

// neededFiles returns, relative to root, go.mod, go.sum and every source and embedded
// file of the root-module packages the given packages depend on, for every GOOS: files
// behind build constraints are in the same folders and cost nothing to upload.
func neededFiles(t *testing.T, root string, pkgs []string) map[string]bool {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-deps", "-json"}, pkgs...)...)
	cmd.Dir = root
	// The module runs in the engine's Linux container, whatever the host is.
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	need := map[string]bool{"go.mod": true, "go.sum": true}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			Dir            string
			Module         *struct{ Path string }
			GoFiles        []string
			CgoFiles       []string
			IgnoredGoFiles []string
			EmbedFiles     []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Module == nil || p.Module.Path != rootModule {
			continue
		}
		rel, err := filepath.Rel(root, p.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range slices.Concat(p.GoFiles, p.CgoFiles, p.IgnoredGoFiles, p.EmbedFiles) {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			need[path.Join(filepath.ToSlash(rel), f)] = true
		}
	}
	return need
}

// includeMatch applies Dagger's include list to a slash path relative to dagger.json:
// gitignore-style patterns, "!" negates, the last matching pattern wins, and a pattern
// that matches a folder matches everything under it.
func includeMatch(patterns []string, name string) bool {
	in := false
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(strings.TrimPrefix(p, "!"), "/")
		segs := strings.Split(name, "/")
		for i := 1; i <= len(segs); i++ {
			if matchSegs(strings.Split(p, "/"), segs[:i]) {
				in = !neg
				break
			}
		}
	}
	return in
}

// matchSegs matches pattern segments against path segments: "**" spans zero or more
// segments, any other segment is a path.Match glob that cannot cross a slash.
func matchSegs(pat, segs []string) bool {
	if len(pat) == 0 {
		return len(segs) == 0
	}
	if pat[0] == "**" {
		for i := 0; i <= len(segs); i++ {
			if matchSegs(pat[1:], segs[i:]) {
				return true
			}
		}
		return false
	}
	if len(segs) == 0 {
		return false
	}
	ok, err := path.Match(pat[0], segs[0])
	return err == nil && ok && matchSegs(pat[1:], segs[1:])
}

func TestIncludeMatch(t *testing.T) {
	pats := []string{"go.mod", "ci/prefectcli/*.go", "ci/prefectcli/batch/runner.py", "docs", "!**/*_test.go", "!**/testdata"}
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"go.mod", true},
		{"go.sum", false},
		{"ci/go.mod", false},
		{"ci/prefectcli/exec.go", true},
		{"ci/prefectcli/exec_test.go", false},
		{"ci/prefectcli/batch/batch.go", false}, // * does not cross a slash
		{"ci/prefectcli/batch/runner.py", true},
		{"ci/prefectcli/runner.py", false},
		{"docs/a/b.md", true}, // a matched folder brings its contents
		{"docs/testdata/x.md", false},
		{"docs/x_test.go", false},
	} {
		if got := includeMatch(pats, tc.name); got != tc.want {
			t.Errorf("includeMatch(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
	// The last matching pattern wins, so an include after an exclusion re-includes.
	if !includeMatch([]string{"!a/*.go", "a/x.go"}, "a/x.go") || includeMatch([]string{"a/x.go", "!a/*.go"}, "a/x.go") {
		t.Error("includeMatch: the last matching pattern must win")
	}
}

func includeRepoRoot(t *testing.T) string {
	t.Helper()
	dir, err := shareddata.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
