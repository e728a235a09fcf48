package deploycli_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/ownership"
	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/schedule"
)

// The opt-in end-to-end tests against a REAL Prefect server and CLI. They run only when
// PREFECT_E2E_API_URL names a throwaway server and a prefect executable is found; they
// create deployments there and delete them again.
const (
	envE2EURL     = "PREFECT_E2E_API_URL"
	envE2EPrefect = "PREFECT_E2E_PREFECT"
	envE2EPython  = "PREFECT_E2E_PYTHON"
)

// realPrefect is one run against a real server: a copy of testdata/realprefect, the
// prefect executable, the environment handed to the CLI, and a per-run name prefix.
type realPrefect struct {
	apiURL  string
	prefect string
	python  string // "" unless PREFECT_E2E_PYTHON is set: the CLI then finds it itself
	env     []string
	dir     string
	run     string // per-run token, lower-case hex
	api     *prefectapi.Client
}

// realConfig decides from the environment whether a real Prefect is configured: the
// API URL and the prefect executable, or why the test must skip (skip != ""), or an error
// when the configuration points at something that is not there.
func realConfig(getenv func(string) string, lookPath func(string) (string, error)) (apiURL, prefectBin, skip string, err error) {
	apiURL = getenv(envE2EURL)
	if apiURL == "" {
		return "", "", fmt.Sprintf("%s is not set: this test needs a THROWAWAY Prefect 2.14 server (`prefect server start`, then %s=http://127.0.0.1:4200/api) and the prefect CLI; it creates and deletes deployments there, so never point it at a server you care about", envE2EURL, envE2EURL), nil
	}
	if prefectBin = getenv(envE2EPrefect); prefectBin != "" {
		p, err := lookPath(prefectBin)
		if err != nil {
			return "", "", "", fmt.Errorf("%s=%s: %w", envE2EPrefect, prefectBin, err)
		}
		return apiURL, p, "", nil
	}
	p, err := lookPath("prefect")
	if err != nil {
		return "", "", fmt.Sprintf("%s is set but no prefect executable is on PATH: install Prefect 2.14 or set %s to its prefect script", envE2EURL, envE2EPrefect), nil
	}
	return apiURL, p, "", nil
}

// findRealPrefect skips the test unless a real Prefect is configured, and fails it when
// the configuration points at something that is not there or the server does not answer.
func findRealPrefect(t *testing.T) *realPrefect {
	t.Helper()
	apiURL, prefectBin, skip, err := realConfig(os.Getenv, exec.LookPath)
	require.NoError(t, err)
	if skip != "" {
		t.Skip(skip)
	}
	api, err := prefectapi.New(apiURL, "")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, api.Health(ctx), "%s is set, so the server must answer", envE2EURL)

	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		// The key of some other workspace must not travel to the throwaway server, and
		// a CI step summary is not this test's to write.
		case "PREFECT_API_URL", "PREFECT_API_KEY", "GITHUB_STEP_SUMMARY":
			continue
		}
		env = append(env, kv)
	}
	// An empty key also overrides one that the active Prefect profile may hold.
	env = append(env, "PREFECT_API_URL="+apiURL, "PREFECT_API_KEY=")
	// The owner is fixed, not taken from this machine's GITHUB_REPOSITORY or git remote.
	env = append(env, "PREFECT_OWNER="+realOwner, "GITHUB_REPOSITORY=")

	b := make([]byte, 4)
	_, err = rand.Read(b)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "realprefect"))))
	return &realPrefect{apiURL: apiURL, prefect: prefectBin, python: os.Getenv(envE2EPython), env: env, dir: dir, run: hex.EncodeToString(b), api: api}
}

// pythonForBlocks is the interpreter that has Prefect: PREFECT_E2E_PYTHON, else the one
// the prefect script names (as the batch runner picks it).
func (r *realPrefect) pythonForBlocks() string {
	if r.python != "" {
		return r.python
	}
	return deploycli.PythonFor(r.prefect)
}

// cmd runs an executable in the repo copy with the test's environment.
func (r *realPrefect) cmd(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, name, args...)
	c.Dir, c.Env = r.dir, r.env
	out, err := c.CombinedOutput()
	require.NoError(t, err, "%s %q:\n%s", name, args, out)
	return string(out)
}

