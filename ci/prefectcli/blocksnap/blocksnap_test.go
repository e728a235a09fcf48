package blocksnap_test

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/acme-data/prefect-flows/ci/prefectcli/blocksnap"
	"github.com/acme-data/prefect-flows/ci/pyprog"
)

// fakeAPI answers the two calls blocks.py makes like Prefect 2.14 does:
// testdata/ecs-task-dev.json is a real server's answer to
// GET /block_types/slug/ecs-task/block_documents/name/dev?include_secrets=false
// (a block saved by infrastructure/ecs-task-dev.py with made-up credentials).
type fakeAPI struct {
	t       *testing.T
	mu      sync.Mutex
	docs    map[string]map[string]any // ref → document
	patches []map[string]any
	fail    map[string]int // "GET ref", "PATCH ref", "POST copy", "DELETE copy" → status to answer
	key     string
	// secrets holds, by document id, the values of its secret fields: the documents
	// show them as ******** unless read by id with include_secrets=true.
	secrets map[string]map[string]any
	// bodies is every request body, to look for a secret where it must not be.
	bodies []string
	nextID int
}

func newFakeAPI(t *testing.T) *fakeAPI {
	raw, err := os.ReadFile(filepath.Join("testdata", "ecs-task-dev.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return &fakeAPI{t: t, docs: map[string]map[string]any{"ecs-task/dev": doc}, fail: map[string]int{}, secrets: map[string]map[string]any{}}
}

// addCredentials saves aws-credentials/dev as testdata/aws-credentials-dev.json (a real
// Prefect 3.8.3 answer), with secret as its secret key.
func (f *fakeAPI) addCredentials(keyID, secret string) {
	raw, err := os.ReadFile(filepath.Join("testdata", "aws-credentials-dev.json"))
	if err != nil {
		f.t.Fatal(err)
	}
	var rec struct{ Response map[string]any }
	if err := json.Unmarshal(raw, &rec); err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rec.Response["data"].(map[string]any)["aws_access_key_id"] = keyID
	f.docs["aws-credentials/dev"] = rec.Response
	f.secrets[rec.Response["id"].(string)] = map[string]any{"aws_secret_access_key": secret}
}

// credentials is what aws-credentials/dev holds now: key id and secret.
func (f *fakeAPI) credentials() (string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	doc := f.docs["aws-credentials/dev"]
	id, _ := doc["data"].(map[string]any)["aws_access_key_id"].(string)
	secret, _ := f.secrets[doc["id"].(string)]["aws_secret_access_key"].(string)
	return id, secret
}

// copies are the anonymous documents on the server.
func (f *fakeAPI) copies() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for ref, doc := range f.docs {
		if doc["is_anonymous"] == true {
			out = append(out, ref)
		}
	}
	return out
}

func (f *fakeAPI) byID(id string) (string, map[string]any) {
	for ref, doc := range f.docs {
		if doc["id"] == id {
			return ref, doc
		}
	}
	return "", nil
}

// withSecrets is doc as GET /block_documents/{id}?include_secrets=true shows it.
func (f *fakeAPI) withSecrets(doc map[string]any) map[string]any {
	out := maps.Clone(doc)
	data := maps.Clone(doc["data"].(map[string]any))
	maps.Copy(data, f.secrets[doc["id"].(string)])
	out["data"] = data
	return out
}

// keepSecrets stores the secret fields of data for id and obfuscates them in data; an
// obfuscated value keeps the stored one, as the real server does.
func (f *fakeAPI) keepSecrets(id string, data map[string]any, fields []string) {
	if f.secrets[id] == nil {
		f.secrets[id] = map[string]any{}
	}
	for _, k := range fields {
		if v, ok := data[k]; ok && v == nil {
			delete(f.secrets[id], k) // null is stored as null (seen on 2.14: the key is gone)
		} else if ok {
			if v != "********" {
				f.secrets[id][k] = v
			}
			data[k] = "********"
		}
	}
}

func secretFields(doc map[string]any) []string {
	schema, _ := doc["block_schema"].(map[string]any)
	fields, _ := schema["fields"].(map[string]any)
	list, _ := fields["secret_fields"].([]any)
	var out []string
	for _, v := range list {
		out = append(out, v.(string))
	}
	return out
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.key != "" && r.Header.Get("Authorization") != "Bearer "+f.key {
		http.Error(w, `{"detail":"Unauthorized"}`, http.StatusUnauthorized)
		return
	}
	seg := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/api"), "/"), "/")
	switch {
	case r.Method == "GET" && len(seg) == 6 && seg[0] == "block_types" && seg[3] == "block_documents":
		ref := seg[2] + "/" + seg[5]
		if r.URL.Query().Get("include_secrets") != "false" {
			f.t.Errorf("GET %s without include_secrets=false: secrets would reach stdout", r.URL)
		}
		if code := f.fail["GET "+ref]; code != 0 {
			http.Error(w, `{"detail":"Service Unavailable"}`, code)
			return
		}
		doc, ok := f.docs[ref]
		if !ok {
			http.Error(w, `{"detail":"Block document not found"}`, http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(doc)
	case r.Method == "GET" && len(seg) == 2 && seg[0] == "block_documents":
		_, doc := f.byID(seg[1])
		if doc == nil {
			http.Error(w, `{"detail":"Block document not found"}`, http.StatusNotFound)
			return
		}
		if r.URL.Query().Get("include_secrets") == "true" {
			doc = f.withSecrets(doc)
		}
		_ = json.NewEncoder(w).Encode(doc)
	case r.Method == "POST" && len(seg) == 1 && seg[0] == "block_documents":
		raw, _ := io.ReadAll(r.Body)
		f.bodies = append(f.bodies, string(raw))
		if code := f.fail["POST copy"]; code != 0 {
			http.Error(w, `{"detail":"nope, and an echo of `+string(raw)+`"}`, code)
			return
		}
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil || body["is_anonymous"] != true {
			http.Error(w, `{"detail":"want an anonymous document"}`, http.StatusUnprocessableEntity)
			return
		}
		var orig map[string]any
		for _, doc := range f.docs {
			if doc["block_schema_id"] == body["block_schema_id"] {
				orig = doc
			}
		}
		f.nextID++
		id := fmt.Sprintf("copy-%d", f.nextID)
		doc := maps.Clone(orig)
		doc["id"], doc["name"], doc["is_anonymous"], doc["data"] = id, "anonymous-"+id, true, body["data"]
		f.keepSecrets(id, doc["data"].(map[string]any), secretFields(doc))
		f.docs["anonymous/"+id] = doc
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(doc)
	case r.Method == "DELETE" && len(seg) == 2 && seg[0] == "block_documents":
		ref, doc := f.byID(seg[1])
		if code := f.fail["DELETE copy"]; code != 0 {
			http.Error(w, `{"detail":"nope"}`, code)
			return
		}
		if doc == nil {
			http.Error(w, `{"detail":"Block document not found"}`, http.StatusNotFound)
			return
		}
		delete(f.docs, ref)
		w.WriteHeader(http.StatusNoContent)
	case r.Method == "PATCH" && len(seg) == 2 && seg[0] == "block_documents":
		raw, _ := io.ReadAll(r.Body)
		f.bodies = append(f.bodies, string(raw))
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		for ref, doc := range f.docs {
			if doc["id"] != seg[1] {
				continue
			}
			if code := f.fail["PATCH "+ref]; code != 0 {
				http.Error(w, `{"detail":"nope"}`, code)
				return
			}
			f.patches = append(f.patches, body)
			data := body["data"].(map[string]any)
			f.keepSecrets(seg[1], data, secretFields(doc))
			// The server resolves {"$ref": ...} into a reference and keeps the rest.
			doc["data"] = data
			doc["block_schema_id"] = body["block_schema_id"]
			w.WriteHeader(http.StatusNoContent)
			return
		}
		http.Error(w, `{"detail":"Block document not found"}`, http.StatusNotFound)
	default:
		http.Error(w, `{"detail":"Not Found"}`, http.StatusNotFound)
	}
}

func (f *fakeAPI) image(ref string) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.docs[ref]["data"].(map[string]any)["image"]
}

func (f *fakeAPI) setImage(ref, img string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.docs[ref]["data"].(map[string]any)["image"] = img
}

func python(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: blocks.py cannot be run")
	}
	return p
}

// runBlocks runs blocks.py with args against apiURL and returns stdout, stderr and
// the exit code.
func runBlocks(t *testing.T, apiURL, key string, args ...string) (string, string, int) {
	t.Helper()
	script, err := blocksnap.Program.WriteUnder(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	argv := pyprog.Argv(python(t), script, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "PREFECT_API_URL=" + apiURL}
	if key != "" {
		cmd.Env = append(cmd.Env, "PREFECT_API_KEY="+key)
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// snapshot runs blocks.py snapshot refs and returns its stdout; with wantSnap it must
// fail saying that (ok is false then). secret, when given, must be in no output.
func snapshot(t *testing.T, url, key string, refs []string, wantSnap, secret string) (out string, ok bool) {
	t.Helper()
	out, errOut, code := runBlocks(t, url, key, append([]string{"snapshot"}, refs...)...)
	if secret != "" && strings.Contains(out+errOut, secret) {
		t.Fatalf("the snapshot's output holds the secret:\n%s%s", out, errOut)
	}
	if wantSnap != "" {
		if code == 0 || !strings.Contains(errOut, wantSnap) {
			t.Fatalf("snapshot exit %d, stderr %q; want a failure saying %q", code, errOut, wantSnap)
		}
		return "", false
	}
	if code != 0 {
		t.Fatalf("snapshot exit %d: %s", code, errOut)
	}
	return out, true
}

const (
	before = "reg.example/acme/prefect-flows:dev-abc1234@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	broken = "prefect-flows:dev"
)

func TestSnapshotAndRestore(t *testing.T) {
	for _, tc := range []struct {
		name       string
		key        string
		fail       map[string]int
		refs       []string
		wantSnap   string // in the snapshot's stderr when it fails
		wantOut    []string
		wantCode   int
		wantImage  string
		wantPatch  int
		deleteDocs bool
	}{
		{name: "existing block is put back, missing one left", refs: []string{"ecs-task/dev", "ecs-task/dev-large"},
			wantOut: []string{
				"restored ecs-task/dev to its previous document (image " + before + ")",
				"left ecs-task/dev-large: it did not exist before this run, so it stays as this run saved it",
			}, wantImage: before, wantPatch: 1},
		{name: "Prefect Cloud key is sent", key: "pnu_k3y", refs: []string{"ecs-task/dev"},
			wantOut: []string{"restored ecs-task/dev"}, wantImage: before, wantPatch: 1},
		{name: "a read that fails stops the snapshot", refs: []string{"ecs-task/dev"}, fail: map[string]int{"GET ecs-task/dev": 503},
			wantSnap: "read ecs-task/dev: HTTP 503"},
		{name: "a write that fails is said and exits 1", refs: []string{"ecs-task/dev"}, fail: map[string]int{"PATCH ecs-task/dev": 500},
			wantOut: []string{"FAILED to restore ecs-task/dev: HTTP 500"}, wantCode: 1, wantImage: broken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(t)
			api.key = tc.key
			srv := httptest.NewServer(api)
			defer srv.Close()
			url := srv.URL + "/api"
			for k, v := range tc.fail {
				if strings.HasPrefix(k, "GET") {
					api.fail[k] = v
				}
			}
			out, ok := snapshot(t, url, tc.key, tc.refs, tc.wantSnap, "")
			if !ok {
				return
			}
			snap, err := blocksnap.Parse(out, tc.refs)
			if err != nil {
				t.Fatal(err)
			}
			// Nothing of the credentials block, not even obfuscated, is in the snapshot:
			// the ECS block refers to it by id.
			for _, s := range []string{"********", "AKIAX", "aws_secret_access_key"} {
				if strings.Contains(out, s) {
					t.Errorf("snapshot holds %q:\n%s", s, out)
				}
			}
			var update struct {
				Data struct {
					Creds struct {
						Ref struct {
							ID string `json:"block_document_id"`
						} `json:"$ref"`
					} `json:"aws_credentials"`
				} `json:"data"`
			}
			if err := json.Unmarshal(snap.Blocks[0].Update, &update); err != nil || update.Data.Creds.Ref.ID != "e3763fee-38b2-478b-b21a-9d02a38cf296" {
				t.Errorf("the credentials reference is not kept (%v):\n%s", err, out)
			}
			if got := snap.Describe(); got[0] != "ecs-task/dev names image "+before {
				t.Errorf("Describe = %q", got)
			}

			// The run saves the block with an image no task can pull, then fails.
			api.setImage("ecs-task/dev", broken)
			for k, v := range tc.fail {
				api.fail[k] = v
			}
			file := filepath.Join(t.TempDir(), "snapshot.json")
			if err := os.WriteFile(file, snap.JSON(), 0o644); err != nil {
				t.Fatal(err)
			}
			out, errOut, code := runBlocks(t, url, tc.key, "restore", file)
			if code != tc.wantCode {
				t.Errorf("restore exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.wantCode, out, errOut)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("restore output lacks %q:\n%s", w, out)
				}
			}
			if got := api.image("ecs-task/dev"); got != tc.wantImage {
				t.Errorf("ecs-task/dev names %v after the restore, want %s", got, tc.wantImage)
			}
			if len(api.patches) != tc.wantPatch {
				t.Fatalf("%d PATCH(es), want %d", len(api.patches), tc.wantPatch)
			}
			for _, p := range api.patches {
				if p["merge_existing_data"] != false || p["block_schema_id"] != "6b27ea39-0797-4607-8631-a71458fe4d2f" {
					t.Errorf("PATCH body %v: want the whole previous document (merge_existing_data false) on its schema", p)
				}
			}
		})
	}
}

// TestCredentialsSnapshotKeepsACopy: aws-credentials/dev (Prefect 3's, a real 3.8.3
// document) holds its secret in its own data, which a snapshot read without secrets
// cannot put back: the server keeps its current secret for ********. The snapshot keeps a
// copy on the server instead, restore writes the previous key pair back from it, discard
// deletes it, and the secret is in no output, even when a call fails.
func TestCredentialsSnapshotKeepsACopy(t *testing.T) {
	const oldSecret, newSecret = "old-s3cret-value", "new-s3cret-value"
	for _, tc := range []struct {
		name     string
		fail     map[string]int // set after the snapshot, unless "POST copy"
		command  string         // restore or discard
		wantSnap string         // in the snapshot's stderr when it fails
		wantOut  string
		wantCode int
		wantKeys [2]string // key id and secret after the command
		wantCopy bool      // the copy is still on the server
	}{
		{name: "restore puts the previous pair back", command: "restore",
			wantOut:  "restored aws-credentials/dev to its previous document (secrets included, from the copy the snapshot kept)",
			wantKeys: [2]string{"AKIAOLD", oldSecret}},
		{name: "discard leaves this run's pair and deletes the copy", command: "discard",
			wantOut: "deleted the snapshot's copy of aws-credentials/dev", wantKeys: [2]string{"AKIANEW", newSecret}},
		{name: "a failed write says where the previous document is", command: "restore", fail: map[string]int{"PATCH aws-credentials/dev": 500},
			wantOut:  "FAILED to restore aws-credentials/dev: HTTP 500: (answer not shown: it may echo a secret) (its previous document, secrets included, is the anonymous block document copy-1)",
			wantCode: 1, wantKeys: [2]string{"AKIANEW", newSecret}, wantCopy: true},
		{name: "a copy that cannot be saved stops the snapshot", fail: map[string]int{"POST copy": 422},
			wantSnap: "copy aws-credentials/dev: save the copy: HTTP 422: (answer not shown: it may echo a secret)"},
		{name: "a copy that cannot be deleted is said", command: "discard", fail: map[string]int{"DELETE copy": 500},
			wantOut: "FAILED to delete the snapshot's copy of aws-credentials/dev (anonymous block document copy-1): HTTP 500", wantCode: 1,
			wantKeys: [2]string{"AKIANEW", newSecret}, wantCopy: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(t)
			api.addCredentials("AKIAOLD", oldSecret)
			srv := httptest.NewServer(api)
			defer srv.Close()
			url := srv.URL + "/api"
			if tc.fail["POST copy"] != 0 {
				maps.Copy(api.fail, tc.fail)
			}
			refs := []string{"aws-credentials/dev"}
			out, ok := snapshot(t, url, "", refs, tc.wantSnap, oldSecret)
			if !ok {
				return
			}
			snap, err := blocksnap.Parse(out, refs)
			if err != nil {
				t.Fatal(err)
			}
			if !snap.HasBackups() || snap.Blocks[0].Backup != "copy-1" {
				t.Fatalf("no copy kept: %s", out)
			}
			if got := snap.Describe()[0]; !strings.Contains(got, "a copy of it, secrets included, is kept on the server") {
				t.Errorf("Describe = %q", got)
			}

			// Register saves the new pair over it (AwsCredentials.save(overwrite=True)).
			api.mu.Lock()
			doc := api.docs["aws-credentials/dev"]
			doc["data"].(map[string]any)["aws_access_key_id"] = "AKIANEW"
			api.secrets[doc["id"].(string)]["aws_secret_access_key"] = newSecret
			maps.Copy(api.fail, tc.fail)
			api.mu.Unlock()

			file := filepath.Join(t.TempDir(), "snapshot.json")
			if err := os.WriteFile(file, snap.JSON(), 0o644); err != nil {
				t.Fatal(err)
			}
			out, errOut, code := runBlocks(t, url, "", tc.command, file)
			if code != tc.wantCode || !strings.Contains(out, tc.wantOut) {
				t.Errorf("%s exit %d (want %d), output lacks %q:\n%s%s", tc.command, code, tc.wantCode, tc.wantOut, out, errOut)
			}
			for _, s := range []string{oldSecret, newSecret} {
				if strings.Contains(out+errOut, s) {
					t.Errorf("%s printed a secret:\n%s%s", tc.command, out, errOut)
				}
			}
			if id, secret := api.credentials(); [2]string{id, secret} != tc.wantKeys {
				t.Errorf("aws-credentials/dev holds %s/%s, want %s", id, secret, tc.wantKeys)
			}
			if got := len(api.copies()) > 0; got != tc.wantCopy {
				t.Errorf("copy on the server: %v, want %v", got, tc.wantCopy)
			}
		})
	}
}

// TestCredentialsWithoutKeysNeedNoCopy: on Prefect 2 the block script saves
// aws-credentials/<env> even without AWS keys (both fields null). Such a document has no
// secret of its own: the snapshot holds all of it, keeps no copy, and restore writes it
// back from the snapshot, checked field by field, with no image in its line.
func TestCredentialsWithoutKeysNeedNoCopy(t *testing.T) {
	const newSecret = "new-s3cret-value"
	api := newFakeAPI(t)
	api.addCredentials("AKIAOLD", "")
	api.mu.Lock()
	doc := api.docs["aws-credentials/dev"]
	data := doc["data"].(map[string]any)
	data["aws_access_key_id"], data["aws_secret_access_key"] = nil, nil
	delete(api.secrets, doc["id"].(string))
	api.mu.Unlock()
	srv := httptest.NewServer(api)
	defer srv.Close()
	url := srv.URL + "/api"
	refs := []string{"aws-credentials/dev"}
	out, _ := snapshot(t, url, "", refs, "", "")
	snap, err := blocksnap.Parse(out, refs)
	if err != nil {
		t.Fatal(err)
	}
	if snap.HasBackups() || len(api.copies()) != 0 {
		t.Fatalf("a copy kept of a document without secrets: %s", out)
	}
	if got := snap.Describe()[0]; got != "aws-credentials/dev exists (no image field)" {
		t.Errorf("Describe = %q", got)
	}

	// This run saves keys over it.
	api.mu.Lock()
	data["aws_access_key_id"], data["aws_secret_access_key"] = "AKIANEW", "********"
	api.secrets[doc["id"].(string)] = map[string]any{"aws_secret_access_key": newSecret}
	api.mu.Unlock()
	file := filepath.Join(t.TempDir(), "snapshot.json")
	if err := os.WriteFile(file, snap.JSON(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runBlocks(t, url, "", "restore", file)
	if code != 0 || out != "restored aws-credentials/dev to its previous document\n" {
		t.Errorf("restore exit %d:\n%s%s", code, out, errOut)
	}
	if id, secret := api.credentials(); id != "" || secret != "" {
		t.Errorf("aws-credentials/dev holds %q/%q after the restore, want no keys", id, secret)
	}
}

func TestParseRefusesAnIncompleteSnapshot(t *testing.T) {
	for _, tc := range []struct{ name, out, want string }{
		{"not JSON", "Traceback ...\n", "want one JSON object"},
		{"another block", `{"blocks":[{"ref":"ecs-task/x","exists":false}]}`, `got blocks ["ecs-task/x"]`},
		{"no document", `{"blocks":[{"ref":"ecs-task/dev","exists":true,"id":"1"}]}`, "exists but has no id or no document"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := blocksnap.Parse(tc.out, []string{"ecs-task/dev"}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse: %v, want %q", err, tc.want)
			}
		})
	}
}
