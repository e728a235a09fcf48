package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"dagger.io/dagger"

	"github.com/acme-data/prefect-flows/ci/config"
	"github.com/acme-data/prefect-flows/ci/internal/fakedagger"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// Plaintexts the tests hand to SetSecret; none may show up anywhere but setSecret.
const (
	secretURL      = "https://api.prefect.example/api/accounts/acc-5ecret/workspaces/ws-5ecret"
	secretKey      = "pnu_TOPSECRETKEY0123456789"
	secretRegistry = "ghp_REGISTRYTOKEN987654321"
	secretAWSID    = "AKIASECRETKEYID00001"
	secretAWSKey   = "aws/SECRET+ACCESS/key/0000000000"
)

func repoDir(t *testing.T, name string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// handler plays the commands the pipeline runs like the image would. fail[name] makes
// that deployment's build fail; fail["crash:"+name] and fail["cut:"+name] make a batch
// runner die on it (see playRunner).
func handler(fail map[string]bool) fakedagger.ExecHandler {
	return handlerWith(fail, newFakeBlocks(nil))
}

// handlerWith is handler with the infrastructure blocks of the Prefect API in blocks:
// the block script saves them, blocks.py reads and restores them.
func handlerWith(fail map[string]bool, blocks *fakeBlocks) fakedagger.ExecHandler {
	var h fakedagger.ExecHandler
	h = func(ex fakedagger.Exec) fakedagger.ExecResult {
		a := ex.Args
		switch {
		case isBlocks(a):
			return blocks.play(ex, fail)
		case isBatch(a):
			return playRunner(ex, h, fail)
		case isCheck(a):
			return playCheck(ex, fail)
		case len(a) >= 3 && a[0] == "prefect" && a[1] == "deployment" && a[2] == "build":
			name := argAfter(a, "-n")
			if res, ok := outputDirMissing(ex, argAfter(a, "-o")); ok {
				return res
			}
			if fail[name] {
				return fakedagger.ExecResult{ExitCode: 1, Stdout: "Flow function with name 'nope' not found in 'flows/hello.py'.\n"}
			}
			return fakedagger.ExecResult{Stdout: fmt.Sprintf(
				"Deployment 'x/%s' successfully created with id \n'%s'.\n", name, fakeID(name))}
		case len(a) >= 2 && a[0] == "prefect" && a[1] == "block":
			return fakedagger.ExecResult{Stdout: "Successfully registered 2 blocks\n"}
		case len(a) == 4 && runsProgram(a, HealthProgram):
			if res, ok := programMissing(ex, HealthProgram); !ok {
				return res
			}
			return fakedagger.ExecResult{Stdout: "healthy after 1 attempt(s)\n"}
		case len(a) == 2 && a[0] == "python":
			return blocks.save(ex, fail)
		case len(a) > 2 && a[0] == "go" && a[1] == "build":
			return fakedagger.ExecResult{Files: map[string]string{argAfter(a, "-o"): fakeTool}}
		case isAPIApply(a):
			return playAPIApply(ex, fail)
		case len(a) > 2 && a[0] == "prefect-deploy":
			// fail["read-back"], fail["prune"], fail["plan"] make that subcommand fail as
			// the CLI does (exit 1, the reason on stderr).
			if fail[a[1]] {
				return fakedagger.ExecResult{ExitCode: 1, Stdout: "Read back 2 deployment(s): 0 patched, 1 drifted.\n", Stderr: "prefect-deploy: 1 deployment(s) differ from the file after apply: hello/hello-prod\n"}
			}
			switch a[1] {
			case "list":
				return fakedagger.ExecResult{Stdout: "hello/hello-a  flows/hello.py:hello  no schedule  queue=default  tags=dev\n5 deployment(s) on the embedded server\n"}
			case "read-back":
				return fakedagger.ExecResult{Stdout: "Read back 2 deployment(s): 0 patched, 0 drifted.\n"}
			case "prune":
				return fakedagger.ExecResult{Stdout: "Read back 2 deployment(s): 0 patched, 0 drifted.\n\nPrune will delete 1 deployment(s) (and their scheduled runs):\n  - hello/old  (id 0)\n  - deleted  hello/old\n"}
			case "plan":
				return fakedagger.ExecResult{Stdout: "Live plan for prefect-deployments-prod.yaml\n\nPlan: 0 to create, 0 to update, 1 to delete, 2 unchanged.\n"}
			}
		}
		return fakedagger.ExecResult{ExitCode: 127, Stderr: "unexpected command " + strings.Join(a, " ")}
	}
	return h
}

// outputDirMissing plays Prefect 2.14's `deployment build -o FILE` when FILE's directory
// does not exist: it writes the YAML with a bare open(FILE, "w") before it applies, so
// the build dies with an unexpected exception (exit 1).
func outputDirMissing(ex fakedagger.Exec, file string) (fakedagger.ExecResult, bool) {
	if file == "" || ex.DirExists(path.Dir(file)) {
		return fakedagger.ExecResult{}, false
	}
	return fakedagger.ExecResult{
		ExitCode: 1,
		Stdout:   "An exception occurred.\n",
		Stderr: "Traceback (most recent call last):\n" +
			"  File \"/usr/local/lib/python3.11/site-packages/prefect/cli/deployment.py\", line 1188, in build\n" +
			"    with open(output_file, \"w\") as f:\n" +
			"FileNotFoundError: [Errno 2] No such file or directory: '" + file + "'\n",
	}, true
}

// fakeTool stands for the prefect-deploy binary that `go build` writes.
const fakeTool = "\x7fELF prefect-deploy for the fake engine"

func argAfter(args []string, flag string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			return args[i+1]
		}
	}
	return ""
}

