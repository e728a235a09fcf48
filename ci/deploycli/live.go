package deploycli

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/acme-data/prefect-flows/ci/liveplan"
	"github.com/acme-data/prefect-flows/ci/ownership"
	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/preflight"
	"github.com/acme-data/prefect-flows/ci/prune"
	"github.com/acme-data/prefect-flows/ci/spec"
)

func (a *App) environ() []string {
	if a.Env == nil {
		return os.Environ()
	}
	return a.Env
}

// client is the Prefect API client of PREFECT_API_URL and PREFECT_API_KEY; its errors
// are one line and never hold the key.
func (a *App) client() (*prefectapi.Client, error) {
	env := a.environ()
	return prefectapi.NewFromEnv(func(name string) string { return lookupEnv(env, name) }, a.APIOptions...)
}

// runOwner is the resolved environment, owner and ownership tag of a run.
type runOwner struct {
	env, tag string
	owner    ownership.Owner
	// image is --image: what a Prefect 3 apply sends as job_variables.image, which the
	// plan and the read-back compare ("" when not given).
	image string
	// imageRepo is --image-repository: where the deploy pushes the image it sends.
	imageRepo string
	// ecs are the ECS settings; pools what they add to the job variables, by pool name,
	// once withPools has read the pools' types.
	ecs   ecsFlags
	pools map[string]map[string]any
	// workPools are the pools the file names as the server holds them (nil for one it
	// has not), read once by readPools for the ECS settings and the job variable check.
	workPools map[string]*prefectapi.WorkPool
}

func (w runOwner) options(pruneLegacy bool) liveplan.Options {
	return liveplan.Options{Env: w.env, Owner: w.owner.Name, OwnerSource: w.owner.Source, PruneLegacy: pruneLegacy, Image: w.image, ImageRepository: w.imageRepo, PoolJobVariables: w.pools}
}

// withPools resolves the ECS settings of a Prefect 3 file into the job variables of its
// ecs pools (poolJobVariables), for apply to write and the plan and read-back to compare
// alike; notes go to stderr. false means stop: the reason is printed.
func (a *App) withPools(ctx context.Context, api *prefectapi.Client, f *spec.File, own *runOwner) bool {
	if !own.ecs.given() || f.Prefect != spec.Prefect3 {
		return true
	}
	if !a.readPools(ctx, api, f, own) {
		return false
	}
	pools, err := poolJobVariables(ctx, api, f, own.workPools, own.ecs, func(note string) { fmt.Fprintf(a.Stderr, "prefect-deploy: note: %s\n", note) })
	if err != nil {
		fmt.Fprintf(a.Stderr, "prefect-deploy: ECS settings: %v\n", err)
		return false
	}
	own.pools = pools
	return true
}

// readPools reads the work pools f names into own.workPools, once per command
// (concurrently, preflight.WorkPools; any type is read, the type rule is the pools
// command's and the preflight's). A failed read is printed and means stop.
func (a *App) readPools(ctx context.Context, api *prefectapi.Client, f *spec.File, own *runOwner) bool {
	if own.workPools != nil {
		return true
	}
	states, problems := preflight.WorkPools(ctx, api, preflight.PoolUses(f.Deployments), preflight.PoolRule{AnyType: true})
	for _, p := range problems {
		fmt.Fprintf(a.Stderr, "prefect-deploy: %s\n", p)
	}
	own.workPools = make(map[string]*prefectapi.WorkPool, len(states))
	for _, s := range states {
		own.workPools[s.Name] = s.Pool
	}
	return len(problems) == 0
}

// marker resolves the environment (--env, else the file name), the owner (liveplan's
// one rule, from workdir) and the ownership tag. Every apply needs it: a deployment
// built without it would be invisible to prune and to the read-back.
func (a *App) marker(fs *flag.FlagSet, f *spec.File, o *options, workdir string) (runOwner, int) {
	env := o.env
	if fromName := f.Env(); env == "" {
		env = fromName
	} else if fromName != "" && fromName != env {
		return runOwner{}, a.usageError(fs, "--env %s does not match %s, which is the file of environment %s", env, f.Path, fromName)
	}
	if env == "" {
		return runOwner{}, a.usageError(fs, "cannot tell the environment of %s: name it %s or pass --env ENV (it ends the ownership tag %s<owner>:<env>)", f.Path, spec.EnvFile("<env>"), ownership.MarkerPrefix)
	}
	environ := a.environ()
	owner, err := ownership.ResolveOwner(o.owner, func(k string) string { return lookupEnv(environ, k) }, workdir)
	if err != nil {
		return runOwner{}, a.usageError(fs, "%v", err)
	}
	tag, err := ownership.MarkerTag(owner.Name, env)
	if err != nil {
		return runOwner{}, a.usageError(fs, "%v", err)
	}
	return runOwner{env: env, tag: tag, owner: owner, image: o.image, imageRepo: o.imageRepo, ecs: o.ecs}, ExitOK
}

