package fakedagger

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
)

// ExecHandler plays the command of a withExec that is not in the cache.
// It may block (tests use that to hold execs in flight) and is called from
// many goroutines at once.
type ExecHandler func(ex Exec) ExecResult

// Exec is one withExec the engine has to run. The embedded Container is the
// state the command runs in (env, secret variables, workdir, base, files,
// mounts, bound services, earlier execs).
type Exec struct {
	*Container
	Args           []string
	Expect         string // SUCCESS, ANY or FAILURE
	Stdin          string
	RedirectStdout string
	RedirectStderr string
	UseEntrypoint  bool
	Recipe         string // canonical call chain up to and including this withExec
	Key            string // cache key: sha256 of Recipe

	secretValues map[string]string
}

// SecretPlaintext is the value the command sees in the secret variable env
// (for assertions; the pipeline must never see it anywhere else).
func (e Exec) SecretPlaintext(env string) (string, bool) {
	name, ok := e.Secrets[env]
	if !ok {
		return "", false
	}
	v, ok := e.secretValues[name]
	return v, ok
}

// scrub hides the values of the exec's secrets in its output, as the engine
// does for secret variables and mounted secrets.
func (e Exec) scrub(out string) string {
	names := slices.Collect(maps.Values(e.Secrets))
	for _, m := range e.Mounts {
		if m.Kind == "secret" {
			names = append(names, m.Secret)
		}
	}
	for _, n := range names {
		if v := e.secretValues[n]; v != "" {
			out = strings.ReplaceAll(out, v, "***")
		}
	}
	return out
}

// ExecResult is what a command did. Delay is slept after the handler
// returns, while the exec still counts as running.
type ExecResult struct {
	Stdout   string
	Stderr   string
	ExitCode int
	Delay    time.Duration
	Files    map[string]string // files the command wrote: path (relative to the workdir or absolute) → contents
}

// ExecRecord is one call of the exec handler.
type ExecRecord struct {
	Exec       Exec
	Result     ExecResult
	Start, End time.Time
}

// DefaultHandler succeeds and prints the argv.
func DefaultHandler(ex Exec) ExecResult {
	return ExecResult{Stdout: strings.Join(ex.Args, " ") + "\n"}
}

type execOutcome struct {
	ex  Exec
	res ExecResult
}

type cacheEntry struct {
	done chan struct{}
	out  *execOutcome
	err  error
}

// execError carries what the engine puts into an EXEC_ERROR.
type execError struct {
	message        string
	cmd            []string
	code           int
	stdout, stderr string
}

func (e *execError) Error() string { return e.message }

// Execs returns every handler call, in start order.
func (s *Server) Execs() []ExecRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]ExecRecord(nil), s.execs...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// ExecCalls counts handler calls whose argv is exactly args.
func (s *Server) ExecCalls(args ...string) int {
	n := 0
	for _, e := range s.Execs() {
		if slices.Equal(e.Exec.Args, args) {
			n++
		}
	}
	return n
}

// MaxConcurrentExecs is the highest number of handler calls (including
// their Delay) that were running at the same time.
func (s *Server) MaxConcurrentExecs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxExecs
}

// runExec answers an exec from the cache or runs it. Identical execs in
// flight at the same time run once. A failed exec is not cached, so asking
// again runs it again, as on the engine.
func (s *Server) runExec(ctx context.Context, ex Exec) (*execOutcome, error) {
	s.mu.Lock()
	e, found := s.cache[ex.Key]
	if !found {
		e = &cacheEntry{done: make(chan struct{})}
		s.cache[ex.Key] = e
	}
	s.mu.Unlock()
	if found {
		s.mu.Lock()
		s.joined++
		s.mu.Unlock()
		select {
		case <-e.done:
			return e.out, e.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	defer close(e.done)
	e.out, e.err = s.invoke(ctx, ex)
	if e.err != nil {
		s.mu.Lock()
		delete(s.cache, ex.Key)
		s.mu.Unlock()
	}
	return e.out, e.err
}

func (s *Server) invoke(ctx context.Context, ex Exec) (*execOutcome, error) {
	for _, alias := range slices.Sorted(maps.Keys(ex.Services)) {
		defer s.bindService(ex.Services[alias])()
	}
	s.mu.Lock()
	ex.secretValues = maps.Clone(s.secretValues)
	h := s.handler
	s.execsInFlight++
	s.maxExecs = max(s.maxExecs, s.execsInFlight)
	s.mu.Unlock()

	start := time.Now()
	res, err := s.call(h, ex)
	if err == nil && res.Delay > 0 {
		t := time.NewTimer(res.Delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			err = ctx.Err()
		}
	}
	s.mu.Lock()
	s.execsInFlight--
	s.execs = append(s.execs, ExecRecord{Exec: ex, Result: res, Start: start, End: time.Now()})
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	res.Stdout, res.Stderr = ex.scrub(res.Stdout), ex.scrub(res.Stderr)
	failed := (ex.Expect == "SUCCESS" && res.ExitCode != 0) || (ex.Expect == "FAILURE" && res.ExitCode == 0)
	if failed {
		return nil, &execError{
			message: fmt.Sprintf("exit code: %d [traceparent:%s-%s]", res.ExitCode, s.traceID, randomHex(8)),
			cmd:     ex.Args, code: res.ExitCode, stdout: res.Stdout, stderr: res.Stderr,
		}
	}
	return &execOutcome{ex: ex, res: res}, nil
}

// call runs the handler; a panic fails the test and the query instead of
// leaving the session hanging.
func (s *Server) call(h ExecHandler, ex Exec) (res ExecResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.tb.Errorf("fakedagger: exec handler panicked on %q: %v", ex.Args, r)
			err = fmt.Errorf("fakedagger: exec handler panicked: %v", r)
		}
	}()
	return h(ex), nil
}

