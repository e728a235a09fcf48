package deploycli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/acme-data/prefect-flows/ci/spec"
)

// The argv of the commands that deploy a Prefect 3 file: the pipeline's execs and the
// scripts (`prefect-deploy script`, `mage script`) are built by these, so what a script
// shows is what runs.

// ImageFromEnv stands for the image in a script that does not know it yet (the pipeline
// publishes it first): Script3 writes it unquoted, so the shell expands it.
const ImageFromEnv = "$PREFECT_IMAGE"

// TemplateArgs is the command that writes work pool type typ's default base job
// template to file, from the worker class installed with prefect (prefect-aws for ecs).
func TemplateArgs(prefect, typ, file string) []string {
	return []string{prefect, "work-pool", "get-default-base-job-template", "--type", typ, "--file", file}
}

// PoolsCommand is `prefect-deploy pools`: create the missing work pools of File.
type PoolsCommand struct {
	Type           string
	Template       string   // --base-job-template, the file TemplateArgs writes
	AnyType        bool     // --any-type
	UpdateTemplate bool     // --update-template
	Workdir        string   // --workdir when not the file's directory ("" leaves it out)
	Only           []string // --only globs
	File           string
}

// Args is the command's argv.
func (c PoolsCommand) Args() []string {
	args := []string{"prefect-deploy", "pools", "--type", c.Type, "--base-job-template", c.Template}
	if c.AnyType {
		args = append(args, "--any-type")
	}
	if c.UpdateTemplate {
		args = append(args, "--update-template")
	}
	if c.Workdir != "" {
		args = append(args, "--workdir", c.Workdir)
	}
	for _, n := range c.Only {
		args = append(args, "--only", n)
	}
	return append(args, c.File)
}

// APIApply is `prefect-deploy apply --runner api`; a zero field is left out.
type APIApply struct {
	Owner       string
	Env         string
	Workdir     string
	Inspected   string
	Results     string
	NoReadBack  bool
	Concurrency int
	Timeout     time.Duration
	TakeOver    bool
	Only        []string // --only globs
	Image       string   // --image (Prefect 3: job_variables.image)
	ECS         []string // Prefect 3: the ECS settings as their flags (--ecs-*, --aws-*)
	// UncheckedJobVariables is --unchecked-job-variables (Prefect 3).
	UncheckedJobVariables bool
	File                  string
}

// Args is the command's argv.
func (c APIApply) Args() []string {
	args := []string{"prefect-deploy", "apply", "--runner", RunnerAPI, "--owner", c.Owner}
	opt := func(flag, v string) {
		if v != "" {
			args = append(args, flag, v)
		}
	}
	opt("--env", c.Env)
	opt("--workdir", c.Workdir)
	opt("--inspected", c.Inspected)
	opt("--results", c.Results)
	if c.NoReadBack {
		args = append(args, "--no-read-back")
	}
	if c.Concurrency > 0 {
		args = append(args, "--concurrency", strconv.Itoa(c.Concurrency))
	}
	if c.Timeout > 0 {
		args = append(args, "--timeout", c.Timeout.String())
	}
	if c.TakeOver {
		args = append(args, "--take-over")
	}
	for _, n := range c.Only {
		args = append(args, "--only", n)
	}
	opt("--image", c.Image)
	if c.UncheckedJobVariables {
		args = append(args, "--unchecked-job-variables")
	}
	args = append(args, c.ECS...)
	return append(args, c.File)
}

// Script3 is the script of a Prefect 3 file: no `prefect deployment build`, but the
// work pools, then one apply that writes every deployment through the API.
type Script3 struct {
	Header  string   // the first comment line, without "# "
	Workdir string   // cd here first
	Dirs    []string // made before the steps
	Steps   []Step
}

// Step is one command of a script.
type Step struct {
	Comment string // a comment line before the command ("" none)
	Args    []string
	Stdout  string // a file the command's output goes to ("" none)
}

// Write prints the script, every word quoted for a POSIX shell except ImageFromEnv.
func (s Script3) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\ncd %s\n", s.Header, ShellQuote(s.Workdir))
	if len(s.Dirs) > 0 {
		fmt.Fprintf(&b, "mkdir -p %s\n", ShellJoin(s.Dirs))
	}
	for _, st := range s.Steps {
		if st.Comment != "" {
			fmt.Fprintf(&b, "# %s\n", st.Comment)
		}
		b.WriteString(ScriptLine(st.Args))
		if st.Stdout != "" {
			b.WriteString(" > " + ShellQuote(st.Stdout))
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ScriptLine is argv as a script line: ShellJoin, with ImageFromEnv left for the shell
// to expand.
func ScriptLine(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == ImageFromEnv {
			q[i] = `"` + ImageFromEnv + `"`
			continue
		}
		q[i] = ShellQuote(a)
	}
	return strings.Join(q, " ")
}

// script3 is what a local deploy of Prefect 3 file f runs from workdir: the pools it
// names created from the worker type's default template (`prefect-deploy pools`), then
// one apply that inspects the flows and writes every deployment through the API.
func script3(f *spec.File, workdir string, o *options, own runOwner) Script3 {
	dir := filepath.Join(os.TempDir(), "prefect-deploy-pools")
	tmpl := filepath.Join(dir, o.poolType+".json")
	file, err := filepath.Abs(f.Path)
	if err != nil {
		file = f.Path
	}
	// The commands run in workdir; apply and pools take the file's directory otherwise.
	wd := ""
	if filepath.Dir(file) != workdir {
		wd = "."
	}
	if rel, err := filepath.Rel(workdir, file); err == nil && !strings.HasPrefix(rel, "..") {
		file = rel
	}
	env := ""
	if f.Env() == "" {
		env = own.env
	}
	return Script3{
		Header: fmt.Sprintf("%s: %d deployment(s), %s (%s): written through the Prefect API (PREFECT_API_URL) by one apply; entrypoints are relative to the cd below",
			f.Path, len(f.Deployments), f.Prefect, f.PrefectFrom),
		Workdir: workdir,
		Dirs:    []string{dir},
		Steps: []Step{
			{Args: TemplateArgs(o.prefectPath, o.poolType, tmpl)},
			{Args: PoolsCommand{Type: o.poolType, Template: tmpl, Workdir: wd, Only: o.only, File: file}.Args()},
			{Args: APIApply{Owner: own.owner.Name, Env: env, Workdir: wd, Only: o.only, Image: o.image, File: file}.Args()},
		},
	}
}
