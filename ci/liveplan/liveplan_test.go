package liveplan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/liveplan"
	"github.com/acme-data/prefect-flows/ci/liveplan/liveplantest"
	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefectapitest"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/spec"
)

var update = flag.Bool("update", false, "rewrite the golden want*.txt files")

const (
	owner  = liveplantest.Owner
	marker = liveplantest.Marker
	legacy = liveplantest.Legacy
)

var opts = liveplan.Options{Owner: owner}

func load(t testing.TB, dir string) *spec.File { return liveplantest.Load(t, dir) }

func seed(t testing.TB, dir string, opts ...prefectapitest.Option) (*prefectapitest.Server, *prefectapi.Client) {
	return liveplantest.Seed(t, dir, opts...)
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

var shapes = map[string]prefectapitest.Shape{
	"2.14": prefectapitest.Shape214, "2.16": prefectapitest.Shape216, "schedules-only": prefectapitest.ShapeSchedulesOnly,
}

// TestPlanGolden renders each case's plan; every server shape must give the same plan.
func TestPlanGolden(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/plan/*")
	if len(dirs) == 0 {
		t.Fatal("no cases")
	}
	for _, dir := range dirs {
		for shapeName, shape := range shapes {
			t.Run(filepath.Base(dir)+"/"+shapeName, func(t *testing.T) {
				f := load(t, dir)
				_, c := seed(t, dir, prefectapitest.WithShape(shape))
				p, err := liveplan.Build(context.Background(), f, c, opts)
				if err != nil {
					t.Fatal(err)
				}
				p.Host = "prefect.example:4200" // the fake's port changes every run
				var buf bytes.Buffer
				if err := liveplan.Render(&buf, p); err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join(dir, "want.txt"), buf.Bytes())
				buf.Reset()
				if err := liveplan.RenderMarkdown(&buf, p); err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join(dir, "want.md"), buf.Bytes())
			})
		}
	}
}

// TestPlanClassification checks the actions directly, not through the text.
func TestPlanClassification(t *testing.T) {
	cases := []struct {
		dir  string
		want map[string]liveplan.Action
	}{
		{"testdata/plan/realistic", map[string]liveplan.Action{
			"daily-sales-etl/sales-eu":            liveplan.Unchanged,
			"daily-sales-etl/sales-americas":      liveplan.Update,
			"weekly-report/weekly-report-finance": liveplan.Unchanged,
			"cleanup-flow-runs/cleanup-runs":      liveplan.Create,
			"hello/hello-smoke":                   liveplan.Delete,
		}},
		// factory-new: a hand-made hello/factory-new (no marker) does not name its flow.
		{"testdata/plan/loader-flows", map[string]liveplan.Action{
			"made-flow/factory-existing": liveplan.Unchanged,
			"?/factory-new":              liveplan.Create,
			"hello/reexported":           liveplan.Create,
		}},
		{"testdata/plan/adopt-defaults", map[string]liveplan.Action{
			"hello/RecCron":          liveplan.Update,
			"hello/defaults-only":    liveplan.Unchanged,
			"hello/cron-no-timezone": liveplan.Unchanged,
			// Paused by hand: the file does not declare is_schedule_active.
			"hello/paused":          liveplan.Unchanged,
			"hello/no-schedule-now": liveplan.Update,
		}},
		{"testdata/plan/owners", map[string]liveplan.Action{
			"hello/legacy-listed": liveplan.Update,
			"hello/theirs-listed": liveplan.Update,
			"hello/ours-listed":   liveplan.Unchanged,
			"hello/ours-gone":     liveplan.Delete,
			"hello/legacy-gone":   liveplan.Keep,
		}},
	}
	for _, tc := range cases {
		t.Run(filepath.Base(tc.dir), func(t *testing.T) {
			_, c := seed(t, tc.dir)
			p, err := liveplan.Build(context.Background(), load(t, tc.dir), c, opts)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]liveplan.Action{}
			for _, e := range p.Entries {
				got[e.Key()] = e.Action
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v\nwant %v", got, tc.want)
			}
			if p.Marker != marker {
				t.Errorf("marker %q", p.Marker)
			}
		})
	}
}

func TestPlanPagesPastTheCap(t *testing.T) {
	dir := "testdata/plan/realistic"
	fake, c := seed(t, dir)
	for i := 0; i < 450; i++ {
		fake.AddDeployment(prefectapitest.Seed{Flow: "hello", Name: fmt.Sprintf("old-%03d", i), Tags: []string{marker}})
	}
	p, err := liveplan.Build(context.Background(), load(t, dir), c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if n := p.Count(liveplan.Delete); n != 451 {
		t.Errorf("%d deletes, want 451 (450 old ones and hello-smoke)", n)
	}
}

func TestReadBack(t *testing.T) {
	dir := "testdata/readback"
	for shapeName, shape := range shapes {
		t.Run(shapeName, func(t *testing.T) {
			fake, c := seed(t, dir, prefectapitest.WithShape(shape))
			f := load(t, dir)
			results := []prefectcli.Result{}
			for _, d := range f.Deployments {
				st := prefectcli.StatusSucceeded
				if d.Name == "failed-deploy" {
					st = prefectcli.StatusFailed
				}
				results = append(results, prefectcli.Result{Name: d.Name, Status: st})
			}
			res, err := liveplan.ReadBack(context.Background(), f, c, results, opts)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := liveplan.WriteReadBack(&buf, res); err != nil {
				t.Fatal(err)
			}
			if res.Err() != nil {
				fmt.Fprintf(&buf, "error: %v\n", res.Err())
			}
			golden(t, filepath.Join(dir, "want.txt"), buf.Bytes())

			// The patched deployment now matches the file.
			d, _ := fake.Deployment(fake.DeploymentID("hello", "removed-tag-and-params"))
			if fmt.Sprint(d["tags"], d["parameters"]) != "[keep "+marker+"] map[]" {
				t.Errorf("after patch: tags %v parameters %v", d["tags"], d["parameters"])
			}
			// Only fields of Prefect's DeploymentUpdate are sent, and only to deployments that differ.
			allowed := map[string]bool{"tags": true, "parameters": true, "work_pool_name": true, "work_queue_name": true, "is_schedule_active": true}
			for _, r := range fake.Requests() {
				if r.Method != "PATCH" {
					continue
				}
				var body map[string]any
				_ = json.Unmarshal(r.Body, &body)
				for k := range body {
					if !allowed[k] {
						t.Errorf("PATCH %s sent %q", r.Path, k)
					}
				}
			}
			// The failed deployment was not read back.
			for _, r := range fake.Requests() {
				if strings.Contains(r.Path, "failed-deploy") {
					t.Errorf("read back a failed deployment: %s", r.Path)
				}
			}
		})
	}
}

// filterBlind is a server that ignores the deployment filter and lists everything.
type filterBlind struct{ *prefectapi.Client }

func (f filterBlind) ListDeployments(ctx context.Context, _ prefectapi.DeploymentFilter) ([]prefectapi.Deployment, error) {
	return f.Client.ListDeployments(ctx, prefectapi.DeploymentFilter{})
}

func TestPlanNeverDeletesUnmarked(t *testing.T) {
	dir := "testdata/plan/realistic"
	_, c := seed(t, dir)
	p, err := liveplan.Build(context.Background(), load(t, dir), filterBlind{c}, opts)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range p.Deletes() {
		keys = append(keys, e.Key())
	}
	if fmt.Sprint(keys) != "[hello/hello-smoke]" {
		t.Errorf("deletes %v: only the dev-marked hello-smoke may be deleted", keys)
	}
}

func TestPlanStopsOnAPIError(t *testing.T) {
	dir := "testdata/plan/realistic"
	fake, c := seed(t, dir)
	fake.ForceStatus(403)
	_, err := liveplan.Build(context.Background(), load(t, dir), c, opts)
	if err == nil || !strings.Contains(err.Error(), "not allowed (403)") {
		t.Fatalf("got %v", err)
	}
}

// TestSchedulesList216 covers what only the 2.16+ `schedules` list can hold.
func TestSchedulesList216(t *testing.T) {
	cron := map[string]any{"cron": "0 12 * * *", "timezone": "UTC", "day_or": true}
	cases := []struct {
		name     string
		list     []prefectapitest.ScheduleEntry
		want     string // the rendered change lines
		readBack string // drift left after ReadBack
	}{
		{"two schedules", []prefectapitest.ScheduleEntry{{Schedule: cron, Active: true}, {Schedule: map[string]any{"interval": 60.0, "timezone": "UTC"}, Active: true}},
			`schedule:  2 schedules → cron "0 12 * * *"`, "schedule"},
		// A schedule switched off on the server is state the file does not declare:
		// apply leaves it off, the plan says so, and it is no drift.
		{"one schedule switched off", []prefectapitest.ScheduleEntry{{Schedule: cron, Active: false}},
			"note: schedule switched off on the server: apply leaves it off", ""},
		{"as in the file", []prefectapitest.ScheduleEntry{{Schedule: cron, Active: true}}, "", ""},
	}
	dir := "testdata/plan/adopt-defaults"
	for _, shape := range []prefectapitest.Shape{prefectapitest.Shape216, prefectapitest.ShapeSchedulesOnly} {
		for _, tc := range cases {
			t.Run(fmt.Sprint(shape, "/", tc.name), func(t *testing.T) {
				fake, c := seed(t, dir, prefectapitest.WithShape(shape))
				id := fake.DeploymentID("hello", "paused")
				fake.Update(id, map[string]any{"is_schedule_active": true})
				fake.SetSchedules(id, tc.list)
				f := load(t, dir)
				p, err := liveplan.Build(context.Background(), f, c, opts)
				if err != nil {
					t.Fatal(err)
				}
				var entry liveplan.Entry
				for _, e := range p.Entries {
					if e.Key() == "hello/paused" {
						entry = e
					}
				}
				var buf bytes.Buffer
				_ = liveplan.Render(&buf, &liveplan.Plan{Marker: marker, Entries: []liveplan.Entry{entry}})
				if (tc.want == "" || strings.HasPrefix(tc.want, "note:")) && entry.Action != liveplan.Unchanged {
					t.Errorf("want unchanged, got:\n%s", buf.String())
				}
				if tc.want != "" && !strings.Contains(buf.String(), tc.want) {
					t.Errorf("want %q in:\n%s", tc.want, buf.String())
				}
				only := &spec.File{Path: f.Path, Deployments: []spec.Deployment{*entry.Spec}}
				rb, err := liveplan.ReadBack(context.Background(), only, c, nil, opts)
				if err != nil {
					t.Fatal(err)
				}
				var drift []string
				for _, d := range rb.Drift {
					for _, ch := range d.Changes {
						drift = append(drift, ch.Field)
					}
				}
				if strings.Join(drift, ",") != tc.readBack {
					t.Errorf("drift %v, want %q", drift, tc.readBack)
				}
			})
		}
	}
}

// TestDeclaredScheduleActive: a file that declares is_schedule_active gets it: the plan
// shows the difference, and the read-back patches it (resuming a paused schedule, or
// pausing an active one). Without the key the paused one stays paused (adopt-defaults).
func TestDeclaredScheduleActive(t *testing.T) {
	dir := "testdata/plan/adopt-defaults"
	for _, want := range []bool{true, false} {
		t.Run(fmt.Sprint(want), func(t *testing.T) {
			fake, c := seed(t, dir)
			f := load(t, dir)
			var only *spec.File
			for _, d := range f.Deployments {
				if d.Name == "paused" {
					d.ScheduleActive = &want
					only = &spec.File{Path: f.Path, Deployments: []spec.Deployment{d}}
				}
			}
			require := func(ok bool, format string, args ...any) {
				t.Helper()
				if !ok {
					t.Fatalf(format, args...)
				}
			}
			require(only != nil, "no deployment paused in %s", dir)
			id := fake.DeploymentID("hello", "paused")
			fake.Update(id, map[string]any{"is_schedule_active": !want})
			p, err := liveplan.Build(context.Background(), only, c, opts)
			require(err == nil, "%v", err)
			e := p.Entries[0]
			require(e.Action == liveplan.Update && len(e.Changes) == 1 && e.Changes[0].Field == liveplan.FieldScheduleActive, "entry %+v", e)
			require(len(e.Notes) == 0, "notes %v for a declared state", e.Notes)
			rb, err := liveplan.ReadBack(context.Background(), only, c, nil, opts)
			require(err == nil, "%v", err)
			require(len(rb.Patched) == 1 && len(rb.Drift) == 0, "read-back %+v", rb)
			d, err := c.ReadDeployment(context.Background(), id)
			require(err == nil, "%v", err)
			require(d.ScheduleActive == want, "is_schedule_active %v after the read-back, want %v", d.ScheduleActive, want)
		})
	}
}

// Deployments whose flow validation left to Prefect's loader are found on the server by
// name and marker; one the server does not have is missing after an apply, and a name
// the server holds under two managed flows is an error, not a guess.
func TestLoaderFlowsReadBack(t *testing.T) {
	dir := "testdata/plan/loader-flows"
	fake, c := seed(t, dir)
	f := load(t, dir)
	if f.Deployments[0].FlowName != "" || f.Deployments[2].FlowName != "hello" {
		t.Fatalf("flow names from validation: %q, %q", f.Deployments[0].FlowName, f.Deployments[2].FlowName)
	}
	rb, err := liveplan.ReadBack(context.Background(), f, c, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, d := range rb.Drift {
		if d.Missing {
			missing = append(missing, d.Key)
		} else {
			t.Errorf("drift on %s: %+v", d.Key, d.Changes)
		}
	}
	if fmt.Sprint(missing) != "[?/factory-new hello/reexported]" || rb.Checked != 3 {
		t.Errorf("checked %d, missing %v", rb.Checked, missing)
	}

	var s prefectapitest.Seed
	if err := json.Unmarshal([]byte(`{"flow": "old-made-flow", "name": "factory-existing", "tags": ["`+marker+`"], "infra_block": "process/dev"}`), &s); err != nil {
		t.Fatal(err)
	}
	fake.AddDeployment(s)
	_, err = liveplan.Build(context.Background(), f, c, opts)
	if err == nil || !strings.Contains(err.Error(), `deployment "factory-existing" (flows/factory.py:made): its flow name is not known statically, and the server has it under 2 flows (made-flow, old-made-flow)`) {
		t.Errorf("err = %v", err)
	}
}

// A deployment that carries only the legacy ownership tag names the flow too: the plan
// adopts it under that flow instead of planning a second deployment.
func TestLoaderFlowsLegacyTag(t *testing.T) {
	dir := "testdata/plan/loader-flows"
	fake, c := seed(t, dir)
	var s prefectapitest.Seed
	if err := json.Unmarshal([]byte(`{"flow": "made-flow", "name": "factory-new", "tags": ["`+legacy+`"], "infra_block": "process/dev"}`), &s); err != nil {
		t.Fatal(err)
	}
	fake.AddDeployment(s)
	p, err := liveplan.Build(context.Background(), load(t, dir), c, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range p.Entries {
		if e.Name == "factory-new" && e.Key() != "made-flow/factory-new" {
			t.Errorf("factory-new planned as %s %s", e.Action, e.Key())
		}
	}
}
