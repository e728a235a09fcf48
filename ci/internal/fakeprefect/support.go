package fakeprefect

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

// SharedPath resolves rel under the shared data folder that sits beside the
// repository (../shared from the directory holding go.mod). A missing file is an
// error: CI always has it, so tests must fail rather than skip.
func SharedPath(rel string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find shared data: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find shared data: no go.mod above the working directory")
		}
		dir = parent
	}
	p := filepath.Join(filepath.Dir(dir), "shared", rel)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("shared data %s missing (it must sit beside the repository): %w", p, err)
	}
	return p, nil
}
