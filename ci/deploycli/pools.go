package deploycli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/preflight"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// DefaultPoolType is the type `prefect-deploy pools` gives a work pool it creates.
const DefaultPoolType = "ecs"

// pools makes the work pools a Prefect 3 file names ready for the deploy: a missing
// pool is created of --type with the base job template given (the server does not fill
// a type's default: the pipeline asks the image's Prefect for it); an existing pool
// must be of --type (unless --any-type) and is left as it is, except that
// --update-template sets its base job template to the one given. Every pool is read
// before anything is written: a pool of another type stops the command with nothing
// created or changed. The pipeline runs this before the deploy.
func (a *App) pools(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("prefect-deploy pools", flag.ContinueOnError)
	fs.SetOutput(a.Stderr)
	workdir := fs.String("workdir", "", "repository root the file's paths are relative to (default: the file's directory)")
	typ := fs.String("type", DefaultPoolType, "work pool type: of the pools created, and the type every existing pool must have (ecs, process, docker, ...)")
	anyType := fs.Bool("any-type", false, "accept an existing pool of any type (pools served by workers of several or custom types); missing pools are still created of --type")
	tmplFile := fs.String("base-job-template", "", "JSON file: the base job template of the pools created, e.g. from `prefect work-pool get-default-base-job-template --type TYPE --file FILE` (default: none, the pool's template stays empty)")
	update := fs.Bool("update-template", false, "also set the base job template of each existing pool of --type to --base-job-template's (a pool whose template already equals it is not written)")
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
	if *update && *tmplFile == "" {
		return a.usageError(fs, "--update-template needs --base-job-template FILE: the template to set")
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
	rule := preflight.PoolRule{Type: *typ, AnyType: *anyType, TypeSetting: "--type", AnyTypeSetting: "--any-type"}
	states, problems := preflight.WorkPools(ctx, api, preflight.PoolUses(f.Deployments), rule)
	if len(problems) > 0 {
		// The last line is the one a caller such as the pipeline shows alone.
		if len(problems) == 1 {
			fmt.Fprintf(a.Stderr, "prefect-deploy: pools: %s; no work pool was created or changed\n", problems[0])
			return ExitFailed
		}
		for _, p := range problems {
			fmt.Fprintf(a.Stderr, "prefect-deploy: pools: %s\n", p)
		}
		fmt.Fprintf(a.Stderr, "prefect-deploy: pools: %d work pools cannot be used (above); no work pool was created or changed\n", len(problems))
		return ExitFailed
	}
	code := ExitOK
	var created, updated, left []string
	for _, s := range states {
		name := s.Name
		switch {
		case s.Pool == nil:
			p, err := api.CreateWorkPool(ctx, name, *typ, tmpl)
			switch {
			case errors.Is(err, prefectapi.ErrConflict):
				// Created by someone else between the read and the write: theirs stands.
				fmt.Fprintf(a.Stdout, "work pool %s: created meanwhile by someone else, left as it is\n", name)
				left = append(left, name)
			case err != nil:
				fmt.Fprintf(a.Stderr, "prefect-deploy: pools: %s: create work pool %q of type %s: %v\n", s.Where, name, *typ, err)
				code = ExitFailed
			default:
				fmt.Fprintf(a.Stdout, "work pool %s: created (type %s)\n", name, p.Type)
				created = append(created, name)
			}
		case !*update:
			fmt.Fprintf(a.Stdout, "work pool %s: exists (type %s), left as it is\n", name, s.Pool.Type)
			left = append(left, name)
		case s.OtherType(rule):
			fmt.Fprintf(a.Stdout, "work pool %s: exists (type %s), left as it is: the template given is for type %s\n", name, s.Pool.Type, *typ)
			left = append(left, name)
		case sameJSON(s.Pool.BaseJobTemplate, tmpl):
			fmt.Fprintf(a.Stdout, "work pool %s: exists (type %s), its base job template is already the one given, left as it is\n", name, s.Pool.Type)
			left = append(left, name)
		default:
			if err := api.UpdateWorkPoolTemplate(ctx, name, tmpl); err != nil {
				fmt.Fprintf(a.Stderr, "prefect-deploy: pools: %s: update the base job template of work pool %q: %v\n", s.Where, name, err)
				code = ExitFailed
				continue
			}
			fmt.Fprintf(a.Stdout, "work pool %s: exists (type %s), base job template updated\n", name, s.Pool.Type)
			updated = append(updated, name)
		}
	}
	fmt.Fprintln(a.Stdout, PoolsSummary(created, updated, left))
	return code
}

// PoolsSummaryPrefix starts the last line of `prefect-deploy pools`: the pipeline's
// report shows the rest of it.
const PoolsSummaryPrefix = "work pools: "

// PoolsSummary is that line: how many pools were created, updated and left, and which.
func PoolsSummary(created, updated, left []string) string {
	part := func(names []string, what string) string {
		if len(names) == 0 {
			return "0 " + what
		}
		return fmt.Sprintf("%d %s (%s)", len(names), what, strings.Join(names, ", "))
	}
	return PoolsSummaryPrefix + part(created, "created") + ", " + part(updated, "updated") + ", " + part(left, "left as they are")
}

// sameJSON says a and b hold the same JSON value (key order and spacing aside).
func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
