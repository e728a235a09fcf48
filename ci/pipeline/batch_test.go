package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/internal/fakedagger"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/prefectcli/batch"
)

// isBatch matches the exec of one batch share: python -u runner.py --jobs FILE.
func isBatch(a []string) bool {
	return len(a) == 5 && slices.Equal(a[:4], BatchArgs("")[:4])
}

type wireJob struct {
	ID   string   `json:"id"`
	Argv []string `json:"argv"`
}

// jobsOf decodes the jobs file a batch exec runs on, from the files of its container.
func jobsOf(ex fakedagger.Exec) ([]wireJob, error) {
	data, ok := ex.Files[ex.Args[4]]
	if !ok {
		return nil, fmt.Errorf("no jobs file %s in the container", ex.Args[4])
	}
	var jobs []wireJob
	sc := bufio.NewScanner(strings.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var j wireJob
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
			return nil, fmt.Errorf("jobs file line %q: %w", sc.Text(), err)
		}
		jobs = append(jobs, j)
	}
	return jobs, sc.Err()
}

// playRunner plays runner.py --jobs FILE as the protocol says (ci/prefectcli/batch): a
// ready line, then one result line per job, each job played by per as the `prefect`
// argv it stands for, in the same container. fail["crash:"+name] kills the runner when
// it reaches that job (exit 3, nothing written for it); fail["cut:"+name] kills it
// while it writes that job's result line (the line is cut short, exit 137);
// fail["no-prefect"] is an image whose python cannot import Prefect.
func playRunner(ex fakedagger.Exec, per fakedagger.ExecHandler, fail map[string]bool) fakedagger.ExecResult {
	if res, ok := programMissing(ex, batch.Program); !ok {
		return res
	}
	jobs, err := jobsOf(ex)
	if err != nil {
		return fakedagger.ExecResult{ExitCode: 2, Stderr: err.Error()}
	}
	if fail["no-prefect"] {
		return fakedagger.ExecResult{ExitCode: 3, Stdout: `{"ready": false, "error": "Traceback (most recent call last):\nModuleNotFoundError: No module named 'prefect'\n"}` + "\n"}
	}
	var out strings.Builder
	out.WriteString(`{"ready": true, "pid": 7, "python": "3.11.7"}` + "\n")
	for _, j := range jobs {
		name := argAfter(j.Argv, "-n")
		if fail["crash:"+name] {
			return fakedagger.ExecResult{ExitCode: 3, Stdout: out.String(), Stderr: "Fatal Python error: Segmentation fault\n"}
		}
		sub := ex
		sub.Args = append([]string{"prefect"}, j.Argv...)
		r := per(sub)
		line, _ := json.Marshal(map[string]any{"id": j.ID, "exit_code": r.ExitCode, "stdout": r.Stdout, "stderr": r.Stderr, "seconds": 0.4})
		if fail["cut:"+name] {
			out.Write(line[:len(line)/2])
			return fakedagger.ExecResult{ExitCode: 137, Stdout: out.String()}
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return fakedagger.ExecResult{Stdout: out.String()}
}

// deployArgvs is the `prefect` argv of every deployment build that ran, whichever
// runner ran it: a `prefect deployment build` exec, or a job in a batch share's jobs
// file (as the argv the CLI runner would have run).
func deployArgvs(t *testing.T, srv *fakedagger.Server) [][]string {
	t.Helper()
	var out [][]string
	for _, r := range srv.Execs() {
		switch a := r.Exec.Args; {
		case isDeploy(a):
			out = append(out, a)
		case isBatch(a):
			jobs, err := jobsOf(r.Exec)
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range jobs {
				out = append(out, append([]string{"prefect"}, j.Argv...))
			}
		}
	}
	return out
}

func deployNames(t *testing.T, srv *fakedagger.Server) []string {
	var names []string
	for _, a := range deployArgvs(t, srv) {
		names = append(names, argAfter(a, "-n"))
	}
	slices.Sort(names)
	return names
}

// devShares are the jobs of testdata/repo's dev file dealt round-robin into n shares,
// as batch.RunShares deals them.
func devShares(t *testing.T, n int) [][]prefectcli.Job {
	t.Helper()
	_, jobs, err := loadFile(repoDir(t, "repo"), "dev", testOwner)
	if err != nil {
		t.Fatal(err)
	}
	shares := make([][]prefectcli.Job, n)
	for i, j := range jobs {
		shares[i%n] = append(shares[i%n], j)
	}
	return shares
}

// TestBatchShares: the exact runner execs, runner.py and the jobs files of a dev run,
// for the default number of shares and for DEPLOY_CONCURRENCY=3.
func TestBatchShares(t *testing.T) {
	for _, tc := range []struct {
		concurrency, shares int
	}{{0, DefaultBatchShares}, {3, 3}, {9, 5}} {
		t.Run(fmt.Sprint(tc.concurrency), func(t *testing.T) {
			srv := fakedagger.Start(t, fakedagger.WithHandler(handler(nil)))
			var out bytes.Buffer
			o := devOptions(t, &out)
			o.Concurrency = tc.concurrency
			rep, err := Run(context.Background(), connect(t, srv), o)
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			execs := execsWith(srv, isBatch)
			if len(execs) != tc.shares {
				t.Fatalf("runner execs = %d, want %d", len(execs), tc.shares)
			}
			want := devShares(t, tc.shares)
			seen := map[string]bool{}
			for _, ex := range execs {
				file := ex.Args[4]
				var share int
				if _, err := fmt.Sscanf(file, "/tmp/prefect-batch/jobs-%d.jsonl", &share); err != nil || share >= tc.shares || seen[file] {
					t.Fatalf("jobs file %q: %v", file, err)
				}
				seen[file] = true
				if wantArgv := []string{"python", "-u", "/tmp/prefect-flows-ci/ci/prefectcli/batch/runner.py", "--jobs", file}; !slices.Equal(ex.Args, wantArgv) {
					t.Errorf("argv %q, want %q", ex.Args, wantArgv)
				}
				if ex.Files["/tmp/prefect-flows-ci/ci/prefectcli/batch/runner.py"] != batch.Program.Source() {
					t.Errorf("%s: runner.py is not batch.Program", file)
				}
				wantJobs, err := batch.EncodeJobs(want[share])
				if err != nil {
					t.Fatal(err)
				}
				if ex.Files[file] != string(wantJobs) {
					t.Errorf("%s:\n%s\nwant:\n%s", file, ex.Files[file], wantJobs)
				}
				if ex.Expect != "ANY" || ex.Workdir != Workdir || ex.Env["CACHEBUSTER"] != "run-1" {
					t.Errorf("%s: expect %s, workdir %s, CACHEBUSTER %q", file, ex.Expect, ex.Workdir, ex.Env["CACHEBUSTER"])
				}
			}
			if n := len(execsWith(srv, isDeploy)); n != 0 {
				t.Errorf("%d prefect execs: nothing should have needed the fallback", n)
			}
			if len(rep.Deployments) != 5 || !prefectcli.AllSucceeded(rep.Deployments) {
				t.Errorf("deployments: %+v", rep.Deployments)
			}
			log := out.String()
			for _, want := range []string{
				fmt.Sprintf("runner batch: %d runner.py exec(s) at once", tc.shares),
				"▶ etl-eu\n", "✔ etl-eu ", "5 deployment(s), 5 succeeded",
			} {
				if !strings.Contains(log, want) {
					t.Errorf("log lacks %q:\n%s", want, log)
				}
			}
			// The IDs come from the runner's captured stdout.
			for _, r := range rep.Deployments {
				if r.DeploymentID != fakeID(r.Name) {
					t.Errorf("%s: id %q, want %q", r.Name, r.DeploymentID, fakeID(r.Name))
				}
			}
		})
	}
}

// TestBatchRunnerBreaks: a share whose runner dies mid-share keeps the results it
// wrote; the job it died on runs once more in its own prefect exec, the jobs after it
// in a fresh runner exec, and the other share is not touched.
func TestBatchRunnerBreaks(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail map[string]bool
		// fallback: the deployments built by the fallback exec; rerun: the jobs of the
		// fresh runner exec after the crash.
		fallback, rerun []string
	}{
		{"crash", map[string]bool{"crash:etl-eu": true}, []string{"etl-eu"}, []string{"etl-all"}},
		{"result line cut short", map[string]bool{"cut:etl-eu": true}, []string{"etl-eu"}, []string{"etl-all"}},
		{"crash on the last job", map[string]bool{"crash:etl-all": true}, []string{"etl-all"}, nil},
		{"no prefect in the image", map[string]bool{"no-prefect": true}, []string{"etl-all", "etl-eu", "etl-us", "hello-a", "hello-b"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakedagger.Start(t, fakedagger.WithHandler(handler(tc.fail)))
			var out bytes.Buffer
			rep, err := Run(context.Background(), connect(t, srv), devOptions(t, &out))
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			for _, r := range rep.Deployments {
				if r.Status != prefectcli.StatusSucceeded || r.DeploymentID != fakeID(r.Name) {
					t.Errorf("%s: %s %q (%v)", r.Name, r.Status, r.DeploymentID, r.Err)
				}
			}
			if len(rep.Deployments) != 5 {
				t.Errorf("%d results", len(rep.Deployments))
			}
			var fallback []string
			for _, ex := range execsWith(srv, isDeploy) {
				fallback = append(fallback, argAfter(ex.Args, "-n"))
				if ex.Workdir != Workdir || ex.Env["CACHEBUSTER"] != "run-1" || len(ex.Execs) != 2 {
					t.Errorf("fallback %v: not from the registered image", ex.Args)
				}
			}
			slices.Sort(fallback)
			if !slices.Equal(fallback, tc.fallback) {
				t.Errorf("fallback execs for %v, want %v", fallback, tc.fallback)
			}
			for _, n := range tc.fallback {
				if !strings.Contains(out.String(), "! "+n+": the batch runner gave no result for it; running it once more with the prefect CLI\n") {
					t.Errorf("no warning line for %s:\n%s", n, out.String())
				}
			}
			// share 0 holds hello-a, etl-eu, etl-all; share 1 hello-b, etl-us.
			var runs [][]string
			for _, ex := range execsWith(srv, isBatch) {
				jobs, err := jobsOf(ex)
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, j := range jobs {
					names = append(names, argAfter(j.Argv, "-n"))
				}
				runs = append(runs, names)
			}
			want := [][]string{{"hello-a", "etl-eu", "etl-all"}, {"hello-b", "etl-us"}}
			if tc.rerun != nil {
				want = append(want, tc.rerun)
			}
			sortRuns := func(r [][]string) {
				slices.SortFunc(r, func(a, b []string) int { return strings.Compare(strings.Join(a, ","), strings.Join(b, ",")) })
			}
			sortRuns(runs)
			sortRuns(want)
			if fmt.Sprint(runs) != fmt.Sprint(want) {
				t.Errorf("runner execs ran %v, want %v", runs, want)
			}
		})
	}
}

// TestBatchSecrets: the runner execs and a fallback exec get the Prefect URL and key
// as secret variables only; no plaintext in a file, an argv or the log.
func TestBatchSecrets(t *testing.T) {
	srv := fakedagger.Start(t, fakedagger.WithHandler(handler(map[string]bool{"crash:hello-prod": true})))
	c := connect(t, srv)
	var out bytes.Buffer
	rep, err := Run(context.Background(), c, prodOptions(t, c, &out))
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	execs := execsWith(srv, func(a []string) bool { return isBatch(a) || isDeploy(a) })
	if len(execsWith(srv, isBatch)) == 0 || len(execsWith(srv, isDeploy)) != 1 {
		t.Fatalf("want runner execs and one fallback exec: %v", execs)
	}
	for _, ex := range execs {
		for env, name := range map[string]string{"PREFECT_API_URL": "prefect-api-url", "PREFECT_API_KEY": "prefect-api-key"} {
			if ex.Secrets[env] != name {
				t.Errorf("%v: %s = secret %q, want %q", ex.Args, env, ex.Secrets[env], name)
			}
		}
		for path, content := range ex.Files {
			if strings.Contains(content, secretKey) || strings.Contains(content, secretURL) {
				t.Errorf("%s holds a secret", path)
			}
		}
	}
	if leaks := srv.SecretLeaks(); len(leaks) != 0 {
		t.Errorf("secret plaintext leaked: %v", leaks)
	}
	if strings.Contains(out.String(), secretKey) || strings.Contains(out.String(), secretURL) {
		t.Errorf("secret in the log")
	}
	if !prefectcli.AllSucceeded(rep.Deployments) {
		t.Errorf("deployments: %+v", rep.Deployments)
	}
}

// TestBatchInterrupt: an interrupt while the shares run reports their deployments as
// cancelled and sends none of them to the fallback.
func TestBatchInterrupt(t *testing.T) {
	arrived := make(chan struct{}, 2)
	release := make(chan struct{})
	h := handler(nil)
	srv := fakedagger.Start(t, fakedagger.WithHandler(func(ex fakedagger.Exec) fakedagger.ExecResult {
		if isBatch(ex.Args) {
			arrived <- struct{}{}
			<-release
		}
		return h(ex)
	}))
	t.Cleanup(func() { close(release) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-arrived
		<-arrived
		cancel()
	}()
	var out bytes.Buffer
	rep, err := Run(ctx, connect(t, srv), devOptions(t, &out))
	if err == nil {
		t.Fatalf("Run succeeded after an interrupt:\n%s", out.String())
	}
	if len(rep.Deployments) != 5 {
		t.Fatalf("%d results, want 5", len(rep.Deployments))
	}
	for _, r := range rep.Deployments {
		if r.Status != prefectcli.StatusCancelled {
			t.Errorf("%s = %s, want cancelled", r.Name, r.Status)
		}
	}
	if n := len(execsWith(srv, isDeploy)); n != 0 {
		t.Errorf("%d fallback execs after an interrupt", n)
	}
}
