package yamlpos

import (
	"fmt"
	"sort"

	"gopkg.in/yaml.v3"
)

// Collector gathers every problem of one file, the way Kubernetes' field.ErrorList does,
// so a user fixes a file in one round instead of one error per run. Its readers (Mapping,
// Str, JSONValue, ...) report what they refuse at the node that holds it.
type Collector struct {
	file string
	errs []FieldError
	// notes are what validation leaves to a later step: not errors.
	notes []FieldError
	// budget bounds the work spent expanding aliases, so a hostile file made of
	// nested aliases ("billion laughs") cannot make loading explode.
	budget    int
	overspent bool
}

// NewCollector collects the problems of file; budget is how many mappings and values
// the readers may visit, aliases expanded, before they report "too many nodes".
func NewCollector(file string, budget int) *Collector {
	return &Collector{file: file, budget: budget}
}

// File is the file the problems are reported in.
func (c *Collector) File() string { return c.file }

// Pos is where n is in the file; the file alone for a nil node.
func (c *Collector) Pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: c.file}
	}
	return Pos{File: c.file, Line: n.Line, Col: n.Column}
}

// Add reports a problem at n.
func (c *Collector) Add(n *yaml.Node, path, format string, args ...any) {
	c.errs = append(c.errs, FieldError{Pos: c.Pos(n), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Note records, at n, something left to a later step; it does not fail the file.
func (c *Collector) Note(n *yaml.Node, path, format string, args ...any) {
	c.notes = append(c.notes, FieldError{Pos: c.Pos(n), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Append reports a problem placed without a node (a syntax error, an empty file).
func (c *Collector) Append(e FieldError) { c.errs = append(c.errs, e) }

// Errors are the problems reported so far, in file order.
func (c *Collector) Errors() []FieldError { return sortByPos(c.errs) }

// Notes are the notes recorded so far, in file order.
func (c *Collector) Notes() []FieldError { return sortByPos(c.notes) }

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
func (c *Collector) spend() bool {
	c.budget--
	return c.budget >= 0
}

// overBudget reports the exhausted budget once, at the node where it ran out.
func (c *Collector) overBudget(n *yaml.Node, path string) {
	if !c.overspent {
		c.overspent = true
		c.Add(n, path, "too many nodes after expanding aliases")
	}
}

// Resolve follows aliases to the node they name.
func Resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// Entry is one key/value pair of a mapping after merge keys are applied.
type Entry struct {
	Key, Val *yaml.Node
}

// Mapping returns the entries of a mapping node in file order, with `<<` merge keys
// expanded (explicit keys win over merged ones, earlier merge sources over later ones)
// and duplicate explicit keys reported. Keys are compared by their scalar text. Anything
// but a mapping gives no entries.
func (c *Collector) Mapping(n *yaml.Node, path string) []Entry {
	return c.mappingDepth(n, path, 0)
}

func (c *Collector) mappingDepth(n *yaml.Node, path string, depth int) []Entry {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode || depth > 20 {
		return nil
	}
	if !c.spend() {
		c.overBudget(n, path)
		return nil
	}
	var explicit, merged []Entry
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			for _, src := range mergeSources(v) {
				merged = append(merged, c.mappingDepth(src, path, depth+1)...)
			}
			continue
		}
		rk := Resolve(k)
		if rk.Kind == yaml.ScalarNode {
			if first, dup := seen[rk.Value]; dup {
				c.Add(k, Join(path, rk.Value), "duplicate key %q (first at line %d)", rk.Value, first.Line)
				continue
			}
			seen[rk.Value] = k
		}
		explicit = append(explicit, Entry{k, v})
	}
	out := explicit
	for _, e := range merged {
		rk := Resolve(e.Key)
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
	v = Resolve(v)
	if v == nil {
		return nil
	}
	if v.Kind == yaml.SequenceNode {
		var out []*yaml.Node
		for _, s := range v.Content {
			out = append(out, Resolve(s))
		}
		return out
	}
	return []*yaml.Node{v}
}

// Join appends a key to a field path.
func Join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Index appends a list index to a field path.
func Index(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

// KindName says what a node is in the words a user reading an error expects.
func KindName(n *yaml.Node) string {
	n = Resolve(n)
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

// IsNull is true for an absent node and for null (`~`, `null`, nothing after the colon).
func IsNull(n *yaml.Node) bool {
	n = Resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}
