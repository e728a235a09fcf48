package blocksnap_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/prefectcli/blocksnap"
)

// saveScript saves aws-credentials/<name> and ecs-task/<name> the way
// infrastructure/ecs_blocks.py does, with the image in argv[2]; "load" prints what
// ecs-task/<name> holds, the credentials' secret included, as the agent would read it.
const saveScript = `import sys
from prefect_aws import AwsCredentials
from prefect_aws.ecs import ECSTask
mode, name = sys.argv[1], sys.argv[2]
if mode == "save":
    creds = AwsCredentials(aws_access_key_id="AKIAE2E", aws_secret_access_key=sys.argv[4], region_name="eu-west-1")
    creds.save(name, overwrite=True)
    ECSTask(aws_credentials=creds, image=sys.argv[3], cluster="c", cpu=512, memory=1024,
            execution_role_arn="arn:aws:iam::1:role/x", launch_type="FARGATE").save(name, overwrite=True)
else:
    b = ECSTask.load(name)
    print(b.image, b.cluster, b.aws_credentials.aws_secret_access_key.get_secret_value())
`

// TestRealSnapshotAndRestore: against a real Prefect 2.14 server with prefect-aws, a
// block saved with a good image, snapshotted, overwritten with an unpullable one and
// restored names the good image again and still reaches its credentials (the secret
// is the one stored on the server: the snapshot never held it).
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
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := "e2e-" + hex.EncodeToString(b)
	ref := "ecs-task/" + name
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
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	const good = "registry.example/acme/prefect-flows:dev-abc1234@sha256:1111111111111111111111111111111111111111111111111111111111111111"
	prefectPy("save", name, good, "s3cret-kept")

	out, errOut, code := runBlocks(t, apiURL, "", "snapshot", ref, "ecs-task/"+name+"-none")
	if code != 0 {
		t.Fatalf("snapshot: exit %d: %s", code, errOut)
	}
	if strings.Contains(out, "s3cret-kept") || strings.Contains(out, "AKIAE2E") {
		t.Fatalf("the snapshot holds the credentials:\n%s", out)
	}
	snap, err := blocksnap.Parse(out, []string{ref, "ecs-task/" + name + "-none"})
	if err != nil {
		t.Fatal(err)
	}

	prefectPy("save", name, "prefect-flows:dev", "s3cret-kept")
	file := filepath.Join(dir, "snapshot.json")
	if err := os.WriteFile(file, snap.JSON(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = runBlocks(t, apiURL, "", "restore", file)
	if code != 0 {
		t.Fatalf("restore: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"restored " + ref + " to its previous document (image " + good + ")", "left ecs-task/" + name + "-none"} {
		if !strings.Contains(out, want) {
			t.Errorf("restore output lacks %q:\n%s", want, out)
		}
	}
	if got := prefectPy("load", name); got != good+" c s3cret-kept" {
		t.Errorf("after the restore ECSTask.load(%q) gives %q, want %q", name, got, good+" c s3cret-kept")
	}
}
