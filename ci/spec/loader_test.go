package spec

import (
	"path/filepath"
	"testing"

	"github.com/acme-data/prefect-flows/ci/pyflow"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loaderRepo is ci/pyflow's small repository whose flow files really import under
// Prefect: re-exports, assignments, decorators, conditional and dynamic bindings.
var loaderRepo = filepath.Join("..", "pyflow", "testdata", "loader")

// A deployments file whose entrypoints are left to the loader loads, with one note each
// at the entrypoint's line and column; a typo is still an error with a suggestion.
func TestLoadNotes(t *testing.T) {
	dir := filepath.Join("testdata", "notes")
	f, err := Load(filepath.Join(dir, "notes.yaml"), LoadOptions{RepoRoot: loaderRepo})
	require.NoError(t, err)
	var lines []string
	for _, n := range f.Notes {
		lines = append(lines, n.Note())
	}
	file := filepath.Join(dir, "notes.yaml")
	assert.Equal(t, []string{
		"note: " + file + ":4:17: deployments[0].entrypoint: hello2 in flows/reexport.py is imported at the top level (line 1: from examples.hello_world import hello as hello2): " + pyflow.NotCheckedStatically,
		"note: " + file + ":6:33: deployments[1].entrypoint: factory_made in flows/assigned.py is assigned at the top level (line 25: factory_made = make_flow(...)): " + pyflow.NotCheckedStatically + "; its flow name is not known statically either",
	}, lines)
	assert.Equal(t, "hello", f.Deployments[0].FlowName, "the re-exported flow's name is read from examples/hello_world.py")
	assert.Equal(t, "", f.Deployments[1].FlowName)

	_, err = Load(filepath.Join(dir, "typo.yaml"), LoadOptions{RepoRoot: loaderRepo})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	require.Len(t, ve.Errors, 1)
	assert.Equal(t, filepath.Join(dir, "typo.yaml")+":4:17: deployments[0].entrypoint: function helo is not defined at the top level of flows/static.py: did you mean hello?", ve.Errors[0].Error())
	require.Len(t, ve.Notes, 1, "notes are kept next to the errors")
	assert.Contains(t, ve.Error(), "\n  note: ")
}
