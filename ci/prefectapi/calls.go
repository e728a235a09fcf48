package prefectapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
)

// Health calls GET /health, which a ready Prefect server answers with true.
func (c *Client) Health(ctx context.Context) error {
	var ok bool
	if err := c.do(ctx, "GET", "/health", nil, &ok); err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("GET /health on %s answered false", c.host)
	}
	return nil
}

// ReadDeploymentByName reads flowName/name. A missing deployment is an error for which
// errors.Is(err, ErrNotFound) holds.
func (c *Client) ReadDeploymentByName(ctx context.Context, flowName, name string) (*Deployment, error) {
	var d Deployment
	p := "/deployments/name/" + url.PathEscape(flowName) + "/" + url.PathEscape(name)
	if err := c.do(ctx, "GET", p, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// ReadDeployment reads a deployment by id.
func (c *Client) ReadDeployment(ctx context.Context, id string) (*Deployment, error) {
	var d Deployment
	if err := c.do(ctx, "GET", "/deployments/"+url.PathEscape(id), nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// DeploymentFilter selects deployments for ListDeployments. Empty fields do not filter.
type DeploymentFilter struct {
	// TagsAll keeps deployments that carry every one of these tags. Prefect 2.14's
	// DeploymentFilterTags has only all_ and is_null_ (no any_).
	TagsAll []string
	// Names keeps deployments with one of these names.
	Names []string
	// PageSize is the `limit` of each page; 0 or more than MaxPageSize means MaxPageSize.
	PageSize int
}

type listBody struct {
	Deployments *deploymentFilterBody `json:"deployments,omitempty"`
	Limit       int                   `json:"limit"`
	Offset      int                   `json:"offset"`
	Sort        string                `json:"sort"`
}

type deploymentFilterBody struct {
	Tags *struct {
		All []string `json:"all_"`
	} `json:"tags,omitempty"`
	Name *struct {
		Any []string `json:"any_"`
	} `json:"name,omitempty"`
}

// ListDeployments pages through POST /deployments/filter until a short page.
func (c *Client) ListDeployments(ctx context.Context, f DeploymentFilter) ([]Deployment, error) {
	limit := f.PageSize
	if limit <= 0 || limit > MaxPageSize {
		limit = MaxPageSize
	}
	body := listBody{Limit: limit, Sort: "NAME_ASC"}
	if len(f.TagsAll) > 0 || len(f.Names) > 0 {
		body.Deployments = &deploymentFilterBody{}
		if len(f.TagsAll) > 0 {
			body.Deployments.Tags = &struct {
				All []string `json:"all_"`
			}{f.TagsAll}
		}
		if len(f.Names) > 0 {
			body.Deployments.Name = &struct {
				Any []string `json:"any_"`
			}{f.Names}
		}
	}
	var all []Deployment
	seen := map[string]bool{}
	for {
		var page []Deployment
		if err := c.do(ctx, "POST", "/deployments/filter", body, &page); err != nil {
			return nil, err
		}
		if len(page) > limit {
			return nil, fmt.Errorf("POST /deployments/filter on %s: asked for %d, got %d", c.host, limit, len(page))
		}
		for _, d := range page {
			// A deployment created while paging shifts the pages; never list one twice.
			if !seen[d.ID] {
				seen[d.ID] = true
				all = append(all, d)
			}
		}
		if len(page) < limit {
			return all, nil
		}
		body.Offset += len(page)
	}
}

// ReadFlow reads a flow by id.
func (c *Client) ReadFlow(ctx context.Context, id string) (*Flow, error) {
	var f Flow
	if err := c.do(ctx, "GET", "/flows/"+url.PathEscape(id), nil, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// ReadFlowNames maps flow ids to flow names with POST /flows/filter, a page per
// MaxPageSize ids. Ids the server does not know are absent from the map.
func (c *Client) ReadFlowNames(ctx context.Context, ids []string) (map[string]string, error) {
	uniq := map[string]bool{}
	var list []string
	for _, id := range ids {
		if id != "" && !uniq[id] {
			uniq[id] = true
			list = append(list, id)
		}
	}
	sort.Strings(list)
	names := make(map[string]string, len(list))
	for start := 0; start < len(list); start += MaxPageSize {
		end := min(start+MaxPageSize, len(list))
		body := map[string]any{
			"flows":  map[string]any{"id": map[string]any{"any_": list[start:end]}},
			"limit":  MaxPageSize,
			"offset": 0,
		}
		var flows []Flow
		if err := c.do(ctx, "POST", "/flows/filter", body, &flows); err != nil {
			return nil, err
		}
		for _, f := range flows {
			names[f.ID] = f.Name
		}
	}
	return names, nil
}

// ReadBlockDocument reads the block document typeSlug/name (e.g. ecs-task/dev).
func (c *Client) ReadBlockDocument(ctx context.Context, typeSlug, name string) (*BlockDocument, error) {
	var b BlockDocument
	p := "/block_types/slug/" + url.PathEscape(typeSlug) + "/block_documents/name/" + url.PathEscape(name) + "?include_secrets=false"
	if err := c.do(ctx, "GET", p, nil, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// ReadBlockDocumentByID reads a block document by id, e.g. a deployment's
// infrastructure_document_id; Ref() gives its "slug/name".
func (c *Client) ReadBlockDocumentByID(ctx context.Context, id string) (*BlockDocument, error) {
	var b BlockDocument
	if err := c.do(ctx, "GET", "/block_documents/"+url.PathEscape(id)+"?include_secrets=false", nil, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// ReadWorkPools lists the work pools (POST /work_pools/filter), paging like ListDeployments.
func (c *Client) ReadWorkPools(ctx context.Context) ([]WorkPool, error) {
	var all []WorkPool
	for offset := 0; ; {
		var page []WorkPool
		if err := c.do(ctx, "POST", "/work_pools/filter", map[string]any{"limit": MaxPageSize, "offset": offset}, &page); err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < MaxPageSize {
			return all, nil
		}
		offset += len(page)
	}
}

// PatchDeployment sends PATCH /deployments/{id} with fields, which must be fields of
// Prefect's DeploymentUpdate (tags, parameters, description, work_pool_name,
// work_queue_name, is_schedule_active, infra_overrides, ...): the server rejects others
// with 422 and leaves fields that are not sent untouched.
func (c *Client) PatchDeployment(ctx context.Context, id string, fields map[string]any) error {
	return c.do(ctx, "PATCH", "/deployments/"+url.PathEscape(id), fields, nil)
}

// DeleteDeployment deletes a deployment (and, server side, its scheduled runs).
func (c *Client) DeleteDeployment(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/deployments/"+url.PathEscape(id), nil, nil)
}

// AdminVersion calls GET /admin/version: the server's Prefect version, e.g. "2.14.21".
func (c *Client) AdminVersion(ctx context.Context) (string, error) {
	var v string
	if err := c.do(ctx, "GET", "/admin/version", nil, &v); err != nil {
		return "", err
	}
	return v, nil
}

// ReadWorkPool reads one work pool by name; a missing pool satisfies errors.Is(err, ErrNotFound).
func (c *Client) ReadWorkPool(ctx context.Context, name string) (*WorkPool, error) {
	var p WorkPool
	if err := c.do(ctx, "GET", "/work_pools/"+url.PathEscape(name), nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// CreateWorkPool is POST /work_pools/ with the name, the type and, when not nil, the
// base job template (a JSON object). The server does not fill a type's default template
// itself (Prefect's own CLI reads it from the installed worker first), so a pool made
// without one has an empty template. An existing pool is never touched: the server
// answers 409, which satisfies errors.Is(err, ErrConflict).
func (c *Client) CreateWorkPool(ctx context.Context, name, typ string, template json.RawMessage) (*WorkPool, error) {
	var p WorkPool
	body := struct {
		Name     string          `json:"name"`
		Type     string          `json:"type"`
		Template json.RawMessage `json:"base_job_template,omitempty"`
	}{name, typ, template}
	if err := c.do(ctx, "POST", "/work_pools/", body, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// UpdateWorkPoolTemplate replaces the base job template of the existing pool name
// (PATCH /work_pools/{name} {"base_job_template": template}; the server answers 204
// and changes nothing else). A missing pool satisfies errors.Is(err, ErrNotFound).
func (c *Client) UpdateWorkPoolTemplate(ctx context.Context, name string, template json.RawMessage) error {
	body := struct {
		Template json.RawMessage `json:"base_job_template"`
	}{template}
	return c.do(ctx, "PATCH", "/work_pools/"+url.PathEscape(name), body, nil)
}

// CreateFlow is POST /flows/ with the body the CLI sends ({"name", "tags": []}): Prefect
// upserts by name and answers the flow either way (201 new, 200 existing).
func (c *Client) CreateFlow(ctx context.Context, name string) (*Flow, error) {
	var f Flow
	body := struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{name, []string{}}
	if _, err := c.doStatus(ctx, "POST", "/flows/", body, &f); err != nil {
		return nil, err
	}
	if f.ID == "" {
		return nil, fmt.Errorf("POST /flows/ on %s: the answer has no flow id", c.host)
	}
	return &f, nil
}

// CreateDeployment is POST /deployments/ with body sent byte for byte. Prefect 2 upserts
// by (flow_id, name): created says whether the deployment is new (201) or was replaced (200).
func (c *Client) CreateDeployment(ctx context.Context, body []byte) (d *Deployment, created bool, err error) {
	var out Deployment
	status, err := c.doStatus(ctx, "POST", "/deployments/", RawJSON(body), &out)
	if err != nil {
		return nil, false, err
	}
	if out.ID == "" {
		return nil, false, fmt.Errorf("POST /deployments/ on %s: the answer has no deployment id", c.host)
	}
	return &out, status == 201, nil
}

// UpsertDeployment is POST /deployments/ with body sent byte for byte, answering the
// server's JSON as it is (every field of either major, for a writer's own checks) and
// whether the deployment is new (201) or was upserted (200).
func (c *Client) UpsertDeployment(ctx context.Context, body []byte) (answer json.RawMessage, created bool, err error) {
	status, err := c.doStatus(ctx, "POST", "/deployments/", RawJSON(body), &answer)
	if err != nil {
		return nil, false, err
	}
	return answer, status == 201, nil
}
