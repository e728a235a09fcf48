// Package liveplan compares a deployments file with what a Prefect server holds: a
// Terraform-style plan (create / update / unchanged / delete / keep) and the read-back
// after apply, which patches what a writer cannot clear and reports the rest as drift.
// It changes nothing else on the server: deleting what the plan marks is ci/prune's,
// and whose a deployment is, ci/ownership's.
package liveplan

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/acme-data/prefect-flows/ci/bounded"
	"github.com/acme-data/prefect-flows/ci/ownership"
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
	// Keep is a deployment that carries only the legacy tag of this environment and that
	// the file no longer lists: not deleted, because the legacy tag is the same for every
	// copy of the repository (Options.PruneLegacy turns it into a Delete).
	Keep Action = "keep"
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
	// AdoptFrom is the ownership tag an adopted deployment carries: the legacy tag
	// (AdoptOwner "") or another owner's tag (a take-over of AdoptOwner's deployment).
	// Empty for a hand-made deployment.
	AdoptFrom, AdoptOwner string
	// Tag is the ownership tag that makes a Delete deletable (the marker, or the legacy
	// tag with Options.PruneLegacy); Prune checks it again right before deleting.
	Tag string
	// Notes are remarks on state the file does not declare and apply leaves alone.
	Notes []string
}

// TakeOver says whether apply would take the deployment over from another owner.
func (e Entry) TakeOver() bool { return e.AdoptOwner != "" }

// Key is "flow/name", the unique name of a deployment in Prefect.
func (e Entry) Key() string { return e.Flow + "/" + e.Name }

// Plan is the comparison of one file with one server.
type Plan struct {
	File   string
	Host   string // API host, for the header; may be empty
	Marker string
	// Owner and OwnerSource name the owner of Marker and where it came from (may be empty).
	Owner, OwnerSource string
	// Legacy is the legacy tag of the environment ("" when not looked at).
	Legacy string
	// Entries: the file's deployments in file order, then deletes sorted by key.
	Entries []Entry
	// target is what the file's deployments were compared as; a create is shown as it.
	target target
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
func (p *Plan) HasChanges() bool { return p.Count(Unchanged)+p.Count(Keep) != len(p.Entries) }

// Build reads every deployment of f from the server and every deployment carrying this
// environment's marker, and classifies them. It changes nothing on the server.
func Build(ctx context.Context, f *spec.File, api Reader, opts Options) (*Plan, error) {
	marker, legacy, err := opts.tags(f)
	if err != nil {
		return nil, err
	}
	t := target{major: f.Prefect, marker: marker, image: opts.Image, imageRepo: opts.ImageRepository, pools: opts.PoolJobVariables}
	p := &Plan{File: f.Path, Marker: marker, Legacy: legacy, Owner: opts.Owner, OwnerSource: opts.OwnerSource, target: t}
	if h, ok := api.(interface{ Host() string }); ok {
		p.Host = h.Host()
	}

	// Entrypoints left to Prefect's loader may have no flow name yet: the server's
	// deployment of that name (carrying the marker, or the legacy tag) says which flow.
	ds, err := resolveFlowNames(ctx, f.Deployments, api, marker, legacy)
	if err != nil {
		return nil, err
	}
	inFile := map[string]bool{}
	for _, d := range ds {
		inFile[d.FlowName+"/"+d.Name] = true
	}

	blocks := &blockNames{api: api, refs: map[string]string{}}
	entries := make([]Entry, len(ds))
	if err := bounded.FirstError(ctx, len(ds), readConcurrency(opts.Concurrency), func(ctx context.Context, i int) error {
		d := ds[i]
		if d.FlowName == "" {
			// Not on the server: a create, under the flow the build will name.
			sd := d
			entries[i] = Entry{Action: Create, Flow: UnknownFlow, Name: d.Name, Spec: &sd}
			return nil
		}
		e, err := classify(ctx, d, api, blocks, t, legacy)
		if err != nil {
			return fmt.Errorf("plan %s/%s: %w", d.FlowName, d.Name, err)
		}
		entries[i] = e
		return nil
	}); err != nil {
		return nil, err
	}
	p.Entries = entries

	deletes, err := owned(ctx, api, marker, inFile, func(*prefectapi.Deployment) Action { return Delete })
	if err != nil {
		return nil, err
	}
	if legacy != "" {
		// Legacy-tagged deployments the file no longer lists: the legacy tag does not say
		// which copy of the repository made them, so they are kept unless asked for.
		olds, err := owned(ctx, api, legacy, inFile, func(d *prefectapi.Deployment) Action {
			// Ours already (listed above), or another owner's since it adopted it.
			if ownership.HasOwnerTag(d.Tags) {
				return ""
			}
			if opts.PruneLegacy {
				return Delete
			}
			return Keep
		})
		if err != nil {
			return nil, err
		}
		deletes = append(deletes, olds...)
	}
	sort.SliceStable(deletes, func(i, j int) bool { return deletes[i].Key() < deletes[j].Key() })
	p.Entries = append(p.Entries, deletes...)
	return p, nil
}

// owned lists the deployments tagged tag that the file does not list, as entries with the
// action decide gives them ("" leaves one out).
func owned(ctx context.Context, api Reader, tag string, inFile map[string]bool, decide func(*prefectapi.Deployment) Action) ([]Entry, error) {
	list, err := api.ListDeployments(ctx, prefectapi.DeploymentFilter{TagsAll: []string{tag}})
	if err != nil {
		return nil, fmt.Errorf("list deployments tagged %s: %w", tag, err)
	}
	ids := make([]string, 0, len(list))
	for _, d := range list {
		ids = append(ids, d.FlowID)
	}
	flows, err := api.ReadFlowNames(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("read flow names: %w", err)
	}
	var out []Entry
	for i := range list {
		d := &list[i]
		// The filter already asked for the tag; a server that ignored the filter
		// must not turn into deletes of deployments this repository does not own.
		if !d.HasTag(tag) {
			continue
		}
		flow, ok := flows[d.FlowID]
		if !ok {
			flow = "flow " + d.FlowID
		}
		if inFile[flow+"/"+d.Name] {
			continue
		}
		a := decide(d)
		if a == "" {
			continue
		}
		out = append(out, Entry{Action: a, Flow: flow, Name: d.Name, ID: d.ID, FlowID: d.FlowID, Server: d, Tag: tag})
	}
	return out, nil
}

func classify(ctx context.Context, d spec.Deployment, api Reader, blocks *blockNames, t target, legacy string) (Entry, error) {
	marker := t.marker
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
	e.Changes = compare(d, s, ref, t)
	e.Notes = notes(d, s, t.major)
	if e.Adopt = !s.HasTag(marker); e.Adopt {
		for _, t := range s.Tags {
			owner, _, ok := ownership.ParseMarker(t)
			switch {
			case !ok:
			case owner != "":
				e.AdoptFrom = t
				if mine, _, _ := ownership.ParseMarker(marker); owner != mine {
					e.AdoptOwner = owner
				}
			case t == legacy && e.AdoptFrom == "":
				e.AdoptFrom = t
			}
		}
	}
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

// readConcurrency is how many deployments a plan reads at once: the option, else 4.
func readConcurrency(n int) int {
	if n <= 0 {
		return 4
	}
	return n
}
