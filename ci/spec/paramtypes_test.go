package spec

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// specValue turns a decoded JSON value into the form Load gives parameters
// (int64 for integers, float64 for numbers with a fraction or exponent).
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

// The type checks agree with pydantic 1.10 on every recorded case: a value pydantic
// accepts is never refused, and every refusal is predicted except the few marked
// lenient. testdata/paramtypes/gen_cases.py records pydantic's answers.
func TestParamValuesAgreeWithPydantic(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "paramtypes", "cases.json"))
	require.NoError(t, err)
	var file struct {
		Pydantic string
		Cases    []struct {
			Annotation  string
			NoneDefault bool `json:"none_default"`
			Value       any
			Pydantic    string
			Lenient     bool
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&file))
	require.True(t, strings.HasPrefix(file.Pydantic, "1.10."), "cases must come from pydantic 1.10, got %s", file.Pydantic)
	require.Greater(t, len(file.Cases), 100)

	b, star := scanBindings(logicalLines("from datetime import date, datetime\nfrom typing import List, Optional\n"))
	require.False(t, star)
	for _, c := range file.Cases {
		ann := b.classify(c.Annotation)
		require.NotEqual(t, annUnknown, ann.kind, c.Annotation)
		v := specValue(t, c.Value)
		msg := checkParamValue(ann, c.NoneDefault, v)
		switch {
		case c.Pydantic == "ok":
			assert.Empty(t, msg, "%s = %#v: pydantic accepts it", c.Annotation, v)
		case c.Lenient:
			assert.Empty(t, msg, "%s = %#v: deliberately not predicted", c.Annotation, v)
		default:
			assert.NotEmpty(t, msg, "%s = %#v: pydantic refuses it", c.Annotation, v)
		}
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
