// Package deploycli is the prefect-deploy command: validate deployments files, print
// the exact `prefect deployment build` commands, and apply them. It is a package so
// tests can run it in-process; ci/cmd/prefect-deploy only wires os.Args and signals.
package deploycli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/acme-data/prefect-flows/ci/liveplan"
	"github.com/acme-data/prefect-flows/ci/ownership"
	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/prefectcli/batch"
	"github.com/acme-data/prefect-flows/ci/preflight"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// Exit codes.
const (
	ExitOK          = 0
	ExitFailed      = 1 // validation failed, a deployment did not succeed, drift, or no prune
	ExitUsage       = 2
	ExitChanges     = 2 // plan --detailed-exitcode: the plan has changes
	ExitInterrupted = 130
)

// DefaultTimeout bounds one deployment's build unless --timeout says otherwise: a
// build takes seconds, and an unreachable API must not hold a CI job for hours.
const DefaultTimeout = 10 * time.Minute

// RunnerConfig is what a runner factory gets from the command line.
type RunnerConfig struct {
	Prefect     string // resolved path of the prefect executable
	Workdir     string
	Env         []string
	Concurrency int
	Stderr      io.Writer
	// Python is the interpreter of --runner batch (--python, or the one the prefect
	// executable's script names).
	Python string
}

// RunnerFactory makes the Runner selected by --runner. A runner that also implements
// io.Closer is closed as soon as the builds are done.
type RunnerFactory func(RunnerConfig) (prefectcli.Runner, error)

// Runners are the values of --runner.
var Runners = map[string]RunnerFactory{
	"cli": func(c RunnerConfig) (prefectcli.Runner, error) {
		return &prefectcli.ExecRunner{Prefect: c.Prefect, Workdir: c.Workdir, Env: c.Env}, nil
	},
	"batch": newBatchRunner,
}

// RunnerAPI is the runner that writes through the Prefect REST API (ci/deployer): the
// flows are inspected once (ci/inspect), then each deployment is one POST /flows/ (once
// per flow) and one POST /deployments/ with the body the CLI itself sends.
const RunnerAPI = "api"

// DefaultRunner is --runner's default: the api runner. On a real Prefect 2.14.21 it
// builds deployments identical field by field to `prefect deployment build -a`
// (TestRealAPIRunnerMatchesCLI), without a Python process per deployment.
const DefaultRunner = RunnerAPI

// DefaultAPIConcurrency is --concurrency's default with --runner api: requests in flight.
const DefaultAPIConcurrency = 8

// DefaultAPIConcurrency3 is that default for a Prefect 3 file. A Prefect 3.8.3 server on
// SQLite answers concurrent deployment writes with 503 (its services write to the same
// database all the time), and the retries cost more than they save: 22 deployments took
// 5.4 s one at a time, 10 s two at a time and 16 s four at a time (with some deployments
// failing after 6 attempts) on a busy 2-core machine.
const DefaultAPIConcurrency3 = 1

// defaultConcurrency is --concurrency's default for a runner: runner processes for
// batch (once the import is paid, a job is one Python thread's CPU work, so one per
// core), builds at once for cli (a process spends most of its life importing or
// waiting on the API, so two per core).
func defaultConcurrency(runner string) int {
	if runner == RunnerAPI {
		return DefaultAPIConcurrency
	}
	if runner == "batch" {
		return batch.DefaultProcesses()
	}
	return prefectcli.DefaultConcurrency()
}

// App is one run of the command.
type App struct {
	Stdout, Stderr io.Writer
	// Stdin answers the prune confirmation when Interactive is true.
	Stdin io.Reader
	// Interactive says whether Stdin is a terminal a person can answer on; when false,
	// apply --prune deletes nothing without --yes.
	Interactive bool
	// Env is the environment given to prefect and read for GITHUB_STEP_SUMMARY,
	// PREFECT_API_URL and PREFECT_API_KEY.
	Env []string
	// Abort, when closed, ends the grace period of an interrupted apply at once.
	Abort <-chan struct{}
	// APIOptions are passed to the Prefect API client (tests shorten its retries).
	APIOptions []prefectapi.Option
}

