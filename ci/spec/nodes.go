package spec

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"

	"gopkg.in/yaml.v3"
)

// collector gathers every problem of one file, the way Kubernetes' field.ErrorList does,
// so a user fixes a file in one round instead of one error per run.
type collector struct {
	file string
	errs []FieldError
	// notes are what validation leaves to a later step (Prefect's loader): not errors.
	notes []FieldError
	// budget bounds the work spent expanding aliases, so a hostile file made of
	// nested aliases ("billion laughs") cannot make loading explode.
	budget    int
	overspent bool
	// major is the Prefect major the file targets and majorFrom how it was decided
	// ("prefect: 3 at line 1", "inferred from ib-block at line 1", ...).
	major     Major
	majorFrom string
	// majorUnsure means the `prefect:` key is wrong (and reported).
	majorUnsure bool
}

func (c *collector) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: c.file}
	}
	return Pos{File: c.file, Line: n.Line, Col: n.Column}
}

func (c *collector) add(n *yaml.Node, path, format string, args ...any) {
	c.errs = append(c.errs, FieldError{Pos: c.pos(n), Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (c *collector) note(n *yaml.Node, path, format string, args ...any) {
	c.notes = append(c.notes, FieldError{Pos: c.pos(n), Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (c *collector) sorted() []FieldError { return sortByPos(c.errs) }

func sortByPos(list []FieldError) []FieldError {
	out := append([]FieldError(nil), list...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Pos, out[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return out
}

// spend charges one unit of alias-expansion work; false means the file is too large
// to expand and the caller must stop descending.
func (c *collector) spend() bool {
	c.budget--
	return c.budget >= 0
}

// overBudget reports the exhausted budget once, at the node where it ran out.
func (c *collector) overBudget(n *yaml.Node, path string) {
	if !c.overspent {
		c.overspent = true
		c.add(n, path, "too many nodes after expanding aliases")
	}
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// entry is one key/value pair of a mapping after merge keys are applied.
type entry struct {
	key, val *yaml.Node
}

// mapping returns the entries of a mapping node in file order, with `<<` merge keys
// expanded (explicit keys win over merged ones, earlier merge sources over later ones)
// and duplicate explicit keys reported. Keys are compared by their scalar text.
func (c *collector) mapping(n *yaml.Node, path string) []entry {
	return c.mappingDepth(n, path, 0)
}

func (c *collector) mappingDepth(n *yaml.Node, path string, depth int) []entry {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode || depth > 20 {
		return nil
	}
	if !c.spend() {
		c.overBudget(n, path)
		return nil
	}
	var explicit, merged []entry
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			for _, src := range mergeSources(v) {
				merged = append(merged, c.mappingDepth(src, path, depth+1)...)
			}
			continue
		}
		rk := resolve(k)
		if rk.Kind == yaml.ScalarNode {
			if first, dup := seen[rk.Value]; dup {
				c.add(k, join(path, rk.Value), "duplicate key %q (first at line %d)", rk.Value, first.Line)
				continue
			}
			seen[rk.Value] = k
		}
		explicit = append(explicit, entry{k, v})
	}
	out := explicit
	for _, e := range merged {
		rk := resolve(e.key)
		if rk.Kind == yaml.ScalarNode {
			if _, ok := seen[rk.Value]; ok {
				continue
			}
			seen[rk.Value] = rk
		}
		out = append(out, e)
	}
	return out
}

func mergeSources(v *yaml.Node) []*yaml.Node {
	v = resolve(v)
	if v == nil {
		return nil
	}
	if v.Kind == yaml.SequenceNode {
		var out []*yaml.Node
		for _, s := range v.Content {
			out = append(out, resolve(s))
		}
		return out
	}
	return []*yaml.Node{v}
}

// join appends a key to a field path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

// kindName says what a node is in the words a user reading an error expects.
func kindName(n *yaml.Node) string {
	n = resolve(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "a boolean"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!timestamp":
			return "a date"
		case "!!str":
			return "a string"
		default:
			return "a value tagged " + n.ShortTag()
		}
	}
	return "an unexpected node"
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// str reads a string scalar. Numbers, booleans and dates are refused rather than
// converted, because YAML would silently change their text (1.10 -> 1.1, 0755 -> 493).
func (c *collector) str(n *yaml.Node, path string) (string, bool) {
	r := resolve(n)
	if r.Kind == yaml.ScalarNode && r.ShortTag() == "!!str" {
		return r.Value, true
	}
	if r.Kind == yaml.ScalarNode {
		switch r.ShortTag() {
		case "!!int", "!!float", "!!bool", "!!timestamp":
			c.add(n, path, "expected a string, got %s (quote it: %q)", kindName(r), r.Value)
			return "", false
		}
	}
	c.add(n, path, "expected a string, got %s", kindName(r))
	return "", false
}

// checkedStr reads a string and runs check on it; the error check returns is reported
// at n.
func (c *collector) checkedStr(n *yaml.Node, path string, check func(string) error) (string, bool) {
	text, ok := c.str(n, path)
	if !ok {
		return "", false
	}
	if err := check(text); err != nil {
		c.add(n, path, "%s", err)
		return "", false
	}
	return text, true
}

var integerText = regexp.MustCompile(`^[-+]?[0-9][0-9_]*$`)

// jsonValue turns a YAML node into a JSON-ready value (string, bool, int64, float64,
// nil, []any, map[string]any). Dates stay the text the user wrote: a parameter typed
// `date` in the flow receives "2024-01-01", exactly what Prefect's JSON would carry.
func (c *collector) jsonValue(n *yaml.Node, path string, depth int) (any, bool) {
	if !c.spend() {
		c.overBudget(n, path)
		return nil, false
	}
	if depth > 100 {
		c.add(n, path, "nested too deeply")
		return nil, false
	}
	r := resolve(n)
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
			v, good := c.jsonValue(item, index(path, i), depth+1)
			ok = ok && good
			out = append(out, v)
		}
		return out, ok
	case yaml.MappingNode:
		out := map[string]any{}
		ok := true
		for _, e := range c.mapping(r, path) {
			rk := resolve(e.key)
			if rk.Kind != yaml.ScalarNode || rk.ShortTag() != "!!str" {
				c.add(e.key, path, "keys must be strings, got %s (quote it)", kindName(rk))
				ok = false
				continue
			}
			v, good := c.jsonValue(e.val, join(path, rk.Value), depth+1)
			ok = ok && good
			out[rk.Value] = v
		}
		return out, ok
	}
	c.add(n, path, "unsupported YAML node")
	return nil, false
}

func (c *collector) jsonScalar(n, r *yaml.Node, path string) (any, bool) {
	switch r.ShortTag() {
	case "!!null":
		return nil, true
	case "!!str", "!!timestamp":
		return r.Value, true
	case "!!bool":
		var b bool
		if err := r.Decode(&b); err != nil {
			c.add(n, path, "invalid boolean %q", r.Value)
			return nil, false
		}
		return b, true
	case "!!int":
		var v any
		if err := r.Decode(&v); err != nil {
			c.add(n, path, "invalid integer %q", r.Value)
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
		c.add(n, path, "integer %s does not fit in 64 bits (quote it to pass a string)", r.Value)
		return nil, false
	case "!!float":
		if integerText.MatchString(r.Value) {
			c.add(n, path, "integer %s does not fit in 64 bits (quote it to pass a string)", r.Value)
			return nil, false
		}
		var f float64
		if err := r.Decode(&f); err != nil {
			c.add(n, path, "invalid number %q", r.Value)
			return nil, false
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			c.add(n, path, "%s has no JSON form (quote it to pass a string)", r.Value)
			return nil, false
		}
		return f, true
	}
	c.add(n, path, "unsupported YAML tag %s (use a plain value)", r.ShortTag())
	return nil, false
}

// scalarText renders a scalar for a place that takes a string on the command line
// (infra_overrides values). Integers print in decimal, floats in shortest form,
// booleans as true/false, dates and strings as written.
func (c *collector) scalarText(n *yaml.Node, path string) (string, bool) {
	r := resolve(n)
	if r.Kind != yaml.ScalarNode {
		c.add(n, path, "expected a string, number or boolean, got %s", kindName(r))
		return "", false
	}
	if r.ShortTag() == "!!null" {
		c.add(n, path, `missing value (write "" for an empty string)`)
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
