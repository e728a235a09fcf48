package deploycli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deploycli"
)

// TestScriptPrefect3: `prefect-deploy script` on a Prefect 3 file prints the pools
// commands and the apply through the API (testdata/script3/cases.json, goldens with
// $DIR and $TMP for the run's directories). Pasted into sh, every line runs the argv
// it shows: the stand-ins for prefect and prefect-deploy record what they got.
func TestScriptPrefect3(t *testing.T) {
	raw, err := os.ReadFile("testdata/script3/cases.json")
	require.NoError(t, err)
	var cases []struct {
		Name, File, Golden string
		Args               []string
	}
	require.NoError(t, json.Unmarshal(raw, &cases))
	require.NotEmpty(t, cases)
	file, err := os.ReadFile("testdata/script3/prefect-deployments-dev.yaml")
	require.NoError(t, err)
	stub, err := filepath.Abs("testdata/script3/argvlog.sh")
	require.NoError(t, err)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			h := newHarness(t)
			path := filepath.Join(h.dir, tc.File)
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
			require.NoError(t, os.WriteFile(path, file, 0o644))
			args := []string{"script"}
			for _, a := range tc.Args {
				if a == "." {
					a = h.dir
				}
				args = append(args, a)
			}
			var stdout, stderr bytes.Buffer
			code := deploycli.Main(context.Background(), append(args, path), &stdout, &stderr, h.env)
			require.Equal(t, deploycli.ExitOK, code, stderr.String())
			script := stdout.String()
			got := strings.ReplaceAll(strings.ReplaceAll(script, h.dir, "$DIR"), tmp, "$TMP")
			golden := filepath.Join("testdata", "script3", tc.Golden)
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), got)

			bin := t.TempDir()
			for _, name := range []string{"prefect", "prefect-deploy"} {
				require.NoError(t, os.Symlink(stub, filepath.Join(bin, name)))
			}
			log := filepath.Join(t.TempDir(), "argv.log")
			sh := exec.Command("sh", "-e", "-c", script)
			sh.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "ARGV_LOG=" + log, "HOME=/nowhere"}
			out, err := sh.CombinedOutput()
			require.NoError(t, err, "%s", out)
			ran, err := os.ReadFile(log)
			require.NoError(t, err)
			var lines []string
			for _, l := range strings.Split(script, "\n") {
				if l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "cd ") && !strings.HasPrefix(l, "mkdir ") {
					lines = append(lines, l)
				}
			}
			records := strings.Split(strings.TrimSuffix(string(ran), "\n"), "\n")
			require.Len(t, records, len(lines))
			for i, rec := range records {
				assert.Equal(t, lines[i], deploycli.ScriptLine(strings.Split(rec, "\x00")), "the shell must get the words the line shows")
			}
		})
	}
}