// leaf answers a scalar field of the object chain produces.
func (s *Server) leaf(ctx context.Context, typ string, chain []call, f *sel) (any, error) {
	c := call{Field: f.field, Args: f.args}
	id := func() string { return ref{Type: typ, Chain: chain}.id() }
	switch typ + "." + f.field {
	case "Query.version":
		return EngineVersion, nil
	case "Container.id", "Directory.id", "File.id", "Secret.id", "Service.id", "CacheVolume.id":
		if _, err := s.fold(ctx, chain, false); err != nil {
			return nil, err
		}
		return id(), nil
	case "Container.sync", "Directory.sync", "File.sync", "Service.sync":
		if _, err := s.fold(ctx, chain, true); err != nil {
			return nil, err
		}
		return id(), nil
	}
	lazy := map[string]bool{"Container.envVariable": true, "Container.workdir": true, "Container.user": true,
		"Secret.name": true, "Service.hostname": true, "Service.endpoint": true, "Service.stop": true}
	obj, err := s.fold(ctx, chain, !lazy[typ+"."+f.field])
	if err != nil {
		return nil, err
	}
	switch o := obj.(type) {
	case *Container:
		return s.containerLeaf(o, chain, c)
	case *Directory:
		return directoryLeaf(o, c)
	case *File:
		return fileLeaf(o, c)
	case *secretObj:
		return o.name, nil // Secret.name
	case *Service:
		switch f.field {
		case "start":
			s.startService(o)
			return id(), nil
		case "stop":
			s.stopService(o)
			return id(), nil
		case "hostname":
			return o.Hostname, nil
		case "endpoint":
			port := c.int("port")
			if port == 0 && len(o.Container.ExposedPorts) > 0 {
				port = o.Container.ExposedPorts[0]
			}
			if port == 0 {
				return nil, fmt.Errorf("no ports exposed")
			}
			ep := fmt.Sprintf("%s:%d", o.Hostname, port)
			if sch := c.str("scheme"); sch != "" {
				ep = sch + "://" + ep
			}
			return ep, nil
		}
	}
	return nil, fmt.Errorf("fakedagger: %s.%s is not modelled", typ, f.field)
}

func (s *Server) containerLeaf(o *Container, chain []call, c call) (any, error) {
	switch c.Field {
	case "envVariable":
		if v, ok := o.Env[c.str("name")]; ok {
			return v, nil
		}
		return nil, nil
	case "workdir":
		return o.Workdir, nil
	case "user":
		return o.User, nil
	case "publish":
		return s.publish(o, chain, c.str("address")), nil
	}
	if o.last == nil {
		return nil, fmt.Errorf("no command has been set")
	}
	res := o.last.res
	stdout, stderr := res.Stdout, res.Stderr
	if o.last.ex.RedirectStdout != "" {
		stdout = ""
	}
	if o.last.ex.RedirectStderr != "" {
		stderr = ""
	}
	switch c.Field {
	case "stdout":
		return stdout, nil
	case "stderr":
		return stderr, nil
	case "exitCode":
		return res.ExitCode, nil
	case "combinedOutput":
		return stdout + stderr, nil
	}
	return nil, fmt.Errorf("fakedagger: Container.%s is not modelled", c.Field)
}

// publish answers <address>@sha256:<digest of the image recipe>; registry
// auth does not change the image, so it is left out of the digest.
func (s *Server) publish(o *Container, chain []call, address string) string {
	var image []call
	for _, c := range chain {
		if c.Field != "withRegistryAuth" && c.Field != "withoutRegistryAuth" {
			image = append(image, c)
		}
	}
	digest := "sha256:" + digestHex(recipeString(image))
	rec := PublishRecord{Address: address, Ref: address + "@" + digest, Digest: digest, Container: o, Auth: slices.Clone(o.RegistryAuth)}
	s.mu.Lock()
	s.publishes = append(s.publishes, rec)
	s.mu.Unlock()
	return rec.Ref
}

func directoryLeaf(d *Directory, c call) (any, error) {
	switch c.Field {
	case "digest":
		return "sha256:" + digestHex(d.Recipe), nil
	}
	return nil, fmt.Errorf("fakedagger: Directory.%s is not modelled", c.Field)
}

func fileLeaf(f *File, c call) (any, error) {
	contents := f.Contents
	if !f.Known {
		if f.HostPath == "" {
			return nil, fmt.Errorf("%s: no such file or directory", f.Path)
		}
		b, err := os.ReadFile(f.HostPath)
		if err != nil {
			return nil, fmt.Errorf("read host file: %w", err)
		}
		contents = string(b)
	}
	switch c.Field {
	case "contents":
		return contents, nil
	case "name":
		return f.Path, nil
	case "size":
		return len(contents), nil
	}
	return nil, fmt.Errorf("fakedagger: File.%s is not modelled", c.Field)
}
