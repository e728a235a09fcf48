package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/config"
	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/internal/fakedagger"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefect3test"
	"github.com/acme-data/prefect-flows/ci/preflight"
)

func isTemplate(a []string) bool {
	return len(a) > 3 && a[0] == "prefect" && a[1] == "work-pool" && a[2] == "get-default-base-job-template"
}
func isPools(a []string) bool { return len(a) > 2 && a[0] == "prefect-deploy" && a[1] == "pools" }

// handler3 is handler plus what a Prefect 3 image does for the pools step: the CLI
// writes the worker type's default template (its directory must exist, as for Python's
// open()), and prefect-deploy pools reads it. fail["template"] and fail["pools"] fail
// that exec as the real command would.
func handler3(fail map[string]bool) fakedagger.ExecHandler {
	base := handler(fail)
	return func(ex fakedagger.Exec) fakedagger.ExecResult {
		a := ex.Args
		switch {
		case isTemplate(a):
			file := argAfter(a, "--file")
			if !ex.DirExists(path.Dir(file)) {
				return fakedagger.ExecResult{ExitCode: 1, Stderr: "FileNotFoundError: [Errno 2] No such file or directory: '" + file + "'\n"}
			}
			if fail["template"] {
				return fakedagger.ExecResult{ExitCode: 1, Stdout: "Unknown work pool type '" + argAfter(a, "--type") + "'. Please choose from process.\n"}
			}
			return fakedagger.ExecResult{Files: map[string]string{file: workerTemplate}}
		case isCheck(a) && !fail["image-prefect2"]:
			// A Prefect 3 image: the inspect program reports its Prefect.
			res := base(ex)
			res.Stdout = strings.Replace(res.Stdout, `"prefect_version":"2.14.21"`, `"prefect_version":"3.8.3"`, 1)
			return res
		case isPools(a):
			if !strings.Contains(ex.Files[argAfter(a, "--base-job-template")], "job_configuration") {
				return fakedagger.ExecResult{ExitCode: 1, Stderr: "prefect-deploy: pools: --base-job-template: no such file\n"}
			}
			if fail["pools"] {
				return fakedagger.ExecResult{ExitCode: 1, Stderr: `prefect-deploy: pools: create work pool "ecs-pool" of type ecs: POST /work_pools/ on prefect:4200: 403 Forbidden` + "\n"}
			}
			typ := argAfter(a, "--type")
			return fakedagger.ExecResult{Stdout: "work pool process-pool: created (type " + typ + ")\nwork pool ecs-pool: created (type " + typ + ")\n"}
		}
		return base(ex)
	}
}

// workerTemplate is the default base job template the fake image's Prefect writes: a
// small one the real server's validation accepts.
const workerTemplate = `{"job_configuration": {"command": "{{ command }}"}, "variables": {"type": "object", "properties": {"command": {"type": "string"}}}}`

