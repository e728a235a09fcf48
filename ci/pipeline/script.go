package pipeline

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/acme-data/prefect-flows/ci/config"
	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/inspect"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/spec"
)

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
			{Args: o.applyArgs(file, owner, deploycli.ImageFromEnv, true, false)},
		},
	}
}
