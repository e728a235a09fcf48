package deploycli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deploycli"
)

// TestLocalEnv: apply's builds get the repository's src first on PYTHONPATH, as in the
// image, and a console wide enough that rich does not wrap Prefect's messages.
func TestLocalEnv(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the cases use ':' as the path list separator")
	}
	b, err := os.ReadFile("testdata/localenv/cases.json")
	require.NoError(t, err)
	var cases []struct {
		Name, PythonPath string
		Env, Want        []string
	}
	require.NoError(t, json.Unmarshal(b, &cases))
	repo := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(repo, "src"), 0o755))
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			sub := func(list []string) []string {
				out := make([]string, len(list))
				for i, s := range list {
					out[i] = strings.ReplaceAll(s, "<repo>", repo)
				}
				return out
			}
			assert.Equal(t, sub(c.Want), deploycli.LocalEnv(sub(c.Env), repo, c.PythonPath))
		})
	}
}
