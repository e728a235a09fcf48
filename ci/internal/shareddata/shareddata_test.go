package shareddata

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "copy ../shared into the committed snapshot")

// files lists the regular files under root/sub, relative to root.
func files(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, sub := range Snapshotted {
		err := filepath.WalkDir(filepath.Join(root, sub), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, p)
			out[filepath.ToSlash(rel)] = b
			return err
		})
		require.NoError(t, err)
	}
	return out
}

func TestSnapshotIsCurrent(t *testing.T) {
	beside, ok, err := Beside()
	require.NoError(t, err)
	snap, err := Snapshot()
	require.NoError(t, err)
	if !ok {
		t.Skipf("%s is absent: the committed snapshot is the only copy", beside)
	}
	want := files(t, beside)
	require.NotEmpty(t, want)
	if *update {
		require.NoError(t, os.RemoveAll(snap))
		for rel, b := range want {
			p := filepath.Join(snap, filepath.FromSlash(rel))
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, b, 0o644))
		}
	}
	got := files(t, snap)
	for rel, b := range want {
		if assert.Contains(t, got, rel, "snapshot lacks %s: run go test ./ci/internal/shareddata -update", rel) {
			assert.Equal(t, string(b), string(got[rel]), "snapshot of %s is stale: run go test ./ci/internal/shareddata -update", rel)
		}
	}
	for rel := range got {
		assert.Contains(t, want, rel, "snapshot has %s, which ../shared no longer has: run -update", rel)
	}
}

func TestPathPrefersBeside(t *testing.T) {
	beside, ok, err := Beside()
	require.NoError(t, err)
	p, err := Path("prefect/cli-2.14.json")
	require.NoError(t, err)
	if ok {
		assert.Equal(t, filepath.Join(beside, "prefect", "cli-2.14.json"), p)
	} else {
		snap, err := Snapshot()
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(snap, "prefect", "cli-2.14.json"), p)
	}
	_, err = Path("prefect/no-such-file.json")
	assert.ErrorContains(t, err, "shared data prefect/no-such-file.json is missing")
}
