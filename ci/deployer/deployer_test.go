package deployer_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deployer"
	"github.com/acme-data/prefect-flows/ci/desired"
	"github.com/acme-data/prefect-flows/ci/inspect"
	"github.com/acme-data/prefect-flows/ci/internal/shareddata"
	"github.com/acme-data/prefect-flows/ci/liveplan"
	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefectapitest"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/spec"
)

const marker = "managed-by:prefect-flows:dev"

func trafficDir(t *testing.T) string { return trafficDirB(t) }

func trafficDirB(t testing.TB) string {
	t.Helper()
	shared, err := shareddata.Dir()
	require.NoError(t, err)
	return filepath.Join(shared, "prefect", "recorded", "deploy-traffic")
}

func inspected(t *testing.T) *inspect.Result { return inspectedB(t) }

func inspectedB(t testing.TB) *inspect.Result {
	t.Helper()
	r, err := inspect.ReadFile("testdata/inspected.json")
	require.NoError(t, err)
	return r
}

// load reads a deployments file whose entrypoints are the recorded flows.
func load(t *testing.T, file string) *spec.File { return loadB(t, file, trafficDir(t)) }

func loadB(t testing.TB, file, root string) *spec.File {
	t.Helper()
	f, err := spec.Load(file, spec.LoadOptions{RepoRoot: root})
	require.NoError(t, err)
	return f
}

type recordedCase struct {
	Argv []string `json:"argv"`
	Body string   `json:"post_deployments_raw_body"`
}

