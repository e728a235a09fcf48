package fakedagger

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

//go:embed schema.graphqls
var schemaSDL string

// types is the schema by type name. The engine parses queries with the same
// library (gqlparser), so parse errors and locations come out identical.
var types = func() map[string]*ast.Definition {
	doc, err := parser.ParseSchema(&ast.Source{Name: "schema.graphqls", Input: schemaSDL})
	if err != nil {
		panic(err)
	}
	m := map[string]*ast.Definition{}
	for _, d := range doc.Definitions {
		m[d.Name] = d
	}
	for _, n := range []string{"String", "Int", "Float", "Boolean"} {
		m[n] = &ast.Definition{Kind: ast.Scalar, Name: n}
	}
	return m
}()

// sel is one field of a parsed, validated query, with its arguments already
// decoded into recipe form.
type sel struct {
	key   string // alias or field name: the key in the response
	field string
	args  []arg
	typ   string // named return type
	obj   bool   // returns an object (the chain goes on) rather than a leaf
	sub   []*sel
}

// parseQuery parses and validates the query. The code says how the engine
// reports a failure: 422 with GRAPHQL_PARSE_FAILED or
// GRAPHQL_VALIDATION_FAILED, or "" for an argument it cannot decode (an ID),
// which it answers with 200.
func parseQuery(query string) ([]*sel, gqlerror.List, string) {
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		var list gqlerror.List
		if ge, ok := err.(*gqlerror.Error); ok {
			list = gqlerror.List{ge}
		} else {
			list = gqlerror.List{gqlerror.Wrap(err)}
		}
		return nil, list, "GRAPHQL_PARSE_FAILED"
	}
	if len(doc.Operations) != 1 || doc.Operations[0].Operation != ast.Query || len(doc.Operations[0].VariableDefinitions) > 0 || len(doc.Fragments) > 0 {
		return nil, gqlerror.List{gqlerror.Errorf("fakedagger: only a single query without variables or fragments is supported")}, "GRAPHQL_VALIDATION_FAILED"
	}
	var errs gqlerror.List
	validate(doc.Operations[0].SelectionSet, types["Query"], &errs)
	if len(errs) > 0 {
		return nil, errs, "GRAPHQL_VALIDATION_FAILED"
	}
	sels, err := resolveSelections(doc.Operations[0].SelectionSet)
	if err != nil {
		return nil, gqlerror.List{{Message: "query:\n" + query + "\n\nerror: parse selections: " + err.Error()}}, ""
	}
	return sels, nil, ""
}

func errAt(pos *ast.Position, format string, args ...any) *gqlerror.Error {
	e := gqlerror.Errorf(format, args...)
	if pos != nil {
		e.Locations = []gqlerror.Location{{Line: pos.Line, Column: pos.Column}}
	}
	return e
}

// validate checks what gqlparser's validator checks for this subset, with
// its messages: known fields and arguments, required arguments, leaf and
// object selections, literal kinds. It sets each field's Definition.
func validate(set ast.SelectionSet, parent *ast.Definition, errs *gqlerror.List) {
	for _, s := range set {
		f, ok := s.(*ast.Field)
		if !ok {
			*errs = append(*errs, errAt(s.GetPosition(), "fakedagger: fragments are not supported"))
			continue
		}
		def := parent.Fields.ForName(f.Name)
		if def == nil {
			*errs = append(*errs, errAt(f.Position, "Cannot query field \"%s\" on type \"%s\".", f.Name, parent.Name))
			continue
		}
		f.Definition = def
		for _, a := range f.Arguments {
			ad := def.Arguments.ForName(a.Name)
			if ad == nil {
				*errs = append(*errs, errAt(a.Position, "Unknown argument \"%s\" on field \"%s.%s\".", a.Name, parent.Name, f.Name))
				continue
			}
			checkValue(a.Value, ad.Type, errs)
		}
		for _, ad := range def.Arguments {
			if ad.Type.NonNull && ad.DefaultValue == nil {
				if a := f.Arguments.ForName(ad.Name); a == nil || a.Value.Kind == ast.NullValue {
					*errs = append(*errs, errAt(f.Position, "Field \"%s\" argument \"%s\" of type \"%s\" is required, but it was not provided.", f.Name, ad.Name, ad.Type.String()))
				}
			}
		}
		td := types[def.Type.Name()]
		switch {
		case td.Kind == ast.Object && len(f.SelectionSet) == 0:
			*errs = append(*errs, errAt(f.Position, "Field \"%s\" of type \"%s\" must have a selection of subfields. Did you mean \"%s { ... }\"?", f.Name, def.Type.String(), f.Name))
		case td.Kind != ast.Object && len(f.SelectionSet) > 0:
			*errs = append(*errs, errAt(f.Position, "Field \"%s\" must not have a selection since type \"%s\" has no subfields.", f.Name, def.Type.String()))
		case td.Kind == ast.Object:
			validate(f.SelectionSet, td, errs)
		}
	}
}

