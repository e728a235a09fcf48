package clispec_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/internal/fakeprefect"
	"github.com/acme-data/prefect-flows/ci/prefectcli/clispec"
)

func loadSpec(t *testing.T) *clispec.Spec {
	t.Helper()
	p, err := fakeprefect.SharedPath("prefect/cli-2.14.json")
	require.NoError(t, err)
	s, err := clispec.Load(p)
	require.NoError(t, err)
	return s
}

type clickCase struct {
	Argv   []string       `json:"argv"`
	Exit   int            `json:"exit"`
	Error  string         `json:"error"`
	Help   bool           `json:"help"`
	Values map[string]any `json:"values"`
}

// click 8.2 reworded "No such option"; the recording of the real Prefect 2.14 CLI
// (click 8.1) says "No such option: --x (Possible options: a, b)". Same suggestions.
var (
	noSuch     = regexp.MustCompile(`^No such option '([^']+)'\.(?: Did you mean '([^']+)'\?| \(Did you mean one of: (.+)\?\))?$`)
	quotedName = regexp.MustCompile(`'([^']+)'`)
)

func click81(msg string) string {
	m := noSuch.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	out := "No such option: " + m[1]
	switch {
	case m[2] != "":
		out += " Did you mean " + m[2] + "?"
	case m[3] != "":
		var names []string
		for _, q := range quotedName.FindAllStringSubmatch(m[3], -1) {
			names = append(names, q[1])
		}
		out += " (Possible options: " + strings.Join(names, ", ") + ")"
	}
	return out
}

// values renders an invocation the way click's ctx.params looks, keyed by param name.
func values(t *testing.T, s *clispec.Spec, inv *clispec.Invocation) map[string]any {
	out := map[string]any{}
	cmd := s.Commands[inv.Command]
	for _, o := range cmd.Options {
		vs, ok := inv.Values[o.Name]
		if !ok {
			continue
		}
		name := o.Param
		if name == "" {
			name = strings.ReplaceAll(strings.TrimLeft(o.Name, "-"), "-", "_")
		}
		switch {
		case o.Flag:
			out[name] = true
		case o.Repeatable:
			l := make([]any, len(vs))
			for i, v := range vs {
				l[i] = v
			}
			out[name] = l
		case o.Type == "int":
			n, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(vs[len(vs)-1]), "_", ""))
			require.NoError(t, err)
			out[name] = float64(n)
		default:
			out[name] = vs[len(vs)-1]
		}
	}
	for _, a := range cmd.Arguments {
		key := strings.ToLower(a.Name)
		if strings.HasPrefix(a.Type, "List[") {
			l := make([]any, len(inv.Args))
			for i, v := range inv.Args {
				l[i] = v
			}
			out[key] = l
		} else if len(inv.Args) > 0 {
			out[key] = inv.Args[0]
		}
	}
	return out
}

// TestParseMatchesClick compares the parser with click itself on argvs that probe
// its corners (testdata/click-cases.json, made by testdata/gen_click_cases.py).
func TestParseMatchesClick(t *testing.T) {
	s := loadSpec(t)
	data, err := os.ReadFile("testdata/click-cases.json")
	require.NoError(t, err)
	var cases []clickCase
	require.NoError(t, json.Unmarshal(data, &cases))
	require.NotEmpty(t, cases)
	for _, c := range cases {
		t.Run(strings.Join(c.Argv, " "), func(t *testing.T) {
			inv, out := s.Parse(c.Argv)
			switch {
			case c.Error != "":
				require.NotNil(t, out, "click rejects it")
				assert.Equal(t, c.Exit, out.Exit)
				lines := strings.Split(strings.TrimSpace(out.Stderr), "\n")
				assert.Equal(t, "Error: "+click81(c.Error), lines[len(lines)-1])
				assert.True(t, strings.HasPrefix(lines[0], "Usage: prefect "), lines[0])
			case c.Help:
				require.NotNil(t, out)
				assert.Equal(t, 0, out.Exit)
			default:
				require.Nil(t, out, "click accepts it: %+v", out)
				assert.Equal(t, c.Values, values(t, s, inv))
			}
		})
	}
}

