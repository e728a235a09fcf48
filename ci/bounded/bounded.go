// Package bounded runs a numbered set of calls with at most a given number in flight: the
// one bounded-parallel loop of the repository (deployments written or built, deployments
// read for a plan).
package bounded

import (
	"context"
	"sync"
)

// Each calls fn(i) for i = 0, 1, ... n-1, in that order, with at most limit calls running
// at once (limit <= 0 means one). It starts no new call once ctx is done or stop (when
// not nil) reports true, waits for the calls already running, and returns ctx's error
// when ctx ended it.
func Each(ctx context.Context, n, limit int, stop func() bool, fn func(i int)) error {
	if limit <= 0 {
		limit = 1
	}
	slots := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil || (stop != nil && stop()) {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			fn(i)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// FirstError calls fn(ctx, i) like Each and returns the first error; after it, no new
// call starts and the ctx given to the calls running is cancelled.
func FirstError(ctx context.Context, n, limit int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once  sync.Once
		first error
	)
	err := Each(ctx, n, limit, nil, func(i int) {
		if err := fn(ctx, i); err != nil {
			once.Do(func() { first = err; cancel() })
		}
	})
	if first != nil {
		return first
	}
	return err
}
