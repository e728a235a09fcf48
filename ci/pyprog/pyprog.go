// Package pyprog is how the Go code carries its Python programs: each is a .py file
// beside the Go package that owns it, embedded there with go:embed and declared with
// New under its path in this repository. A program lands at one fixed path, the
// repository path under a root (ContainerRoot in a container, a temporary directory on
// disk), and runs one way, Argv, so that a traceback names the file to open:
// File "/tmp/prefect-flows-ci/ci/inspect/inspect_flows.py", line 12.
//
// The pipeline's one helper that writes a program into a Dagger container is
// ci/pipeline's withProgram (this package does not import Dagger: prefect-deploy uses it).
package pyprog

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ContainerRoot is where programs land in a container: ContainerRoot/<repository path>.
const ContainerRoot = "/tmp/prefect-flows-ci"

// Program is one embedded Python program.
type Program struct {
	path   string
	source string
}

// New declares the program embedded as source, whose file is at repoPath in this
// repository (slash-separated, e.g. ci/inspect/inspect_flows.py). It panics on a path
// that is not a relative .py path: the declarations are constants of the code.
func New(repoPath string, source []byte) Program {
	if !strings.HasSuffix(repoPath, ".py") || path.IsAbs(repoPath) || path.Clean(repoPath) != repoPath || strings.HasPrefix(repoPath, "../") {
		panic(fmt.Sprintf("pyprog.New(%q): want the program's clean, relative path in the repository, ending in .py", repoPath))
	}
	return Program{path: repoPath, source: string(source)}
}

// Path is the program's file in this repository.
func (p Program) Path() string { return p.path }

// Name is the program's file name (runner.py).
func (p Program) Name() string { return path.Base(p.path) }

// Source is the program's text.
func (p Program) Source() string { return p.source }

// ContainerPath is where the program is written in a container.
func (p Program) ContainerPath() string { return ContainerRoot + "/" + p.path }

// ContainerArgs runs the program at ContainerPath with the image's python.
func (p Program) ContainerArgs(args ...string) []string {
	return Argv("python", p.ContainerPath(), args...)
}

// WriteUnder writes the program at its repository path under dir (a temporary
// directory of a local run) and returns where.
func (p Program) WriteUnder(dir string) (string, error) {
	file := filepath.Join(dir, filepath.FromSlash(p.path))
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return "", fmt.Errorf("write %s: %w", p.Name(), err)
	}
	if err := os.WriteFile(file, []byte(p.source), 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", p.Name(), err)
	}
	return file, nil
}

// Argv is the one way a program runs: python -u FILE ARGS... (unbuffered, so that what
// a program printed before it crashed or was killed still comes back in order).
func Argv(python, file string, args ...string) []string {
	return append([]string{python, "-u", file}, args...)
}
