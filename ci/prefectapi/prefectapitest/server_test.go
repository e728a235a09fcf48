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

// TestUpsert: POST /flows/ and POST /deployments/ upsert as Prefect 2.14 does, and an
// upsert keeps the fields its body leaves out.
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
	body := `{"name": "d", "flow_id": "` + fl["id"].(string) + `", "tags": ["a"], "parameters": {"n": 1},
		"schedule": {"cron": "0 6 * * *", "timezone": "UTC", "day_or": true}, "version": "1"}`
	status, d := call(t, "POST", fake.URL+"/deployments/", body)
	if status != 201 || d["work_pool_name"] != "default-agent-pool" || d["work_queue_name"] != "default" || d["is_schedule_active"] != true {
		t.Fatalf("create: %d %v", status, d)
	}
	status, d2 := call(t, "POST", fake.URL+"/deployments/", `{"name": "d", "flow_id": "`+fl["id"].(string)+`", "tags": ["b"], "work_pool_name": "pool", "work_queue_name": "q"}`)
	if status != 200 || d2["id"] != d["id"] {
		t.Fatalf("upsert: %d %v", status, d2)
	}
	if !reflect.DeepEqual(d2["tags"], []any{"b"}) || !reflect.DeepEqual(d2["parameters"], map[string]any{"n": 1.0}) || d2["version"] != "1" || d2["work_pool_name"] != "pool" {
		t.Errorf("upsert did not keep the fields it left out: %v", d2)
	}
	if fake.Count() != 1 {
		t.Errorf("%d deployments, want 1", fake.Count())
	}
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"name": "d", "flow_id": "` + fl["id"].(string) + `", "colour": "red"}`, 422},
		{`{"name": "d"}`, 422},
		{`{"name": "d", "flow_id": "00000000-0000-4000-a000-999999999999"}`, 404},
		{`{"name": "d", "flow_id": "` + fl["id"].(string) + `", "work_pool_name": "nope"}`, 404},
	} {
		if status, out := call(t, "POST", fake.URL+"/deployments/", tc.body); status != tc.status {
			t.Errorf("%s: %d %v, want %d", tc.body, status, out, tc.status)
		}
	}
	if status, _ := call(t, "GET", fake.URL+"/work_pools/nope", ""); status != 404 {
		t.Errorf("unknown pool: %d", status)
	}
	fake.AddPool("nope")
	if status, p := call(t, "GET", fake.URL+"/work_pools/nope", ""); status != 200 || p["name"] != "nope" {
		t.Errorf("added pool: %d %v", status, p)
	}
}
