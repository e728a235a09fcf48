package pipeline

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEndToEndEmbedded runs the real pipeline on the real repository against a real
// Dagger engine: build the image, start the throwaway Prefect server from it, register
// the blocks and build every dev deployment. Opt in with DAGGER_E2E=1; it needs Docker
// (the SDK fetches the dagger CLI) or a session from `dagger run`.
//
//	DAGGER_E2E=1 go test ./ci/pipeline -run EndToEnd -v -timeout 30m
func TestEndToEndEmbedded(t *testing.T) {
	if os.Getenv("DAGGER_E2E") != "1" {
		t.Skip("needs a Dagger engine: set DAGGER_E2E=1 (with Docker running, or inside `dagger run`)")
	}
	if os.Getenv("DAGGER_SESSION_PORT") == "" {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := exec.CommandContext(ctx, "docker", "info").Run(); err != nil {
			t.Skipf("DAGGER_E2E=1 but `docker info` failed (%v) and DAGGER_SESSION_PORT is not set: no engine to run on", err)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	// Only the test's own variables: a developer's PREFECT_API_URL must not turn this
	// into a deploy to a real server.
	env := map[string]string{"DEPLOY_ONLY": os.Getenv("DEPLOY_ONLY"), "BASE_IMAGE": os.Getenv("BASE_IMAGE")}
	s, err := SettingsFromEnv("dev", root, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err = DeployLocal(ctx, s, &out)
	t.Log(out.String())
	if err != nil {
		t.Fatalf("DeployLocal: %v", err)
	}
	if !strings.Contains(out.String(), "deployment(s) on the embedded server") {
		t.Errorf("the embedded server's deployments were not listed")
	}
}
