// Package selecttest is the table of the deployment selection rule (spec.File.Select),
// shared by the tests of every place that selects: ci/spec itself, prefect-deploy's
// --only (ci/deploycli) and the pipeline's DEPLOY_ONLY (ci/pipeline), so that the three
// are held to one set of answers.
package selecttest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Case is one selection: the patterns given, and either the deployment names kept (in
// the file's order) or substrings the error must contain.
type Case struct {
	Name     string   `json:"name"`
	Patterns []string `json:"patterns"`
	Kept     []string `json:"kept"`
	Error    []string `json:"error"`
}

// Dir is the directory of the table's deployments file (environment dev) and its flow.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata")
}

// File is the deployments file every case selects from.
func File() string { return filepath.Join(Dir(), "prefect-deployments-dev.yaml") }

// Cases reads the table, testdata/cases.json.
func Cases(t testing.TB) []Case {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(Dir(), "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cs []Case
	if err := json.Unmarshal(raw, &cs); err != nil {
		t.Fatalf("cases.json: %v", err)
	}
	if len(cs) == 0 {
		t.Fatal("cases.json: no case")
	}
	return cs
}
