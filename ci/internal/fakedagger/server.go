package fakedagger

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"dagger.io/dagger"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// EngineVersion is what query{version} answers.
const EngineVersion = "v0.19.7"

// Server is a fake Dagger engine session on 127.0.0.1. All methods are safe
// for concurrent use.
type Server struct {
	tb      testing.TB
	token   string
	hs      *httptest.Server
	traceID string

	mu            sync.Mutex
	handler       ExecHandler
	requests      []Request
	inFlight      int
	execs         []ExecRecord
	execsInFlight int
	maxExecs      int
	joined        int // queries that waited for an identical exec already in flight or cached
	cache         map[string]*cacheEntry
	builds        []*BuildRecord
	publishes     []PublishRecord
	secrets       []SecretRecord
	secretValues  map[string]string
	services      []*ServiceRecord
	imageDirs     []string // WithImageDirs
}

// Option configures Start.
type Option func(*Server)

// WithHandler sets the exec handler (default: DefaultHandler).
func WithHandler(h ExecHandler) Option { return func(s *Server) { s.handler = h } }

// WithToken sets the session token (default: a random UUID-like string).
func WithToken(token string) Option { return func(s *Server) { s.token = token } }

// Request is one HTTP request the server received.
type Request struct {
	Query           string // the GraphQL query text ("" if the body was not JSON)
	Body            string // the raw request body
	Status          int
	Response        string // the raw response body
	Start, End      time.Time
	InFlightAtStart int // other requests being served when this one arrived
}

// SecretRecord is one setSecret call as the engine received it.
type SecretRecord struct {
	Name      string
	Plaintext string
}

// BuildRecord is one distinct Dockerfile build that a query needed.
type BuildRecord struct {
	Build
	Evaluations int // how many times a query needed it (the engine builds once, then caches)
}

// PublishRecord is one Container.publish call.
type PublishRecord struct {
	Address   string
	Ref       string // Address@sha256:<digest>, what publish answered
	Digest    string // sha256:<64 hex>
	Container *Container
	Auth      []RegistryAuth // the container's withRegistryAuth calls, in order
}

// ServiceRecord is one distinct service and what happened to it.
type ServiceRecord struct {
	Service *Service
	Starts  int  // a running service is shared by the execs bound to it, not restarted
	Stops   int  // Service.stop calls that stopped it
	Running bool // started with Service.start and not stopped

	refs int // execs in flight bound to it
}

// Start starts a fake engine session on 127.0.0.1:0 and stops it when the
// test ends.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := &Server{
		tb:           tb,
		token:        randomHex(4) + "-" + randomHex(2) + "-4" + randomHex(2)[1:] + "-a" + randomHex(2)[1:] + "-" + randomHex(6),
		traceID:      randomHex(16),
		handler:      DefaultHandler,
		cache:        map[string]*cacheEntry{},
		secretValues: map[string]string{},
	}
	for _, o := range opts {
		o(s)
	}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	tb.Cleanup(s.hs.Close)
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Token is the session token (the Basic auth username).
func (s *Server) Token() string { return s.token }

// Addr is host:port of the session.
func (s *Server) Addr() string { return strings.TrimPrefix(s.hs.URL, "http://") }

// Port is the TCP port of the session.
func (s *Server) Port() string { return s.hs.URL[strings.LastIndexByte(s.hs.URL, ':')+1:] }

// URL is the endpoint, http://127.0.0.1:<port>/query.
func (s *Server) URL() string { return s.hs.URL + "/query" }

// Env is what a subprocess needs to connect with dagger.Connect.
func (s *Server) Env() []string {
	return []string{"DAGGER_SESSION_PORT=" + s.Port(), "DAGGER_SESSION_TOKEN=" + s.token}
}

// SetHandler replaces the exec handler for execs that start from now on.
func (s *Server) SetHandler(h ExecHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handler = h
}

// Conn is an engineconn.EngineConn for dagger.WithConn; each Conn has its own
// HTTP transport, so parallel tests never share process environment.
func (s *Server) Conn() *Conn {
	return &Conn{host: s.Addr(), token: s.token, client: &http.Client{Transport: &http.Transport{}}}
}

// Connect connects the real SDK to the fake with dagger.WithConn. The client
// is closed when the test ends.
func (s *Server) Connect(ctx context.Context, opts ...dagger.ClientOpt) (*dagger.Client, error) {
	c, err := dagger.Connect(ctx, append([]dagger.ClientOpt{dagger.WithConn(s.Conn())}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("connect to fake dagger session: %w", err)
	}
	s.tb.Cleanup(func() { _ = c.Close() })
	return c, nil
}

// Conn implements engineconn.EngineConn against a Server.
type Conn struct {
	host, token string
	client      *http.Client
}

// Host is where the SDK sends queries (http://<Host>/query).
func (c *Conn) Host() string { return c.host }

// Do sends a request with the session's Basic auth.
func (c *Conn) Do(r *http.Request) (*http.Response, error) {
	r.SetBasicAuth(c.token, "")
	return c.client.Do(r)
}

// Close drops idle connections.
func (c *Conn) Close() error {
	c.client.CloseIdleConnections()
	return nil
}

// Requests returns every request answered so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	out := append([]Request(nil), s.requests...)
	s.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// Queries returns the query text of every request answered so far, in
// arrival order.
func (s *Server) Queries() []string {
	var out []string
	for _, r := range s.Requests() {
		out = append(out, r.Query)
	}
	return out
}

// Secrets returns every setSecret call, in arrival order.
func (s *Server) Secrets() []SecretRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SecretRecord(nil), s.secrets...)
}

