package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/acme-data/prefect-flows/ci/internal/shareddata"
	"github.com/acme-data/prefect-flows/ci/yamlpos"
)

// repoRoot walks up from the test's directory to the one holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := shareddata.RepoRoot()
	require.NoError(t, err)
	return dir
}

const schemaComment = "# yaml-language-server: $schema=./schema/prefect-deployments.schema.json"

// schemaDoc is the JSON Schema of the file, decoded.
func schemaDoc(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "schema", "prefect-deployments.schema.json"))
	require.NoError(t, err)
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&doc))
	return doc
}

// yamlToJSON reads a YAML file the way an editor's schema check sees it (timestamps stay
// strings, YAML 1.2), using the loader's own node conversion.
func yamlToJSON(t *testing.T, path string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(data, &doc))
	c := yamlpos.NewCollector(path, maxNodes)
	v, ok := c.JSONValue(doc.Content[0], "")
	require.True(t, ok, "%v", c.Errors())
	return v
}

// The example files carry the schema comment, satisfy the schema and load without
// errors, their entrypoints resolved against the repository's flows/ (as validate does):
// the repository's own (Prefect 2) and the Prefect 3 ones beside them in examples/prefect3,
// which the README's switch to Prefect 3 copies over them.
func TestExampleFiles(t *testing.T) {
	root := repoRoot(t)
	schema := schemaDoc(t)
	for _, tc := range []struct {
		dir, env string
		major    Major
	}{
		{".", "dev", Prefect2}, {".", "prod", Prefect2},
		{"examples/prefect3", "dev", Prefect3}, {"examples/prefect3", "prod", Prefect3},
	} {
		t.Run(tc.dir+"/"+tc.env, func(t *testing.T) {
			path := filepath.Join(root, tc.dir, EnvFile(tc.env))
			data, err := os.ReadFile(path)
			require.NoError(t, err, "the example file must exist")
			assert.True(t, strings.HasPrefix(string(data), schemaComment+"\n"), "the first line must be %q", schemaComment)
			errs := (&jsonSchema{root: schema}).validate(schema, yamlToJSON(t, path), "")
			assert.Empty(t, errs, "schema violations")
			f, err := Load(path, LoadOptions{RepoRoot: root})
			require.NoError(t, err)
			assert.Equal(t, tc.env, f.Env())
			assert.Equal(t, tc.major, f.Prefect, f.PrefectFrom)
			assert.NotEmpty(t, f.Deployments)
		})
	}
}

// The Prefect 3 example lists the same deployments, with the same entrypoints and
// parameters, as the repository's file it replaces: switching changes how they run,
// not what runs.
func TestPrefect3ExampleMatchesTheRepository(t *testing.T) {
	root := repoRoot(t)
	for _, env := range []string{"dev", "prod"} {
		t.Run(env, func(t *testing.T) {
			p2, err := Load(filepath.Join(root, EnvFile(env)), LoadOptions{RepoRoot: root})
			require.NoError(t, err)
			p3, err := Load(filepath.Join(root, "examples", "prefect3", EnvFile(env)), LoadOptions{RepoRoot: root})
			require.NoError(t, err)
			require.Len(t, p3.Deployments, len(p2.Deployments))
			for i, d := range p2.Deployments {
				e := p3.Deployments[i]
				assert.Equal(t, d.Name, e.Name)
				assert.Equal(t, d.Entrypoint, e.Entrypoint, d.Name)
				assert.Equal(t, d.Parameters, e.Parameters, d.Name)
				assert.Equal(t, d.Tags, e.Tags, d.Name)
			}
		})
	}
}

