package preflight

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// PoolUse is a work pool a deployments file names, and where it first names it.
type PoolUse struct {
	Name  string
	Where spec.Pos
}

// PoolUses are the distinct work pools the deployments name, in file order, each with
// the position of its first mention (a name inherited from defaults is where defaults
// write it).
func PoolUses(deployments []spec.Deployment) []PoolUse {
	seen := map[string]bool{}
	var out []PoolUse
	for _, d := range deployments {
		if d.WorkPool == nil || d.WorkPool.Name == "" || seen[d.WorkPool.Name] {
			continue
		}
		seen[d.WorkPool.Name] = true
		out = append(out, PoolUse{Name: d.WorkPool.Name, Where: d.WorkPool.NamePos})
	}
	return out
}

// PoolRule is what a run expects of the pools it deploys into.
type PoolRule struct {
	// Type is the type every existing pool must have; a missing pool is created with it.
	Type string
	// AnyType accepts an existing pool of any type (pools served by workers of several
	// types, or of a custom type).
	AnyType bool
	// TypeSetting and AnyTypeSetting say how the user sets Type and AnyType, for the
	// messages: "PREFECT_POOL_TYPE" and "PREFECT_POOL_ANY_TYPE=1" in the pipeline,
	// "--type" and "--any-type" in prefect-deploy.
	TypeSetting, AnyTypeSetting string
}

// setType is how the user sets the type to typ: PREFECT_POOL_TYPE=typ, --type typ.
func (r PoolRule) setType(typ string) string {
	if strings.HasPrefix(r.TypeSetting, "-") {
		return r.TypeSetting + " " + typ
	}
	return r.TypeSetting + "=" + typ
}

// PoolState is what the server holds for one pool the file names.
type PoolState struct {
	PoolUse
	// Pool is nil when the server has no pool of that name.
	Pool *prefectapi.WorkPool
}

// OtherType says the pool exists with a type other than rule's (accepted only with AnyType).
func (s PoolState) OtherType(rule PoolRule) bool { return s.Pool != nil && s.Pool.Type != rule.Type }

// PoolReader reads one work pool by name; *prefectapi.Client implements it.
type PoolReader interface {
	Host() string
	ReadWorkPool(ctx context.Context, name string) (*prefectapi.WorkPool, error)
}

// WorkPools reads each pool the file names (concurrently) and returns their states in
// the order of uses, and one problem per pool that cannot be used: a read that failed,
// or a pool of another type than rule.Type unless rule.AnyType. Each problem starts
// with where the file names the pool and says what to do.
func WorkPools(ctx context.Context, api PoolReader, uses []PoolUse, rule PoolRule) ([]PoolState, []string) {
	states := make([]PoolState, len(uses))
	errs := make([]error, len(uses))
	var wg sync.WaitGroup
	for i, u := range uses {
		states[i].PoolUse = u
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := api.ReadWorkPool(ctx, u.Name)
			switch {
			case errors.Is(err, prefectapi.ErrNotFound):
			case err != nil:
				errs[i] = err
			default:
				states[i].Pool = p
			}
		}()
	}
	wg.Wait()
	var problems []string
	for i, s := range states {
		switch {
		case errs[i] != nil:
			problems = append(problems, fmt.Sprintf("%s: work pool %q: %v", s.Where, s.Name, errs[i]))
		case s.OtherType(rule) && !rule.AnyType:
			problems = append(problems, fmt.Sprintf("%s: work pool %q on %s has type %s, but this run expects type %s (%s): "+
				"name a pool of type %s in work_pool.name, set %s if %s workers serve this file, or %s to accept each pool's own type",
				s.Where, s.Name, api.Host(), s.Pool.Type, rule.Type, rule.TypeSetting,
				rule.Type, rule.setType(s.Pool.Type), s.Pool.Type, rule.AnyTypeSetting))
		}
	}
	return states, problems
}
