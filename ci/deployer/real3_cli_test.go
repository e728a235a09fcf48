package deployer_test

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deployer"
	"github.com/acme-data/prefect-flows/ci/desired"
	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefect3test"
)

// envReal3Prefect names the `prefect` executable (3.8.3) that deploys to the
// PREFECT3_E2E_API_URL server, for TestRealPrefect3MatchesPrefectDeploy.
const envReal3Prefect = "PREFECT3_E2E_PREFECT"

type vsCLI struct {
	Pairs []struct {
		CLI string    `json:"cli"`
		Dep *depCase3 `json:"dep"`
	} `json:"pairs"`
	Flows map[string]struct {
		File        string  `json:"file"`
		Entrypoint  string  `json:"entrypoint"`
		Description *string `json:"description"`
	} `json:"flows"`
}

// notCompared are the fields that differ between any two deployments: identity, times,
// the worker's status. Everything else must read back the same.
var notCompared = []string{"id", "created", "updated", "name", "last_polled", "created_by", "updated_by", "status", "global_concurrency_limit"}

// A deployment the Go writer makes reads back like the one `prefect deploy` 3.8.3 makes
// from the equivalent prefect.yaml, field by field. Then, after both are paused by hand
// and the schedules are removed from the file, the redeploys differ exactly where the
// writer closes Prefect's traps: the CLI un-pauses and keeps the old schedules, the
// writer keeps the pause and removes the schedules.
func TestRealPrefect3MatchesPrefectDeploy(t *testing.T) {
	if why := real3Skip(os.Getenv); why != "" {
		t.Skip(why)
	}
	prefectBin := os.Getenv(envReal3Prefect)
	if prefectBin == "" {
		t.Skip(envReal3Prefect + " is not set: this test needs the prefect 3.8.3 executable that deploys to " + envReal3 +
			" (e.g. a script running `bash ../shared/prefect3/real/run.sh ROOT prefect \"$@\"`)")
	}
	base := strings.TrimRight(os.Getenv(envReal3), "/")
	client, err := prefectapi.New(base, os.Getenv("PREFECT3_E2E_API_KEY"))
	require.NoError(t, err)
	ensureRecordedPools(t, base)

	var rb [4]byte
	_, err = rand.Read(rb[:])
	require.NoError(t, err)
	run := hex.EncodeToString(rb[:])
	src := "testdata/prefect3/vs-cli"
	raw, err := os.ReadFile(filepath.Join(src, "deployments.json"))
	require.NoError(t, err)
	var cfg vsCLI
	require.NoError(t, json.Unmarshal(raw, &cfg))

	// The project, where the CLI can read it: a directory under the temporary directory.
	dir := t.TempDir()
	for _, f := range []string{"flows/etl.py", "flows/report.py", "prefect.yaml", "prefect.redeploy.yaml"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		require.NoError(t, err)
		b = []byte(strings.NewReplacer("DIR", dir, "RUN", run).Replace(string(b)))
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	ids := map[string]string{}
	t.Cleanup(func() {
		for name, id := range ids {
			if st, body, err := prefect3test.Call("DELETE", base+"/deployments/"+url.PathEscape(id), nil); err != nil || st != 204 {
				t.Errorf("clean up: DELETE deployment %s: %d %s %v", name, st, body, err)
			}
		}
	})
	cliDeploy := func(file string) {
		cmd := exec.Command(prefectBin, "--no-prompt", "deploy", "--all", "--prefect-file", file)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PREFECT_API_URL="+base)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "prefect deploy: %s", out)
	}
	goDeploy := func() {
		for _, p := range cfg.Pairs {
			fl := cfg.Flows[p.Dep.Flow]
			cliDep := readByName(t, base, p.Dep.Flow, p.CLI+"-"+run)
			file, err := os.ReadFile(filepath.Join(dir, fl.File))
			require.NoError(t, err)
			sum := md5.Sum(file)
			version := hex.EncodeToString(sum[:])
			schema, err := json.Marshal(cliDep["parameter_openapi_schema"])
			require.NoError(t, err)
			cs := cases3{Flows: map[string]flowCase3{p.Dep.Flow: {Entrypoint: fl.Entrypoint, Version: &version, Description: fl.Description, Schema: schema}}}
			short := *p.Dep
			short.Name = p.Dep.Name + "-" + run
			dep := cs.desiredOf(t, &short, "")
			w := deployer.New3(client, dir)
			w.Now = time.Now
			require.NoError(t, w.Prepare(context.Background(), []desired.Deployment{dep}))
			out, err := w.Deploy(context.Background(), dep)
			require.NoError(t, err)
			ids[short.Name] = out.ID
		}
	}

	cliDeploy("prefect.yaml")
	for _, p := range cfg.Pairs {
		ids[p.CLI+"-"+run] = readByName(t, base, p.Dep.Flow, p.CLI+"-"+run)["id"].(string)
	}
	goDeploy()
	for _, p := range cfg.Pairs {
		cli := comparable3(readByName(t, base, p.Dep.Flow, p.CLI+"-"+run))
		got := comparable3(readByName(t, base, p.Dep.Flow, p.Dep.Name+"-"+run))
		assert.Equal(t, cli, got, "%s (Go) reads back as %s (prefect deploy)", p.Dep.Name, p.CLI)
	}

	// Paused by hand, then the schedules removed from the file and both redeployed.
	for _, id := range ids {
		require.NoError(t, client.PatchDeployment(context.Background(), id, map[string]any{"paused": true}))
	}
	cliDeploy("prefect.redeploy.yaml")
	full := cfg.Pairs[0]
	full.Dep.Schedules = nil
	goDeploy()
	cli := readByName(t, base, full.Dep.Flow, full.CLI+"-"+run)
	got := readByName(t, base, full.Dep.Flow, full.Dep.Name+"-"+run)
	assert.Equal(t, false, cli["paused"], "prefect deploy un-pauses (the trap)")
	assert.Len(t, cli["schedules"], 3, "prefect deploy keeps the schedules removed from the file (the trap)")
	assert.Equal(t, true, got["paused"], "the writer keeps the pause")
	assert.Empty(t, got["schedules"], "the writer removes the schedules removed from the file")
	c, g := comparable3(cli), comparable3(got)
	for _, k := range []string{"paused", "schedules"} {
		delete(c, k)
		delete(g, k)
	}
	assert.Equal(t, c, g, "apart from paused and schedules, the redeploys read back the same")
}

func readByName(t *testing.T, base, flow, name string) map[string]any {
	t.Helper()
	st, body := send(t, "GET", base+"/deployments/name/"+url.PathEscape(flow)+"/"+url.PathEscape(name), nil)
	require.Equal(t, 200, st, "GET deployment %s/%s: %s", flow, name, body)
	var v map[string]any
	require.NoError(t, json.Unmarshal(body, &v))
	return v
}

// comparable3 is a read-back without the fields that differ between any two
// deployments, schedules as [{schedule, active}] and the concurrency limit as its limit.
func comparable3(v map[string]any) map[string]any {
	out := observed3(v)
	for _, k := range notCompared {
		delete(out, k)
	}
	return out
}
