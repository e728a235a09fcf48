// Package prplan shows a pull request's effect on the Prefect servers: the live plan of
// every environment the pull request touches, in the log, in the GitHub step summary and
// in one pull request comment that each run updates. Without an environment's API secret
// (a fork's pull request gets none) that environment is validated and its commands
// printed instead, which needs no server.
package prplan

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/acme-data/prefect-flows/ci/deploycli"
)

// CommentMarker starts the pull request comment this package writes, so the next run
// finds and updates it instead of adding another.
const CommentMarker = "<!-- prefect-flows:plan -->"

// Shared are the paths whose change touches every environment: the flows and what they
// run with. A change to prefect-deployments-<env>.yaml touches env alone.
var Shared = []string{"flows/", "src/", "infrastructure/", "Dockerfile", "requirements.txt"}

// Options configure one run.
type Options struct {
	// Root is the repository.
	Root string
	// Environ is the process environment (os.Environ()); read for GITHUB_*,
	// PREFECT_API_URL_<ENV>, PREFECT_API_KEY_<ENV> and passed on to the live plan.
	Environ []string
	Stdout  io.Writer
	Stderr  io.Writer
	// Changed lists the files the pull request changes; nil means git diff against
	// origin/$GITHUB_BASE_REF. An error plans every environment.
	Changed func(ctx context.Context) ([]string, error)
	// GitHub posts the comment; nil means a client of GITHUB_API_URL with GITHUB_TOKEN.
	GitHub *GitHub
}

// SecretNames are the variables that hold env's API URL and key for pull requests:
// PREFECT_API_URL_<ENV> and PREFECT_API_KEY_<ENV>, ENV upper-cased with '-' as '_'.
func SecretNames(env string) (url, key string) {
	e := strings.ToUpper(strings.ReplaceAll(env, "-", "_"))
	return "PREFECT_API_URL_" + e, "PREFECT_API_KEY_" + e
}

