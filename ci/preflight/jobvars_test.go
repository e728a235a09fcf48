package preflight

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// TestJobVariableKeys runs testdata/jobvars/cases.json: each case loads a Prefect 3
// file, gives the pools it names the templates of testdata/jobvars (real 3.8.3 defaults
// of the process and ecs workers, a custom one, none), and wants exactly these problems
// and notes, in this order.
func TestJobVariableKeys(t *testing.T) {
	dir := filepath.Join("testdata", "jobvars")
	raw, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name, File string
		Pools      map[string]struct{ Type, Template string }
		PoolVars   map[string]map[string]any `json:"pool_vars"`
		Problems   []string
		Notes      []string
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			f, err := spec.Load(filepath.Join(dir, tc.File), spec.LoadOptions{RepoRoot: dir})
			if err != nil {
				t.Fatal(err)
			}
			pools := map[string]*prefectapi.WorkPool{}
			for name, p := range tc.Pools {
				tmpl := []byte("{}")
				if p.Template != "" {
					if tmpl, err = os.ReadFile(filepath.Join(dir, p.Template)); err != nil {
						t.Fatal(err)
					}
				}
				pools[name] = &prefectapi.WorkPool{Name: name, Type: p.Type, BaseJobTemplate: tmpl}
			}
			problems, notes := JobVariableKeys(f.Deployments, pools, tc.PoolVars)
			if !slices.Equal(problems, tc.Problems) {
				t.Errorf("problems:\n%q\nwant\n%q", problems, tc.Problems)
			}
			if !slices.Equal(notes, tc.Notes) {
				t.Errorf("notes:\n%q\nwant\n%q", notes, tc.Notes)
			}
		})
	}
}