// Builds returns each distinct Dockerfile build a query needed.
func (s *Server) Builds() []BuildRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []BuildRecord
	for _, b := range s.builds {
		out = append(out, *b)
	}
	return out
}

// Publishes returns every publish call, in completion order.
func (s *Server) Publishes() []PublishRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]PublishRecord(nil), s.publishes...)
}

// Services returns each distinct service that was started (by an exec bound
// to it or by Service.start).
func (s *Server) Services() []ServiceRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ServiceRecord
	for _, r := range s.services {
		out = append(out, *r)
	}
	return out
}

func (s *Server) recordBuild(b *Build) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.builds {
		if r.Recipe == b.Recipe {
			r.Evaluations++
			return
		}
	}
	s.builds = append(s.builds, &BuildRecord{Build: *b, Evaluations: 1})
}

// service finds or adds the record of a service; callers hold s.mu.
func (s *Server) service(svc *Service) *ServiceRecord {
	for _, r := range s.services {
		if r.Service.Recipe == svc.Recipe {
			return r
		}
	}
	r := &ServiceRecord{Service: svc}
	s.services = append(s.services, r)
	return r
}

// bindService starts a service for an exec unless it is already running
// (started explicitly or bound to another exec in flight): like the engine,
// identical services are shared, not started twice. release unbinds it.
func (s *Server) bindService(svc *Service) (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.service(svc)
	if r.refs == 0 && !r.Running {
		r.Starts++
	}
	r.refs++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		r.refs--
	}
}

// startService and stopService are Service.start and Service.stop.
func (s *Server) startService(svc *Service) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.service(svc)
	if !r.Running && r.refs == 0 {
		r.Starts++
	}
	r.Running = true
}

func (s *Server) stopService(svc *Service) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.service(svc)
	if r.Running {
		r.Stops++
	}
	r.Running = false
}

// SecretLeaks lists every place where a setSecret plaintext shows up other
// than as the plaintext argument of its own setSecret query: other query
// texts, exec argv, plain env values, files written with withNewFile, and
// publish addresses. A correct pipeline has none.
func (s *Server) SecretLeaks() []string {
	secrets := s.Secrets()
	var leaks []string
	check := func(where, text string) {
		for _, sec := range secrets {
			q := gqlQuote(sec.Plaintext)
			if sec.Plaintext != "" && (strings.Contains(text, sec.Plaintext) || strings.Contains(text, q[1:len(q)-1])) {
				leaks = append(leaks, fmt.Sprintf("secret %q appears in %s", sec.Name, where))
			}
		}
	}
	for i, r := range s.Requests() {
		text := r.Query
		if text == "" {
			text = r.Body
		}
		for _, sec := range secrets {
			if strings.Contains(text, "{setSecret(") {
				text = strings.Replace(text, "plaintext:"+gqlQuote(sec.Plaintext), `plaintext:"***"`, 1)
			}
		}
		check(fmt.Sprintf("request %d", i+1), text)
	}
	for _, e := range s.Execs() {
		check(fmt.Sprintf("the argv of exec %q", e.Exec.Args), strings.Join(e.Exec.Args, "\x00"))
		for k, v := range e.Exec.Env {
			check(fmt.Sprintf("env variable %s of exec %q", k, e.Exec.Args), v)
		}
		for p, c := range e.Exec.Files {
			check(fmt.Sprintf("file %s of exec %q", p, e.Exec.Args), c)
		}
	}
	for _, p := range s.Publishes() {
		check("publish address "+p.Address, p.Address)
	}
	return leaks
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.mu.Lock()
	inFlight := s.inFlight
	s.inFlight++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()

	if user, _, ok := r.BasicAuth(); !ok || user != s.token {
		w.Header().Set("WWW-Authenticate", `Basic realm="Access to the Dagger engine session"`)
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.URL.Path != "/query" || r.Method != http.MethodPost {
		http.Error(w, "fakedagger: only POST /query is served", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	rec := Request{Body: string(body), Start: start, InFlightAtStart: inFlight}
	status, resp := s.answer(r.Context(), body, &rec)
	rec.Status, rec.Response, rec.End = status, string(resp), time.Now()
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(resp)))
	w.WriteHeader(status)
	_, _ = w.Write(resp)
}

type gqlRequest struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
}

