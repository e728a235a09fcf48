package liveplan

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// UnknownFlow stands for the flow of a deployment whose flow name validation could not
// read (an entrypoint left to Prefect's loader) and that is not on the server yet: its
// flow is named by the build.
const UnknownFlow = "?"

// resolveFlowNames returns ds with the flow names validation could not read filled in
// from the server: the deployment of that name which carries one of the ownership tags
// (the marker, the legacy tag; "" is skipped), under a flow
// that no other deployment of the file claims with the same name. Deployment names are
// unique in a file, so at most one such deployment is expected; two are an error (a
// flow renamed while its old deployment was kept). A deployment the server does not
// have keeps "".
func resolveFlowNames(ctx context.Context, ds []spec.Deployment, api Reader, tags ...string) ([]spec.Deployment, error) {
	var names []string
	claimed := map[string]bool{}
	for _, d := range ds {
		if d.FlowName == "" {
			names = append(names, d.Name)
		} else {
			claimed[d.FlowName+"/"+d.Name] = true
		}
	}
	if len(names) == 0 {
		return ds, nil
	}
	var found []prefectapi.Deployment
	seen := map[string]bool{}
	for _, tag := range tags {
		if tag == "" {
			continue
		}
		list, err := api.ListDeployments(ctx, prefectapi.DeploymentFilter{TagsAll: []string{tag}, Names: names})
		if err != nil {
			return nil, fmt.Errorf("look up the flows of %s: %w", strings.Join(names, ", "), err)
		}
		for _, d := range list {
			// The filter asked for the tag; a server that ignored it must not name a flow.
			if !seen[d.ID] && d.HasTag(tag) {
				seen[d.ID] = true
				found = append(found, d)
			}
		}
	}
	ids := make([]string, 0, len(found))
	for _, d := range found {
		ids = append(ids, d.FlowID)
	}
	flows, err := api.ReadFlowNames(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("look up the flows of %s: %w", strings.Join(names, ", "), err)
	}
	candidates := map[string][]string{}
	for _, d := range found {
		flow, ok := flows[d.FlowID]
		if !ok || claimed[flow+"/"+d.Name] {
			continue
		}
		candidates[d.Name] = append(candidates[d.Name], flow)
	}
	out := append([]spec.Deployment(nil), ds...)
	for i := range out {
		if out[i].FlowName != "" {
			continue
		}
		switch c := candidates[out[i].Name]; len(c) {
		case 0:
		case 1:
			out[i].FlowName = c[0]
		default:
			sort.Strings(c)
			return nil, fmt.Errorf("deployment %q (%s): its flow name is not known statically, and the server has it under %d flows (%s): delete the stale one", out[i].Name, out[i].Entrypoint, len(c), strings.Join(c, ", "))
		}
	}
	return out, nil
}
