package blocksnap_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/prefectcli/blocksnap"
)

// credsScript saves aws-credentials/<name> the way ci/pipeline/aws_credentials.py does
// (AwsCredentials(...).save(name, overwrite=True)); "load" prints what a worker reads.
const credsScript = `import sys
from prefect_aws import AwsCredentials
mode, name = sys.argv[1], sys.argv[2]
if mode == "save":
    AwsCredentials(aws_access_key_id=sys.argv[3], aws_secret_access_key=sys.argv[4], region_name="eu-west-1").save(name, overwrite=True)
else:
    c = AwsCredentials.load(name)
    print(c.aws_access_key_id, c.aws_secret_access_key.get_secret_value(), c.region_name)
`

// TestRealPrefect3SnapshotAndRestore: against a real Prefect 3.8.3 server with
// prefect-aws 0.7.11, aws-credentials/<name> saved with one key pair, snapshotted,
// overwritten with another (as register does) and restored holds the first pair again,
// secret included, though the snapshot's output never held it; the copy the snapshot
// kept is gone afterwards. discard after a run that went through leaves the new pair
// and deletes the copy.
func TestRealPrefect3SnapshotAndRestore(t *testing.T) {
	apiURL, py := os.Getenv("PREFECT3_E2E_API_URL"), os.Getenv("PREFECT3_E2E_PYTHON")
	if apiURL == "" || py == "" {
		t.Skip("PREFECT3_E2E_API_URL and PREFECT3_E2E_PYTHON are not both set: this test needs a THROWAWAY Prefect 3 server and a Python with Prefect 3 and prefect-aws (for the chroot of ../shared/prefect3/real, a script that runs `bash run.sh ROOT python \"$@\"`); it saves blocks there")
	}
	dir := t.TempDir()
	helper := filepath.Join(dir, "creds.py")
	if err := os.WriteFile(helper, []byte(credsScript), 0o644); err != nil {
		t.Fatal(err)
	}
	prefectPy := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(py, append([]string{helper}, args...)...)
		cmd.Dir = dir // run.sh binds the working directory into the chroot: not the repository
		cmd.Env = append(os.Environ(), "PREFECT_API_URL="+apiURL, "PREFECT_HOME="+dir)
		// Only stdout: Prefect 3 may log (its events worker) on stderr as the process ends.
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v: %v\n%s%s", args[:2], err, out, stderr.String())
		}
		return strings.TrimSpace(string(out))
	}
	const (
		oldID, oldSecret = "AKIAE2EOLD", "e2e/old+s3cret-kept"
		newID, newSecret = "AKIAE2ENEW", "e2e/new+s3cret-this-run"
	)
	for _, command := range []string{"restore", "discard"} {
		t.Run(command, func(t *testing.T) {
			b := make([]byte, 4)
			if _, err := rand.Read(b); err != nil {
				t.Fatal(err)
			}
			name := "e2e-" + hex.EncodeToString(b)
			ref := "aws-credentials/" + name
			prefectPy("save", name, oldID, oldSecret)

			out, errOut, code := runBlocks(t, apiURL, "", "snapshot", ref)
			if code != 0 {
				t.Fatalf("snapshot: exit %d: %s", code, errOut)
			}
			if strings.Contains(out+errOut, oldSecret) {
				t.Fatalf("the snapshot's output holds the secret:\n%s", out)
			}
			snap, err := blocksnap.Parse(out, []string{ref})
			if err != nil {
				t.Fatal(err)
			}
			backup := snap.Blocks[0].Backup
			if backup == "" {
				t.Fatalf("no copy kept of %s, whose secret the snapshot cannot hold:\n%s", ref, out)
			}

			prefectPy("save", name, newID, newSecret)
			file := filepath.Join(dir, name+".json")
			if err := os.WriteFile(file, snap.JSON(), 0o644); err != nil {
				t.Fatal(err)
			}
			out, errOut, code = runBlocks(t, apiURL, "", command, file)
			if code != 0 {
				t.Fatalf("%s: exit %d\n%s%s", command, code, out, errOut)
			}
			if strings.Contains(out+errOut, oldSecret) || strings.Contains(out+errOut, newSecret) {
				t.Errorf("%s printed a secret:\n%s%s", command, out, errOut)
			}
			want := oldID + " " + oldSecret + " eu-west-1"
			if command == "discard" {
				want = newID + " " + newSecret + " eu-west-1"
			}
			if got := prefectPy("load", name); got != want {
				t.Errorf("after %s AwsCredentials.load(%q) gives %q, want %q\n%s", command, name, got, want, out)
			}
			resp, err := http.Get(apiURL + "/block_documents/" + backup)
			if err != nil {
				t.Fatal(err)
			}
			var body json.RawMessage
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("the copy %s is still on the server after %s (HTTP %d)", backup, command, resp.StatusCode)
			}
			t.Logf("%s: %s", command, strings.TrimSpace(out))
		})
	}
}