func TestCheckBuildRules(t *testing.T) {
	s := loadSpec(t)
	base := []string{"deployment", "build", "flows/hello.py:hello", "-n", "x", "-a", "--skip-upload", "-ib", "ecs-task/dev"}
	cases := []struct {
		name  string
		extra []string
		exit  int
		msg   string // in stdout + stderr; "" means accepted
	}{
		{"plain", nil, 0, ""},
		{"no schedule", []string{"--no-schedule"}, 0, ""},
		{"cron tz", []string{"--cron", "*/5 0-6 1,15 JAN-MAR mon#2", "--timezone", "America/Chicago"}, 0, ""},
		{"cron alias", []string{"--cron", "@daily"}, 0, ""},
		{"interval anchor", []string{"--interval", "60", "--anchor-date", "2024-01-01T00:00:00+02:00"}, 0, ""},
		{"rrule json", []string{"--rrule", `{"rrule": "FREQ=DAILY", "timezone": "UTC"}`}, 0, ""},
		{"two kinds", []string{"--cron", "* * * * *", "--rrule", "FREQ=DAILY"}, 1, "Only one schedule type can be provided."},
		{"no-schedule counts", []string{"--interval", "60", "--no-schedule"}, 1, "Only one schedule type can be provided."},
		{"anchor with cron", []string{"--cron", "* * * * *", "--anchor-date", "2024-01-01"}, 1, "An anchor date can only be provided with an interval schedule"},
		{"bad cron 6 fields", []string{"--cron", "0 0 * * * *"}, 1, `Invalid cron string: "0 0 * * * *"`},
		{"hashed cron", []string{"--cron", "H * * * *"}, 1, "Invalid cron string"},
		{"random cron", []string{"--cron", "R * * * *"}, 1, "Invalid cron string"},
		{"bad tz", []string{"--cron", "0 0 * * *", "--timezone", "Europe/Atlantis"}, 1, "Invalid timezone"},
		{"tz without schedule ignored", []string{"--timezone", "Europe/Atlantis"}, 0, ""},
		{"negative interval", []string{"--interval", "-1"}, 1, "The interval must be positive"},
		{"bad anchor", []string{"--interval", "60", "--anchor-date", "next tuesday"}, 1, "invalid datetime format"},
		{"bad rrule", []string{"--rrule", "EVERY DAY"}, 1, "Invalid RRule"},
		{"params not an object", []string{"--params", `[1]`}, 1, "value is not a valid dict"},
		{"params bad json", []string{"--params", `{a: 1}`}, 1, "JSONDecodeError"},
		{"output suffix", []string{"-o", "x.yml"}, 1, "Output file must be a '.yaml' file."},
		{"dot file has no suffix", []string{"-o", "dir/.yml"}, 0, ""},
		{"no name", []string{"-n", ""}, 1, "A name for this deployment must be provided"},
		{"infra conflict", []string{"-i", "process"}, 1, "Only one of `infra` or `infra_block`"},
		{"override without =", []string{"--override", "cpu"}, 1, "not enough values to unpack"},
		{"unknown option", []string{"--workpool", "x"}, 2, "No such option: --workpool"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := s.Check(append(append([]string{}, base...), c.extra...))
			if c.msg == "" {
				assert.Nil(t, out)
				return
			}
			require.NotNil(t, out)
			assert.Equal(t, c.exit, out.Exit)
			assert.Contains(t, out.Stdout+out.Stderr, c.msg)
		})
	}
}

func TestValidCron(t *testing.T) {
	for expr, want := range map[string]bool{
		"0 0 * * *": true, "*/15 * * * 1-5": true, "0 9 L * *": true, "0 0 1 jan,jul sun": true,
		"60 * * * *": false, "* 24 * * *": false, "* * 0 * *": false, "* * * 13 *": false, "* * * * 8": false,
		"* * * *": false, "*/0 * * * *": false, "a * * * *": false, "": false,
	} {
		assert.Equal(t, want, clispec.ValidCron(expr), expr)
	}
}