// Main runs the command with args (without the program name) and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, env []string) int {
	return (&App{Stdout: stdout, Stderr: stderr, Env: env}).Run(ctx, args)
}

const usage = `Usage:
  prefect-deploy validate [--workdir DIR] FILE...
  prefect-deploy plan [--detailed-exitcode] [--workdir DIR] [--env ENV] [--owner OWNER] FILE
  prefect-deploy script [--workdir DIR] [--env ENV] [--owner OWNER] [--only NAME]... [--prefect PATH] FILE
  prefect-deploy apply [flags] [--prune [--yes] [--prune-legacy]] FILE
  prefect-deploy read-back [--workdir DIR] [--env ENV] [--owner OWNER] [--only NAME]... FILE
  prefect-deploy prune [--workdir DIR] [--env ENV] [--owner OWNER] [--yes] [--prune-legacy] FILE
  prefect-deploy list [--on NAME]
  prefect-deploy pools [--workdir DIR] [--type TYPE] [--base-job-template FILE] [--only NAME]... FILE

validate     check every file; print every problem with file:line:col; exit 1 if any
plan         compare the file with the Prefect API (PREFECT_API_URL): create, update,
             unchanged, and the managed deployments the file no longer lists (delete)
script       print each deployment's prefect command, shell-quoted, ready to paste
apply        run the commands, several at once, print a summary, then read every
             deployment back from PREFECT_API_URL (fix what build cannot, report drift);
             --prune then deletes the managed deployments the file no longer lists
read-back    the read-back alone: compare the API with the file, fix what build cannot
prune        the prune alone: delete the managed deployments the file no longer lists,
             only when every deployment of the file reads back without drift
list         every deployment on PREFECT_API_URL, whoever made it, one line each
pools        Prefect 3 file: create the work pools it names that do not exist yet
             (--type, default ecs); an existing pool is never changed

Managed deployments carry the tag ` + ownership.MarkerPrefix + `<owner>:<env>. The owner is
--owner, else PREFECT_OWNER, else GITHUB_REPOSITORY, else the git remote's owner/name,
else the directory's name; every plan shows it.

Run "prefect-deploy COMMAND -h" for a command's flags.
`

// Run dispatches to a subcommand.
func (a *App) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(a.Stderr, usage)
		return ExitUsage
	}
	switch args[0] {
	case "validate":
		return a.validate(args[1:])
	case "plan":
		return a.plan(ctx, args[1:])
	case "script":
		return a.script(args[1:])
	case "apply":
		return a.apply(ctx, args[1:])
	case "read-back":
		return a.readBack(ctx, args[1:])
	case "list":
		return a.list(ctx, args[1:])
	case "pools":
		return a.pools(ctx, args[1:])
	case "prune":
		return a.pruneCmd(ctx, args[1:])
	case "-h", "--help", "help":
		fmt.Fprint(a.Stdout, usage)
		return ExitOK
	default:
		fmt.Fprintf(a.Stderr, "prefect-deploy: unknown command %q\n\n%s", args[0], usage)
		return ExitUsage
	}
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type options struct {
	env         string
	owner       string
	pruneLegacy bool
	takeOver    bool
	pythonPath  string
	live        bool
	liveFlag    bool // the old spelling plan --live
	detailed    bool
	prune       bool
	yes         bool
	noReadBack  bool
	workdir     string
	only        stringList
	concurrency int
	failFast    bool
	timeout     time.Duration
	grace       time.Duration
	prefectPath string
	runner      string
	python      string
	inspected   string
	results     string
	image       string
	imageRepo   string
	poolType    string
	ecs         ecsFlags
	// uncheckedJobVars turns a job variable the pool's template does not declare from
	// a refusal into a note (checkJobVariables).
	uncheckedJobVars bool
	// deploys says that the command writes deployments: a Prefect 3 file then needs
	// the api runner (the only Prefect 3 writer).
	deploys bool
}

// imageCompareHelp is --image of the commands that compare (plan, read-back, prune).
const imageCompareHelp = "Prefect 3 file: the image apply sent as job_variables.image (--image of apply), compared with the server's; without it the server's job_variables.image is compared only with one the file writes"

