package prefectcli_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/internal/fakeprefect"
	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/prefectcli/clispec"
	"github.com/acme-data/prefect-flows/ci/schedule"
	"github.com/acme-data/prefect-flows/ci/spec"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.argv")

const hostile = "it's \"quoted\" $HOME `id` $(rm -rf /) \\ back\nnew line\ttab <b>&amp; ünïcödé 🚀 ; | * ?"

func dep(name string) spec.Deployment {
	return spec.Deployment{Name: name, Entrypoint: "flows/hello.py:hello", IBBlock: "ecs-task/dev"}
}

var argvCases = []struct {
	name string
	d    spec.Deployment
}{
	{"minimal_no_schedule", dep("minimal")},
	{"cron_everything", func() spec.Deployment {
		d := dep("daily-sales")
		d.Entrypoint = "flows/etl.py:daily_sales_etl"
		d.Description = "Daily sales ETL"
		d.Parameters = map[string]any{"region": "eu", "days": int64(3), "dry_run": false, "tables": []any{"a", "b"}}
		d.Schedule = &schedule.Schedule{Kind: schedule.Cron, Cron: "0 6 * * 1-5", Timezone: "Europe/Berlin"}
		d.Tags = []string{"etl", "team data"}
		d.Version = "1.10"
		d.WorkPool = &spec.WorkPool{Name: "ecs-pool", WorkQueueName: "etl"}
		d.InfraOverrides = []spec.Override{{Key: "cpu", Value: "1024"}, {Key: "env.MODE", Value: "a=b c"}}
		return d
	}()},
	{"interval_anchor", func() spec.Deployment {
		d := dep("every-90m")
		d.Schedule = &schedule.Schedule{Kind: schedule.Interval, IntervalSeconds: 5400, Anchor: schedule.Anchor{Text: "2024-01-01T00:00:00"}, Timezone: "UTC"}
		return d
	}()},
	{"rrule", func() spec.Deployment {
		d := dep("weekly")
		d.Schedule = &schedule.Schedule{Kind: schedule.RRule, RRule: "FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9"}
		d.WorkPool = &spec.WorkPool{WorkQueueName: "only-queue"}
		return d
	}()},
	{"hostile_values", func() spec.Deployment {
		d := dep("hostile -n --cron")
		d.Description = hostile
		d.Version = "-v"
		d.Tags = []string{hostile, "--tag", "-t"}
		d.Parameters = map[string]any{
			"text": hostile, "nested": map[string]any{"<>&": []any{hostile, 1.5, 2.0, nil}},
			"zero": 0.0, "big": int64(math.MaxInt64),
		}
		d.InfraOverrides = []spec.Override{{Key: "env.X", Value: hostile}}
		return d
	}()},
}

func goldenArgv(args []string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, a := range args {
		_ = enc.Encode(a)
	}
	return b.Bytes()
}

