// Package clispec checks a `prefect` argv the way Prefect 2.14's click/typer front end
// and the first lines of `prefect deployment build` would, from the option table in
// shared/prefect/cli-2.14.json. It answers with the exit code and the texts the real CLI
// prints (as recorded in shared/prefect/recorded/cli-cases.json), so a fake `prefect`
// and the argv builders' tests share one notion of "the real CLI would reject this".
package clispec

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Spec is cli-2.14.json.
type Spec struct {
	Source   string              `json:"source"`
	Commands map[string]*Command `json:"commands"`
}

// Command is one entry of `commands`, e.g. "deployment build".
type Command struct {
	Command   string     `json:"command"`
	Usage     string     `json:"usage"`
	Arguments []Argument `json:"arguments"`
	Options   []Option   `json:"options"`
	Rule      string     `json:"rule"`
}

// Argument is a positional parameter.
type Argument struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Required bool   `json:"required"`
}

// Option is one click option with its aliases.
type Option struct {
	Name          string   `json:"name"`
	Aliases       []string `json:"aliases"`
	Param         string   `json:"param"`
	Type          string   `json:"type"`
	Flag          bool     `json:"flag"`
	Repeatable    bool     `json:"repeatable"`
	ConflictsWith []string `json:"conflicts_with"`
	Requires      []string `json:"requires"`
	ScheduleGroup bool     `json:"schedule_group"`
}

// Load reads cli-2.14.json.
func Load(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CLI spec: %w", err)
	}
	var s Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("parse CLI spec %s: %w", path, err)
	}
	if len(s.Commands) == 0 {
		return nil, fmt.Errorf("CLI spec %s lists no commands", path)
	}
	for name, c := range s.Commands {
		if c.Usage == "" {
			c.Usage = "prefect " + name + " [OPTIONS]"
			for _, a := range c.Arguments {
				if strings.HasPrefix(a.Type, "List[") {
					c.Usage += " " + a.Name + "..."
				} else {
					c.Usage += " " + a.Name
				}
			}
		}
	}
	return &s, nil
}

// Outcome is what the CLI prints and how it exits. The real CLI prints its own error
// messages on stdout (rich console) and click usage errors and tracebacks on stderr.
type Outcome struct {
	Exit   int
	Stdout string
	Stderr string
}

// Invocation is a parsed argv.
type Invocation struct {
	Command string
	// Args are the positional arguments.
	Args []string
	// Values holds every value given per option, keyed by the option's long name; a flag
	// given once holds one "".
	Values map[string][]string
}

// Has says whether the option was given.
func (in *Invocation) Has(name string) bool { _, ok := in.Values[name]; return ok }

