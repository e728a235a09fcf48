package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/internal/fakedagger"
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
	}
	s, err := SettingsFromEnv("prod", repoDir(t, "repo"), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := DeployLocal(context.Background(), s, &out); err != nil {
		t.Fatalf("DeployLocal: %v\n%s", err, out.String())
	}
	if got := deployNames(t, srv); len(got) != 2 {
		t.Errorf("deployments built = %v, want 2", got)
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
		name, repo, only, wantErr string
	}{
		{"invalid file", "badrepo", "", "deployments[1].entrypoint"},
		{"unknown DEPLOY_ONLY", "repo", "nope", "DEPLOY_ONLY names no deployment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakedagger.Start(t)
			sessionEnv(t, srv)
			s, err := SettingsFromEnv("dev", repoDir(t, tc.repo), func(k string) string {
				if k == "DEPLOY_ONLY" {
					return tc.only
				}
				return ""
			})
			if err != nil {
				t.Fatal(err)
			}
			err = DeployLocal(context.Background(), s, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "step plan:") {
				t.Fatalf("err = %v, want step plan: ...%s", err, tc.wantErr)
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("%d engine requests", n)
			}
		})
	}
}

// TestDeployLocalMasksTheStepSummary: a secret's plaintext that reaches an error (here
// the flow check, whose exec holds no secrets, so the engine does not scrub it) is
// masked in the log, in the returned error and in the GitHub step summary alike.
func TestDeployLocalMasksTheStepSummary(t *testing.T) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(func(ex fakedagger.Exec) fakedagger.ExecResult {
		if isCheck(ex.Args) {
			return fakedagger.ExecResult{Stdout: `{"entrypoint": "flows/hello.py:hello", "ok": false, "error": "ValueError: bad token ` + secretRegistry + `"}` + "\n" +
				`{"entrypoint": "flows/etl.py:daily_etl", "ok": true, "error": ""}` + "\n"}
		}
		return handler(nil)(ex)
	}))
	sessionEnv(t, srv)
	summary := filepath.Join(t.TempDir(), "summary.md")
	env := map[string]string{
		"REGISTRY": "registry.example", "REGISTRY_USERNAME": "bot", "REGISTRY_PASSWORD": secretRegistry,
		"GIT_SHA": "abc1234", "GITHUB_STEP_SUMMARY": summary,
	}
	s, err := SettingsFromEnv("dev", repoDir(t, "repo"), func(k string) string { return env[k] })
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
