package liveplan

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// Reader is what Plan reads from the API; *prefectapi.Client implements it.
type Reader interface {
	ReadDeploymentByName(ctx context.Context, flowName, name string) (*prefectapi.Deployment, error)
	ListDeployments(ctx context.Context, f prefectapi.DeploymentFilter) ([]prefectapi.Deployment, error)
	ReadFlowNames(ctx context.Context, ids []string) (map[string]string, error)
	ReadBlockDocumentByID(ctx context.Context, id string) (*prefectapi.BlockDocument, error)
}

// Action is what apply (or prune) will do to one deployment.
type Action string

const (
	Create    Action = "create"
	Update    Action = "update"
	Unchanged Action = "unchanged"
	Delete    Action = "delete"
)

// Entry is one deployment of the plan.
type Entry struct {
	Action Action
	Flow   string // flow name
	Name   string // deployment name
	// ID and FlowID are the server's ids (empty for Create).
	ID, FlowID string
	// Spec is the file's deployment (nil for Delete); Server what the API returned (nil for Create).
	Spec   *spec.Deployment
	Server *prefectapi.Deployment
	// Changes are the differing fields of an Update.
	Changes []Change
	// Adopt is an Update of a deployment that exists without the marker: apply will
	// overwrite it and mark it as managed from then on.
	Adopt bool
}

// Key is "flow/name", the unique name of a deployment in Prefect.
func (e Entry) Key() string { return e.Flow + "/" + e.Name }

// Plan is the comparison of one file with one server.
type Plan struct {
	File   string
	Host   string // API host, for the header; may be empty
	Marker string
	// Entries: the file's deployments in file order, then deletes sorted by key.
	Entries []Entry
}

// Count returns how many entries have action a.
func (p *Plan) Count(a Action) int {
	n := 0
	for _, e := range p.Entries {
		if e.Action == a {
			n++
		}
	}
	return n
}

// Deletes are the Delete entries: managed deployments the file no longer lists.
func (p *Plan) Deletes() []Entry {
	var out []Entry
	for _, e := range p.Entries {
		if e.Action == Delete {
			out = append(out, e)
		}
	}
	return out
}

// HasChanges says whether applying (with prune) would change anything.
func (p *Plan) HasChanges() bool { return p.Count(Unchanged) != len(p.Entries) }

// Build reads every deployment of f from the server and every deployment carrying this
// environment's marker, and classifies them. It changes nothing on the server.
func Build(ctx context.Context, f *spec.File, api Reader, opts Options) (*Plan, error) {
	marker, err := opts.marker(f)
	if err != nil {
		return nil, err
	}
	p := &Plan{File: f.Path, Marker: marker}
	if h, ok := api.(interface{ Host() string }); ok {
		p.Host = h.Host()
	}

	inFile := map[string]bool{}
	for _, d := range f.Deployments {
		if d.FlowName == "" {
			return nil, fmt.Errorf("deployment %q: flow name unknown (was the file loaded with spec.Load?)", d.Name)
		}
		inFile[d.FlowName+"/"+d.Name] = true
	}

	blocks := &blockNames{api: api, refs: map[string]string{}}
	entries := make([]Entry, len(f.Deployments))
	if err := forEach(ctx, len(f.Deployments), opts.Concurrency, func(ctx context.Context, i int) error {
		d := f.Deployments[i]
		e, err := classify(ctx, d, api, blocks, marker)
		if err != nil {
			return fmt.Errorf("plan %s/%s: %w", d.FlowName, d.Name, err)
		}
		entries[i] = e
		return nil
	}); err != nil {
		return nil, err
	}
	p.Entries = entries

	managed, err := api.ListDeployments(ctx, prefectapi.DeploymentFilter{TagsAll: []string{marker}})
	if err != nil {
		return nil, fmt.Errorf("list deployments tagged %s: %w", marker, err)
	}
	ids := make([]string, 0, len(managed))
	for _, d := range managed {
		ids = append(ids, d.FlowID)
	}
	flows, err := api.ReadFlowNames(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("read flow names: %w", err)
	}
	var deletes []Entry
	for i := range managed {
		d := &managed[i]
		// The filter already asked for the marker; a server that ignored the filter
		// must not turn into deletes of deployments this repository does not own.
		if !d.HasTag(marker) {
			continue
		}
		flow, ok := flows[d.FlowID]
		if !ok {
			flow = "flow " + d.FlowID
		}
		if inFile[flow+"/"+d.Name] {
			continue
		}
		deletes = append(deletes, Entry{Action: Delete, Flow: flow, Name: d.Name, ID: d.ID, FlowID: d.FlowID, Server: d})
	}
	sort.Slice(deletes, func(i, j int) bool { return deletes[i].Key() < deletes[j].Key() })
	p.Entries = append(p.Entries, deletes...)
	return p, nil
}

func classify(ctx context.Context, d spec.Deployment, api Reader, blocks *blockNames, marker string) (Entry, error) {
	sd := d
	e := Entry{Flow: d.FlowName, Name: d.Name, Spec: &sd}
	s, err := api.ReadDeploymentByName(ctx, d.FlowName, d.Name)
	if errors.Is(err, prefectapi.ErrNotFound) {
		e.Action = Create
		return e, nil
	}
	if err != nil {
		return e, err
	}
	e.ID, e.FlowID, e.Server = s.ID, s.FlowID, s
	ref, err := blocks.ref(ctx, s.InfrastructureDocumentID)
	if err != nil {
		return e, err
	}
	e.Changes = compare(d, s, ref, marker)
	e.Adopt = !s.HasTag(marker)
	e.Action = Unchanged
	if len(e.Changes) > 0 {
		e.Action = Update
	}
	return e, nil
}

// blockNames caches infrastructure_document_id → "slug/name".
type blockNames struct {
	api interface {
		ReadBlockDocumentByID(ctx context.Context, id string) (*prefectapi.BlockDocument, error)
	}
	mu   sync.Mutex
	refs map[string]string
}

func (b *blockNames) ref(ctx context.Context, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	b.mu.Lock()
	r, ok := b.refs[id]
	b.mu.Unlock()
	if ok {
		return r, nil
	}
	doc, err := b.api.ReadBlockDocumentByID(ctx, id)
	switch {
	case errors.Is(err, prefectapi.ErrNotFound):
		r = "(deleted block " + id + ")"
	case err != nil:
		return "", fmt.Errorf("read infrastructure block: %w", err)
	case doc.IsAnonymous:
		// Anonymous blocks are what `-i process` and friends create, never `-ib`.
		r = "(anonymous " + doc.Ref() + ")"
	default:
		r = doc.Ref()
	}
	b.mu.Lock()
	b.refs[id] = r
	b.mu.Unlock()
	return r, nil
}

// forEach runs fn for 0..n-1 with at most limit in flight and returns the first error;
// after an error no new calls start.
func forEach(ctx context.Context, n, limit int, fn func(context.Context, int) error) error {
	if limit <= 0 {
		limit = 4
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, limit)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}(i)
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
