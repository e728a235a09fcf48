package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"dagger.io/dagger"

	"github.com/acme-data/prefect-flows/ci/config"
	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/internal/fakedagger"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefect3test"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefectapitest"
)

func isTool(sub string) func([]string) bool {
	return func(a []string) bool { return len(a) > 1 && a[0] == "prefect-deploy" && a[1] == sub }
}

func isGoBuild(a []string) bool { return len(a) > 1 && a[0] == "go" && a[1] == "build" }

// checkToolExec: prefect-deploy runs in the registered image (after register and the
// infrastructure script), from the built binary, with the API URL and key only as
// secret variables, next to the deployments file, never from Dagger's cache.
func checkToolExec(t *testing.T, srv *fakedagger.Server, ex fakedagger.Exec, runID string) {
	t.Helper()
	if len(ex.Execs) != 2 || !isRegister(ex.Execs[0]) || !isInfra(ex.Execs[1]) {
		t.Errorf("%v does not run in the registered image: earlier execs %v", ex.Args, ex.Execs)
	}
	if ex.Files[ToolPath] != fakeTool {
		t.Errorf("%v: %s is not the binary go build wrote (%q)", ex.Args, ToolPath, ex.Files[ToolPath])
	}
	// The fake knows a host file by its path only: the recipe names where it came from.
	if !strings.Contains(ex.Recipe, `withFile(path:"`+Workdir+`/prefect-deployments-prod.yaml"`) ||
		!strings.Contains(ex.Recipe, `file(path:"prefect-deployments-prod.yaml")`) {
		t.Errorf("%v: the deployments file is not in %s:\n%s", ex.Args, Workdir, ex.Recipe)
	}
	if ex.Workdir != Workdir || ex.Env["CACHEBUSTER"] != runID {
		t.Errorf("%v: workdir %q CACHEBUSTER %q", ex.Args, ex.Workdir, ex.Env["CACHEBUSTER"])
	}
	for env, name := range map[string]string{"PREFECT_API_URL": "prefect-api-url", "PREFECT_API_KEY": "prefect-api-key"} {
		if ex.Secrets[env] != name {
			t.Errorf("%v: %s = secret %q, want %q", ex.Args, env, ex.Secrets[env], name)
		}
		if _, plain := ex.Env[env]; plain {
			t.Errorf("%v: %s is a plain variable", ex.Args, env)
		}
	}
	if v, _ := ex.SecretPlaintext("PREFECT_API_KEY"); v != secretKey {
		t.Errorf("the tool would see PREFECT_API_KEY=%q", v)
	}
	builds := execsWith(srv, isGoBuild)
	if len(builds) != 1 {
		t.Fatalf("go build ran %d times, want once per run", len(builds))
	}
	b := builds[0]
	if b.Base.From != GoImage || b.Workdir != "/src" || b.Env["CGO_ENABLED"] != "0" || len(b.Secrets) != 0 {
		t.Errorf("tool build: from %q workdir %q env %v secrets %v", b.Base.From, b.Workdir, b.Env, b.Secrets)
	}
	if !slices.Equal(b.Args, []string{"go", "build", "-trimpath", "-o", "/out/prefect-deploy", "./ci/cmd/prefect-deploy"}) {
		t.Errorf("tool build argv %v", b.Args)
	}
	if m := b.Mounts["/src"]; m.Directory == nil || m.Directory.HostPath != repoDir(t, "repo") {
		t.Errorf("tool build does not mount the repository at /src: %+v", b.Mounts["/src"])
	}
}

