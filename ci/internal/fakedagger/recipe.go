package fakedagger

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
)

// A recipe is the call chain that produced an object, rooted at Query, with
// loadXFromID calls already replaced by the chain inside the ID. Like the
// engine's IDs it is self-contained, so an ID can be decoded without server
// state, and two chains that do the same thing have the same recipe: arguments
// are sorted and arguments equal to their schema default are dropped.

type call struct {
	Field string `json:"f"`
	Args  []arg  `json:"a,omitempty"`
}

type arg struct {
	Name  string `json:"n"`
	Value value  `json:"v"`
}

// value is a tagged union of GraphQL input values; Kind names the member.
type value struct {
	Kind string  `json:"k"` // string, int, float, bool, null, enum, list, object, ref
	S    string  `json:"s,omitempty"`
	I    int64   `json:"i,omitempty"`
	F    float64 `json:"f,omitempty"`
	B    bool    `json:"b,omitempty"`
	L    []value `json:"l,omitempty"`
	O    []arg   `json:"o,omitempty"`
	R    *ref    `json:"r,omitempty"`
}

// ref is an object passed by ID: its type and its recipe.
type ref struct {
	Type  string `json:"t"`
	Chain []call `json:"c"`
}

// idMarker makes IDs from anywhere else (a real engine, a typo) undecodable.
const idMarker = "fakedagger/v0.19.7"

type idPayload struct {
	Marker string `json:"m"`
	ref
}

func (r ref) id() string {
	b, err := json.Marshal(idPayload{Marker: idMarker, ref: r})
	if err != nil {
		panic(err) // only plain data in here
	}
	return base64.StdEncoding.EncodeToString(b)
}

var errBadID = errors.New("failed to unmarshal proto: proto: cannot parse invalid wire-format data")

func decodeID(s string) (ref, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return ref{}, errBadID
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p idPayload
	if err := dec.Decode(&p); err != nil || p.Marker != idMarker || p.Type == "" {
		return ref{}, errBadID
	}
	return p.ref, nil
}

func (c call) arg(name string) (value, bool) {
	for _, a := range c.Args {
		if a.Name == name {
			return a.Value, true
		}
	}
	return value{Kind: "null"}, false
}

func (c call) str(name string) string {
	v, _ := c.arg(name)
	return v.S
}

func (c call) strs(name string) []string {
	v, _ := c.arg(name)
	var out []string
	for _, e := range v.L {
		out = append(out, e.S)
	}
	return out
}

func (c call) int(name string) int {
	v, _ := c.arg(name)
	return int(v.I)
}

func (c call) bool(name string) bool {
	v, _ := c.arg(name)
	return v.B
}

// recipeString renders a chain the way a person would read it:
// host.directory(exclude:[".git"],path:"/src").dockerBuild(...). It is the
// cache key of everything the chain produces.
func recipeString(chain []call) string {
	var b strings.Builder
	for i, c := range chain {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(c.Field)
		if len(c.Args) > 0 {
			b.WriteByte('(')
			writeArgs(&b, c.Args)
			b.WriteByte(')')
		}
	}
	return b.String()
}

func writeArgs(b *strings.Builder, args []arg) {
	for i, a := range args {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(a.Name)
		b.WriteByte(':')
		writeValue(b, a.Value)
	}
}

func writeValue(b *strings.Builder, v value) {
	switch v.Kind {
	case "string":
		b.WriteString(strconv.Quote(v.S))
	case "int":
		b.WriteString(strconv.FormatInt(v.I, 10))
	case "float":
		b.WriteString(strconv.FormatFloat(v.F, 'g', -1, 64))
	case "bool":
		b.WriteString(strconv.FormatBool(v.B))
	case "enum":
		b.WriteString(v.S)
	case "list":
		b.WriteByte('[')
		for i, e := range v.L {
			if i > 0 {
				b.WriteByte(',')
			}
			writeValue(b, e)
		}
		b.WriteByte(']')
	case "object":
		b.WriteByte('{')
		writeArgs(b, v.O)
		b.WriteByte('}')
	case "ref":
		b.WriteByte('<')
		b.WriteString(recipeString(v.R.Chain))
		b.WriteByte('>')
	default:
		b.WriteString("null")
	}
}

func digestHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func sortArgs(args []arg) {
	sort.Slice(args, func(i, j int) bool { return args[i].Name < args[j].Name })
}

func (v value) String() string {
	var b strings.Builder
	writeValue(&b, v)
	return b.String()
}
