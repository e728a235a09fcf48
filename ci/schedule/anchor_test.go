package schedule

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v), path)
}

// testdata/anchors.json: each anchor text and the instant it names in UTC, "" when it
// is refused.
func TestParseAnchor(t *testing.T) {
	var table map[string]string
	readJSON(t, "testdata/anchors.json", &table)
	for in, want := range table {
		got, err := ParseAnchor(in)
		if want == "" {
			if err == nil {
				t.Errorf("%q: accepted as %v", in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if got.Text != in {
			t.Errorf("%q: text %q, want it as written", in, got.Text)
		}
		if s := got.Time.UTC().Format(time.RFC3339Nano); s != want {
			t.Errorf("%q: got %s, want %s", in, s, want)
		}
	}
}
