package batch_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/prefectcli/batch"
)

// benchDeployments is how many deployments each benchmark run deploys (the issue's
// figure is 50); BENCH_DEPLOYMENTS changes it for a quicker look.
func benchDeployments(b *testing.B) int {
	if s := os.Getenv("BENCH_DEPLOYMENTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("BENCH_DEPLOYMENTS=%q: want a positive integer", s)
		}
		return n
	}
	return 50
}

// BenchmarkDeploy deploys N deployments against a fake that charges 1.5 s once per
// Python process and 0.4 s per job (the costs measured on a real server): through
// the batch runner and through the plain CLI runner (one fake `prefect` process per
// job), at concurrency 1, the number of CPUs, and twice that. "sleep" spends those
// costs sleeping, as the fake does; "burn" spends them on CPU, which is
// closer to a real import and shows what the cores really allow.
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 30m ./ci/prefectcli/batch/
func BenchmarkDeploy(b *testing.B) {
	n := benchDeployments(b)
	levels := []int{1, runtime.NumCPU(), 2 * runtime.NumCPU()}
	for _, mode := range []string{"sleep", "burn"} {
		burn := "0"
		if mode == "burn" {
			burn = "1"
		}
		for _, runnerKind := range []string{"batch", "cli"} {
			for _, c := range dedupe(levels) {
				b.Run(fmt.Sprintf("%s/%s/concurrency=%d", mode, runnerKind, c), func(b *testing.B) {
					e := newEnv(b, "STUB_IMPORT_SECONDS=1.5", "STUB_JOB_SECONDS=0.4", "STUB_BURN="+burn, "STUB_RECORD_DIR=")
					jobs := make([]prefectcli.Job, n)
					for i := range jobs {
						jobs[i] = build(fmt.Sprintf("bench-%03d", i), "hello")
					}
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						var r prefectcli.Runner
						var closer func() error
						if runnerKind == "batch" {
							br, err := batch.New(e.options(c, nil))
							if err != nil {
								b.Fatal(err)
							}
							r, closer = br, br.Close
						} else {
							r = e.cliRunner(b)
						}
						results := prefectcli.Apply(context.Background(), jobs, r, prefectcli.ApplyOptions{Concurrency: c}, nil)
						if closer != nil {
							if err := closer(); err != nil {
								b.Fatal(err)
							}
						}
						for _, res := range results {
							if res.Status != prefectcli.StatusSucceeded {
								b.Fatalf("%s: %s %v\n%s", res.Name, res.Status, res.Err, res.Stderr)
							}
						}
					}
					b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
				})
			}
		}
	}
}

func dedupe(xs []int) []int {
	var out []int
	seen := map[int]bool{}
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