func fakeID(name string) string {
	h := fmt.Sprintf("%032x", len(name)*7919)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func connect(t *testing.T, srv *fakedagger.Server) *dagger.Client {
	t.Helper()
	c, err := srv.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// devOptions and prodOptions pin DEPLOY_RUNNER=batch: most tests here are about the
// batch and cli runners' execs; the api runner (the default) has apideploy_test.go.
func devOptions(t *testing.T, out *bytes.Buffer) Options {
	return Options{
		Config: config.Config{
			Runner:    RunnerBatch,
			Env:       "dev",
			SourceDir: repoDir(t, "repo"),
			BaseImage: "python:3.11-slim",
		},
		Out:   out,
		RunID: func() string { return "run-1" },
	}
}

// prodOptions goes through config.FromEnv and LocalOptions, as mage does, so the env-variable path is covered.
func prodOptions(t *testing.T, c *dagger.Client, out *bytes.Buffer) Options {
	t.Helper()
	env := map[string]string{
		"PREFECT_API_URL":        secretURL,
		"PREFECT_API_KEY":        secretKey,
		"REGISTRY":               "registry.example:5000",
		"IMAGE_REPOSITORY":       "acme/prefect-flows",
		"REGISTRY_USERNAME":      "ci-bot",
		"REGISTRY_PASSWORD":      secretRegistry,
		"GIT_SHA":                "abc1234",
		"ECS_CLUSTER":            "prod-cluster",
		"ECS_EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/exec",
		"ECS_CPU":                "1024",
		"AWS_REGION":             "eu-west-1",
		"AWS_ACCESS_KEY_ID":      secretAWSID,
		"AWS_SECRET_ACCESS_KEY":  secretAWSKey,
		"DEPLOY_RUNNER":          RunnerBatch,
	}
	s, err := config.FromEnv("prod", repoDir(t, "repo"), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	o := LocalOptions(s, out)
	o.PrefectAPI = nil // the URL names no server; preflight_test.go gives it one
	o.RunID = func() string { return "run-prod" }
	return o
}

func execsWith(srv *fakedagger.Server, pred func([]string) bool) []fakedagger.Exec {
	var out []fakedagger.Exec
	for _, r := range srv.Execs() {
		if pred(r.Exec.Args) {
			out = append(out, r.Exec)
		}
	}
	return out
}

func isDeploy(a []string) bool {
	return len(a) > 2 && a[0] == "prefect" && a[1] == "deployment" && a[2] == "build"
}
func isRegister(a []string) bool { return len(a) > 1 && a[0] == "prefect" && a[1] == "block" }
func isInfra(a []string) bool    { return len(a) == 2 && a[0] == "python" }

func TestEmbeddedDev(t *testing.T) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(handler(nil)))
	var out bytes.Buffer
	summary := filepath.Join(t.TempDir(), "summary.md")
	o := devOptions(t, &out)
	o.StepSummaryPath = summary
	rep, err := Run(context.Background(), connect(t, srv), o)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}

	// The build: the whole repository minus local state, with the base image override.
	builds := srv.Builds()
	if len(builds) != 1 {
		t.Fatalf("builds = %d, want 1", len(builds))
	}
	b := builds[0]
	if b.Context.HostPath != o.SourceDir || !slices.Equal(b.Context.Exclude, SourceExcludes) {
		t.Errorf("build context = %q excluding %q, want %q excluding %q", b.Context.HostPath, b.Context.Exclude, o.SourceDir, SourceExcludes)
	}
	if b.Dockerfile != "Dockerfile" || len(b.BuildArgs) != 1 || b.BuildArgs["BASE_IMAGE"] != "python:3.11-slim" {
		t.Errorf("build = %s with %v, want Dockerfile with BASE_IMAGE=python:3.11-slim", b.Dockerfile, b.BuildArgs)
	}
	if len(srv.Publishes()) != 0 {
		t.Errorf("published %d times without a registry", len(srv.Publishes()))
	}

	// The embedded server: same image, started once, on 0.0.0.0:4200.
	svcs := srv.Services()
	if len(svcs) != 1 {
		t.Fatalf("services = %d, want 1", len(svcs))
	}
	// One server for the whole run: registration and deployments must see one database.
	if svcs[0].Starts != 1 {
		t.Errorf("embedded server started %d times, want once", svcs[0].Starts)
	}
	svc := svcs[0].Service
	wantArgs := []string{"prefect", "server", "start", "--host", "0.0.0.0", "--port", "4200"}
	if !slices.Equal(svc.Args, wantArgs) || !slices.Equal(svc.Container.ExposedPorts, []int{4200}) {
		t.Errorf("service %v ports %v, want %v on 4200", svc.Args, svc.Container.ExposedPorts, wantArgs)
	}
	if svc.Container.Base.Build == nil || svc.Container.Base.Build.Recipe != b.Recipe {
		t.Errorf("service does not run the built image")
	}
	for k, v := range map[string]string{"PREFECT_UI_ENABLED": "false", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "CACHEBUSTER": "run-1"} {
		if svc.Container.Env[k] != v {
			t.Errorf("service env %s = %q, want %q", k, svc.Container.Env[k], v)
		}
	}

	// Everything that talks to Prefect talks to that server, from the Dockerfile's WORKDIR.
	talk := execsWith(srv, func(a []string) bool { return isRegister(a) || isInfra(a) || isDeploy(a) || isBatch(a) })
	// The default runner: register, infra, and one runner.py exec per share.
	if len(talk) != 2+DefaultBatchShares || len(execsWith(srv, isBatch)) != DefaultBatchShares {
		t.Fatalf("register+infra+deploy execs = %d, want %d: %v", len(talk), 2+DefaultBatchShares, talk)
	}
	if got := deployNames(t, srv); !slices.Equal(got, []string{"etl-all", "etl-eu", "etl-us", "hello-a", "hello-b"}) {
		t.Errorf("deployments built: %v", got)
	}
	for _, ex := range talk {
		if ex.Services["prefect"] == nil || ex.Services["prefect"].Recipe != svc.Recipe {
			t.Errorf("%v: not bound to the embedded server as \"prefect\"", ex.Args)
		}
		if ex.Env["PREFECT_API_URL"] != "http://prefect:4200/api" || ex.Workdir != "/opt/prefect" {
			t.Errorf("%v: PREFECT_API_URL=%q workdir %q", ex.Args, ex.Env["PREFECT_API_URL"], ex.Workdir)
		}
		if ex.Env["PREFECT_IMAGE"] != "prefect-flows:dev" {
			t.Errorf("%v: PREFECT_IMAGE=%q, want the unpublished prefect-flows:dev", ex.Args, ex.Env["PREFECT_IMAGE"])
		}
		if !strings.HasPrefix(ex.Env["ECS_CLUSTER"], "embedded-placeholder") {
			t.Errorf("%v: ECS_CLUSTER=%q, want a placeholder", ex.Args, ex.Env["ECS_CLUSTER"])
		}
	}
	health := execsWith(srv, func(a []string) bool {
		return slices.Equal(a, []string{"python", "-u", "/tmp/prefect-flows-ci/ci/pipeline/health.py", "http://prefect:4200/api/health"})
	})
	if len(health) != 1 || health[0].Services["prefect"] == nil {
		t.Errorf("health check execs = %d, want 1 bound to the server", len(health))
	}

	log := out.String()
	for _, want := range []string{
		"NOTHING reaches the real Prefect",
		"| hello/hello-a  flows/hello.py:hello  no schedule",
		"5 deployment(s) on the embedded server",
		"REGISTRY is not set: the image was NOT published",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	wantSteps := map[string]StepStatus{"validate": StepOK, "image": StepOK, "publish": StepSkipped, "server": StepOK, "register": StepOK, "deploy": StepOK, "read-back": StepOK}
	for _, s := range rep.Steps {
		if w, ok := wantSteps[s.Name]; ok && s.Status != w {
			t.Errorf("step %s = %s, want %s", s.Name, s.Status, w)
		}
		delete(wantSteps, s.Name)
	}
	if len(wantSteps) != 0 {
		t.Errorf("steps missing from the report: %v", wantSteps)
	}
	if !rep.Embedded || rep.Published || len(rep.Deployments) != 5 {
		t.Errorf("report: embedded %v published %v deployments %d", rep.Embedded, rep.Published, len(rep.Deployments))
	}
	md, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Prefect deploy: dev", "Embedded mode", "| deploy | ok |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("step summary lacks %q:\n%s", want, md)
		}
	}
	// The deployments table is ci/prefectcli's; only its presence is this package's business.
	if !regexp.MustCompile(`(?m)^\| etl\\?-eu \|`).Match(md) {
		t.Errorf("step summary has no row for etl-eu:\n%s", md)
	}
}