// Run plans every touched environment, writes the step summary and updates the comment.
// It fails when a plan fails (a file that does not load, an unreachable API), never for
// the comment alone, which a fork's token may not be allowed to write.
func Run(ctx context.Context, o Options) error {
	get := func(k string) string { return lookup(o.Environ, k) }
	envs, err := environments(o.Root)
	if err != nil {
		return err
	}
	changed := o.Changed
	if changed == nil {
		changed = func(ctx context.Context) ([]string, error) { return gitChanged(ctx, o.Root, get("GITHUB_BASE_REF")) }
	}
	files, cerr := changed(ctx)
	touched := envs
	if cerr != nil {
		fmt.Fprintf(o.Stderr, "prplan: cannot tell which files changed (%v): planning every environment\n", cerr)
	} else {
		touched = Touched(envs, files)
	}

	var body bytes.Buffer
	body.WriteString(CommentMarker + "\n## Prefect plan\n\n")
	if len(touched) == 0 {
		body.WriteString("This pull request changes no deployments file and no flow code (" + strings.Join(Shared, ", ") + "): nothing to plan.\n")
	}
	var failed []string
	for _, env := range touched {
		md, ok := planOne(ctx, o, env)
		body.WriteString(md)
		body.WriteString("\n")
		if !ok {
			failed = append(failed, env)
		}
	}
	body.WriteString(fmt.Sprintf("\n<sub>Updated %s for %s.</sub>\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), shortSHA(get("GITHUB_SHA"))))
	masked := mask(body.String(), o.Environ, envs)
	body.Reset()
	body.WriteString(masked)

	if p := get("GITHUB_STEP_SUMMARY"); p != "" {
		if err := appendFile(p, body.Bytes()); err != nil {
			fmt.Fprintf(o.Stderr, "prplan: warning: step summary: %v\n", err)
		}
	}
	gh := o.GitHub
	if gh == nil {
		gh = GitHubFromEnv(get)
	}
	if gh != nil {
		if n, err := PRNumber(get("GITHUB_EVENT_PATH")); err != nil {
			fmt.Fprintf(o.Stderr, "prplan: no comment: %v\n", err)
		} else if url, err := gh.UpsertComment(ctx, n, CommentMarker, body.String()); err != nil {
			// A fork's pull request gets a read-only token: the summary has the plan.
			fmt.Fprintf(o.Stderr, "prplan: warning: pull request comment not written (the step summary has the plan): %v\n", err)
		} else {
			fmt.Fprintf(o.Stdout, "Plan comment: %s\n", url)
		}
	} else {
		fmt.Fprintln(o.Stdout, "No pull request comment: GITHUB_TOKEN or GITHUB_REPOSITORY is not set (the step summary has the plan).")
	}
	if len(failed) > 0 {
		return fmt.Errorf("plan failed for %s (see above)", strings.Join(failed, ", "))
	}
	return nil
}

// planOne runs the live plan of env, or validate and script without its secret; it
// returns the Markdown for the summary and whether it succeeded.
func planOne(ctx context.Context, o Options, env string) (string, bool) {
	file := filepath.Join(o.Root, "prefect-deployments-"+env+".yaml")
	urlName, keyName := SecretNames(env)
	url, key := lookup(o.Environ, urlName), lookup(o.Environ, keyName)
	fmt.Fprintf(o.Stdout, "==> %s\n", env)
	var stdout, stderr bytes.Buffer
	out := io.MultiWriter(o.Stdout, &stdout)
	errw := io.MultiWriter(o.Stderr, &stderr)
	if url == "" {
		app := &deploycli.App{Stdout: out, Stderr: errw, Env: without(o.Environ, "GITHUB_STEP_SUMMARY")}
		ok := app.Run(ctx, []string{"validate", "--workdir", o.Root, file}) == deploycli.ExitOK &&
			app.Run(ctx, []string{"script", "--workdir", o.Root, file}) == deploycli.ExitOK
		var md strings.Builder
		fmt.Fprintf(&md, "### %s: no live plan\n\n%s is not available to this run (a pull request from a fork gets no secrets, or it is not set): the file was validated and its commands printed instead.\n\n", env, urlName)
		fmt.Fprintf(&md, "<details><summary>%s</summary>\n\n```\n%s%s```\n</details>\n", map[bool]string{true: "valid: the commands a deploy runs", false: "INVALID"}[ok], stdout.String(), stderr.String())
		return md.String(), ok
	}
	dir, err := os.MkdirTemp("", "prplan-")
	if err != nil {
		return fmt.Sprintf("### %s: plan failed\n\n%v\n", env, err), false
	}
	defer os.RemoveAll(dir)
	summary := filepath.Join(dir, "summary.md")
	environ := without(o.Environ, "PREFECT_API_URL", "PREFECT_API_KEY", "GITHUB_STEP_SUMMARY")
	environ = append(environ, "PREFECT_API_URL="+url, "PREFECT_API_KEY="+key, "GITHUB_STEP_SUMMARY="+summary)
	app := &deploycli.App{Stdout: out, Stderr: errw, Env: environ}
	code := app.Run(ctx, []string{"plan", "--workdir", o.Root, file})
	md, _ := os.ReadFile(summary)
	if code != deploycli.ExitOK {
		return fmt.Sprintf("### %s: plan failed\n\n```\n%s```\n", env, stderr.String()), false
	}
	return fmt.Sprintf("#### Environment %s\n\n%s", env, md), true
}

// Touched are the environments of envs that files touch: an environment's own file, or
// any file under Shared.
func Touched(envs, files []string) []string {
	all := false
	own := map[string]bool{}
	for _, f := range files {
		f = filepath.ToSlash(f)
		for _, s := range Shared {
			if f == s || (strings.HasSuffix(s, "/") && strings.HasPrefix(f, s)) {
				all = true
			}
		}
		if env, ok := strings.CutPrefix(f, "prefect-deployments-"); ok && strings.HasSuffix(env, ".yaml") {
			own[strings.TrimSuffix(env, ".yaml")] = true
		}
	}
	var out []string
	for _, e := range envs {
		if all || own[e] {
			out = append(out, e)
		}
	}
	return out
}

func environments(root string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(root, "prefect-deployments-*.yaml"))
	if err != nil {
		return nil, err
	}
	var envs []string
	for _, m := range matches {
		if env := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "prefect-deployments-"), ".yaml"); env != "" {
			envs = append(envs, env)
		}
	}
	sort.Strings(envs)
	return envs, nil
}

// gitChanged lists the files changed between the merge base with origin/base and HEAD
// (the workflow checks out with enough history for it).
func gitChanged(ctx context.Context, root, base string) ([]string, error) {
	if base == "" {
		return nil, fmt.Errorf("GITHUB_BASE_REF is not set")
	}
	out, err := exec.CommandContext(ctx, "git", "-C", root, "diff", "--name-only", "origin/"+base+"...HEAD").Output()
	if err != nil {
		return nil, fmt.Errorf("git diff origin/%s...HEAD: %w", base, err)
	}
	return strings.Fields(string(out)), nil
}

// mask hides the API URLs and keys of every environment in text that leaves the log
// (the summary and the comment), as a last line of defence.
func mask(text string, environ, envs []string) string {
	for _, e := range envs {
		u, k := SecretNames(e)
		for _, name := range []string{u, k} {
			if v := lookup(environ, name); len(v) >= 4 {
				text = strings.ReplaceAll(text, v, "***")
			}
		}
	}
	return text
}

func lookup(env []string, name string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val
		}
	}
	return v
}

func without(env []string, names ...string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || k == n
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

func appendFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

func shortSHA(s string) string {
	if s == "" {
		return "this commit"
	}
	if len(s) > 7 {
		s = s[:7]
	}
	return "commit " + s
}