// cli runs prefect-deploy in process and logs what it printed.
func (r *realPrefect) cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := deploycli.Main(ctx, args, &stdout, &stderr, r.env)
	t.Logf("prefect-deploy %s → exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	return code, stdout.String(), stderr.String()
}

// set is one copy of the deployments file under its own environment and names.
type set struct {
	env    string // environment, from the file name
	prefix string // replaces "RUN-" in the deployment names
	file   string
}

func (r *realPrefect) newSet(t *testing.T, kind string) set {
	s := set{env: "e2e" + r.run + kind, prefix: "e2e-" + r.run + "-" + kind + "-"}
	s.file = filepath.Join(r.dir, "prefect-deployments-"+s.env+".yaml")
	s.write(t, "prefect-deployments-e2e.yaml")
	return s
}

// write copies a testdata file over the set's file, with the set's names.
func (s set) write(t *testing.T, testdataFile string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "realprefect", testdataFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(s.file, []byte(strings.ReplaceAll(string(b), "RUN-", s.prefix)), 0o644))
}

// realOwner owns the deployments of TestRealPrefect.
const realOwner = "e2e-owner"

func (s set) marker() string { return ownership.MarkerPrefix + realOwner + ":" + s.env }

// e2eDeployment is one deployment of testdata/realprefect/prefect-deployments-e2e.yaml.
type e2eDeployment struct{ flow, base string }

var e2eDeployments = []e2eDeployment{{"hello", "cron"}, {"hello", "interval"}, {"hello", "rrule"}, {"echo", "manual"}}

// hostileParams are the parameters of RUN-manual, written out independently of the
// YAML: what the server must hold, byte for byte.
var hostileParams = map[string]any{
	"quotes":    `it's "quoted"`,
	"dollar":    "$HOME ${PATH} $(id)",
	"backtick":  "`id`",
	"newline":   "line one\nline two\n",
	"unicode":   "ünïcödé 🚀 ✓ \u2028",
	"backslash": `C:\temp\new`,
	"nested":    map[string]any{"list": []any{"-n", "--cron", "-o x.yml"}, "number": 1.5, "int": 7.0, "null": nil, "bool": true},
}

func (r *realPrefect) read(t *testing.T, flow, name string) *prefectapi.Deployment {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := r.api.ReadDeploymentByName(ctx, flow, name)
	require.NoError(t, err, "%s/%s", flow, name)
	return d
}

func (r *realPrefect) exists(t *testing.T, flow, name string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := r.api.ReadDeploymentByName(ctx, flow, name)
	if errors.Is(err, prefectapi.ErrNotFound) {
		return false
	}
	require.NoError(t, err, "%s/%s", flow, name)
	return true
}

// readRaw is GET /deployments/name/{flow}/{name} as the server sent it, for the fields
// prefectapi.Deployment does not decode (parameter_openapi_schema).
func (r *realPrefect) readRaw(t *testing.T, flow, name string) map[string]json.RawMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	u := strings.TrimRight(r.apiURL, "/") + "/deployments/name/" + url.PathEscape(flow) + "/" + url.PathEscape(name)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s", u)
	var out map[string]json.RawMessage
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

// deleteRun deletes every deployment whose name carries this run's token.
func (r *realPrefect) deleteRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	all, err := r.api.ListDeployments(ctx, prefectapi.DeploymentFilter{})
	if err != nil {
		t.Errorf("cleanup: list deployments: %v (delete the deployments named e2e-%s-* by hand)", err, r.run)
		return
	}
	for _, d := range all {
		if !strings.HasPrefix(d.Name, "e2e-"+r.run+"-") {
			continue
		}
		if err := r.api.DeleteDeployment(ctx, d.ID); err != nil && !errors.Is(err, prefectapi.ErrNotFound) {
			t.Errorf("cleanup: delete %s: %v", d.Name, err)
		}
	}
}

