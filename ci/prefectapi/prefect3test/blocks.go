package prefect3test

import (
	_ "embed"
	"encoding/json"
	"net/url"
	"strings"
)

// blockDocRecording is a real 3.8.3 server's answer for an aws-credentials block
// document (prefect-aws 0.7.11), read without secrets: the shape every block document of
// the fake takes.
//
//go:embed testdata/block-document-aws-credentials.json
var blockDocRecording []byte

// obfuscated is what the server shows for a secret field read without include_secrets.
const obfuscated = "********"

type blockDoc struct {
	view   map[string]any // the recorded document with this one's id, name, type and data
	secret []string
}

// AddBlockDocument saves a block document named name of block type typeSlug with data,
// shaped like the recorded aws-credentials document, and returns its id. The fields
// named in secret read back as "********" unless include_secrets=true is asked for, as
// on the real server (whose default is false).
func (f *Server) AddBlockDocument(typeSlug, name string, data map[string]any, secret ...string) string {
	var rec struct {
		Response map[string]any `json:"response"`
	}
	if err := json.Unmarshal(blockDocRecording, &rec); err != nil {
		panic("prefect3test: block document recording: " + err.Error())
	}
	doc := rec.Response
	id := newID()
	doc["id"], doc["name"], doc["data"] = id, name, clone(data)
	if bt, ok := doc["block_type"].(map[string]any); ok && bt["slug"] != typeSlug {
		bt["slug"], bt["name"], doc["block_type_name"] = typeSlug, typeSlug, typeSlug
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.blocks == nil {
		f.blocks = map[string]*blockDoc{}
	}
	for oid, b := range f.blocks {
		if b.view["name"] == name && slugOf(b.view) == typeSlug {
			// Saved again (overwrite=True): the same document, new data.
			delete(f.blocks, oid)
			doc["id"], id = oid, oid
		}
	}
	f.blocks[id] = &blockDoc{view: doc, secret: secret}
	return id
}

func slugOf(doc map[string]any) string {
	bt, _ := doc["block_type"].(map[string]any)
	s, _ := bt["slug"].(string)
	return s
}

// routeBlocks answers GET /block_types/slug/{slug}/block_documents/name/{name} and GET
// /block_documents/{id}; a missing one is 404 "Block document not found" (recorded for
// an unknown name and an unknown block type alike).
func (f *Server) routeBlocks(method string, seg []string, query url.Values) answer {
	var found *blockDoc
	switch {
	case method == "GET" && len(seg) == 6 && seg[0] == "block_types" && seg[1] == "slug" && seg[3] == "block_documents" && seg[4] == "name":
		for _, b := range f.blocks {
			if b.view["name"] == seg[5] && slugOf(b.view) == seg[2] {
				found = b
			}
		}
	case method == "GET" && len(seg) == 2 && seg[0] == "block_documents":
		found = f.blocks[seg[1]]
	default:
		return notFound()
	}
	if found == nil {
		return detail(404, "Block document not found")
	}
	out := clone(found.view)
	if !strings.EqualFold(query.Get("include_secrets"), "true") {
		data := out["data"].(map[string]any)
		for _, k := range found.secret {
			if data[k] != nil {
				data[k] = obfuscated
			}
		}
	}
	return reply(200, out)
}

// SetVariableDefault gives the variable of pool's base job template a default, as a pool
// owner does in the UI (e.g. aws_credentials: a block the worker uses).
func (f *Server) SetVariableDefault(pool, variable string, value any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tmpl, _ := f.pools[pool]["base_job_template"].(map[string]any)
	vars, _ := tmpl["variables"].(map[string]any)
	props, _ := vars["properties"].(map[string]any)
	v, ok := props[variable].(map[string]any)
	if !ok {
		panic("prefect3test: pool " + pool + " has no variable " + variable)
	}
	v["default"] = value
}
