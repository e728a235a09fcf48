package deployer

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pyjson must write what Python's json.dumps writes, for every value of
// testdata/pyjson-values.json: compared with python3 itself when it is installed.
func TestPyEncodeMatchesPython(t *testing.T) {
	raw, err := os.ReadFile("testdata/pyjson-values.json")
	require.NoError(t, err)
	var values []json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &values))
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: nothing to compare with")
	}
	// One Python for all values, one line each. Keys sorted: pyEncode sorts a map's keys
	// (parameters reach it sorted by spec.ParamsJSON); ordered objects use object.
	out, err := exec.Command(py, "-c", "import json,sys\nfor v in json.loads(sys.argv[1]): print(json.dumps(v, sort_keys=True))", string(raw)).Output()
	require.NoError(t, err)
	want := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	require.Len(t, want, len(values))
	for i, v := range values {
		t.Run(string(v), func(t *testing.T) {
			dec := json.NewDecoder(bytes.NewReader(v))
			dec.UseNumber()
			var val any
			require.NoError(t, dec.Decode(&val))
			var b bytes.Buffer
			require.NoError(t, pyEncode(&b, numbersIn(val)))
			assert.Equal(t, want[i], b.String())
		})
	}
}

func TestPyFloatRefusesNaN(t *testing.T) {
	var b bytes.Buffer
	assert.Error(t, pyEncode(&b, object{{"x", nan()}}))
}
