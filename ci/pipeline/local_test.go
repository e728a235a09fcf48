package pipeline

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/config"
	"github.com/acme-data/prefect-flows/ci/internal/fakedagger"
	"github.com/acme-data/prefect-flows/ci/preflight"
)

// sessionEnv points dagger.Connect at the fake the way a `dagger run` or the module
// runtime would, so DeployLocal's own connect path is what is under test.
func sessionEnv(t *testing.T, srv *fakedagger.Server) {
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

func TestDeployLocal(t *testing.T) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(handler(nil)))
	sessionEnv(t, srv)
	env := map[string]string{
		"PREFECT_API_URL": secretURL, "PREFECT_API_KEY": secretKey,
		"ECS_CLUSTER": "c", "ECS_EXECUTION_ROLE_ARN": "arn:exec", "AWS_REGION": "eu-west-1",
		"ALLOW_UNPUBLISHED_IMAGE": "1",
	}
	s, err := config.FromEnv("prod", repoDir(t, "repo"), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	skipPreflight(t) // the URL names no server
	var out bytes.Buffer
	if err := DeployLocal(context.Background(), s, &out); err != nil {
		t.Fatalf("DeployLocal: %v\n%s", err, out.String())
	}
	if n := len(execsWith(srv, isAPIApply)); n != 1 {
		t.Errorf("%d prefect-deploy apply --runner api exec(s), want 1 (the default runner)", n)
	}
	if !strings.Contains(out.String(), "2 deployment(s), 2 succeeded") {
		t.Errorf("no summary in the output:\n%s", out.String())
	}
	if leaks := srv.SecretLeaks(); len(leaks) != 0 {
		t.Errorf("leaks: %v", leaks)
	}
	if strings.Contains(out.String(), secretKey) || strings.Contains(out.String(), secretURL) {
		t.Errorf("secret in the output")
	}
}

func TestDeployLocalChecksBeforeConnecting(t *testing.T) {
	for _, tc := range []struct {
		name, repo, only, runner, wantErr string
	}{
		{"invalid file", "badrepo", "", "", "deployments[1].entrypoint"},
		{"Prefect 3 file with the batch runner", "p3repo", "", RunnerBatch, "DEPLOY_RUNNER=batch drives Prefect 2's `prefect deployment build`"},
		{"unknown DEPLOY_ONLY", "repo", "nope", "", "DEPLOY_ONLY nope matches no deployment in "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakedagger.Start(t)
			sessionEnv(t, srv)
			s, err := config.FromEnv("dev", repoDir(t, tc.repo), func(k string) string {
				switch k {
				case "DEPLOY_ONLY":
					return tc.only
				case "DEPLOY_RUNNER":
					return tc.runner
				}
				return ""
			})
			if err != nil {
				t.Fatal(err)
			}
			err = DeployLocal(context.Background(), s, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "step validate:") {
				t.Fatalf("err = %v, want step validate: ...%s", err, tc.wantErr)
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("%d engine requests", n)
			}
		})
	}
}

// TestDeployLocalRefusesUnpublishedImage: a deploy to a real Prefect API without
// REGISTRY would save blocks that name an image no task can pull. It stops before an
// engine is started, in one line that says why and what to set; the opt-out and the
// embedded server (nothing pulls there) are let through.
func TestDeployLocalRefusesUnpublishedImage(t *testing.T) {
	remote := map[string]string{
		"PREFECT_API_URL": secretURL, "ECS_CLUSTER": "c", "ECS_EXECUTION_ROLE_ARN": "arn:exec", "AWS_REGION": "eu-west-1",
	}
	for _, tc := range []struct {
		name, env string
		vars      map[string]string
		wantErr   string // "" = the run goes ahead
	}{
		{"real API, no registry", "prod", remote,
			"REGISTRY is not set: the image would not be published, yet the infrastructure blocks on PREFECT_API_URL would name prefect-flows:prod, which no ECS task can pull; set REGISTRY (and IMAGE_REPOSITORY) to publish it, or ALLOW_UNPUBLISHED_IMAGE=1 if your infrastructure does not pull images"},
		{"dev on a real API, no registry", "dev", remote, "REGISTRY is not set"},
		{"opted out", "prod", with(remote, "ALLOW_UNPUBLISHED_IMAGE", "1"), ""},
		{"embedded server", "dev", nil, ""},
		{"published", "prod", with(remote, "REGISTRY", "registry.example:5000", "GIT_SHA", "abc1234"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakedagger.Start(t, fakedagger.WithHandler(handler(nil)))
			sessionEnv(t, srv)
			s, err := config.FromEnv(tc.env, repoDir(t, "repo"), func(k string) string { return tc.vars[k] })
			if err != nil {
				t.Fatalf("settings: %v", err)
			}
			skipPreflight(t) // the URL names no server
			var out bytes.Buffer
			err = DeployLocal(context.Background(), s, &out)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("DeployLocal: %v\n%s", err, out.String())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q", err, tc.wantErr)
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("%d engine request(s) before the refusal", n)
			}
		})
	}
}