// withoutMarkers drops the ownership tags: two sets differ only there.
func withoutMarkers(tags []string) []string {
	out := []string{}
	for _, tag := range tags {
		if !strings.HasPrefix(tag, ownership.MarkerPrefix) {
			out = append(out, tag)
		}
	}
	return out
}

// TestRealPrefect applies testdata/realprefect to a real Prefect server with the real
// CLI: the CLI runner's argv, the marker and the live comparison agree with the server;
// the batch runner builds the same deployments field by field; a changed file with
// --prune converges; hostile parameters survive byte for byte.
func TestRealPrefect(t *testing.T) {
	r := findRealPrefect(t)
	t.Logf("run %s against %s with %s (deployments e2e-%s-*)", r.run, r.api.Host(), r.prefect, r.run)
	t.Cleanup(func() { r.deleteRun(t) })

	// The block every deployment of the file names; saving it again is harmless to a
	// parallel run (same name, same content), so it is shared and never deleted.
	r.cmd(t, r.pythonForBlocks(), "-c", "from prefect.infrastructure import Process; Process().save('e2e', overwrite=True)")

	cliSet := r.newSet(t, "c")
	batchSet := r.newSet(t, "b")

	cliOK := t.Run("cli apply then live plan has no changes", func(t *testing.T) {
		code, stdout, stderr := r.cli(t, "apply", "--runner", "cli", "--prefect", r.prefect, cliSet.file)
		require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		assert.Contains(t, stdout, "4 deployment(s), 4 succeeded")
		assert.Contains(t, stdout, "Read back 4 deployment(s): ")
		assert.Contains(t, stdout, ", 0 drifted.")

		code, stdout, stderr = r.cli(t, "plan", "--detailed-exitcode", cliSet.file)
		assert.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		assert.Contains(t, stdout, "No changes: the server matches the file.")

		// The server holds what the file says, checked here without liveplan.
		cron := r.read(t, "hello", cliSet.prefix+"cron")
		if assert.NotNil(t, cron.Schedule) {
			assert.Equal(t, schedule.Cron, cron.Schedule.Kind)
			assert.Equal(t, "0 6 * * 1-5", cron.Schedule.Cron)
			assert.Equal(t, "Europe/Berlin", cron.Schedule.Timezone)
		}
		assert.Equal(t, []string{"e2e", "cron", cliSet.marker()}, cron.Tags)
		assert.Equal(t, "1.2.3", cron.Version)
		assert.Equal(t, "e2e: cron with a timezone", cron.Description)
		assert.Equal(t, map[string]any{"number": 7.0}, cron.Parameters)
		assert.Equal(t, "flows/hello.py:hello", cron.Entrypoint)

		interval := r.read(t, "hello", cliSet.prefix+"interval")
		if assert.NotNil(t, interval.Schedule) {
			assert.Equal(t, schedule.Interval, interval.Schedule.Kind)
			assert.Equal(t, int64(5400), interval.Schedule.IntervalSeconds)
			assert.True(t, interval.Schedule.Anchor.Time.Equal(time.Date(2040, 2, 2, 0, 0, 0, 0, time.UTC)), "anchor %s", interval.Schedule.Anchor.Text)
		}
		rrule := r.read(t, "hello", cliSet.prefix+"rrule")
		if assert.NotNil(t, rrule.Schedule) {
			assert.Equal(t, schedule.RRule, rrule.Schedule.Kind)
			assert.Contains(t, rrule.Schedule.RRule, "FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9")
			assert.Equal(t, "Europe/Berlin", rrule.Schedule.Timezone)
		}
		manual := r.read(t, "echo", cliSet.prefix+"manual")
		assert.Nil(t, manual.Schedule)
		for _, d := range []*prefectapi.Deployment{cron, interval, rrule, manual} {
			assert.Equal(t, "default-agent-pool", d.WorkPoolName, d.Name)
			assert.Equal(t, "default", d.WorkQueueName, d.Name)
			if d.Schedule != nil {
				assert.True(t, d.ScheduleActive, d.Name)
			}
		}
	})

	batchOK := t.Run("batch apply builds what cli builds", func(t *testing.T) {
		if !cliOK {
			t.Skip("needs the deployments of the cli subtest, which failed")
		}
		args := []string{"apply", "--runner", "batch", "--prefect", r.prefect}
		if r.python != "" {
			args = append(args, "--python", r.python)
		}
		code, stdout, stderr := r.cli(t, append(args, batchSet.file)...)
		require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		// Without these the comparison below could be between two CLI builds.
		assert.Contains(t, stdout, ", runner batch (python ")
		assert.NotContains(t, stderr, "with the prefect CLI", "a build fell back to the CLI")
		assert.Contains(t, stdout, "4 deployment(s), 4 succeeded")
		assert.Contains(t, stdout, ", 0 drifted.")

		code, stdout, stderr = r.cli(t, "plan", "--detailed-exitcode", batchSet.file)
		assert.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		assert.Contains(t, stdout, "No changes: the server matches the file.")

		r.sameDeployments(t, cliSet, batchSet)
	})

	apiSet := r.newSet(t, "a")
	apiOK := t.Run("api apply builds what cli builds", func(t *testing.T) {
		if !cliOK {
			t.Skip("needs the deployments of the cli subtest, which failed")
		}
		code, stdout, stderr := r.cli(t, append(r.apiArgs(), apiSet.file)...)
		require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		assert.Contains(t, stdout, ", runner api (python ")
		assert.Contains(t, stdout, "4 deployment(s), 4 succeeded")
		assert.Contains(t, stdout, "Read back 4 deployment(s): 0 patched, 0 drifted.")

		code, stdout, stderr = r.cli(t, "plan", "--live", "--detailed-exitcode", apiSet.file)
		assert.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		assert.Contains(t, stdout, "No changes: the server matches the file.")
		r.sameDeployments(t, cliSet, apiSet)
	})

	t.Run("hostile parameters read back byte for byte", func(t *testing.T) {
		if !cliOK {
			t.Skip("needs the deployments of the cli subtest, which failed")
		}
		sets := []set{cliSet}
		if batchOK {
			sets = append(sets, batchSet)
		}
		if apiOK {
			sets = append(sets, apiSet)
		}
		for _, s := range sets {
			got := r.read(t, "echo", s.prefix+"manual").Parameters
			assert.Equal(t, hostileParams, got, s.env)
			for k, want := range hostileParams {
				if ws, ok := want.(string); ok {
					gs, _ := got[k].(string)
					assert.Equal(t, []byte(ws), []byte(gs), "%s: %s", s.env, k)
				}
			}
		}
	})

	t.Run("changed file with prune converges", func(t *testing.T) {
		if !cliOK {
			t.Skip("needs the deployments of the cli subtest, which failed")
		}
		// A deployment made by hand, without the marker: prune must never touch it.
		handmade := "e2e-" + r.run + "-handmade"
		r.cmd(t, r.prefect, "deployment", "build", "flows/hello.py:hello", "-n", handmade, "-a", "--skip-upload",
			"-ib", "process/e2e", "-o", filepath.Join(t.TempDir(), "handmade.yaml"))
		require.True(t, r.exists(t, "hello", handmade))

		cliSet.write(t, "prefect-deployments-e2e-changed.yaml")
		code, stdout, stderr := r.cli(t, "apply", "--runner", "cli", "--prefect", r.prefect, "--prune", "--yes", cliSet.file)
		require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		assert.Contains(t, stdout, "3 deployment(s), 3 succeeded")
		assert.Contains(t, stdout, "Read back 3 deployment(s): ")
		assert.Contains(t, stdout, ", 0 drifted.")
		assert.Contains(t, stdout, "Prune will delete 1 deployment(s)")
		assert.Contains(t, stdout, "  - deleted  hello/"+cliSet.prefix+"rrule\n")
		assert.NotContains(t, stdout, handmade)

		assert.False(t, r.exists(t, "hello", cliSet.prefix+"rrule"), "the dropped deployment is gone")
		assert.Nil(t, r.read(t, "hello", cliSet.prefix+"interval").Schedule, "--no-schedule cleared the schedule")
		assert.Equal(t, []string{"e2e", cliSet.marker()}, r.read(t, "hello", cliSet.prefix+"cron").Tags, "the removed tag is gone")
		assert.True(t, r.exists(t, "hello", handmade), "the unmarked deployment survives")
		if batchOK {
			for _, e := range e2eDeployments {
				assert.True(t, r.exists(t, e.flow, batchSet.prefix+e.base), "another environment's %s survives", e.base)
			}
		}

		code, stdout, stderr = r.cli(t, "plan", "--detailed-exitcode", cliSet.file)
		assert.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		assert.Contains(t, stdout, "No changes: the server matches the file.")
	})

	t.Run("api: changed file with prune converges in one write each", func(t *testing.T) {
		if !apiOK {
			t.Skip("needs the deployments of the api subtest, which failed")
		}
		apiSet.write(t, "prefect-deployments-e2e-changed.yaml")
		code, stdout, stderr := r.cli(t, append(r.apiArgs(), "--prune", "--yes", apiSet.file)...)
		require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		assert.Contains(t, stdout, "3 deployment(s), 3 succeeded")
		// The CLI keeps what its options leave out and needs the read-back's PATCH; the
		// api runner's complete body leaves nothing to patch.
		assert.Contains(t, stdout, "Read back 3 deployment(s): 0 patched, 0 drifted.")
		assert.Contains(t, stdout, "  - deleted  hello/"+apiSet.prefix+"rrule\n")
		assert.Nil(t, r.read(t, "hello", apiSet.prefix+"interval").Schedule, "the schedule is gone")
		assert.Equal(t, []string{"e2e", apiSet.marker()}, r.read(t, "hello", apiSet.prefix+"cron").Tags, "the removed tag is gone")
		if cliOK {
			for _, e := range e2eDeployments[:2] {
				c, a := r.read(t, e.flow, cliSet.prefix+e.base), r.read(t, e.flow, apiSet.prefix+e.base)
				assert.Equal(t, c.Schedule, a.Schedule, e.base)
				assert.Equal(t, c.Parameters, a.Parameters, e.base)
				assert.Equal(t, withoutMarkers(c.Tags), withoutMarkers(a.Tags), e.base)
				assert.Equal(t, c.Version, a.Version, e.base)
			}
		}
		code, stdout, stderr = r.cli(t, "plan", "--live", "--detailed-exitcode", apiSet.file)
		assert.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		assert.Contains(t, stdout, "No changes: the server matches the file.")
	})
}

