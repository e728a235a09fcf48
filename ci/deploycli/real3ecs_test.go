package deploycli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/pyprog"
)

// envReal3Prefect runs the chroot's own prefect (.ci/real-prefect3 passes it, and
// envReal3Python).
const envReal3Prefect = "PREFECT3_E2E_PREFECT"

// The ECS settings against a REAL Prefect 3.8.3 server: a pool of type ecs made from
// `prefect work-pool get-default-base-job-template --type ecs` (prefect-aws 0.7.11's
// template), the AWS keys saved as an aws-credentials block, then apply with the ECS
// flags. The server accepts the job variables (it validates them against the pool's
// template), the read-back and the plan given the same settings find nothing to change,
// the secret key is in no answer of the API and no
// output, and, with PREFECT3_E2E_PYTHON, prefect-aws's ECSWorker builds from the
// deployment a job whose AWS credentials hold the keys (testdata/api3/ecs-real/check_worker.py).
// Pool, block, flow deployment and owner are new for every run and deleted at the end.
func TestRealPrefect3ECSSettings(t *testing.T) {
	base, run := real3(t, "it creates a work pool, an aws-credentials block and a deployment there and deletes them")
	prefect := os.Getenv(envReal3Prefect)
	if prefect == "" {
		t.Skip(envReal3Prefect + " is not set: this test makes its ecs pool from the template of the server's own prefect CLI and prefect-aws " +
			"(.ci/real-prefect3 sets it; " + envReal3Python + ", a wrapper running that install's python, adds the worker's side)")
	}
	pool, block, name := "ecs-"+run, "dev-"+run, "hello-ecs-"+run
	const keyID, secret = "AKIAP3ECSREALTEST", "p3ecs/real+SECRET-never-in-job-variables"

	// run.sh binds the host's /tmp into the chroot: files the chroot's prefect and
	// python read or write live there.
	dir, err := os.MkdirTemp("/tmp", "ecs-real3-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	chroot := func(bin string, env []string, args ...string) string {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "PREFECT_API_URL=" + base}, env...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s %q:\n%s", bin, args, out)
		return string(out)
	}

	tmpl := filepath.Join(dir, "ecs.json")
	chroot(prefect, nil, "work-pool", "get-default-base-job-template", "--type", "ecs", "--file", tmpl)
	raw, err := os.ReadFile(tmpl)
	require.NoError(t, err)
	var template map[string]any
	require.NoError(t, json.Unmarshal(raw, &template))
	st, body := call3(t, "POST", base+"/work_pools/", map[string]any{"name": pool, "type": "ecs", "base_job_template": template})
	require.Equal(t, http.StatusCreated, st, "%s", body)
	t.Cleanup(func() { call3(t, "DELETE", base+"/work_pools/"+pool, nil) })

	python := os.Getenv(envReal3Python)
	awsEnv := []string{"AWS_ACCESS_KEY_ID=" + keyID, "AWS_SECRET_ACCESS_KEY=" + secret, "AWS_REGION=eu-west-1"}
	if python != "" {
		// The pipeline's own script, as the register step runs it in the image.
		script, err := os.ReadFile("../pipeline/aws_credentials.py")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "aws_credentials.py"), script, 0o644))
		argv := pyprog.Argv(python, filepath.Join(dir, "aws_credentials.py"), block)
		out := chroot(argv[0], awsEnv, argv[1:]...)
		assert.Equal(t, "saved aws-credentials/"+block+" (region eu-west-1)\n", out)
	} else {
		t.Log(envReal3Python + " is not set: the block is saved through the API with AwsCredentials' shape, and the worker's side is not checked")
		saveCredentialsBlock(t, base, block, map[string]any{"aws_access_key_id": keyID, "aws_secret_access_key": secret, "region_name": "eu-west-1"})
	}
	st, body = get3(t, base+"/block_types/slug/aws-credentials/block_documents/name/"+block+"?include_secrets=false")
	require.Equal(t, http.StatusOK, st, "%s", body)
	var doc struct{ ID string }
	require.NoError(t, json.Unmarshal(body, &doc))
	t.Cleanup(func() { call3(t, "DELETE", base+"/block_documents/"+doc.ID, nil) })

	h := newHarness(t, "PREFECT_API_URL="+base, "PREFECT_OWNER=real3ecs-"+run)
	file := h.file("prefect-deployments-dev.yaml")
	require.NoError(t, os.WriteFile(file, []byte("prefect: 3\ndeployments:\n  - name: "+name+
		"\n    entrypoint: flows/hello.py:hello\n    work_pool:\n      name: "+pool+"\n      job_variables: {cpu: 2048, env: {LOG_LEVEL: INFO}}\n"), 0o644))
	t.Cleanup(func() { deleteDeployments3(t, base, "hello", []string{name}) })
	inspected, err := filepath.Abs("testdata/api3/inspected.json")
	require.NoError(t, err)
	ecs := []string{"--image", digest3, "--ecs-cluster", "dev-cluster", "--ecs-vpc-id", "vpc-0abc",
		"--ecs-execution-role-arn", "arn:aws:iam::123456789012:role/exec", "--ecs-task-role-arn", "arn:aws:iam::123456789012:role/task",
		"--ecs-cpu", "512", "--ecs-memory", "4096", "--aws-region", "eu-west-1", "--aws-credentials-block", block}
	main := func(args ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := deploycli.Main(context.Background(), append(args, file), &stdout, &stderr, h.env)
		out := stdout.String() + stderr.String()
		assert.NotContains(t, out, secret)
		return code, out
	}

	code, out := main(append([]string{"apply", "--runner", "api", "--inspected", inspected}, ecs...)...)
	require.Equal(t, deploycli.ExitOK, code, out)
	assert.Contains(t, out, "Read back 1 deployment(s): 0 patched, 0 drifted.")
	st, body = get3(t, base+"/deployments/name/hello/"+url.PathEscape(name))
	require.Equal(t, http.StatusOK, st, "%s", body)
	assert.NotContains(t, string(body), secret)
	var d struct {
		JobVariables map[string]any `json:"job_variables"`
	}
	require.NoError(t, json.Unmarshal(body, &d))
	assert.Equal(t, map[string]any{
		"cluster": "dev-cluster", "vpc_id": "vpc-0abc", "execution_role_arn": "arn:aws:iam::123456789012:role/exec",
		"task_role_arn": "arn:aws:iam::123456789012:role/task", "cpu": 2048.0, "memory": 4096.0, "env": map[string]any{"LOG_LEVEL": "INFO"},
		"aws_credentials": map[string]any{
			"aws_access_key_id":     "{{ prefect.blocks.aws-credentials." + block + ".aws_access_key_id }}",
			"aws_secret_access_key": "{{ prefect.blocks.aws-credentials." + block + ".aws_secret_access_key }}",
			"region_name":           "eu-west-1"},
		"image": digest3,
	}, d.JobVariables, "the file's cpu wins; the keys only as placeholders naming the block's fields")

	code, out = main(append([]string{"plan", "--detailed-exitcode"}, ecs...)...)
	assert.Equal(t, deploycli.ExitOK, code, out)
	assert.Contains(t, out, "No changes: the server matches the file.")
	code, out = main("plan", "--detailed-exitcode", "--image", digest3)
	assert.Equal(t, deploycli.ExitChanges, code, "without the settings the plan would remove them:\n%s", out)

	if python == "" {
		return
	}
	check, err := os.ReadFile("testdata/api3/ecs-real/check_worker.py")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "check_worker.py"), check, 0o644))
	got := chroot(python, []string{"AWS_SECRET_ACCESS_KEY=" + secret}, filepath.Join(dir, "check_worker.py"), pool, "hello/"+name)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	var job map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &job), got)
	assert.Equal(t, map[string]any{
		"cluster": "dev-cluster", "vpc_id": "vpc-0abc", "execution_role_arn": "arn:aws:iam::123456789012:role/exec",
		"task_role_arn": "arn:aws:iam::123456789012:role/task", "cpu": 2048.0, "memory": 4096.0, "image": digest3,
		"aws_access_key_id": keyID, "region_name": "eu-west-1", "secret_matches": true,
	}, job, "what the ECS worker builds from the deployment")
}

// saveCredentialsBlock saves an aws-credentials block document through the API, as
// AwsCredentials.save does (the server registers prefect-aws's block types at start).
func saveCredentialsBlock(t *testing.T, base, name string, data map[string]any) {
	st, body := get3(t, base+"/block_types/slug/aws-credentials")
	require.Equal(t, http.StatusOK, st, "%s", body)
	var bt struct{ ID string }
	require.NoError(t, json.Unmarshal(body, &bt))
	st, body = call3(t, "POST", base+"/block_schemas/filter", map[string]any{"block_schemas": map[string]any{"block_type_id": map[string]any{"any_": []string{bt.ID}}}})
	require.Equal(t, http.StatusOK, st, "%s", body)
	var schemas []struct{ ID string }
	require.NoError(t, json.Unmarshal(body, &schemas))
	require.NotEmpty(t, schemas, "no block schema of aws-credentials")
	st, body = call3(t, "POST", base+"/block_documents/", map[string]any{"name": name, "block_type_id": bt.ID, "block_schema_id": schemas[0].ID, "data": data})
	require.Equal(t, http.StatusCreated, st, "%s", body)
}