// respError is a GraphQL error in the engine's field order.
type respError struct {
	Message    string              `json:"message"`
	Path       []any               `json:"path,omitempty"`
	Locations  []gqlerror.Location `json:"locations,omitempty"`
	Extensions map[string]any      `json:"extensions,omitempty"`
}

type errorResponse struct {
	Errors []respError `json:"errors"`
	Data   any         `json:"data"`
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func (s *Server) answer(ctx context.Context, body []byte, rec *Request) (int, []byte) {
	var req gqlRequest
	if err := json.Unmarshal(body, &req); err != nil {
		msg := "json request body could not be decoded: " + err.Error() + " body:" + string(body)
		return http.StatusBadRequest, mustJSON(errorResponse{Errors: []respError{{Message: msg}}})
	}
	rec.Query = req.Query
	if len(req.Variables) > 0 {
		return http.StatusUnprocessableEntity, mustJSON(errorResponse{Errors: []respError{{Message: "fakedagger: variables are not supported; the SDK inlines all arguments"}}})
	}
	sels, errs, code := parseQuery(req.Query)
	if len(errs) > 0 {
		var out []respError
		for _, e := range errs {
			re := respError{Message: e.Message, Locations: e.Locations}
			if code != "" {
				re.Extensions = map[string]any{"code": code}
			}
			out = append(out, re)
		}
		if code == "" { // argument decoding: the engine answers 200
			return http.StatusOK, mustJSON(errorResponse{Errors: out})
		}
		return http.StatusUnprocessableEntity, mustJSON(errorResponse{Errors: out})
	}
	data, err := s.resolve(ctx, "Query", nil, sels)
	if err != nil {
		var re respError
		var ge *gqlerror.Error
		if errors.As(err, &ge) {
			re = respError{Message: ge.Message, Extensions: ge.Extensions}
			for _, p := range ge.Path {
				re.Path = append(re.Path, p)
			}
		} else {
			re = respError{Message: err.Error()}
		}
		return http.StatusOK, mustJSON(errorResponse{Errors: []respError{re}})
	}
	return http.StatusOK, mustJSON(struct {
		Data any `json:"data"`
	}{data})
}

// object is a JSON object that keeps the query's field order.
type object []field

type field struct {
	key string
	val any
}

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(f.val)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// resolve answers a selection set on the object that chain produces.
func (s *Server) resolve(ctx context.Context, typ string, chain []call, sels []*sel) (object, error) {
	var out object
	for _, f := range sels {
		var v any
		if f.obj {
			var next []call
			if strings.HasPrefix(f.field, "load") && strings.HasSuffix(f.field, "FromID") {
				next = f.args[0].Value.R.Chain
			} else {
				c := call{Field: f.field, Args: f.args}
				if f.field == "setSecret" {
					c = s.setSecret(c)
				}
				next = append(append([]call(nil), chain...), c)
			}
			sub, err := s.resolve(ctx, f.typ, next, f.sub)
			if err != nil {
				return nil, err
			}
			v = sub
		} else {
			var err error
			v, err = s.leaf(ctx, typ, chain, f)
			if err != nil {
				return nil, withPath(err, chain, f.key)
			}
		}
		out = append(out, field{f.key, v})
	}
	return out, nil
}

// setSecret remembers the plaintext and blanks it in the recipe, as the
// engine does: the secret's ID and cache key depend on its name only.
func (s *Server) setSecret(c call) call {
	s.mu.Lock()
	defer s.mu.Unlock()
	name, plaintext := c.str("name"), c.str("plaintext")
	s.secrets = append(s.secrets, SecretRecord{Name: name, Plaintext: plaintext})
	s.secretValues[name] = plaintext
	return call{Field: c.Field, Args: []arg{
		{Name: "name", Value: value{Kind: "string", S: name}},
		{Name: "plaintext", Value: value{Kind: "string", S: "***"}},
	}}
}

// withPath turns a resolver error into a GraphQL error whose path is the
// object's call chain plus the leaf, like the engine's.
func withPath(err error, chain []call, leaf string) error {
	var p ast.Path
	for _, c := range chain {
		p = append(p, ast.PathName(c.Field))
	}
	p = append(p, ast.PathName(leaf))
	var ee *execError
	if errors.As(err, &ee) {
		return &gqlerror.Error{Message: ee.message, Path: p, Extensions: map[string]any{
			"_type": "EXEC_ERROR", "cmd": ee.cmd, "exitCode": ee.code,
			"stdout": strings.TrimSpace(ee.stdout), "stderr": strings.TrimSpace(ee.stderr),
		}}
	}
	return &gqlerror.Error{Message: err.Error(), Path: p}
}

// gqlQuote quotes a string the way the SDK writes GraphQL string literals.
func gqlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range s {
		switch {
		case c == '\\' || c == '"':
			b.WriteByte('\\')
			b.WriteRune(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04X`, c)
		default:
			b.WriteRune(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