// apiArgs are apply's flags for the api runner: the Python that has Prefect.
func (r *realPrefect) apiArgs() []string {
	return []string{"apply", "--runner", "api", "--prefect", r.prefect, "--python", r.pythonForBlocks()}
}

// sameDeployments compares every deployment of two sets field by field (ids, the
// ownership marker and timestamps aside), the stored parameter schema included.
func (r *realPrefect) sameDeployments(t *testing.T, cliSet, other set) {
	t.Helper()
	for _, e := range e2eDeployments {
		t.Run(e.base, func(t *testing.T) {
			c := r.read(t, e.flow, cliSet.prefix+e.base)
			b := r.read(t, e.flow, other.prefix+e.base)
			assert.NotEqual(t, c.ID, b.ID)
			assert.Equal(t, c.FlowID, b.FlowID, "flow")
			assert.Equal(t, c.Schedule, b.Schedule, "schedule")
			assert.Equal(t, c.ScheduleCount, b.ScheduleCount, "schedule count")
			assert.Equal(t, c.ScheduleActive, b.ScheduleActive, "schedule active")
			assert.Equal(t, c.Parameters, b.Parameters, "parameters")
			assert.Equal(t, withoutMarkers(c.Tags), withoutMarkers(b.Tags), "tags")
			if assert.NotEmpty(t, c.Tags) && assert.NotEmpty(t, b.Tags) {
				assert.Equal(t, cliSet.marker(), c.Tags[len(c.Tags)-1], "cli marker")
				assert.Equal(t, other.marker(), b.Tags[len(b.Tags)-1], "other marker")
			}
			assert.Equal(t, c.Version, b.Version, "version")
			assert.Equal(t, c.Description, b.Description, "description")
			assert.Equal(t, c.WorkPoolName, b.WorkPoolName, "pool")
			assert.Equal(t, c.WorkQueueName, b.WorkQueueName, "queue")
			assert.Equal(t, c.Entrypoint, b.Entrypoint, "entrypoint")
			assert.Equal(t, c.Path, b.Path, "path")
			assert.NotEmpty(t, c.InfrastructureDocumentID)
			assert.Equal(t, c.InfrastructureDocumentID, b.InfrastructureDocumentID, "infrastructure document")
			assert.Equal(t, c.InfraOverrides, b.InfraOverrides, "infra overrides")

			cr, br := r.readRaw(t, e.flow, c.Name), r.readRaw(t, e.flow, b.Name)
			for _, k := range []string{"parameter_openapi_schema", "enforce_parameter_schema", "pull_steps", "manifest_path", "storage_document_id"} {
				var cv, bv any
				require.NoError(t, json.Unmarshal(cr[k], &cv), k)
				require.NoError(t, json.Unmarshal(br[k], &bv), k)
				assert.Equal(t, cv, bv, k)
			}
			var cs any
			require.NoError(t, json.Unmarshal(cr["parameter_openapi_schema"], &cs))
			assert.NotNil(t, cs, "the build stored the flow's parameter schema")
		})
	}
}

