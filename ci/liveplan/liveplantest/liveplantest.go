// Package liveplantest loads the live plan's test cases (a deployments file and the
// server.json the fake Prefect 2 API is seeded with) for the packages that act on a
// plan: liveplan itself and prune.
package liveplantest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefectapitest"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// Owner is the test repository's owner; Marker its ownership tag in dev, Legacy the
// tag of the time before owners.
const (
	Owner  = "acme-data/prefect-flows"
	Marker = "managed-by:prefect-flows:" + Owner + ":dev"
	Legacy = "managed-by:prefect-flows:dev"
)

// Dir is the absolute path of ci/liveplan/testdata/<name>.
func Dir(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", filepath.FromSlash(name))
}

// Load loads dir's prefect-deployments-dev.yaml, its flows under testdata/repo.
func Load(t testing.TB, dir string) *spec.File {
	t.Helper()
	f, err := spec.Load(filepath.Join(dir, "prefect-deployments-dev.yaml"), spec.LoadOptions{RepoRoot: Dir("repo")})
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	return f
}

// Seed starts a fake (recorded deployments included), adds dir/server.json and returns
// a client of it that does not retry.
func Seed(t testing.TB, dir string, opts ...prefectapitest.Option) (*prefectapitest.Server, *prefectapi.Client) {
	t.Helper()
	fake := prefectapitest.New(t, opts...)
	b, err := os.ReadFile(filepath.Join(dir, "server.json"))
	if err != nil {
		t.Fatal(err)
	}
	var seeds []prefectapitest.Seed
	if err := json.Unmarshal(b, &seeds); err != nil {
		t.Fatalf("%s/server.json: %v", dir, err)
	}
	for _, s := range seeds {
		fake.AddDeployment(s)
	}
	c, err := prefectapi.New(fake.URL, "", prefectapi.WithRetry(prefectapi.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return fake, c
}
