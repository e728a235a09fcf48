package pyflow

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readScanInput reads a Python source of testdata/scan.
func readScanInput(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "scan", name))
	require.NoError(t, err)
	return string(data)
}

// testdata/scan/flows.py: which top-level functions are flows, and their names.
func TestScanFlows(t *testing.T) {
	src := readScanInput(t, "flows.py")
	got := flowInfos(scanFlows(src))
	want := map[string]flowInfo{
		"plain":               {isFlow: true},
		"empty_call":          {isFlow: true},
		"multi":               {isFlow: true, flowName: `multi "quoted" line`},
		"formatted":           {isFlow: true},
		"concatenated":        {isFlow: true},
		"single":              {isFlow: true, flowName: "single"},
		"raw":                 {isFlow: true, flowName: `raw\n`},
		"dotted":              {isFlow: true, flowName: "dotted"},
		"spaced":              {isFlow: true},
		"aliased_module":      {isFlow: false},
		"flows_deco":          {isFlow: false},
		"with_options":        {isFlow: false},
		"redefined":           {isFlow: false},
		"after_class":         {isFlow: false},
		"continued":           {isFlow: true, flowName: "cont"},
		"not_after_statement": {isFlow: false},
	}
	assert.Equal(t, want, got)
}

// Files saved with Windows line endings scan the same.
func TestScanFlowsCRLF(t *testing.T) {
	src := "from prefect import flow\r\n\r\n@flow(\r\n    name='crlf',\r\n)\r\n# comment\r\nasync def daily():\r\n    pass\r\n\r\ndef plain():\r\n    pass\r\n"
	funcs := scanFlows(src)
	assert.Equal(t, map[string]flowInfo{"daily": {isFlow: true, flowName: "crlf"}, "plain": {}}, flowInfos(funcs))
	assert.Equal(t, 7, funcs["daily"].Line)
	assert.Equal(t, 10, funcs["plain"].Line)
}

// flowInfo is the part of a Func TestScanFlows checks: is it a flow, and its name.
type flowInfo struct {
	isFlow   bool
	flowName string
}

func flowInfos(funcs map[string]Func) map[string]flowInfo {
	out := map[string]flowInfo{}
	for k, f := range funcs {
		out[k] = flowInfo{isFlow: f.IsFlow, flowName: f.FlowName}
	}
	return out
}

// Signatures are read from the source text (testdata/scan/signatures.py): multi-line, with comments, brackets and
// strings in defaults, trailing commas and the / and * markers.
func TestScanSignatures(t *testing.T) {
	src := readScanInput(t, "signatures.py")
	type param struct {
		name, ann, def string
		kind           ParamKind
		hasDef         bool
	}
	want := map[string]struct {
		line   int
		params []param
	}{
		"empty": {4, nil},
		"multi": {7, []param{
			{name: "day", ann: "date", kind: ParamNormal},
			{name: "regions", ann: "List[str]", def: "[\x000\x00, \x001\x00]", kind: ParamNormal, hasDef: true},
			{name: "sep", ann: "str", def: "\x002\x00", kind: ParamNormal, hasDef: true},
			{name: "nested", ann: "Dict[str, Tuple[int, int]]", def: "{\x003\x00: (1, 2), \x004\x00: [3, {4: 5}]}", kind: ParamNormal, hasDef: true},
			{name: "cmp", def: "1 == 2", kind: ParamNormal, hasDef: true},
			{name: "text", def: "\x005\x00", kind: ParamNormal, hasDef: true},
		}},
		"markers": {19, []param{
			{name: "a", kind: ParamPositionalOnly},
			{name: "b", ann: "int", kind: ParamPositionalOnly},
			{name: "c", def: "1", kind: ParamNormal, hasDef: true},
			{name: "d", kind: ParamKeywordOnly},
			{name: "e", ann: "\x000\x00", def: "None", kind: ParamKeywordOnly, hasDef: true},
			{name: "kw", kind: ParamVarKw},
		}},
		"varargs": {22, []param{
			{name: "items", ann: "str", kind: ParamVarArgs},
			{name: "limit", def: "3", kind: ParamKeywordOnly, hasDef: true},
			{name: "opts", kind: ParamVarKw},
		}},
		"one_line":  {25, []param{{name: "x", def: "(1, 2)", hasDef: true, kind: ParamNormal}, {name: "y", def: "[3]", hasDef: true, kind: ParamNormal}}},
		"continued": {28, []param{{name: "a", kind: ParamNormal}, {name: "b", def: "2", hasDef: true, kind: ParamNormal}}},
	}
	unreadable := []string{"with_lambda", "kw_after_varkw", "duplicate", "bad_star"}

	funcs := scanFlows(src)
	for name, w := range want {
		f, ok := funcs[name]
		if !assert.True(t, ok, name) {
			continue
		}
		assert.Equal(t, w.line, f.Line, name)
		if !assert.NotNil(t, f.Sig, name) {
			continue
		}
		var got []param
		for _, p := range f.Sig.Params {
			got = append(got, param{name: p.Name, ann: p.Annotation, def: p.DefaultText, kind: p.Kind, hasDef: p.HasDefault})
		}
		assert.Equal(t, w.params, got, name)
	}
	for _, name := range unreadable {
		assert.True(t, funcs[name].IsFlow, name)
		assert.Nil(t, funcs[name].Sig, "%s: a Signature that cannot be read with certainty is not checked", name)
	}

	assert.Equal(t, []string{"a", "b", "d"}, funcs["markers"].Sig.Required())
	assert.Equal(t, []string{"a", "b", "c", "d", "e", "**kw"}, funcs["markers"].Sig.Names())
	assert.Equal(t, []string{"*items", "limit", "**opts"}, funcs["varargs"].Sig.Names())
	assert.Empty(t, funcs["varargs"].Sig.Required(), "*args and **kwargs are never required")
	assert.Equal(t, []string{"day"}, funcs["multi"].Sig.Required())
}