func TestVerifyAndPrune(t *testing.T) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(handler(nil)))
	c := connect(t, srv)
	var out bytes.Buffer
	o := prodOptions(t, c, &out)
	o.Prune = true
	rep, err := Run(context.Background(), c, o)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	rb, pr := execsWith(srv, isTool("read-back")), execsWith(srv, isTool("prune"))
	if len(rb) != 1 || len(pr) != 1 {
		t.Fatalf("read-back execs %d, prune execs %d, want 1 and 1", len(rb), len(pr))
	}
	if want := []string{"prefect-deploy", "read-back", "--owner", testOwner, "prefect-deployments-prod.yaml"}; !slices.Equal(rb[0].Args, want) {
		t.Errorf("read-back argv %v, want %v", rb[0].Args, want)
	}
	if want := []string{"prefect-deploy", "prune", "--yes", "--owner", testOwner, "prefect-deployments-prod.yaml"}; !slices.Equal(pr[0].Args, want) {
		t.Errorf("prune argv %v, want %v", pr[0].Args, want)
	}
	checkToolExec(t, srv, rb[0], "run-prod")
	checkToolExec(t, srv, pr[0], "run-prod")
	if rb[0].Recipe == pr[0].Recipe {
		t.Errorf("read-back and prune share a recipe")
	}
	if stepStatus(rep, "verify") != StepOK || stepStatus(rep, "prune") != StepOK {
		t.Errorf("verify %s, prune %s", stepStatus(rep, "verify"), stepStatus(rep, "prune"))
	}
	for _, want := range []string{"    | Read back 2 deployment(s): 0 patched, 0 drifted.", "    |   - deleted  hello/old"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, out.String())
		}
	}
	if leaks := srv.SecretLeaks(); len(leaks) != 0 {
		t.Errorf("secret plaintext leaked: %v", leaks)
	}
	if strings.Contains(out.String(), secretKey) || strings.Contains(out.String(), secretURL) {
		t.Errorf("secret in the log")
	}
}

func TestNoPruneWhenNotAskedOrAfterAFailure(t *testing.T) {
	for _, tc := range []struct {
		name               string
		prune              bool
		fail               map[string]bool
		wantVerify, wantPr StepStatus
		readBacks          int
	}{
		{"not asked", false, nil, StepOK, StepSkipped, 1},
		{"a deployment failed", true, map[string]bool{"etl-prod": true}, StepNotRun, StepNotRun, 0},
		{"drift", true, map[string]bool{"read-back": true}, StepFailed, StepNotRun, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakedagger.Start(t, fakedagger.WithHandler(handler(tc.fail)))
			c := connect(t, srv)
			var out bytes.Buffer
			o := prodOptions(t, c, &out)
			o.Prune = tc.prune
			rep, err := Run(context.Background(), c, o)
			if (err != nil) != (tc.fail != nil) {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			if n := len(execsWith(srv, isTool("prune"))); n != 0 {
				t.Errorf("prune ran %d times", n)
			}
			if n := len(execsWith(srv, isTool("read-back"))); n != tc.readBacks {
				t.Errorf("read-back ran %d times, want %d", n, tc.readBacks)
			}
			if got := stepStatus(rep, "verify"); got != tc.wantVerify {
				t.Errorf("verify %s, want %s", got, tc.wantVerify)
			}
			if got := stepStatus(rep, "prune"); got != tc.wantPr {
				t.Errorf("prune %s, want %s", got, tc.wantPr)
			}
			if tc.fail["read-back"] && !strings.Contains(err.Error(), "step verify") {
				t.Errorf("err = %v, want the verify step named", err)
			}
		})
	}
}

func TestEmbeddedSkipsVerifyAndPrune(t *testing.T) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(handler(nil)))
	var out bytes.Buffer
	o := devOptions(t, &out)
	o.Prune = true
	rep, err := Run(context.Background(), connect(t, srv), o)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if stepStatus(rep, "verify") != StepSkipped || stepStatus(rep, "prune") != StepSkipped {
		t.Errorf("verify %s, prune %s, want both skipped", stepStatus(rep, "verify"), stepStatus(rep, "prune"))
	}
	// The read-back lists the server with the same tool; verify and prune do not run it.
	if n := len(execsWith(srv, isGoBuild)); n != 1 {
		t.Errorf("the tool was built %d times in embedded mode, want 1 (for the read-back)", n)
	}
	for _, sub := range []string{"read-back", "prune"} {
		if n := len(execsWith(srv, isTool(sub))); n != 0 {
			t.Errorf("prefect-deploy %s ran %d times in embedded mode", sub, n)
		}
	}
	if n := len(execsWith(srv, isTool("list"))); n != 1 {
		t.Errorf("prefect-deploy list ran %d times, want 1", n)
	}
}

