package liveplan_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/acme-data/prefect-flows/ci/liveplan"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefectapitest"
)

// BenchmarkBuild plans the realistic file against a fake holding 450 more managed
// deployments (three pages of deletes) over loopback HTTP.
func BenchmarkBuild(b *testing.B) {
	dir := "testdata/plan/realistic"
	fake, c := seed(b, dir)
	for i := 0; i < 450; i++ {
		fake.AddDeployment(prefectapitest.Seed{Flow: "hello", Name: fmt.Sprintf("old-%03d", i), Tags: []string{marker}})
	}
	f := load(b, dir)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := liveplan.Build(context.Background(), f, c, liveplan.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
