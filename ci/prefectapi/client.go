// Package prefectapi is a small client for the Prefect 2 REST API: just what a live plan,
// a prune and a read-back need (deployments, flows, block documents, work pools), for
// self-hosted servers and Prefect Cloud alike.
package prefectapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxPageSize is the largest `limit` a Prefect 2 server accepts on a filter endpoint
// (PREFECT_API_DEFAULT_LIMIT); above it the server answers 422.
const MaxPageSize = 200

// Client talks to one Prefect API. The zero value is not usable: build it with New.
type Client struct {
	// BaseURL is PREFECT_API_URL without a trailing slash, e.g. http://127.0.0.1:4200/api
	// or https://api.prefect.cloud/api/accounts/<id>/workspaces/<id>.
	BaseURL string
	// APIKey, when set, is sent as `Authorization: Bearer <key>`. It never appears in an
	// error or a log line.
	APIKey string
	HTTP   *http.Client
	// Timeout bounds each attempt of each request; 0 means no per-request bound.
	Timeout time.Duration
	Retry   RetryPolicy
	// Sleep waits between attempts; tests inject one that records the waits.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is used to turn an HTTP-date Retry-After into a wait.
	Now func() time.Time
	// Jitter returns a number in [0,1); tests make it deterministic.
	Jitter func() float64

	host string // for messages: host[:port] only, never user info
}

// RetryPolicy bounds retries on 429, 5xx and connection errors. Other 4xx are never retried.
type RetryPolicy struct {
	// MaxAttempts counts the first try; 1 disables retries.
	MaxAttempts int
	// BaseDelay is the first backoff; it doubles per attempt up to MaxDelay, with jitter.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxRetryAfter is the longest Retry-After the client agrees to wait; a longer one
	// ends the request with an error instead of stalling a CI job.
	MaxRetryAfter time.Duration
}

// DefaultRetry is what New uses.
var DefaultRetry = RetryPolicy{MaxAttempts: 4, BaseDelay: 500 * time.Millisecond, MaxDelay: 8 * time.Second, MaxRetryAfter: 60 * time.Second}

// DefaultTimeout is the per-request timeout New uses.
const DefaultTimeout = 30 * time.Second

// Option changes a Client built by New.
type Option func(*Client)

// WithHTTPClient sets the http.Client (transport, proxies, TLS).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.HTTP = h } }

// WithTimeout sets the per-request timeout.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.Timeout = d } }

// WithRetry sets the retry policy.
func WithRetry(p RetryPolicy) Option { return func(c *Client) { c.Retry = p } }

// WithSleeper replaces the wait between attempts.
func WithSleeper(s func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) { c.Sleep = s }
}

// WithClock replaces the clock used for HTTP-date Retry-After values.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.Now = now } }

// WithJitter replaces the random source of the backoff jitter.
func WithJitter(j func() float64) Option { return func(c *Client) { c.Jitter = j } }

// New builds a client for apiURL (PREFECT_API_URL) and an optional key (PREFECT_API_KEY).
func New(apiURL, apiKey string, opts ...Option) (*Client, error) {
	apiURL = strings.TrimSpace(apiURL)
	if apiURL == "" {
		return nil, errors.New("PREFECT_API_URL is not set: point it at the Prefect API, e.g. http://127.0.0.1:4200/api")
	}
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL text may hold credentials, so it is not echoed back.
		return nil, errors.New("PREFECT_API_URL is not an http(s) URL: expected e.g. http://127.0.0.1:4200/api")
	}
	c := &Client{
		BaseURL: strings.TrimRight(apiURL, "/"),
		APIKey:  strings.TrimSpace(apiKey),
		HTTP:    http.DefaultClient,
		Timeout: DefaultTimeout,
		Retry:   DefaultRetry,
		Sleep:   sleepCtx,
		Now:     time.Now,
		Jitter:  rand.Float64,
		host:    u.Host,
	}
	for _, o := range opts {
		o(c)
	}
	if c.Retry.MaxAttempts < 1 {
		c.Retry.MaxAttempts = 1
	}
	return c, nil
}

