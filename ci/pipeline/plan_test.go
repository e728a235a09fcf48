package pipeline

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPlanAll(t *testing.T) {
	var out bytes.Buffer
	if err := PlanAll(repoDir(t, "repo"), &out); err != nil {
		t.Fatalf("PlanAll: %v", err)
	}
	golden(t, "plan.txt", out.Bytes())
}

func TestPlanAllReportsEveryBadFile(t *testing.T) {
	// Two environments: one bad, one good. The good one is still planned and the
	// error names the bad one's place.
	dir := t.TempDir()
	copyTree(t, repoDir(t, "badrepo"), dir)
	good, err := os.ReadFile(filepath.Join(repoDir(t, "repo"), "prefect-deployments-prod.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	good = bytes.ReplaceAll(good, []byte("flows/etl.py:daily_etl"), []byte("flows/hello.py:hello"))
	if err := os.WriteFile(filepath.Join(dir, "prefect-deployments-prod.yaml"), good, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = PlanAll(dir, &out)
	if err == nil || !strings.Contains(err.Error(), "prefect-deployments-dev.yaml:6:17") {
		t.Fatalf("err = %v, want the bad entrypoint's position", err)
	}
	for _, want := range []string{"prefect-deployments-dev.yaml: INVALID", "prefect-deployments-prod.yaml: 2 deployment(s), environment prod", "-n etl-prod"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestPlanAllWithoutFiles(t *testing.T) {
	if err := PlanAll(t.TempDir(), &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "no prefect-deployments-*.yaml") {
		t.Fatalf("err = %v", err)
	}
}
