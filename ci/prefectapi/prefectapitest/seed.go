package prefectapitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/acme-data/prefect-flows/ci/internal/shareddata"
)

// SharedDir is the shared data folder (see ci/internal/shareddata).
func SharedDir() (string, error) { return shareddata.Dir() }

// Recorded is the seed data read from ../shared/prefect/recorded/.
type Recorded struct {
	// Deployments are the objects of api-filter-sample.json, in file order.
	Deployments []map[string]any
	// ByName is api-get-by-name.json.
	ByName map[string]any
	// NotFound is the body of api-get-404.txt.
	NotFound []byte
	// Block is api-block-doc.json. The recorded file is cut short inside
	// block_schema.fields, so only its complete top-level members are kept.
	Block map[string]any
	// Pools are the objects of api-work-pools.json.
	Pools []map[string]any
	// BlockDocs are deploy-traffic/api/block_doc_<slug>_dev_by_slug_name.json by block
	// type slug (ecs-task, process): complete documents, block schema included.
	BlockDocs map[string]map[string]any
}

// LoadRecorded reads the recorded responses.
func LoadRecorded() (*Recorded, error) {
	shared, err := SharedDir()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(shared, "prefect", "recorded")
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("recorded data: %w", err)
		}
		return b, nil
	}
	r := &Recorded{}
	b, err := read("api-filter-sample.json")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &r.Deployments); err != nil {
		return nil, fmt.Errorf("api-filter-sample.json: %w", err)
	}
	if b, err = read("api-get-by-name.json"); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &r.ByName); err != nil {
		return nil, fmt.Errorf("api-get-by-name.json: %w", err)
	}
	if b, err = read("api-get-404.txt"); err != nil {
		return nil, err
	}
	// The file holds the body, then a line with the status.
	r.NotFound = bytes.TrimSpace(bytes.SplitN(b, []byte("\n"), 2)[0])
	if b, err = read("api-work-pools.json"); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &r.Pools); err != nil {
		return nil, fmt.Errorf("api-work-pools.json: %w", err)
	}
	if b, err = read("api-block-doc.json"); err != nil {
		return nil, err
	}
	if r.Block, err = completeMembers(b); err != nil {
		return nil, fmt.Errorf("api-block-doc.json: %w", err)
	}
	r.BlockDocs = map[string]map[string]any{}
	for slug, file := range map[string]string{"ecs-task": "ecs_task", "process": "process"} {
		name := "deploy-traffic/api/block_doc_" + file + "_dev_by_slug_name.json"
		if b, err = read(name); err != nil {
			return nil, err
		}
		var call struct {
			Response map[string]any `json:"response_body"`
		}
		if err := json.Unmarshal(b, &call); err != nil || call.Response == nil {
			return nil, fmt.Errorf("%s: no response_body (%v)", name, err)
		}
		r.BlockDocs[slug] = call.Response
	}
	return r, nil
}

// completeMembers decodes the top-level members of a JSON object up to the first one
// that is cut short.
func completeMembers(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	out := map[string]any{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		key, ok := t.(string)
		if !ok {
			break
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			break
		}
		out[key] = v
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no complete member")
	}
	return out, nil
}
