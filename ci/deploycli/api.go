package deploycli

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/acme-data/prefect-flows/ci/deployer"
	"github.com/acme-data/prefect-flows/ci/desired"
	"github.com/acme-data/prefect-flows/ci/inspect"
	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// apiRunner prepares --runner api: the flows inspected (once, or read from --inspected),
// every deployment resolved to its desired state, every infrastructure block resolved
// to its id. Any problem stops the apply here, one line each, before anything is written.
func (a *App) apiRunner(ctx context.Context, o *options, f *spec.File, workdir string, own runOwner, env []string, api *prefectapi.Client, serverVersion string) ([]prefectcli.Job, prefectcli.Runner, string, int) {
	fail := func(format string, args ...any) ([]prefectcli.Job, prefectcli.Runner, string, int) {
		fmt.Fprintf(a.Stderr, "prefect-deploy: "+format+"\n", args...)
		fmt.Fprintln(a.Stderr, "prefect-deploy: nothing was deployed")
		return nil, nil, "", ExitFailed
	}
	eps := make([]string, 0, len(f.Deployments))
	for _, d := range f.Deployments {
		eps = append(eps, d.Entrypoint)
	}
	eps = inspect.Distinct(eps)

	var (
		flows *inspect.Result
		err   error
		desc  string
	)
	if o.inspected != "" {
		if flows, err = inspect.ReadFile(o.inspected); err != nil {
			return fail("--inspected: %v", err)
		}
		if missing := flows.Missing(eps); len(missing) > 0 {
			return fail("--inspected %s does not cover %d entrypoint(s) of %s: %v (inspect again for this file)", o.inspected, len(missing), f.Path, missing)
		}
		desc = "api (flows from " + o.inspected + ")"
	} else {
		py, err := a.apiPython(o)
		if err != nil {
			return fail("%v", err)
		}
		start := time.Now()
		if flows, err = inspect.Run(ctx, eps, inspect.Options{Python: py, Workdir: workdir, Env: env}); err != nil {
			return fail("%v", err)
		}
		fmt.Fprintf(a.Stdout, "Inspected %d flow file entrypoint(s) with Prefect %s (python %s) in %.1fs\n", len(eps), flows.PrefectVersion, py, time.Since(start).Seconds())
		desc = "api (python " + py + ")"
	}
	if serverVersion != "" && flows.PrefectVersion != "" && major(serverVersion) != major(flows.PrefectVersion) {
		return fail("preflight: the flows were inspected with Prefect %s but the API at %s runs Prefect %s: the majors must agree", flows.PrefectVersion, api.Host(), serverVersion)
	}
	if bad := flows.Failed(); len(bad) > 0 {
		for _, b := range bad {
			fmt.Fprintf(a.Stderr, "prefect-deploy: flow does not load: %s\n", b)
		}
		return fail("%d of %d entrypoint(s) do not load", len(bad), len(flows.Flows))
	}
	deps, err := desired.ResolveAll(f, flows, own.tag)
	if err != nil {
		return fail("%v", err)
	}
	abs, err := filepath.Abs(workdir)
	if err != nil {
		return fail("%v", err)
	}
	// The writes get their own client: more patient retries (deployer.WriteRetry); the
	// App's options (tests shorten the waits) still win.
	env2 := a.environ()
	writer, err := prefectapi.NewFromEnv(func(name string) string { return lookupEnv(env2, name) }, append([]prefectapi.Option{prefectapi.WithRetry(deployer.WriteRetry)}, a.APIOptions...)...)
	if err != nil {
		return fail("%v", err)
	}
	for i := range deps {
		deps[i].Image = o.image
		// The ECS settings, as the plan and the read-back compare them.
		deps[i].PoolJobVariables = own.pools[deps[i].WorkPool]
	}
	// The server's major picks the writer (deployer.ForServer); it must be the file's.
	d, m, err := deployer.ForServer(ctx, writer, abs)
	if err != nil {
		return fail("%v", err)
	}
	if want := int(f.Prefect); want != 0 && m != want {
		return fail("%s targets %s (%s) but the API at %s runs Prefect %d", f.Path, f.Prefect, f.PrefectFrom, api.Host(), m)
	}
	if err := d.Prepare(ctx, deps); err != nil {
		fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
		return nil, nil, "", ExitFailed
	}
	return deployer.Jobs(deps), d.Runner(deps), desc, ExitOK
}

// apiPython is --python, else the interpreter of the prefect executable when there is
// one (its script names the environment Prefect is installed in), else python3.
func (a *App) apiPython(o *options) (string, error) {
	py := o.python
	if py == "" {
		py = "python3"
		if bin, err := prefectcli.LookPrefect(o.prefectPath); err == nil {
			py = PythonFor(bin)
		}
	}
	path, err := exec.LookPath(py)
	if err != nil {
		return "", fmt.Errorf("--runner api inspects the flows with the Python that has Prefect installed: %w (give --python PATH, or --inspected FILE)", err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return path, nil
}

func major(v string) string {
	m, _, _ := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	return m
}
