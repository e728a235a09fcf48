package preflight

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/acme-data/prefect-flows/ci/internal/suggest"
	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// ImageVariable is the job variable every Prefect 3 deployment gets from the run (the
// image it was deployed with, the digest when published). It is not checked against the
// pool's template: a process pool's has no image variable, and the value is there to
// record what was deployed, whatever the worker does with it.
const ImageVariable = "image"

// JobVariableKeys checks, for each deployment of a Prefect 3 file, that every top-level
// key of the job variables it would send (its work_pool.job_variables, merged with what
// the run adds for its pool, poolVars[pool], e.g. the ECS settings) is a variable of its
// pool's base job template (base_job_template.variables.properties). The server accepts
// an unknown key and stores it, and the worker never reads it, so a typo such as memroy
// would silently do nothing. pools are the pools the file names as the server holds
// them (a nil or absent one does not exist yet: nothing to check). Each problem starts
// with where the file writes the key (or names the pool, for a key the run adds) and
// says what the template declares; notes say which pools cannot be checked (a template
// without variables, as a pool created without one has).
func JobVariableKeys(deployments []spec.Deployment, pools map[string]*prefectapi.WorkPool, poolVars map[string]map[string]any) (problems, notes []string) {
	type seen struct {
		pos       spec.Pos
		pool, key string
	}
	done := map[seen]bool{}
	noted := map[string]bool{}
	for _, d := range deployments {
		wp := d.WorkPool
		if wp == nil || wp.Name == "" || pools[wp.Name] == nil {
			continue
		}
		p := pools[wp.Name]
		known, err := p.TemplateVariables()
		if err != nil || len(known) == 0 {
			if !noted[p.Name] {
				noted[p.Name] = true
				why := "has no variables in its base job template (a pool created without one)"
				if err != nil {
					why = fmt.Sprintf("has a base job template that cannot be read (%v)", err)
				}
				notes = append(notes, fmt.Sprintf("%s: work pool %q (type %s) %s: the job variables of its deployments cannot be checked against it", wp.NamePos, p.Name, p.Type, why))
			}
			continue
		}
		check := func(key string, pos spec.Pos, from string) {
			if _, declared := known[key]; key == ImageVariable || declared {
				return
			}
			k := seen{pos, p.Name, key}
			if done[k] {
				return
			}
			done[k] = true
			names := slices.Sorted(maps.Keys(known))
			hint := "it declares: " + strings.Join(names, ", ")
			if s := suggest.Closest(key, names); s != "" {
				hint = fmt.Sprintf("did you mean %q?", s)
			}
			problems = append(problems, fmt.Sprintf("%s: job variable %q%s is not a variable of work pool %q (type %s): its base job template does not declare it, so the server would store it and the worker ignore it; %s",
				pos, key, from, p.Name, p.Type, hint))
		}
		for _, key := range slices.SortedFunc(maps.Keys(wp.JobVariables), func(a, b string) int {
			return comparePos(wp.JobVariables[a].Pos, wp.JobVariables[b].Pos)
		}) {
			check(key, wp.JobVariables[key].Pos, "")
		}
		for _, key := range slices.Sorted(maps.Keys(poolVars[wp.Name])) {
			if _, inFile := wp.JobVariables[key]; !inFile {
				check(key, wp.NamePos, " (set by the ECS settings for the pool named here)")
			}
		}
	}
	return problems, notes
}

func comparePos(a, b spec.Pos) int {
	if a.Line != b.Line {
		return a.Line - b.Line
	}
	return a.Col - b.Col
}