func (a *App) flags(name string, o *options, apply bool) *flag.FlagSet {
	fs := flag.NewFlagSet("prefect-deploy "+name, flag.ContinueOnError)
	fs.SetOutput(a.Stderr)
	fs.StringVar(&o.workdir, "workdir", "", "directory the entrypoints are relative to and prefect runs in (default: the file's directory)")
	if name == "validate" {
		return fs
	}
	fs.StringVar(&o.env, "env", "", "environment, ending the ownership tag "+ownership.MarkerPrefix+"<owner>:<env> (default: from the file name prefect-deployments-<env>.yaml)")
	fs.StringVar(&o.owner, "owner", "", "owner of the managed deployments, in the ownership tag (default: PREFECT_OWNER, else GITHUB_REPOSITORY, else the git remote's owner/name, else the directory name)")
	switch name {
	case "read-back":
		fs.Var(&o.only, "only", "read back only these deployments: "+spec.SelectHelp+" (repeatable)")
		fs.StringVar(&o.image, "image", "", imageCompareHelp)
		o.ecs.register(fs)
		return fs
	case "prune":
		fs.BoolVar(&o.yes, "yes", false, "delete without asking (for CI)")
		fs.BoolVar(&o.pruneLegacy, "prune-legacy", false, "also delete deployments that carry only the legacy tag "+ownership.MarkerPrefix+"<env> and that the file no longer lists (every copy of the repository used that tag: only when they are all yours)")
		fs.StringVar(&o.image, "image", "", imageCompareHelp)
		o.ecs.register(fs)
		return fs
	case "plan":
		fs.BoolVar(&o.detailed, "detailed-exitcode", false, "exit 2 when the plan has changes, 0 when none, 1 on error")
		fs.BoolVar(&o.liveFlag, "live", false, "deprecated: plan is the live plan now; the flag does nothing")
		// The flags of the command-printing plan, now script: a clear error, not "not defined".
		fs.Var(&o.only, "only", "not for plan (the live plan compares the whole file): see script")
		fs.StringVar(&o.prefectPath, "prefect", "", "not for plan (it runs no prefect): see script")
		fs.StringVar(&o.image, "image", "", imageCompareHelp)
		fs.BoolVar(&o.uncheckedJobVars, "unchecked-job-variables", false, uncheckedJobVarsHelp)
		fs.StringVar(&o.imageRepo, "image-repository", "", "Prefect 3 file, instead of --image when the deploy pushes the image first (the pipeline): the repository it is pushed to (registry/repo); a server job_variables.image of that repository by digest counts as the deploy's, any other image is a change")
		o.ecs.register(fs)
		return fs
	}
	fs.Var(&o.only, "only", "deploy only these deployments: "+spec.SelectHelp+" (repeatable)")
	fs.StringVar(&o.prefectPath, "prefect", "prefect", "prefect executable (looked up in PATH)")
	if name == "script" {
		fs.StringVar(&o.image, "image", "", "Prefect 3 file: the image the printed apply passes as --image (job_variables.image); default none")
		fs.StringVar(&o.poolType, "type", DefaultPoolType, "Prefect 3 file: the work pool type of the printed pools commands")
	}
	if !apply {
		return fs
	}
	fs.BoolVar(&o.prune, "prune", false, "after every deployment succeeded and read back without drift, delete the managed deployments the file no longer lists (needs PREFECT_API_URL)")
	fs.BoolVar(&o.yes, "yes", false, "with --prune: delete without asking (for CI)")
	fs.BoolVar(&o.pruneLegacy, "prune-legacy", false, "with --prune: also delete deployments that carry only the legacy tag "+ownership.MarkerPrefix+"<env> and that the file no longer lists (every copy of the repository used that tag: only when they are all yours)")
	fs.BoolVar(&o.takeOver, "take-over", false, "write deployments that another owner's tag marks as theirs (the plan shows them as TAKE-OVER); without it apply refuses them and deploys nothing")
	fs.StringVar(&o.pythonPath, "python-path", DefaultPythonPath, "directory put first on PYTHONPATH for the builds, relative to --workdir, as the image does (ENV PYTHONPATH=/opt/prefect/src); skipped when missing; \"\" for none")
	fs.BoolVar(&o.noReadBack, "no-read-back", false, "do not read the deployments back from PREFECT_API_URL after the apply")
	fs.IntVar(&o.concurrency, "concurrency", 0, fmt.Sprintf("with --runner api: deployments written at once (default %d); with --runner batch: Python runner processes, each taking the next build when free (default %d: one per CPU); with --runner cli: builds at once (default %d: twice the CPUs, at most 16)", DefaultAPIConcurrency, defaultConcurrency("batch"), defaultConcurrency("cli")))
	fs.BoolVar(&o.failFast, "fail-fast", false, "start no further deployment after the first failure")
	fs.DurationVar(&o.timeout, "timeout", DefaultTimeout, "limit for each deployment's build (0: none)")
	fs.DurationVar(&o.grace, "grace", prefectcli.DefaultGrace, "on Ctrl-C or SIGTERM, how long running builds may finish before they are stopped")
	names := []string{RunnerAPI}
	for n := range Runners {
		names = append(names, n)
	}
	sort.Strings(names)
	fs.StringVar(&o.runner, "runner", DefaultRunner, "how deployments are written: "+strings.Join(names, "|")+".\n"+
		"api (the default) inspects every flow once with Prefect's own loader in one Python process (--python),\n"+
		"then writes each deployment through the Prefect REST API at PREFECT_API_URL: one POST /flows/ per flow and\n"+
		"one POST /deployments/ per deployment, with the body that prefect deployment build -a sends.\n"+
		"batch runs every build's argv through Prefect's own CLI application (prefect.cli.app) in a few warm\n"+
		"Python processes, paying Prefect's import once per process instead of once per build; on a real\n"+
		"Prefect 2.14 server the same argv gave field-for-field identical deployments to separate prefect\n"+
		"processes. A build whose runner process breaks runs once more with the prefect CLI (a warning line\n"+
		"says so). cli starts one prefect process per build.")
	fs.StringVar(&o.python, "python", "", "with --runner api or batch: the Python that has Prefect installed (default: the interpreter named on the first line of the --prefect script, else python3)")
	fs.StringVar(&o.results, "results", "", "write every deployment's result as JSON to this file (for a pipeline's report)")
	fs.StringVar(&o.inspected, "inspected", "", "with --runner api: the output of a run of the inspect program (ci/inspect) to use instead of running it (the pipeline runs it once in the image)")
	fs.StringVar(&o.image, "image", "", "Prefect 3 file: the image every deployment runs (the published digest, registry/repo@sha256:...), written exactly as given into each deployment's job_variables.image")
	fs.BoolVar(&o.uncheckedJobVars, "unchecked-job-variables", false, uncheckedJobVarsHelp)
	o.ecs.register(fs)
	return fs
}

