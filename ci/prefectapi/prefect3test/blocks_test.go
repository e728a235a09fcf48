package prefect3test

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
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