// The test files the loader accepts satisfy the schema too, and some the loader refuses
// are refused by the schema, so the schema is neither too strict nor toothless.
func TestSchemaAgreesWithLoader(t *testing.T) {
	schema := schemaDoc(t)
	valid, err := filepath.Glob(filepath.Join("testdata", "valid", "*.yaml"))
	require.NoError(t, err)
	for _, path := range valid {
		errs := (&jsonSchema{root: schema}).validate(schema, yamlToJSON(t, path), "")
		assert.Empty(t, errs, path)
	}
	for _, name := range []string{"unknown_keys.yaml", "two_schedule_kinds.yaml", "anchor_without_interval.yaml", "bad_tags.yaml",
		"bad_block.yaml", "bad_entrypoint.yaml", "missing_required.yaml", "bad_interval.yaml", "wrong_types.yaml", "bad_defaults.yaml",
		"bad_work_pool.yaml", "bad_name.yaml", "missing_deployments.yaml", "bad_overrides.yaml",
		"bad_prefect_key.yaml", "bad_prefect_key_string.yaml", "prefect3_bad_schedules.yaml"} {
		path := filepath.Join("testdata", "invalid", name)
		errs := (&jsonSchema{root: schema}).validate(schema, yamlToJSON(t, path), "")
		assert.NotEmpty(t, errs, "the schema should refuse %s", name)
	}
}

