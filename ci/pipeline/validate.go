package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/acme-data/prefect-flows/ci/config"
	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/inspect"
	"github.com/acme-data/prefect-flows/ci/ownership"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// DeployOutDir is where each `prefect deployment build -o` writes inside the container;
// every job gets its own file there so parallel builds never share one.
const DeployOutDir = "/tmp/prefect-deploy"

// DeploymentsFile is the path of environment env's deployments file under root.
func DeploymentsFile(root, env string) string {
	return filepath.Join(root, "prefect-deployments-"+env+".yaml")
}

type validateStep struct{}

func (validateStep) String() string {
	return "validate: load and validate the deployments file (no engine)"
}

func (validateStep) Run(_ context.Context, st *State) error {
	o := st.Opts
	owner, err := o.owner()
	if err != nil {
		return err
	}
	f, jobs, err := loadFile(o.SourceDir, o.Env, owner)
	if err != nil {
		return err
	}
	if err := o.checkRunner(f); err != nil {
		return err
	}
	if len(o.Only) > 0 {
		if jobs, err = selectJobs(f, jobs, o.Only); err != nil {
			return err
		}
	}
	st.File, st.Jobs = f, jobs
	st.Report.File = relTo(o.SourceDir, f.Path)
	for _, n := range f.Notes {
		fmt.Fprintf(st.out, "    %s\n", n.Note())
	}
	if !st.OnlyImage {
		fmt.Fprintf(st.out, "    %s: %d deployment(s) to build\n", st.Report.File, len(jobs))
		for _, j := range jobs {
			if f.Prefect == spec.Prefect3 {
				fmt.Fprintf(st.out, "    %s (Prefect 3, through the API)\n", j.Name)
				continue
			}
			fmt.Fprintf(st.out, "    prefect %s\n", deploycli.ShellJoin(j.Args))
		}
	}
	if o.Registry != "" {
		sha := o.GitSHA
		if sha == "" {
			if sha, err = GitSHA(o.SourceDir); err != nil {
				hint := o.GitSHAHint
				if hint == "" {
					hint = "give it (GIT_SHA with mage, with-git-sha with dagger call)"
				}
				return fmt.Errorf("publishing needs the git commit for the <env>-<sha> tag: %s: %w", hint, err)
			}
		}
		if !hexSHA.MatchString(sha) {
			return fmt.Errorf("git commit %q is not a hex commit hash", sha)
		}
		st.GitSHA = sha
	}
	return nil
}

// checkRunner refuses a runner that cannot write f's major: Prefect 3 deploys with the
// api runner only.
func (o *Options) checkRunner(f *spec.File) error {
	if f.Prefect == spec.Prefect3 && o.DeployRunner() != RunnerAPI {
		return fmt.Errorf("%s targets Prefect 3 (%s): DEPLOY_RUNNER=%s drives Prefect 2's `prefect deployment build`; Prefect 3 deploys with the api runner (leave DEPLOY_RUNNER unset)", relTo(o.SourceDir, f.Path), f.PrefectFrom, o.DeployRunner())
	}
	return nil
}

// owner is Owner, else liveplan's rule on this process's environment and SourceDir.
func (o *Options) owner() (string, error) {
	if o.Owner != "" {
		return o.Owner, ownership.CheckOwner(o.Owner)
	}
	own, err := ownership.ResolveOwner("", os.Getenv, o.SourceDir)
	return own.Name, err
}

// loadFile loads and validates environment env's file. A Prefect 3 file's jobs carry
// only the deployment names, which the report and DEPLOY_ONLY use: the api runner
// writes it.
func loadFile(root, env, owner string) (*spec.File, []prefectcli.Job, error) {
	path := DeploymentsFile(root, env)
	if _, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("environment %q has no deployments file: %w", env, err)
	}
	f, err := spec.Load(path, spec.LoadOptions{RepoRoot: root})
	if err != nil {
		return nil, nil, err
	}
	// Every deploy marks what it builds with the environment's ownership tag, so that
	// the read-back and prune know which deployments are this repository's.
	tag, err := ownership.MarkerTag(owner, env)
	if err != nil {
		return nil, nil, err
	}
	if f.Prefect == spec.Prefect3 {
		jobs := make([]prefectcli.Job, len(f.Deployments))
		for i, d := range f.Deployments {
			jobs[i] = prefectcli.Job{Name: d.Name}
		}
		return f, jobs, nil
	}
	jobs, err := prefectcli.ContainerJobs(ownership.Mark(f, tag), DeployOutDir)
	if err != nil {
		return nil, nil, err
	}
	return f, jobs, nil
}

