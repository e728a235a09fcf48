package yamlpos

import (
	"fmt"
	"math"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Str reads a string scalar. Numbers, booleans and dates are refused rather than
// converted, because YAML would silently change their text (1.10 -> 1.1, 0755 -> 493).
func (c *Collector) Str(n *yaml.Node, path string) (string, bool) {
	r := Resolve(n)
	if r.Kind == yaml.ScalarNode && r.ShortTag() == "!!str" {
		return r.Value, true
	}
	if r.Kind == yaml.ScalarNode {
		switch r.ShortTag() {
		case "!!int", "!!float", "!!bool", "!!timestamp":
			c.Add(n, path, "expected a string, got %s (quote it: %q)", KindName(r), r.Value)
			return "", false
		}
	}
	c.Add(n, path, "expected a string, got %s", KindName(r))
	return "", false
}

// CheckedStr reads a string and runs check on it; the error check returns is reported
// at n.
func (c *Collector) CheckedStr(n *yaml.Node, path string, check func(string) error) (string, bool) {
	text, ok := c.Str(n, path)
	if !ok {
		return "", false
	}
	if err := check(text); err != nil {
		c.Add(n, path, "%s", err)
		return "", false
	}
	return text, true
}

var integerText = regexp.MustCompile(`^[-+]?[0-9][0-9_]*$`)

// JSONValue turns a YAML node into a JSON-ready value (string, bool, int64, float64,
// nil, []any, map[string]any). Dates stay the text the user wrote: a parameter typed
// `date` receives "2024-01-01", exactly what a JSON document would carry. Mapping keys
// must be strings; values JSON cannot hold are refused.
func (c *Collector) JSONValue(n *yaml.Node, path string) (any, bool) {
	return c.jsonValue(n, path, 0)
}

func (c *Collector) jsonValue(n *yaml.Node, path string, depth int) (any, bool) {
	if !c.spend() {
		c.overBudget(n, path)
		return nil, false
	}
	if depth > 100 {
		c.Add(n, path, "nested too deeply")
		return nil, false
	}
	r := Resolve(n)
	if r == nil {
		return nil, true
	}
	switch r.Kind {
	case yaml.ScalarNode:
		return c.jsonScalar(n, r, path)
	case yaml.SequenceNode:
		out := make([]any, 0, len(r.Content))
		ok := true
		for i, item := range r.Content {
			v, good := c.jsonValue(item, Index(path, i), depth+1)
			ok = ok && good
			out = append(out, v)
		}
		return out, ok
	case yaml.MappingNode:
		out := map[string]any{}
		ok := true
		for _, e := range c.Mapping(r, path) {
			rk := Resolve(e.Key)
			if rk.Kind != yaml.ScalarNode || rk.ShortTag() != "!!str" {
				c.Add(e.Key, path, "keys must be strings, got %s (quote it)", KindName(rk))
				ok = false
				continue
			}
			v, good := c.jsonValue(e.Val, Join(path, rk.Value), depth+1)
			ok = ok && good
			out[rk.Value] = v
		}
		return out, ok
	}
	c.Add(n, path, "unsupported YAML node")
	return nil, false
}

// JSONScalar is JSONValue of a scalar node (after aliases).
func (c *Collector) JSONScalar(n *yaml.Node, path string) (any, bool) {
	return c.jsonScalar(n, Resolve(n), path)
}

// jsonScalar reads the resolved scalar r and reports its problems at n.
func (c *Collector) jsonScalar(n, r *yaml.Node, path string) (any, bool) {
	switch r.ShortTag() {
	case "!!null":
		return nil, true
	case "!!str", "!!timestamp":
		return r.Value, true
	case "!!bool":
		var b bool
		if err := r.Decode(&b); err != nil {
			c.Add(n, path, "invalid boolean %q", r.Value)
			return nil, false
		}
		return b, true
	case "!!int":
		var v any
		if err := r.Decode(&v); err != nil {
			c.Add(n, path, "invalid integer %q", r.Value)
			return nil, false
		}
		switch x := v.(type) {
		case int:
			return int64(x), true
		case int64:
			return x, true
		case uint64:
			if x <= math.MaxInt64 {
				return int64(x), true
			}
		}
		c.Add(n, path, "integer %s does not fit in 64 bits (quote it to pass a string)", r.Value)
		return nil, false
	case "!!float":
		if integerText.MatchString(r.Value) {
			c.Add(n, path, "integer %s does not fit in 64 bits (quote it to pass a string)", r.Value)
			return nil, false
		}
		var f float64
		if err := r.Decode(&f); err != nil {
			c.Add(n, path, "invalid number %q", r.Value)
			return nil, false
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			c.Add(n, path, "%s has no JSON form (quote it to pass a string)", r.Value)
			return nil, false
		}
		return f, true
	}
	c.Add(n, path, "unsupported YAML tag %s (use a plain value)", r.ShortTag())
	return nil, false
}

// ScalarText renders a scalar for a place that takes a string (a command line's
// key=value). Integers print in decimal, floats in shortest form, booleans as
// true/false, dates and strings as written; null and collections are refused.
func (c *Collector) ScalarText(n *yaml.Node, path string) (string, bool) {
	r := Resolve(n)
	if r.Kind != yaml.ScalarNode {
		c.Add(n, path, "expected a string, number or boolean, got %s", KindName(r))
		return "", false
	}
	if r.ShortTag() == "!!null" {
		c.Add(n, path, `missing value (write "" for an empty string)`)
		return "", false
	}
	v, ok := c.jsonScalar(n, r, path)
	if !ok {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	}
	return fmt.Sprint(v), true
}
