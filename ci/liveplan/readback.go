package liveplan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// Patcher is what ReadBack needs; *prefectapi.Client implements it.
type Patcher interface {
	Reader
	PatchDeployment(ctx context.Context, id string, fields map[string]any) error
}

// Patched is one PATCH ReadBack sent.
type Patched struct {
	Key, ID string
	Fields  map[string]any
	// Changes are the differences the PATCH was sent for.
	Changes []Change
}

// Drift is a deployment that still differs from the file after apply (and after
// ReadBack's PATCH); Changes empty with Missing set means the server lacks it.
type Drift struct {
	Key, ID string
	Missing bool
	Changes []Change
}

// ReadBackResult says what the read-back found and did.
type ReadBackResult struct {
	Checked int
	Patched []Patched
	Drift   []Drift
}

// Err is non-nil when drift remains: the caller exits non-zero.
func (r *ReadBackResult) Err() error {
	if len(r.Drift) == 0 {
		return nil
	}
	keys := make([]string, len(r.Drift))
	for i, d := range r.Drift {
		keys[i] = d.Key
	}
	return fmt.Errorf("%d deployment(s) differ from the file after apply: %s", len(r.Drift), strings.Join(keys, ", "))
}

// ReadBack reads back every deployment of f whose apply succeeded (all of them when
// results is nil) and compares it with the file. What `prefect deployment build` leaves
// untouched when an option is absent (tags or parameters removed from the file, pool and
// queue, a paused schedule) is set with one PATCH /deployments/{id} per deployment and
// read again; whatever still differs is drift. An error means the read-back itself
// could not be done.
func ReadBack(ctx context.Context, f *spec.File, api Patcher, results []prefectcli.Result, opts Options) (*ReadBackResult, error) {
	marker, err := opts.marker(f)
	if err != nil {
		return nil, err
	}
	ok := map[string]bool{}
	for _, r := range results {
		ok[r.Name] = r.Status == prefectcli.StatusSucceeded
	}
	blocks := &blockNames{api: api, refs: map[string]string{}}
	res := &ReadBackResult{}
	ds, err := resolveFlowNames(ctx, f.Deployments, api, marker)
	if err != nil {
		return nil, fmt.Errorf("read back: %w", err)
	}
	for _, d := range ds {
		if results != nil && !ok[d.Name] {
			continue
		}
		if d.FlowName == "" {
			// Left to Prefect's loader, and no deployment of that name carries the marker.
			res.Checked++
			res.Drift = append(res.Drift, Drift{Key: UnknownFlow + "/" + d.Name, Missing: true})
			continue
		}
		res.Checked++
		key := d.FlowName + "/" + d.Name
		s, err := api.ReadDeploymentByName(ctx, d.FlowName, d.Name)
		if errors.Is(err, prefectapi.ErrNotFound) {
			res.Drift = append(res.Drift, Drift{Key: key, Missing: true})
			continue
		}
		if err != nil {
			return res, fmt.Errorf("read back %s: %w", key, err)
		}
		t := target{major: f.Prefect, marker: marker, image: opts.Image, imageRepo: opts.ImageRepository, pools: opts.PoolJobVariables}
		changes, err := diffWith(ctx, d, s, blocks, t)
		if err != nil {
			return res, fmt.Errorf("read back %s: %w", key, err)
		}
		fields := map[string]any{}
		var fixing []Change
		for _, c := range changes {
			if c.Patch != nil {
				fixing = append(fixing, c)
				for k, v := range c.Patch {
					fields[k] = v
				}
			}
		}
		if len(fields) > 0 {
			if err := api.PatchDeployment(ctx, s.ID, fields); err != nil {
				return res, fmt.Errorf("read back %s: patch %s: %w", key, strings.Join(sortedKeys(fields), ", "), err)
			}
			res.Patched = append(res.Patched, Patched{Key: key, ID: s.ID, Fields: fields, Changes: fixing})
			if s, err = api.ReadDeploymentByName(ctx, d.FlowName, d.Name); err != nil {
				return res, fmt.Errorf("read back %s after patch: %w", key, err)
			}
			if changes, err = diffWith(ctx, d, s, blocks, t); err != nil {
				return res, fmt.Errorf("read back %s: %w", key, err)
			}
		}
		if len(changes) > 0 {
			res.Drift = append(res.Drift, Drift{Key: key, ID: s.ID, Changes: changes})
		}
	}
	return res, nil
}

func diffWith(ctx context.Context, d spec.Deployment, s *prefectapi.Deployment, blocks *blockNames, t target) ([]Change, error) {
	ref, err := blocks.ref(ctx, s.InfrastructureDocumentID)
	if err != nil {
		return nil, err
	}
	return compare(d, s, ref, t), nil
}

// WriteReadBack writes the read-back as text: patches, then drift.
func WriteReadBack(w io.Writer, r *ReadBackResult) error {
	ew := &errWriter{w: w}
	ew.printf("Read back %d deployment(s): %d patched, %d drifted.\n", r.Checked, len(r.Patched), len(r.Drift))
	for _, p := range r.Patched {
		ew.printf("  ~ patched   %s (%s)\n", p.Key, strings.Join(sortedKeys(p.Fields), ", "))
		var lines [][2]string
		for _, c := range p.Changes {
			lines = append(lines, [2]string{c.Field, c.Old + " → " + c.New})
		}
		writeFields(ew, lines)
	}
	for _, d := range r.Drift {
		if d.Missing {
			ew.printf("  ! drift     %s: not on the server after a successful apply\n", d.Key)
			continue
		}
		ew.printf("  ! drift     %s\n", d.Key)
		var lines [][2]string
		for _, c := range d.Changes {
			lines = append(lines, [2]string{c.Field, "server " + c.Old + ", file " + c.New})
		}
		writeFields(ew, lines)
	}
	return ew.err
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
