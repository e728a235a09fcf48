// Package lint holds the repository's static checks: gofmt, go vet, Python byte-compiling
// and actionlint. Mage's Lint target runs them all.
package lint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// ActionlintVersion is pinned: `go run` fetches exactly this from the module proxy.
const ActionlintVersion = "v1.7.12"

// PythonDirs are byte-compiled by PyCompile.
var PythonDirs = []string{"flows", "src", "infrastructure"}

// Check is one named check over the repository at a root directory.
type Check struct {
	Name string
	Run  func(ctx context.Context, root string) error
}

// Checks is every check, in the order Lint runs them.
var Checks = []Check{
	{"gofmt", Gofmt},
	{"go vet", GoVet},
	{"python byte-compile", PyCompile},
	{"actionlint", Actionlint},
}

// All runs every check, even after one fails, and returns all failures.
func All(ctx context.Context, root string, out io.Writer) error {
	var errs []error
	for _, c := range Checks {
		fmt.Fprintf(out, "==> %s\n", c.Name)
		if err := c.Run(ctx, root); err != nil {
			fmt.Fprintf(out, "    FAILED\n")
			errs = append(errs, fmt.Errorf("%s: %w", c.Name, err))
			continue
		}
		fmt.Fprintf(out, "    ok\n")
	}
	return errors.Join(errs...)
}

// Gofmt fails when any Go file under root is not gofmt-formatted, naming each.
func Gofmt(ctx context.Context, root string) error {
	out, err := run(ctx, root, nil, "gofmt", "-l", ".")
	if err != nil {
		return err
	}
	if files := strings.Fields(out); len(files) > 0 {
		return fmt.Errorf("not gofmt-formatted (run gofmt -w): %s", strings.Join(files, " "))
	}
	return nil
}

// GoVet runs go vet on the root module, and on magefiles/, which ./... skips because of
// its mage build tag.
func GoVet(ctx context.Context, root string) error {
	if _, err := run(ctx, root, nil, "go", "vet", "./..."); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "magefiles")); err != nil {
		return nil
	}
	_, err := run(ctx, root, nil, "go", "vet", "-tags", "mage", "./magefiles")
	return err
}

// PyCompile byte-compiles every .py file under PythonDirs, so a syntax error fails here
// and not in the image. Bytecode goes to a temporary directory, not into the repository.
func PyCompile(ctx context.Context, root string) error {
	var files []string
	for _, d := range PythonDirs {
		err := filepath.WalkDir(filepath.Join(root, d), func(p string, e fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && p == filepath.Join(root, d) {
				return fs.SkipDir
			}
			if err != nil {
				return err
			}
			if e.IsDir() && (e.Name() == "__pycache__" || strings.HasPrefix(e.Name(), ".")) {
				return fs.SkipDir
			}
			if !e.IsDir() && strings.HasSuffix(p, ".py") {
				rel, _ := filepath.Rel(root, p)
				files = append(files, rel)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if len(files) == 0 {
		return fmt.Errorf("no .py file under %s", strings.Join(PythonDirs, ", "))
	}
	sort.Strings(files)
	cache, err := os.MkdirTemp("", "pycompile-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(cache)
	_, err = run(ctx, root, []string{"PYTHONPYCACHEPREFIX=" + cache}, "python3", append([]string{"-m", "py_compile"}, files...)...)
	return err
}

// Actionlint checks .github/workflows with the pinned actionlint, built by `go run`.
func Actionlint(ctx context.Context, root string) error {
	var files []string
	for _, pattern := range []string{"*.yml", "*.yaml"} {
		m, err := filepath.Glob(filepath.Join(root, ".github", "workflows", pattern))
		if err != nil {
			return err
		}
		for _, f := range m {
			rel, _ := filepath.Rel(root, f)
			files = append(files, rel)
		}
	}
	if len(files) == 0 {
		return fmt.Errorf("no .github/workflows/*.yml")
	}
	sort.Strings(files)
	// Files are named explicitly: without them actionlint insists on a git checkout.
	args := append([]string{"run", "github.com/rhysd/actionlint/cmd/actionlint@" + ActionlintVersion, "-no-color"}, files...)
	_, err := run(ctx, root, nil, "go", args...)
	return err
}

func run(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String() + "\n" + stdout.String())
		return stdout.String(), fmt.Errorf("%s: %w\n%s", name, err, msg)
	}
	return stdout.String(), nil
}
