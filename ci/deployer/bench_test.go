package deployer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acme-data/prefect-flows/ci/deployer"
	"github.com/acme-data/prefect-flows/ci/desired"
	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefectapitest"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
)

// recordedLatency is the server time 2.14.21 took per call in the recordings
// (deploy-traffic/cases: POST /api/deployments/ 30-300 ms, the rest 10-60 ms): the
// upper middle of each range, so the figures do not flatter the runner.
func recordedLatency(method, path string) time.Duration {
	switch {
	case method == "POST" && path == "/deployments/":
		return 150 * time.Millisecond
	case method == "POST" && path == "/flows/":
		return 40 * time.Millisecond
	default:
		return 30 * time.Millisecond
	}
}

// BenchmarkAPIRunner22 writes 22 deployments over 3 flows (the fixture size)
// through the api runner against the fake API with the recorded latencies, at several
// concurrencies. Inspect is not included (one Python start + 3 flow imports).
//
//	go test -run '^$' -bench APIRunner22 -benchtime 3x ./ci/deployer/
func BenchmarkAPIRunner22(b *testing.B) {
	shared := trafficDirB(b)
	flows := inspectedB(b)
	var yaml strings.Builder
	yaml.WriteString("ib-block: process/dev\ndeployments:\n")
	eps := []string{"flows/etl.py:daily_etl", "flows/report.py:weekly_report", "flows/model.py:load_model"}
	params := []string{"{}", "{title: T}", "{target: {bucket: b}}"}
	for i := range 22 {
		fmt.Fprintf(&yaml, "  - name: d%02d\n    entrypoint: %s\n    parameters: %s\n    schedule: {cron: \"%d 6 * * *\"}\n", i, eps[i%3], params[i%3], i)
	}
	file := filepath.Join(b.TempDir(), "prefect-deployments-bench.yaml")
	if err := os.WriteFile(file, []byte(yaml.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	f := loadB(b, file, shared)
	deps, err := desired.ResolveAll(f, flows, marker)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []int{1, 4, 8, 16} {
		b.Run(fmt.Sprintf("concurrency=%d", c), func(b *testing.B) {
			for range b.N {
				fake := prefectapitest.New(b, prefectapitest.Empty(), prefectapitest.WithLatency(recordedLatency))
				fake.AddBlock("process/dev")
				api, err := prefectapi.New(fake.URL, "")
				if err != nil {
					b.Fatal(err)
				}
				d := deployer.New(api, "/opt/prefect")
				start := time.Now()
				if err := d.Prepare(context.Background(), deps); err != nil {
					b.Fatal(err)
				}
				res := prefectcli.Apply(context.Background(), deployer.Jobs(deps), d.Runner(deps), prefectcli.ApplyOptions{Concurrency: c}, nil)
				if !prefectcli.AllSucceeded(res) {
					b.Fatalf("not all succeeded: %+v", res)
				}
				b.ReportMetric(time.Since(start).Seconds(), "s/run")
			}
		})
	}
}