// Host is the API's host[:port], safe to print.
func (c *Client) Host() string { return c.host }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// do sends one API call with retries and decodes a JSON answer into out (when not nil).
// path is relative to BaseURL and starts with '/'.
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	_, err := c.doStatus(ctx, method, path, body, out)
	return err
}

// RawJSON is a request body sent exactly as given (json.Marshal would re-encode it).
type RawJSON []byte

// doStatus is do that also returns the 2xx status (201 created, 200 updated, ...).
func (c *Client) doStatus(ctx context.Context, method, path string, body, out any) (int, error) {
	var payload []byte
	if raw, ok := body.(RawJSON); ok {
		payload = raw
	} else if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return 0, fmt.Errorf("%s %s: encode body: %w", method, path, err)
		}
	}
	var last error
	for attempt := 1; ; attempt++ {
		status, data, hdr, err := c.once(ctx, method, path, payload)
		if err == nil && status >= 200 && status < 300 {
			if out == nil || status == http.StatusNoContent {
				return status, nil
			}
			if jerr := json.Unmarshal(data, out); jerr != nil {
				return status, &APIError{Method: method, Path: path, Host: c.host, Status: status, notJSON: true}
			}
			return status, nil
		}
		var wait time.Duration
		retryable := false
		if err != nil {
			if ctx.Err() != nil {
				// The caller gave up (or its deadline passed): no more attempts.
				return 0, fmt.Errorf("%s %s on %s: %w", method, path, c.host, ctx.Err())
			}
			last = &TransportError{Method: method, Path: path, Host: c.host, Attempts: attempt, Timeout: c.Timeout, Err: err}
			retryable = true
		} else {
			apiErr := newAPIError(method, path, c.host, status, data, c.APIKey != "")
			last = apiErr
			switch {
			case status == http.StatusTooManyRequests:
				retryable = true
				if ra, ok := retryAfter(hdr.Get("Retry-After"), c.Now()); ok {
					if c.Retry.MaxRetryAfter > 0 && ra > c.Retry.MaxRetryAfter {
						apiErr.Detail = fmt.Sprintf("rate limited; Retry-After %s is longer than the %s this client waits", ra, c.Retry.MaxRetryAfter)
						return 0, apiErr
					}
					wait = ra
				}
			case status >= 500:
				retryable = true
			}
		}
		if !retryable || attempt >= c.Retry.MaxAttempts {
			if te, ok := last.(*TransportError); ok {
				te.Attempts = attempt
			}
			if ae, ok := last.(*APIError); ok && retryable {
				ae.Attempts = attempt
			}
			return 0, last
		}
		if wait == 0 {
			wait = c.backoff(attempt)
		}
		if err := c.Sleep(ctx, wait); err != nil {
			return 0, fmt.Errorf("%s %s on %s: waiting to retry: %w", method, path, c.host, err)
		}
	}
}

// backoff is the wait before attempt+1: exponential with "equal jitter", so two clients
// that failed together do not retry in lockstep but never retry at once either.
func (c *Client) backoff(attempt int) time.Duration {
	d := float64(c.Retry.BaseDelay) * math.Pow(2, float64(attempt-1))
	if c.Retry.MaxDelay > 0 && d > float64(c.Retry.MaxDelay) {
		d = float64(c.Retry.MaxDelay)
	}
	return time.Duration(d/2 + c.Jitter()*d/2)
}

// retryAfter reads delay-seconds or an HTTP-date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