// parseInterleaved lets flags come before or after the files.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// flag stops at "--" and at the first non-flag; everything after "--" is a file.
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func (a *App) usageError(fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(a.Stderr, "%s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return ExitUsage
}

func (a *App) validate(args []string) int {
	var o options
	fs := a.flags("validate", &o, false)
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return exitForFlagErr(err)
	}
	if len(files) == 0 {
		return a.usageError(fs, "no FILE given")
	}
	code := ExitOK
	for _, f := range files {
		loaded, err := spec.Load(f, spec.LoadOptions{RepoRoot: o.workdir})
		if err != nil {
			fmt.Fprintln(a.Stdout, err)
			code = ExitFailed
			continue
		}
		spec.WriteNotes(a.Stdout, loaded.Notes)
		fmt.Fprintf(a.Stdout, "%s: ok, %d deployment(s), %s (%s)\n", f, len(loaded.Deployments), loaded.Prefect, loaded.PrefectFrom)
		if loaded.Prefect == spec.Prefect3 {
			fmt.Fprintf(a.Stdout, "note: %s targets Prefect 3: apply deploys it (--runner api only), pools creates its work pools, and script prints both\n", f)
		}
	}
	return code
}

// load reads one FILE and selects deployments by --only. A nil file means stop and
// exit with the code.
func (a *App) load(fs *flag.FlagSet, o *options, args []string) (*spec.File, string, int) {
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, "", exitForFlagErr(err)
	}
	if len(files) != 1 {
		return nil, "", a.usageError(fs, "want exactly one FILE, got %d", len(files))
	}
	if err := spec.CheckPatterns(o.only); err != nil {
		return nil, "", a.usageError(fs, "--only %v", err)
	}
	switch {
	case o.prune && len(o.only) > 0:
		// A partial apply proves nothing about the deployments left out.
		return nil, "", a.usageError(fs, "--prune cannot be combined with --only: prune needs the whole file applied")
	case o.prune && o.noReadBack:
		return nil, "", a.usageError(fs, "--prune needs the read-back: drop --no-read-back")
	case o.yes && !o.prune:
		return nil, "", a.usageError(fs, "--yes goes with --prune")
	case o.pruneLegacy && !o.prune:
		return nil, "", a.usageError(fs, "--prune-legacy goes with --prune")
	}
	workdir := o.workdir
	if workdir == "" {
		workdir = filepath.Dir(files[0])
	}
	workdir, err = filepath.Abs(workdir)
	if err != nil {
		fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
		return nil, "", ExitFailed
	}
	f, err := spec.Load(files[0], spec.LoadOptions{RepoRoot: workdir})
	if err != nil {
		// A file with problems deploys nothing; every problem is listed.
		fmt.Fprintln(a.Stderr, err)
		fmt.Fprintln(a.Stderr, "prefect-deploy: nothing was deployed")
		return nil, "", ExitFailed
	}
	// The api runner is Prefect 3's only writer.
	if f.Prefect == spec.Prefect3 && o.deploys && o.runner != RunnerAPI {
		fmt.Fprintf(a.Stderr, "prefect-deploy: %s targets Prefect 3 (%s): it deploys with --runner api only (the batch and cli runners drive Prefect 2's `prefect deployment build`)\n", f.Path, f.PrefectFrom)
		return nil, "", ExitFailed
	}
	if o.image != "" && o.imageRepo != "" {
		return nil, "", a.usageError(fs, "--image and --image-repository exclude each other: give the image when it is known")
	}
	if o.imageRepo != "" && f.Prefect != spec.Prefect3 {
		return nil, "", a.usageError(fs, "--image-repository goes with a Prefect 3 file (its deployments name their image in job_variables.image); %s targets %s (%s), whose image is the infrastructure block's", f.Path, f.Prefect, f.PrefectFrom)
	}
	if o.image != "" && f.Prefect != spec.Prefect3 {
		return nil, "", a.usageError(fs, "--image goes with a Prefect 3 file (it becomes job_variables.image); %s targets %s (%s), whose image is the infrastructure block's", f.Path, f.Prefect, f.PrefectFrom)
	}
	if o.ecs.given() && f.Prefect != spec.Prefect3 {
		return nil, "", a.usageError(fs, "--ecs-* and --aws-* go with a Prefect 3 file (they become job variables of its ecs pools); %s targets %s (%s), whose ECS settings are the infrastructure block's", f.Path, f.Prefect, f.PrefectFrom)
	}
	// Entrypoints left to Prefect's loader: `prefect deployment build` loads them.
	spec.WriteNotes(a.Stderr, f.Notes)
	kept, err := f.Select(o.only)
	if err != nil {
		return nil, "", a.usageError(fs, "--only %v", err)
	}
	f.Deployments = kept
	return f, workdir, ExitOK
}

