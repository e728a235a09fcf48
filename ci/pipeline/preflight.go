package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/acme-data/prefect-flows/ci/config"
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
// work pool the due deployments name either exists with the type the run expects (any
// type with PREFECT_POOL_ANY_TYPE) or is one the pools step will create. It says what
// the pools step will do to each. There are no blocks to check.
func preflight3(ctx context.Context, st *State, due map[string]bool) error {
	o := st.Opts
	rep := preflight.Check(ctx, o.PrefectAPI, preflight.Needs{ServerMajor: int(spec.Prefect3)})
	if err := rep.Err(); err != nil {
		return fmt.Errorf("%w\nnothing was built, published or registered", err)
	}
	var deps []spec.Deployment
	for _, d := range st.File.Deployments {
		if due[d.Name] {
			deps = append(deps, d)
		}
	}
	rule := PoolRule(o.Config)
	states, problems := preflight.WorkPools(ctx, o.PrefectAPI, preflight.PoolUses(deps), rule)
	if len(problems) > 0 {
		return fmt.Errorf("%w\nnothing was built, published or registered", &preflight.Error{Problems: problems})
	}
	fmt.Fprintf(st.out, "    %s runs Prefect %s (%s)\n", rep.Host, rep.ServerVersion, round(rep.Took))
	for _, s := range states {
		fmt.Fprintf(st.out, "    work pool %s: %s\n", s.Name, poolPlan(s, rule, o.PoolUpdateTemplate))
	}
	return nil
}

// PoolRule is what the run expects of the work pools, named as the configuration sets it.
func PoolRule(c config.Config) preflight.PoolRule {
	return preflight.PoolRule{Type: c.WorkPoolType(), AnyType: c.PoolAnyType, TypeSetting: "PREFECT_POOL_TYPE", AnyTypeSetting: "PREFECT_POOL_ANY_TYPE=1"}
}

// poolPlan is what the pools step will do to one pool.
func poolPlan(s preflight.PoolState, rule preflight.PoolRule, update bool) string {
	switch {
	case s.Pool == nil:
		return fmt.Sprintf("missing, the pools step creates it (type %s)", rule.Type)
	case s.OtherType(rule):
		return fmt.Sprintf("exists (type %s, accepted: PREFECT_POOL_ANY_TYPE=1), left as it is", s.Pool.Type)
	case update:
		return fmt.Sprintf("exists (type %s), the pools step sets its base job template to the %s worker's default unless it is already (PREFECT_POOL_UPDATE_TEMPLATE=1)", s.Pool.Type, rule.Type)
	}
	return fmt.Sprintf("exists (type %s), left as it is", s.Pool.Type)
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