func TestRemoteProdPublishAndSecrets(t *testing.T) {
	for _, runner := range []string{RunnerBatch, RunnerCLI} {
		t.Run(runner, func(t *testing.T) { testRemoteProd(t, runner) })
	}
}

func testRemoteProd(t *testing.T, runner string) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(handler(nil)))
	c := connect(t, srv)
	var out bytes.Buffer
	o := prodOptions(t, c, &out)
	o.Runner = runner
	rep, err := Run(context.Background(), c, o)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}

	pubs := srv.Publishes()
	if len(pubs) != 2 {
		t.Fatalf("publishes = %d, want 2", len(pubs))
	}
	var addrs []string
	for _, p := range pubs {
		addrs = append(addrs, p.Address)
		if len(p.Auth) != 1 || p.Auth[0] != (fakedagger.RegistryAuth{Address: "registry.example:5000", Username: "ci-bot", Secret: "registry-password"}) {
			t.Errorf("publish %s auth = %+v", p.Address, p.Auth)
		}
	}
	sort.Strings(addrs)
	if want := []string{"registry.example:5000/acme/prefect-flows:prod", "registry.example:5000/acme/prefect-flows:prod-abc1234"}; !slices.Equal(addrs, want) {
		t.Errorf("published %v, want %v", addrs, want)
	}
	// PREFECT_IMAGE is the digest ref of <env>-<sha>, pushed first (promote moves <env> later).
	var envRef string
	for _, p := range pubs {
		if p.Address == "registry.example:5000/acme/prefect-flows:prod-abc1234" {
			envRef = p.Ref
		}
	}
	if !strings.Contains(envRef, "@sha256:") || rep.ImageRef != envRef || !rep.Published {
		t.Errorf("report image %q published %v, want the digest ref %q", rep.ImageRef, rep.Published, envRef)
	}
	infra := execsWith(srv, isInfra)
	if len(infra) != 1 || infra[0].Env["PREFECT_IMAGE"] != envRef {
		t.Fatalf("infra execs %d, PREFECT_IMAGE %q, want %q", len(infra), infra[0].Env["PREFECT_IMAGE"], envRef)
	}
	if got := infra[0].Args; !slices.Equal(got, []string{"python", "infrastructure/ecs-task-prod.py"}) {
		t.Errorf("infra argv %v", got)
	}
	for k, v := range map[string]string{"ECS_CLUSTER": "prod-cluster", "ECS_EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/exec", "ECS_CPU": "1024", "AWS_REGION": "eu-west-1"} {
		if infra[0].Env[k] != v {
			t.Errorf("infra env %s = %q, want %q", k, infra[0].Env[k], v)
		}
	}

	// Secrets reach the commands only as secret variables, by name.
	wantSecrets := map[string]string{"PREFECT_API_URL": "prefect-api-url", "PREFECT_API_KEY": "prefect-api-key"}
	talk := execsWith(srv, func(a []string) bool { return isRegister(a) || isInfra(a) || isDeploy(a) || isBatch(a) })
	if n := len(execsWith(srv, isBatch)); (runner == RunnerBatch) != (n > 0) || (runner == RunnerCLI) != (len(execsWith(srv, isDeploy)) > 0) {
		t.Errorf("runner %s: %d batch execs, %d deploy execs", runner, n, len(execsWith(srv, isDeploy)))
	}
	for _, ex := range talk {
		for env, name := range wantSecrets {
			if ex.Secrets[env] != name {
				t.Errorf("%v: secret variable %s = %q, want secret %q", ex.Args[:2], env, ex.Secrets[env], name)
			}
			if _, plain := ex.Env[env]; plain {
				t.Errorf("%v: %s is a plain env variable", ex.Args[:2], env)
			}
		}
		if v, _ := ex.SecretPlaintext("PREFECT_API_KEY"); v != secretKey {
			t.Errorf("the command would see PREFECT_API_KEY=%q", v)
		}
		if len(ex.Services) != 0 {
			t.Errorf("%v: bound to a service in remote mode", ex.Args[:2])
		}
	}
	if infra[0].Secrets["AWS_ACCESS_KEY_ID"] != "aws-access-key-id" || infra[0].Secrets["AWS_SECRET_ACCESS_KEY"] != "aws-secret-access-key" {
		t.Errorf("AWS keys not secret variables: %v", infra[0].Secrets)
	}
	if len(srv.Services()) != 0 {
		t.Errorf("remote mode started %d services", len(srv.Services()))
	}
	if leaks := srv.SecretLeaks(); len(leaks) != 0 {
		t.Errorf("secret plaintext leaked: %v", leaks)
	}
	log := out.String()
	for _, s := range []string{secretURL, secretKey, secretRegistry, secretAWSID, secretAWSKey} {
		if strings.Contains(log, s) {
			t.Errorf("log line holds a secret plaintext")
		}
		for _, r := range srv.Execs() {
			for _, a := range r.Exec.Args {
				if strings.Contains(a, s) {
					t.Errorf("argv %v holds a secret plaintext", r.Exec.Args[:2])
				}
			}
		}
	}
	if len(srv.Secrets()) == 0 {
		t.Errorf("no setSecret reached the engine: the leak checks above prove nothing")
	}

	// One golden set for both runners.
	golden(t, "prod-execs.json", execArgvs(t, srv))
}

