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
