package pipeline

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/acme-data/prefect-flows/ci/internal/fakedagger"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefectapitest"
)

// The preflight runs before the image is built: a failing one leaves the engine without
// a single exec, build or push, and says why in one line per problem.
func TestPreflight(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(f *prefectapitest.Server)
		want  string // "" = passes
	}{
		{"all there", func(f *prefectapitest.Server) {}, ""},
		{"server down", func(f *prefectapitest.Server) { f.Close() }, "is unreachable: connection refused (is the server running? check PREFECT_API_URL)\nnothing was built, published or registered"},
		{"wrong key", func(f *prefectapitest.Server) { f.ForceStatus(401) }, "(401)"},
		{"prefect 3", func(f *prefectapitest.Server) { f.SetVersion("3.1.4") }, "runs Prefect 3.1.4; this deployer writes Prefect 2 deployments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := prefectapitest.New(t)
			tc.setup(api)
			srv := fakedagger.Start(t, fakedagger.WithHandler(handler(nil)))
			c := connect(t, srv)
			var out bytes.Buffer
			o := prodOptions(t, c, &out)
			o.PrefectAPI = preflightClient(api.URL, "")
			start := time.Now()
			rep, err := Run(context.Background(), c, o)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Run: %v\n%s", err, out.String())
				}
				if !strings.Contains(out.String(), "runs Prefect 2.14.21; blocks and pools found") {
					t.Errorf("no preflight line:\n%s", out.String())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "step preflight: preflight: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if n := len(srv.Execs()); n != 0 {
				t.Errorf("%d exec(s) after a failed preflight", n)
			}
			if n := len(srv.Publishes()); n != 0 {
				t.Errorf("%d publish(es) after a failed preflight", n)
			}
			if stepStatus(rep, "image") != StepNotRun {
				t.Errorf("image step %s", stepStatus(rep, "image"))
			}
			t.Logf("failed in %s", time.Since(start))
		})
	}
}
