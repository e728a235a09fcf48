package preflight_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefectapitest"
	"github.com/acme-data/prefect-flows/ci/preflight"
)

func client(t *testing.T, url, key string) *prefectapi.Client {
	t.Helper()
	c, err := prefectapi.New(url, key, prefectapi.WithTimeout(300*time.Millisecond),
		prefectapi.WithRetry(prefectapi.RetryPolicy{MaxAttempts: 2}),
		prefectapi.WithSleeper(func(context.Context, time.Duration) error { return nil }))
	require.NoError(t, err)
	return c
}

// Every way the API cannot be used is one classified line naming the host, and nothing
// else is asked.
func TestUnusableAPI(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) (*prefectapi.Client, string)
		cause preflight.Cause
		want  string
	}{
		{"refused", func(t *testing.T) (*prefectapi.Client, string) {
			f := prefectapitest.New(t)
			f.Close()
			return client(t, f.URL, ""), ""
		}, preflight.Refused, "the Prefect API at HOST is unreachable: connection refused (is the server running? check PREFECT_API_URL)"},
		{"dns", func(t *testing.T) (*prefectapi.Client, string) {
			// No query leaves the machine: the dialer fails as a lookup of an unknown host does.
			tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "prefect.invalid", IsNotFound: true}}
			}}
			c, err := prefectapi.New("http://prefect.invalid:4200/api", "", prefectapi.WithHTTPClient(&http.Client{Transport: tr}),
				prefectapi.WithRetry(prefectapi.RetryPolicy{MaxAttempts: 1}))
			require.NoError(t, err)
			return c, ""
		}, preflight.DNS, "the Prefect API at prefect.invalid:4200 is unreachable: DNS lookup failed (check the host name in PREFECT_API_URL)"},
		{"tls", func(t *testing.T) (*prefectapi.Client, string) {
			f := prefectapitest.New(t)
			return client(t, strings.Replace(f.URL, "http://", "https://", 1), ""), ""
		}, preflight.TLS, "the Prefect API at HOST is unreachable: TLS handshake failed: "},
		{"timeout", func(t *testing.T) (*prefectapi.Client, string) {
			f := prefectapitest.New(t)
			f.Inject(prefectapitest.Fault{Delay: 5 * time.Second}, prefectapitest.Fault{Delay: 5 * time.Second})
			return client(t, f.URL, ""), ""
		}, preflight.Timeout, "the Prefect API at HOST is unreachable: timed out (a firewall, a VPN, or the wrong port in PREFECT_API_URL)"},
		{"wrong key", func(t *testing.T) (*prefectapi.Client, string) {
			f := prefectapitest.New(t, prefectapitest.WithAPIKey("right"))
			return client(t, f.URL, "wrong"), ""
		}, preflight.Unauthorized, "PREFECT_API_KEY was rejected (401) by HOST: check the key is current, not expired, and belongs to this account"},
		{"no key", func(t *testing.T) (*prefectapi.Client, string) {
			f := prefectapitest.New(t, prefectapitest.WithAPIKey("right"))
			return client(t, f.URL, ""), ""
		}, preflight.Unauthorized, "HOST requires an API key (401): set PREFECT_API_KEY"},
		{"no /api", func(t *testing.T) (*prefectapi.Client, string) {
			f := prefectapitest.New(t)
			return client(t, strings.TrimSuffix(f.URL, "/api"), ""), ""
		}, preflight.WrongURL, "GET /admin/version on HOST: no such API route (404): check PREFECT_API_URL (it should end in /api, or /api/accounts/<id>/workspaces/<id> for Prefect Cloud)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := tt.setup(t)
			r := preflight.Check(context.Background(), c, preflight.Needs{Blocks: []string{"ecs-task/dev"}, Pools: []string{"p"}})
			assert.Equal(t, tt.cause, r.Cause)
			require.Len(t, r.Problems, 1, "%v", r.Problems)
			want := strings.ReplaceAll(tt.want, "HOST", c.Host())
			if strings.HasSuffix(want, ": ") {
				assert.True(t, strings.HasPrefix(r.Problems[0], want), r.Problems[0])
			} else {
				assert.Equal(t, want, r.Problems[0])
			}
			assert.NotContains(t, r.Err().Error(), "\n")
		})
	}
}

func TestEveryProblemAtOnce(t *testing.T) {
	f := prefectapitest.New(t, prefectapitest.WithVersion("3.1.4"))
	f.AddBlock("process/dev")
	f.AddPool("pool-a")
	c := client(t, f.URL, "")
	r := preflight.Check(context.Background(), c, preflight.Needs{
		Blocks:      []string{"process/dev", "process/gone", "ecs-task/prod", "docker-container/x", "process/gone"},
		SavedLater:  []string{"ecs-task"},
		Pools:       []string{"pool-a", "nope"},
		ServerMajor: 2, InstalledVersion: "2.14.21",
	})
	assert.Equal(t, "3.1.4", r.ServerVersion)
	h := c.Host()
	assert.Equal(t, []string{
		"the Prefect API at " + h + " runs Prefect 3.1.4; this deployer writes Prefect 2 deployments",
		"the deploy environment has Prefect 2.14.21 but the API at " + h + " runs Prefect 3.1.4: the majors must agree",
		"infrastructure block docker-container/x does not exist on " + h + ": save it first",
		"infrastructure block process/gone does not exist on " + h + ": save it first",
		`work pool "nope" does not exist on ` + h + ": create it (prefect work-pool create nope) or fix work_pool.name",
	}, r.Problems)
	assert.Equal(t, "preflight: 5 problems:\n  "+strings.Join(r.Problems, "\n  "), r.Err().Error())
}

func TestAllGood(t *testing.T) {
	f := prefectapitest.New(t)
	f.AddBlock("ecs-task/dev")
	r := preflight.Check(context.Background(), client(t, f.URL, ""), preflight.Needs{Blocks: []string{"ecs-task/dev"}, ServerMajor: 2, InstalledVersion: "2.14.21"})
	assert.NoError(t, r.Err())
	assert.Equal(t, "2.14.21", r.ServerVersion)
}
