package prefectapitest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/prefectapi/prefectapitest"
)

// TestAnswersAsRecorded checks that the fake's 2.14 answers for the seeded objects are
// the recorded answers of the real server, member for member.
func TestAnswersAsRecorded(t *testing.T) {
	shared, err := prefectapitest.SharedDir()
	if err != nil {
		t.Fatal(err)
	}
	rec := filepath.Join(shared, "prefect", "recorded")
	fake := prefectapitest.New(t)
	cases := []struct {
		method, path, body, file string
		status                   int
	}{
		{"GET", "/deployments/name/hello/RecCron", "", "api-get-by-name.json", 200},
		{"POST", "/deployments/filter", `{"limit": 200, "offset": 0}`, "api-filter-sample.json", 200},
		{"POST", "/work_pools/filter", `{}`, "api-work-pools.json", 200},
		{"GET", "/deployments/name/hello/nope", "", "api-get-404.txt", 404},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, fake.URL+tc.path, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			want, err := os.ReadFile(filepath.Join(rec, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(tc.file, ".txt") {
				want = []byte(strings.SplitN(string(want), "\n", 2)[0])
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("answer is not JSON: %s", got)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if wl, ok := w.([]any); ok && tc.file == "api-filter-sample.json" {
				// The recording lists deployments in creation order; the server sorts by name.
				w = byName(wl)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("answer differs from the recording:\n got %s", got)
			}
		})
	}
}

func byName(list []any) []any {
	out := append([]any(nil), list...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j].(map[string]any)["name"].(string) < out[i].(map[string]any)["name"].(string) {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestBlockDocumentKeepsRecordedMembers: the recording is cut short inside block_schema;
// the fake keeps every complete member and adds the block type.
func TestBlockDocumentKeepsRecordedMembers(t *testing.T) {
	fake := prefectapitest.New(t)
	resp, err := http.Get(fake.URL + "/block_types/slug/process/block_documents/name/dev")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatal(err)
	}
	env, _ := b["data"].(map[string]any)["env"].(map[string]any)
	if b["id"] != "0111c32f-c4e5-44e3-a414-bf7a7de15d9f" || b["block_schema_id"] != "f27e58f8-e671-4006-bdc9-845123249996" || env["RIG"] != "1" {
		t.Errorf("recorded members lost: %v", b)
	}
	if bt, _ := b["block_type"].(map[string]any); bt["slug"] != "process" {
		t.Errorf("block_type %v", b["block_type"])
	}
}

func call(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestUpsert: POST /flows/ upserts by name; POST /deployments/ upserts by (flow, name),
// keeping the id, and answers the recorded errors.
func TestUpsert(t *testing.T) {
	fake := prefectapitest.New(t, prefectapitest.Empty())
	status, fl := call(t, "POST", fake.URL+"/flows/", `{"name": "etl", "tags": []}`)
	if status != 201 || fl["name"] != "etl" {
		t.Fatalf("create flow: %d %v", status, fl)
	}
	status, again := call(t, "POST", fake.URL+"/flows/", `{"name": "etl"}`)
	if status != 200 || again["id"] != fl["id"] {
		t.Fatalf("upsert flow: %d %v", status, again)
	}
	fid := fl["id"].(string)
	status, d := call(t, "POST", fake.URL+"/deployments/", `{"name": "d", "flow_id": "`+fid+`", "work_queue_name": "default"}`)
	if status != 201 || d["work_pool_name"] != "default-agent-pool" || d["work_queue_name"] != "default" || d["is_schedule_active"] != true {
		t.Fatalf("create: %d %v", status, d)
	}
	status, d2 := call(t, "POST", fake.URL+"/deployments/", `{"name": "d", "flow_id": "`+fid+`", "tags": ["b"], "work_pool_name": "pool", "work_queue_name": "q"}`)
	if status != 200 || d2["id"] != d["id"] || d2["work_pool_name"] != "pool" || fake.Count() != 1 {
		t.Fatalf("upsert: %d %v (%d deployments)", status, d2, fake.Count())
	}
	status, d3 := call(t, "POST", fake.URL+"/deployments/", `{"name": "new", "flow_id": "`+fid+`"}`)
	if status != 201 || d3["work_pool_name"] != nil || d3["work_queue_name"] != nil {
		t.Errorf("new without pool or queue: both null as recorded, got %d %v", status, d3)
	}
	blockID := fake.AddBlock("ecs-task/dev")
	for _, tc := range []struct {
		body   string
		status int
		detail string
	}{
		{`{"name": "d", "flow_id": "` + fid + `", "colour": "red"}`, 422, ""},
		{`{"name": "d", "flow_id": "` + fid + `", "tags": "a"}`, 422, ""},
		{`{"flow_id": "` + fid + `"}`, 500, ""},
		{`{"name": "d", "flow_id": "00000000-0000-4000-a000-999999999999"}`, 409, "Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details."},
		{`{"name": "d", "flow_id": "` + fid + `", "work_pool_name": "nope"}`, 404, `Work pool "nope" not found.`},
		{`{"name": "d", "flow_id": "` + fid + `", "infrastructure_document_id": "00da47d3-d79d-4287-9168-d16d577dca1e"}`, 409, "Error creating deployment. Could not find infrastructure block with id: 00da47d3-d79d-4287-9168-d16d577dca1e. This usually occurs when applying a deployment specification that was built against a different Prefect database / workspace."},
		{`{"name": "d", "flow_id": "` + fid + `", "infrastructure_document_id": "` + blockID + `"}`, 200, ""},
	} {
		status, out := call(t, "POST", fake.URL+"/deployments/", tc.body)
		if status != tc.status || (tc.detail != "" && out["detail"] != tc.detail) {
			t.Errorf("%s: %d %v, want %d %q", tc.body, status, out, tc.status, tc.detail)
		}
	}
	if status, _ := call(t, "GET", fake.URL+"/work_pools/nope", ""); status != 404 {
		t.Errorf("unknown pool: %d", status)
	}
	fake.AddPool("nope")
	if status, p := call(t, "GET", fake.URL+"/work_pools/nope", ""); status != 200 || p["name"] != "nope" {
		t.Errorf("added pool: %d %v", status, p)
	}
	if status, v := callAny(t, "GET", fake.URL+"/admin/version"); status != 200 || v != "2.14.21" {
		t.Errorf("admin version: %d %v", status, v)
	}
}

func callAny(t *testing.T, method, url string) (int, any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestUpsertReplacesAsRecorded replays deploy-traffic/upsert-semantics.json: the full
// body, then per field the body without it, with null and with an empty value; the
// fake must answer each with the recorded status and leave the recorded value.
func TestUpsertReplacesAsRecorded(t *testing.T) {
	shared, err := prefectapitest.SharedDir()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(shared, "prefect/recorded/deploy-traffic/upsert-semantics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Full     map[string]any                        `json:"full_body_sent"`
		PerField map[string]map[string]json.RawMessage `json:"per_field"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	fake := prefectapitest.New(t, prefectapitest.Empty())
	fake.AddPool("pool")
	_, fl := call(t, "POST", fake.URL+"/flows/", `{"name": "daily-etl", "tags": []}`)
	// The recorded ids name the real server's flow and block: use the fake's.
	ids := map[string]any{"flow_id": fl["id"], "infrastructure_document_id": fake.AddBlock("process/dev")}
	full := map[string]any{}
	for k, v := range rec.Full {
		full[k] = v
		if id, ok := ids[k]; ok {
			full[k] = id
		}
	}
	post := func(body map[string]any) (int, map[string]any) {
		b, _ := json.Marshal(body)
		return call(t, "POST", fake.URL+"/deployments/", string(b))
	}
	for field, probes := range rec.PerField {
		for _, mode := range []string{"omitted", "null", "empty"} {
			rawProbe, ok := probes[mode]
			if !ok {
				continue
			}
			t.Run(field+"/"+mode, func(t *testing.T) {
				var probe struct {
					Sent       any             `json:"sent"`
					Status     int             `json:"status"`
					ValueAfter json.RawMessage `json:"value_after"`
				}
				if err := json.Unmarshal(rawProbe, &probe); err != nil {
					t.Fatal(err)
				}
				if status, _ := post(full); status != 200 && status != 201 {
					t.Fatalf("full body: %d", status)
				}
				body := map[string]any{}
				for k, v := range full {
					body[k] = v
				}
				switch mode {
				case "omitted":
					delete(body, field)
				case "null":
					body[field] = nil
				default:
					body[field] = probe.Sent
				}
				status, out := post(body)
				if status != probe.Status {
					t.Fatalf("status %d, recorded %d (%v)", status, probe.Status, out)
				}
				if status != 200 {
					return
				}
				var want any
				_ = json.Unmarshal(probe.ValueAfter, &want)
				if !reflect.DeepEqual(out[field], want) {
					t.Errorf("%s after the probe: %#v, recorded %#v", field, out[field], want)
				}
			})
		}
	}
}
