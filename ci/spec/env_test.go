package spec

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEnv(t *testing.T) {
	cases := map[string]string{
		"prefect-deployments-dev.yaml":           "dev",
		"/repo/prefect-deployments-prod.yaml":    "prod",
		"prefect-deployments-eu-west.yml":        "eu-west",
		"deployments.yaml":                       "",
		"prefect-deployments-.yaml":              "",
		"prefect-deployments-dev.json":           "",
		"other/prefect-deployments-staging.yaml": "staging",
	}
	for path, want := range cases {
		assert.Equal(t, want, (&File{Path: path}).Env(), path)
	}
	assert.Equal(t, "prefect-deployments-dev.yaml", EnvFile("dev"))
	assert.Equal(t, "dev", (&File{Path: EnvFile("dev")}).Env())
}

func TestParamsJSON(t *testing.T) {
	hostile := "quote\" single' dollar$HOME `tick` $(rm -rf /) <>& \\ \n\ttab ünïcødé 🚀 \u2028"
	got, err := ParamsJSON(map[string]any{
		"z":       int64(1),
		"a":       hostile,
		"m":       map[string]any{"y": 2.5, "b": nil, "list": []any{"x", true}},
		"big":     int64(9223372036854775807),
		"ratio":   1.1,
		"empty":   "",
		"nothing": nil,
	})
	require.NoError(t, err)
	want := `{"a":"quote\" single' dollar$HOME ` + "`tick`" + ` $(rm -rf /) <>& \\ \n\ttab ünïcødé 🚀 ` + "\\u2028" + `","big":9223372036854775807,"empty":"","m":{"b":null,"list":["x",true],"y":2.5},"nothing":null,"ratio":1.1,"z":1}`
	assert.Equal(t, want, got)

	var back map[string]any
	require.NoError(t, json.Unmarshal([]byte(got), &back))
	assert.Equal(t, hostile, back["a"], "the value survives a JSON round trip byte for byte")

	for _, empty := range []map[string]any{nil, {}} {
		s, err := ParamsJSON(empty)
		require.NoError(t, err)
		assert.Equal(t, "{}", s)
	}
	_, err = ParamsJSON(map[string]any{"bad": make(chan int)})
	assert.Error(t, err)
}

// Prefect decodes --params with Python's json.loads: `2` becomes an int, `2.0` a float.
// A float written in YAML stays a float, also when it is whole.
func TestParamsJSONKeepsFloatsFloats(t *testing.T) {
	cases := []struct {
		in   any
		want string
	}{
		{2.0, `2.0`}, {0.0, `0.0`}, {-3.0, `-3.0`}, {math.Copysign(0, -1), `-0.0`}, {1e20, `100000000000000000000.0`},
		{1e21, `1e+21`}, {0.25, `0.25`}, {1.1, `1.1`}, {1e-7, `1e-7`}, {float32(4), `4.0`},
		{int64(2), `2`}, {true, `true`}, {"2.0", `"2.0"`},
		{[]any{1.0, map[string]any{"f": 5.0}}, `[1.0,{"f":5.0}]`},
	}
	for _, c := range cases {
		got, err := ParamsJSON(map[string]any{"v": c.in})
		require.NoError(t, err, "%v", c.in)
		assert.Equal(t, `{"v":`+c.want+`}`, got, "%#v", c.in)
	}
	for _, bad := range []any{math.NaN(), math.Inf(1), []any{"ok", map[string]any{"deep": math.Inf(-1)}}} {
		_, err := ParamsJSON(map[string]any{"x": bad})
		assert.ErrorContains(t, err, "render parameters as JSON: x", "%v", bad)
		assert.ErrorContains(t, err, "cannot be written as JSON")
	}
	_, err := ParamsJSON(map[string]any{"x": []any{"ok", math.NaN()}})
	assert.ErrorContains(t, err, "x: [1]: NaN cannot be written as JSON")
}

// The parameters of a loaded file render the same way every time.
func TestParamsJSONFromFile(t *testing.T) {
	f := loadValid(t, "values.yaml")
	a, err := ParamsJSON(byName(t, f, "values").Parameters)
	require.NoError(t, err)
	b, err := ParamsJSON(loadValid(t, "values.yaml").Deployments[0].Parameters)
	require.NoError(t, err)
	assert.Equal(t, a, b)
	assert.Contains(t, a, `"day":"2024-01-01"`)
	assert.Contains(t, a, `"hostile":"quote\" dollar$ `+"`tick`"+` <>& \n newline ünïcødé 🚀 \\ back"`)
}
