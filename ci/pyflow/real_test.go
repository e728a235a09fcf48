package pyflow

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// realPythons name, per Prefect major, the variable that points the TestReal* tests at
// a Python with that Prefect installed. The Prefect 2 one is the variable the deploycli
// end-to-end tests use for the batch runner.
var realPythons = []struct {
	major int
	env   string
	what  string
}{
	{2, "PREFECT_E2E_PYTHON", "a Python with Prefect 2.14 installed (e.g. a venv's bin/python)"},
	{3, "PREFECT3_E2E_PYTHON", "a Python with Prefect 3.8 installed (a venv's bin/python, or for the chroot of ../shared/prefect3/real a script that runs `bash run.sh ROOT python \"$@\"`)"},
}

// forEachRealPython runs test once per major whose Python is configured, skipping the
// others with the reason.
func forEachRealPython(t *testing.T, does string, test func(t *testing.T, python string)) {
	for _, rp := range realPythons {
		t.Run(fmt.Sprint("prefect", rp.major), func(t *testing.T) {
			python := os.Getenv(rp.env)
			if python == "" {
				t.Skipf("%s is not set: it names %s; this test %s", rp.env, rp.what, does)
			}
			test(t, python)
		})
	}
}

// runPython runs a script of testdata with python in dir and returns its stdout.
func runPython(t *testing.T, python, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(python, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PREFECT_HOME="+t.TempDir(), "PYTHONDONTWRITEBYTECODE=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%s %v: %s", python, args, stderr.String())
	return out
}

// TestRealLoaderAgrees loads every entrypoint of testdata/loader/cases.json with the
// real Prefect loader of each major and checks the recorded verdicts and flow names
// against it, so TestEntrypointVerdicts's "never refuse what the loader accepts" holds
// for real. (Prefect 3.8.3's loader answered every case as 2.14.21's did.)
func TestRealLoaderAgrees(t *testing.T) {
	forEachRealPython(t, "runs Prefect's load_flow_from_entrypoint on testdata/loader", func(t *testing.T, python string) {
		cases := loaderCases(t)
		args := []string{"load_entrypoints.py"}
		for _, c := range cases {
			args = append(args, c.Entrypoint)
		}
		out := runPython(t, python, loaderRepo, args...)

		type result struct {
			Entrypoint string `json:"entrypoint"`
			OK         bool   `json:"ok"`
			FlowName   string `json:"flow_name"`
			Error      string `json:"error"`
		}
		got := map[string]result{}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			var r result
			if json.Unmarshal(sc.Bytes(), &r) == nil && r.Entrypoint != "" {
				got[r.Entrypoint] = r
			}
		}
		files := NewRepo(loaderRepo)
		for _, c := range cases {
			r, ok := got[c.Entrypoint]
			if !assert.True(t, ok, "%s: no answer from the loader; its output: %s", c.Entrypoint, out) {
				continue
			}
			assert.Equal(t, c.LoaderOK, r.OK, "%s: cases.json records the loader wrongly (%s)", c.Entrypoint, r.Error)
			assert.Equal(t, c.LoaderFlowName, r.FlowName, c.Entrypoint)
			v := judgeEntrypoint(files, c.Entrypoint)
			if r.OK {
				assert.Empty(t, v.Refuse, "%s: the scanner refuses what Prefect's loader accepts", c.Entrypoint)
			}
			if v.FlowName != "" || v.Static {
				assert.Equal(t, r.FlowName, v.FlowName, "%s: the flow name read statically differs from Prefect's", c.Entrypoint)
			}
		}
	})
}

// TestRealParamRecords asks each major's Prefect again about every case of
// testdata/paramtypes/inputs.json (gen_cases.py calls Flow.validate_parameters) and
// holds the committed record, which TestParamValuesAgreeWithPrefect checks the rules
// against, to its answers.
func TestRealParamRecords(t *testing.T) {
	forEachRealPython(t, "runs Flow.validate_parameters on testdata/paramtypes/inputs.json", func(t *testing.T, python string) {
		dir := filepath.Join("testdata", "paramtypes")
		got := readParamRecord(t, runPython(t, python, dir, "gen_cases.py", "inputs.json"))
		name := filepath.Base(t.Name()) + ".json" // prefect2.json, prefect3.json
		data, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		want := readParamRecord(t, data)
		require.Equal(t, len(want.Cases), len(got.Cases), "%s is not the record of today's inputs.json: regenerate it (gen_cases.py)", name)
		for i, w := range want.Cases {
			g := got.Cases[i]
			assert.Equal(t, w.Verdict, g.Verdict, "%s = %v (none default %v): %s records %s, Prefect %s (pydantic %s) says %s",
				w.Annotation, w.Value, w.NoneDefault, name, w.Verdict, got.Prefect, got.Pydantic, g.Verdict)
			assert.Equal(t, w.Lenient, g.Lenient, "%s: inputs.json's lenient marks changed since %s was made", w.Annotation, name)
		}
	})
}