func exitForFlagErr(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	return ExitUsage
}

// plan is the live plan: what apply would change on the server (Terraform's meaning).
func (a *App) plan(ctx context.Context, args []string) int {
	var o options
	fs := a.flags("plan", &o, false)
	f, workdir, code := a.load(fs, &o, args)
	if f == nil {
		return code
	}
	if len(o.only) > 0 || o.prefectPath != "" {
		return a.usageError(fs, "--only and --prefect belong to the command-printing plan, which is now called script (prefect-deploy script ...); plan compares the whole file with the server")
	}
	if o.liveFlag {
		fmt.Fprintln(a.Stderr, "prefect-deploy: plan --live is plain plan now (--live is deprecated and does nothing); the command-printing plan is called script")
	}
	own, code := a.marker(fs, f, &o, workdir)
	if code != ExitOK {
		return code
	}
	return a.planLive(ctx, f, own, o.detailed, o.uncheckedJobVars)
}

// script prints the commands apply runs, ready to paste (plan before it was the live plan).
func (a *App) script(args []string) int {
	var o options
	fs := a.flags("script", &o, false)
	f, workdir, code := a.load(fs, &o, args)
	if f == nil {
		return code
	}
	own, code := a.marker(fs, f, &o, workdir)
	if code != ExitOK {
		return code
	}
	if f.Prefect == spec.Prefect3 {
		if o.poolType == "" {
			return a.usageError(fs, "--type must not be empty")
		}
		if err := script3(f, workdir, &o, own).Write(a.Stdout); err != nil {
			fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
			return ExitFailed
		}
		return ExitOK
	}
	outDir := filepath.Join(os.TempDir(), "prefect-deploy-plan")
	jobs, err := prefectcli.Jobs(ownership.Mark(f, own.tag), outDir)
	if err != nil {
		fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
		return ExitFailed
	}
	if err := (Script{File: f.Path, Workdir: workdir, OutDir: outDir, Prefect: o.prefectPath, Jobs: jobs}).Write(a.Stdout); err != nil {
		fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
		return ExitFailed
	}
	return ExitOK
}

