package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/config"
	"github.com/acme-data/prefect-flows/ci/internal/fakedagger"
)

// groupProblems checks a log written with LogGroups: groups never nest and are all
// closed, every step but the report runs inside one, and what the reader needs without
// unfolding (each step's result, the summary) is outside.
func groupProblems(log string) []string {
	var probs []string
	open := ""
	for i, line := range strings.Split(log, "\n") {
		where := fmt.Sprintf("line %d %q", i+1, line)
		switch {
		case strings.HasPrefix(line, "::group::"):
			if open != "" {
				probs = append(probs, where+": opens a group inside "+open)
			}
			open = line
		case line == "::endgroup::":
			if open == "" {
				probs = append(probs, where+": closes no group")
			}
			open = ""
		case strings.HasPrefix(line, "==> ") && !strings.HasPrefix(line, "==> report:"):
			probs = append(probs, where+": a step outside a group")
		case open != "" && (strings.HasPrefix(line, "    ok (") || strings.HasPrefix(line, "    FAILED: ") ||
			strings.HasPrefix(line, "    skipped: ") || strings.HasPrefix(line, "    INTERRUPTED: ") || strings.HasPrefix(line, "Summary (")):
			probs = append(probs, where+": folded away inside "+open)
		}
	}
	if open != "" {
		probs = append(probs, "the log ends inside "+open)
	}
	return probs
}

func TestGroupProblems(t *testing.T) {
	for _, tc := range []struct{ log, want string }{
		{"::group::==> a\nx\n::endgroup::\n    ok (1s)\n==> report: r\nSummary (environment dev)\n", ""},
		{"::group::==> a\n::group::==> b\n::endgroup::\n", "opens a group inside"},
		{"::group::==> a\nx\n", "the log ends inside"},
		{"::endgroup::\n", "closes no group"},
		{"==> image: build\n", "a step outside a group"},
		{"::group::==> a\n    FAILED: boom\n::endgroup::\n", "folded away"},
	} {
		got := strings.Join(groupProblems(tc.log), "\n")
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("groupProblems(%q) = %q, want %q", tc.log, got, tc.want)
		}
	}
}

// TestLogGroups: under GitHub Actions every step's details are folded, and the groups
// stay balanced however the run ends.
func TestLogGroups(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fail      map[string]bool
		interrupt bool // Ctrl-C at the first build
		wantErr   string
	}{
		{"success", nil, false, ""},
		{"a deployment fails", map[string]bool{"hello-prod": true}, false, "step deploy"},
		{"a flow does not load", map[string]bool{"import:flows/hello.py:hello": true}, false, "step check"},
		{"the check crashes", map[string]bool{"check-crash": true}, false, "step check"},
		{"read-back finds drift", map[string]bool{"read-back": true}, false, "step verify"},
		{"interrupted", nil, true, "interrupted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			h := handler(tc.fail)
			srv := fakedagger.Start(t, fakedagger.WithHandler(func(ex fakedagger.Exec) fakedagger.ExecResult {
				if tc.interrupt && (isBatch(ex.Args) || isDeploy(ex.Args)) {
					cancel()
				}
				return h(ex)
			}))
			c := connect(t, srv)
			var out bytes.Buffer
			o := prodOptions(t, c, &out)
			o.LogGroups = true
			_, err := Run(ctx, c, o)
			if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q\n%s", err, tc.wantErr, out.String())
			}
			log := out.String()
			for _, p := range groupProblems(log) {
				t.Error(p)
			}
			if n := strings.Count(log, "::group::"); n < 3 {
				t.Errorf("%d groups, want one per step that ran:\n%s", n, log)
			}
			if !strings.Contains(log, "Summary (environment prod)") {
				t.Errorf("no summary:\n%s", log)
			}
		})
	}
}

// TestLogPlainByDefault: without GITHUB_ACTIONS the log has no workflow commands.
func TestLogPlainByDefault(t *testing.T) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(handler(nil)))
	c := connect(t, srv)
	var out bytes.Buffer
	if _, err := Run(context.Background(), c, prodOptions(t, c, &out)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "::") {
		t.Errorf("workflow commands in a plain log:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "==> deploy:") {
		t.Errorf("no step lines:\n%s", out.String())
	}
}

// TestLogSettings: mage's variables choose the log. GITHUB_ACTIONS=true (exactly what
// GitHub sets) folds the steps, through DeployLocal's own path; DAGGER_PROGRESS alone
// lets Dagger's progress through to stderr.
func TestLogSettings(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		env                  map[string]string
		wantGroups, wantProg bool
	}{
		{"default", nil, false, false},
		{"GitHub Actions", map[string]string{"GITHUB_ACTIONS": "true"}, true, false},
		{"GITHUB_ACTIONS not true", map[string]string{"GITHUB_ACTIONS": "1"}, false, false},
		{"Dagger progress asked for", map[string]string{"DAGGER_PROGRESS": "plain"}, false, true},
		{"both", map[string]string{"GITHUB_ACTIONS": "true", "DAGGER_PROGRESS": "dots"}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := config.FromEnv("dev", repoDir(t, "repo"), func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if got := ProgressOutput(s, os.Stderr) != nil; got != tc.wantProg {
				t.Errorf("Dagger progress shown = %v, want %v", got, tc.wantProg)
			}
			srv := fakedagger.Start(t, fakedagger.WithHandler(handler(nil)))
			sessionEnv(t, srv)
			var out bytes.Buffer
			if err := DeployLocal(context.Background(), s, &out); err != nil {
				t.Fatalf("DeployLocal: %v\n%s", err, out.String())
			}
			log := out.String()
			if got := strings.Contains(log, "::group::"); got != tc.wantGroups {
				t.Errorf("groups = %v, want %v:\n%s", got, tc.wantGroups, log)
			}
			if tc.wantGroups {
				for _, p := range groupProblems(log) {
					t.Error(p)
				}
			}
		})
	}
}

// TestDaggerProgressRefused: a value the engine session would exit on is a settings
// error, before an engine is started.
func TestDaggerProgressRefused(t *testing.T) {
	for _, v := range []string{"tty", "auto", "fancy"} {
		_, err := config.FromEnv("dev", repoDir(t, "repo"), func(k string) string {
			return map[string]string{"DAGGER_PROGRESS": v}[k]
		})
		if err == nil || !strings.Contains(err.Error(), "DAGGER_PROGRESS=\""+v+"\": want plain, dots or report") {
			t.Errorf("DAGGER_PROGRESS=%s: err = %v", v, err)
		}
	}
}