// p3Options is a Prefect 3 run of p3repo's dev file: embedded, or with vars (mage's
// environment) against a real API.
func p3Options(t *testing.T, out *bytes.Buffer, vars map[string]string) Options {
	t.Helper()
	c, err := config.FromEnv("dev", repoDir(t, "p3repo"), func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	o := LocalOptions(c, out)
	o.PrefectAPI = nil // preflight3 tests give it one
	o.Owner = testOwner
	o.RunID = func() string { return "run-p3" }
	return o
}

// remote3ECS are remote3's ECS settings as the flags of prefect-deploy apply, read-back,
// prune and plan.
var remote3ECS = []string{"--ecs-cluster", "prod-cluster", "--ecs-execution-role-arn", "arn:aws:iam::123456789012:role/exec", "--aws-region", "eu-west-1"}

var remote3 = map[string]string{
	"PREFECT_API_URL": secretURL, "PREFECT_API_KEY": secretKey,
	"REGISTRY": "registry.example:5000", "IMAGE_REPOSITORY": "acme/prefect-flows", "GIT_SHA": "abc1234",
	"ECS_CLUSTER": "prod-cluster", "ECS_EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/exec", "AWS_REGION": "eu-west-1",
}

// TestPrefect3Pipeline: a Prefect 3 file goes through the pipeline: no block is
// registered, the pools step creates the missing pools (process on the embedded server,
// PREFECT_POOL_TYPE or ecs on a real API) with the worker's default template, and the
// api runner deploys with --image (the local name, or the published digest) one write at
// a time; verify reads back with --image on a real API, the embedded server's deployments
// are listed; restore is skipped, saying why.
func TestPrefect3Pipeline(t *testing.T) {
	for _, tc := range []struct {
		name      string
		vars      map[string]string
		wantType  string
		wantImage func(rep *Report) string
		embedded  bool
	}{
		{"embedded", nil, "process", func(*Report) string { return "prefect-flows:dev" }, true},
		{"real API, published", remote3, "ecs", func(rep *Report) string {
			if !strings.Contains(rep.ImageRef, "@sha256:") {
				return "a digest reference, not " + rep.ImageRef
			}
			return rep.ImageRef
		}, false},
		{"real API, PREFECT_POOL_TYPE", withVar(remote3, "PREFECT_POOL_TYPE", "docker"), "docker", func(rep *Report) string { return rep.ImageRef }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakedagger.Start(t, fakedagger.WithHandler(handler3(nil)))
			var out bytes.Buffer
			rep, err := Run(context.Background(), connect(t, srv), p3Options(t, &out, tc.vars))
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			if n := len(execsWith(srv, func(a []string) bool { return isRegister(a) || isInfra(a) || isBlocks(a) || isDeploy(a) || isBatch(a) })); n != 0 {
				t.Errorf("%d block or prefect build exec(s) on Prefect 3", n)
			}
			tmpl, pools, applies := execsWith(srv, isTemplate), execsWith(srv, isPools), execsWith(srv, isAPIApply)
			if len(tmpl) != 1 || len(pools) != 1 || len(applies) != 1 {
				t.Fatalf("template/pools/apply execs = %d/%d/%d, want 1 each", len(tmpl), len(pools), len(applies))
			}
			// The embedded server's pools are process stand-ins: their template does not judge
			// the file's job variables there; on a real API it does.
			if got := slices.Contains(applies[0].Args, "--unchecked-job-variables"); got != tc.embedded {
				t.Errorf("apply --unchecked-job-variables %v, want it on the embedded server only: %q", got, applies[0].Args)
			}
			file := PoolsDir + "/" + tc.wantType + ".json"
			if want := TemplateArgs(tc.wantType, file); !slices.Equal(tmpl[0].Args, want) {
				t.Errorf("template argv = %q, want %q", tmpl[0].Args, want)
			}
			if want := []string{"prefect-deploy", "pools", "--type", tc.wantType, "--base-job-template", file, "prefect-deployments-dev.yaml"}; !slices.Equal(pools[0].Args, want) {
				t.Errorf("pools argv = %q, want %q", pools[0].Args, want)
			}
			ap := applies[0].Args
			if got, want := argAfter(ap, "--image"), tc.wantImage(rep); got != want || got == "" {
				t.Errorf("apply --image %q, want %q", got, want)
			}
			if got := argAfter(ap, "--concurrency"); got != strconv.Itoa(deploycli.DefaultAPIConcurrency3) {
				t.Errorf("apply --concurrency %s, want Prefect 3's default %d", got, deploycli.DefaultAPIConcurrency3)
			}
			if ap[len(ap)-1] != "prefect-deployments-dev.yaml" {
				t.Errorf("apply argv %q does not end with the file", ap)
			}
			for _, ex := range append(pools, applies...) {
				if ex.Workdir != Workdir || ex.Env["CACHEBUSTER"] != "run-p3" {
					t.Errorf("%q: workdir %q, CACHEBUSTER %q", ex.Args, ex.Workdir, ex.Env["CACHEBUSTER"])
				}
				if tc.embedded && (ex.Services["prefect"] == nil || ex.Env["PREFECT_API_URL"] != EmbeddedAPIURL) {
					t.Errorf("%q: not bound to the embedded server", ex.Args)
				}
				if !tc.embedded && (ex.Secrets["PREFECT_API_URL"] == "" || ex.Secrets["PREFECT_API_KEY"] == "" || ex.Env["PREFECT_API_URL"] != "") {
					t.Errorf("%q: the API must be secret variables: secrets %v", ex.Args, ex.Secrets)
				}
			}
			if svcs := srv.Services(); tc.embedded && (len(svcs) != 1 || svcs[0].Service.Container.Env["PREFECT_SERVER_UI_ENABLED"] != "false" ||
				!slices.Equal(svcs[0].Service.Args, []string{"prefect", "server", "start", "--host", "0.0.0.0", "--port", "4200"})) {
				t.Errorf("embedded server: %d service(s), want one `prefect server start` without its UI", len(svcs))
			}
			if len(rep.Deployments) != 3 {
				t.Errorf("report has %d deployments, want 3", len(rep.Deployments))
			}
			skipped := map[string]string{
				"register": "Prefect 3: there are no infrastructure blocks",
				"prune":    "not asked for",
				"restore":  "a deployment this run did not deploy keeps its previous image",
			}
			if !tc.embedded {
				skipped["read-back"] = "deployed to the real Prefect API"
			}
			if n := len(execsWith(srv, isTool("list"))); tc.embedded != (n == 1) || stepStatus(rep, "read-back") != map[bool]StepStatus{true: StepOK, false: StepSkipped}[tc.embedded] {
				t.Errorf("%d list exec(s), read-back %s; want one on the embedded server only", n, stepStatus(rep, "read-back"))
			}
			if !tc.embedded {
				// The read-back compares job_variables.image with the image deployed.
				rb := execsWith(srv, func(a []string) bool { return len(a) > 1 && a[0] == "prefect-deploy" && a[1] == "read-back" })
				if len(rb) != 1 || argAfter(rb[0].Args, "--image") != rep.ImageRef || stepStatus(rep, "verify") != StepOK {
					t.Errorf("verify: %d read-back exec(s) %v, step %s; want one with --image %s", len(rb), rb, stepStatus(rep, "verify"), rep.ImageRef)
				}
			} else {
				skipped["verify"] = "embedded server"
			}
			for _, s := range rep.Steps {
				if want, ok := skipped[s.Name]; ok && (s.Status != StepSkipped || !strings.Contains(s.Detail, want)) {
					t.Errorf("step %s = %s %q, want skipped with %q", s.Name, s.Status, s.Detail, want)
				}
				if _, ok := skipped[s.Name]; !ok && s.Status != StepOK && s.Status != StepSkipped {
					t.Errorf("step %s = %s %q", s.Name, s.Status, s.Detail)
				}
			}
			if stepStatus(rep, "pools") != StepOK || stepStatus(rep, "deploy") != StepOK {
				t.Errorf("pools %s, deploy %s", stepStatus(rep, "pools"), stepStatus(rep, "deploy"))
			}
			for _, secret := range []string{secretURL, secretKey} {
				if strings.Contains(out.String(), secret) {
					t.Errorf("secret in the log")
				}
			}
		})
	}
}