// The property names of each schema object are exactly the keys the loader accepts.
func TestSchemaMatchesLoaderKeys(t *testing.T) {
	schema := schemaDoc(t)
	defs := schema["$defs"].(map[string]any)
	props := func(obj any) []string {
		var out []string
		for k := range obj.(map[string]any)["properties"].(map[string]any) {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	sorted := func(s []string) []string {
		out := append([]string(nil), s...)
		sort.Strings(out)
		return out
	}
	assert.Equal(t, sorted(topKeys), props(schema), "top level")
	assert.Equal(t, sorted(deployKeys), props(defs["deployment"]), "deployment")
	assert.Equal(t, sorted(defaultsKeys), props(defs["defaults"]), "defaults")
	assert.Equal(t, sorted(scheduleKeys), props(defs["schedule"]), "schedule")
	assert.Equal(t, sorted(workPoolKeys), props(defs["workPool"]), "work_pool")
	assert.Equal(t, sorted(scheduleItemKeys), props(defs["scheduleItem"]), "schedules item")
	var prefect []string
	for _, v := range schema["properties"].(map[string]any)["prefect"].(map[string]any)["enum"].([]any) {
		prefect = append(prefect, v.(json.Number).String())
	}
	assert.Equal(t, []string{"2", "3"}, prefect, "prefect: the majors the loader knows")
	// A declared major refuses in the schema exactly the keys the loader gives to the other.
	only := map[Major][]string{}
	for place, keys := range onlyMajor {
		for k, o := range keys {
			if place == "work_pool" {
				k = "work_pool." + k
			}
			if place != "top" {
				only[o.major] = append(only[o.major], k)
			}
		}
	}
	refused := func(def string) []string {
		out := props(defs[def])
		for i, k := range out {
			if k == "work_pool" {
				out[i] = "work_pool." + strings.Join(props(defs[def].(map[string]any)["properties"].(map[string]any)["work_pool"]), ",")
			}
		}
		sort.Strings(out)
		return out
	}
	assert.Equal(t, sorted(only[Prefect2]), refused("prefect3Only"), "keys a prefect: 3 file refuses")
	assert.Equal(t, sorted(only[Prefect3]), refused("prefect2Only"), "keys a prefect: 2 file refuses")
	for _, name := range []string{"deployment", "defaults", "schedule", "scheduleItem", "workPool"} {
		assert.Equal(t, false, defs[name].(map[string]any)["additionalProperties"], "%s must refuse unknown keys", name)
	}
	// Every property carries a description for editors to show (directly or via $ref).
	var walk func(path string, s any)
	walk = func(path string, s any) {
		m, ok := s.(map[string]any)
		if !ok {
			return
		}
		if ps, ok := m["properties"].(map[string]any); ok {
			for k, p := range ps {
				pm := p.(map[string]any)
				_, has := pm["description"]
				if ref, ok := pm["$ref"].(string); ok && !has {
					_, has = defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)["description"]
				}
				assert.True(t, has, "%s.%s has no description", path, k)
			}
		}
		for k, d := range defs {
			if path == "" {
				walk(k, d)
			}
		}
	}
	walk("", schema)
}

// jsonSchema validates the subset of JSON Schema (2020-12) the schema file uses: type,
// properties, required, additionalProperties, enum, const, pattern, minLength, minimum,
// items, oneOf, anyOf, allOf, if/then, not, dependentRequired and $ref to #/$defs. An unknown keyword fails the
// test, so the schema cannot use something this checker silently ignores.
type jsonSchema struct{ root map[string]any }

var schemaKeywords = map[string]bool{
	"$schema": true, "$id": true, "title": true, "description": true, "$defs": true,
	"type": true, "properties": true, "required": true, "additionalProperties": true, "enum": true, "pattern": true,
	"minLength": true, "minimum": true, "items": true, "oneOf": true, "anyOf": true, "dependentRequired": true, "$ref": true,
	"const": true, "allOf": true, "if": true, "then": true, "not": true,
}

func (s *jsonSchema) validate(schema map[string]any, v any, path string) []string {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	for k := range schema {
		if !schemaKeywords[k] {
			fail("schema keyword %q is not supported by the test validator", k)
		}
	}
	if ref, ok := schema["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/$defs/")
		def, ok := s.root["$defs"].(map[string]any)[name].(map[string]any)
		if !ok {
			fail("unresolved $ref %s", ref)
		} else {
			errs = append(errs, s.validate(def, v, path)...)
		}
	}
	if t, ok := schema["type"]; ok {
		var types []string
		switch x := t.(type) {
		case string:
			types = []string{x}
		case []any:
			for _, y := range x {
				types = append(types, y.(string))
			}
		}
		matched := false
		for _, ty := range types {
			if typeMatches(ty, v) {
				matched = true
			}
		}
		if !matched {
			fail("type %v expected, got %T", types, v)
			return errs
		}
	}
	if enum, ok := schema["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if fmt.Sprint(e) == fmt.Sprint(v) {
				found = true
			}
		}
		if !found {
			fail("%v not in enum %v", v, enum)
		}
	}
	if c, ok := schema["const"]; ok && fmt.Sprint(c) != fmt.Sprint(v) {
		fail("%v is not %v", v, c)
	}
	if not, ok := schema["not"].(map[string]any); ok && len(s.validate(not, v, path)) == 0 {
		fail("must not match %v", not)
	}
	for _, sub := range mapsOf(schema["allOf"]) {
		errs = append(errs, s.validate(sub, v, path)...)
	}
	if cond, ok := schema["if"].(map[string]any); ok && len(s.validate(cond, v, path)) == 0 {
		if then, ok := schema["then"].(map[string]any); ok {
			errs = append(errs, s.validate(then, v, path)...)
		}
	}
	if str, ok := v.(string); ok {
		if p, ok := schema["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			fail("%q does not match %s", str, p)
		}
		if n, ok := schema["minLength"].(json.Number); ok {
			if want, _ := n.Int64(); int64(len([]rune(str))) < want {
				fail("%q is shorter than %d", str, want)
			}
		}
	}
	if n, ok := schema["minimum"].(json.Number); ok {
		min, _ := n.Float64()
		switch x := v.(type) {
		case int64:
			if float64(x) < min {
				fail("%d < minimum %v", x, min)
			}
		case float64:
			if x < min {
				fail("%v < minimum %v", x, min)
			}
		}
	}
	if arr, ok := v.([]any); ok {
		if items, ok := schema["items"].(map[string]any); ok {
			for i, item := range arr {
				errs = append(errs, s.validate(items, item, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	}
	if obj, ok := v.(map[string]any); ok {
		props, _ := schema["properties"].(map[string]any)
		for _, r := range asStrings(schema["required"]) {
			if _, ok := obj[r]; !ok {
				fail("missing required %q", r)
			}
		}
		for k, dep := range mapOf(schema["dependentRequired"]) {
			if _, ok := obj[k]; ok {
				for _, r := range asStrings(dep) {
					if _, ok := obj[r]; !ok {
						fail("%q requires %q", k, r)
					}
				}
			}
		}
		for k, val := range obj {
			if p, ok := props[k].(map[string]any); ok {
				errs = append(errs, s.validate(p, val, yamlpos.Join(path, k))...)
				continue
			}
			switch ap := schema["additionalProperties"].(type) {
			case bool:
				if !ap {
					fail("property %q is not allowed", k)
				}
			case map[string]any:
				errs = append(errs, s.validate(ap, val, yamlpos.Join(path, k))...)
			}
		}
	}
	if anyOf, ok := schema["anyOf"].([]any); ok {
		n := 0
		for _, sub := range anyOf {
			if len(s.validate(sub.(map[string]any), v, path)) == 0 {
				n++
			}
		}
		if n == 0 {
			fail("matches none of anyOf")
		}
	}
	if one, ok := schema["oneOf"].([]any); ok {
		n := 0
		for _, sub := range one {
			if len(s.validate(sub.(map[string]any), v, path)) == 0 {
				n++
			}
		}
		if n != 1 {
			fail("matches %d of oneOf, want exactly 1", n)
		}
	}
	return errs
}

func typeMatches(ty string, v any) bool {
	switch ty {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "integer":
		_, ok := v.(int64)
		return ok
	case "number":
		switch v.(type) {
		case int64, float64:
			return true
		}
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	}
	return false
}

func asStrings(v any) []string {
	var out []string
	if arr, ok := v.([]any); ok {
		for _, x := range arr {
			out = append(out, x.(string))
		}
	}
	return out
}

func mapsOf(v any) []map[string]any {
	var out []map[string]any
	if arr, ok := v.([]any); ok {
		for _, x := range arr {
			out = append(out, x.(map[string]any))
		}
	}
	return out
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// The validator itself must catch what it claims to, or the example-file test proves nothing.
func TestSchemaValidatorCatches(t *testing.T) {
	schema := schemaDoc(t)
	s := &jsonSchema{root: schema}
	ok := map[string]any{"ib-block": "ecs-task/dev", "deployments": []any{map[string]any{"name": "a", "entrypoint": "flows/a.py:a"}}}
	assert.Empty(t, s.validate(schema, ok, ""))
	ok3 := map[string]any{"prefect": int64(3), "deployments": []any{map[string]any{"name": "a", "entrypoint": "flows/a.py:a",
		"work_pool": map[string]any{"name": "p", "job_variables": map[string]any{"cpu": int64(1024), "env": map[string]any{"A": "1"}}},
		"schedules": []any{map[string]any{"interval": "90m", "anchor-date": "2024-01-01", "active": false}, map[string]any{"cron": "0 6 * * *"}},
		"paused":    true, "concurrency_limit": int64(2), "enforce_parameter_schema": false}}}
	assert.Empty(t, s.validate(schema, ok3, ""))
	ok2 := map[string]any{"prefect": int64(2), "ib-block": "a/b", "defaults": nil, "deployments": []any{map[string]any{"name": "a", "entrypoint": "flows/a.py:a",
		"infra_overrides": map[string]any{"cpu": int64(1)}, "is_schedule_active": true, "work_pool": map[string]any{"name": "p"}}}}
	assert.Empty(t, s.validate(schema, ok2, ""))
	bad := []map[string]any{
		{"deployments": "x"},
		{"deployments": []any{map[string]any{"name": "a"}}},
		{"deployments": []any{map[string]any{"name": "a", "entrypoint": "flows/a.py:a", "shedule": nil}}},
		{"deployments": []any{}, "ib-block": "Bad/Block"},
		{"deployments": []any{map[string]any{"name": "a", "entrypoint": "a.py:a", "schedule": map[string]any{"cron": "x", "rrule": "y"}}}},
		{"deployments": []any{map[string]any{"name": "a", "entrypoint": "a.py:a", "schedule": map[string]any{"interval": int64(0)}}}},
		{"deployments": []any{map[string]any{"name": "a", "entrypoint": "a.py:a", "schedule": map[string]any{"cron": "x", "anchor-date": "2024-01-01"}}}},
		{"deployments": []any{map[string]any{"name": "a", "entrypoint": "a.py:a", "tags": []any{"a,b"}}}},
		{"deployments": []any{map[string]any{"name": "a", "entrypoint": "a.py:a", "work_pool": map[string]any{"name": ""}}}},
		{"deployments": []any{map[string]any{"name": "a", "entrypoint": "a.py:a", "infra_overrides": map[string]any{"x": []any{}}}}},
		{"deployments": []any{}, "prefect": int64(4)},
		{"deployments": []any{}, "prefect": "3"},
		{"deployments": []any{map[string]any{"name": "a", "entrypoint": "a.py:a", "paused": "yes"}}},
		{"deployments": []any{map[string]any{"name": "a", "entrypoint": "a.py:a", "concurrency_limit": int64(0)}}},
		{"deployments": []any{map[string]any{"name": "a", "entrypoint": "a.py:a", "enforce_parameter_schema": int64(1)}}},
		{"deployments": []any{map[string]any{"name": "a", "entrypoint": "a.py:a", "schedules": map[string]any{"cron": "x"}}}},
		{"deployments": []any{map[string]any{"name": "a", "entrypoint": "a.py:a", "schedules": []any{map[string]any{"cron": "x", "interval": int64(5)}}}}},
		{"deployments": []any{map[string]any{"name": "a", "entrypoint": "a.py:a", "schedules": []any{map[string]any{"cron": "x", "active": "no"}}}}},
		{"deployments": []any{map[string]any{"name": "a", "entrypoint": "a.py:a", "schedules": []any{map[string]any{"cron": "x", "anchor-date": "2024-01-01"}}}}},
		{"deployments": []any{map[string]any{"name": "a", "entrypoint": "a.py:a", "schedules": []any{map[string]any{"cron": "x", "slug": "s"}}}}},
		{"deployments": []any{map[string]any{"name": "a", "entrypoint": "a.py:a", "work_pool": map[string]any{"name": "p", "job_variables": []any{}}}}},
		// A declared major refuses the other major's keys.
		{"prefect": int64(3), "ib-block": "a/b", "deployments": []any{}},
		{"prefect": int64(3), "defaults": map[string]any{"is_schedule_active": true}, "deployments": []any{}},
		{"prefect": int64(3), "deployments": []any{map[string]any{"name": "a", "entrypoint": "a.py:a", "infra_overrides": map[string]any{"cpu": int64(1)}}}},
		{"prefect": int64(2), "deployments": []any{map[string]any{"name": "a", "entrypoint": "a.py:a", "paused": true}}},
		{"prefect": int64(2), "defaults": map[string]any{"schedules": []any{}}, "deployments": []any{}},
		{"prefect": int64(2), "deployments": []any{map[string]any{"name": "a", "entrypoint": "a.py:a", "work_pool": map[string]any{"name": "p", "job_variables": map[string]any{}}}}},
	}
	for i, b := range bad {
		assert.NotEmpty(t, s.validate(schema, b, ""), "case %d", i)
	}
}

// The README's Prefect 3 example is the test file, byte for byte, so it always loads.
func TestReadmeShowsPrefect3Example(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	example, err := os.ReadFile(filepath.Join("testdata", "valid", "prefect3.yaml"))
	require.NoError(t, err)
	_, section, found := strings.Cut(string(readme), "\n### Moving to Prefect 3\n")
	require.True(t, found, "README has no section Moving to Prefect 3")
	assert.Contains(t, section, "```yaml\n"+string(example)+"```\n")
	errs := (&jsonSchema{root: schemaDoc(t)}).validate(schemaDoc(t), yamlToJSON(t, filepath.Join("testdata", "valid", "prefect3.yaml")), "")
	assert.Empty(t, errs)
}

// The README's switch to Prefect 3 names every file of examples/prefect3, and the base
// image and pins it gives are the ones examples/prefect3/requirements.txt has.
func TestReadmeSwitchesToPrefect3(t *testing.T) {
	root := repoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	_, section, found := strings.Cut(string(readme), "\n#### Switching this repository to Prefect 3\n")
	require.True(t, found, "README has no section Switching this repository to Prefect 3")
	section, _, _ = strings.Cut(section, "\n#")
	entries, err := os.ReadDir(filepath.Join(root, "examples", "prefect3"))
	require.NoError(t, err)
	for _, e := range entries {
		assert.Contains(t, section, "examples/prefect3/"+e.Name(), "the README's steps must name every example file")
	}
	reqs, err := os.ReadFile(filepath.Join(root, "examples", "prefect3", "requirements.txt"))
	require.NoError(t, err)
	image := regexp.MustCompile(`prefecthq/prefect:[0-9][^ :]*`).FindString(string(reqs))
	require.NotEmpty(t, image, "requirements.txt names its base image")
	assert.Contains(t, section, "BASE_IMAGE="+image)
	for _, pin := range []string{"prefect==", "prefect-aws=="} {
		line := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(pin) + `\S+`).FindString(string(reqs))
		require.NotEmpty(t, line, "requirements.txt pins %s", pin)
		assert.Contains(t, section, "`"+line+"`")
	}
}
