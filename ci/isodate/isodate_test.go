package isodate_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/isodate"
)

// pendulumCase is one line of testdata/cases.json, written by testdata/gen_cases.py from
// what Prefect 2.14.21 (pendulum 2.1.2) made of testdata/inputs.txt.
type pendulumCase struct {
	In       string  `json:"in"`
	OK       bool    `json:"ok"`
	Relative bool    `json:"relative"`
	UTC      *string `json:"utc"` // nil when Python cannot hold the instant (past year 9999)
	Offset   int     `json:"offset"`
	Error    string  `json:"error"`
}

// clock is the "now" gen_cases.py gives pendulum first.
var clock = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

func readCases(t *testing.T, data []byte) []pendulumCase {
	t.Helper()
	var cases []pendulumCase
	require.NoError(t, json.Unmarshal(data, &cases))
	require.NotEmpty(t, cases)
	return cases
}

func checkCases(t *testing.T, cases []pendulumCase) {
	t.Helper()
	for _, c := range cases {
		v, err := isodate.Parse(c.In, clock)
		if !c.OK {
			assert.Error(t, err, "%q: pendulum refuses it (%s)", c.In, c.Error)
			continue
		}
		if !assert.NoError(t, err, "%q: pendulum accepts it", c.In) {
			continue
		}
		assert.Equal(t, c.Relative, v.Relative(), "%q: relative", c.In)
		if c.UTC != nil {
			want, err := time.Parse("2006-01-02T15:04:05.999999Z", *c.UTC)
			require.NoError(t, err)
			assert.Equal(t, want, v.Time.UTC(), "%q: instant", c.In)
		}
		_, off := v.Time.Zone()
		assert.Equal(t, c.Offset, off, "%q: offset", c.In)
	}
}

// TestPendulumCases: every recorded case gets pendulum's verdict, instant and offset.
func TestPendulumCases(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "cases.json"))
	require.NoError(t, err)
	checkCases(t, readCases(t, data))
}

// The forms callers care about, by name: what a value is and whether it was zoned.
func TestParseKinds(t *testing.T) {
	for _, c := range []struct {
		in    string
		kind  isodate.Kind
		zoned bool
	}{
		{"2024-01-31", isodate.Date, false},
		{"20240131T090000Z", isodate.DateTime, true},
		{"2024-01-31T09:00:00+01:00", isodate.DateTime, true},
		{"2024-01-31 09:00", isodate.DateTime, false},
		{"09:00+05:00", isodate.TimeOfDay, false},
		{"now", isodate.Now, false},
	} {
		v, err := isodate.Parse(c.in, clock)
		require.NoError(t, err, c.in)
		assert.Equal(t, c.kind, v.Kind, c.in)
		assert.Equal(t, c.zoned, v.Zoned, c.in)
	}
	_, err := isodate.Parse("2024-01-31T09:00+25:00", clock)
	assert.EqualError(t, err, `"2024-01-31T09:00+25:00" is not an ISO-8601 date or date-time: the offset must be less than 24 hours`)
}

// FuzzParse: whatever the text, Parse never panics, and a value it accepts is inside
// Python's date range.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"2024-01-31T09:00:00.5+01:00", "2024-W05-3", "2024/01/31 09:00", "P1D/2024", "٢٠٢٤-٠١-٣١", "201207"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := isodate.Parse(s, clock)
		if err == nil && !v.Relative() && v.Kind == isodate.Date && (v.Time.Year() < 1 || v.Time.Year() > 9999) {
			t.Fatalf("%q: year %d accepted", s, v.Time.Year())
		}
	})
}

// TestRealPendulum asks the real Prefect again about every input (gen_cases.py) and
// checks both that the recording is current and that Parse agrees with the fresh answers.
func TestRealPendulum(t *testing.T) {
	python := os.Getenv("PREFECT_E2E_PYTHON")
	if python == "" {
		t.Skip("PREFECT_E2E_PYTHON is not set: it names a Python with Prefect 2.14 installed (e.g. a venv's bin/python); this test runs testdata/gen_cases.py with it")
	}
	in, err := os.Open(filepath.Join("testdata", "inputs.txt"))
	require.NoError(t, err)
	defer in.Close()
	cmd := exec.Command(python, filepath.Join("testdata", "gen_cases.py"))
	cmd.Stdin = in
	cmd.Env = append(os.Environ(), "PREFECT_HOME="+t.TempDir(), "PYTHONDONTWRITEBYTECODE=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	fresh := readCases(t, out)
	recorded, err := os.ReadFile(filepath.Join("testdata", "cases.json"))
	require.NoError(t, err)
	assert.Equal(t, readCases(t, recorded), fresh, "testdata/cases.json is out of date: regenerate it with gen_cases.py")
	checkCases(t, fresh)
}
