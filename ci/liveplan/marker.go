// Package liveplan compares a deployments file with what a Prefect server holds: a
// Terraform-style plan (create / update / unchanged / delete), a prune of the managed
// deployments the file no longer lists, and a read-back after apply that patches what
// `prefect deployment build` cannot clear and reports the rest as drift.
package liveplan

import (
	"fmt"
	"regexp"

	"github.com/acme-data/prefect-flows/ci/spec"
)

// MarkerPrefix starts the ownership tag; the full tag is MarkerPrefix + env, e.g.
// "managed-by:prefect-flows:dev". The spec loader rejects user tags with this prefix, so
// only this repository's apply puts it on a deployment.
const MarkerPrefix = spec.ReservedTagPrefix

var envRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// MarkerTag is the ownership tag of env. It holds no comma (Prefect would keep "a,b" as
// one tag, but a human reading a comma list would not) and no space.
func MarkerTag(env string) (string, error) {
	if !envRe.MatchString(env) {
		return "", fmt.Errorf("environment %q: want lower-case letters, digits, '-' or '_' (it names the ownership tag %s<env>)", env, MarkerPrefix)
	}
	return MarkerPrefix + env, nil
}

// Mark returns a copy of f whose deployments all carry tag (once, last), which is what
// apply must build from so every deployment it touches is marked as managed.
func Mark(f *spec.File, tag string) *spec.File {
	out := *f
	out.Deployments = make([]spec.Deployment, len(f.Deployments))
	for i, d := range f.Deployments {
		tags := make([]string, 0, len(d.Tags)+1)
		for _, t := range d.Tags {
			if t != tag {
				tags = append(tags, t)
			}
		}
		d.Tags = append(tags, tag)
		out.Deployments[i] = d
	}
	return &out
}

// Options choose the environment the plan is for.
type Options struct {
	// Env names the environment; empty means the file's (prefect-deployments-<env>.yaml).
	Env string
	// ManagedTag overrides the ownership tag (default MarkerTag(Env)).
	ManagedTag string
	// Concurrency bounds the reads in flight (default 4).
	Concurrency int
}

func (o Options) marker(f *spec.File) (string, error) {
	if o.ManagedTag != "" {
		return o.ManagedTag, nil
	}
	env := o.Env
	if env == "" && f != nil {
		env = f.Env()
	}
	if env == "" {
		return "", fmt.Errorf("no environment: name the file prefect-deployments-<env>.yaml or pass the environment")
	}
	return MarkerTag(env)
}
