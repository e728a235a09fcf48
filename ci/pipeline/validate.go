package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/acme-data/prefect-flows/ci/deploycli"
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
