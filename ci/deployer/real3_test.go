package deployer_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefect3test"
)

// envReal3 names a THROWAWAY Prefect 3 server for TestRealPrefect3Writer (the Prefect 2
// tests use PREFECT_E2E_API_URL: the two majors need two servers).
const envReal3 = "PREFECT3_E2E_API_URL"

func real3Skip(getenv func(string) string) string {
	if getenv(envReal3) == "" {
		return envReal3 + " is not set: this test needs a THROWAWAY Prefect 3.8.3 server (e.g. " +
			"`bash ../shared/prefect3/real/server.sh start ROOT 4361`, then " + envReal3 +
			"=http://127.0.0.1:4361/api); it creates the work pools pool and ecs-pool there when missing, and flows and deployments it deletes again"
	}
	return ""
}

func TestReal3SkipReason(t *testing.T) {
	got := real3Skip(func(string) string { return "" })
	assert.Contains(t, got, envReal3+" is not set")
	assert.Contains(t, got, "THROWAWAY")
	assert.Empty(t, real3Skip(func(string) string { return "http://127.0.0.1:4361/api" }))
}

// The cases of testdata/prefect3/cases.json applied to a real Prefect 3 server, each
// read back field by field: what the fake is held to, held to the real thing. The flow
// names get a per-run suffix, so every run starts from new deployments.
func TestRealPrefect3Writer(t *testing.T) {
	if why := real3Skip(os.Getenv); why != "" {
		t.Skip(why)
	}
	base := strings.TrimRight(os.Getenv(envReal3), "/")
	client, err := prefectapi.New(base, os.Getenv("PREFECT3_E2E_API_KEY"))
	require.NoError(t, err)
	v, err := client.AdminVersion(t.Context())
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(v, "3."), "%s runs Prefect %s, not 3", envReal3, v)
	ensureRecordedPools(t, base)

	var b [4]byte
	_, err = rand.Read(b[:])
	require.NoError(t, err)
	suffix := "-w" + hex.EncodeToString(b[:])
	t.Cleanup(func() { deleteFlows(t, base, suffix) })
	runCases3(t, target3{url: base, client: client, suffix: suffix})
}

// ensureRecordedPools creates the recorded work pools (pool: process, ecs-pool: ecs
// from prefect-aws) with their recorded base job templates when the server lacks them.
func ensureRecordedPools(t *testing.T, base string) {
	t.Helper()
	require.NoError(t, prefect3test.EnsureRecordedPools(base))
}

// deleteFlows deletes the flows of this run (and with them their deployments).
func deleteFlows(t *testing.T, base, suffix string) {
	cs := loadCases3(t)
	var names []string
	for f := range cs.Flows {
		names = append(names, f+suffix)
	}
	st, body, err := prefect3test.Call("POST", base+"/flows/filter", map[string]any{"flows": map[string]any{"name": map[string]any{"any_": names}}})
	if err != nil || st != 200 {
		t.Errorf("clean up: POST /flows/filter: %d %s %v", st, body, err)
		return
	}
	var flows []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &flows); err != nil {
		t.Errorf("clean up: POST /flows/filter: %v", err)
	}
	for _, f := range flows {
		if st, body, err := prefect3test.Call("DELETE", base+"/flows/"+url.PathEscape(f.ID), nil); err != nil || st != 204 {
			t.Errorf("clean up: DELETE /flows/%s: %d %s %v", f.ID, st, body, err)
		}
	}
}

func send(t *testing.T, method, u string, body any) (int, []byte) {
	t.Helper()
	st, out, err := prefect3test.Call(method, u, body)
	require.NoError(t, err)
	return st, out
}
