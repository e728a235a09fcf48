// Package prune deletes the deployments a live plan marks for deletion, and nothing
// else: the managed deployments (ownership tag) the file no longer lists, each read
// again right before it is deleted. It also holds the rule apply follows before it
// may prune at all.
package prune

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/acme-data/prefect-flows/ci/liveplan"
	"github.com/acme-data/prefect-flows/ci/ownership"
	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// Deleter is what Run needs; *prefectapi.Client implements it.
type Deleter interface {
	ReadDeployment(ctx context.Context, id string) (*prefectapi.Deployment, error)
	DeleteDeployment(ctx context.Context, id string) error
}

// ErrDeclined is returned when the confirmation said no.
var ErrDeclined = errors.New("prune declined: nothing deleted")

// Check is the rule apply follows before pruning: only after the file loaded and
// every one of its deployments was applied successfully. A failed or skipped
// deployment may be one the file still lists, and an empty run proves nothing.
func Check(results []prefectcli.Result, loadErr error) error {
	if loadErr != nil {
		return fmt.Errorf("no prune: the deployments file did not load: %w", loadErr)
	}
	if len(results) == 0 {
		return errors.New("no prune: no deployment was applied")
	}
	var bad []string
	for _, r := range results {
		if r.Status != prefectcli.StatusSucceeded {
			bad = append(bad, fmt.Sprintf("%s (%s)", r.Name, r.Status))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("no prune: %d of %d deployments did not succeed: %s", len(bad), len(results), strings.Join(bad, ", "))
	}
	return nil
}

// CheckFile is Check plus: every deployment of f has a successful result. It
// refuses a prune after an apply of part of the file (e.g. `apply --only`), which proves
// nothing about the deployments left out.
func CheckFile(f *spec.File, results []prefectcli.Result, loadErr error) error {
	if err := Check(results, loadErr); err != nil {
		return err
	}
	if f == nil {
		return errors.New("no prune: no deployments file")
	}
	done := map[string]bool{}
	for _, r := range results {
		done[r.Name] = r.Status == prefectcli.StatusSucceeded
	}
	var missing []string
	for _, d := range f.Deployments {
		if !done[d.Name] {
			missing = append(missing, d.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("no prune: %d deployment(s) of %s were not applied in this run: %s", len(missing), f.Path, strings.Join(missing, ", "))
	}
	return nil
}

// Skip is a planned delete that Run did not carry out, and why.
type Skip struct {
	Entry  liveplan.Entry
	Reason string
}

// Result says what Run did.
type Result struct {
	Deleted []liveplan.Entry
	Skipped []Skip
}

// Run deletes the plan's Delete entries, and nothing else. confirm sees the list
// first and must return true (a CLI asks, or --yes answers for it); nil confirm
// deletes nothing. Right before each delete the deployment is read again: one that
// lost the marker, changed name or flow, or is gone is skipped, never deleted.
func Run(ctx context.Context, p *liveplan.Plan, api Deleter, confirm func([]liveplan.Entry) bool) (*Result, error) {
	res := &Result{}
	list := p.Deletes()
	if len(list) == 0 {
		return res, nil
	}
	if p.Marker == "" {
		return res, errors.New("prune: the plan has no ownership marker")
	}
	if confirm == nil || !confirm(list) {
		return res, ErrDeclined
	}
	var errs []error
	for _, e := range list {
		tag := e.Tag
		if tag == "" {
			tag = p.Marker
		}
		d, err := api.ReadDeployment(ctx, e.ID)
		switch {
		case errors.Is(err, prefectapi.ErrNotFound):
			res.Skipped = append(res.Skipped, Skip{e, "already gone"})
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("prune %s: %w", e.Key(), err))
			continue
		case !d.HasTag(tag):
			res.Skipped = append(res.Skipped, Skip{e, "does not carry " + tag + ": not ours, not touched"})
			continue
		case tag != p.Marker && ownership.HasOwnerTag(d.Tags):
			res.Skipped = append(res.Skipped, Skip{e, "another owner adopted it since the plan: not touched"})
			continue
		case d.Name != e.Name || d.FlowID != e.FlowID:
			res.Skipped = append(res.Skipped, Skip{e, "changed since the plan: not touched"})
			continue
		}
		if err := api.DeleteDeployment(ctx, e.ID); err != nil && !errors.Is(err, prefectapi.ErrNotFound) {
			errs = append(errs, fmt.Errorf("prune %s: %w", e.Key(), err))
			continue
		}
		res.Deleted = append(res.Deleted, e)
	}
	return res, errors.Join(errs...)
}

// legacyNote marks a delete that carries only the legacy tag.
func legacyNote(e liveplan.Entry) string {
	if ownership.IsLegacy(e.Tag) {
		return "; legacy tag " + e.Tag
	}
	return ""
}

// WriteList writes the deployments a prune would delete, for the confirmation.
func WriteList(w io.Writer, list []liveplan.Entry) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Prune will delete %d deployment(s) (and their scheduled runs):\n", len(list))
	for _, e := range list {
		fmt.Fprintf(&b, "  - %s  (id %s%s)\n", e.Key(), e.ID, legacyNote(e))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteResult writes what Run did, one line per deployment.
func WriteResult(w io.Writer, r *Result) error {
	var b strings.Builder
	for _, e := range r.Deleted {
		fmt.Fprintf(&b, "  - deleted  %s\n", e.Key())
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "  ! skipped  %s: %s\n", s.Entry.Key(), s.Reason)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