// selectJobs keeps the jobs of the deployments DEPLOY_ONLY selects (f.Select: the rule
// of prefect-deploy's --only, which the steps in the image are given as it is).
func selectJobs(f *spec.File, jobs []prefectcli.Job, only []string) ([]prefectcli.Job, error) {
	kept, err := f.Select(only)
	if err != nil {
		return nil, fmt.Errorf("DEPLOY_ONLY %w", err)
	}
	want := make(map[string]bool, len(kept))
	for _, d := range kept {
		want[d.Name] = true
	}
	var out []prefectcli.Job
	for _, j := range jobs {
		if want[j.Name] {
			out = append(out, j)
		}
	}
	return out, nil
}

// onlyArgs hands DEPLOY_ONLY on to prefect-deploy: --only means the same.
func onlyArgs(only []string) []string {
	var args []string
	for _, p := range only {
		args = append(args, "--only", p)
	}
	return args
}

// Environments lists the environments that have a prefect-deployments-<env>.yaml under root.
func Environments(root string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(root, "prefect-deployments-*.yaml"))
	if err != nil {
		return nil, err
	}
	var envs []string
	for _, m := range matches {
		env := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "prefect-deployments-"), ".yaml")
		if env != "" {
			envs = append(envs, env)
		}
	}
	sort.Strings(envs)
	return envs, nil
}

// ScriptAll validates the deployments file of every environment under root and prints,
// per environment, the script the pipeline runs inside the agent image: the same
// rendering as `prefect-deploy script`, with the image's WORKDIR and output directory and
// the block registration first; for a Prefect 3 file the check, pools and deploy steps'
// execs, built by the functions those steps use (work pools of the type a real API
// gets, the image as $PREFECT_IMAGE: it is published first). It needs no Docker and no Prefect. Every file is checked
// even when an earlier one fails; the error lists them all. owner "" means liveplan's rule.
func ScriptAll(root, owner string, out io.Writer) error {
	o := Options{Config: config.Config{SourceDir: root, Owner: owner}}
	owner, err := o.owner()
	if err != nil {
		return err
	}
	envs, err := Environments(root)
	if err != nil {
		return err
	}
	if len(envs) == 0 {
		return fmt.Errorf("no prefect-deployments-*.yaml in %s", root)
	}
	var errs []error
	for i, env := range envs {
		if i > 0 {
			fmt.Fprintln(out)
		}
		f, jobs, err := loadFile(root, env, owner)
		if err != nil {
			fmt.Fprintf(out, "# %s: INVALID\n", relTo(root, DeploymentsFile(root, env)))
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(out, "# environment %s, inside the agent image (PREFECT_IMAGE, the API and the ECS settings come from the pipeline)\n", env)
		for _, n := range f.Notes {
			fmt.Fprintf(out, "# %s\n", n.Note())
		}
		if f.Prefect == spec.Prefect3 {
			if err := o.script3(f, owner, config.DefaultPoolType).Write(out); err != nil {
				return err
			}
			continue
		}
		p := deploycli.Script{
			File:    relTo(root, f.Path),
			Workdir: Workdir,
			OutDir:  DeployOutDir,
			Prefect: "prefect",
			Setup: [][]string{
				append([]string{"prefect"}, prefectcli.RegisterArgs("prefect_aws.ecs")...),
				{"python", "infrastructure/ecs-task-" + env + ".py"},
			},
			Jobs: jobs,
		}
		if err := p.Write(out); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

func relTo(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

// script3 is what the pipeline runs inside the image for Prefect 3 file f, with work
// pools of type typ: the check step's inspect (its output is the deploy's --inspected),
// the pools step and the deploy step.
func (o *Options) script3(f *spec.File, owner, typ string) deploycli.Script3 {
	file := filepath.Base(f.Path)
	pools := o.Config
	pools.PoolType = typ
	eps := make([]string, len(f.Deployments))
	for i, d := range f.Deployments {
		eps[i] = d.Entrypoint
	}
	return deploycli.Script3{
		Header: fmt.Sprintf("%s: %d deployment(s), %s (%s): work pools of type %s (PREFECT_POOL_TYPE), then one apply through the API; entrypoints are relative to the cd below",
			file, len(f.Deployments), f.Prefect, f.PrefectFrom, typ),
		Workdir: Workdir,
		Dirs:    []string{CheckDir, PoolsDir},
		Steps: []deploycli.Step{
			{Comment: "check: the pipeline writes ci/inspect's program to " + inspect.Program.ContainerPath(), Args: CheckArgs(inspect.Distinct(eps)), Stdout: InspectedPath},
			{Args: TemplateArgs(typ, PoolsTemplate(typ))},
			{Args: PoolsArgs(pools, file)},
			{Args: o.applyArgs(file, owner, deploycli.ImageFromEnv, true)},
		},
	}
}
