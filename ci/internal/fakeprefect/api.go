package fakeprefect

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/acme-data/prefect-flows/ci/isodate"
	"github.com/acme-data/prefect-flows/ci/prefectcli/clispec"
)

// apiClient talks to a (fake) Prefect API the way `prefect deployment build -a` does,
// when FAKE_PREFECT_API_URL is set: read the block and the existing deployment, merge
// the options given with the server's values, upsert the flow and the deployment.
type apiClient struct {
	base string
	key  string
	http *http.Client
}

func newAPIClient() *apiClient {
	base := strings.TrimRight(os.Getenv("FAKE_PREFECT_API_URL"), "/")
	if base == "" {
		return nil
	}
	return &apiClient{base: base, key: os.Getenv("PREFECT_API_KEY"), http: &http.Client{Timeout: 30 * time.Second}}
}

// errNotFound is a 404, which Prefect's client raises as ObjectNotFound.
var errNotFound = errors.New("not found")

func (c *apiClient) do(method, path string, body any) (map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	u := c.base + path
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("httpx.ConnectError: %v", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 404 {
		return nil, errNotFound
	}
	if resp.StatusCode >= 300 {
		kind := "Client"
		if resp.StatusCode >= 500 {
			kind = "Server"
		}
		return nil, fmt.Errorf("httpx.HTTPStatusError: %s error '%d %s' for url '%s'\nResponse: %s", kind, resp.StatusCode, http.StatusText(resp.StatusCode), u, bytes.TrimSpace(data))
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("decode %s %s: %v", method, u, err)
	}
	return out, nil
}

// blockID resolves -ib type/name as Block.load does.
func (c *apiClient) blockID(ref string) (string, *clispec.Failure) {
	typ, name, _ := strings.Cut(ref, "/")
	b, err := c.do("GET", "/block_types/slug/"+url.PathEscape(typ)+"/block_documents/name/"+url.PathEscape(name), nil)
	if errors.Is(err, errNotFound) {
		return "", &clispec.Failure{Exception: true, Msg: fmt.Sprintf("ValueError: Unable to find block document named %s for block type %s", name, typ)}
	}
	if err != nil {
		return "", &clispec.Failure{Exception: true, Msg: err.Error()}
	}
	id, _ := b["id"].(string)
	return id, nil
}

// apply builds the DeploymentCreate body from the options and the existing deployment
// and upserts it. It returns the server's id, or the output of a failed build.
func (c *apiClient) apply(b *clispec.Build, cwd, flowName, name, blockID string) (string, *clispec.Outcome, *clispec.Failure) {
	old, err := c.do("GET", "/deployments/name/"+url.PathEscape(flowName)+"/"+url.PathEscape(name), nil)
	if errors.Is(err, errNotFound) {
		old, err = nil, nil
	}
	if err != nil {
		return "", nil, &clispec.Failure{Exception: true, Msg: err.Error()}
	}
	body, fail := createBody(b, cwd, name, old, blockID)
	if fail != nil {
		return "", nil, fail
	}
	if pool, _ := body["work_pool_name"].(string); pool != "" && b.Has("--pool") {
		if _, err := c.do("GET", "/work_pools/"+url.PathEscape(pool), nil); errors.Is(err, errNotFound) {
			out := fmt.Sprintf("\nThis deployment specifies a work pool name of %s, but no such work pool exists.\n\nTo create a work pool via the CLI:\n\n$ prefect work-pool create %s\n\nWork pool not found!\n", pyRepr(pool), pyRepr(pool))
			return "", &clispec.Outcome{Exit: 1, Stdout: out}, nil
		} else if err != nil {
			return "", nil, &clispec.Failure{Exception: true, Msg: err.Error()}
		}
	}
	fl, err := c.do("POST", "/flows/", map[string]any{"name": flowName, "tags": []string{}})
	if err != nil {
		return "", nil, &clispec.Failure{Exception: true, Msg: err.Error()}
	}
	body["flow_id"] = fl["id"]
	d, err := c.do("POST", "/deployments/", body)
	if err != nil {
		return "", nil, &clispec.Failure{Exception: true, Msg: err.Error()}
	}
	id, _ := d["id"].(string)
	return id, nil, nil
}

// createBody merges what the build was given with the existing deployment old (nil when
// new), as Prefect 2.14's build does: an option left out keeps the server's value.
func createBody(b *clispec.Build, cwd, name string, old map[string]any, blockID string) (map[string]any, *clispec.Failure) {
	keep := func(field string, def any) any {
		if old != nil {
			if v, ok := old[field]; ok {
				return v
			}
		}
		return def
	}
	body := map[string]any{"name": name, "entrypoint": b.Entrypoint()}

	tz := any(nil)
	if v := b.Value("--timezone"); v != "" {
		tz = v
	}
	switch {
	case b.Has("--no-schedule"):
		body["schedule"] = nil
	case b.Value("--cron") != "":
		body["schedule"] = map[string]any{"cron": b.Value("--cron"), "timezone": tz, "day_or": true}
	case b.Value("--interval") != "":
		secs, _ := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(b.Value("--interval")), "_", ""), 10, 64)
		anchor := time.Now().UTC()
		if a := b.Value("--anchor-date"); a != "" {
			v, err := isodate.Parse(a, time.Now())
			if err != nil {
				return nil, &clispec.Failure{Exception: true, Msg: "pendulum.parsing.exceptions.ParserError: " + err.Error()}
			}
			anchor = v.Time
		}
		if tz == nil {
			tz = "UTC"
		}
		body["schedule"] = map[string]any{"interval": float64(secs), "anchor_date": anchor.Format("2006-01-02T15:04:05.999999-07:00"), "timezone": tz}
	case b.Value("--rrule") != "":
		r := b.Value("--rrule")
		var obj map[string]any
		if json.Unmarshal([]byte(r), &obj) == nil {
			body["schedule"] = obj
		} else {
			body["schedule"] = map[string]any{"rrule": r, "timezone": tz}
		}
	default:
		body["schedule"] = keep("schedule", nil)
	}
	if old != nil {
		body["is_schedule_active"] = keep("is_schedule_active", true)
	}

	params := map[string]any{}
	if p := b.Value("--params"); p != "" {
		if err := json.Unmarshal([]byte(p), &params); err != nil {
			return nil, &clispec.Failure{Exception: true, Msg: "json.decoder.JSONDecodeError: " + err.Error()}
		}
	}
	for _, kv := range b.Values("--param") {
		k, v, _ := strings.Cut(kv, "=")
		var val any
		if json.Unmarshal([]byte(v), &val) != nil {
			val = v
		}
		params[k] = val
	}
	// `--params '{}'` counts as not given.
	if len(params) > 0 {
		body["parameters"] = params
	} else {
		body["parameters"] = keep("parameters", map[string]any{})
	}

	if tags := b.Values("--tag"); len(tags) > 0 {
		body["tags"] = tags
	} else {
		body["tags"] = keep("tags", []any{})
	}

	if v := b.Value("--version"); v != "" {
		body["version"] = v
	} else {
		// Without -v the flow's version is the md5 of its file.
		ep := b.Entrypoint()
		src, _ := os.ReadFile(absIn(cwd, ep[:strings.LastIndex(ep, ":")]))
		sum := md5.Sum(src)
		body["version"] = hex.EncodeToString(sum[:])
	}

	if v := b.Value("--description"); v != "" {
		body["description"] = v
	} else {
		body["description"] = keep("description", nil)
	}

	switch pool, queue := b.Value("--pool"), b.Value("--work-queue"); {
	case pool != "":
		if queue == "" {
			queue = "default"
		}
		body["work_pool_name"], body["work_queue_name"] = pool, queue
	case queue != "":
		body["work_pool_name"], body["work_queue_name"] = keep("work_pool_name", nil), queue
	default:
		body["work_pool_name"], body["work_queue_name"] = keep("work_pool_name", nil), keep("work_queue_name", "default")
	}

	overrides := map[string]any{}
	for _, kv := range b.Values("--override") {
		k, v, _ := strings.Cut(kv, "=")
		overrides[k] = v
	}
	body["infra_overrides"] = overrides

	if blockID != "" {
		body["infrastructure_document_id"] = blockID
	} else {
		body["infrastructure_document_id"] = keep("infrastructure_document_id", nil)
	}
	body["parameter_openapi_schema"] = map[string]any{"title": "Parameters", "type": "object", "properties": map[string]any{}}
	return body, nil
}
