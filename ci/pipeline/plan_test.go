package pipeline

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/deploycli"
)

func TestScriptAll(t *testing.T) {
	var out bytes.Buffer
	if err := ScriptAll(repoDir(t, "repo"), testOwner, &out); err != nil {
		t.Fatalf("ScriptAll: %v", err)
	}
	golden(t, "plan.txt", out.Bytes())

	// Each environment is the script `prefect-deploy plan` prints, with the image's paths:
	// from the WORKDIR, registration first, and the -o directory made before any build.
	for _, env := range []string{"dev", "prod"} {
		_, jobs, err := loadJobs(repoDir(t, "repo"), env, testOwner)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		p := deploycli.Plan{
			File: "prefect-deployments-" + env + ".yaml", Workdir: "/opt/prefect", OutDir: "/tmp/prefect-deploy", Prefect: "prefect",
			Setup: [][]string{{"prefect", "block", "register", "-m", "prefect_aws.ecs"}, {"python", "infrastructure/ecs-task-" + env + ".py"}},
			Jobs:  jobs,
		}
		if err := p.Write(&want); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), want.String()) {
			t.Errorf("mage script lacks the %s script as prefect-deploy renders it:\n%s\ngot:\n%s", env, want.String(), out.String())
		}
	}
}

func TestScriptAllReportsEveryBadFile(t *testing.T) {
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
	err = ScriptAll(dir, testOwner, &out)
	if err == nil || !strings.Contains(err.Error(), "prefect-deployments-dev.yaml:6:17") {
		t.Fatalf("err = %v, want the bad entrypoint's position", err)
	}
	for _, want := range []string{"# prefect-deployments-dev.yaml: INVALID", "# prefect-deployments-prod.yaml: 2 deployment(s)", "-n etl-prod"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// A Prefect 3 file gets no Prefect 2 commands: the script says so and the error is
// the one line every deploying command prints.
func TestScriptAllPrefect3(t *testing.T) {
	var out bytes.Buffer
	err := ScriptAll(repoDir(t, "p3repo"), testOwner, &out)
	if err == nil || !strings.Contains(err.Error(), "targets Prefect 3 (prefect: 3 at line 3): this command does not handle Prefect 3 files yet") {
		t.Fatalf("err = %v", err)
	}
	if want := "# prefect-deployments-dev.yaml: Prefect 3, no deploy commands yet\n"; out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}
}

func TestScriptAllWithoutFiles(t *testing.T) {
	if err := ScriptAll(t.TempDir(), testOwner, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "no prefect-deployments-*.yaml") {
		t.Fatalf("err = %v", err)
	}
}
