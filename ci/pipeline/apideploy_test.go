package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acme-data/prefect-flows/ci/internal/fakedagger"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/spec"
)

func isAPIApply(a []string) bool {
	return len(a) > 3 && a[0] == "prefect-deploy" && a[1] == "apply" && slices.Contains(a, "--runner") && a[slices.Index(a, "--runner")+1] == "api"
}

// playAPIApply plays `prefect-deploy apply --runner api` in the image: it needs the check
// step's output and the deployments file there, writes one result per deployment of the
// file (--only applied) into --results, and exits 1 when one failed. fail[name] fails
// that deployment as the API would refuse it; fail["preflight"] stops it before any write.
func playAPIApply(ex fakedagger.Exec, fail map[string]bool) fakedagger.ExecResult {
	if !strings.Contains(ex.Files[InspectedPath], `"format":1`) {
		return fakedagger.ExecResult{ExitCode: 1, Stderr: "prefect-deploy: --inspected: no inspect output at " + InspectedPath + "\n"}
	}
	if fail["preflight"] {
		return fakedagger.ExecResult{ExitCode: 1, Stderr: "prefect-deploy: preflight: the Prefect API at prefect.example:4200 is unreachable: connection refused (is the server running? check PREFECT_API_URL)\nprefect-deploy: nothing was deployed\n"}
	}
	file := ex.Args[len(ex.Args)-1]
	// Only a Prefect 3 file's apply has --image (the pipeline's Prefect 3 fixture).
	repo := "repo"
	if slices.Contains(ex.Args, "--image") {
		repo = "p3repo"
	}
	f, err := spec.Load(path.Join("testdata", repo, file), spec.LoadOptions{RepoRoot: path.Join("testdata", repo)})
	if err != nil {
		return fakedagger.ExecResult{ExitCode: 1, Stderr: err.Error()}
	}
	var only []string
	for i, a := range ex.Args {
		if a == "--only" {
			only = append(only, ex.Args[i+1])
		}
	}
	var results []prefectcli.Result
	code := 0
	var out strings.Builder
	for _, d := range f.Deployments {
		if len(only) > 0 && !slices.ContainsFunc(only, func(p string) bool { ok, _ := path.Match(p, d.Name); return ok }) {
			continue
		}
		r := prefectcli.Result{Name: d.Name, Status: prefectcli.StatusSucceeded, DeploymentID: fakeID(d.Name), Duration: 30 * time.Millisecond}
		if fail[d.Name] {
			r = prefectcli.Result{Name: d.Name, Status: prefectcli.StatusFailed, ExitCode: -1, Err: fmt.Errorf(`%s/%s: POST /deployments/ on prefect.example:4200: 404 Not Found: Work pool "nope" not found.`, d.FlowName, d.Name)}
			code = 1
		}
		fmt.Fprintf(&out, "✔ %s 0.0s\n", d.Name)
		results = append(results, r)
	}
	data, _ := prefectcli.MarshalResults(results)
	fmt.Fprintf(&out, "%d deployment(s)\n", len(results))
	return fakedagger.ExecResult{ExitCode: code, Stdout: out.String(), Files: map[string]string{ResultsPath: string(data)}}
}

// TestAPIRunnerDeploy: the default runner is one `prefect-deploy apply --runner api` exec
// in the registered image (secrets as secret variables, the run's cache buster), fed
// with the check step's output; the report has one result per deployment.
func TestAPIRunnerDeploy(t *testing.T) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(handler(nil)))
	c := connect(t, srv)
	var out bytes.Buffer
	o := prodOptions(t, c, &out)
	o.Runner = "" // the default
	rep, err := Run(context.Background(), c, o)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	applies := execsWith(srv, isAPIApply)
	if len(applies) != 1 {
		t.Fatalf("%d api apply exec(s), want 1", len(applies))
	}
	ex := applies[0]
	if want := APIArgs("prefect-deployments-prod.yaml", testOwner, false, DefaultAPIConcurrency, DefaultTimeout, nil); !slices.Equal(ex.Args, want) {
		t.Errorf("argv = %q, want %q", ex.Args, want)
	}
	// The image cannot find the owner itself (no git remote, no CI variables): it is given.
	if i := slices.Index(ex.Args, "--owner"); i < 0 || i+1 >= len(ex.Args) || ex.Args[i+1] != testOwner {
		t.Errorf("argv = %q, want --owner %s", ex.Args, testOwner)
	}
	if ex.Secrets["PREFECT_API_URL"] == "" || ex.Secrets["PREFECT_API_KEY"] == "" || ex.Env["PREFECT_API_URL"] != "" || ex.Env["CACHEBUSTER"] != "run-prod" || ex.Expect != "ANY" || ex.Workdir != Workdir {
		t.Errorf("apply exec: secrets %v, env %v, expect %s, workdir %s", ex.Secrets, ex.Env, ex.Expect, ex.Workdir)
	}
	checks := execsWith(srv, isCheck)
	if len(checks) != 1 {
		t.Fatalf("%d check exec(s)", len(checks))
	}
	if n := len(execsWith(srv, func(a []string) bool { return isBatch(a) || isDeploy(a) })); n != 0 {
		t.Errorf("%d prefect build exec(s) with the api runner", n)
	}
	if len(rep.Deployments) != 2 {
		t.Fatalf("report has %d deployments: %+v", len(rep.Deployments), rep.Deployments)
	}
	for _, d := range rep.Deployments {
		if d.Status != prefectcli.StatusSucceeded || d.DeploymentID != fakeID(d.Name) {
			t.Errorf("result %+v", d)
		}
	}
}

