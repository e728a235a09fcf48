package lint

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestChecks(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		check   func(context.Context, string) error
		files   map[string]string
		wantErr string // "" means it must pass
	}{
		{"gofmt clean", Gofmt, map[string]string{"a/a.go": "package a\n\nfunc F() {}\n"}, ""},
		{"gofmt names the file", Gofmt, map[string]string{"a/a.go": "package a\n", "b/b.go": "package b\nfunc  F( ) {}\n"}, "b/b.go"},
		{"python ok", PyCompile, map[string]string{"flows/a.py": "def f():\n    return 1\n", "src/p/__init__.py": "", "infrastructure/x.py": "print(1)\n"}, ""},
		{"python syntax error names the file", PyCompile, map[string]string{"flows/a.py": "x = 1\n", "src/p/bad.py": "def f(:\n"}, "src/p/bad.py"},
		{"python with no files", PyCompile, map[string]string{"README": ""}, "no .py file"},
		{"actionlint without workflows", Actionlint, map[string]string{"README": ""}, "no .github/workflows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, tc.files)
			err := tc.check(ctx, dir)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
			// Byte-compiling must not leave bytecode in the repository.
			filepath.WalkDir(dir, func(p string, d os.DirEntry, _ error) error {
				if d != nil && d.Name() == "__pycache__" {
					t.Errorf("left %s behind", p)
				}
				return nil
			})
		})
	}
}

func TestActionlint(t *testing.T) {
	if testing.Short() {
		t.Skip("runs actionlint through go run; skipped with -short")
	}
	ctx := context.Background()
	bad := t.TempDir()
	write(t, bad, map[string]string{".github/workflows/x.yml": "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ secrets }}\n      - uses: actions/checkout@v4.2.2\n        with:\n          nope: 1\n"})
	if err := Actionlint(ctx, bad); err == nil || !strings.Contains(err.Error(), "x.yml") {
		t.Fatalf("a broken workflow passed actionlint: %v", err)
	}
	// The repository's own workflows.
	if err := Actionlint(ctx, "../../.."); err != nil {
		t.Fatalf("the repository's workflows: %v", err)
	}
}

func TestAllRunsEveryCheck(t *testing.T) {
	saved := Checks
	defer func() { Checks = saved }()
	var ran []string
	fail := func(name string, bad bool) Check {
		return Check{name, func(context.Context, string) error {
			ran = append(ran, name)
			if bad {
				return os.ErrInvalid
			}
			return nil
		}}
	}
	Checks = []Check{fail("one", true), fail("two", false), fail("three", true)}
	var out bytes.Buffer
	err := All(context.Background(), ".", &out)
	if strings.Join(ran, ",") != "one,two,three" {
		t.Errorf("ran %v, want every check", ran)
	}
	if err == nil || !strings.Contains(err.Error(), "one:") || !strings.Contains(err.Error(), "three:") || strings.Contains(err.Error(), "two:") {
		t.Errorf("err = %v, want failures of one and three", err)
	}
}
