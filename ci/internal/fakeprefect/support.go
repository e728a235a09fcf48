package fakeprefect

import (
	"fmt"
	"os/exec"
	"path/filepath"

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

// SharedPath resolves rel under the shared data folder (see ci/internal/shareddata). A
// missing file is an error: tests fail rather than skip.
func SharedPath(rel string) (string, error) { return shareddata.Path(rel) }
