package yamlpos

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// problem is a FieldError without its file, which every case shares.
type problem struct {
	line, col int
	path, msg string
}

func problems(t *testing.T, file string, errs []FieldError) []problem {
	t.Helper()
	var out []problem
	for _, e := range errs {
		assert.Equal(t, file, e.Pos.File)
		out = append(out, problem{e.Pos.Line, e.Pos.Col, e.Path, e.Msg})
	}
	return out
}

// top decodes a file under testdata and returns its top-level node.
func top(t *testing.T, path string) *yaml.Node {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	doc, extra, err := Decode(data)
	require.NoError(t, err)
	require.Nil(t, extra)
	return doc.Content[0]
}

// JSONValue keeps each value's YAML type (int64, float64, bool, nil, text for dates),
// applies merge keys and aliases, and refuses, each at its node, what JSON cannot hold.
func TestJSONValue(t *testing.T) {
	for _, tc := range []struct {
		file string
		want any
		errs []problem
	}{
		{"merge.yaml", map[string]any{
			"base":   map[string]any{"region": "eu", "retries": int64(1)},
			"extra":  map[string]any{"retries": int64(2), "tier": "gold"},
			"job":    map[string]any{"region": "eu", "retries": int64(5), "tier": "gold"},
			"single": map[string]any{"retries": int64(2), "tier": "gold"},
			"listed": []any{map[string]any{"region": "eu", "retries": int64(1)}, map[string]any{"a": int64(1)}, map[string]any{"a": int64(1)}},
		}, nil},
		{"typed.yaml", map[string]any{
			"string": "hello", "quoted_number": "1.10", "integer": int64(42), "hex": int64(31), "negative": int64(-7),
			"float": 1.1, "exponent": 1000.0, "yes": "yes", "boolean": true, "nothing": nil, "tilde": nil, "empty": nil,
			"date": "2024-01-31", "datetime": "2024-01-31T09:00:00+01:00", "list": []any{int64(1), "two", 3.5},
		}, nil},
		{"refused.yaml", nil, []problem{
			{2, 1, "dup", `duplicate key "dup" (first at line 1)`},
			{3, 1, "", "keys must be strings, got an integer (quote it)"},
			{4, 6, "inf", ".inf has no JSON form (quote it to pass a string)"},
			{5, 6, "nan", ".nan has no JSON form (quote it to pass a string)"},
			{6, 7, "huge", "integer 99999999999999999999 does not fit in 64 bits (quote it to pass a string)"},
			{7, 9, "binary", "unsupported YAML tag !!binary (use a plain value)"},
			{10, 3, "nested", "keys must be strings, got a boolean (quote it)"},
			{11, 11, "list[1]", ".inf has no JSON form (quote it to pass a string)"},
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "values", tc.file)
			c := NewCollector(path, 1000)
			got, ok := c.JSONValue(top(t, path), "")
			assert.Equal(t, tc.errs, problems(t, path, c.Errors()))
			assert.Equal(t, tc.errs == nil, ok)
			if tc.want != nil {
				assert.Equal(t, tc.want, got)
			}
		})
	}
}

// Mapping gives the explicit keys first, in file order, then the merged ones not
// written explicitly, each entry with the node (and so the position) it was written at.
func TestMappingMergeOrder(t *testing.T) {
	path := filepath.Join("testdata", "values", "merge.yaml")
	c := NewCollector(path, 1000)
	var job *yaml.Node
	for _, e := range c.Mapping(top(t, path), "") {
		if e.Key.Value == "job" {
			job = e.Val
		}
	}
	require.NotNil(t, job)
	type at struct {
		key  string
		line int
	}
	var got []at
	for _, e := range c.Mapping(job, "job") {
		got = append(got, at{e.Key.Value, e.Key.Line})
	}
	assert.Equal(t, []at{{"retries", 9}, {"region", 2}, {"tier", 6}}, got)
	assert.Empty(t, c.Errors())
	assert.Empty(t, c.Mapping(job.Content[1], "job.<<"), "a list is not a mapping")
}