func withVar(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for a, b := range m {
		if a != k {
			out[a] = b
		}
	}
	return out
}

// A Prefect 3 file built into an image with Prefect 2 stops in the check step, before
// anything is published, created or deployed.
func TestPrefect3ImageWithPrefect2(t *testing.T) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(handler3(map[string]bool{"image-prefect2": true})))
	var out bytes.Buffer
	_, err := Run(context.Background(), connect(t, srv), p3Options(t, &out, remote3))
	want := "step check: prefect-deployments-dev.yaml targets Prefect 3 (prefect: 3 at line 3) but the image has Prefect 2.14.21: install Prefect 3 in the image"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if n := len(srv.Publishes()) + len(execsWith(srv, func(a []string) bool { return isPools(a) || isTemplate(a) || isAPIApply(a) })); n != 0 {
		t.Errorf("%d publish(es) or pools/apply exec(s) after the check failed", n)
	}
}

// A pools step that fails stops the run before the deploy; on Prefect 3 nothing needs
// restoring, and the step says why it failed in one line.
func TestPrefect3PoolsFailure(t *testing.T) {
	for _, tc := range []struct{ fail, want string }{
		{"template", "work pools: "},
		{"pools", `create work pool "ecs-pool" of type ecs`},
	} {
		t.Run(tc.fail, func(t *testing.T) {
			srv := fakedagger.Start(t, fakedagger.WithHandler(handler3(map[string]bool{tc.fail: true})))
			var out bytes.Buffer
			rep, err := Run(context.Background(), connect(t, srv), p3Options(t, &out, remote3))
			if err == nil || !strings.HasPrefix(err.Error(), "step pools: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want step pools with %q\n%s", err, tc.want, out.String())
			}
			if n := len(execsWith(srv, isAPIApply)); n != 0 {
				t.Errorf("%d apply exec(s) after the pools step failed", n)
			}
			if s := stepStatus(rep, "deploy"); s != StepNotRun {
				t.Errorf("deploy step %s", s)
			}
			if s := stepStatus(rep, "restore"); s != StepSkipped {
				t.Errorf("restore step %s", s)
			}
		})
	}
}

