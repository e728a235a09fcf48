package prefect3test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
)

// A block document saved in the fake reads back as the recorded one does (the real
// server's shape, the secret key as ********), with its secret only when asked for;
// an unknown name or block type is the recorded 404.
func TestBlockDocumentsAsRecorded(t *testing.T) {
	var rec struct {
		Response map[string]any `json:"response"`
	}
	if err := json.Unmarshal(blockDocRecording, &rec); err != nil {
		t.Fatal(err)
	}
	f := New(t)
	id := f.AddBlockDocument("aws-credentials", "exp", map[string]any{
		"aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": "the-secret", "region_name": "eu-west-1"}, "aws_secret_access_key")
	for _, tc := range []struct {
		name, path string
		status     int
		want       map[string]any
	}{
		{"by name", "/block_types/slug/aws-credentials/block_documents/name/exp?include_secrets=false", 200,
			map[string]any{"aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": "********", "region_name": "eu-west-1"}},
		{"by id, secrets", "/block_documents/" + id + "?include_secrets=true", 200,
			map[string]any{"aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": "the-secret", "region_name": "eu-west-1"}},
		{"unknown name", "/block_types/slug/aws-credentials/block_documents/name/nope?include_secrets=false", 404, nil},
		{"unknown type", "/block_types/slug/no-such-type/block_documents/name/exp?include_secrets=false", 404, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(f.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			var got map[string]any
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, raw)
			}
			if tc.want == nil {
				if !reflect.DeepEqual(got, map[string]any{"detail": "Block document not found"}) {
					t.Errorf("404 body %s", raw)
				}
				return
			}
			if !reflect.DeepEqual(got["data"], tc.want) || got["id"] != id || got["name"] != "exp" {
				t.Errorf("got id %v name %v data %v", got["id"], got["name"], got["data"])
			}
			for k := range rec.Response {
				if _, ok := got[k]; !ok {
					t.Errorf("member %s of the recorded document is missing", k)
				}
			}
		})
	}
	// Saved again under the same name (overwrite=True): the same document, new data.
	if again := f.AddBlockDocument("aws-credentials", "exp", map[string]any{"region_name": "us-east-1"}); again != id {
		t.Errorf("saved again: id %s, want %s", again, id)
	}
}

// The job variable aws_credentials of an ecs pool, validated as a real 3.8.3 server does
// (testdata/ecs-job-variables.json, recorded there): a block document reference is
// refused (the server's oneOf [block schema, reference] matches it twice), the block's
// fields as placeholders and a region alone pass, a field of the wrong type is named.
// A refusal's message is compared up to the block schema, which Python prints in its
// own key order.
func TestECSCredentialsJobVariableAsRecorded(t *testing.T) {
	raw, err := os.ReadFile("testdata/ecs-job-variables.json")
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Cases []struct {
			Name         string
			JobVariables map[string]any `json:"job_variables"`
			Status       int
			Response     map[string]any
		}
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	f := New(t)
	st, body, err := Call("POST", f.URL+"/flows/", map[string]any{"name": "ecs-jv"})
	if err != nil || st != 201 {
		t.Fatalf("flow: %d %s %v", st, body, err)
	}
	var flow struct{ ID string }
	_ = json.Unmarshal(body, &flow)
	for i, tc := range rec.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			st, body, err := Call("POST", f.URL+"/deployments/", map[string]any{"name": fmt.Sprintf("ecs-jv-%d", i), "flow_id": flow.ID,
				"work_pool_name": "ecs-pool", "job_variables": tc.JobVariables})
			if err != nil {
				t.Fatal(err)
			}
			if st != tc.Status {
				t.Fatalf("status %d, want %d: %s", st, tc.Status, body)
			}
			var got map[string]any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if st >= 400 {
				want, _ := tc.Response["detail"].(string)
				if i := strings.Index(want, blockReference); i >= 0 {
					want = want[:i+len(blockReference)]
				}
				if d, _ := got["detail"].(string); !strings.HasPrefix(d, want) {
					t.Errorf("detail\n got %s\nwant %s...", d, want)
				}
				return
			}
			if !reflect.DeepEqual(got["job_variables"], tc.Response["job_variables"]) {
				t.Errorf("job_variables %v, want %v", got["job_variables"], tc.Response["job_variables"])
			}
		})
	}
}
