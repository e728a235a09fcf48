// Package prefect drives the Prefect 2 CLI: argv builders for `prefect deployment build`
// and `prefect block register`, runners that execute them, and the results and summary.
package prefectcli

import (
	"context"
	"time"
)

// Job is one Prefect CLI invocation for one deployment.
type Job struct {
	// Name is the deployment name from the spec; results are keyed by it.
	Name string
	// Args is the argv after the executable (it starts with "deployment", "build").
	Args []string
}

// Status is what happened to one job.
type Status string

const (
	StatusSucceeded  Status = "succeeded"
	StatusFailed     Status = "failed"
	StatusTimedOut   Status = "timed out"
	StatusCancelled  Status = "cancelled"   // stopped by an interrupt while running
	StatusNotStarted Status = "not started" // never started (interrupt or --fail-fast)
)

// Result is the outcome of one job.
type Result struct {
	Name     string
	Status   Status
	ExitCode int
	Stdout   string
	Stderr   string
	Duration time.Duration
	// DeploymentID is parsed from "successfully created with id '...'".
	DeploymentID string
	// Err explains a failure that is not a plain non-zero exit (start error, timeout, crash).
	Err error
}

// Runner runs one job to completion. Implementations must be safe for concurrent use;
// the executor bounds how many jobs are in flight. A runner honours ctx: when it is
// cancelled the job is stopped and reported as cancelled or timed out.
type Runner interface {
	Run(ctx context.Context, job Job) Result
}
