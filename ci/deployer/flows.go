package deployer

import (
	"context"
	"sync"

	"github.com/acme-data/prefect-flows/ci/prefectapi"
)

// flowIDs upserts each flow once per run (POST /flows/ is an upsert by name on both
// majors) and hands its id to every deployment of that flow. The zero value is ready.
type flowIDs struct {
	mu    sync.Mutex
	calls map[string]*flowCall
}

type flowCall struct {
	done chan struct{}
	id   string
	err  error
}

// flowCreator is the one call flowIDs needs.
type flowCreator interface {
	CreateFlow(ctx context.Context, name string) (*prefectapi.Flow, error)
}

// get upserts the flow name once; concurrent callers wait for the first. A failed call
// is forgotten, so the next deployment of that flow tries again.
func (f *flowIDs) get(ctx context.Context, api flowCreator, name string) (string, error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]*flowCall{}
	}
	c, ok := f.calls[name]
	if !ok {
		c = &flowCall{done: make(chan struct{})}
		f.calls[name] = c
		f.mu.Unlock()
		fl, err := api.CreateFlow(ctx, name)
		if err == nil {
			c.id = fl.ID
		} else {
			c.err = err
			f.mu.Lock()
			delete(f.calls, name)
			f.mu.Unlock()
		}
		close(c.done)
		return c.id, c.err
	}
	f.mu.Unlock()
	select {
	case <-c.done:
		if c.err != nil {
			return f.get(ctx, api, name)
		}
		return c.id, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