// Str refuses what YAML would have converted; ScalarText prints typed scalars as text;
// KindName says what a node is. Each key of testdata/scalars.yaml is one case.
func TestScalars(t *testing.T) {
	path := filepath.Join("testdata", "scalars.yaml")
	cases := map[string]struct {
		kind, str, strErr, text, textErr string
	}{
		"plain":   {kind: "a string", str: "hello", text: "hello"},
		"quoted":  {kind: "a string", str: "0755", text: "0755"},
		"octal":   {kind: "an integer", strErr: `expected a string, got an integer (quote it: "0755")`, text: "493"}, // YAML 1.1 octal: why Str refuses it
		"version": {kind: "a number", strErr: `expected a string, got a number (quote it: "1.10")`, text: "1.1"},
		"integer": {kind: "an integer", strErr: `expected a string, got an integer (quote it: "42")`, text: "42"},
		"yes":     {kind: "a string", str: "yes", text: "yes"},
		"flag":    {kind: "a boolean", strErr: `expected a string, got a boolean (quote it: "false")`, text: "false"},
		"day":     {kind: "a date", strErr: `expected a string, got a date (quote it: "2024-01-31")`, text: "2024-01-31"},
		"nothing": {kind: "null", strErr: "expected a string, got null", textErr: `missing value (write "" for an empty string)`},
		"list":    {kind: "a list", strErr: "expected a string, got a list", textErr: "expected a string, number or boolean, got a list"},
		"map":     {kind: "a mapping", strErr: "expected a string, got a mapping", textErr: "expected a string, number or boolean, got a mapping"},
		"alias":   {kind: "a string", str: "text", text: "text"},
		"again":   {kind: "a string", str: "text", text: "text"},
		"tagged":  {kind: "a value tagged !!binary", strErr: "expected a string, got a value tagged !!binary", textErr: "unsupported YAML tag !!binary (use a plain value)"},
	}
	c := NewCollector(path, 1000)
	seen := 0
	for _, e := range c.Mapping(top(t, path), "") {
		key := e.Key.Value
		tc, ok := cases[key]
		if !assert.True(t, ok, "no case for %s", key) {
			continue
		}
		seen++
		t.Run(key, func(t *testing.T) {
			assert.Equal(t, tc.kind, KindName(e.Val))
			for _, read := range []struct {
				name, want, wantErr string
				read                func(*Collector, *yaml.Node, string) (string, bool)
			}{
				{"Str", tc.str, tc.strErr, (*Collector).Str},
				{"ScalarText", tc.text, tc.textErr, (*Collector).ScalarText},
			} {
				one := NewCollector(path, 1000)
				got, ok := read.read(one, e.Val, key)
				assert.Equal(t, read.want, got, read.name)
				assert.Equal(t, read.wantErr == "", ok, read.name)
				if read.wantErr != "" {
					assert.Equal(t, []problem{{e.Val.Line, e.Val.Column, key, read.wantErr}}, problems(t, path, one.Errors()), read.name)
				}
			}
		})
	}
	assert.Equal(t, len(cases), seen, "every case has its key in the file")
	assert.Equal(t, "nothing", KindName(nil))
}

// A file of nested aliases (10^5 values once expanded) stops at the budget with one
// problem, where the budget ran out; with room enough it reads.
func TestAliasBudget(t *testing.T) {
	path := filepath.Join("testdata", "alias_bomb.yaml")
	n := top(t, path)
	c := NewCollector(path, 1000)
	_, ok := c.JSONValue(n, "")
	assert.False(t, ok)
	errs := problems(t, path, c.Errors())
	require.Len(t, errs, 1)
	assert.Equal(t, "too many nodes after expanding aliases", errs[0].msg)
	// Reading the top, l0 and l1 costs 124 units, l2 1 more and each *l1 in it 111
	// (the alias, and 11 for each *l0): unit 1001 is the 9th x of l0 (line 1, col 34)
	// reached as l2[7][8][8].
	assert.Equal(t, problem{1, 34, "l2[7][8][8]", "too many nodes after expanding aliases"}, errs[0])

	c = NewCollector(path, 200000)
	v, ok := c.JSONValue(n, "")
	assert.True(t, ok)
	assert.Empty(t, c.Errors())
	assert.Len(t, v.(map[string]any)["l4"], 10)
}

func TestPosAndFieldError(t *testing.T) {
	e := FieldError{Pos: Pos{File: "f.yaml", Line: 3, Col: 7}, Path: "a.b", Msg: "expected x"}
	assert.Equal(t, "f.yaml:3:7: a.b: expected x", e.Error())
	assert.Equal(t, "note: f.yaml:3:7: a.b: expected x", e.Note())
	assert.Equal(t, "f.yaml: expected x", FieldError{Pos: Pos{File: "f.yaml"}, Msg: "expected x"}.Error())
	assert.Equal(t, "d[2].e", Join(Index("d", 2), "e"))
	assert.Equal(t, "e", Join("", "e"))
}