func (a *App) apply(ctx context.Context, args []string) int {
	o := options{deploys: true}
	fs := a.flags("apply", &o, true)
	f, workdir, code := a.load(fs, &o, args)
	if f == nil {
		return code
	}
	factory, ok := Runners[o.runner]
	if !ok && o.runner != RunnerAPI {
		return a.usageError(fs, "unknown --runner %q", o.runner)
	}
	if o.python != "" && o.runner == "cli" {
		return a.usageError(fs, "--python goes with --runner api or batch")
	}
	if o.inspected != "" && o.runner != RunnerAPI {
		return a.usageError(fs, "--inspected goes with --runner api")
	}
	if o.inspected != "" && o.python != "" {
		return a.usageError(fs, "--inspected and --python exclude each other: the flows were already inspected")
	}
	if o.concurrency < 0 {
		return a.usageError(fs, "--concurrency must be positive")
	}
	if o.concurrency == 0 {
		o.concurrency = defaultConcurrency(o.runner)
		if f.Prefect == spec.Prefect3 {
			o.concurrency = DefaultAPIConcurrency3
		}
	}
	own, code := a.marker(fs, f, &o, workdir)
	if code != ExitOK {
		return code
	}
	env := LocalEnv(a.environ(), workdir, o.pythonPath)
	if o.runner == RunnerAPI && lookupEnv(env, "PREFECT_API_URL") == "" {
		fmt.Fprintln(a.Stderr, "prefect-deploy: --runner api writes through the Prefect API: set PREFECT_API_URL (or use --runner batch or cli, which also work without it)")
		fmt.Fprintln(a.Stderr, "prefect-deploy: nothing was deployed")
		return ExitFailed
	}
	var api *prefectapi.Client
	if lookupEnv(env, "PREFECT_API_URL") != "" || o.prune {
		var err error
		if api, err = a.client(); err != nil {
			fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
			return ExitFailed
		}
	}
	// Preflight: the API answers, takes the key, runs Prefect 2, has the blocks and pools
	// the file names; every problem in one line each, before anything runs.
	serverVersion := ""
	if api != nil {
		rep := preflight.Check(ctx, api, needsOf(f))
		if err := rep.Err(); err != nil {
			for _, p := range rep.Problems {
				fmt.Fprintf(a.Stderr, "prefect-deploy: preflight: %s\n", p)
			}
			fmt.Fprintln(a.Stderr, "prefect-deploy: nothing was deployed")
			return ExitFailed
		}
		serverVersion = rep.ServerVersion
	}
	if api != nil && (!a.withPools(ctx, api, f, &own) || !a.checkJobVariables(ctx, api, f, &own, o.uncheckedJobVars)) {
		fmt.Fprintln(a.Stderr, "prefect-deploy: nothing was deployed")
		return ExitFailed
	}
	// The plan is read before anything is applied: an unreachable API stops the run
	// before it changes anything, the list of deletes is known up front, and a
	// deployment that another owner marks as theirs is not silently taken over.
	var prunePlan *liveplan.Plan
	if api != nil {
		plan, err := liveplan.Build(ctx, f, api, own.options(o.pruneLegacy))
		if err != nil {
			fmt.Fprintf(a.Stderr, "prefect-deploy: live plan: %v\n", err)
			fmt.Fprintln(a.Stderr, "prefect-deploy: nothing was deployed")
			return ExitFailed
		}
		if code := a.refuseTakeOvers(plan, o.takeOver); code != ExitOK {
			return code
		}
		if o.prune {
			prunePlan = plan
		}
	}
	var (
		jobs        []prefectcli.Job
		runner      prefectcli.Runner
		runnerDesc  = o.runner
		closeRunner = func() {}
		where       string
	)
	if o.runner == RunnerAPI {
		var code int
		if jobs, runner, runnerDesc, code = a.apiRunner(ctx, &o, f, workdir, own, env, api, serverVersion); code != ExitOK {
			return code
		}
		where = "API " + api.Host()
	} else {
		bin, err := prefectcli.LookPrefect(o.prefectPath)
		if err != nil {
			fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
			return ExitFailed
		}
		outDir, err := os.MkdirTemp("", "prefect-deploy-")
		if err != nil {
			fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
			return ExitFailed
		}
		defer os.RemoveAll(outDir)
		// Every apply marks what it builds, so that prune and the read-back know it is ours.
		if jobs, err = prefectcli.Jobs(ownership.Mark(f, own.tag), outDir); err != nil {
			fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
			return ExitFailed
		}
		if o.runner == "batch" {
			if o.python, err = a.python(o.python, bin); err != nil {
				fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
				return ExitFailed
			}
			runnerDesc += " (python " + o.python + ")"
		}
		if runner, err = factory(RunnerConfig{Prefect: bin, Workdir: workdir, Env: env, Concurrency: o.concurrency, Stderr: a.Stderr, Python: o.python}); err != nil {
			fmt.Fprintf(a.Stderr, "prefect-deploy: runner %s: %v\n", o.runner, err)
			return ExitFailed
		}
		if c, ok := runner.(io.Closer); ok {
			var once sync.Once
			closeRunner = func() {
				once.Do(func() {
					if err := c.Close(); err != nil {
						fmt.Fprintf(a.Stderr, "prefect-deploy: warning: runner %s: %v\n", o.runner, err)
					}
				})
			}
			defer closeRunner()
		}
		where = "prefect " + bin
	}

	fmt.Fprintf(a.Stdout, "Applying %d deployment(s) from %s in %s: %d at once, runner %s, %s\n",
		len(jobs), f.Path, workdir, o.concurrency, runnerDesc, where)
	fmt.Fprintf(a.Stdout, "Owner %s: every deployment is tagged %s\n", own.owner, own.tag)

	rep := &prefectcli.TextReporter{W: a.Stdout}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-done:
		case <-ctx.Done():
			fmt.Fprintf(a.Stderr, "prefect-deploy: interrupted: starting nothing new; running builds get up to %s to finish, then they are stopped (interrupt again to stop them now)\n", o.grace)
		}
	}()
	start := time.Now()
	results := prefectcli.Apply(ctx, jobs, runner, prefectcli.ApplyOptions{
		Concurrency: o.concurrency, FailFast: o.failFast, Timeout: o.timeout, Grace: graceOption(o.grace), Abort: a.Abort,
	}, rep)
	wall := time.Since(start)
	close(done)
	wg.Wait()
	// The batch runner's Python processes hold a whole Prefect each: free them before
	// the read-back and prune.
	closeRunner()

	fmt.Fprintln(a.Stdout)
	prefectcli.WriteSummary(a.Stdout, results, wall)
	if o.results != "" {
		data, err := prefectcli.MarshalResults(results)
		if err == nil {
			err = os.WriteFile(o.results, data, 0o644)
		}
		if err != nil {
			fmt.Fprintf(a.Stderr, "prefect-deploy: --results: %v\n", err)
			return ExitFailed
		}
	}
	if p := lookupEnv(env, "GITHUB_STEP_SUMMARY"); p != "" {
		if err := appendMarkdown(p, results, wall); err != nil {
			fmt.Fprintf(a.Stderr, "prefect-deploy: warning: step summary: %v\n", err)
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintln(a.Stdout, "read-back skipped: interrupted")
		if o.prune {
			fmt.Fprintln(a.Stderr, "prefect-deploy: no prune: interrupted")
		}
		return ExitInterrupted
	}
	code = ExitOK
	if !prefectcli.AllSucceeded(results) {
		code = ExitFailed
	}
	var driftErr error
	switch {
	case o.noReadBack:
		fmt.Fprintln(a.Stdout, "read-back skipped: --no-read-back")
	case api == nil:
		fmt.Fprintln(a.Stdout, "read-back skipped: PREFECT_API_URL is not set")
	default:
		fmt.Fprintln(a.Stdout)
		rb, err := liveplan.ReadBack(ctx, f, api, results, own.options(false))
		if err != nil {
			fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
			driftErr = err
		} else {
			var text bytes.Buffer
			_ = liveplan.WriteReadBack(&text, rb)
			_, _ = a.Stdout.Write(text.Bytes())
			if file := lookupEnv(env, "GITHUB_STEP_SUMMARY"); file != "" {
				if err := appendTo(file, func(w *os.File) error {
					_, err := fmt.Fprintf(w, "\n#### Read-back\n\n```\n%s```\n", text.String())
					return err
				}); err != nil {
					fmt.Fprintf(a.Stderr, "prefect-deploy: warning: step summary: %v\n", err)
				}
			}
			if driftErr = rb.Err(); driftErr != nil {
				fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", driftErr)
			}
		}
		if driftErr != nil {
			code = ExitFailed
		}
	}
	if o.prune {
		if c := a.prune(ctx, f, results, driftErr, api, prunePlan, o.yes); c != ExitOK {
			code = c
		}
	}
	return code
}

