//go:build mage

// Pipeline targets; configuration comes from environment variables (README table).
package main

import (
	"context"
	"os"

	"github.com/magefile/mage/sh"

	"github.com/acme-data/prefect-flows/ci/pipeline"
	"github.com/acme-data/prefect-flows/ci/pipeline/lint"
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

// PlanLiveDev compares prefect-deployments-dev.yaml with the Prefect API in PREFECT_API_URL.
func PlanLiveDev(ctx context.Context) error { return PlanLive(ctx, "dev") }

// PlanLiveProd compares prefect-deployments-prod.yaml with the Prefect API in PREFECT_API_URL.
func PlanLiveProd(ctx context.Context) error { return PlanLive(ctx, "prod") }

// PlanLive compares env's deployments file with PREFECT_API_URL: creates, updates, and what prune would delete; needs no Docker.
func PlanLive(ctx context.Context, env string) error {
	return pipeline.PlanLiveLocal(ctx, root(), env, os.Environ(), os.Stdout, os.Stderr)
}

// Plan validates every prefect-deployments-*.yaml and prints the commands; needs no Docker.
func Plan() error {
	return pipeline.PlanAll(root(), os.Stdout)
}

// Image builds the agent image (env DEPLOY_ENV, default dev), checks its flows load, and publishes it when REGISTRY is set.
func Image(ctx context.Context) error {
	env := os.Getenv("DEPLOY_ENV")
	if env == "" {
		env = "dev"
	}
	s, err := settings(env)
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

func settings(env string) (pipeline.Settings, error) {
	return pipeline.SettingsFromEnv(env, root(), os.Getenv)
}

// root is the repository: mage runs from the directory that holds magefiles/.
func root() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	return wd
}
