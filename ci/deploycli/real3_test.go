package deploycli_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefect3test"
)

// envReal3 names a THROWAWAY Prefect 3 server (.ci/real-prefect3 sets it).
const envReal3 = "PREFECT3_E2E_API_URL"

// apply, plan and prune of a Prefect 3 file against a REAL Prefect 3 server: right after
// the apply the plan has no changes (with the image, without it, and with only its
// repository), a deployment removed from the file is the only one apply --prune deletes,
// and list shows what is left. The deployment names and the owner are new for every run,
// so the test touches nothing but what it made (other tests may share the server, one
// after another) and deletes its deployments at the end.
func TestRealPrefect3PlanAndPrune(t *testing.T) {
	base, run := real3(t, "it creates the work pools pool and ecs-pool there when missing, and a flow with deployments it deletes again")
	const flow = "hello"
	names := []string{"hello-scheduled-" + run, "hello-paused-" + run}
	require.NoError(t, prefect3test.EnsureRecordedPools(base))
	t.Cleanup(func() { deleteDeployments3(t, base, flow, names) })

	h := newHarness(t, "PREFECT_API_URL="+base, "PREFECT_OWNER=real3-"+run)
	inspected, err := filepath.Abs("testdata/api3/inspected.json")
	require.NoError(t, err)
	file := h.file("prefect-deployments-dev.yaml")
	main := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := deploycli.Main(context.Background(), append(args, file), &stdout, &stderr, h.env)
		return code, stdout.String(), stderr.String()
	}
	apply := []string{"apply", "--runner", "api", "--inspected", inspected, "--image", digest3}

	for _, step := range []struct {
		name, file string
		args       []string
		want       []string
	}{
		{"apply", "testdata/api3/prefect-deployments-dev.yaml", apply, []string{"Read back 2 deployment(s): 0 patched, 0 drifted."}},
		{"plan", "", []string{"plan", "--detailed-exitcode", "--image", digest3}, []string{"No changes: the server matches the file."}},
		{"plan without the image", "", []string{"plan", "--detailed-exitcode"}, []string{"No changes: the server matches the file."}},
		// The pipeline's live plan before its push knows only the repository.
		{"plan with the image's repository", "", []string{"plan", "--detailed-exitcode", "--image-repository", strings.Split(digest3, "@")[0]}, []string{"No changes: the server matches the file."}},
		{"apply --prune", "testdata/api3/prune/prefect-deployments-dev.yaml", append(append([]string(nil), apply...), "--prune", "--yes"),
			[]string{"Read back 1 deployment(s): 0 patched, 0 drifted.", "  - deleted  " + flow + "/" + names[1] + "\n"}},
		{"plan after the prune", "", []string{"plan", "--detailed-exitcode", "--image", digest3}, []string{"No changes: the server matches the file."}},
	} {
		if step.file != "" {
			raw, err := os.ReadFile(step.file)
			require.NoError(t, err)
			text := strings.NewReplacer("name: hello-scheduled", "name: "+names[0], "name: hello-paused", "name: "+names[1]).Replace(string(raw))
			require.NoError(t, os.WriteFile(file, []byte(text), 0o644))
		}
		code, stdout, stderr := main(step.args...)
		require.Equal(t, deploycli.ExitOK, code, "%s: stdout:\n%s\nstderr:\n%s", step.name, stdout, stderr)
		for _, w := range step.want {
			assert.Contains(t, stdout, w, step.name)
		}
		assert.Equal(t, strings.Count(stdout, "- deleted "), strings.Count(strings.Join(step.want, "\n"), "- deleted "), "%s: deletes exactly what the file dropped:\n%s", step.name, stdout)
	}
	// The embedded read-back's listing reads the same deployments on Prefect 3.
	var stdout, stderr bytes.Buffer
	require.Equal(t, deploycli.ExitOK, deploycli.Main(context.Background(), []string{"list"}, &stdout, &stderr, h.env), stderr.String())
	assert.Contains(t, stdout.String(), flow+"/"+names[0]+"  flows/hello.py:hello  ")
	assert.Contains(t, stdout.String(), " (+1 more)  queue=dev  tags=managed-by:prefect-flows:real3-"+run+":dev\n")
	assert.NotContains(t, stdout.String(), flow+"/"+names[1]+"  ")
	st, _ := get3(t, base+"/deployments/name/"+flow+"/"+url.PathEscape(names[1]))
	assert.Equal(t, http.StatusNotFound, st, "pruned")
	st, _ = get3(t, base+"/deployments/name/"+flow+"/"+url.PathEscape(names[0]))
	assert.Equal(t, http.StatusOK, st, "still in the file")
}

// real3 is the API URL of the real Prefect 3 server and a token new for this run, or
// skips the test (saying that it does) when there is none.
func real3(t *testing.T, does string) (base, run string) {
	t.Helper()
	base = strings.TrimRight(os.Getenv(envReal3), "/")
	if base == "" {
		t.Skip(envReal3 + " is not set: this test needs a THROWAWAY Prefect 3.8.3 server (`bash ../shared/prefect3/real/server.sh start ROOT 4381`, then " +
			envReal3 + "=http://127.0.0.1:4381/api); " + does)
	}
	var b [4]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	return base, hex.EncodeToString(b[:])
}

// deleteDeployments3 deletes the run's deployments (the flow stays: others may use it).
func deleteDeployments3(t *testing.T, base, flow string, names []string) {
	for _, name := range names {
		st, body := get3(t, base+"/deployments/name/"+flow+"/"+url.PathEscape(name))
		if st == http.StatusNotFound {
			continue
		}
		var d struct {
			ID string `json:"id"`
		}
		if st != http.StatusOK || json.Unmarshal(body, &d) != nil || d.ID == "" {
			t.Errorf("clean up: GET /deployments/name/%s/%s: %d %s", flow, name, st, body)
			continue
		}
		if st, body := call3(t, "DELETE", base+"/deployments/"+d.ID, nil); st != http.StatusNoContent {
			t.Errorf("clean up: DELETE /deployments/%s: %d %s", d.ID, st, body)
		}
	}
}

func get3(t *testing.T, u string) (int, []byte) { return call3(t, "GET", u, nil) }

func call3(t *testing.T, method, u string, body any) (int, []byte) {
	t.Helper()
	st, out, err := prefect3test.Call(method, u, body) // retries a real server's 503
	require.NoError(t, err)
	return st, out
}
