package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/preflight"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// SavedByRegister are the block types the register step saves itself
// (infrastructure/ecs-task-<env>.py): the preflight does not require them yet.
var SavedByRegister = []string{"ecs-task"}

type preflightStep struct{}

func (preflightStep) String() string {
	return "preflight: the Prefect API answers, takes the key, runs the file's Prefect major, has the blocks and pools (before any build)"
}

// Run asks the API from this process, before the engine builds anything: an unreachable
// server or a wrong key is one line within seconds, and nothing is built, pushed or
// registered. It runs where the API URL is known in plain text (mage); the Dagger
// module hands it over only as a secret, and there prefect-deploy's own preflight in
// the deploy exec is the check.
func (preflightStep) Run(ctx context.Context, st *State) error {
	o := st.Opts
	switch {
	case o.Embedded():
		return Skip("embedded server: it is started later from the built image")
	case o.PrefectAPI == nil:
		return Skip("no API client in this process (the Dagger module): prefect-deploy checks the API in the deploy exec")
	}
	due := map[string]bool{}
	for _, j := range st.Jobs {
		due[j.Name] = true
	}
	if st.prefect3() {
		return preflight3(ctx, st, due)
	}
	n := preflight.Needs{ServerMajor: 2, SavedLater: SavedByRegister}
	for _, d := range st.File.Deployments {
		if !due[d.Name] {
			continue
		}
		n.Blocks = append(n.Blocks, d.IBBlock)
		if d.WorkPool != nil && d.WorkPool.Name != "" {
			n.Pools = append(n.Pools, d.WorkPool.Name)
		}
	}
	rep := preflight.Check(ctx, o.PrefectAPI, n)
	if err := rep.Err(); err != nil {
		return fmt.Errorf("%w\nnothing was built, published or registered", err)
	}
	fmt.Fprintf(st.out, "    %s runs Prefect %s; blocks and pools found (%s)\n", rep.Host, rep.ServerVersion, round(rep.Took))
	return nil
}

// preflight3 is the preflight of a Prefect 3 file: the server runs Prefect 3, and every
// work pool the due deployments name either exists (its type is shown) or is one the
// pools step will create. There are no blocks to check.
func preflight3(ctx context.Context, st *State, due map[string]bool) error {
	o := st.Opts
	rep := preflight.Check(ctx, o.PrefectAPI, preflight.Needs{ServerMajor: int(spec.Prefect3)})
	if err := rep.Err(); err != nil {
		return fmt.Errorf("%w\nnothing was built, published or registered", err)
	}
	var lines, problems []string
	for _, pool := range duePools(st.File, due) {
		p, err := o.PrefectAPI.ReadWorkPool(ctx, pool)
		switch {
		case errors.Is(err, prefectapi.ErrNotFound):
			lines = append(lines, fmt.Sprintf("work pool %s: missing, the pools step creates it (type %s)", pool, o.WorkPoolType()))
		case err != nil:
			problems = append(problems, fmt.Sprintf("work pool %s: %v", pool, err))
		default:
			lines = append(lines, fmt.Sprintf("work pool %s: exists (type %s), left as it is", pool, p.Type))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w\nnothing was built, published or registered", &preflight.Error{Problems: problems})
	}
	fmt.Fprintf(st.out, "    %s runs Prefect %s (%s)\n", rep.Host, rep.ServerVersion, round(rep.Took))
	for _, l := range lines {
		fmt.Fprintf(st.out, "    %s\n", l)
	}
	return nil
}

// duePools are the distinct work pools the due deployments of f name, in file order.
func duePools(f *spec.File, due map[string]bool) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range f.Deployments {
		if !due[d.Name] || d.WorkPool == nil || d.WorkPool.Name == "" || seen[d.WorkPool.Name] {
			continue
		}
		seen[d.WorkPool.Name] = true
		out = append(out, d.WorkPool.Name)
	}
	return out
}

// preflightClient is the API as this process reaches it: short timeouts and few
// retries, since the preflight is there to fail fast.
func preflightClient(url, key string) preflight.API {
	c, err := prefectapi.New(url, key, prefectapi.WithTimeout(10*time.Second),
		prefectapi.WithRetry(prefectapi.RetryPolicy{MaxAttempts: 2, BaseDelay: 500 * time.Millisecond, MaxDelay: time.Second, MaxRetryAfter: 5 * time.Second}))
	if err != nil {
		return nil
	}
	return c
}