func TestPruneRefusesOnly(t *testing.T) {
	srv := fakedagger.Start(t)
	c := connect(t, srv)
	o := prodOptions(t, c, &bytes.Buffer{})
	o.Prune, o.Only = true, []string{"hello-prod"}
	if _, err := Run(context.Background(), c, o); err == nil || !strings.Contains(err.Error(), "PREFECT_PRUNE=1 cannot be combined with DEPLOY_ONLY") {
		t.Fatalf("err = %v", err)
	}
	_, err := config.FromEnv("dev", repoDir(t, "repo"), func(k string) string {
		return map[string]string{"PREFECT_PRUNE": "1", "DEPLOY_ONLY": "hello-a"}[k]
	})
	if err == nil || !strings.Contains(err.Error(), "PREFECT_PRUNE=1 cannot be combined with DEPLOY_ONLY") {
		t.Errorf("settings err = %v", err)
	}
	for v, want := range map[string]bool{"1": true, "true": true, "0": false, "": false} {
		s, err := config.FromEnv("dev", repoDir(t, "repo"), func(k string) string {
			return map[string]string{"PREFECT_PRUNE": v}[k]
		})
		if err != nil || s.Prune != want {
			t.Errorf("PREFECT_PRUNE=%q: prune %v err %v, want %v", v, s.Prune, err, want)
		}
	}
	if _, err := config.FromEnv("dev", repoDir(t, "repo"), func(k string) string {
		return map[string]string{"PREFECT_PRUNE": "yes please"}[k]
	}); err == nil {
		t.Errorf("PREFECT_PRUNE=yes please accepted")
	}
}

func TestPlanLive(t *testing.T) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(handler(nil)))
	c := connect(t, srv)
	o := prodOptions(t, c, &bytes.Buffer{})
	for i, id := range []string{"run-a", "run-b"} {
		o.RunID = func() string { return id }
		got, err := PlanLive(context.Background(), c, o)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(got, "Plan: 0 to create, 0 to update, 1 to delete, 2 unchanged.") {
			t.Errorf("plan output %q", got)
		}
		plans := execsWith(srv, isTool("plan"))
		if len(plans) != i+1 {
			t.Fatalf("plan execs = %d after run %d: a live plan must never come from the cache", len(plans), i+1)
		}
		ex := plans[i]
		if want := []string{"prefect-deploy", "plan", "--owner", testOwner, "prefect-deployments-prod.yaml"}; !slices.Equal(ex.Args, want) {
			t.Errorf("argv %v, want %v", ex.Args, want)
		}
		if ex.Base.From != GoImage || ex.Workdir != "/src" || ex.Files[ToolPath] != fakeTool || ex.Env["CACHEBUSTER"] != id {
			t.Errorf("plan exec: from %q workdir %q tool %q CACHEBUSTER %q", ex.Base.From, ex.Workdir, ex.Files[ToolPath], ex.Env["CACHEBUSTER"])
		}
		if ex.Secrets["PREFECT_API_URL"] != "prefect-api-url" || ex.Secrets["PREFECT_API_KEY"] != "prefect-api-key" {
			t.Errorf("secrets %v", ex.Secrets)
		}
		if _, plain := ex.Env["PREFECT_API_URL"]; plain {
			t.Errorf("PREFECT_API_URL is a plain variable")
		}
	}
	if n := len(execsWith(srv, isGoBuild)); n != 1 {
		t.Errorf("go build ran %d times for two plans of the same source, want 1 (cached)", n)
	}
	if leaks := srv.SecretLeaks(); len(leaks) != 0 {
		t.Errorf("secret plaintext leaked: %v", leaks)
	}

	srv.SetHandler(handler(map[string]bool{"plan": true}))
	o.RunID = func() string { return "run-c" }
	// One line: what the command said last, and its exit code (pytrace.Failure).
	if _, err := PlanLive(context.Background(), c, o); err == nil || !strings.HasPrefix(err.Error(), "live plan: ") ||
		!strings.HasSuffix(err.Error(), "(exit code 1)") || strings.Contains(err.Error(), "\n") {
		t.Errorf("failing plan: err = %v, want one line ending in (exit code 1)", err)
	}
}