// execArgvs is every register and infra argv, then every deployment's `prefect` argv
// sorted by name (they run concurrently, so their order is not part of the contract):
// the exec's argv for the CLI runner, the jobs file's argv for the batch runner.
func execArgvs(t *testing.T, srv *fakedagger.Server) []byte {
	var reg [][]string
	for _, r := range srv.Execs() {
		if a := r.Exec.Args; isRegister(a) || isInfra(a) {
			reg = append(reg, a)
		}
	}
	deploys := deployArgvs(t, srv)
	sort.Slice(deploys, func(i, j int) bool { return argAfter(deploys[i], "-n") < argAfter(deploys[j], "-n") })
	var b bytes.Buffer
	for _, a := range append(reg, deploys...) {
		js, _ := json.Marshal(a)
		b.Write(js)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestDevGoldenArgv(t *testing.T) {
	for _, runner := range []string{RunnerBatch, RunnerCLI} {
		t.Run(runner, func(t *testing.T) {
			srv := fakedagger.Start(t, fakedagger.WithHandler(handler(nil)))
			var out bytes.Buffer
			o := devOptions(t, &out)
			o.Runner = runner
			if _, err := Run(context.Background(), connect(t, srv), o); err != nil {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			// One golden set for both runners: what the batch runner hands
			// prefect.cli.app is the argv the CLI runner execs.
			golden(t, "dev-execs.json", execArgvs(t, srv))
			// Each deployment runs once, with its own output file; every exec starts
			// from the registered image (after register and infra).
			seen := map[string]bool{}
			for _, a := range deployArgvs(t, srv) {
				o := argAfter(a, "-o")
				if seen[o] {
					t.Errorf("output file %s shared", o)
				}
				seen[o] = true
			}
			if len(seen) != 5 {
				t.Errorf("%d deployments built, want 5", len(seen))
			}
			for _, ex := range execsWith(srv, func(a []string) bool { return isDeploy(a) || isBatch(a) }) {
				if len(ex.Execs) != 2 || !isRegister(ex.Execs[0]) || !isInfra(ex.Execs[1]) {
					t.Errorf("%v does not start from the registered image: earlier execs %v", ex.Args, ex.Execs)
				}
				if runner == RunnerCLI && isBatch(ex.Args) || runner == RunnerBatch && isDeploy(ex.Args) {
					t.Errorf("runner %s ran %v", runner, ex.Args)
				}
			}
		})
	}
}

func TestCacheBusting(t *testing.T) {
	for _, tc := range []struct {
		name      string
		remote    bool
		sameRunID bool
		wantCalls int
	}{
		{"embedded, new run ID each run", false, false, 2},
		// Remote mode has no per-run service in the chain: the cache buster alone must
		// make the second run execute again.
		{"remote, new run ID each run", true, false, 2},
		// The control: without a new cache buster the fake (like the engine) answers
		// from its cache, which is what the run ID exists to prevent.
		{"remote, same run ID: served from the cache", true, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakedagger.Start(t, fakedagger.WithHandler(handler(nil)))
			c := connect(t, srv)
			env := "dev"
			for i := range 2 {
				var out bytes.Buffer
				o := devOptions(t, &out)
				if tc.remote {
					o, env = prodOptions(t, c, &out), "prod"
				}
				id := fmt.Sprintf("run-%d", i)
				if tc.sameRunID {
					id = "run-same"
				}
				o.RunID = func() string { return id }
				if _, err := Run(context.Background(), c, o); err != nil {
					t.Fatalf("run %d: %v\n%s", i, err, out.String())
				}
			}
			reg := []string{"prefect", "block", "register", "-m", "prefect_aws.ecs"}
			if n := srv.ExecCalls(reg...); n != tc.wantCalls {
				t.Errorf("block register ran %d times, want %d", n, tc.wantCalls)
			}
			if n := srv.ExecCalls("python", "infrastructure/ecs-task-"+env+".py"); n != tc.wantCalls {
				t.Errorf("infra script ran %d times, want %d", n, tc.wantCalls)
			}
			deploys := execsWith(srv, func(a []string) bool { return isDeploy(a) || isBatch(a) })
			if len(deploys) == 0 {
				t.Fatal("no deployment ran")
			}
			for _, ex := range deploys {
				if n := srv.ExecCalls(ex.Args...); n != tc.wantCalls {
					t.Errorf("%v ran %d times, want %d", ex.Args, n, tc.wantCalls)
				}
			}
		})
	}
}

func TestConcurrencyBound(t *testing.T) {
	for _, runner := range []string{RunnerBatch, RunnerCLI} {
		t.Run(runner, func(t *testing.T) { testConcurrencyBound(t, runner) })
	}
}

// testConcurrencyBound: with the CLI runner at most 2 builds run at once; with the
// batch runner, 2 runner.py execs (shares) run at once, each with its share.
func testConcurrencyBound(t *testing.T, runner string) {
	// The first two execs wait for each other, so the bound is reached for certain;
	// a third one in flight at once would break the bound of 2.
	var mu sync.Mutex
	arrived := 0
	both := make(chan struct{})
	h := handler(nil)
	srv := fakedagger.Start(t, fakedagger.WithHandler(func(ex fakedagger.Exec) fakedagger.ExecResult {
		if isDeploy(ex.Args) || isBatch(ex.Args) {
			mu.Lock()
			arrived++
			if arrived == 2 {
				close(both)
			}
			first := arrived <= 2
			mu.Unlock()
			if first {
				select {
				case <-both:
				case <-time.After(10 * time.Second):
				}
			}
			r := h(ex)
			r.Delay = 20 * time.Millisecond
			return r
		}
		return h(ex)
	}))
	var out bytes.Buffer
	o := devOptions(t, &out)
	o.Concurrency, o.Runner = 2, runner
	if _, err := Run(context.Background(), connect(t, srv), o); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if got := deployNames(t, srv); len(got) != 5 {
		t.Fatalf("deployments built = %v, want 5", got)
	}
	if runner == RunnerBatch {
		if n := len(execsWith(srv, isBatch)); n != 2 {
			t.Errorf("runner.py execs = %d, want 2 (one per share)", n)
		}
		if n := len(execsWith(srv, isDeploy)); n != 0 {
			t.Errorf("%d prefect execs: nothing should have needed the fallback", n)
		}
	}
	if got := srv.MaxConcurrentExecs(); got != 2 {
		t.Errorf("max execs in flight = %d, want 2", got)
	}
}

func TestFailingDeployment(t *testing.T) {
	for _, runner := range []string{RunnerBatch, RunnerCLI} {
		t.Run(runner, func(t *testing.T) { testFailingDeployment(t, runner) })
	}
}

func testFailingDeployment(t *testing.T, runner string) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(handler(map[string]bool{"etl-us": true})))
	var out bytes.Buffer
	o := devOptions(t, &out)
	o.Runner = runner
	rep, err := Run(context.Background(), connect(t, srv), o)
	if err == nil {
		t.Fatalf("Run succeeded with a failing deployment")
	}
	if !strings.Contains(err.Error(), "step deploy") || !strings.Contains(err.Error(), "etl-us") {
		t.Errorf("error %q does not name the step and the deployment", err)
	}
	if got := deployNames(t, srv); len(got) != 5 {
		t.Errorf("deployments built = %v, want all 5", got)
	}
	if strings.Contains(out.String(), "running it once more") {
		t.Errorf("a failed build is the build's result, not a reason to retry:\n%s", out.String())
	}
	statuses := map[string]prefectcli.Status{}
	for _, r := range rep.Deployments {
		statuses[r.Name] = r.Status
	}
	for _, name := range []string{"hello-a", "hello-b", "etl-eu", "etl-all"} {
		if statuses[name] != prefectcli.StatusSucceeded {
			t.Errorf("%s = %s, want succeeded", name, statuses[name])
		}
	}
	if statuses["etl-us"] != prefectcli.StatusFailed {
		t.Errorf("etl-us = %s, want failed", statuses["etl-us"])
	}
	for _, r := range rep.Deployments {
		if r.Name == "etl-us" && (r.ExitCode != 1 || !strings.Contains(r.Stdout, "not found")) {
			t.Errorf("failed result lacks the exit code and output: %+v", r)
		}
	}
	log := out.String()
	for _, want := range []string{"Flow function with name 'nope' not found", "FAILED", "etl-us"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	// What did reach the throwaway server is still listed.
	if got := stepStatus(rep, "read-back"); got != StepOK {
		t.Errorf("read-back = %s after a failed deployment, want ok", got)
	}
}

func stepStatus(rep *Report, name string) StepStatus {
	for _, s := range rep.Steps {
		if s.Name == name {
			return s.Status
		}
	}
	return ""
}

func TestNoEngineCallBeforeConfigIsValid(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    func(*testing.T, *dagger.Client) Options
		wantErr string
	}{
		{"invalid deployments file", func(t *testing.T, _ *dagger.Client) Options {
			return Options{Config: config.Config{Env: "dev", SourceDir: repoDir(t, "badrepo")}}
		}, "prefect-deployments-dev.yaml:6:17: deployments[1].entrypoint"},
		{"Prefect 3 deployments file with the batch runner", func(t *testing.T, _ *dagger.Client) Options {
			return Options{Config: config.Config{Env: "dev", SourceDir: repoDir(t, "p3repo"), Runner: RunnerBatch}}
		}, "prefect-deployments-dev.yaml targets Prefect 3 (prefect: 3 at line 3): DEPLOY_RUNNER=batch drives Prefect 2's"},
		{"no deployments file for the environment", func(t *testing.T, c *dagger.Client) Options {
			return Options{Config: config.Config{Env: "staging", SourceDir: repoDir(t, "repo"), PrefectAPIURL: config.FromDagger(c.SetSecret("prefect-api-url", secretURL)), ECS: ECS{Cluster: "c", ExecutionRoleARN: "arn", Region: "eu-west-1"}, AllowUnpublishedImage: true}}
		}, `environment "staging" has no deployments file`},
		{"real API with an image that is not published", func(t *testing.T, c *dagger.Client) Options {
			return Options{Config: config.Config{Env: "prod", SourceDir: repoDir(t, "repo"), PrefectAPIURL: config.FromDagger(c.SetSecret("prefect-api-url", secretURL)), ECS: ECS{Cluster: "c", ExecutionRoleARN: "arn", Region: "eu-west-1"}}}
		}, "REGISTRY is not set: the image would not be published"},
		{"prod without PREFECT_API_URL", func(t *testing.T, _ *dagger.Client) Options {
			return Options{Config: config.Config{Env: "prod", SourceDir: repoDir(t, "repo")}}
		}, "PREFECT_API_URL is not set"},
		{"remote without ECS cluster", func(t *testing.T, c *dagger.Client) Options {
			return Options{Config: config.Config{Env: "prod", SourceDir: repoDir(t, "repo"), PrefectAPIURL: config.FromDagger(c.SetSecret("prefect-api-url", secretURL))}}
		}, "ECS_CLUSTER is not set"},
		{"unknown runner", func(t *testing.T, _ *dagger.Client) Options {
			return Options{Config: config.Config{Env: "dev", SourceDir: repoDir(t, "repo"), Runner: "ssh"}}
		}, `DEPLOY_RUNNER="ssh": want api, batch or cli`},
		{"unknown DEPLOY_ONLY name", func(t *testing.T, _ *dagger.Client) Options {
			return Options{Config: config.Config{Env: "dev", SourceDir: repoDir(t, "repo"), Only: []string{"hello-a", "nope"}}}
		}, "DEPLOY_ONLY nope matches no deployment in "},
		{"bad DEPLOY_ONLY glob", func(t *testing.T, _ *dagger.Client) Options {
			return Options{Config: config.Config{Env: "dev", SourceDir: repoDir(t, "repo"), Only: []string{"hello-["}}}
		}, `DEPLOY_ONLY "hello-[": syntax error in pattern`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakedagger.Start(t)
			c := connect(t, srv)
			var out bytes.Buffer
			o := tc.opts(t, c)
			o.Out = &out
			_, err := Run(context.Background(), c, o)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("%d engine request(s) before the config was valid: %v", n, srv.Queries())
			}
			if strings.Contains(err.Error(), secretURL) || strings.Contains(out.String(), secretURL) {
				t.Errorf("secret in the error or log")
			}
		})
	}
}