func checkValue(v *ast.Value, t *ast.Type, errs *gqlerror.List) {
	if v.Kind == ast.Variable {
		*errs = append(*errs, errAt(v.Position, "fakedagger: variables are not supported"))
		return
	}
	if v.Kind == ast.NullValue {
		if t.NonNull {
			*errs = append(*errs, errAt(v.Position, "Expected value of type \"%s\", found null.", t.String()))
		}
		return
	}
	if t.Elem != nil {
		if v.Kind != ast.ListValue {
			checkValue(v, t.Elem, errs)
			return
		}
		for _, c := range v.Children {
			checkValue(c.Value, t.Elem, errs)
		}
		return
	}
	td := types[t.Name()]
	ok := true
	switch {
	case td.Kind == ast.Enum:
		ok = v.Kind == ast.EnumValue && td.EnumValues.ForName(v.Raw) != nil
	case td.Kind == ast.InputObject:
		ok = v.Kind == ast.ObjectValue
		for _, c := range v.Children {
			fd := td.Fields.ForName(c.Name)
			if fd == nil {
				*errs = append(*errs, errAt(c.Position, "Field \"%s\" is not defined by type \"%s\".", c.Name, td.Name))
				continue
			}
			checkValue(c.Value, fd.Type, errs)
		}
		for _, fd := range td.Fields {
			if fd.Type.NonNull && v.Children.ForName(fd.Name) == nil && v.Kind == ast.ObjectValue {
				*errs = append(*errs, errAt(v.Position, "Field \"%s.%s\" of required type \"%s\" was not provided.", td.Name, fd.Name, fd.Type.String()))
			}
		}
	case t.Name() == "Int":
		ok = v.Kind == ast.IntValue
	case t.Name() == "Float":
		ok = v.Kind == ast.IntValue || v.Kind == ast.FloatValue
	case t.Name() == "Boolean":
		ok = v.Kind == ast.BooleanValue
	default: // String and the custom scalars (IDs, Platform)
		ok = v.Kind == ast.StringValue || v.Kind == ast.BlockValue
	}
	if !ok {
		*errs = append(*errs, errAt(v.Position, "Expected value of type \"%s\", found %s.", t.String(), v.String()))
	}
}

