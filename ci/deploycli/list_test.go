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
			opts := []prefectapitest.Option{}
			switch tc.Shape {
			case "2.14":
				opts = append(opts, prefectapitest.WithShape(prefectapitest.Shape214))
			case "schedules-only":
				opts = append(opts, prefectapitest.WithShape(prefectapitest.ShapeSchedulesOnly))
			default:
				t.Fatalf("testdata/list/cases.json: %q: shape %q, want 2.14 or schedules-only", tc.Name, tc.Shape)
			}
			if tc.Empty {
				opts = append(opts, prefectapitest.Empty())
			}
			api := prefectapitest.New(t, opts...)
			for _, s := range tc.Seeds {
				api.AddDeployment(s)
			}
			for i := range tc.Generate {
				api.AddDeployment(prefectapitest.Seed{Flow: fmt.Sprintf("flow-%d", i%3), Name: fmt.Sprintf("dep-%04d", i), Tags: []string{"dev"}})
			}
			args := []string{"list"}
			if tc.On != "" {
				args = append(args, "--on", tc.On)
			}
			var stdout, stderr bytes.Buffer
			app := &deploycli.App{Stdout: &stdout, Stderr: &stderr, Env: []string{"PREFECT_API_URL=" + api.URL}}
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
				for _, r := range api.Requests() {
					if r.Method == "POST" && r.Path == "/deployments/filter" {
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
