package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/desired"
	"github.com/acme-data/prefect-flows/ci/internal/fakedagger"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefect3test"
)

func isCredentials(a []string) bool { return slices.Equal(a, CredentialsArgs("dev")) }

// realPrefectDeploy runs the real prefect-deploy command of an exec (apply, pools,
// read-back, prune) against the fake Prefect 3 API: the files the exec reads from the
// container (the inspect output, the pool template) and p3repo are copied into a
// directory of the test, and --results comes back as the file the exec wrote.
func realPrefectDeploy(t *testing.T, ex fakedagger.Exec, apiURL string) fakedagger.ExecResult {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(repoDir(t, "p3repo"))); err != nil {
		t.Fatal(err)
	}
	args := slices.Clone(ex.Args[1:])
	results := ""
	for i, a := range args {
		switch {
		case i > 0 && args[i-1] == "--results":
			results = filepath.Join(dir, "results.json")
			args[i] = results
		case ex.Files[a] != "":
			p := filepath.Join(dir, filepath.Base(a))
			if err := os.WriteFile(p, []byte(ex.Files[a]), 0o644); err != nil {
				t.Fatal(err)
			}
			args[i] = p
		case i == len(args)-1:
			args[i] = filepath.Join(dir, a)
		}
	}
	var stdout, stderr bytes.Buffer
	code := deploycli.Main(context.Background(), args, &stdout, &stderr, []string{"PREFECT_API_URL=" + apiURL})
	res := fakedagger.ExecResult{ExitCode: code, Stdout: stdout.String(), Stderr: stderr.String()}
	if results != "" {
		if data, err := os.ReadFile(results); err == nil {
			res.Files = map[string]string{ResultsPath: string(data)}
		}
	}
	return res
}

// The ECS settings and the AWS keys reach the deployments of a Prefect 3 file's ecs
// pools through the pipeline (testdata/ecs3/cases.json), the fake engine running the
// real prefect-deploy against the fake Prefect 3 API: with keys, the register step saves
// the aws-credentials/<env> block from the keys as secret variables of that one exec,
// and the deployment's aws_credentials names its fields by Prefect's block placeholders;
// without, no block and the region alone. The secret key is in no argv, no log line, no request to the API and no
// job variable, and the verify step's read-back (given the same settings) finds no drift.
func TestPrefect3ECSSettings(t *testing.T) {
	raw, err := os.ReadFile("testdata/ecs3/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name, Register, Log string
		Vars                map[string]string
		ECSPool             map[string]any `json:"ecs_pool"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			api := prefect3test.New(t)
			play := handler3(nil)
			srv := fakedagger.Start(t, fakedagger.WithHandler(func(ex fakedagger.Exec) fakedagger.ExecResult {
				a := ex.Args
				switch {
				case isCredentials(a):
					if res, ok := programMissing(ex, CredentialsProgram); !ok {
						return res
					}
					// What aws_credentials.py does in the image: AwsCredentials(...).save(name).
					id, _ := ex.SecretPlaintext("AWS_ACCESS_KEY_ID")
					secret, _ := ex.SecretPlaintext("AWS_SECRET_ACCESS_KEY")
					if id == "" || secret == "" || ex.Env["AWS_SECRET_ACCESS_KEY"] != "" {
						return fakedagger.ExecResult{ExitCode: 1, Stderr: "aws-credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set\n"}
					}
					api.AddBlockDocument(desired.CredentialsBlockType, a[len(a)-1], map[string]any{
						"aws_access_key_id": id, "aws_secret_access_key": secret, "region_name": ex.Env["AWS_REGION"]}, "aws_secret_access_key")
					return fakedagger.ExecResult{Stdout: "saved aws-credentials/" + a[len(a)-1] + " (region " + ex.Env["AWS_REGION"] + ")\n"}
				case isAPIApply(a), isPools(a), isTool("read-back")(a), isTool("prune")(a):
					return realPrefectDeploy(t, ex, api.URL)
				}
				return play(ex)
			}))
			// process-pool is created as a process pool; ecs-pool (the fake's recorded one)
			// is an ecs pool: a file served by workers of both types.
			vars := withVar(withVar(remote3, "PREFECT_POOL_TYPE", "process"), "PREFECT_POOL_ANY_TYPE", "1")
			for k, v := range tc.Vars {
				vars = withVar(vars, k, v)
			}
			var out bytes.Buffer
			rep, err := Run(context.Background(), connect(t, srv), p3Options(t, &out, vars))
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			if got := stepStatus(rep, "register"); string(got) != tc.Register {
				t.Errorf("register %s, want %s", got, tc.Register)
			}
			if !strings.Contains(out.String(), tc.Log) {
				t.Errorf("log lacks %q:\n%s", tc.Log, out.String())
			}
			if s := stepStatus(rep, "verify"); s != StepOK {
				t.Errorf("verify %s: the read-back must compare the job variables the deploy wrote\n%s", s, out.String())
			}

			want := maps.Clone(tc.ECSPool)
			want["image"] = rep.ImageRef
			d, ok := api.Deployment("hello", "hello-p3-ecs")
			if !ok {
				t.Fatalf("hello-p3-ecs not deployed:\n%s", out.String())
			}
			gotJV, _ := json.Marshal(d["job_variables"])
			wantJV, _ := json.Marshal(want)
			if string(gotJV) != string(wantJV) {
				t.Errorf("ecs-pool job_variables\n got %s\nwant %s", gotJV, wantJV)
			}
			d, _ = api.Deployment("hello", "hello-p3")
			if jv, _ := json.Marshal(d["job_variables"]); string(jv) != `{"image":"`+rep.ImageRef+`"}` {
				t.Errorf("process pool: job_variables %s, want the image only", jv)
			}

			secret := tc.Vars["AWS_SECRET_ACCESS_KEY"]
			creds := execsWith(srv, isCredentials)
			if (secret != "") != (len(creds) == 1) {
				t.Fatalf("%d aws-credentials exec(s) with keys %v", len(creds), secret != "")
			}
			for _, ex := range execsWith(srv, func([]string) bool { return true }) {
				_, hasKey := ex.Secrets["AWS_SECRET_ACCESS_KEY"]
				if hasKey != isCredentials(ex.Args) {
					t.Errorf("%q: AWS keys as secret variables %v: only the aws-credentials exec has them", ex.Args, hasKey)
				}
				if secret == "" {
					continue
				}
				if strings.Contains(strings.Join(ex.Args, " "), secret) {
					t.Errorf("%q: the secret key in the argv", ex.Args)
				}
				for k, v := range ex.Env {
					if strings.Contains(v, secret) {
						t.Errorf("%q: the secret key in the plain variable %s", ex.Args, k)
					}
				}
			}
			if secret == "" {
				return
			}
			if strings.Contains(out.String(), secret) {
				t.Error("the secret key in the log")
			}
			for _, r := range api.Requests() {
				if strings.Contains(string(r.Body)+r.Query, secret) {
					t.Errorf("the secret key in %s %s", r.Method, r.Path)
				}
			}
			if strings.Contains(string(gotJV), secret) || strings.Contains(string(gotJV), tc.Vars["AWS_ACCESS_KEY_ID"]) {
				t.Errorf("an AWS key in the job variables: %s", gotJV)
			}
		})
	}
}
