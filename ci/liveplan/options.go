package liveplan

import (
	"fmt"

	"github.com/acme-data/prefect-flows/ci/ownership"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// Options choose whose deployments, in which environment, the plan is for.
type Options struct {
	// Env names the environment; empty means the file's (prefect-deployments-<env>.yaml).
	Env string
	// Owner is the resolved owner (ResolveOwner); required unless ManagedTag is set.
	Owner string
	// OwnerSource says where Owner came from, for the plan's header.
	OwnerSource string
	// ManagedTag overrides the ownership tag (default ownership.MarkerTag(Owner, Env)).
	ManagedTag string
	// PruneLegacy makes deployments that carry only the legacy tag of Env and that the
	// file no longer lists into deletes; without it the plan lists them as kept.
	PruneLegacy bool
	// Concurrency bounds the reads in flight (default 4).
	Concurrency int
	// Image is the image a Prefect 3 apply sends as job_variables.image (--image); ""
	// when not known: the server's job_variables.image is then compared only with a
	// job_variables.image the file itself writes.
	Image string
	// ImageRepository is, when Image is not known, the repository the deploy pushes
	// the image to before it sends it by digest (registry/repo): a server image of
	// that repository by digest counts as the deploy's, any other as a change.
	ImageRepository string
	// PoolJobVariables are the job variables a Prefect 3 apply adds under the file's, by
	// work pool name (the ECS settings of the pools of type ecs: desired.ECS); nil when
	// none.
	PoolJobVariables map[string]map[string]any
}

// tags returns the ownership tag and the legacy tag ("" with ManagedTag).
func (o Options) tags(f *spec.File) (marker, legacy string, err error) {
	if o.ManagedTag != "" {
		return o.ManagedTag, "", nil
	}
	env := o.Env
	if env == "" && f != nil {
		env = f.Env()
	}
	if env == "" {
		return "", "", fmt.Errorf("no environment: name the file prefect-deployments-<env>.yaml or pass the environment")
	}
	if o.Owner == "" {
		return "", "", fmt.Errorf("no owner: the ownership tag is %s<owner>:%s", ownership.MarkerPrefix, env)
	}
	if marker, err = ownership.MarkerTag(o.Owner, env); err != nil {
		return "", "", err
	}
	legacy, err = ownership.LegacyMarkerTag(env)
	return marker, legacy, err
}

func (o Options) marker(f *spec.File) (string, error) {
	m, _, err := o.tags(f)
	return m, err
}
