package deploycli_test

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/prefect"
)

// BenchmarkApply applies 50 deployments with --runner cli through the whole CLI against the fake
// prefect, each call taking 200 ms (FAKE_PREFECT_DELAY), at concurrency 1 and at the
// default. The "cpu" variants also burn 140 ms of CPU per call first, a tenth of a
// real build's import, to show where the machine's cores become the limit.
//
//	go test -run '^$' -bench Apply -benchtime 1x ./ci/deploycli/
func BenchmarkApply(b *testing.B) {
	def := prefect.DefaultConcurrency()
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