func TestPlanLiveChecksBeforeTheEngine(t *testing.T) {
	srv := fakedagger.Start(t)
	c := connect(t, srv)
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"no API URL", Options{Config: config.Config{Env: "dev", SourceDir: repoDir(t, "repo")}}, "PREFECT_API_URL is not set"},
		{"invalid file", Options{Config: config.Config{Env: "dev", SourceDir: repoDir(t, "badrepo"), PrefectAPIURL: config.FromDagger(&dagger.Secret{})}}, "deployments[1].entrypoint"},
		{"no file", Options{Config: config.Config{Env: "staging", SourceDir: repoDir(t, "repo"), PrefectAPIURL: config.FromDagger(&dagger.Secret{})}}, "has no deployments file"},
	} {
		if _, err := PlanLive(context.Background(), c, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d engine requests", n)
	}
}

// TestPlanLiveLocal: mage's live plan runs the CLI in this process against the API.
func TestPlanLiveLocal(t *testing.T) {
	api := prefectapitest.New(t, prefectapitest.Empty())
	var stdout, stderr bytes.Buffer
	err := PlanLiveLocal(context.Background(), repoDir(t, "repo"), "dev", []string{"PREFECT_API_URL=" + api.URL}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("PlanLiveLocal: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "Plan: 5 to create, 0 to update, 0 to delete, 0 unchanged.") {
		t.Errorf("plan:\n%s", stdout.String())
	}
	if len(api.Requests()) == 0 {
		t.Errorf("the API was not asked")
	}

	stdout.Reset()
	err = PlanLiveLocal(context.Background(), repoDir(t, "repo"), "dev", nil, &stdout, &stderr)
	if err == nil || !strings.Contains(stderr.String(), "PREFECT_API_URL is not set") {
		t.Errorf("without PREFECT_API_URL: err %v, stderr %q", err, stderr.String())
	}
}

// TestEmbeddedReadBackListsEveryDeployment: the embedded read-back is prefect-deploy's
// list, run in the registered image against the bound server. Here the fake engine runs
// the real command against a fake Prefect API holding more deployments than one page
// (the inline Python it replaced stopped at 200).
func TestEmbeddedReadBackListsEveryDeployment(t *testing.T) {
	api := prefectapitest.New(t, prefectapitest.Empty())
	for i := range 250 {
		api.AddDeployment(prefectapitest.Seed{Flow: "hello", Name: fmt.Sprintf("d-%03d", i), Tags: []string{"dev"}})
	}
	var listEnv map[string]string
	var bound bool
	play := handler(nil)
	srv := fakedagger.Start(t, fakedagger.WithHandler(func(ex fakedagger.Exec) fakedagger.ExecResult {
		if !isTool("list")(ex.Args) {
			return play(ex)
		}
		listEnv, bound = ex.Env, ex.Services["prefect"] != nil
		var stdout, stderr bytes.Buffer
		code := deploycli.Main(context.Background(), ex.Args[1:], &stdout, &stderr, []string{"PREFECT_API_URL=" + api.URL})
		return fakedagger.ExecResult{ExitCode: code, Stdout: stdout.String(), Stderr: stderr.String()}
	}))
	var out bytes.Buffer
	rep, err := Run(context.Background(), connect(t, srv), devOptions(t, &out))
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if got := stepStatus(rep, "read-back"); got != StepOK {
		t.Fatalf("read-back %s, want ok:\n%s", got, out.String())
	}
	if listEnv["PREFECT_API_URL"] != EmbeddedAPIURL || !bound {
		t.Errorf("list ran with PREFECT_API_URL=%q, server bound %v; want %s and the binding", listEnv["PREFECT_API_URL"], bound, EmbeddedAPIURL)
	}
	log := out.String()
	for _, want := range []string{"250 deployment(s) on the embedded server", "hello/d-000  ", "hello/d-249  "} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// deployed3 is a fake Prefect 3 API holding p3repo's dev deployments as prefect-deploy
// wrote them with image and remote3's ECS settings (owner testOwner), after creating the
// pool the fake lacks.
func deployed3(t *testing.T, image string) (*prefect3test.Server, string) {
	t.Helper()
	api := prefect3test.New(t)
	file := filepath.Join(repoDir(t, "p3repo"), "prefect-deployments-dev.yaml")
	inspected, err := filepath.Abs("testdata/planlive3/inspected.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"pools", "--type", "process", "--any-type", file},
		append(append([]string{"apply", "--runner", "api", "--owner", testOwner, "--inspected", inspected, "--image", image}, remote3ECS...), file),
	} {
		var stdout, stderr bytes.Buffer
		if code := deploycli.Main(context.Background(), args, &stdout, &stderr, []string{"PREFECT_API_URL=" + api.URL}); code != deploycli.ExitOK {
			t.Fatalf("prefect-deploy %s: exit %d\n%s\n%s", args[0], code, stdout.String(), stderr.String())
		}
	}
	return api, file
}

// TestPlanLivePrefect3: the live plan of a Prefect 3 file, from the Dagger module
// (PlanLive) and from mage (PlanLiveLocal), compares job_variables.image with the image
// the deploy would send: without REGISTRY the local name, exactly; with it the
// repository pushed to, whose digest only the push gives (testdata/planlive3).
func TestPlanLivePrefect3(t *testing.T) {
	raw, err := os.ReadFile("testdata/planlive3/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name, Applied  string
		Vars           map[string]string
		WantArgs, Want []string
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			api, file := deployed3(t, tc.Applied)
			var planArgs []string
			play := handler3(nil)
			srv := fakedagger.Start(t, fakedagger.WithHandler(func(ex fakedagger.Exec) fakedagger.ExecResult {
				if !isTool("plan")(ex.Args) {
					return play(ex)
				}
				planArgs = ex.Args
				args := slices.Clone(ex.Args[1:])
				args[len(args)-1] = file
				var stdout, stderr bytes.Buffer
				code := deploycli.Main(context.Background(), args, &stdout, &stderr, []string{"PREFECT_API_URL=" + api.URL})
				return fakedagger.ExecResult{ExitCode: code, Stdout: stdout.String(), Stderr: stderr.String()}
			}))
			vars := maps.Clone(remote3)
			delete(vars, "REGISTRY")
			delete(vars, "IMAGE_REPOSITORY")
			// mage reads the ECS settings from its environment, as the deploy got them.
			environ := []string{"PREFECT_API_URL=" + api.URL, "PREFECT_OWNER=" + testOwner,
				"ECS_CLUSTER=" + remote3["ECS_CLUSTER"], "ECS_EXECUTION_ROLE_ARN=" + remote3["ECS_EXECUTION_ROLE_ARN"], "AWS_REGION=" + remote3["AWS_REGION"]}
			for k, v := range tc.Vars {
				vars[k] = v
				environ = append(environ, k+"="+v)
			}
			got, err := PlanLive(context.Background(), connect(t, srv), p3Options(t, &bytes.Buffer{}, vars))
			if err != nil {
				t.Fatalf("PlanLive: %v", err)
			}
			// The ECS settings too: the plan compares the job variables the deploy writes.
			want := append(append(append([]string{"prefect-deploy", "plan", "--owner", testOwner}, tc.WantArgs...), remote3ECS...), "prefect-deployments-dev.yaml")
			if !slices.Equal(planArgs, want) {
				t.Errorf("plan exec %q, want %q", planArgs, want)
			}
			var local, stderr bytes.Buffer
			if err := PlanLiveLocal(context.Background(), repoDir(t, "p3repo"), "dev", environ, &local, &stderr); err != nil {
				t.Fatalf("PlanLiveLocal: %v\n%s", err, stderr.String())
			}
			for _, w := range tc.Want {
				if !strings.Contains(got, w) {
					t.Errorf("dagger plan lacks %q:\n%s", w, got)
				}
				if !strings.Contains(local.String(), w) {
					t.Errorf("mage plan lacks %q:\n%s", w, local.String())
				}
			}
		})
	}
}