// TestRealPrefectConfig keeps the detection honest where no real Prefect exists: the
// skip reasons name the variables and warn about throwaway servers, and a
// PREFECT_E2E_PREFECT that is not there fails instead of skipping.
func TestRealPrefectConfig(t *testing.T) {
	found := func(p string) (string, error) { return "/opt/venv/bin/" + filepath.Base(p), nil }
	missing := func(p string) (string, error) { return "", exec.ErrNotFound }
	for _, tc := range []struct {
		name        string
		env         map[string]string
		look        func(string) (string, error)
		wantPrefect string
		wantSkip    []string
		wantErr     string
	}{
		{"nothing set", nil, found, "", []string{envE2EURL + " is not set", "THROWAWAY", "deletes deployments"}, ""},
		{"no prefect", map[string]string{envE2EURL: "http://127.0.0.1:4200/api"}, missing, "", []string{"no prefect executable is on PATH", envE2EPrefect}, ""},
		{"prefect on PATH", map[string]string{envE2EURL: "http://127.0.0.1:4200/api"}, found, "/opt/venv/bin/prefect", nil, ""},
		{"prefect named", map[string]string{envE2EURL: "http://127.0.0.1:4200/api", envE2EPrefect: "/x/prefect2"}, found, "/opt/venv/bin/prefect2", nil, ""},
		{"prefect named but missing", map[string]string{envE2EURL: "http://127.0.0.1:4200/api", envE2EPrefect: "/x/prefect2"}, missing, "", nil, envE2EPrefect + "=/x/prefect2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, prefectBin, skip, err := realConfig(func(k string) string { return tc.env[k] }, tc.look)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			for _, w := range tc.wantSkip {
				assert.Contains(t, skip, w)
			}
			if tc.wantSkip == nil {
				assert.Empty(t, skip)
				assert.Equal(t, tc.env[envE2EURL], url)
				assert.Equal(t, tc.wantPrefect, prefectBin)
			}
		})
	}
}

