package blocksnap_test

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/prefectcli/blocksnap"
)

// saveScript saves aws-credentials/<name> and ecs-task/<name> the way
// infrastructure/ecs_blocks.py does (the credentials first, then the ECS block naming
// them), with the image, key id and secret in argv (a test's made-up values); "inline"
// saves only ecs-task/<name>, with credentials of its own (no aws-credentials/<name>);
// "load" prints what ecs-task/<name> holds, its credentials' secret included, as the
// agent would read it, then aws-credentials/<name> as AwsCredentials.load gives it.
const saveScript = `import sys
from prefect_aws import AwsCredentials
from prefect_aws.ecs import ECSTask
mode, name = sys.argv[1], sys.argv[2]
if mode in ("save", "inline"):
    creds = AwsCredentials(aws_access_key_id=sys.argv[4], aws_secret_access_key=sys.argv[5], region_name="eu-west-1")
    if mode == "save":
        creds.save(name, overwrite=True)
    ECSTask(aws_credentials=creds, image=sys.argv[3], cluster="c", cpu=512, memory=1024,
            execution_role_arn="arn:aws:iam::1:role/x", launch_type="FARGATE").save(name, overwrite=True)
else:
    b = ECSTask.load(name)
    c = b.aws_credentials
    print(b.image, b.cluster, c.aws_access_key_id, c.aws_secret_access_key.get_secret_value())
    try:
        c = AwsCredentials.load(name)
        print(c.aws_access_key_id, c.aws_secret_access_key.get_secret_value())
    except ValueError:
        print("no aws-credentials/" + name)
`

// TestRealSnapshotAndRestore: against a real Prefect 2.14 server with prefect-aws, the
// blocks register saves (aws-credentials/<name>, then ecs-task/<name> referring to it by
// document id) saved with a good image and one key pair, snapshotted, overwritten with
// an unpullable image and another pair, and restored name the good image and the first
// pair again, secret included, both as AwsCredentials.load and through the ECS block,
// though the snapshot's output never held a secret; the copy the snapshot kept is gone.
// discard after a run that went through keeps the new pair and deletes the copy. An
// aws-credentials block that did not exist before is left as the run saved it.
func TestRealSnapshotAndRestore(t *testing.T) {
	apiURL := os.Getenv("PREFECT_E2E_API_URL")
	if apiURL == "" {
		t.Skip("PREFECT_E2E_API_URL is not set: this test needs a THROWAWAY Prefect 2.14 server and a Python with prefect-aws (PREFECT_E2E_PYTHON, or the one of `prefect` on PATH); it saves blocks there")
	}
	py := os.Getenv("PREFECT_E2E_PYTHON")
	if py == "" {
		bin, err := exec.LookPath("prefect")
		if err != nil {
			t.Skip("no PREFECT_E2E_PYTHON and no prefect on PATH: nothing can save an ECS block")
		}
		py = deploycli.PythonFor(bin)
	}
	dir := t.TempDir()
	helper := filepath.Join(dir, "save.py")
	if err := os.WriteFile(helper, []byte(saveScript), 0o644); err != nil {
		t.Fatal(err)
	}
	prefectPy := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(py, append([]string{helper}, args...)...)
		cmd.Env = append(os.Environ(), "PREFECT_API_URL="+apiURL, "PREFECT_HOME="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args[:2], err, out)
		}
		return strings.TrimSpace(string(out))
	}
	const (
		good             = "registry.example/acme/prefect-flows:dev-abc1234@sha256:1111111111111111111111111111111111111111111111111111111111111111"
		oldID, oldSecret = "AKIAE2EOLD", "e2e/old+s3cret-kept"
		newID, newSecret = "AKIAE2ENEW", "e2e/new+s3cret-this-run"
	)
	for _, tc := range []struct {
		name, command string
		before        string // how the blocks were saved before the run: save or inline
		wantOut       []string
		wantLoad      string // ECSTask.load, then AwsCredentials.load
		copies        int    // copies the snapshot keeps
	}{
		{name: "restore", command: "restore", before: "save", copies: 1,
			wantOut: []string{
				"restored aws-credentials/NAME to its previous document (secrets included, from the copy the snapshot kept)\n" +
					"restored ecs-task/NAME to its previous document (image " + good + ")",
				"left ecs-task/NAME-none"},
			wantLoad: good + " c " + oldID + " " + oldSecret + "\n" + oldID + " " + oldSecret},
		{name: "discard", command: "discard", before: "save", copies: 1,
			wantOut:  []string{"deleted the snapshot's copy of aws-credentials/NAME"},
			wantLoad: "prefect-flows:dev c " + newID + " " + newSecret + "\n" + newID + " " + newSecret},
		{name: "no aws-credentials before", command: "restore", before: "inline", copies: 1,
			wantOut: []string{
				"left aws-credentials/NAME: it did not exist before this run, so it stays as this run saved it",
				"restored ecs-task/NAME to its previous document (secrets included, from the copy the snapshot kept)"},
			wantLoad: good + " c " + oldID + " " + oldSecret + "\n" + newID + " " + newSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := make([]byte, 4)
			if _, err := rand.Read(b); err != nil {
				t.Fatal(err)
			}
			name := "e2e-" + hex.EncodeToString(b)
			refs := []string{"aws-credentials/" + name, "ecs-task/" + name, "ecs-task/" + name + "-none"}
			prefectPy(tc.before, name, good, oldID, oldSecret)

			out, errOut, code := runBlocks(t, apiURL, "", append([]string{"snapshot"}, refs...)...)
			if code != 0 {
				t.Fatalf("snapshot: exit %d: %s", code, errOut)
			}
			if strings.Contains(out+errOut, oldSecret) {
				t.Fatalf("the snapshot's output holds the secret:\n%s", out)
			}
			snap, err := blocksnap.Parse(out, refs)
			if err != nil {
				t.Fatal(err)
			}
			var backups []string
			for _, b := range snap.Blocks {
				if b.Backup != "" {
					backups = append(backups, b.Backup)
				}
			}
			if len(backups) != tc.copies {
				t.Fatalf("%d copies kept, want %d:\n%s", len(backups), tc.copies, out)
			}

			// Register: the block script saves both blocks with this run's image and keys.
			prefectPy("save", name, "prefect-flows:dev", newID, newSecret)
			file := filepath.Join(dir, name+".json")
			if err := os.WriteFile(file, snap.JSON(), 0o644); err != nil {
				t.Fatal(err)
			}
			out, errOut, code = runBlocks(t, apiURL, "", tc.command, file)
			if code != 0 {
				t.Fatalf("%s: exit %d\n%s%s", tc.command, code, out, errOut)
			}
			if strings.Contains(out+errOut, oldSecret) || strings.Contains(out+errOut, newSecret) {
				t.Errorf("%s printed a secret:\n%s%s", tc.command, out, errOut)
			}
			for _, want := range tc.wantOut {
				if want = strings.ReplaceAll(want, "NAME", name); !strings.Contains(out, want) {
					t.Errorf("%s output lacks %q:\n%s", tc.command, want, out)
				}
			}
			if got := prefectPy("load", name); got != tc.wantLoad {
				t.Errorf("after %s the blocks load as\n%s\nwant\n%s", tc.command, got, tc.wantLoad)
			}
			for _, id := range backups {
				resp, err := http.Get(apiURL + "/block_documents/" + id)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusNotFound {
					t.Errorf("the copy %s is still on the server after %s (HTTP %d)", id, tc.command, resp.StatusCode)
				}
			}
			t.Logf("%s: %s", tc.command, strings.TrimSpace(out))
		})
	}
}
