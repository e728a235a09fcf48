// Package preflight checks, before anything is built or written, that the Prefect API a
// run will write to answers, accepts the key, runs the expected Prefect major, and has
// the infrastructure blocks and work pools the deployments file names. Every problem is
// one line; all of them are reported at once.
package preflight

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/acme-data/prefect-flows/ci/prefectapi"
)

// API is what the checks read; *prefectapi.Client implements it.
type API interface {
	Host() string
	AdminVersion(ctx context.Context) (string, error)
	ReadBlockDocument(ctx context.Context, typeSlug, name string) (*prefectapi.BlockDocument, error)
	ReadWorkPool(ctx context.Context, name string) (*prefectapi.WorkPool, error)
}

// Needs is what the run will rely on.
type Needs struct {
	// Blocks are infrastructure block refs ("type-slug/name") that must exist.
	Blocks []string
	// SavedLater are block type slugs the run saves itself before deploying (the
	// pipeline's register step saves ecs-task blocks): such blocks may be missing now.
	SavedLater []string
	// Pools are work pool names that must exist.
	Pools []string
	// ServerMajor, when not 0, is the Prefect major the writer speaks (2).
	ServerMajor int
	// InstalledVersion, when known, is the Prefect version of the deploy environment (the
	// inspect output's): its major must be the server's.
	InstalledVersion string
}

// Cause classifies why the API did not answer.
type Cause string

const (
	Refused      Cause = "connection refused"
	DNS          Cause = "DNS lookup failed"
	TLS          Cause = "TLS handshake failed"
	Timeout      Cause = "timed out"
	Unauthorized Cause = "unauthorized"
	Forbidden    Cause = "forbidden"
	WrongURL     Cause = "not the Prefect API"
	Other        Cause = "unreachable"
)

// Report is what the checks found.
type Report struct {
	Host          string
	ServerVersion string
	// Cause is set when the API could not be used at all (the other checks did not run).
	Cause    Cause
	Problems []string
	Took     time.Duration
}

// Err is nil when nothing is wrong, else every problem, one line each.
func (r *Report) Err() error {
	if len(r.Problems) == 0 {
		return nil
	}
	return &Error{Problems: r.Problems}
}

// Error lists the problems.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "preflight: " + e.Problems[0]
	}
	return fmt.Sprintf("preflight: %d problems:\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// Check runs the checks. The version call comes first: when it fails, nothing else is
// asked and the one problem says why, classified. The lookups then run concurrently.
func Check(ctx context.Context, api API, n Needs) *Report {
	start := time.Now()
	r := &Report{Host: api.Host()}
	defer func() { r.Took = time.Since(start) }()
	v, err := api.AdminVersion(ctx)
	if err != nil {
		r.Cause = Classify(err)
		r.Problems = append(r.Problems, Describe(api.Host(), err))
		return r
	}
	r.ServerVersion = v
	if n.ServerMajor != 0 && major(v) != n.ServerMajor {
		r.Problems = append(r.Problems, fmt.Sprintf("the Prefect API at %s runs Prefect %s; this deployer writes Prefect %d deployments", api.Host(), v, n.ServerMajor))
	}
	if n.InstalledVersion != "" && major(n.InstalledVersion) != major(v) {
		r.Problems = append(r.Problems, fmt.Sprintf("the deploy environment has Prefect %s but the API at %s runs Prefect %s: the majors must agree", n.InstalledVersion, api.Host(), v))
	}

	later := map[string]bool{}
	for _, s := range n.SavedLater {
		later[s] = true
	}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	add := func(p string) { mu.Lock(); r.Problems = append(r.Problems, p); mu.Unlock() }
	var found []string
	for _, ref := range distinct(n.Blocks) {
		slug, name, ok := strings.Cut(ref, "/")
		if !ok {
			add(fmt.Sprintf("infrastructure block %q: want type-slug/name", ref))
			continue
		}
		if later[slug] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := api.ReadBlockDocument(ctx, slug, name)
			switch {
			case errors.Is(err, prefectapi.ErrNotFound):
				add(fmt.Sprintf("infrastructure block %s does not exist on %s: save it first", ref, api.Host()))
			case err != nil:
				add(fmt.Sprintf("infrastructure block %s: %v", ref, err))
			default:
				mu.Lock()
				found = append(found, ref)
				mu.Unlock()
			}
		}()
	}
	for _, pool := range distinct(n.Pools) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := api.ReadWorkPool(ctx, pool)
			switch {
			case errors.Is(err, prefectapi.ErrNotFound):
				add(fmt.Sprintf("work pool %q does not exist on %s: create it (prefect work-pool create %s) or fix work_pool.name", pool, api.Host(), pool))
			case err != nil:
				add(fmt.Sprintf("work pool %s: %v", pool, err))
			}
		}()
	}
	wg.Wait()
	sort.Strings(r.Problems[min(len(r.Problems), versionProblems(r)):])
	return r
}

// versionProblems counts the leading version problems, which stay first.
func versionProblems(r *Report) int {
	n := 0
	for _, p := range r.Problems {
		if strings.Contains(p, " runs Prefect ") {
			n++
		}
	}
	return n
}

func distinct(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func major(v string) int {
	n := 0
	for _, c := range strings.TrimPrefix(strings.TrimSpace(v), "v") {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// Classify names why a request to the API failed.
func Classify(err error) Cause {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recErr tls.RecordHeaderError
	var te *prefectapi.TransportError
	switch {
	case errors.Is(err, prefectapi.ErrUnauthorized):
		return Unauthorized
	case errors.Is(err, prefectapi.ErrForbidden):
		return Forbidden
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused
	case errors.As(err, &dnsErr):
		return DNS
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &recErr),
		strings.Contains(err.Error(), "tls: "), strings.Contains(err.Error(), "x509: "),
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return TLS
	case errors.As(err, &te) && te.IsTimeout(), errors.Is(err, context.DeadlineExceeded):
		return Timeout
	}
	var ae *prefectapi.APIError
	if errors.As(err, &ae) && (ae.Status == 404 || ae.Status == 405) {
		return WrongURL
	}
	return Other
}

// Describe is the one line for an API that cannot be used: the host, the cause, a hint.
func Describe(host string, err error) string {
	switch c := Classify(err); c {
	case Refused:
		return fmt.Sprintf("the Prefect API at %s is unreachable: connection refused (is the server running? check PREFECT_API_URL)", host)
	case DNS:
		return fmt.Sprintf("the Prefect API at %s is unreachable: DNS lookup failed (check the host name in PREFECT_API_URL)", host)
	case TLS:
		return fmt.Sprintf("the Prefect API at %s is unreachable: TLS handshake failed: %s (http:// vs https://, or the certificate)", host, lastPart(err))
	case Timeout:
		return fmt.Sprintf("the Prefect API at %s is unreachable: timed out (a firewall, a VPN, or the wrong port in PREFECT_API_URL)", host)
	case Unauthorized, Forbidden, WrongURL:
		// The client's own messages already name the host, the status and the fix.
		return err.Error()
	default:
		return fmt.Sprintf("the Prefect API at %s is unreachable: %s", host, lastPart(err))
	}
}

// lastPart is the innermost error text, without the request line the client prefixes.
func lastPart(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}
