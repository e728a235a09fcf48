package deploycli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// DefaultPoolType is the type `prefect-deploy pools` gives a work pool it creates.
const DefaultPoolType = "ecs"

// pools creates the work pools a Prefect 3 file names that PREFECT_API_URL does not
// have yet, of one type, with the base job template given (the server does not fill a
// type's default: the pipeline asks the image's Prefect for it). A pool that exists is
// left exactly as it is, whatever its type or template: the pipeline runs this before
// the deploy.
func (a *App) pools(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("prefect-deploy pools", flag.ContinueOnError)
	fs.SetOutput(a.Stderr)
	workdir := fs.String("workdir", "", "repository root the file's paths are relative to (default: the file's directory)")
	typ := fs.String("type", DefaultPoolType, "work pool type of the pools created (ecs, process, docker, ...)")
	tmplFile := fs.String("base-job-template", "", "JSON file: the base job template of the pools created, e.g. from `prefect work-pool get-default-base-job-template --type TYPE --file FILE` (default: none, the pool's template stays empty)")
	var only stringList
	fs.Var(&only, "only", "only the pools of these deployments: "+spec.SelectHelp+" (repeatable)")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return exitForFlagErr(err)
	}
	if len(files) != 1 {
		return a.usageError(fs, "want exactly one FILE, got %d", len(files))
	}
	if *typ == "" {
		return a.usageError(fs, "--type must not be empty")
	}
	var tmpl json.RawMessage
	if *tmplFile != "" {
		raw, err := os.ReadFile(*tmplFile)
		if err != nil {
			fmt.Fprintf(a.Stderr, "prefect-deploy: pools: --base-job-template: %v\n", err)
			return ExitFailed
		}
		var obj map[string]any
		if err := json.Unmarshal(raw, &obj); err != nil {
			fmt.Fprintf(a.Stderr, "prefect-deploy: pools: --base-job-template %s: want a JSON object: %v\n", *tmplFile, err)
			return ExitFailed
		}
		tmpl = raw
	}
	root := *workdir
	if root == "" {
		root = filepath.Dir(files[0])
	}
	f, err := spec.Load(files[0], spec.LoadOptions{RepoRoot: root})
	if err != nil {
		fmt.Fprintln(a.Stderr, err)
		fmt.Fprintln(a.Stderr, "prefect-deploy: no work pool was created")
		return ExitFailed
	}
	if f.Prefect != spec.Prefect3 {
		fmt.Fprintf(a.Stderr, "prefect-deploy: pools: %s targets %s (%s): only Prefect 3 deployments run in work pools this command creates\n", f.Path, f.Prefect, f.PrefectFrom)
		return ExitFailed
	}
	kept, err := f.Select(only)
	if err != nil {
		return a.usageError(fs, "--only %v", err)
	}
	f.Deployments = kept
	api, err := a.client()
	if err != nil {
		fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
		return ExitFailed
	}
	code := ExitOK
	for _, name := range PoolNames(f) {
		p, err := api.ReadWorkPool(ctx, name)
		switch {
		case err == nil:
			fmt.Fprintf(a.Stdout, "work pool %s: exists (type %s), left as it is\n", name, p.Type)
			continue
		case !errors.Is(err, prefectapi.ErrNotFound):
			fmt.Fprintf(a.Stderr, "prefect-deploy: pools: read work pool %q: %v\n", name, err)
			code = ExitFailed
			continue
		}
		p, err = api.CreateWorkPool(ctx, name, *typ, tmpl)
		switch {
		case errors.Is(err, prefectapi.ErrConflict):
			// Created by someone else between the read and the write: theirs stands.
			fmt.Fprintf(a.Stdout, "work pool %s: created meanwhile by someone else, left as it is\n", name)
		case err != nil:
			fmt.Fprintf(a.Stderr, "prefect-deploy: pools: create work pool %q of type %s: %v\n", name, *typ, err)
			code = ExitFailed
		default:
			fmt.Fprintf(a.Stdout, "work pool %s: created (type %s)\n", name, p.Type)
		}
	}
	return code
}

// PoolNames are the distinct work pool names of f's deployments, in file order.
func PoolNames(f *spec.File) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range f.Deployments {
		if d.WorkPool == nil || d.WorkPool.Name == "" || seen[d.WorkPool.Name] {
			continue
		}
		seen[d.WorkPool.Name] = true
		out = append(out, d.WorkPool.Name)
	}
	return out
}
