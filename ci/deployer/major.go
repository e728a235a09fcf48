package deployer

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/acme-data/prefect-flows/ci/desired"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
)

// Writer turns desired deployments into one Prefect major's API calls: Prepare once
// before any write, then Deploy per deployment (concurrently). *Deployer (Prefect 2)
// and *Deployer3 (Prefect 3) are the writers.
type Writer interface {
	Prepare(ctx context.Context, deps []desired.Deployment) error
	Deploy(ctx context.Context, dep desired.Deployment) (Outcome, error)
	Runner(deps []desired.Deployment) prefectcli.Runner
}

// Versioner is the one call that tells a server's Prefect version.
type Versioner interface {
	AdminVersion(ctx context.Context) (string, error)
}

// ServerMajor reads the server's version (GET /api/admin/version) and returns its
// major with the version text, e.g. 3, "3.8.3".
func ServerMajor(ctx context.Context, api Versioner) (int, string, error) {
	v, err := api.AdminVersion(ctx)
	if err != nil {
		return 0, "", fmt.Errorf("read the server's Prefect version: %w", err)
	}
	head, _, _ := strings.Cut(strings.TrimSpace(v), ".")
	m, err := strconv.Atoi(head)
	if err != nil || m < 1 {
		return 0, v, fmt.Errorf("the server's Prefect version %q is not MAJOR.MINOR.PATCH", v)
	}
	return m, v, nil
}

// WriterAPI is what either writer needs; *prefectapi.Client implements it.
type WriterAPI interface {
	API
	API3
	Versioner
}

// ForServer is the one place that picks the writer for the server's major: Prefect 2
// (2.14's body rules, Deployer) or Prefect 3 (Deployer3). workdir is where entrypoints
// are relative to: Prefect 2's path for a Process block, Prefect 3's pull step.
func ForServer(ctx context.Context, api WriterAPI, workdir string) (Writer, int, error) {
	m, v, err := ServerMajor(ctx, api)
	if err != nil {
		return nil, 0, err
	}
	switch m {
	case 2:
		return New(api, workdir), m, nil
	case 3:
		return New3(api, workdir), m, nil
	}
	return nil, m, fmt.Errorf("the server runs Prefect %s: this deployer writes Prefect 2 and 3 deployments", v)
}