// Last is the value click keeps for a non-repeatable option: the last one given.
func (in *Invocation) Last(name string) (string, bool) {
	v, ok := in.Values[name]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

// Parse splits argv (after the executable) into command and options as click does.
// A non-nil Outcome is a usage error (exit 2) or --help (exit 0).
func (s *Spec) Parse(argv []string) (*Invocation, *Outcome) {
	var cmd *Command
	var name string
	for n, c := range s.Commands {
		words := strings.Fields(n)
		if len(argv) >= len(words) && strings.Join(argv[:len(words)], " ") == n {
			cmd, name = c, n
			break
		}
	}
	if cmd == nil {
		what := ""
		if len(argv) > 0 {
			what = argv[0]
		}
		return nil, &Outcome{Exit: 2, Stderr: "Usage: prefect [OPTIONS] COMMAND [ARGS]...\nTry 'prefect --help' for help.\nError: No such command '" + what + "'.\n"}
	}
	p := parser{cmd: cmd, inv: &Invocation{Command: name, Values: map[string][]string{}}}
	p.index()
	if out := p.parse(argv[len(strings.Fields(name)):]); out != nil {
		return nil, out
	}
	return p.inv, nil
}

type parser struct {
	cmd   *Command
	inv   *Invocation
	long  map[string]*Option // "--name", "-ib", "--help"
	short map[string]*Option // "-n"
	order []string           // options in order of first appearance
	help  bool
}

var helpOption = &Option{Name: "--help", Flag: true}

func (p *parser) index() {
	p.long = map[string]*Option{"--help": helpOption}
	p.short = map[string]*Option{}
	for i := range p.cmd.Options {
		o := &p.cmd.Options[i]
		for _, n := range append([]string{o.Name}, o.Aliases...) {
			// click: a one-character name after a one-character prefix is a short option;
			// everything else, "-ib" included, is matched as a long one.
			if len(n) == 2 && n[0] == '-' && n[1] != '-' {
				p.short[n] = o
			} else {
				p.long[n] = o
			}
		}
	}
}

func (p *parser) usageError(msg string) *Outcome {
	return &Outcome{Exit: 2, Stderr: fmt.Sprintf("Usage: %s\nTry '%s --help' for help.\nError: %s\n", p.cmd.Usage, p.cmd.Command, msg)}
}

func (p *parser) record(o *Option, v string) {
	if o == helpOption {
		p.help = true
		return
	}
	if _, ok := p.inv.Values[o.Name]; !ok {
		p.order = append(p.order, o.Name)
	}
	p.inv.Values[o.Name] = append(p.inv.Values[o.Name], v)
}

func (p *parser) parse(rargs []string) *Outcome {
	var largs []string
	for len(rargs) > 0 {
		arg := rargs[0]
		rargs = rargs[1:]
		switch {
		case arg == "--":
			largs = append(largs, rargs...)
			rargs = nil
		case len(arg) > 1 && arg[0] == '-':
			var out *Outcome
			rargs, out = p.option(arg, rargs)
			if out != nil {
				return out
			}
		default:
			largs = append(largs, arg)
		}
	}
	if p.help {
		return &Outcome{Exit: 0, Stdout: fmt.Sprintf("Usage: %s\n", p.cmd.Usage)}
	}
	// click converts values in the order the options first appeared, then the
	// positional arguments.
	for _, name := range p.order {
		o := p.long[name]
		if o.Type == "int" {
			for _, v := range p.inv.Values[name] {
				if !pythonInt(v) {
					opts := "'" + o.Name + "'"
					for _, a := range o.Aliases {
						opts += " / '" + a + "'"
					}
					return p.usageError(fmt.Sprintf("Invalid value for %s: %s is not a valid integer.", opts, pyRepr(v)))
				}
			}
		}
	}
	for _, a := range p.cmd.Arguments {
		if strings.HasPrefix(a.Type, "List[") {
			if len(largs) == 0 && a.Required {
				return p.usageError(fmt.Sprintf("Missing argument '%s...'.", a.Name))
			}
			p.inv.Args = append(p.inv.Args, largs...)
			largs = nil
			continue
		}
		if len(largs) == 0 {
			if a.Required {
				return p.usageError(fmt.Sprintf("Missing argument '%s'.", a.Name))
			}
			continue
		}
		p.inv.Args = append(p.inv.Args, largs[0])
		largs = largs[1:]
	}
	switch len(largs) {
	case 0:
	case 1:
		return p.usageError(fmt.Sprintf("Got unexpected extra argument (%s)", largs[0]))
	default:
		return p.usageError(fmt.Sprintf("Got unexpected extra arguments (%s)", strings.Join(largs, " ")))
	}
	return nil
}

// option consumes one option argument (and its value) like click's _process_opts.
func (p *parser) option(arg string, rargs []string) ([]string, *Outcome) {
	opt, explicit, hasExplicit := arg, "", false
	if i := strings.IndexByte(arg, '='); i >= 0 {
		opt, explicit, hasExplicit = arg[:i], arg[i+1:], true
	}
	if o, ok := p.long[opt]; ok {
		if o.Flag {
			if hasExplicit {
				return nil, p.usageError(fmt.Sprintf("Option '%s' does not take a value.", opt))
			}
			p.record(o, "")
			return rargs, nil
		}
		if hasExplicit {
			p.record(o, explicit)
			return rargs, nil
		}
		if len(rargs) == 0 {
			return nil, p.usageError(fmt.Sprintf("Option '%s' requires an argument.", opt))
		}
		p.record(o, rargs[0])
		return rargs[1:], nil
	}
	if strings.HasPrefix(arg, "--") {
		names := make([]string, 0, len(p.long))
		for n := range p.long {
			names = append(names, n)
		}
		sort.Strings(names)
		msg := "No such option: " + opt
		switch m := closeMatches(opt, names); len(m) {
		case 0:
		case 1:
			msg += " Did you mean " + m[0] + "?"
		default:
			msg += " (Possible options: " + strings.Join(m, ", ") + ")"
		}
		return nil, p.usageError(msg)
	}
	// A single dash that is not a long option: a cluster of short options, the first
	// one taking a value swallowing the rest of the argument.
	for i := 1; i < len(arg); i++ {
		so := "-" + string(arg[i])
		o, ok := p.short[so]
		if !ok {
			return nil, p.usageError("No such option: " + so)
		}
		if o.Flag {
			p.record(o, "")
			continue
		}
		if i+1 < len(arg) {
			p.record(o, arg[i+1:])
			return rargs, nil
		}
		if len(rargs) == 0 {
			return nil, p.usageError(fmt.Sprintf("Option '%s' requires an argument.", so))
		}
		p.record(o, rargs[0])
		return rargs[1:], nil
	}
	return rargs, nil
}

// pythonInt reports whether Python's int(v) accepts v: surrounding whitespace, a sign,
// and digits with single underscores between them.
func pythonInt(v string) bool {
	v = strings.TrimSpace(v)
	if v != "" && (v[0] == '+' || v[0] == '-') {
		v = v[1:]
	}
	if v == "" || v[0] == '_' || v[len(v)-1] == '_' || strings.Contains(v, "__") {
		return false
	}
	for _, r := range v {
		if (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}

// pyRepr renders a string as Python's repr does for ordinary text.
func pyRepr(s string) string {
	q := "'"
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = `"`
	}
	r := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	s = r.Replace(s)
	if q == "'" {
		s = strings.ReplaceAll(s, "'", `\'`)
	}
	return q + s + q
}