func (a *App) planLive(ctx context.Context, f *spec.File, own runOwner, detailed, unchecked bool) int {
	api, err := a.client()
	if err != nil {
		fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
		if lookupEnv(a.environ(), "PREFECT_API_URL") == "" {
			fmt.Fprintln(a.Stderr, "prefect-deploy: plan compares the file with the server at PREFECT_API_URL; to print the commands instead, run prefect-deploy script")
		}
		return ExitFailed
	}
	if f.Prefect == spec.Prefect3 {
		// Prefect 3's fields compared with a Prefect 2 server's would be a plan of noise.
		v, err := api.AdminVersion(ctx)
		if err != nil {
			fmt.Fprintf(a.Stderr, "prefect-deploy: plan: GET /admin/version: %v\n", err)
			return ExitFailed
		}
		if !strings.HasPrefix(v, "3.") {
			fmt.Fprintf(a.Stderr, "prefect-deploy: plan: %s targets Prefect 3 (%s) but the Prefect API at %s runs Prefect %s: the majors must agree\n", f.Path, f.PrefectFrom, api.Host(), v)
			return ExitFailed
		}
	}
	if !a.withPools(ctx, api, f, &own) {
		return ExitFailed
	}
	if !a.checkJobVariables(ctx, api, f, &own, unchecked) {
		fmt.Fprintln(a.Stderr, "prefect-deploy: plan: apply would refuse this file (above) and write nothing")
		return ExitFailed
	}
	p, err := liveplan.Build(ctx, f, api, own.options(false))
	if err != nil {
		fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
		return ExitFailed
	}
	if err := liveplan.Render(a.Stdout, p); err != nil {
		fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
		return ExitFailed
	}
	if file := lookupEnv(a.environ(), "GITHUB_STEP_SUMMARY"); file != "" {
		if err := appendTo(file, func(w *os.File) error { return liveplan.RenderMarkdown(w, p) }); err != nil {
			fmt.Fprintf(a.Stderr, "prefect-deploy: warning: step summary: %v\n", err)
		}
	}
	if detailed && p.HasChanges() {
		return ExitChanges
	}
	return ExitOK
}

// prune deletes the plan's deletes after a complete, successful, drift-free apply.
func (a *App) prune(ctx context.Context, f *spec.File, results []prefectcli.Result, driftErr error, api *prefectapi.Client, p *liveplan.Plan, yes bool) int {
	fmt.Fprintln(a.Stdout)
	if err := prune.CheckFile(f, results, nil); err != nil {
		fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
		return ExitFailed
	}
	if driftErr != nil {
		fmt.Fprintln(a.Stderr, "prefect-deploy: no prune: the read-back did not confirm the apply")
		return ExitFailed
	}
	return a.pruneNow(ctx, p, api, yes)
}

// pruneNow shows the plan's deletes, asks, deletes and says what it did.
func (a *App) pruneNow(ctx context.Context, p *liveplan.Plan, api *prefectapi.Client, yes bool) int {
	if len(p.Deletes()) == 0 {
		fmt.Fprintf(a.Stdout, "Prune: nothing to delete (no deployment tagged %s is missing from the file).\n", p.Marker)
		return ExitOK
	}
	res, err := prune.Run(ctx, p, api, func(list []liveplan.Entry) bool {
		_ = prune.WriteList(a.Stdout, list)
		return a.confirm(yes, len(list))
	})
	if res != nil {
		_ = prune.WriteResult(a.Stdout, res)
		if file := lookupEnv(a.environ(), "GITHUB_STEP_SUMMARY"); file != "" && len(res.Deleted)+len(res.Skipped) > 0 {
			if err := appendTo(file, func(w *os.File) error {
				if _, err := fmt.Fprint(w, "\n#### Prune\n\n```\n"); err != nil {
					return err
				}
				if err := prune.WriteResult(w, res); err != nil {
					return err
				}
				_, err := fmt.Fprint(w, "```\n")
				return err
			}); err != nil {
				fmt.Fprintf(a.Stderr, "prefect-deploy: warning: step summary: %v\n", err)
			}
		}
	}
	if err != nil {
		fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
		return ExitFailed
	}
	return ExitOK
}

