package pyflow

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/acme-data/prefect-flows/ci/internal/suggest"
)

// NotCheckedStatically ends every note about an entrypoint the scanner leaves to
// Prefect's loader.
const NotCheckedStatically = "not checked statically, nor are its parameters; Prefect's loader checks it at the check step"

// Repo reads the flow files of one repository, each file once.
type Repo struct {
	root string
	mods map[string]*pyModule // by cleaned relative path; nil when the file does not exist
}

// NewRepo reads flow files below root (the repository root entrypoints are relative to).
func NewRepo(root string) *Repo {
	return &Repo{root: root, mods: map[string]*pyModule{}}
}

// Root is the folder the entrypoints are relative to.
func (p *Repo) Root() string { return p.root }

func (p *Repo) module(rel string) *pyModule {
	if m, seen := p.mods[rel]; seen {
		return m
	}
	var m *pyModule
	if src, err := os.ReadFile(filepath.Join(p.root, filepath.FromSlash(rel))); err == nil {
		m = scanModule(string(src))
	}
	p.mods[rel] = m
	return m
}

// Verdict is what the scanner can say about the object an entrypoint names.
type Verdict struct {
	// Static is set when the name is a @flow def read for certain: Func holds it.
	Static bool
	Func   Func
	// Refuse is the error when Prefect's loader would refuse the entrypoint for certain.
	Refuse string
	// Note says why the name is left to the loader (neither static nor refused).
	Note string
	// FlowName is the flow's Prefect name when it could be read without running the
	// file, "" when not.
	FlowName string
}

// Judge decides about function fn of file (a cleaned path relative to the root, with
// '/' separators). exists is false when the file cannot be read.
func (p *Repo) Judge(file, fn string) (v Verdict, exists bool) {
	m := p.module(file)
	if m == nil {
		return Verdict{}, false
	}
	return p.judge(file, fn, m), true
}

func (p *Repo) judge(file, fn string, m *pyModule) Verdict {
	bs := m.binds[fn]
	dynamic := ""
	if m.dynamicLine > 0 {
		dynamic = fmt.Sprintf("%s (line %d)", m.dynamicWhat, m.dynamicLine)
	}
	if len(bs) == 0 {
		if dynamic != "" {
			return Verdict{Note: fmt.Sprintf("%s is bound by no statement of %s, but %s may bind it: %s", fn, file, dynamic, NotCheckedStatically)}
		}
		msg := fmt.Sprintf("function %s is not defined at the top level of %s", fn, file)
		if s := suggest.Closest(fn, m.flowNames()); s != "" {
			msg += fmt.Sprintf(": did you mean %s?", s)
		} else if names := m.flowNames(); len(names) > 0 && len(names) <= 8 {
			msg += fmt.Sprintf(" (its flows: %s)", strings.Join(names, ", "))
		}
		return Verdict{Refuse: msg}
	}
	last := bs[len(bs)-1]
	refuse := func(msg string) Verdict {
		if dynamic != "" {
			return Verdict{Note: fmt.Sprintf("%s; but %s may rebind it: %s", msg, dynamic, NotCheckedStatically)}
		}
		return Verdict{Refuse: msg}
	}
	if !last.conditional {
		switch last.kind {
		case bindDef:
			f := m.funcs[fn]
			switch {
			case f.IsFlow:
				name := f.FlowName
				if name == "" {
					name = strings.ReplaceAll(fn, "_", "-")
				}
				return Verdict{Static: true, Func: f, FlowName: name}
			case f.OtherDeco != "":
				return Verdict{Note: fmt.Sprintf("%s in %s is decorated with %s (line %d), which may make a flow: %s", fn, file, f.OtherDeco, f.Line, NotCheckedStatically)}
			default:
				return refuse(fmt.Sprintf("function %s in %s is not a flow: decorate it with @flow", fn, file))
			}
		case bindClass:
			if last.undecorated {
				return refuse(fmt.Sprintf("%s in %s is a class (line %d), not a flow: name a function decorated with @flow", fn, file, last.line))
			}
		}
	}
	how := map[bindKind]string{bindDef: "defined", bindClass: "defined", bindImport: "imported", bindAssign: "assigned", bindOther: "bound"}[last.kind]
	where := fmt.Sprintf("line %d: %s", last.line, last.stmt)
	if last.conditional {
		where += ", inside a block that may or may not run"
	}
	v := Verdict{Note: fmt.Sprintf("%s in %s is %s at the top level (%s): %s", fn, file, how, where, NotCheckedStatically)}
	switch last.kind {
	case bindAssign:
		v.FlowName = last.flowName
	case bindImport:
		v.FlowName = p.importedFlowName(path.Dir(file), file, last.module, last.name, 0)
	}
	return v
}

// flowNames are the module's top-level @flow functions, sorted.
func (m *pyModule) flowNames() []string {
	var out []string
	for name, f := range m.funcs {
		if f.IsFlow {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// importedFlowName follows `from module import name` into the repository the way
// Prefect's loader finds modules (the entrypoint file's folder first, then the
// working directory, which is the repository root) and returns the flow name when
// name is a @flow there (or is imported or made with flow(...) there, a few levels
// deep). "" when it cannot tell.
func (p *Repo) importedFlowName(entryDir, fromFile, module, name string, depth int) string {
	if module == "" || name == "" || depth > 4 {
		return ""
	}
	rel := strings.TrimLeft(module, ".")
	dots := len(module) - len(rel)
	var dirs []string
	switch {
	case dots > 1:
		return ""
	case dots == 1:
		dirs = []string{path.Dir(fromFile)}
	default:
		dirs = []string{entryDir, "."}
	}
	if rel == "" {
		return "" // from . import x: x is a module
	}
	sub := strings.ReplaceAll(rel, ".", "/")
	for _, d := range dirs {
		for _, cand := range []string{path.Join(d, sub+".py"), path.Join(d, sub, "__init__.py")} {
			m := p.module(cand)
			if m == nil {
				continue
			}
			bs := m.binds[name]
			if len(bs) == 0 {
				return ""
			}
			last := bs[len(bs)-1]
			if last.conditional {
				return ""
			}
			switch last.kind {
			case bindDef:
				if f := m.funcs[name]; f.IsFlow {
					if f.FlowName != "" {
						return f.FlowName
					}
					return strings.ReplaceAll(name, "_", "-")
				}
			case bindAssign:
				return last.flowName
			case bindImport:
				return p.importedFlowName(entryDir, cand, last.module, last.name, depth+1)
			}
			return ""
		}
	}
	return ""
}
