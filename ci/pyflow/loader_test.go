package pyflow

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loaderRepo is a small repository whose flow files really import under Prefect 2.14:
// re-exports, assignments, decorators, conditional and dynamic bindings.
var loaderRepo = filepath.Join("testdata", "loader")

// loaderCase is one entrypoint of testdata/loader/cases.json: what the static scanner
// says about it, and what Prefect's own loader said (recorded with Prefect 2.14.21;
// TestRealLoaderAgrees checks the record against a real Prefect).
type loaderCase struct {
	Entrypoint string `json:"entrypoint"`
	// Scanner is "static" (checked here), "note" (left to the loader) or "error".
	Scanner  string `json:"scanner"`
	FlowName string `json:"flow_name"`
	// Message is a part of the note or error.
	Message        string `json:"message"`
	LoaderOK       bool   `json:"loader_ok"`
	LoaderFlowName string `json:"loader_flow_name"`
}

func loaderCases(t *testing.T) []loaderCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(loaderRepo, "cases.json"))
	require.NoError(t, err)
	var cases []loaderCase
	require.NoError(t, json.Unmarshal(data, &cases))
	require.NotEmpty(t, cases)
	return cases
}

// judgeEntrypoint runs the same decision as the deployments file's loader does for
// one entrypoint.
func judgeEntrypoint(files *Repo, ep string) Verdict {
	file, fn, _ := strings.Cut(ep, ":")
	v, exists := files.Judge(file, fn)
	if !exists {
		return Verdict{Refuse: "no such file " + file}
	}
	return v
}

func TestEntrypointVerdicts(t *testing.T) {
	files := NewRepo(loaderRepo)
	for _, c := range loaderCases(t) {
		t.Run(c.Entrypoint, func(t *testing.T) {
			v := judgeEntrypoint(files, c.Entrypoint)
			got, msg := "static", ""
			switch {
			case v.Refuse != "":
				got, msg = "error", v.Refuse
			case v.Note != "":
				got, msg = "note", v.Note
				assert.Contains(t, msg, NotCheckedStatically)
			}
			assert.Equal(t, c.Scanner, got, msg)
			assert.Contains(t, msg, c.Message)
			assert.Equal(t, c.FlowName, v.FlowName)
			// The rule this table exists for: what the loader accepts is never refused,
			// and a flow name read statically is the loader's.
			if c.LoaderOK {
				assert.NotEqual(t, "error", got, "Prefect's loader accepts %s", c.Entrypoint)
			}
			if v.FlowName != "" {
				assert.Equal(t, c.LoaderFlowName, v.FlowName)
			}
		})
	}
}