// The body the API runner sends for a new deployment is, byte for byte, the body the
// real `prefect deployment build -a` 2.14.21 sent for the same options (recorded cases).
func TestBodyIsTheRecordedCLIBody(t *testing.T) {
	files, err := filepath.Glob("testdata/recorded/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	flows := inspected(t)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(trafficDir(t), "cases", name+".json"))
			require.NoError(t, err)
			var rec recordedCase
			require.NoError(t, json.Unmarshal(raw, &rec))
			if strings.HasPrefix(name, "b") {
				// The file format refuses a schedule for a flow whose required parameter
				// has no value (every run would fail); the recording had none.
				rec.Body = strings.Replace(rec.Body, `"parameters": {}`, `"parameters": {"title": "Weekly"}`, 1)
			}
			var sent map[string]any
			require.NoError(t, json.Unmarshal([]byte(rec.Body), &sent))

			f := load(t, file)
			require.Len(t, f.Deployments, 1)
			deps, err := desired.ResolveAll(f, flows, marker)
			require.NoError(t, err)
			dep := deps[0]
			// The recordings were made without the ownership marker.
			require.Equal(t, marker, dep.Tags[len(dep.Tags)-1])
			dep.Tags = dep.Tags[:len(dep.Tags)-1]

			blk := deployer.Block{ID: sent["infrastructure_document_id"].(string), HasImage: strings.HasPrefix(name, "e-")}
			now := time.Now()
			if s, ok := sent["schedule"].(map[string]any); ok && s["interval"] != nil && !contains(rec.Argv, "--anchor-date") {
				// Without --anchor-date the CLI anchors at the time of the build.
				now, err = time.Parse(time.RFC3339Nano, s["anchor_date"].(string))
				require.NoError(t, err)
			}
			body, err := deployer.Body(dep, sent["flow_id"].(string), blk, "/opt/prefect", now, nil)
			require.NoError(t, err)
			if overridesReordered(rec.Argv) {
				// The file's infra_overrides are sorted by key; the recorded argv was not.
				var got map[string]any
				require.NoError(t, json.Unmarshal(body, &got))
				assert.Equal(t, sent, got)
				return
			}
			assert.Equal(t, rec.Body, string(body))
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func overridesReordered(argv []string) bool {
	var keys []string
	for i, a := range argv {
		if a == "--override" && i+1 < len(argv) {
			keys = append(keys, strings.SplitN(argv[i+1], "=", 2)[0])
		}
	}
	return !sort.StringsAreSorted(keys)
}

type world struct {
	fake *prefectapitest.Server
	api  *prefectapi.Client
	dep  *deployer.Deployer
}

func newWorld(t *testing.T) *world {
	t.Helper()
	fake := prefectapitest.New(t, prefectapitest.Empty())
	fake.AddPool("pool")
	fake.AddBlock("process/dev")
	fake.AddBlock("ecs-task/dev")
	api, err := prefectapi.New(fake.URL, "", prefectapi.WithRetry(prefectapi.RetryPolicy{MaxAttempts: 3}), prefectapi.WithSleeper(func(context.Context, time.Duration) error { return nil }))
	require.NoError(t, err)
	return &world{fake: fake, api: api, dep: deployer.New(api, "/opt/prefect")}
}

func (w *world) apply(t *testing.T, f *spec.File, concurrency int) ([]desired.Deployment, []prefectcli.Result) {
	t.Helper()
	deps, err := desired.ResolveAll(f, inspected(t), marker)
	require.NoError(t, err)
	require.NoError(t, w.dep.Prepare(context.Background(), deps))
	res := prefectcli.Apply(context.Background(), deployer.Jobs(deps), w.dep.Runner(deps), prefectcli.ApplyOptions{Concurrency: concurrency}, nil)
	return deps, res
}

// Every recorded case at once against the fake API: one lookup per block, one POST
// /flows/ per flow, one POST /deployments/ per deployment, each body the one Body
// gives; the read-back then finds nothing to patch and no drift.
func TestApplyAgainstFake(t *testing.T) {
	w := newWorld(t)
	f := load(t, "testdata/all-cases.yaml")
	deps, res := w.apply(t, f, 8)
	for _, r := range res {
		require.Equal(t, prefectcli.StatusSucceeded, r.Status, "%s: %v", r.Name, r.Err)
		assert.NotEmpty(t, r.DeploymentID)
		assert.Contains(t, r.Stdout, "successfully created with id '"+r.DeploymentID+"'")
	}
	count := map[string]int{}
	for _, r := range w.fake.Requests() {
		count[r.Method+" "+strings.SplitN(r.Path, "/block_documents", 2)[0]]++
	}
	// One listing reads the pause switches of the existing deployments (none yet).
	assert.Equal(t, map[string]int{
		"GET /block_types/slug/process": 1, "GET /block_types/slug/ecs-task": 1,
		"POST /deployments/filter": 1, "POST /flows/": 3, "POST /deployments/": len(deps),
	}, count)

	rb, err := liveplan.ReadBack(context.Background(), f, w.api, res, liveplan.Options{ManagedTag: marker})
	require.NoError(t, err)
	assert.Empty(t, rb.Patched, "the api runner leaves nothing for the read-back to patch")
	assert.Empty(t, rb.Drift)
	assert.Equal(t, len(deps), rb.Checked)

	ecs := w.fake.DeploymentID("load-model", "ecs")
	got, ok := w.fake.Deployment(ecs)
	require.True(t, ok)
	assert.Equal(t, deployer.ImagePath, got["path"], "ecs-task has an image: the flows are in it")
	assert.Equal(t, map[string]any{"cpu": "1024", "env.A": "1"}, got["infra_overrides"])
}

// An update that removes the schedule, a tag and a parameter converges in one write,
// where the CLI keeps what its options leave out and needs the read-back's PATCH.
func TestUpdateRemovesWhatTheFileDropped(t *testing.T) {
	w := newWorld(t)
	_, res := w.apply(t, load(t, "testdata/update-before.yaml"), 2)
	require.True(t, prefectcli.AllSucceeded(res))
	id := w.fake.DeploymentID("daily-etl", "nightly")
	// Paused by hand: the file says nothing about pausing, so it stays paused.
	w.fake.Update(id, map[string]any{"is_schedule_active": false})

	after := load(t, "testdata/update-after.yaml")
	_, res = w.apply(t, after, 2)
	require.True(t, prefectcli.AllSucceeded(res))
	assert.Contains(t, res[0].Stdout, "successfully updated with id '"+id+"'")
	got, _ := w.fake.Deployment(id)
	assert.Nil(t, got["schedule"])
	assert.Equal(t, []any{"etl", marker}, got["tags"])
	assert.Equal(t, map[string]any{"dry_run": true}, got["parameters"])
	assert.Equal(t, "default-agent-pool", got["work_pool_name"])
	assert.Equal(t, "default", got["work_queue_name"])
	assert.Equal(t, false, got["is_schedule_active"], "paused by hand, not declared in the file: stays paused")
	assert.Equal(t, "648725144e95f5e41dd3c59e048d6d65", got["version"], "no version in the file: the flow file's md5")

	rb, err := liveplan.ReadBack(context.Background(), after, w.api, res, liveplan.Options{ManagedTag: marker})
	require.NoError(t, err)
	assert.Empty(t, rb.Patched)
	assert.Empty(t, rb.Drift)

	// Declared in the file, the switch is the file's.
	_, res = w.apply(t, load(t, "testdata/update-active.yaml"), 1)
	require.True(t, prefectcli.AllSucceeded(res))
	got, _ = w.fake.Deployment(id)
	assert.Equal(t, true, got["is_schedule_active"])
}

// What cannot be written is known before anything is: every missing block at once.
func TestPrepareListsMissingBlocks(t *testing.T) {
	w := newWorld(t)
	deps, err := desired.ResolveAll(load(t, "testdata/missing-blocks.yaml"), inspected(t), marker)
	require.NoError(t, err)
	err = w.dep.Prepare(context.Background(), deps)
	require.Error(t, err)
	assert.Equal(t, "nothing was deployed: infrastructure block ecs-task/nope does not exist (used by a, b): save it first (infrastructure/ecs-task-<env>.py, or `prefect block register` + the block's save()); infrastructure block process/gone does not exist (used by c): save it first (infrastructure/ecs-task-<env>.py, or `prefect block register` + the block's save())", err.Error())
	for _, r := range w.fake.Requests() {
		assert.Equal(t, "GET", r.Method, "nothing written")
	}
}

// One deployment the server refuses does not hide the others; its line says why.
func TestServerRefusalIsPerDeployment(t *testing.T) {
	w := newWorld(t)
	_, res := w.apply(t, load(t, "testdata/unknown-pool.yaml"), 4)
	byName := map[string]prefectcli.Result{}
	for _, r := range res {
		byName[r.Name] = r
	}
	assert.Equal(t, prefectcli.StatusSucceeded, byName["fine"].Status)
	bad := byName["no-such-pool"]
	require.Equal(t, prefectcli.StatusFailed, bad.Status)
	assert.Equal(t, `daily-etl/no-such-pool: POST /deployments/ on `+w.api.Host()+`: 404 Not Found: Work pool "nope" not found.`, bad.Err.Error())
}

// 429 and 5xx are retried by the client; the deployment still succeeds.
func TestRetriesTransientFailures(t *testing.T) {
	w := newWorld(t)
	f := load(t, "testdata/recorded/a-cron.yaml")
	deps, err := desired.ResolveAll(f, inspected(t), marker)
	require.NoError(t, err)
	require.NoError(t, w.dep.Prepare(context.Background(), deps))
	w.fake.Inject(prefectapitest.Fault{Status: 503}, prefectapitest.Fault{Status: 429, RetryAfter: "0"})
	out, err := w.dep.Deploy(context.Background(), deps[0])
	require.NoError(t, err)
	assert.True(t, out.Created)
}
