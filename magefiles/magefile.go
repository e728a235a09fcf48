//go:build mage

// Pipeline targets; configuration comes from environment variables (README table).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/sh"

	"github.com/acme-data/prefect-flows/ci/config"
	"github.com/acme-data/prefect-flows/ci/pipeline"
	"github.com/acme-data/prefect-flows/ci/pipeline/lint"
	"github.com/acme-data/prefect-flows/ci/prplan"
)

// DeployDev deploys dev: without PREFECT_API_URL into a throwaway embedded Prefect server.
func DeployDev(ctx context.Context) error { return Deploy(ctx, "dev") }

// DeployProd deploys prod to the Prefect API in PREFECT_API_URL (required).
func DeployProd(ctx context.Context) error { return Deploy(ctx, "prod") }

// Deploy runs the whole pipeline for the environment named by its prefect-deployments-<env>.yaml.
// PREFECT_PRUNE=1 then deletes the managed deployments the file no longer lists.
func Deploy(ctx context.Context, env string) error {
	s, err := settings(env)
	if err != nil {
		return err
	}
	return pipeline.DeployLocal(ctx, s, os.Stdout)
}

// PlanDev shows what deployDev would change on the Prefect API in PREFECT_API_URL.
func PlanDev(ctx context.Context) error { return Plan(ctx, "dev") }

// PlanProd shows what deployProd would change on the Prefect API in PREFECT_API_URL.
func PlanProd(ctx context.Context) error { return Plan(ctx, "prod") }

// Plan compares env's deployments file with PREFECT_API_URL: creates, updates, and what prune would delete; needs no Docker.
func Plan(ctx context.Context, env string) error {
	return pipeline.PlanLiveLocal(ctx, root(), env, os.Environ(), os.Stdout, os.Stderr)
}

// PlanPR writes the live plan of every environment a pull request touches to the step summary and one updated PR comment (PREFECT_API_URL_<ENV>; validate + script without it, as in a fork's PR).
func PlanPR(ctx context.Context) error {
	return prplan.Run(ctx, prplan.Options{Root: root(), Environ: os.Environ(), Stdout: os.Stdout, Stderr: os.Stderr})
}

// Script validates every prefect-deployments-*.yaml and prints the commands the pipeline runs; needs no Docker or Prefect.
func Script() error {
	return pipeline.ScriptAll(root(), "", os.Stdout)
}

// PlanLive is the old name of plan (deprecated).
func PlanLive(ctx context.Context, env string) error {
	deprecated("planLive", "plan "+env)
	return Plan(ctx, env)
}

// PlanLiveDev is the old name of planDev (deprecated).
func PlanLiveDev(ctx context.Context) error {
	deprecated("planLiveDev", "planDev")
	return PlanDev(ctx)
}

// PlanLiveProd is the old name of planProd (deprecated).
func PlanLiveProd(ctx context.Context) error {
	deprecated("planLiveProd", "planProd")
	return PlanProd(ctx)
}

func deprecated(old, now string) {
	fmt.Fprintf(os.Stderr, "mage %s is deprecated: it is called %s now (plan is the diff against the server; script prints the commands)\n", old, now)
}

// Image builds the agent image (env DEPLOY_ENV, default dev), checks its flows load, and publishes it when REGISTRY is set.
func Image(ctx context.Context) error {
	s, err := settings(config.ImageEnv(os.Getenv))
	if err != nil {
		return err
	}
	return pipeline.ImageLocal(ctx, s, os.Stdout)
}

// Test runs the Go tests of the root module.
func Test() error {
	return sh.RunV("go", "test", "./...")
}

// Lint runs gofmt, go vet, Python byte-compiling and actionlint.
func Lint(ctx context.Context) error {
	return lint.All(ctx, root(), os.Stdout)
}

func settings(env string) (config.Config, error) {
	return config.FromEnv(env, root(), os.Getenv)
}

// root is the repository: mage runs from the directory that holds magefiles/.
func root() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	return wd
}