func resolveSelections(set ast.SelectionSet) ([]*sel, error) {
	var out []*sel
	for _, s := range set {
		f, ok := s.(*ast.Field)
		if !ok {
			return nil, fmt.Errorf("fakedagger: fragments are not supported")
		}
		if f.Name == "__typename" {
			return nil, fmt.Errorf("fakedagger: __typename is not supported")
		}
		def := f.Definition
		r := &sel{key: f.Alias, field: f.Name, typ: def.Type.Name()}
		if r.key == "" {
			r.key = f.Name
		}
		if td := types[r.typ]; td != nil && td.Kind == ast.Object {
			r.obj = true
		}
		for _, ad := range def.Arguments {
			var v value
			if a := f.Arguments.ForName(ad.Name); a != nil {
				cv, err := convertValue(a.Value, ad.Type)
				if err != nil {
					return nil, fmt.Errorf("parse field %q: init arg %q value as %w", f.Name, ad.Name, err)
				}
				v = cv
			} else {
				continue
			}
			if v.Kind == "null" || (ad.DefaultValue != nil && isDefault(v, ad)) {
				continue
			}
			r.args = append(r.args, arg{Name: ad.Name, Value: v})
		}
		sortArgs(r.args)
		sub, err := resolveSelections(f.SelectionSet)
		if err != nil {
			return nil, err
		}
		r.sub = sub
		out = append(out, r)
	}
	return out, nil
}

func isDefault(v value, ad *ast.ArgumentDefinition) bool {
	d, err := convertValue(ad.DefaultValue, ad.Type)
	if err != nil {
		return false
	}
	if v.Kind == "list" && d.Kind == "list" && len(v.L) == 0 && len(d.L) == 0 {
		return true
	}
	return v.String() == d.String()
}

// idError renders like the engine's message for an ID argument it cannot use.
func idError(typeName string, err error) error {
	obj := strings.TrimSuffix(typeName, "ID")
	g := "dagql.ID[*github.com/dagger/dagger/core." + obj + "]"
	return fmt.Errorf("%s (%s!) using %s: %w", g, typeName, g, err)
}

func convertValue(v *ast.Value, t *ast.Type) (value, error) {
	if v == nil || v.Kind == ast.NullValue {
		return value{Kind: "null"}, nil
	}
	if t.Elem != nil {
		if v.Kind != ast.ListValue { // GraphQL input coercion: a single value is a list of one
			e, err := convertValue(v, t.Elem)
			return value{Kind: "list", L: []value{e}}, err
		}
		out := value{Kind: "list", L: []value{}}
		for _, c := range v.Children {
			e, err := convertValue(c.Value, t.Elem)
			if err != nil {
				return value{}, err
			}
			out.L = append(out.L, e)
		}
		return out, nil
	}
	name := t.Name()
	if strings.HasSuffix(name, "ID") {
		r, err := decodeID(v.Raw)
		if err != nil {
			return value{}, idError(name, err)
		}
		if want := strings.TrimSuffix(name, "ID"); r.Type != want {
			return value{}, idError(name, fmt.Errorf("expected %s ID, got %s ID", want, r.Type))
		}
		return value{Kind: "ref", R: &r}, nil
	}
	switch v.Kind {
	case ast.StringValue, ast.BlockValue:
		return value{Kind: "string", S: v.Raw}, nil
	case ast.IntValue:
		if name == "Float" {
			f, err := strconv.ParseFloat(v.Raw, 64)
			return value{Kind: "float", F: f}, err
		}
		i, err := strconv.ParseInt(v.Raw, 10, 64)
		return value{Kind: "int", I: i}, err
	case ast.FloatValue:
		f, err := strconv.ParseFloat(v.Raw, 64)
		return value{Kind: "float", F: f}, err
	case ast.BooleanValue:
		return value{Kind: "bool", B: v.Raw == "true"}, nil
	case ast.EnumValue:
		return value{Kind: "enum", S: v.Raw}, nil
	case ast.ObjectValue:
		td := types[name]
		out := value{Kind: "object"}
		for _, c := range v.Children {
			fd := td.Fields.ForName(c.Name)
			e, err := convertValue(c.Value, fd.Type)
			if err != nil {
				return value{}, err
			}
			out.O = append(out.O, arg{Name: c.Name, Value: e})
		}
		sortArgs(out.O)
		return out, nil
	}
	return value{}, fmt.Errorf("fakedagger: unsupported value %q", v.Raw)
}
