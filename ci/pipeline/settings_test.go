package pipeline

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/acme-data/prefect-flows/ci/internal/fakedagger"
)

func TestSettingsFromEnv(t *testing.T) {
	remote := map[string]string{
		"PREFECT_API_URL":        "https://api.prefect.example/api",
		"ECS_CLUSTER":            "c",
		"ECS_EXECUTION_ROLE_ARN": "arn:exec",
		"AWS_REGION":             "eu-west-1",
	}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		env     string
		vars    map[string]string
		wantErr string
		check   func(t *testing.T, s Settings)
	}{
		{name: "dev with nothing set is the embedded default", env: "dev", vars: nil, check: func(t *testing.T, s Settings) {
			if s.PrefectAPIURL.Set() || s.Registry != "" || s.Concurrency != 0 {
				t.Errorf("unexpected settings %+v", s)
			}
		}},
		{name: "prod needs PREFECT_API_URL", env: "prod", vars: nil, wantErr: "PREFECT_API_URL is not set"},
		{name: "environment names follow the ownership tag's rule", env: "Prod.EU", vars: nil, wantErr: `environment "Prod.EU": want lower-case letters, digits, '-' or '_'`},
		{name: "staging needs PREFECT_API_URL", env: "staging", vars: nil, wantErr: "PREFECT_API_URL is not set"},
		{name: "remote needs ECS_CLUSTER", env: "prod", vars: with(remote, "ECS_CLUSTER", ""), wantErr: "ECS_CLUSTER is not set"},
		{name: "remote needs ECS_EXECUTION_ROLE_ARN", env: "prod", vars: with(remote, "ECS_EXECUTION_ROLE_ARN", " "), wantErr: "ECS_EXECUTION_ROLE_ARN is not set"},
		{name: "remote needs AWS_REGION", env: "prod", vars: with(remote, "AWS_REGION", ""), wantErr: "AWS_REGION is not set"},
		{name: "API key without URL", env: "dev", vars: map[string]string{"PREFECT_API_KEY": "k"}, wantErr: "PREFECT_API_URL is not set but PREFECT_API_KEY is"},
		{name: "URL must be http(s), value not echoed", env: "prod", vars: with(remote, "PREFECT_API_URL", "ftp://user:pw@x"), wantErr: "PREFECT_API_URL does not start with http:// or https://"},
		{name: "registry password without user", env: "dev", vars: map[string]string{"REGISTRY": "r", "REGISTRY_PASSWORD": "p"}, wantErr: "REGISTRY_USERNAME is not set"},
		{name: "registry user without password", env: "dev", vars: map[string]string{"REGISTRY": "r", "REGISTRY_USERNAME": "u"}, wantErr: "REGISTRY_PASSWORD is not set"},
		{name: "registry password without registry", env: "dev", vars: map[string]string{"REGISTRY_USERNAME": "u", "REGISTRY_PASSWORD": "p"}, wantErr: "REGISTRY is not set"},
		{name: "AWS key id without secret", env: "dev", vars: map[string]string{"AWS_ACCESS_KEY_ID": "a"}, wantErr: "AWS_SECRET_ACCESS_KEY is not set"},
		{name: "AWS secret without key id", env: "dev", vars: map[string]string{"AWS_SECRET_ACCESS_KEY": "a"}, wantErr: "AWS_ACCESS_KEY_ID is not set"},
		{name: "PREFECT_OWNER must fit the ownership tag", env: "dev", vars: map[string]string{"PREFECT_OWNER": "Team A"}, wantErr: `PREFECT_OWNER: owner "Team A": want lower-case letters`},
		{name: "PREFECT_OWNER", env: "dev", vars: map[string]string{"PREFECT_OWNER": "team-a/flows"}, check: func(t *testing.T, s Settings) {
			if s.Owner != "team-a/flows" {
				t.Errorf("owner %q", s.Owner)
			}
		}},
		{name: "bad concurrency", env: "dev", vars: map[string]string{"DEPLOY_CONCURRENCY": "0"}, wantErr: "DEPLOY_CONCURRENCY"},
		{name: "bad timeout", env: "dev", vars: map[string]string{"DEPLOY_TIMEOUT": "10"}, wantErr: "DEPLOY_TIMEOUT"},
		{name: "ECS_CPU not a number", env: "dev", vars: map[string]string{"ECS_CPU": "1 vCPU"}, wantErr: `ECS_CPU="1 vCPU": want a positive whole number`},
		{name: "ECS_CPU zero", env: "prod", vars: with(remote, "ECS_CPU", "0"), wantErr: `ECS_CPU="0": want a positive whole number`},
		{name: "ECS_CPU fraction", env: "dev", vars: map[string]string{"ECS_CPU": "0.5"}, wantErr: `ECS_CPU="0.5"`},
		{name: "ECS_MEMORY with a unit", env: "dev", vars: map[string]string{"ECS_MEMORY": "2GB"}, wantErr: `ECS_MEMORY="2GB": want a positive whole number`},
		{name: "ECS_MEMORY negative", env: "prod", vars: with(remote, "ECS_MEMORY", "-512"), wantErr: `ECS_MEMORY="-512"`},
		{name: "ECS_CPU and ECS_MEMORY set", env: "prod", vars: with(remote, "ECS_CPU", "256", "ECS_MEMORY", " 512 "), check: func(t *testing.T, s Settings) {
			if s.ECS.CPU != "256" || s.ECS.Memory != "512" {
				t.Errorf("ECS %+v", s.ECS)
			}
		}},
		{name: "bad runner", env: "dev", vars: map[string]string{"DEPLOY_RUNNER": "ssh"}, wantErr: `DEPLOY_RUNNER="ssh": want api, batch or cli`},
		{name: "runner cli", env: "dev", vars: map[string]string{"DEPLOY_RUNNER": " cli "}, check: func(t *testing.T, s Settings) {
			o := s.Options(nil, nil)
			if s.Runner != RunnerCLI || o.Runner != RunnerCLI || o.concurrency() != DefaultConcurrency {
				t.Errorf("runner %q, options %q, concurrency %d", s.Runner, o.Runner, o.concurrency())
			}
		}},
		{name: "runner batch", env: "dev", vars: map[string]string{"DEPLOY_RUNNER": "batch"}, check: func(t *testing.T, s Settings) {
			o := s.Options(nil, nil)
			if o.runner() != RunnerBatch || o.concurrency() != DefaultBatchShares {
				t.Errorf("runner %q, concurrency %d", o.runner(), o.concurrency())
			}
		}},
		{name: "runner api by default", env: "dev", vars: map[string]string{"DEPLOY_CONCURRENCY": ""}, check: func(t *testing.T, s Settings) {
			o := s.Options(nil, nil)
			if o.runner() != RunnerAPI || o.concurrency() != DefaultAPIConcurrency {
				t.Errorf("runner %q, concurrency %d", o.runner(), o.concurrency())
			}
		}},
		{name: "everything", env: "prod", vars: with(remote,
			"PREFECT_API_KEY", "key", "REGISTRY", "ghcr.io", "IMAGE_REPOSITORY", "acme/flows",
			"REGISTRY_USERNAME", "bot", "REGISTRY_PASSWORD", "tok", "GITHUB_SHA", "0123456789abcdef",
			"DEPLOY_CONCURRENCY", "3", "DEPLOY_TIMEOUT", "90s", "DEPLOY_ONLY", "a, b,,",
			"GITHUB_STEP_SUMMARY", "/tmp/s.md", "BASE_IMAGE", "python:3.11", "ECS_CPU", "512"),
			check: func(t *testing.T, s Settings) {
				if s.GitSHA != "0123456" || s.Concurrency != 3 || s.Timeout != 90*time.Second ||
					strings.Join(s.Only, "|") != "a|b" || s.StepSummaryPath != "/tmp/s.md" ||
					s.BaseImage != "python:3.11" || s.ECS.CPU != "512" || s.RegistryUser != "bot" {
					t.Errorf("settings %+v", s)
				}
			}},
		{name: "GIT_SHA wins over GITHUB_SHA", env: "dev", vars: map[string]string{"GIT_SHA": "fedcba9", "GITHUB_SHA": "0123456789"},
			check: func(t *testing.T, s Settings) {
				if s.GitSHA != "fedcba9" {
					t.Errorf("GitSHA = %q", s.GitSHA)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := SettingsFromEnv(tc.env, "/repo", func(k string) string { return tc.vars[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				if strings.Contains(err.Error(), "pw@") {
					t.Errorf("error echoes the secret value: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s)
		})
	}
}

func TestSecretsDoNotPrint(t *testing.T) {
	s := Settings{PrefectAPIKey: "pnu_abcdef", RegistryPass: "tok-123456", AWSSecretKey: "aws-abcdef"}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, s)
		for _, secret := range []string{"pnu_abcdef", "tok-123456", "aws-abcdef"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s of Settings shows a secret: %s", format, out)
			}
		}
	}
}

func TestRedactor(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes []string
		want   string
	}{
		{"one write", []string{"url https://x/hunter22/y and abc stays (too short to mask safely)\n"},
			"url https://x/***/y and abc stays (too short to mask safely)\n"},
		{"split across writes", []string{"token=hun", "ter22 ok\n"}, "token=*** ok\n"},
		{"split byte by byte", strings.Split("a hunter22 b\n", ""), "a *** b\n"},
		{"several lines in one write, the last one split", []string{"1 hunter22\n2 hun", "ter22\n"}, "1 ***\n2 ***\n"},
		{"no final newline: flushed at the end", []string{"x hunt", "er22"}, "x ***"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			r := &redactor{w: &b, m: masker{"hunter22", "abc"}}
			for _, w := range tc.writes {
				if n, err := r.Write([]byte(w)); err != nil || n != len(w) {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			if err := r.Flush(); err != nil {
				t.Fatal(err)
			}
			if got := b.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSettingsAndOptionsAgree: mage (environment variables, SettingsFromEnv) and the
// Dagger module (Options straight from function arguments, Options.check) refuse the
// same configurations with the same words, because one set of rules serves both.
func TestSettingsAndOptionsAgree(t *testing.T) {
	remote := map[string]string{
		"PREFECT_API_URL": "https://api.prefect.example/api", "ECS_CLUSTER": "c",
		"ECS_EXECUTION_ROLE_ARN": "arn:exec", "AWS_REGION": "eu-west-1",
	}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := maps.Clone(base)
		if m == nil {
			m = map[string]string{}
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	srv := fakedagger.Start(t)
	c := connect(t, srv)
	for _, tc := range []struct {
		env  string
		vars map[string]string
	}{
		{"prod", nil},
		{"dev", map[string]string{"PREFECT_API_KEY": "k"}},
		{"prod", with(remote, "ECS_CLUSTER", "")},
		{"prod", with(remote, "ECS_EXECUTION_ROLE_ARN", "")},
		{"prod", with(remote, "AWS_REGION", "")},
		{"dev", map[string]string{"ECS_CPU": "1 vCPU"}},
		{"dev", map[string]string{"ECS_MEMORY": "0"}},
		{"dev", map[string]string{"REGISTRY": "r", "REGISTRY_PASSWORD": "p"}},
		{"dev", map[string]string{"REGISTRY": "r", "REGISTRY_USERNAME": "u"}},
		{"dev", map[string]string{"REGISTRY_USERNAME": "u", "REGISTRY_PASSWORD": "p"}},
		{"dev", map[string]string{"AWS_ACCESS_KEY_ID": "a"}},
		{"dev", map[string]string{"AWS_SECRET_ACCESS_KEY": "a"}},
		{"dev", map[string]string{"DEPLOY_RUNNER": "ssh"}},
		{"dev", map[string]string{"PREFECT_PRUNE": "1", "DEPLOY_ONLY": "a"}},
		{"bad/env", nil},
	} {
		get := func(k string) string { return tc.vars[k] }
		_, serr := SettingsFromEnv(tc.env, "/repo", get)
		s, err := parseSettings(tc.env, "/repo", get)
		if err != nil {
			t.Fatalf("%s %v: parse: %v", tc.env, tc.vars, err)
		}
		o := s.Options(c, nil)
		oerr := o.check(false)
		if serr == nil || oerr == nil || serr.Error() != oerr.Error() {
			t.Errorf("%s %v:\n  SettingsFromEnv: %v\n  Options.check:   %v", tc.env, tc.vars, serr, oerr)
		}
	}
	// The deploy-only rule: mage checks it before connecting, the module in Run.
	unpublished, err := SettingsFromEnv("prod", "/repo", func(k string) string { return remote[k] })
	if err != nil {
		t.Fatalf("an unpublished image is refused by deploy runs only, not by the settings: %v", err)
	}
	o := unpublished.Options(c, nil)
	serr, oerr := unpublished.CheckDeploy(), o.check(true)
	if serr == nil || oerr == nil || serr.Error() != oerr.Error() {
		t.Errorf("unpublished image:\n  Settings.CheckDeploy: %v\n  Options.check:        %v", serr, oerr)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d engine request(s) while checking options", n)
	}
}
