package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/internal/fakedagger"
)

func TestScriptAll(t *testing.T) {
	var out bytes.Buffer
	if err := ScriptAll(repoDir(t, "repo"), testOwner, &out); err != nil {
		t.Fatalf("ScriptAll: %v", err)
	}
	golden(t, "script.txt", out.Bytes())

	// Each environment is the script `prefect-deploy script` prints, with the image's paths:
	// from the WORKDIR, registration first, and the -o directory made before any build.
	for _, env := range []string{"dev", "prod"} {
		_, jobs, err := loadFile(repoDir(t, "repo"), env, testOwner)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		p := deploycli.Script{
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
	// Two environments: one bad, one good. The good one's script is still printed and the
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

// A Prefect 3 file's script is the check, pools and deploy steps' execs
// (testdata/golden/script-p3.txt). The pipeline's own run on a real API (with its
// defaults, as the script assumes) must exec exactly those lines, the image aside,
// which the script leaves to $PREFECT_IMAGE, and the ECS settings of that run, which the
// script (knowing none) leaves out: the script cannot drift from the steps.
func TestScriptAllPrefect3(t *testing.T) {
	var out bytes.Buffer
	if err := ScriptAll(repoDir(t, "p3repo"), testOwner, &out); err != nil {
		t.Fatalf("ScriptAll: %v", err)
	}
	golden(t, "script-p3.txt", out.Bytes())

	srv := fakedagger.Start(t, fakedagger.WithHandler(handler3(nil)))
	var log bytes.Buffer
	rep, err := Run(context.Background(), connect(t, srv), p3Options(t, &log, remote3))
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, log.String())
	}
	lines := strings.Split(out.String(), "\n")
	execs := execsWith(srv, func(a []string) bool { return isCheck(a) || isTemplate(a) || isPools(a) || isAPIApply(a) })
	if len(execs) != 4 {
		t.Fatalf("%d check/template/pools/apply execs, want 4", len(execs))
	}
	for _, ex := range execs {
		argv := slices.Clone(ex.Args)
		if i := slices.Index(argv, rep.ImageRef); i >= 0 {
			argv[i] = deploycli.ImageFromEnv
		}
		if i := slices.Index(argv, remote3ECS[0]); i >= 0 && slices.Equal(argv[i:i+len(remote3ECS)], remote3ECS) {
			argv = slices.Delete(argv, i, i+len(remote3ECS))
		}
		line := deploycli.ScriptLine(argv)
		if isCheck(argv) {
			line += " > " + InspectedPath
		}
		if !slices.Contains(lines, line) || ex.Workdir != Workdir {
			t.Errorf("the pipeline ran %q in %s; the script lacks it:\n%s", line, ex.Workdir, out.String())
		}
	}
}

func TestScriptAllWithoutFiles(t *testing.T) {
	if err := ScriptAll(t.TempDir(), testOwner, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "no prefect-deployments-*.yaml") {
		t.Fatalf("err = %v", err)
	}
}