func with(base map[string]string, kv ...string) map[string]string {
	m := maps.Clone(base)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// TestDeployLocalMasksTheStepSummary: a secret's plaintext that reaches an error (here
// the flow check, whose exec holds no secrets, so the engine does not scrub it) is
// masked in the log, in the returned error and in the GitHub step summary alike.
func TestDeployLocalMasksTheStepSummary(t *testing.T) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(func(ex fakedagger.Exec) fakedagger.ExecResult {
		if isCheck(ex.Args) {
			return fakedagger.ExecResult{Stdout: `{"format": 1, "prefect_version": "2.14.21", "flows": [{"entrypoint": "flows/hello.py:hello", "ok": false, "error": "ValueError: bad token ` + secretRegistry + `"}, ` +
				`{"entrypoint": "flows/etl.py:daily_etl", "ok": true, "error": null, "flow_name": "daily-etl", "function": "daily_etl", "deployment_entrypoint": "flows/etl.py:daily_etl", "parameter_openapi_schema": {}}]}` + "\n"}
		}
		return handler(nil)(ex)
	}))
	sessionEnv(t, srv)
	summary := filepath.Join(t.TempDir(), "summary.md")
	env := map[string]string{
		"REGISTRY": "registry.example", "REGISTRY_USERNAME": "bot", "REGISTRY_PASSWORD": secretRegistry,
		"GIT_SHA": "abc1234", "GITHUB_STEP_SUMMARY": summary,
	}
	s, err := config.FromEnv("dev", repoDir(t, "repo"), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = DeployLocal(context.Background(), s, &out)
	if err == nil {
		t.Fatal("DeployLocal succeeded with a failing flow check")
	}
	md, rerr := os.ReadFile(summary)
	if rerr != nil {
		t.Fatal(rerr)
	}
	for what, text := range map[string]string{"error": err.Error(), "log": out.String(), "step summary": string(md)} {
		if strings.Contains(text, secretRegistry) {
			t.Errorf("the %s shows the registry password:\n%s", what, text)
		}
		if !strings.Contains(text, "bad token ***") {
			t.Errorf("the %s lacks the masked error:\n%s", what, text)
		}
	}
}

// skipPreflight leaves the preflight step out of mage's runs in this test: its API URL
// names no server (preflight_test.go gives the step one).
func skipPreflight(t *testing.T) {
	t.Helper()
	newPreflightAPI = func(string, string) preflight.API { return nil }
	t.Cleanup(func() { newPreflightAPI = preflightClient })
}

// mage deploy takes a Prefect 3 file: its checks before the engine let it through, and
// the pipeline deploys it (embedded server, process pools).
func TestDeployLocalPrefect3(t *testing.T) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(handler3(nil)))
	sessionEnv(t, srv)
	s, err := config.FromEnv("dev", repoDir(t, "p3repo"), func(k string) string {
		if k == "PREFECT_OWNER" {
			return testOwner
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := DeployLocal(context.Background(), s, &out); err != nil {
		t.Fatalf("DeployLocal: %v\n%s", err, out.String())
	}
	if n := len(execsWith(srv, isPools)); n != 1 {
		t.Errorf("%d pools exec(s), want 1\n%s", n, out.String())
	}
}