// TestRealPrefectOwners: two repositories (owners a and b) share a real server and an
// environment name. Neither prune touches the other's deployments; a deployment with
// the legacy tag is adopted when the file lists it and deleted only with --prune-legacy;
// a schedule paused by hand stays paused through apply and the read-back.
func TestRealPrefectOwners(t *testing.T) {
	r := findRealPrefect(t)
	t.Cleanup(func() { r.deleteRun(t) })
	r.cmd(t, r.pythonForBlocks(), "-c", "from prefect.infrastructure import Process; Process().save('e2e', overwrite=True)")

	env := "e2e" + r.run + "own"
	type repo struct{ owner, prefix, file string }
	newRepo := func(owner string) repo {
		dir := t.TempDir()
		require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "realprefect"))))
		return repo{owner, "e2e-" + r.run + "-" + owner + "-", filepath.Join(dir, "prefect-deployments-"+env+".yaml")}
	}
	write := func(rp repo, testdataFile string) {
		s := set{env: env, prefix: rp.prefix, file: rp.file}
		s.write(t, testdataFile)
	}
	cli := func(rp repo, args ...string) (int, string, string) {
		head := []string{args[0], "--owner", rp.owner}
		if args[0] == "apply" {
			head = append(head, "--prefect", r.prefect)
		}
		return r.cli(t, append(append(head, args[1:]...), rp.file)...)
	}
	a, b := newRepo("a"), newRepo("b")
	write(a, "prefect-deployments-owners.yaml")
	write(b, "prefect-deployments-owners.yaml")

	// Made before owners existed: the tag every copy of the repository used.
	legacy := ownership.MarkerPrefix + env
	for _, name := range []string{a.prefix + "legacy", a.prefix + "legacy-gone"} {
		r.cmd(t, r.prefect, "deployment", "build", "flows/hello.py:hello", "-n", name, "-a", "--skip-upload",
			"-ib", "process/e2e", "-t", "e2e", "-t", legacy, "-o", filepath.Join(t.TempDir(), "legacy.yaml"))
	}

	for _, rp := range []repo{a, b} {
		code, stdout, stderr := cli(rp, "apply", "--prune", "--yes")
		require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		assert.Contains(t, stdout, "Owner "+rp.owner+" (from --owner): every deployment is tagged "+ownership.MarkerPrefix+rp.owner+":"+env)
		assert.Contains(t, stdout, "Prune: nothing to delete", "%s's first prune sees only its own deployments", rp.owner)
	}
	for _, n := range []string{a.prefix + "keep", a.prefix + "drop", b.prefix + "keep", b.prefix + "drop", a.prefix + "legacy", a.prefix + "legacy-gone"} {
		assert.True(t, r.exists(t, "hello", n), "%s survives the other owner's prune", n)
	}

	// Paused by hand in the UI.
	keep := r.read(t, "hello", a.prefix+"keep")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, r.api.PatchDeployment(ctx, keep.ID, map[string]any{"is_schedule_active": false}))

	// a drops RUN-drop and lists the legacy deployment.
	write(a, "prefect-deployments-owners-changed.yaml")
	code, stdout, stderr := cli(a, "plan")
	require.Equal(t, deploycli.ExitOK, code, "stderr:\n%s", stderr)
	assert.Contains(t, stdout, "Owner: a (from --owner")
	assert.Contains(t, stdout, "~ update    hello/"+a.prefix+"legacy  (carries the legacy tag "+legacy+": apply adopts it")
	assert.Contains(t, stdout, "? keep      hello/"+a.prefix+"legacy-gone")
	assert.Contains(t, stdout, "- delete    hello/"+a.prefix+"drop")
	assert.Contains(t, stdout, "note: schedule paused on the server: apply leaves it paused")
	assert.NotContains(t, stdout, b.prefix, "b's deployments are not in a's plan")

	code, stdout, stderr = cli(a, "apply", "--prune", "--yes")
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.False(t, r.exists(t, "hello", a.prefix+"drop"), "a's dropped deployment is pruned")
	assert.True(t, r.exists(t, "hello", b.prefix+"drop"), "b's deployment of the same environment survives")
	assert.True(t, r.exists(t, "hello", a.prefix+"legacy-gone"), "a legacy deployment is not pruned without --prune-legacy")
	adopted := r.read(t, "hello", a.prefix+"legacy")
	assert.ElementsMatch(t, []string{"e2e", ownership.MarkerPrefix + "a:" + env}, adopted.Tags, "adopted: the legacy tag is replaced by a's")
	assert.False(t, r.read(t, "hello", a.prefix+"keep").ScheduleActive, "the schedule paused by hand stays paused")

	code, stdout, stderr = cli(a, "apply", "--prune", "--prune-legacy", "--yes")
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stdout, "legacy tag "+legacy)
	assert.False(t, r.exists(t, "hello", a.prefix+"legacy-gone"), "--prune-legacy deletes the legacy deployment the file does not list")
	for _, n := range []string{b.prefix + "keep", b.prefix + "drop", a.prefix + "keep", a.prefix + "legacy"} {
		assert.True(t, r.exists(t, "hello", n), "%s survives", n)
	}

	// b's plan: nothing of a's, and no changes.
	code, stdout, stderr = cli(b, "plan", "--detailed-exitcode")
	assert.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.NotContains(t, stdout, a.prefix)
}