func TestBuildArgsGolden(t *testing.T) {
	specPath, err := fakeprefect.SharedPath("prefect/cli-2.14.json")
	require.NoError(t, err)
	cli, err := clispec.Load(specPath)
	require.NoError(t, err)

	for _, c := range argvCases {
		t.Run(c.name, func(t *testing.T) {
			args, err := prefectcli.BuildArgs(c.d, "/tmp/out/"+c.name+".yaml")
			require.NoError(t, err)
			golden := filepath.Join("testdata", "golden", c.name+".argv")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
				require.NoError(t, os.WriteFile(golden, goldenArgv(args), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test -update to create it")
			assert.Equal(t, string(want), string(goldenArgv(args)))

			// The real CLI would accept it: no usage error, no pre- or post-flow failure.
			assert.Nil(t, cli.Check(args), "prefect would reject %q", args)
			inv, out := cli.Parse(args)
			require.Nil(t, out)
			b, err := clispec.AsBuild(inv)
			require.NoError(t, err)
			assert.Equal(t, c.d.Name, b.Value("--name"))
			assert.Equal(t, c.d.Entrypoint, b.Entrypoint())
			assert.Equal(t, c.d.Tags, b.Values("--tag"))
			if c.d.Schedule == nil {
				assert.True(t, b.Has("--no-schedule"))
			}
			if len(c.d.Parameters) > 0 {
				var got map[string]any
				require.NoError(t, json.Unmarshal([]byte(b.Value("--params")), &got))
				want, _ := json.Marshal(c.d.Parameters)
				var wantMap map[string]any
				require.NoError(t, json.Unmarshal(want, &wantMap))
				assert.Equal(t, wantMap, got, "parameters survive byte for byte")
			} else {
				assert.False(t, b.Has("--params"))
			}
		})
	}
}

func TestBuildArgsRejects(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(*spec.Deployment)
		output string
		want   string
	}{
		{"no name", func(d *spec.Deployment) { d.Name = "" }, "", "no name"},
		{"no function", func(d *spec.Deployment) { d.Entrypoint = "flows/hello.py" }, "", "not path/file.py:function"},
		{"dash entrypoint", func(d *spec.Deployment) { d.Entrypoint = "-x.py:f" }, "", "starts with '-'"},
		{"no block", func(d *spec.Deployment) { d.IBBlock = "" }, "", "no ib-block"},
		{"yml output", func(*spec.Deployment) {}, "/tmp/x.yml", "must end in .yaml"},
		{"two kinds", func(d *spec.Deployment) {
			d.Schedule = &schedule.Schedule{Kind: schedule.Cron, Cron: "* * * * *", IntervalSeconds: 60}
		}, "", "more than one"},
		{"empty schedule", func(d *spec.Deployment) { d.Schedule = &schedule.Schedule{Kind: schedule.Cron, Timezone: "UTC"} }, "", "none of"},
		{"negative interval", func(d *spec.Deployment) {
			d.Schedule = &schedule.Schedule{Kind: schedule.Interval, IntervalSeconds: -5}
		}, "", "positive"},
		{"anchor with cron", func(d *spec.Deployment) {
			d.Schedule = &schedule.Schedule{Kind: schedule.Cron, Cron: "* * * * *", Anchor: schedule.Anchor{Text: "2024-01-01"}}
		}, "", "without interval"},
		{"override key with =", func(d *spec.Deployment) { d.InfraOverrides = []spec.Override{{Key: "a=b", Value: "c"}} }, "", "holds '='"},
		{"NaN parameter", func(d *spec.Deployment) { d.Parameters = map[string]any{"x": math.Inf(1)} }, "", "cannot be written as JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := dep("x")
			c.edit(&d)
			out := c.output
			if out == "" {
				out = "/tmp/x.yaml"
			}
			_, err := prefectcli.BuildArgs(d, out)
			assert.ErrorContains(t, err, c.want)
		})
	}
}

func TestJobsGiveEveryDeploymentItsOwnOutput(t *testing.T) {
	f := &spec.File{Path: "p.yaml", Deployments: []spec.Deployment{dep("a/b"), dep("a_b"), dep("a b"), dep("ünï")}}
	jobs, err := prefectcli.Jobs(f, "/tmp/o")
	require.NoError(t, err)
	require.Len(t, jobs, 4)
	seen := map[string]bool{}
	for i, j := range jobs {
		assert.Equal(t, f.Deployments[i].Name, j.Name)
		out := j.Args[len(j.Args)-1]
		assert.Equal(t, "-o", j.Args[len(j.Args)-2])
		assert.True(t, strings.HasPrefix(out, "/tmp/o/"), out)
		assert.Equal(t, "/tmp/o", filepath.Dir(out), "name must not add directories")
		assert.False(t, seen[out], "duplicate output %s", out)
		seen[out] = true
	}
	assert.Equal(t, []string{"block", "register", "-m", "prefect_aws.ecs"}, prefectcli.RegisterArgs("prefect_aws.ecs"))
}

// The pipeline's argv runs in a Linux container: its output paths use '/' whatever
// the OS the argv is built on. Jobs, for a prefect on this host, uses the host's form.
func TestContainerJobsUseSlashPaths(t *testing.T) {
	f := &spec.File{Path: "p.yaml", Deployments: []spec.Deployment{dep("a"), dep("b/c")}}
	jobs, err := prefectcli.ContainerJobs(f, "/tmp/prefect-deploy")
	require.NoError(t, err)
	require.Len(t, jobs, 2)
	assert.Equal(t, []string{"-o", "/tmp/prefect-deploy/1-a.yaml"}, jobs[0].Args[len(jobs[0].Args)-2:])
	assert.Equal(t, []string{"-o", "/tmp/prefect-deploy/2-b_c.yaml"}, jobs[1].Args[len(jobs[1].Args)-2:])

	host := t.TempDir()
	hostJobs, err := prefectcli.Jobs(f, host)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(host, "1-a.yaml"), hostJobs[0].Args[len(hostJobs[0].Args)-1])
	// Apart from -o, both forms build the same argv.
	assert.Equal(t, jobs[0].Args[:len(jobs[0].Args)-1], hostJobs[0].Args[:len(hostJobs[0].Args)-1])
}