// confirm says yes for --yes, asks a person at a terminal, and says no otherwise:
// deleting needs an explicit yes.
func (a *App) confirm(yes bool, n int) bool {
	if yes {
		return true
	}
	if !a.Interactive || a.Stdin == nil {
		fmt.Fprintln(a.Stderr, "prefect-deploy: prune needs --yes when stdin is not a terminal: nothing deleted")
		return false
	}
	fmt.Fprintf(a.Stdout, "Delete these %d deployment(s)? [y/N] ", n)
	line, err := bufio.NewReader(a.Stdin).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(a.Stdout)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	return false
}

func appendTo(file string, write func(*os.File) error) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", file, err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", file, err)
	}
	return nil
}

// readBack is the read-back of apply on its own: the pipeline runs it inside the image
// after its deploy step, with the API URL and key as Dagger secrets.
func (a *App) readBack(ctx context.Context, args []string) int {
	var o options
	f, own, api, code := a.onAPI(ctx, "read-back", &o, args)
	if f == nil {
		return code
	}
	if _, err := a.readBackAll(ctx, f, api, own); err != nil {
		return ExitFailed
	}
	return ExitOK
}

// onAPI is the start of the commands that work on the API alone: parse the flags, load
// the file, resolve its environment and open the client. A nil file means stop with code.
func (a *App) onAPI(ctx context.Context, name string, o *options, args []string) (*spec.File, runOwner, *prefectapi.Client, int) {
	fs := a.flags(name, o, false)
	f, workdir, code := a.load(fs, o, args)
	if f == nil {
		return nil, runOwner{}, nil, code
	}
	own, code := a.marker(fs, f, o, workdir)
	if code != ExitOK {
		return nil, runOwner{}, nil, code
	}
	api, err := a.client()
	if err != nil {
		fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
		return nil, runOwner{}, nil, ExitFailed
	}
	if !a.withPools(ctx, api, f, &own) {
		return nil, runOwner{}, nil, ExitFailed
	}
	return f, own, api, ExitOK
}

// readBackAll reads back every deployment of f; the error is drift or a failed read.
func (a *App) readBackAll(ctx context.Context, f *spec.File, api *prefectapi.Client, own runOwner) (*liveplan.ReadBackResult, error) {
	rb, err := liveplan.ReadBack(ctx, f, api, nil, own.options(false))
	if err != nil {
		fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
		return nil, err
	}
	_ = liveplan.WriteReadBack(a.Stdout, rb)
	if err := rb.Err(); err != nil {
		fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
		return rb, err
	}
	return rb, nil
}

// pruneCmd is prune on its own, for a deploy that did not go through apply (the
// pipeline). Without apply's results it asks the server instead: every deployment of
// the file must be there and match it, which a failed or partial deploy cannot give.
func (a *App) pruneCmd(ctx context.Context, args []string) int {
	// Pruning is what this command is for; the flag checks of --prune apply.
	o := options{prune: true}
	f, own, api, code := a.onAPI(ctx, "prune", &o, args)
	if f == nil {
		return code
	}
	if len(f.Deployments) == 0 {
		fmt.Fprintln(a.Stderr, "prefect-deploy: no prune: the file lists no deployment")
		return ExitFailed
	}
	if _, err := a.readBackAll(ctx, f, api, own); err != nil {
		fmt.Fprintln(a.Stderr, "prefect-deploy: no prune: the server does not hold exactly the file")
		return ExitFailed
	}
	fmt.Fprintln(a.Stdout)
	p, err := liveplan.Build(ctx, f, api, own.options(o.pruneLegacy))
	if err != nil {
		fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
		return ExitFailed
	}
	return a.pruneNow(ctx, p, api, o.yes)
}