// TestRealAPIRunner22 applies 22 deployments over 3 flow files with the api runner and
// logs the time (issue 8's baseline on 2 cores: seed script 89.5 s, --runner cli 64.7 s,
// --runner batch 9.6-18 s). All 22 must read back as the file says. Then the kinds the
// main test lacks (pydantic-model parameters, an interval without anchor) are built with
// the cli runner too and compared field by field.
func TestRealAPIRunner22(t *testing.T) {
	r := findRealPrefect(t)
	t.Cleanup(func() { r.deleteRun(t) })
	r.cmd(t, r.pythonForBlocks(), "-c", "from prefect.infrastructure import Process; Process().save('e2e', overwrite=True)")

	apiSet := r.newSet(t, "a")
	apiSet.write(t, "prefect-deployments-e2e-22.yaml")
	start := time.Now()
	code, stdout, stderr := r.cli(t, append(r.apiArgs(), apiSet.file)...)
	first := time.Since(start)
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stdout, "22 deployment(s), 22 succeeded")
	assert.Contains(t, stdout, "Read back 22 deployment(s): 0 patched, 0 drifted.")

	start = time.Now()
	code, stdout, stderr = r.cli(t, append(r.apiArgs(), "--no-read-back", apiSet.file)...)
	again := time.Since(start)
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	t.Logf("api runner, 22 deployments over 3 flow files: %.1fs new (inspect + writes + read-back), %.1fs again without read-back", first.Seconds(), again.Seconds())

	cliSet := r.newSet(t, "c")
	cliSet.write(t, "prefect-deployments-e2e-22.yaml")
	code, stdout, stderr = r.cli(t, "apply", "--runner", "cli", "--prefect", r.prefect, "--only", "*-model-0[03]", "--only", "*-echo-01", cliSet.file)
	require.Equal(t, deploycli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	for _, base := range []string{"model-00", "model-03", "echo-01"} {
		t.Run(base, func(t *testing.T) {
			flow := map[bool]string{true: "load-model", false: "echo"}[strings.HasPrefix(base, "model")]
			c, a := r.read(t, flow, cliSet.prefix+base), r.read(t, flow, apiSet.prefix+base)
			if c.Schedule != nil && c.Schedule.Kind == schedule.Interval {
				// Without an anchor each build anchors at its own time.
				require.NotNil(t, a.Schedule)
				assert.False(t, a.Schedule.Anchor.IsZero())
				c.Schedule.Anchor, a.Schedule.Anchor = schedule.Anchor{}, schedule.Anchor{}
			}
			assert.Equal(t, c.Schedule, a.Schedule, "schedule")
			assert.Equal(t, c.Parameters, a.Parameters, "parameters")
			assert.Equal(t, withoutMarkers(c.Tags), withoutMarkers(a.Tags), "tags")
			assert.Equal(t, c.Version, a.Version, "version")
			assert.Equal(t, c.Description, a.Description, "description")
			assert.Equal(t, c.WorkPoolName, a.WorkPoolName, "pool")
			assert.Equal(t, c.WorkQueueName, a.WorkQueueName, "queue")
			assert.Equal(t, c.Entrypoint, a.Entrypoint, "entrypoint")
			assert.Equal(t, c.Path, a.Path, "path")
			assert.Equal(t, c.InfrastructureDocumentID, a.InfrastructureDocumentID, "infrastructure document")
			assert.Equal(t, c.InfraOverrides, a.InfraOverrides, "infra overrides")
			var cs, as any
			require.NoError(t, json.Unmarshal(r.readRaw(t, flow, c.Name)["parameter_openapi_schema"], &cs))
			require.NoError(t, json.Unmarshal(r.readRaw(t, flow, a.Name)["parameter_openapi_schema"], &as))
			assert.Equal(t, cs, as, "parameter_openapi_schema")
		})
	}
}
