package deploycli_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/prefectcli/batch"
)

// BenchmarkApply applies 50 deployments with --runner cli through the whole CLI against the fake
// prefect, each call taking 200 ms (FAKE_PREFECT_DELAY), at concurrency 1 and at the
// default. The "cpu" variants also burn 140 ms of CPU per call first, a tenth of a
// real build's import, to show where the machine's cores become the limit.
//
//	go test -run '^$' -bench Apply -benchtime 1x ./ci/deploycli/
func BenchmarkApply(b *testing.B) {
	def := prefectcli.DefaultConcurrency()
	for _, c := range []struct {
		name        string
		concurrency int
		env         []string
	}{
		{"sleep200ms/concurrency=1", 1, nil},
		{fmt.Sprintf("sleep200ms/concurrency=default(%d)", def), def, nil},
		{"sleep200ms/concurrency=16", 16, nil},
		{"cpu140ms+sleep200ms/concurrency=1", 1, []string{"FAKE_PREFECT_CPU=140ms"}},
		{fmt.Sprintf("cpu140ms+sleep200ms/concurrency=default(%d)", def), def, []string{"FAKE_PREFECT_CPU=140ms"}},
		{"cpu140ms+sleep200ms/concurrency=16", 16, []string{"FAKE_PREFECT_CPU=140ms"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := newHarness(b, append([]string{"FAKE_PREFECT_DELAY=200ms", "FAKE_PREFECT_LOG="}, c.env...)...)
			file := writeDeployments(b, h.dir, 50)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				code := deploycli.Main(context.Background(),
					[]string{"apply", "--prefect", fakeBin, "--runner", "cli", "--concurrency", strconv.Itoa(c.concurrency), file},
					io.Discard, io.Discard, h.env)
				if code != 0 {
					b.Fatalf("apply exited %d", code)
				}
			}
			b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "wall-s/op")
			b.ReportMetric(50*float64(b.N)/time.Since(start).Seconds(), "deployments/s")
		})
	}
}

// BenchmarkApplyRunners applies BENCH_DEPLOYMENTS (default 20) deployments through the
// whole CLI with each runner, at concurrency 1 and at the runner's default, against
// ci/prefectcli/batch's stand-in Prefect: 1.5 s once per Python process (the import) and
// 0.4 s per build, the costs measured on a real Prefect 2.14 server. --runner cli runs
// the stand-in's `prefect` script once per build; --runner batch imports it once per
// runner process. BENCH_BURN=1 spends those times on the CPU instead of sleeping.
//
//	go test -run '^$' -bench ApplyRunners -benchtime 1x -timeout 30m ./ci/deploycli/
func BenchmarkApplyRunners(b *testing.B) {
	n := 20
	if v := os.Getenv("BENCH_DEPLOYMENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("BENCH_DEPLOYMENTS=%q", v)
		}
	}
	stub, err := filepath.Abs("../prefect/batch/testdata/stub")
	if err != nil {
		b.Fatal(err)
	}
	prefectScript, err := filepath.Abs("../prefect/batch/testdata/bin/prefect")
	if err != nil {
		b.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "PYTHONPATH=" + stub, "STUB_IMPORT_SECONDS=1.5", "STUB_JOB_SECONDS=0.4"}
	if os.Getenv("BENCH_BURN") == "1" {
		env = append(env, "STUB_BURN=1")
	}
	for _, c := range []struct {
		runner      string
		concurrency int
	}{
		{"cli", 1}, {"cli", prefectcli.DefaultConcurrency()}, {"batch", 1}, {"batch", batch.DefaultProcesses()},
	} {
		b.Run(fmt.Sprintf("%s/concurrency=%d", c.runner, c.concurrency), func(b *testing.B) {
			dir := b.TempDir()
			require.NoError(b, os.CopyFS(dir, os.DirFS("testdata/repo")))
			file := writeDeployments(b, dir, n)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				var stderr bytes.Buffer
				code := deploycli.Main(context.Background(),
					[]string{"apply", "--prefect", prefectScript, "--runner", c.runner, "--concurrency", strconv.Itoa(c.concurrency), file},
					io.Discard, &stderr, env)
				if code != 0 || strings.Contains(stderr.String(), "with the prefect CLI") {
					b.Fatalf("apply exited %d:\n%s", code, stderr.String())
				}
			}
			b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "wall-s/op")
			b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "deployments/s")
		})
	}
}
