package spec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/acme-data/prefect-flows/ci/internal/suggest"
	"github.com/acme-data/prefect-flows/ci/pyflow"
	"github.com/acme-data/prefect-flows/ci/yamlpos"
	"gopkg.in/yaml.v3"
)

// entryNodes returns the key and value node of every top-level entry of a mapping,
// merge keys applied. Problems (duplicate keys) are already reported by the caller's
// own pass over the mapping, so this pass stays quiet.
func (c *collector) entryNodes(v *yaml.Node, p string) (keys, vals map[string]*yaml.Node) {
	quiet := newCollector(c.File())
	keys, vals = map[string]*yaml.Node{}, map[string]*yaml.Node{}
	for _, e := range quiet.Mapping(v, p) {
		if rk := yamlpos.Resolve(e.Key); rk.Kind == yaml.ScalarNode {
			keys[rk.Value], vals[rk.Value] = e.Key, e.Val
		}
	}
	return keys, vals
}

// checkParams compares a deployment's effective parameters (defaults merged) with the
// flow function's signature. Prefect 2 accepts any parameters when it builds the
// deployment and fails each flow run instead: a name the function does not have
// raises SignatureMismatchError (prefect.utilities.callables.parameters_to_args_kwargs,
// which checks the names even when the function takes **kwargs), and a required
// parameter without a value fails pydantic's validation of the call.
func (c *collector) checkParams(item *yaml.Node, p string, d Deployment, ref *flowRef, def, own *fields) {
	sig := ref.f.Sig
	if sig == nil || own.paramsBad || (def != nil && def.paramsBad) {
		return
	}
	if def == nil {
		def = &fields{}
	}
	where := fmt.Sprintf("flow function %s (%s:%d)", ref.fn, ref.file, ref.f.Line)
	pp := yamlpos.Join(p, "parameters")

	names := make([]string, 0, len(d.Parameters))
	for k := range d.Parameters {
		names = append(names, k)
	}
	sort.Strings(names)
	var plain []string
	for _, q := range sig.Params {
		plain = append(plain, q.Name)
	}
	for _, k := range names {
		if q, ok := sig.Param(k); ok {
			c.checkParamType(k, pp, d.Parameters[k], q, ref, where, def, own)
			continue
		}
		node, fromDefaults := own.paramKeys[k], false
		if node == nil {
			node, fromDefaults = def.paramKeys[k], true
		}
		msg := fmt.Sprintf("%s takes no parameter %q", where, k)
		if s := suggest.Closest(k, plain); s != "" {
			msg += fmt.Sprintf(": did you mean %q?", s)
		} else {
			msg += "."
		}
		if len(sig.Params) == 0 {
			msg += " It takes no parameters"
		} else {
			msg += " It takes " + strings.Join(sig.Names(), ", ")
		}
		if vk, ok := sig.VarKw(); ok {
			msg += fmt.Sprintf(" (Prefect passes parameters by name only: put extra keyword arguments inside %s, e.g. %s: {%s: ...})", vk.Name, vk.Name, k)
		}
		if fromDefaults {
			msg += " (set in defaults.parameters)"
		}
		c.Add(node, yamlpos.Join(pp, k), "%s", msg)
	}

	// A deployment without a schedule only runs when someone starts it, and that run
	// can supply the missing value (`prefect deployment run --param`), so only a
	// scheduled deployment must be complete on its own.
	if d.Schedule == nil {
		return
	}
	var missing []string
	for _, r := range sig.Required() {
		if _, ok := d.Parameters[r]; !ok {
			missing = append(missing, r)
		}
	}
	if len(missing) == 0 {
		return
	}
	node := own.paramsKey
	if node == nil {
		node = own.nameNode
	}
	if node == nil {
		node = item
	}
	what := "parameter " + missing[0] + ", which has"
	if len(missing) > 1 {
		what = "parameters " + strings.Join(missing, ", ") + ", which have"
	}
	c.Add(node, pp, "%s requires %s no value here or in defaults.parameters: every scheduled run would fail", where, what)
}

// checkParamType reports a value that the file's Prefect major would refuse for the
// parameter's annotation, at the value as written (in the deployment or in defaults).
func (c *collector) checkParamType(k, pp string, v any, q pyflow.Param, ref *flowRef, where string, def, own *fields) {
	if ref.f.NoValidation {
		return
	}
	msg := pyflow.CheckParam(int(c.major), q, v)
	if msg == "" {
		return
	}
	node, fromDefaults := own.paramVals[k], ""
	if node == nil {
		node, fromDefaults = def.paramVals[k], " (set in defaults.parameters)"
	}
	c.Add(node, yamlpos.Join(pp, k), "%s: %s declares %s: %s, so every run with this value would fail Prefect's parameter validation%s", msg, where, k, q.Annotation, fromDefaults)
}
