package pipeline

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/acme-data/prefect-flows/ci/config"
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
	s, err := config.FromEnv("dev", root, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Minute)
	defer cancel()
	// Two identical runs: each must really deploy into its own fresh embedded server, so
	// the Prefect deployment ids differ. Ids served from Dagger's cache would repeat.
	var ids [2][]string
	for i := range ids {
		var out bytes.Buffer
		err = DeployLocal(ctx, s, &out)
		t.Log(out.String())
		if err != nil {
			t.Fatalf("run %d: DeployLocal: %v", i+1, err)
		}
		if !strings.Contains(out.String(), "deployment(s) on the embedded server") {
			t.Errorf("run %d: the embedded server's deployments were not listed", i+1)
		}
		ids[i] = summaryIDs(out.String())
		if len(ids[i]) == 0 {
			t.Fatalf("run %d: no deployment ids in the summary", i+1)
		}
	}
	seen := map[string]bool{}
	for _, id := range ids[0] {
		seen[id] = true
	}
	for _, id := range ids[1] {
		if seen[id] {
			t.Errorf("deployment id %s came back in the second run: the deploy was served from cache", id)
		}
	}
}

var summaryID = regexp.MustCompile(`(?m)^\S+\s+succeeded\s+[0-9.]+\s+([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\s*$`)

// summaryIDs are the Prefect deployment ids of the summary table's succeeded rows.
func summaryIDs(out string) []string {
	var ids []string
	for _, m := range summaryID.FindAllStringSubmatch(out, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func TestSummaryIDs(t *testing.T) {
	out := "DEPLOYMENT  RESULT     SECONDS  PREFECT DEPLOYMENT ID\n" +
		"sales-eu    succeeded  3.1      5c65a7a2-cc90-5875-91bc-b3f5e68a5b05\n" +
		"sales-us    failed     1.0      -\n" +
		"hello       succeeded  0.4      0de157dc-9686-584b-8ea4-e5e29d6d947a\n"
	got := summaryIDs(out)
	want := []string{"5c65a7a2-cc90-5875-91bc-b3f5e68a5b05", "0de157dc-9686-584b-8ea4-e5e29d6d947a"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("summaryIDs = %v, want %v", got, want)
	}
}
