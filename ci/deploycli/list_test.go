package deploycli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deploycli"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefect3test"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefectapitest"
)

// TestList: `prefect-deploy list` (the pipeline's read-back of the embedded server) lists
// every deployment through the API client: each schedule shape, sorted by flow and
// name, and past the 200 of one page.
func TestList(t *testing.T) {
	data, err := os.ReadFile("testdata/list/cases.json")
	require.NoError(t, err)
	var cases []struct {
		Name           string                `json:"name"`
		Shape          string                `json:"shape"`
		Empty          bool                  `json:"empty"`
		On             string                `json:"on"`
		Seeds          []prefectapitest.Seed `json:"seeds"`
		Generate       int                   `json:"generate"`
		Golden         string                `json:"golden"`
		WantLines      int                   `json:"wantLines"`
		WantLastPrefix string                `json:"wantLastPrefix"`
		WantPages      int                   `json:"wantPages"`
	}
	require.NoError(t, json.Unmarshal(data, &cases))
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			seeds := tc.Seeds
			for i := range tc.Generate {
				seeds = append(seeds, prefectapitest.Seed{Flow: fmt.Sprintf("flow-%d", i%3), Name: fmt.Sprintf("dep-%04d", i), Tags: []string{"dev"}})
			}
			var apiURL string
			var requests func() []string
			if tc.Shape == "3.8.3" {
				api := prefect3test.New(t)
				apiURL = api.URL
				for _, s := range seeds {
					seed3(t, api.URL, s)
				}
				api.ResetRequests()
				requests = func() (calls []string) {
					for _, r := range api.Requests() {
						calls = append(calls, r.Method+" "+r.Path)
					}
					return calls
				}
			} else {
				opts := []prefectapitest.Option{}
				switch tc.Shape {
				case "2.14":
					opts = append(opts, prefectapitest.WithShape(prefectapitest.Shape214))
				case "schedules-only":
					opts = append(opts, prefectapitest.WithShape(prefectapitest.ShapeSchedulesOnly))
				default:
					t.Fatalf("testdata/list/cases.json: %q: shape %q, want 2.14, schedules-only or 3.8.3", tc.Name, tc.Shape)
				}
				if tc.Empty {
					opts = append(opts, prefectapitest.Empty())
				}
				api := prefectapitest.New(t, opts...)
				apiURL = api.URL
				for _, s := range seeds {
					api.AddDeployment(s)
				}
				requests = func() (calls []string) {
					for _, r := range api.Requests() {
						calls = append(calls, r.Method+" "+r.Path)
					}
					return calls
				}
			}
			args := []string{"list"}
			if tc.On != "" {
				args = append(args, "--on", tc.On)
			}
			var stdout, stderr bytes.Buffer
			app := &deploycli.App{Stdout: &stdout, Stderr: &stderr, Env: []string{"PREFECT_API_URL=" + apiURL}}
			require.Equal(t, deploycli.ExitOK, app.Run(context.Background(), args), stderr.String())
			out := stdout.String()
			if tc.Golden != "" {
				path := filepath.Join("testdata", "list", tc.Golden)
				if *update && tc.Shape == "2.14" {
					require.NoError(t, os.WriteFile(path, []byte(out), 0o644))
				}
				want, err := os.ReadFile(path)
				require.NoError(t, err)
				assert.Equal(t, string(want), out)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if tc.WantLines > 0 {
				assert.Len(t, lines, tc.WantLines)
				seen := map[string]bool{}
				for _, l := range lines[:len(lines)-1] {
					assert.False(t, seen[l], "listed twice: %s", l)
					seen[l] = true
				}
			}
			if tc.WantLastPrefix != "" {
				assert.True(t, strings.HasPrefix(lines[len(lines)-1], tc.WantLastPrefix), "last line %q, want %q...", lines[len(lines)-1], tc.WantLastPrefix)
			}
			if tc.WantPages > 0 {
				pages := 0
				for _, c := range requests() {
					if c == "POST /deployments/filter" {
						pages++
					}
				}
				assert.Equal(t, tc.WantPages, pages, "POST /deployments/filter pages")
			}
		})
	}
}

func TestListTakesNoFile(t *testing.T) {
	var stdout, stderr bytes.Buffer
	app := &deploycli.App{Stdout: &stdout, Stderr: &stderr, Env: []string{"PREFECT_API_URL=http://127.0.0.1:1/api"}}
	assert.Equal(t, deploycli.ExitUsage, app.Run(context.Background(), []string{"list", "prefect-deployments-dev.yaml"}))
	assert.Contains(t, stderr.String(), "list takes no FILE")
}

// seed3 writes s into a Prefect 3 API the way the Prefect 3 writer does: the flow, then
// the deployment in the recorded pool "pool" (queue s.Queue, else the pool's default),
// its schedule as the one item of schedules.
func seed3(t *testing.T, apiURL string, s prefectapitest.Seed) {
	t.Helper()
	code, body, err := prefect3test.Call("POST", apiURL+"/flows/", map[string]any{"name": s.Flow})
	require.NoError(t, err)
	require.Contains(t, []int{200, 201}, code, string(body))
	var flow struct{ ID string }
	require.NoError(t, json.Unmarshal(body, &flow))
	queue := s.Queue
	if queue == "" {
		queue = "default"
	}
	dep := map[string]any{"name": s.Name, "flow_id": flow.ID, "entrypoint": "flows/hello.py:hello", "tags": orEmpty(s.Tags),
		"work_pool_name": "pool", "work_queue_name": queue, "schedules": []any{}}
	if s.Schedule != nil {
		dep["schedules"] = []any{map[string]any{"schedule": s.Schedule, "active": true}}
	}
	code, body, err = prefect3test.Call("POST", apiURL+"/deployments/", dep)
	require.NoError(t, err)
	require.Equal(t, 201, code, string(body))
}

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