// Prefect 3 deploys with the api runner only: another DEPLOY_RUNNER stops in validate,
// before the engine is asked anything.
func TestPrefect3OtherRunnersRefused(t *testing.T) {
	for _, runner := range []string{RunnerBatch, RunnerCLI} {
		t.Run(runner, func(t *testing.T) {
			srv := fakedagger.Start(t, fakedagger.WithHandler(handler3(nil)))
			var out bytes.Buffer
			_, err := Run(context.Background(), connect(t, srv), p3Options(t, &out, map[string]string{"DEPLOY_RUNNER": runner}))
			want := "prefect-deployments-dev.yaml targets Prefect 3 (prefect: 3 at line 3): DEPLOY_RUNNER=" + runner + " drives Prefect 2's `prefect deployment build`"
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want %q", err, want)
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("%d engine request(s)", n)
			}
		})
	}
}

// The preflight of a Prefect 3 file: the server must run Prefect 3; each pool is shown as
// there (with its type) or as one the pools step creates; nothing is built on a problem.
func TestPrefect3Preflight(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version string
		vars    map[string]string
		want    []string
		wantErr string
	}{
		{"pools shown", "", nil, []string{"runs Prefect 3.8.3", "work pool process-pool: missing, the pools step creates it (type ecs)", "work pool ecs-pool: exists (type ecs), left as it is"}, ""},
		{"Prefect 2 server", "2.14.21", nil, nil, "runs Prefect 2.14.21; this deployer writes Prefect 3 deployments"},
		{"a pool of another type", "", map[string]string{"PREFECT_POOL_TYPE": "process"}, nil,
			"prefect-deployments-dev.yaml:18:13: work pool \"ecs-pool\" on 127.0.0.1:PORT has type ecs, but this run expects type process (PREFECT_POOL_TYPE): " +
				"name a pool of type process in work_pool.name, set PREFECT_POOL_TYPE=ecs if ecs workers serve this file, or PREFECT_POOL_ANY_TYPE=1 to accept each pool's own type\nnothing was built"},
		{"any type accepted", "", map[string]string{"PREFECT_POOL_TYPE": "process", "PREFECT_POOL_ANY_TYPE": "1"},
			[]string{"work pool process-pool: missing, the pools step creates it (type process)", "work pool ecs-pool: exists (type ecs, accepted: PREFECT_POOL_ANY_TYPE=1), left as it is"}, ""},
		{"template update announced", "", map[string]string{"PREFECT_POOL_UPDATE_TEMPLATE": "1"},
			[]string{"work pool ecs-pool: exists (type ecs), the pools step sets its base job template to the ecs worker's default unless it is already (PREFECT_POOL_UPDATE_TEMPLATE=1)"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := prefect3test.New(t)
			srv := fakedagger.Start(t, fakedagger.WithHandler(handler3(nil)))
			var out bytes.Buffer
			vars := remote3
			for k, v := range tc.vars {
				vars = withVar(vars, k, v)
			}
			o := p3Options(t, &out, vars)
			o.PrefectAPI = preflightClient(api.URL, "")
			if tc.version != "" {
				o.PrefectAPI = versionAPI{o.PrefectAPI, tc.version}
			}
			_, err := Run(context.Background(), connect(t, srv), o)
			if tc.wantErr != "" {
				want := strings.ReplaceAll(tc.wantErr, "127.0.0.1:PORT", strings.TrimSuffix(strings.TrimPrefix(api.URL, "http://"), "/api"))
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want %q", err, want)
				}
				if n := len(srv.Execs()); n != 0 {
					t.Errorf("%d exec(s) after a failed preflight", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("log lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

// versionAPI is an API whose server reports another version.
type versionAPI struct {
	preflight.API
	version string
}

func (v versionAPI) AdminVersion(context.Context) (string, error) { return v.version, nil }

// PREFECT_PRUNE on Prefect 3: after a verified deploy, prune runs with --image, like the
// read-back.
func TestPrefect3Prune(t *testing.T) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(handler3(nil)))
	var out bytes.Buffer
	rep, err := Run(context.Background(), connect(t, srv), p3Options(t, &out, withVar(remote3, "PREFECT_PRUNE", "1")))
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	prunes := execsWith(srv, func(a []string) bool { return len(a) > 1 && a[0] == "prefect-deploy" && a[1] == "prune" })
	if len(prunes) != 1 || stepStatus(rep, "prune") != StepOK {
		t.Fatalf("%d prune exec(s), step %s", len(prunes), stepStatus(rep, "prune"))
	}
	want := append(append([]string{"prefect-deploy", "prune", "--yes", "--owner", testOwner, "--image", rep.ImageRef}, remote3ECS...), "prefect-deployments-dev.yaml")
	if !slices.Equal(prunes[0].Args, want) {
		t.Errorf("prune argv %q, want %q", prunes[0].Args, want)
	}
}

// DEPLOY_ONLY limits the pools step to the pools of the deployments it names, as it
// limits the deploy.
func TestPrefect3PoolsOnly(t *testing.T) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(handler3(nil)))
	var out bytes.Buffer
	if _, err := Run(context.Background(), connect(t, srv), p3Options(t, &out, withVar(remote3, "DEPLOY_ONLY", "hello-p3-ecs"))); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	pools := execsWith(srv, isPools)
	if len(pools) != 1 {
		t.Fatalf("%d pools exec(s)", len(pools))
	}
	if want := []string{"prefect-deploy", "pools", "--type", "ecs", "--base-job-template", PoolsDir + "/ecs.json", "--only", "hello-p3-ecs", "prefect-deployments-dev.yaml"}; !slices.Equal(pools[0].Args, want) {
		t.Errorf("pools argv = %q, want %q", pools[0].Args, want)
	}
	if got := argAfter(pools[0].Args, "--only"); got != "hello-p3-ecs" {
		t.Errorf("pools --only %q", got)
	}
}

// poolsOnAPI is handler3 whose pools exec runs prefect-deploy pools itself (deploycli.Main)
// against api, with the template the image's Prefect wrote and the repository's file:
// the pools step end to end, minus the engine.
func poolsOnAPI(t *testing.T, api *prefect3test.Server) fakedagger.ExecHandler {
	base := handler3(nil)
	repo := repoDir(t, "p3repo")
	return func(ex fakedagger.Exec) fakedagger.ExecResult {
		if !isPools(ex.Args) {
			return base(ex)
		}
		args := slices.Clone(ex.Args[1:])
		for i, a := range args {
			if i > 0 && args[i-1] == "--base-job-template" {
				file := filepath.Join(t.TempDir(), path.Base(a))
				if err := os.WriteFile(file, []byte(ex.Files[a]), 0o644); err != nil {
					t.Error(err)
				}
				args[i] = file
			}
		}
		args[len(args)-1] = filepath.Join(repo, args[len(args)-1])
		var stdout, stderr bytes.Buffer
		code := deploycli.Main(context.Background(), args, &stdout, &stderr, []string{"PREFECT_API_URL=" + api.URL})
		return fakedagger.ExecResult{ExitCode: code, Stdout: stdout.String(), Stderr: stderr.String()}
	}
}

// The pools step on the fake Prefect 3 API, as the Dagger module runs it (no preflight in
// this process): a pool of another type stops the run before the deploy, naming where the
// file names it and what to do in the pipeline's terms; PREFECT_POOL_ANY_TYPE accepts it;
// PREFECT_POOL_UPDATE_TEMPLATE sets an existing pool's template to the worker's default;
// the report says what was created, updated and left.
func TestPrefect3PoolsStepOnTheAPI(t *testing.T) {
	for _, tc := range []struct {
		name        string
		vars        map[string]string
		seedProcess bool // process-pool exists with type process
		wantErr     []string
		wantDetail  string
		wantTmpl    map[string]bool // pools whose template is then the worker's default
	}{
		{"missing created, existing left", nil, false, nil,
			"1 created (process-pool), 0 updated, 1 left as they are (ecs-pool)", map[string]bool{"process-pool": true, "ecs-pool": false}},
		{"existing template updated", map[string]string{"PREFECT_POOL_UPDATE_TEMPLATE": "1"}, false, nil,
			"1 created (process-pool), 1 updated (ecs-pool), 0 left as they are", map[string]bool{"process-pool": true, "ecs-pool": true}},
		{"another type stops the run", nil, true, []string{
			`step pools: work pools: `, `prefect-deployments-dev.yaml:6:11: work pool "process-pool" on 127.0.0.1:`,
			"has type process, but this run expects type ecs (--type)", "--type is PREFECT_POOL_TYPE, --any-type is PREFECT_POOL_ANY_TYPE=1"}, "", nil},
		{"another type accepted", map[string]string{"PREFECT_POOL_ANY_TYPE": "1", "PREFECT_POOL_UPDATE_TEMPLATE": "1"}, true, nil,
			"0 created, 1 updated (ecs-pool), 1 left as they are (process-pool)", map[string]bool{"process-pool": false, "ecs-pool": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := prefect3test.New(t)
			if tc.seedProcess {
				st, body, err := prefect3test.Call("POST", api.URL+"/work_pools/", map[string]any{"name": "process-pool", "type": "process"})
				if err != nil || st != 201 {
					t.Fatalf("seed: %d %s %v", st, body, err)
				}
			}
			srv := fakedagger.Start(t, fakedagger.WithHandler(poolsOnAPI(t, api)))
			var out bytes.Buffer
			vars := remote3
			for k, v := range tc.vars {
				vars = withVar(vars, k, v)
			}
			rep, err := Run(context.Background(), connect(t, srv), p3Options(t, &out, vars))
			if tc.wantErr != nil {
				for _, w := range tc.wantErr {
					if err == nil || !strings.Contains(err.Error(), w) {
						t.Errorf("err = %v, want %q", err, w)
					}
				}
				if n := len(execsWith(srv, isAPIApply)); n != 0 || stepStatus(rep, "deploy") != StepNotRun {
					t.Errorf("%d apply exec(s), deploy %s after the pools step failed", n, stepStatus(rep, "deploy"))
				}
				if st, _, _ := prefect3test.Call("GET", api.URL+"/work_pools/ecs-pool", nil); st != 200 {
					t.Errorf("ecs-pool: %d", st)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			for _, s := range rep.Steps {
				if s.Name == "pools" && (s.Status != StepOK || s.Detail != tc.wantDetail) {
					t.Errorf("pools step %s %q, want ok %q", s.Status, s.Detail, tc.wantDetail)
				}
			}
			var want any
			if err := json.Unmarshal([]byte(workerTemplate), &want); err != nil {
				t.Fatal(err)
			}
			for pool, isDefault := range tc.wantTmpl {
				st, body, err := prefect3test.Call("GET", api.URL+"/work_pools/"+pool, nil)
				var p struct {
					Template any `json:"base_job_template"`
				}
				if err != nil || st != 200 || json.Unmarshal(body, &p) != nil {
					t.Fatalf("GET %s: %d %s %v", pool, st, body, err)
				}
				if got := reflect.DeepEqual(p.Template, want); got != isDefault {
					t.Errorf("%s: template is the worker's default: %v, want %v", pool, got, isDefault)
				}
			}
		})
	}
}

// The embedded read-back on Prefect 3 is the same `prefect-deploy list` as on Prefect 2:
// here the fake engine runs the real command against a fake Prefect 3 API that holds the
// file's deployments as prefect-deploy wrote them and more than one page besides.
func TestEmbeddedReadBackPrefect3(t *testing.T) {
	api, _ := deployed3(t, "prefect-flows:dev")
	for i := range 250 {
		body := map[string]any{"name": fmt.Sprintf("d-%03d", i), "flow_id": flowID3(t, api.URL, "other"), "work_pool_name": "pool", "tags": []string{"dev"}}
		if code, out, err := prefect3test.Call("POST", api.URL+"/deployments/", body); err != nil || code != 201 {
			t.Fatalf("POST /deployments/: %d %s %v", code, out, err)
		}
	}
	play := handler3(nil)
	srv := fakedagger.Start(t, fakedagger.WithHandler(func(ex fakedagger.Exec) fakedagger.ExecResult {
		if !isTool("list")(ex.Args) {
			return play(ex)
		}
		var stdout, stderr bytes.Buffer
		code := deploycli.Main(context.Background(), ex.Args[1:], &stdout, &stderr, []string{"PREFECT_API_URL=" + api.URL})
		return fakedagger.ExecResult{ExitCode: code, Stdout: stdout.String(), Stderr: stderr.String()}
	}))
	var out bytes.Buffer
	rep, err := Run(context.Background(), connect(t, srv), p3Options(t, &out, nil))
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if got := stepStatus(rep, "read-back"); got != StepOK {
		t.Fatalf("read-back %s, want ok:\n%s", got, out.String())
	}
	for _, want := range []string{
		"hello/hello-p3  flows/hello.py:hello  no schedule  queue=default  tags=" + marker3,
		"hello/hello-p3-daily  flows/hello.py:hello  0 6 * * *  queue=default  tags=" + marker3,
		"other/d-000  None  no schedule  queue=default  tags=dev", "other/d-249  ",
		"253 deployment(s) on the embedded server", "NOTE: embedded mode",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, out.String())
		}
	}
}

// marker3 is the ownership tag deployed3 writes.
const marker3 = "managed-by:prefect-flows:" + testOwner + ":dev"

// flowID3 is the id of flow name on a Prefect 3 API (created when new).
func flowID3(t *testing.T, apiURL, name string) string {
	t.Helper()
	code, out, err := prefect3test.Call("POST", apiURL+"/flows/", map[string]any{"name": name})
	if err != nil || (code != 200 && code != 201) {
		t.Fatalf("POST /flows/: %d %s %v", code, out, err)
	}
	var f struct{ ID string }
	if err := json.Unmarshal(out, &f); err != nil {
		t.Fatal(err)
	}
	return f.ID
}
