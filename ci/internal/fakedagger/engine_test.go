package fakedagger

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dagger.io/dagger"
)

func connect(t *testing.T, opts ...Option) (*Server, *dagger.Client) {
	t.Helper()
	srv := Start(t, opts...)
	c, err := srv.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// deployChain is the shape of a pipeline deploy step: an image, a secret
// variable, a cache buster, one exec.
func deployChain(c *dagger.Client, secretValue, buster string) *dagger.Container {
	return c.Container().From("registry.local/agent:dev").
		WithSecretVariable("PREFECT_API_KEY", c.SetSecret("prefect-api-key", secretValue)).
		WithEnvVariable("CACHEBUSTER", buster).
		WithExec([]string{"prefect", "deployment", "build", "flows/hello.py:hello", "-n", "hello"})
}

// TestSecondRunIsCached: what a real engine did on a second identical run,
// and what changing the cache buster or the secret's value does.
func TestSecondRunIsCached(t *testing.T) {
	ctx := context.Background()
	argv := []string{"prefect", "deployment", "build", "flows/hello.py:hello", "-n", "hello"}
	cases := []struct {
		name                   string
		secret2, buster2       string
		wantCalls              int
		wantSameSecretIDAcross bool
	}{
		{"identical chain", "v1", "t1", 1, true},
		{"changed CACHEBUSTER", "v1", "t2", 2, true},
		{"changed secret value, same name", "v2", "t1", 1, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, client := connect(t)
			for _, run := range []struct{ secret, buster string }{{"v1", "t1"}, {c.secret2, c.buster2}} {
				if _, err := deployChain(client, run.secret, run.buster).Stdout(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if got := srv.ExecCalls(argv...); got != c.wantCalls {
				t.Errorf("handler calls = %d, want %d", got, c.wantCalls)
			}
			if len(srv.Requests()) != 4 { // per run: the secret's ID, then the exec
				t.Errorf("requests = %d, want 4", len(srv.Requests()))
			}
		})
	}
}

func TestSecretIDDependsOnNameOnly(t *testing.T) {
	ctx := context.Background()
	srv, client := connect(t)
	a, err := client.SetSecret("api-key", "value-one").ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := client.SetSecret("api-key", "value-two").ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other, err := client.SetSecret("other-key", "value-one").ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a != b || a == other {
		t.Errorf("IDs: same name %v, other name differs %v", a == b, a != other)
	}
	raw, _ := base64.StdEncoding.DecodeString(string(a))
	if strings.Contains(string(raw)+string(a), "value-one") {
		t.Errorf("secret ID carries the plaintext: %s", raw)
	}
	if got := srv.Secrets(); len(got) != 3 || got[1] != (SecretRecord{"api-key", "value-two"}) {
		t.Errorf("secrets = %+v", got)
	}
	// The exec sees the latest value set under that name.
	var seen string
	srv.SetHandler(func(ex Exec) ExecResult { seen, _ = ex.SecretPlaintext("KEY"); return ExecResult{} })
	if _, err := client.Container().WithSecretVariable("KEY", client.LoadSecretFromID(a)).WithExec([]string{"true"}).Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if seen != "value-two" { // the latest value set under that name
		t.Errorf("plaintext seen by the exec = %q", seen)
	}
}

// TestLeafRequeriesShareOneEvaluation: exitCode, stderr and stdout of the
// same exec are three queries and one run (03c).
func TestLeafRequeriesShareOneEvaluation(t *testing.T) {
	ctx := context.Background()
	srv, client := connect(t, WithHandler(func(ex Exec) ExecResult {
		return ExecResult{Stdout: " out \n", Stderr: "err\n", ExitCode: 2}
	}))
	c := client.Container().From("alpine").WithExec([]string{"false"}, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	code, err1 := c.ExitCode(ctx)
	stderr, err2 := c.Stderr(ctx)
	stdout, err3 := c.Stdout(ctx)
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	if code != 2 || stderr != "err\n" || stdout != " out \n" {
		t.Errorf("got %d %q %q", code, stderr, stdout)
	}
	if n := srv.ExecCalls("false"); n != 1 {
		t.Errorf("handler calls = %d, want 1", n)
	}
}

// TestFailedExecIsNotCached: asking again runs the command again.
func TestFailedExecIsNotCached(t *testing.T) {
	ctx := context.Background()
	var calls atomic.Int32
	srv, client := connect(t, WithHandler(func(ex Exec) ExecResult {
		if calls.Add(1) == 1 {
			return ExecResult{Stdout: "  flaky\n", ExitCode: 1}
		}
		return ExecResult{Stdout: "ok\n"}
	}))
	c := client.Container().From("alpine").WithExec([]string{"deploy"})
	_, err := c.Stdout(ctx)
	var ee *dagger.ExecError
	if !errors.As(err, &ee) || ee.ExitCode != 1 || ee.Stdout != "flaky" || !slices.Equal(ee.Cmd, []string{"deploy"}) {
		t.Fatalf("first run err = %#v", err)
	}
	if out, err := c.Stdout(ctx); err != nil || out != "ok\n" {
		t.Fatalf("second run = %q, %v", out, err)
	}
	if _, err := c.Stdout(ctx); err != nil {
		t.Fatal(err)
	}
	if n := srv.ExecCalls("deploy"); n != 2 {
		t.Errorf("handler calls = %d, want 2 (failure not cached, success cached)", n)
	}
}

// TestExpectFailure: expect FAILURE turns a zero exit into an EXEC_ERROR.
func TestExpectFailure(t *testing.T) {
	ctx := context.Background()
	_, client := connect(t)
	_, err := client.Container().WithExec([]string{"true"}, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeFailure}).Sync(ctx)
	var ee *dagger.ExecError
	if !errors.As(err, &ee) || ee.ExitCode != 0 {
		t.Fatalf("err = %#v", err)
	}
}

// TestSiblingExecsRunConcurrently: the handler holds every exec until all
// have arrived, so the test only passes if the fake serves them in parallel.
func TestSiblingExecsRunConcurrently(t *testing.T) {
	ctx := context.Background()
	const n = 4
	var arrived sync.WaitGroup
	arrived.Add(n)
	release := make(chan struct{})
	go func() { arrived.Wait(); close(release) }()
	srv, client := connect(t, WithHandler(func(ex Exec) ExecResult {
		arrived.Done()
		select {
		case <-release:
		case <-time.After(10 * time.Second):
			return ExecResult{ExitCode: 99, Stderr: "siblings did not run concurrently"}
		}
		return ExecResult{Stdout: ex.Args[1]}
	}))
	base := client.Container().From("alpine").WithEnvVariable("CACHEBUSTER", "x")
	var wg sync.WaitGroup
	errs := make([]error, n)
	outs := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = base.WithExec([]string{"echo", string(rune('a' + i))}).Stdout(ctx)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := srv.MaxConcurrentExecs(); got != n {
		t.Errorf("MaxConcurrentExecs = %d, want %d", got, n)
	}
	if !slices.Equal(outs, []string{"a", "b", "c", "d"}) {
		t.Errorf("outs = %q", outs)
	}
	maxInFlight := 0
	for _, r := range srv.Requests() {
		maxInFlight = max(maxInFlight, r.InFlightAtStart)
	}
	if maxInFlight < n-1 {
		t.Errorf("requests in flight at most %d, want %d", maxInFlight, n-1)
	}
}

// TestIdenticalExecsInFlightRunOnce: the engine dedupes identical work.
func TestIdenticalExecsInFlightRunOnce(t *testing.T) {
	ctx := context.Background()
	started := make(chan struct{})
	release := make(chan struct{})
	srv, client := connect(t, WithHandler(func(ex Exec) ExecResult {
		close(started) // a second call would panic
		<-release
		return ExecResult{Stdout: "once"}
	}))
	c := client.Container().From("alpine").WithExec([]string{"slow"})
	var wg sync.WaitGroup
	outs := make([]string, 2)
	errs := make([]error, 2)
	wg.Add(1)
	go func() { defer wg.Done(); outs[0], errs[0] = c.Stdout(ctx) }()
	<-started
	wg.Add(1)
	go func() { defer wg.Done(); outs[1], errs[1] = c.Stdout(ctx) }()
	for joined(srv) < 1 { // the second query waits on the first's run
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if err := errors.Join(errs...); err != nil || outs[0] != "once" || outs[1] != "once" {
		t.Fatalf("outs %q errs %v", outs, errs)
	}
	if n := srv.ExecCalls("slow"); n != 1 {
		t.Errorf("handler calls = %d", n)
	}
}

func joined(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.joined
}

// TestExecSeesTheContainer: what a handler can inspect about the exec.
func TestExecSeesTheContainer(t *testing.T) {
	ctx := context.Background()
	var got Exec
	srv, client := connect(t, WithHandler(func(ex Exec) ExecResult {
		if ex.Args[0] == "deploy" {
			got = ex
			return ExecResult{Stdout: "done\n", Files: map[string]string{"out/result.yaml": "id: 42\n"}}
		}
		return DefaultHandler(ex)
	}))
	src := client.Host().Directory("/repo", dagger.HostDirectoryOpts{Exclude: []string{".git"}})
	built := src.DockerBuild(dagger.DirectoryDockerBuildOpts{
		BuildArgs: []dagger.BuildArg{{Name: "PREFECT_IMAGE", Value: "prefect:2"}},
		Target:    "agent",
	})
	svc := client.Container().From("prefect:2").WithExposedPort(4200).
		AsService(dagger.ContainerAsServiceOpts{Args: []string{"prefect", "server", "start"}})
	ctr := built.
		WithEnvVariable("PREFECT_API_URL", "http://prefect:4200/api").
		WithSecretVariable("PREFECT_API_KEY", client.SetSecret("prefect-api-key", "pnu_123")).
		WithWorkdir("/opt/prefect").
		WithNewFile("config.yaml", "a: 1\n").
		WithMountedCache("/root/.cache/pip", client.CacheVolume("pip")).
		WithServiceBinding("prefect", svc).
		WithExec([]string{"prepare"}).
		WithExec([]string{"deploy", "--out", "out/result.yaml"})
	contents, err := ctr.File("out/result.yaml").Contents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if contents != "id: 42\n" {
		t.Errorf("file written by the exec = %q", contents)
	}
	b := got.Base.Build
	switch {
	case b == nil || b.Context.HostPath != "/repo" || !slices.Equal(b.Context.Exclude, []string{".git"}) ||
		b.Dockerfile != "Dockerfile" || b.Target != "agent" || b.BuildArgs["PREFECT_IMAGE"] != "prefect:2":
		t.Errorf("base = %+v", got.Base)
	case got.Env["PREFECT_API_URL"] != "http://prefect:4200/api" || got.Secrets["PREFECT_API_KEY"] != "prefect-api-key":
		t.Errorf("env %v secrets %v", got.Env, got.Secrets)
	case got.Workdir != "/opt/prefect" || got.Files["/opt/prefect/config.yaml"] != "a: 1\n":
		t.Errorf("workdir %q files %v", got.Workdir, got.Files)
	case got.Mounts["/root/.cache/pip"].CacheKey != "pip":
		t.Errorf("mounts %v", got.Mounts)
	case got.Services["prefect"] == nil || !slices.Equal(got.Services["prefect"].Args, []string{"prefect", "server", "start"}) ||
		!slices.Equal(got.Services["prefect"].Container.ExposedPorts, []int{4200}):
		t.Errorf("services %v", got.Services)
	case len(got.Execs) != 1 || !slices.Equal(got.Execs[0], []string{"prepare"}) || got.Expect != "SUCCESS":
		t.Errorf("earlier execs %q expect %q", got.Execs, got.Expect)
	}
	if v, ok := got.SecretPlaintext("PREFECT_API_KEY"); !ok || v != "pnu_123" {
		t.Errorf("SecretPlaintext = %q %v", v, ok)
	}
	if len(srv.Builds()) != 1 || srv.Builds()[0].Target != "agent" {
		t.Errorf("builds = %+v", srv.Builds())
	}
	if s := srv.Services(); len(s) != 1 || s[0].Starts != 2 { // bound to both execs
		t.Errorf("services = %+v", s)
	}
	if leaks := srv.SecretLeaks(); len(leaks) != 0 {
		t.Errorf("leaks: %v", leaks)
	}
}

// TestSecretLeaksFindsPlaintext: the assertion helper must be able to fail.
func TestSecretLeaksFindsPlaintext(t *testing.T) {
	ctx := context.Background()
	srv, client := connect(t)
	key := client.SetSecret("api-key", "pnu_leaky\nvalue")
	c := client.Container().From("alpine").WithSecretVariable("KEY", key)
	if _, err := c.WithExec([]string{"ok"}).Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if leaks := srv.SecretLeaks(); len(leaks) != 0 {
		t.Fatalf("false positives: %v", leaks)
	}
	if _, err := c.WithEnvVariable("KEY2", "pnu_leaky\nvalue").WithExec([]string{"echo", "pnu_leaky\nvalue"}).Sync(ctx); err != nil {
		t.Fatal(err)
	}
	leaks := strings.Join(srv.SecretLeaks(), "\n")
	for _, want := range []string{"request", "argv", "env variable KEY2"} {
		if !strings.Contains(leaks, want) {
			t.Errorf("leaks %q miss %q", leaks, want)
		}
	}
}

// TestPublishDigest: deterministic from the image, independent of the tag
// and of registry auth; auth recorded per publish.
func TestPublishDigest(t *testing.T) {
	ctx := context.Background()
	srv, client := connect(t)
	pw := client.SetSecret("registry-password", "hunter2")
	img := client.Container().From("prefect:2").WithNewFile("/app/x", "1")
	refA, err := img.WithRegistryAuth("ghcr.io", "bot", pw).Publish(ctx, "ghcr.io/acme/agent:dev")
	if err != nil {
		t.Fatal(err)
	}
	refB, err := img.Publish(ctx, "ghcr.io/acme/agent:abc123")
	if err != nil {
		t.Fatal(err)
	}
	refC, err := img.WithNewFile("/app/x", "2").Publish(ctx, "ghcr.io/acme/agent:dev")
	if err != nil {
		t.Fatal(err)
	}
	dA, dB, dC := refA[strings.Index(refA, "@"):], refB[strings.Index(refB, "@"):], refC[strings.Index(refC, "@"):]
	if dA != dB || dA == dC || !strings.HasPrefix(refA, "ghcr.io/acme/agent:dev@sha256:") || len(dA) != len("@sha256:")+64 {
		t.Errorf("refs %s %s %s", refA, refB, refC)
	}
	p := srv.Publishes()
	if len(p) != 3 || !slices.Equal(p[0].Auth, []RegistryAuth{{"ghcr.io", "bot", "registry-password"}}) || len(p[1].Auth) != 0 {
		t.Errorf("publishes = %+v", p)
	}
}

// TestIDsRoundTrip: an object passed by ID is the same object.
func TestIDsRoundTrip(t *testing.T) {
	ctx := context.Background()
	srv, client := connect(t)
	c := client.Container().From("alpine").WithEnvVariable("A", "1")
	id, err := c.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(srv.Execs()) != 0 {
		t.Fatal("id ran execs")
	}
	synced, err := c.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := synced.ID(ctx)
	if err != nil || id2 != id {
		t.Errorf("ID after sync differs: %v", err)
	}
	v, err := client.LoadContainerFromID(id).EnvVariable(ctx, "A")
	if err != nil || v != "1" {
		t.Errorf("env through loaded ID = %q, %v", v, err)
	}
}

// TestConnectThroughEnv: srv.Env() is what dagger.Connect reads when the
// pipeline runs in a subprocess.
func TestConnectThroughEnv(t *testing.T) {
	srv := Start(t)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	client, err := dagger.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	v, err := client.Version(context.Background())
	if err != nil || v != EngineVersion {
		t.Fatalf("version = %q, %v", v, err)
	}
}

// TestServiceLifecycle: an explicitly started service is shared by the execs
// bound to it, as the pipeline's embedded Prefect server is.
func TestServiceLifecycle(t *testing.T) {
	ctx := context.Background()
	var endpoint string
	srv, client := connect(t, WithHandler(func(ex Exec) ExecResult {
		endpoint = ex.Services["prefect"].Hostname
		return ExecResult{Stdout: "ok"}
	}))
	svc := client.Container().From("prefect:2").WithEnvVariable("PREFECT_HOME", "/tmp/ph").WithExposedPort(4200).
		AsService(dagger.ContainerAsServiceOpts{Args: []string{"prefect", "server", "start", "--host", "0.0.0.0"}})
	started, err := svc.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := started.Endpoint(ctx, dagger.ServiceEndpointOpts{Scheme: "http"})
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"deploy", "a"}, {"deploy", "b"}} {
		if _, err := client.Container().From("agent").WithServiceBinding("prefect", started).WithExec(args).Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := started.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	s := srv.Services()
	if len(s) != 1 || s[0].Starts != 1 || s[0].Stops != 1 || s[0].Running {
		t.Fatalf("services = %+v", s)
	}
	if ep != "http://"+endpoint+":4200" || s[0].Service.Container.Env["PREFECT_HOME"] != "/tmp/ph" ||
		!slices.Equal(s[0].Service.Args, []string{"prefect", "server", "start", "--host", "0.0.0.0"}) {
		t.Errorf("endpoint %q, service %+v", ep, s[0].Service)
	}
}

// TestSecretsScrubbedFromOutput: a command that prints its secret shows ***,
// in the stdout leaf and in an EXEC_ERROR.
func TestSecretsScrubbedFromOutput(t *testing.T) {
	ctx := context.Background()
	_, client := connect(t, WithHandler(func(ex Exec) ExecResult {
		v, _ := ex.SecretPlaintext("TOKEN")
		code := 0
		if ex.Args[0] == "fail" {
			code = 1
		}
		return ExecResult{Stdout: "token=" + v + "\n", Stderr: "bad " + v, ExitCode: code}
	}))
	c := client.Container().From("alpine").WithSecretVariable("TOKEN", client.SetSecret("token", "s3cr3t"))
	out, err := c.WithExec([]string{"print"}).Stdout(ctx)
	if err != nil || out != "token=***\n" {
		t.Errorf("stdout %q, %v", out, err)
	}
	_, err = c.WithExec([]string{"fail"}).Stdout(ctx)
	var ee *dagger.ExecError
	if !errors.As(err, &ee) || ee.Stdout != "token=***" || ee.Stderr != "bad ***" {
		t.Errorf("err = %#v", err)
	}
}

// capturingTB records Errorf instead of failing the test, to check the fake
// reports handler panics.
type capturingTB struct {
	*testing.T
	mu     sync.Mutex
	errors []string
}

func (c *capturingTB) Errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errors = append(c.errors, fmt.Sprintf(format, args...))
}

func TestHandlerPanicFailsTheQueryAndTheTest(t *testing.T) {
	ctx := context.Background()
	tb := &capturingTB{T: t}
	srv := Start(tb, WithHandler(func(ex Exec) ExecResult { panic("boom") }))
	client, err := srv.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := client.Container().From("alpine").WithExec([]string{"x"})
	for range 2 { // the second query must not hang on the first's cache entry
		if _, err := c.Stdout(ctx); err == nil || !strings.Contains(err.Error(), "panicked") {
			t.Fatalf("err = %v", err)
		}
	}
	if len(tb.errors) != 2 || !strings.Contains(tb.errors[0], `["x"]: boom`) {
		t.Errorf("reported: %q", tb.errors)
	}
}

func TestExpand(t *testing.T) {
	ctx := context.Background()
	srv, client := connect(t)
	_, err := client.Container().From("alpine").
		WithEnvVariable("NAME", "dev").
		WithEnvVariable("FILE", "/tmp/${NAME}.yaml", dagger.ContainerWithEnvVariableOpts{Expand: true}).
		WithExec([]string{"deploy", "-o", "$FILE", "$NAME"}, dagger.ContainerWithExecOpts{Expand: true}).
		Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.ExecCalls("deploy", "-o", "/tmp/dev.yaml", "dev"); n != 1 {
		t.Errorf("execs = %+v", srv.Execs())
	}
}