func TestPublishNeedsGitCommit(t *testing.T) {
	// A copy of the fixture without .git and without GIT_SHA: publishing must stop
	// before the build rather than push an <env>- tag with no commit, and say how to
	// give the commit in the caller's own terms.
	dir := t.TempDir()
	copyTree(t, repoDir(t, "repo"), dir)
	t.Setenv("PATH", "") // no git binary either: the .git/HEAD fallback must fail too
	for _, tc := range []struct {
		name, hint, want, notWant string
	}{
		{"Dagger module", "call with-git-sha", "call with-git-sha", "GIT_SHA"},
		{"no hint given", "", "GIT_SHA with mage, with-git-sha with dagger call", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakedagger.Start(t)
			c := connect(t, srv)
			_, err := Run(context.Background(), c, Options{Config: config.Config{Env: "dev", SourceDir: dir, Registry: "r.example"}, GitSHAHint: tc.hint})
			if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.notWant != "" && strings.Contains(err.Error(), tc.notWant)) {
				t.Fatalf("err = %v, want %q (and not %q)", err, tc.want, tc.notWant)
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("%d engine request(s)", n)
			}
		})
	}
	// mage goes through LocalOptions, whose variable is GIT_SHA.
	s, err := config.FromEnv("dev", dir, func(k string) string { return map[string]string{"REGISTRY": "r.example"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	if o := LocalOptions(s, nil); o.GitSHAHint != "set GIT_SHA" {
		t.Errorf("mage's hint = %q, want %q", o.GitSHAHint, "set GIT_SHA")
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOnlyLimitsDeployments(t *testing.T) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(handler(nil)))
	var out bytes.Buffer
	o := devOptions(t, &out)
	o.Only = []string{"etl-eu", "hello-b"}
	rep, err := Run(context.Background(), connect(t, srv), o)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	names := deployNames(t, srv)
	if !slices.Equal(names, []string{"etl-eu", "hello-b"}) || len(rep.Deployments) != 2 {
		t.Errorf("deployed %v, want etl-eu and hello-b", names)
	}
}

func TestBuildOnly(t *testing.T) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(handler(nil)))
	c := connect(t, srv)
	var out bytes.Buffer
	o := prodOptions(t, c, &out)
	img, rep, err := Build(context.Background(), c, o)
	if err != nil || img == nil {
		t.Fatalf("Build: %v\n%s", err, out.String())
	}
	// The flow check is the only command: nothing talks to Prefect.
	if n, checks := len(srv.Execs()), len(execsWith(srv, isCheck)); n != 1 || checks != 1 {
		t.Errorf("Build ran %d execs (%d flow checks), want the flow check only", n, checks)
	}
	if len(srv.Publishes()) != 2 || !strings.Contains(rep.ImageRef, "@sha256:") {
		t.Errorf("publishes %d, image %q", len(srv.Publishes()), rep.ImageRef)
	}
}

