package fakeprefect

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/acme-data/prefect-flows/ci/internal/shareddata"
)

// Build compiles the fake into dir/prefect and returns its path. Tests call it once
// per test binary (from TestMain) and put dir first in PATH or pass the path.
func Build(dir string) (string, error) {
	out := filepath.Join(dir, "prefect")
	cmd := exec.Command("go", "build", "-o", out, "github.com/acme-data/prefect-flows/ci/internal/fakeprefect/cmd/prefect")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build fake prefect: %w\n%s", err, b)
	}
	return out, nil
}

// RunTests is a test package's TestMain: it builds the fake once into a temporary
// directory, stores its path in *bin, runs setup (more tools for the same directory),
// runs the tests and removes the directory.
func RunTests(m *testing.M, bin *string, setup ...func(dir string) error) {
	os.Exit(runTests(m, bin, setup))
}

func runTests(m *testing.M, bin *string, setup []func(dir string) error) int {
	dir, err := os.MkdirTemp("", "fakeprefect")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *bin, err = Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, s := range setup {
		if err := s(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return m.Run()
}

// SharedPath resolves rel under the shared data folder (see ci/internal/shareddata). A
// missing file is an error: tests fail rather than skip.
func SharedPath(rel string) (string, error) { return shareddata.Path(rel) }
