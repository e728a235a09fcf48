package pyflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// specValue turns a decoded JSON value into the form the deployments file gives
// parameters (int64 for integers, float64 for numbers with a fraction or exponent).
func specValue(t *testing.T, v any) any {
	switch x := v.(type) {
	case json.Number:
		if strings.ContainsAny(x.String(), ".eE") {
			f, err := x.Float64()
			require.NoError(t, err)
			return f
		}
		i, err := x.Int64()
		require.NoError(t, err)
		return i
	case []any:
		for i := range x {
			x[i] = specValue(t, x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = specValue(t, x[k])
		}
	}
	return v
}

// paramRecord is testdata/paramtypes/prefect<major>.json: what that Prefect's
// Flow.validate_parameters said about each case of inputs.json (gen_cases.py).
type paramRecord struct {
	Prefect  string
	Pydantic string
	Cases    []struct {
		Annotation  string
		NoneDefault bool `json:"none_default"`
		Value       any
		Verdict     string
		Lenient     bool
	}
}

func readParamRecord(t *testing.T, data []byte) paramRecord {
	t.Helper()
	var rec paramRecord
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&rec))
	require.Greater(t, len(rec.Cases), 100)
	return rec
}

// paramMajors are the Prefect versions whose records the checks are held to.
var paramMajors = []struct {
	major   int
	version string // the record's Prefect version must start with it
}{{2, "2.14."}, {3, "3.8."}}

// The type checks agree with each major's Prefect on every recorded case: a value it
// accepts is never refused, and every refusal is predicted except the few marked lenient.
func TestParamValuesAgreeWithPrefect(t *testing.T) {
	b, star := scanBindings(logicalLines("from datetime import date, datetime\nfrom typing import List, Optional\n"))
	require.False(t, star)
	for _, m := range paramMajors {
		t.Run(fmt.Sprint("prefect", m.major), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "paramtypes", fmt.Sprintf("prefect%d.json", m.major)))
			require.NoError(t, err)
			rec := readParamRecord(t, data)
			require.True(t, strings.HasPrefix(rec.Prefect, m.version), "the record must come from Prefect %s*, got %s", m.version, rec.Prefect)
			for _, c := range rec.Cases {
				p := Param{Annotation: c.Annotation, ann: b.classify(c.Annotation), HasDefault: true, DefaultText: "0"}
				require.NotEqual(t, annUnknown, p.ann.kind, c.Annotation)
				if c.NoneDefault {
					p.DefaultText = "None"
				}
				v := specValue(t, c.Value)
				msg := CheckParam(m.major, p, v)
				switch {
				case c.Verdict == "ok":
					assert.Empty(t, msg, "%s = %#v (default %s): Prefect %s accepts it", c.Annotation, v, p.DefaultText, rec.Prefect)
				case c.Lenient:
					assert.Empty(t, msg, "%s = %#v (default %s): deliberately not predicted", c.Annotation, v, p.DefaultText)
				default:
					assert.NotEmpty(t, msg, "%s = %#v (default %s): Prefect %s refuses it", c.Annotation, v, p.DefaultText, rec.Prefect)
				}
			}
		})
	}
}

// Annotations are resolved through the file's imports; anything not certain is unknown.
func TestClassifyAnnotations(t *testing.T) {
	header := `import datetime as dt
import typing
from typing import List, Optional as Opt
from datetime import date
`
	b, _ := scanBindings(logicalLines(header))
	cases := map[string]annType{
		"int": {kind: annInt}, "str": {kind: annStr}, "float": {kind: annFloat}, "bool": {kind: annBool},
		"date": {kind: annDate}, "dt.date": {kind: annDate}, "dt.datetime": {kind: annDateTime},
		"List[str]": {kind: annList}, "list[int]": {kind: annList}, "list": {kind: annList}, "typing.List[str]": {kind: annList},
		"Opt[int]": {kind: annInt, optional: true}, "typing.Optional[ List[str] ]": {kind: annList, optional: true},
		"int | None": {kind: annInt, optional: true}, "None | date": {kind: annDate, optional: true},
		"datetime":      {}, // not imported: dt is the module's name here
		"Optional[int]": {}, "typing.Union[int, None]": {}, "int | str": {}, "int | str | None": {},
		"Dict[str, int]": {}, "\x000\x00": {}, "Opt[int, str]": {}, "pendulum.Date": {}, "List[str]]": {},
		"Opt[Custom]": {}, "": {},
	}
	for ann, want := range cases {
		assert.Equal(t, want, b.classify(ann), "%q", ann)
	}

	// A name bound any other way than a top-level import is not trusted.
	shadowed := `from datetime import date
from typing import List
int = str
class bool: pass
for float in []: pass
def helper():
    date = None
    from mylib import List
`
	b, _ = scanBindings(logicalLines(shadowed))
	for _, ann := range []string{"int", "bool", "float", "date", "List[str]"} {
		assert.Equal(t, annType{}, b.classify(ann), ann)
	}
	assert.Equal(t, annType{kind: annStr}, b.classify("str"))

	_, star := scanBindings(logicalLines("from prefect import *\n"))
	assert.True(t, star)
}
