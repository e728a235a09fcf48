package bounded

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// gate lets a test hold calls in flight and count the most that ran at once.
type gate struct {
	mu      sync.Mutex
	running int
	most    int
	started []int
}

func (g *gate) enter(i int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running++
	g.most = max(g.most, g.running)
	g.started = append(g.started, i)
}

func (g *gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running--
}

func TestEachLimitsAndOrders(t *testing.T) {
	for _, tc := range []struct{ n, limit, wantMost int }{
		{n: 0, limit: 3, wantMost: 0},
		{n: 10, limit: 3, wantMost: 3},
		{n: 5, limit: 0, wantMost: 1},
		{n: 2, limit: 8, wantMost: 2},
	} {
		var g gate
		// Each call waits until limit calls are in flight (or all that can be), so the
		// most seen is exactly the limit when the loop respects it.
		var barrier sync.WaitGroup
		first := min(tc.n, max(tc.limit, 1))
		barrier.Add(first)
		var seen atomic.Int32
		err := Each(context.Background(), tc.n, tc.limit, nil, func(i int) {
			g.enter(i)
			if seen.Add(1) <= int32(first) {
				barrier.Done()
				barrier.Wait()
			}
			g.leave()
		})
		if err != nil {
			t.Fatalf("n=%d limit=%d: %v", tc.n, tc.limit, err)
		}
		if g.most != tc.wantMost || len(g.started) != tc.n {
			t.Errorf("n=%d limit=%d: most in flight %d, started %d; want %d and %d", tc.n, tc.limit, g.most, len(g.started), tc.wantMost, tc.n)
		}
		if tc.limit <= 1 {
			for i, v := range g.started {
				if v != i {
					t.Errorf("limit %d: started %v, want in order", tc.limit, g.started)
					break
				}
			}
		}
	}
}

func TestEachStops(t *testing.T) {
	var calls atomic.Int32
	err := Each(context.Background(), 10, 1, func() bool { return calls.Load() >= 3 }, func(int) { calls.Add(1) })
	if err != nil || calls.Load() != 3 {
		t.Errorf("stop after 3: calls %d, err %v", calls.Load(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls.Store(0)
	err = Each(ctx, 10, 1, nil, func(i int) {
		calls.Add(1)
		if i == 1 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || calls.Load() != 2 {
		t.Errorf("cancel at 1: calls %d, err %v; want 2 calls and context.Canceled", calls.Load(), err)
	}
}

func TestFirstError(t *testing.T) {
	boom := errors.New("boom")
	var calls atomic.Int32
	err := FirstError(context.Background(), 10, 1, func(ctx context.Context, i int) error {
		calls.Add(1)
		if i == 2 {
			return boom
		}
		return ctx.Err()
	})
	if !errors.Is(err, boom) || calls.Load() != 3 {
		t.Errorf("calls %d, err %v; want 3 calls and boom", calls.Load(), err)
	}
	if err := FirstError(context.Background(), 4, 2, func(context.Context, int) error { return nil }); err != nil {
		t.Errorf("no error: got %v", err)
	}
}
