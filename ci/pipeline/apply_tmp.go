package pipeline

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/acme-data/prefect-flows/ci/prefect"
)

// applyJobs is a stand-in until ci/prefect's executor lands.
func applyJobs(ctx context.Context, jobs []prefect.Job, r prefect.Runner, n int, out io.Writer) []prefect.Result {
	res := make([]prefect.Result, len(jobs))
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			res[i] = r.Run(ctx, j)
			mu.Lock()
			fmt.Fprintf(out, "    %s: %s (%s)\n", j.Name, res[i].Status, res[i].Duration)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return res
}