func (c *Client) once(ctx context.Context, method, path string, payload []byte) (int, []byte, http.Header, error) {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, nil, unwrapURLError(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, data, resp.Header, nil
}

// unwrapURLError drops *url.Error's text, which repeats the full URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Sentinels for errors.Is on *APIError.
var (
	ErrNotFound     = errors.New("not found")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	// ErrConflict is a 409: the object exists already (a work pool of that name).
	ErrConflict = errors.New("conflict")
)

// APIError is a non-2xx answer, or a 2xx answer that is not JSON.
type APIError struct {
	Method, Path, Host string
	Status             int
	// Detail is the server's `detail` text, or what this client concluded.
	Detail   string
	Attempts int // >1 when retries were spent
	hasKey   bool
	route    bool // 404 for the route itself: the base URL is wrong
	notJSON  bool
}

func newAPIError(method, path, host string, status int, body []byte, hasKey bool) *APIError {
	e := &APIError{Method: method, Path: path, Host: host, Status: status, hasKey: hasKey}
	var d struct {
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &d) == nil && len(d.Detail) > 0 {
		var s string
		if json.Unmarshal(d.Detail, &s) == nil {
			e.Detail = s
		} else {
			e.Detail = string(d.Detail)
		}
	} else if len(body) > 0 && status == http.StatusNotFound {
		// An HTML or plain 404 comes from something that is not the Prefect API.
		e.route = true
	}
	// FastAPI answers an unknown route with exactly "Not Found"; a missing object has
	// its own text such as "Deployment not found".
	if status == http.StatusNotFound && (e.Detail == "Not Found" || e.Detail == "") {
		e.route = true
	}
	if len(e.Detail) > 300 {
		e.Detail = e.Detail[:300] + "…"
	}
	return e
}

func (e *APIError) Error() string {
	call := e.Method + " " + e.Path
	switch {
	case e.notJSON:
		return fmt.Sprintf("%s on %s answered %d but not with JSON: check PREFECT_API_URL (it should end in /api, or /api/accounts/<id>/workspaces/<id> for Prefect Cloud)", call, e.Host, e.Status)
	case e.Status == http.StatusUnauthorized && e.hasKey:
		return fmt.Sprintf("PREFECT_API_KEY was rejected (401) by %s: check the key is current, not expired, and belongs to this account", e.Host)
	case e.Status == http.StatusUnauthorized:
		return fmt.Sprintf("%s requires an API key (401): set PREFECT_API_KEY", e.Host)
	case e.Status == http.StatusForbidden:
		return fmt.Sprintf("%s on %s not allowed (403): check the workspace/account in PREFECT_API_URL and the key's role", call, e.Host)
	case e.Status == http.StatusNotFound && e.route:
		return fmt.Sprintf("%s on %s: no such API route (404): check PREFECT_API_URL (it should end in /api, or /api/accounts/<id>/workspaces/<id> for Prefect Cloud)", call, e.Host)
	}
	msg := fmt.Sprintf("%s on %s: %d %s", call, e.Host, e.Status, http.StatusText(e.Status))
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Attempts > 1 {
		msg += fmt.Sprintf(" (after %d attempts)", e.Attempts)
	}
	return msg
}

// Is makes errors.Is(err, ErrNotFound) true for a missing object (not for a wrong base URL).
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound && !e.route
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrConflict:
		return e.Status == http.StatusConflict
	}
	return false
}

// TransportError is a request that got no HTTP answer (refused, reset, timed out).
type TransportError struct {
	Method, Path, Host string
	Attempts           int
	Timeout            time.Duration
	Err                error
}

func (e *TransportError) Error() string {
	what := e.Err.Error()
	if e.IsTimeout() {
		what = fmt.Sprintf("no answer within %s", e.Timeout)
	}
	s := fmt.Sprintf("%s %s on %s: %s", e.Method, e.Path, e.Host, what)
	if e.Attempts > 1 {
		s += fmt.Sprintf(" (after %d attempts)", e.Attempts)
	}
	return s + ": check PREFECT_API_URL and that the server is up"
}

func (e *TransportError) Unwrap() error { return e.Err }

// IsTimeout says whether the last attempt ran out of time.
func (e *TransportError) IsTimeout() bool {
	if errors.Is(e.Err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(e.Err, &ne) && ne.Timeout()
}

// NewFromEnv builds a client from PREFECT_API_URL and PREFECT_API_KEY as read by getenv
// (os.Getenv in production).
func NewFromEnv(getenv func(string) string, opts ...Option) (*Client, error) {
	return New(getenv("PREFECT_API_URL"), getenv("PREFECT_API_KEY"), opts...)
}
