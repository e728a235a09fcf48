package fakeprefect_test

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/internal/fakeprefect"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefectapitest"
)

// TestRecordedCasesAgainstAPI replays every recorded argv with the pool and block checks
// done through a fake API instead of FAKE_PREFECT_POOLS/BLOCKS: the answers must still be
// the recorded ones, and the deployments the valid builds wrote must read back as the
// real server stored them (api-filter-sample.json), field for field.
func TestRecordedCasesAgainstAPI(t *testing.T) {
	api := prefectapitest.New(t, prefectapitest.Empty())
	replayRecorded(t, "FAKE_PREFECT_API_URL="+api.URL)

	shared, err := prefectapitest.SharedDir()
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(shared, "prefect", "recorded", "api-filter-sample.json"))
	require.NoError(t, err)
	var recorded []map[string]any
	require.NoError(t, json.Unmarshal(data, &recorded))
	src, err := os.ReadFile("testdata/repo/flows/hello.py")
	require.NoError(t, err)
	sum := md5.Sum(src)

	require.Equal(t, len(recorded), api.Count(), "one deployment per valid recorded build")
	for _, want := range recorded {
		name := want["name"].(string)
		id := api.DeploymentID("hello", name)
		require.NotEmpty(t, id, name)
		got, _ := api.Deployment(id)
		for _, field := range []string{"schedule", "is_schedule_active", "tags", "parameters", "work_pool_name", "work_queue_name",
			"description", "infra_overrides", "infrastructure_document_id", "entrypoint"} {
			assert.Equal(t, want[field], got[field], "%s.%s", name, field)
		}
		if want["version"] == "1.2.3" {
			assert.Equal(t, "1.2.3", got["version"])
		} else {
			assert.Equal(t, hex.EncodeToString(sum[:]), got["version"], "%s: without -v the version is the md5 of the flow file", name)
		}
	}
}

// TestBuildKeepsWhatIsLeftOut: as seen on a real server, a second build without
// --cron, -t, -p, -q or --params keeps the old values; --no-schedule -t only clears the
// schedule and replaces the tags. The printed id is the server's.
func TestBuildKeepsWhatIsLeftOut(t *testing.T) {
	api := prefectapitest.New(t, prefectapitest.Empty())
	dir := copyRepo(t)
	env := fakeEnv(t, "FAKE_PREFECT_API_URL="+api.URL)
	base := []string{"deployment", "build", "flows/hello.py:hello", "-n", "keep", "-a", "--skip-upload", "-ib", "process/dev", "-o", "keep.yaml"}
	code, stdout, stderr := runFake(t, dir, env, append(base, "--params", `{"number": 7}`, "--cron", "0 0 * * *",
		"--timezone", "America/Chicago", "-t", "dev", "-t", "x", "-v", "1.2.3", "-p", "pool", "-q", "dev")...)
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	id := api.DeploymentID("hello", "keep")
	assert.Contains(t, stdout, "Deployment 'hello/keep' successfully created with id '"+id+"'.")
	assert.NotEqual(t, fakeprefect.DeploymentID("hello", "keep"), id)
	first, _ := api.Deployment(id)

	code, stdout, stderr = runFake(t, dir, env, base...)
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	again, _ := api.Deployment(id)
	for _, f := range []string{"schedule", "tags", "parameters", "work_pool_name", "work_queue_name"} {
		assert.Equal(t, first[f], again[f], f)
	}
	assert.NotEqual(t, "1.2.3", again["version"], "without -v the version falls back to the file hash")

	code, stdout, stderr = runFake(t, dir, env, append(base, "--no-schedule", "-t", "only")...)
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	last, _ := api.Deployment(id)
	assert.Nil(t, last["schedule"])
	assert.Equal(t, []any{"only"}, last["tags"])
	assert.Equal(t, 1, api.Count())
}

func TestAPIFailures(t *testing.T) {
	api := prefectapitest.New(t, prefectapitest.Empty(), prefectapitest.WithAPIKey("pnu_right"))
	dir := copyRepo(t)
	args := []string{"deployment", "build", "flows/hello.py:hello", "-n", "d", "-a", "--skip-upload", "-ib", "process/dev"}

	code, stdout, stderr := runFake(t, dir, fakeEnv(t, "FAKE_PREFECT_API_URL="+api.URL, "PREFECT_API_KEY=pnu_wrong"), args...)
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout, "An exception occurred.")
	assert.Contains(t, stderr, "401 Unauthorized")
	assert.NotContains(t, stdout+stderr, "pnu_wrong")

	code, stdout, stderr = runFake(t, dir, fakeEnv(t, "FAKE_PREFECT_API_URL="+api.URL, "PREFECT_API_KEY=pnu_right"), args...)
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	assert.Equal(t, 1, api.Count())
	for _, r := range api.Requests() {
		assert.True(t, r.Auth, r.Path)
	}

	api.FailNext(1, 500)
	code, _, stderr = runFake(t, dir, fakeEnv(t, "FAKE_PREFECT_API_URL="+api.URL, "PREFECT_API_KEY=pnu_right"), args...)
	assert.Equal(t, 1, code)
	assert.True(t, strings.Contains(stderr, "500 Internal Server Error"), stderr)
}