func TestDeploymentTimeout(t *testing.T) {
	for _, tc := range []struct {
		name, runner string
		crash        bool // the batch runner dies on etl-eu, so its fallback exec hangs
		timedOut     []string
	}{
		{"cli", RunnerCLI, false, []string{"etl-eu"}},
		// A share's results come when its exec ends: the hung share's deployments all
		// time out, after the per-deployment limit times the share's size.
		{"batch", RunnerBatch, false, []string{"hello-a", "etl-eu", "etl-all"}},
		{"batch fallback", RunnerBatch, true, []string{"etl-eu"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			h := handler(map[string]bool{"crash:etl-eu": tc.crash})
			srv := fakedagger.Start(t, fakedagger.WithHandler(func(ex fakedagger.Exec) fakedagger.ExecResult {
				hang := isDeploy(ex.Args) && argAfter(ex.Args, "-n") == "etl-eu"
				if isBatch(ex.Args) && !tc.crash {
					jobs, _ := jobsOf(ex)
					for _, j := range jobs {
						hang = hang || argAfter(j.Argv, "-n") == "etl-eu"
					}
				}
				if hang {
					<-release // hangs like a build stuck on an unreachable API
				}
				return h(ex)
			}))
			t.Cleanup(func() { close(release) }) // runs before the server stops
			var out bytes.Buffer
			o := devOptions(t, &out)
			o.Timeout, o.Runner = 300*time.Millisecond, tc.runner
			rep, err := Run(context.Background(), connect(t, srv), o)
			if err == nil || !strings.Contains(err.Error(), "etl-eu (timed out)") {
				t.Fatalf("err = %v, want etl-eu timed out", err)
			}
			for _, r := range rep.Deployments {
				want := prefectcli.StatusSucceeded
				if slices.Contains(tc.timedOut, r.Name) {
					want = prefectcli.StatusTimedOut
				}
				if r.Status != want {
					t.Errorf("%s = %s, want %s (%v)", r.Name, r.Status, want, r.Err)
				}
			}
		})
	}
}