// One refused deployment fails the step with its name; the others are reported.
func TestAPIRunnerDeployFailure(t *testing.T) {
	for _, tc := range []struct {
		fail string
		want string
	}{
		{"hello-prod", "1 of 2 deployment(s) did not succeed: hello-prod (failed)"},
		{"preflight", "prefect-deploy apply exited 1 before deploying: prefect-deploy: preflight: the Prefect API at prefect.example:4200 is unreachable: connection refused"},
	} {
		t.Run(tc.fail, func(t *testing.T) {
			srv := fakedagger.Start(t, fakedagger.WithHandler(handler(map[string]bool{tc.fail: true})))
			c := connect(t, srv)
			var out bytes.Buffer
			o := prodOptions(t, c, &out)
			o.Runner = RunnerAPI
			rep, err := Run(context.Background(), c, o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q\n%s", err, tc.want, out.String())
			}
			if stepStatus(rep, "deploy") != StepFailed || stepStatus(rep, "verify") != StepNotRun {
				t.Errorf("deploy %s, verify %s", stepStatus(rep, "deploy"), stepStatus(rep, "verify"))
			}
		})
	}
}

// Two runs of the same image: the check (a pure function of the image) is served from
// the cache, the api apply (talks to Prefect) runs in both.
func TestAPIRunnerNeverCached(t *testing.T) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(handler(nil)))
	c := connect(t, srv)
	for _, id := range []string{"run-a", "run-b"} {
		var out bytes.Buffer
		o := prodOptions(t, c, &out)
		o.Runner, o.RunID = RunnerAPI, func() string { return id }
		if _, err := Run(context.Background(), c, o); err != nil {
			t.Fatalf("%s: %v\n%s", id, err, out.String())
		}
	}
	if n := len(execsWith(srv, isCheck)); n != 1 {
		t.Errorf("check ran %d times, want 1 (cached with the image)", n)
	}
	if n := len(execsWith(srv, isAPIApply)); n != 2 {
		t.Errorf("api apply ran %d times, want 2 (never cached)", n)
	}
}

// In embedded mode the api runner writes into the throwaway server, bound as a service.
func TestAPIRunnerEmbedded(t *testing.T) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(handler(nil)))
	var out bytes.Buffer
	o := devOptions(t, &out)
	o.Runner = ""
	rep, err := Run(context.Background(), connect(t, srv), o)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	applies := execsWith(srv, isAPIApply)
	if len(applies) != 1 {
		t.Fatalf("%d api apply exec(s)", len(applies))
	}
	ex := applies[0]
	if ex.Env["PREFECT_API_URL"] != EmbeddedAPIURL || !strings.Contains(ex.Recipe, "withServiceBinding(alias:\"prefect\"") {
		t.Errorf("apply exec: env %v, recipe %s", ex.Env, ex.Recipe)
	}
	if len(rep.Deployments) != 5 {
		t.Errorf("%d deployments in the report, want 5", len(rep.Deployments))
	}
}

// PREFECT_TAKE_OVER reaches prefect-deploy as --take-over, and only when set.
func TestAPIArgsTakeOver(t *testing.T) {
	for _, takeOver := range []bool{false, true} {
		args := APIArgs("prefect-deployments-dev.yaml", testOwner, takeOver, 8, DefaultTimeout, nil)
		if got := slices.Contains(args, "--take-over"); got != takeOver {
			t.Errorf("take-over %v: argv %q", takeOver, args)
		}
		if args[len(args)-1] != "prefect-deployments-dev.yaml" {
			t.Errorf("the file must stay the last argument: %q", args)
		}
	}
}
