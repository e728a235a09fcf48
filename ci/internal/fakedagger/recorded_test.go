package fakedagger

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"dagger.io/dagger"
	"github.com/acme-data/prefect-flows/ci/internal/shareddata"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// sharedDir is the shared data folder (see ci/internal/shareddata).
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, err := shareddata.Dir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

type exchange struct {
	Request struct {
		Headers map[string][]string `json:"headers"`
		BodyRaw string              `json:"body_raw"`
	} `json:"request"`
	Response struct {
		Status  int                 `json:"status"`
		Headers map[string][]string `json:"headers"`
		BodyRaw string              `json:"body_raw"`
	} `json:"response"`
	Meta struct {
		Seq  int    `json:"seq"`
		Step string `json:"step"`
	} `json:"meta"`
}

// loadRecording reads one recorded step in arrival (seq) order.
func loadRecording(t *testing.T, name string) []exchange {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(sharedDir(t), "dagger", "recorded", name+"*.jsonl"))
	if err != nil || len(matches) != 1 {
		t.Fatalf("recording %s: %v %v", name, matches, err)
	}
	f, err := os.Open(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []exchange
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e exchange
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s: %v", matches[0], err)
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Meta.Seq < out[j].Meta.Seq })
	return out
}

// canonicalQuery renders a query with sorted arguments and masked IDs,
// cache-buster timestamps and secret plaintext, so a recorded query and the
// fake's compare equal when the SDK asked for the same thing.
func canonicalQuery(t *testing.T, q string) string {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Input: q})
	if err != nil {
		t.Fatalf("parse %q: %v", q, err)
	}
	var b strings.Builder
	var walk func(set ast.SelectionSet, parent string)
	walk = func(set ast.SelectionSet, parent string) {
		for _, s := range set {
			f := s.(*ast.Field)
			def := types[parent].Fields.ForName(f.Name)
			b.WriteString("{" + f.Name)
			if len(f.Arguments) > 0 {
				var args []string
				isBuster := false
				for _, a := range f.Arguments {
					if a.Value.Raw == "CACHEBUSTER" {
						isBuster = true
					}
				}
				for _, a := range f.Arguments {
					v := a.Value.String()
					switch {
					case strings.HasSuffix(def.Arguments.ForName(a.Name).Type.Name(), "ID"):
						v = "<" + def.Arguments.ForName(a.Name).Type.Name() + ">"
					case isBuster && a.Name == "value":
						v = "<TIMESTAMP>"
					case f.Name == "setSecret" && a.Name == "plaintext":
						v = "<SECRET>"
					}
					args = append(args, a.Name+":"+v)
				}
				sort.Strings(args)
				b.WriteString("(" + strings.Join(args, ", ") + ")")
			}
			walk(f.SelectionSet, def.Type.Name())
			b.WriteString("}")
		}
	}
	walk(doc.Operations[0].SelectionSet, "Query")
	return b.String()
}

var (
	idLiteral   = regexp.MustCompile(`"[A-Za-z0-9+/]{40,}={0,2}"`)
	traceparent = regexp.MustCompile(`\[traceparent:[0-9a-f]{32}-[0-9a-f]{16}\]`)
	digestRef   = regexp.MustCompile(`@sha256:[0-9a-f]{64}`)
)

func maskResponse(body string) string {
	body = idLiteral.ReplaceAllString(body, `"<ID>"`)
	body = traceparent.ReplaceAllString(body, "[traceparent:<TP>]")
	return digestRef.ReplaceAllString(body, "@sha256:<DIGEST>")
}

