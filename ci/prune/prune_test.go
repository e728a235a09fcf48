package prune_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/liveplan"
	"github.com/acme-data/prefect-flows/ci/liveplan/liveplantest"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefectapitest"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/prune"
	"github.com/acme-data/prefect-flows/ci/spec"
)

const marker = liveplantest.Marker

var opts = liveplan.Options{Owner: liveplantest.Owner}

func TestPrune(t *testing.T) {
	dir := liveplantest.Dir("plan/realistic")
	fake, c := liveplantest.Seed(t, dir)
	ctx := context.Background()
	p, err := liveplan.Build(ctx, liveplantest.Load(t, dir), c, opts)
	if err != nil {
		t.Fatal(err)
	}
	unmarked := fake.DeploymentID("hello", "RecCron")
	lostMarker := fake.AddDeployment(prefectapitest.Seed{Flow: "hello", Name: "lost-marker", Tags: []string{marker}})
	// A plan that (wrongly) lists an unmarked deployment and one that lost its marker
	// after the plan: Prune must read both again and leave them alone.
	p.Entries = append(p.Entries,
		liveplan.Entry{Action: liveplan.Delete, Flow: "hello", Name: "RecCron", ID: unmarked, FlowID: prefectapitest.HelloFlowID},
		liveplan.Entry{Action: liveplan.Delete, Flow: "hello", Name: "lost-marker", ID: lostMarker, FlowID: prefectapitest.HelloFlowID})
	fake.Update(lostMarker, map[string]any{"tags": []string{"dev"}})

	if _, err := prune.Run(ctx, p, c, func([]liveplan.Entry) bool { return false }); !errors.Is(err, prune.ErrDeclined) {
		t.Fatalf("declined prune: %v", err)
	}
	if _, err := prune.Run(ctx, p, c, nil); !errors.Is(err, prune.ErrDeclined) {
		t.Fatalf("prune without confirmation: %v", err)
	}
	before := fake.Count()
	var shown []string
	res, err := prune.Run(ctx, p, c, func(list []liveplan.Entry) bool {
		for _, e := range list {
			shown = append(shown, e.Key())
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(shown) != "[hello/hello-smoke hello/RecCron hello/lost-marker]" {
		t.Errorf("confirmation saw %v", shown)
	}
	if len(res.Deleted) != 1 || res.Deleted[0].Key() != "hello/hello-smoke" || len(res.Skipped) != 2 {
		t.Fatalf("deleted %v, skipped %v", res.Deleted, res.Skipped)
	}
	if fake.Count() != before-1 {
		t.Errorf("%d deployments deleted, want 1", before-fake.Count())
	}
	for _, id := range []string{unmarked, lostMarker} {
		if _, ok := fake.Deployment(id); !ok {
			t.Errorf("unmarked deployment %s was deleted", id)
		}
	}
	for _, r := range fake.Requests() {
		if r.Method == "DELETE" && !strings.HasSuffix(r.Path, res.Deleted[0].ID) {
			t.Errorf("unexpected %s %s", r.Method, r.Path)
		}
	}
	var buf bytes.Buffer
	_ = prune.WriteResult(&buf, res)
	if !strings.Contains(buf.String(), "skipped  hello/RecCron: does not carry "+marker) {
		t.Errorf("prune report:\n%s", buf.String())
	}
}

func TestCanPrune(t *testing.T) {
	ok := prefectcli.Result{Name: "a", Status: prefectcli.StatusSucceeded}
	cases := []struct {
		name    string
		results []prefectcli.Result
		loadErr error
		want    string
	}{
		{"all succeeded", []prefectcli.Result{ok, {Name: "b", Status: prefectcli.StatusSucceeded}}, nil, ""},
		{"file did not load", nil, &spec.ValidationError{File: "prefect-deployments-dev.yaml"}, "the deployments file did not load"},
		{"nothing applied", nil, nil, "no deployment was applied"},
		{"one failed", []prefectcli.Result{ok, {Name: "b", Status: prefectcli.StatusFailed}}, nil, "1 of 2 deployments did not succeed: b (failed)"},
		{"interrupted", []prefectcli.Result{ok, {Name: "c", Status: prefectcli.StatusNotStarted}, {Name: "d", Status: prefectcli.StatusTimedOut}}, nil, "2 of 3 deployments did not succeed: c (not started), d (timed out)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := prune.Check(tc.results, tc.loadErr)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCanPruneFile(t *testing.T) {
	f := &spec.File{Path: "prefect-deployments-dev.yaml", Deployments: []spec.Deployment{{Name: "a"}, {Name: "b"}}}
	ok := func(n string) prefectcli.Result {
		return prefectcli.Result{Name: n, Status: prefectcli.StatusSucceeded}
	}
	if err := prune.CheckFile(f, []prefectcli.Result{ok("a"), ok("b")}, nil); err != nil {
		t.Fatal(err)
	}
	err := prune.CheckFile(f, []prefectcli.Result{ok("a")}, nil)
	if err == nil || !strings.Contains(err.Error(), "were not applied in this run: b") {
		t.Fatalf("apply of part of the file: %v", err)
	}
	if err := prune.CheckFile(nil, []prefectcli.Result{ok("a")}, nil); err == nil {
		t.Fatal("prune allowed without a file")
	}
	if err := prune.CheckFile(nil, nil, errors.New("bad yaml")); err == nil {
		t.Fatal("prune allowed after a load error")
	}
}

// TestPruneOwners: two owners share a server and an environment name. A prune deletes
// only this owner's deployments; legacy-tagged ones only with PruneLegacy, and never one
// that another owner adopted; another owner's deployment never.
func TestPruneOwners(t *testing.T) {
	dir := liveplantest.Dir("plan/owners")
	for _, pruneLegacy := range []bool{false, true} {
		t.Run(fmt.Sprint("PruneLegacy=", pruneLegacy), func(t *testing.T) {
			fake, c := liveplantest.Seed(t, dir)
			ctx := context.Background()
			o := opts
			o.PruneLegacy = pruneLegacy
			p, err := liveplan.Build(ctx, liveplantest.Load(t, dir), c, o)
			if err != nil {
				t.Fatal(err)
			}
			res, err := prune.Run(ctx, p, c, func([]liveplan.Entry) bool { return true })
			if err != nil {
				t.Fatal(err)
			}
			var deleted []string
			for _, e := range res.Deleted {
				deleted = append(deleted, e.Key())
			}
			want := "[hello/ours-gone]"
			if pruneLegacy {
				want = "[hello/legacy-gone hello/ours-gone]"
			}
			if fmt.Sprint(deleted) != want {
				t.Errorf("deleted %v, want %s", deleted, want)
			}
			for _, name := range []string{"theirs-gone", "theirs-listed", "theirs-adopted-from-legacy", "ours-prod", "legacy-prod"} {
				if fake.DeploymentID("hello", name) == "" {
					t.Errorf("hello/%s was deleted", name)
				}
			}
		})
	}
	// The fork's own plan: it sees its deployments, never ours.
	_, c := liveplantest.Seed(t, dir)
	p, err := liveplan.Build(context.Background(), liveplantest.Load(t, dir), c, liveplan.Options{Owner: "forker/prefect-flows"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]liveplan.Action{}
	for _, e := range p.Entries {
		got[e.Key()] = e.Action
	}
	want := map[string]liveplan.Action{
		"hello/ours-listed": liveplan.Update, "hello/legacy-listed": liveplan.Update, "hello/theirs-listed": liveplan.Unchanged,
		"hello/theirs-gone": liveplan.Delete, "hello/theirs-adopted-from-legacy": liveplan.Delete, "hello/legacy-gone": liveplan.Keep,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("fork's plan %v, want %v", got, want)
	}
}