// FuzzScanFlows: whatever the Python source, scanning never panics, every name it
// finds bound is an identifier, and every Signature it reads has unique, valid names.
func FuzzScanFlows(f *testing.F) {
	for _, name := range []string{"loader/flows/static.py", "loader/flows/assigned.py", "loader/flows/decorated.py", "loader/flows/conditional.py", "bindings/module.py"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	f.Add("@flow\ndef f(a, /, b=[1, (2, 3)], *c: 'x', d: int | None = None, **e) -> X: pass\n")
	f.Add("from .a import (b as c, d)\nif x:\n    e = flow(f, name='g')\nelse: h, *i = 1, 2\nfor j in k: pass\n")
	f.Fuzz(func(t *testing.T, src string) {
		m := scanModule(src)
		for name := range m.binds {
			if !IsIdentifier(name) {
				t.Fatalf("bound name %q is not an identifier", name)
			}
		}
		for name, fn := range scanFlows(src) {
			if fn.Sig == nil {
				continue
			}
			seen := map[string]bool{}
			for _, p := range fn.Sig.Params {
				if !IsIdentifier(p.Name) || seen[p.Name] {
					t.Fatalf("%s: bad or repeated parameter name %q", name, p.Name)
				}
				seen[p.Name] = true
			}
		}
	})
}

// TestScanModuleBindings: every statement kind that binds a module-level name, each
// name's last binding, and names that look bound but are not.
func TestScanModuleBindings(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "bindings", "module.py"))
	if err != nil {
		t.Fatal(err)
	}
	m := scanModule(string(src))
	type last struct {
		kind bindKind
		line int
		cond bool
	}
	want := map[string]last{
		"os": {bindImport, 5, false}, "j": {bindImport, 6, false}, "sys": {bindImport, 6, false},
		"d": {bindImport, 7, false}, "e": {bindImport, 7, false}, "sibling": {bindImport, 9, false}, "thing": {bindImport, 10, false},
		"first": {bindAssign, 11, false}, "second": {bindAssign, 11, false}, "x": {bindAssign, 12, false},
		"t1": {bindAssign, 14, false}, "t2": {bindAssign, 14, false}, "t3": {bindAssign, 14, false},
		"u1": {bindAssign, 14, false}, "u2": {bindAssign, 14, false},
		"f": {bindAssign, 18, false}, "walrused": {bindOther, 19, true}, "one_liner": {bindAssign, 19, true},
		"a1": {bindAssign, 20, false}, "a2": {bindAssign, 20, false}, "cmp": {bindAssign, 21, false}, "le": {bindAssign, 22, false},
		"fh": {bindOther, 23, true}, "g1": {bindOther, 23, true}, "g2": {bindOther, 23, true}, "inside_with": {bindAssign, 24, true},
		"loop_a": {bindOther, 25, true}, "loop_b": {bindOther, 25, true}, "in_loop": {bindDef, 26, true},
		"maybe": {bindAssign, 31, true}, "exc_name": {bindOther, 30, true}, "fin": {bindAssign, 33, true},
		"Klass": {bindClass, 36, false}, "from_global": {bindOther, 40, true},
		"deco": {bindDef, 45, false}, "coro": {bindDef, 49, false}, "__getattr__": {bindDef, 53, false},
	}
	got := map[string]last{}
	for name, bs := range m.binds {
		b := bs[len(bs)-1]
		got[name] = last{b.kind, b.line, b.conditional}
	}
	assert.Equal(t, want, got)
	assert.Equal(t, 53, m.dynamicLine, "a module __getattr__ may serve any name")
	assert.Equal(t, "@decorated", m.funcs["deco"].OtherDeco)
	assert.Len(t, m.binds["maybe"], 2, "an import in try and an assignment in except")
}