// recordedHandler answers the commands of the recorded run with what they
// printed there.
func recordedHandler(t *testing.T) ExecHandler {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "recorded-exec-results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var data struct {
		Results []struct {
			Args     []string `json:"args"`
			Stdout   string   `json:"stdout"`
			Stderr   string   `json:"stderr"`
			ExitCode int      `json:"exitCode"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &data); err != nil {
		t.Fatal(err)
	}
	return func(ex Exec) ExecResult {
		for _, r := range data.Results {
			if slices.Equal(r.Args, ex.Args) {
				return ExecResult{Stdout: r.Stdout, Stderr: r.Stderr, ExitCode: r.ExitCode}
			}
		}
		return ExecResult{Stderr: "unexpected command", ExitCode: 127}
	}
}

const (
	prefectImage = "127.0.0.1:5000/prefect:2.14.21-rig"
	plaintext    = "pnu_not-a-real-key\"with\\quotes"
)

var (
	goodArgs = []string{"prefect", "deployment", "build", "flows/hello.py:hello", "-n", "rec-1", "-a", "--skip-upload", "-ib", "process/dev", "--no-schedule", "-o", "/tmp/rec-1.yaml"}
	badArgs  = []string{"prefect", "deployment", "build", "flows/hello.py:nope", "-n", "rec-bad", "-a", "--skip-upload", "-ib", "process/dev", "--no-schedule", "-o", "/tmp/rec-bad.yaml"}
)

// session is the state the recorded program carried from step to step.
type session struct {
	client *dagger.Client
	built  *dagger.Container
	secret *dagger.Secret
	ctr    *dagger.Container
}

func (s *session) base() *dagger.Container {
	return s.built.WithSecretVariable("PREFECT_API_KEY", s.secret).
		WithEnvVariable("PREFECT_API_URL", "http://127.0.0.1:4200/api").
		WithEnvVariable("CACHEBUSTER", time.Now().UTC().Format(time.RFC3339Nano))
}

// TestRecordedSteps drives the real SDK through the operations of every
// recorded step and checks that the fake received the same queries and
// answered with the same bytes (IDs, traceparents and digests masked).
func TestRecordedSteps(t *testing.T) {
	ctx := context.Background()
	srv := Start(t, WithHandler(recordedHandler(t)))
	client, err := srv.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("connect sent %d requests, the SDK sends none", n)
	}
	s := &session{client: client}

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"01-dockerbuild-sync", func(t *testing.T) {
			built, err := client.Host().Directory("/src/ctx", dagger.HostDirectoryOpts{Exclude: []string{".git", "**/__pycache__"}}).
				DockerBuild(dagger.DirectoryDockerBuildOpts{Dockerfile: "Dockerfile", BuildArgs: []dagger.BuildArg{{Name: "PREFECT_IMAGE", Value: prefectImage}}}).
				Sync(ctx)
			if err != nil {
				t.Fatal(err)
			}
			s.built = built
			b := srv.Builds()
			if len(b) != 1 || b[0].Context.HostPath != "/src/ctx" || !slices.Equal(b[0].Context.Exclude, []string{".git", "**/__pycache__"}) ||
				b[0].Dockerfile != "Dockerfile" || b[0].BuildArgs["PREFECT_IMAGE"] != prefectImage {
				t.Errorf("builds = %+v", b)
			}
		}},
		{"02-secret-exec-stdout", func(t *testing.T) {
			s.secret = client.SetSecret("prefect-api-key", plaintext)
			s.ctr = s.base()
			out, err := s.ctr.WithExec(goodArgs).Stdout(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out, "Found flow 'hello'\n") {
				t.Errorf("stdout = %q", out)
			}
		}},
		{"03a-exec-error", func(t *testing.T) {
			_, err := s.ctr.WithExec(badArgs).Stdout(ctx)
			var ee *dagger.ExecError
			if !errors.As(err, &ee) {
				t.Fatalf("err = %T %v, want *dagger.ExecError", err, err)
			}
			if ee.ExitCode != 1 || !slices.Equal(ee.Cmd, badArgs) || ee.Stderr != "" ||
				ee.Stdout != "Flow function with name 'nope' not found in 'flows/hello.py'." ||
				!traceparent.MatchString(ee.Error()) || !strings.HasPrefix(ee.Error(), "exit code: 1 [") {
				t.Errorf("ExecError = %+v, %q", ee, ee.Error())
			}
		}},
		{"03b-exec-error-stderr", func(t *testing.T) {
			_, err := s.ctr.WithExec([]string{"sh", "-c", "echo partial stdout; echo boom on stderr >&2; exit 3"}).Stdout(ctx)
			var ee *dagger.ExecError
			if !errors.As(err, &ee) || ee.ExitCode != 3 || ee.Stdout != "partial stdout" || ee.Stderr != "boom on stderr" {
				t.Fatalf("err = %#v", err)
			}
		}},
		{"03c-exec-expect-any", func(t *testing.T) {
			c := s.ctr.WithExec(badArgs, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
			code, err := c.ExitCode(ctx)
			if err != nil || code != 1 {
				t.Fatalf("exit code %d, %v", code, err)
			}
			stderr, err := c.Stderr(ctx)
			if err != nil || stderr != "" {
				t.Fatalf("stderr %q, %v", stderr, err)
			}
			stdout, err := c.Stdout(ctx)
			if err != nil || stdout != "Flow function with name 'nope' not found in 'flows/hello.py'. \n" {
				t.Fatalf("stdout %q, %v", stdout, err)
			}
		}},
		{"04-concurrent-siblings", func(t *testing.T) {
			base := s.base()
			var wg sync.WaitGroup
			outs := make([]string, 2)
			errs := make([]error, 2)
			for i, args := range [][]string{{"prefect", "version"}, {"sh", "-c", "python -c 'import prefect_aws; print(\"prefect_aws\", prefect_aws.__version__)'; sleep 1"}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					outs[i], errs[i] = base.WithExec(args).Stdout(ctx)
				}()
			}
			wg.Wait()
			if errs[0] != nil || errs[1] != nil || !strings.HasPrefix(outs[0], "Version:") || outs[1] != "prefect_aws 0.4.10\n" {
				t.Fatalf("outs %q errs %v", outs, errs)
			}
		}},
		{"05-publish-registry-auth", func(t *testing.T) {
			ref, err := s.built.WithRegistryAuth("127.0.0.1:5000", "user", s.secret).Publish(ctx, "127.0.0.1:5000/rec:dev")
			if err != nil || !regexp.MustCompile(`^127\.0\.0\.1:5000/rec:dev@sha256:[0-9a-f]{64}$`).MatchString(ref) {
				t.Fatalf("publish = %q, %v", ref, err)
			}
			p := srv.Publishes()
			if len(p) != 1 || p[0].Ref != ref || !slices.Equal(p[0].Auth, []RegistryAuth{{Address: "127.0.0.1:5000", Username: "user", Secret: "prefect-api-key"}}) {
				t.Errorf("publishes = %+v", p)
			}
		}},
		{"06-service-binding", func(t *testing.T) {
			buster := time.Now().UTC().Format(time.RFC3339Nano)
			svc := client.Container().From(prefectImage).
				WithEnvVariable("PREFECT_UI_ENABLED", "false").
				WithEnvVariable("PREFECT_SERVER_ANALYTICS_ENABLED", "false").
				WithEnvVariable("DO_NOT_TRACK", "1").
				WithEnvVariable("PREFECT_HOME", "/tmp/ph").
				WithEnvVariable("CACHEBUSTER", buster).
				WithExposedPort(4310).
				AsService(dagger.ContainerAsServiceOpts{Args: []string{"prefect", "server", "start", "--host", "127.0.0.1", "--port", "4310"}})
			out, err := client.Container().From(prefectImage).WithEnvVariable("CACHEBUSTER", buster).
				WithServiceBinding("prefect", svc).
				WithExec([]string{"curl", "-sS", "--retry", "20", "--retry-delay", "1", "--retry-connrefused", "http://prefect:4310/api/health"}).
				Stdout(ctx)
			if err != nil || out != "true" {
				t.Fatalf("stdout %q, %v", out, err)
			}
			svcs := srv.Services()
			if len(svcs) != 1 || svcs[0].Starts != 1 || !slices.Equal(svcs[0].Service.Args, []string{"prefect", "server", "start", "--host", "127.0.0.1", "--port", "4310"}) ||
				!slices.Equal(svcs[0].Service.Container.ExposedPorts, []int{4310}) || svcs[0].Service.Container.Env["DO_NOT_TRACK"] != "1" {
				t.Errorf("services = %+v", svcs)
			}
		}},
	}
	for _, step := range steps {
		before := len(srv.Requests())
		if !t.Run(step.name, step.run) {
			continue
		}
		got := srv.Requests()[before:]
		rec := loadRecording(t, step.name)
		var wantQ, gotQ, wantR, gotR []string
		for _, e := range rec {
			var body gqlRequest
			if err := json.Unmarshal([]byte(e.Request.BodyRaw), &body); err != nil {
				t.Fatal(err)
			}
			wantQ = append(wantQ, canonicalQuery(t, body.Query))
			wantR = append(wantR, maskResponse(e.Response.BodyRaw))
		}
		for _, r := range got {
			gotQ = append(gotQ, canonicalQuery(t, strings.ReplaceAll(r.Query, gqlQuote(plaintext), `"<SECRET>"`)))
			gotR = append(gotR, maskResponse(r.Response))
			if r.Status != 200 {
				t.Errorf("%s: status %d", step.name, r.Status)
			}
		}
		if step.name == "04-concurrent-siblings" { // the siblings arrive in either order
			sort.Strings(wantQ)
			sort.Strings(gotQ)
			sort.Strings(wantR)
			sort.Strings(gotR)
		}
		if os.Getenv("FD_DEBUG") != "" {
			t.Logf("%s\n%q\n%q", step.name, gotQ, gotR)
		}
		if !slices.Equal(gotQ, wantQ) {
			t.Errorf("%s: queries differ\n got: %q\nwant: %q", step.name, gotQ, wantQ)
		}
		if !slices.Equal(gotR, wantR) {
			t.Errorf("%s: responses differ\n got: %q\nwant: %q", step.name, gotR, wantR)
		}
	}
	if leaks := srv.SecretLeaks(); len(leaks) > 0 {
		t.Errorf("secret leaks: %v", leaks)
	}
	n := len(srv.Requests())
	if err := client.Close(); err != nil || len(srv.Requests()) != n {
		t.Errorf("close: %v, sent %d requests; the SDK sends none", err, len(srv.Requests())-n)
	}
}