// graceOption maps the flag (0 = stop at once) onto ApplyOptions (0 = default).
func graceOption(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

func appendMarkdown(file string, results []prefectcli.Result, wall time.Duration) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", file, err)
	}
	if err := prefectcli.WriteMarkdownSummary(f, results, wall); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", file, err)
	}
	return nil
}

// LookupEnv is name's value in env as the commands read it (the last one wins; ""
// when absent).
func LookupEnv(env []string, name string) string { return lookupEnv(env, name) }

func lookupEnv(env []string, name string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val
		}
	}
	return v
}

// needsOf is what the file's deployments rely on: the server's major (the file's), their
// blocks and pools.
func needsOf(f *spec.File) preflight.Needs {
	n := preflight.Needs{ServerMajor: int(f.Prefect)}
	if n.ServerMajor == 0 {
		n.ServerMajor = 2
	}
	for _, d := range f.Deployments {
		n.Blocks = append(n.Blocks, d.IBBlock)
		if d.WorkPool != nil && d.WorkPool.Name != "" {
			n.Pools = append(n.Pools, d.WorkPool.Name)
		}
	}
	return n
}

// refuseTakeOvers stops an apply that would overwrite deployments another owner's tag
// marks as theirs, unless --take-over says so: two repositories (or a changed owner)
// sharing a server and an environment name must not take each other's deployments by
// accident. Each is named with its owner, then what to do.
func (a *App) refuseTakeOvers(plan *liveplan.Plan, allowed bool) int {
	var theirs []liveplan.Entry
	for _, e := range plan.Entries {
		if e.TakeOver() {
			theirs = append(theirs, e)
		}
	}
	if len(theirs) == 0 || allowed {
		return ExitOK
	}
	for _, e := range theirs {
		fmt.Fprintf(a.Stderr, "prefect-deploy: %s belongs to owner %s (tag %s); this apply is owner %s\n", e.Key(), e.AdoptOwner, e.AdoptFrom, plan.Owner)
	}
	fmt.Fprintf(a.Stderr, "prefect-deploy: %d deployment(s) of another owner: set PREFECT_OWNER (or --owner) to their owner if this is the same repository, or pass --take-over to make them ours\n", len(theirs))
	fmt.Fprintln(a.Stderr, "prefect-deploy: nothing was deployed")
	return ExitFailed
}
