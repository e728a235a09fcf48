package prefectapi_test

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/internal/shareddata"
	"github.com/acme-data/prefect-flows/ci/prefectapi"
)

// Deployments as a real Prefect 3.8.3 server answered them (../shared/prefect3/recorded)
// read into the one observed shape the live plan compares (testdata/observed3.json).
func TestDeploymentReadsPrefect3(t *testing.T) {
	raw, err := os.ReadFile("testdata/observed3.json")
	require.NoError(t, err)
	var cases []struct {
		Name, File, Key string
		Want            struct {
			Schedules    int            `json:"schedules"`
			First        string         `json:"first"`
			Paused       *bool          `json:"paused"`
			Limit        *int64         `json:"limit"`
			JobVariables map[string]any `json:"job_variables"`
		}
	}
	require.NoError(t, json.Unmarshal(raw, &cases))
	require.NotEmpty(t, cases)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			path, err := shareddata.Path(tc.File)
			require.NoError(t, err)
			rec, err := os.ReadFile(path)
			require.NoError(t, err)
			var doc map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(rec, &doc))
			require.Contains(t, doc, tc.Key)
			var d prefectapi.Deployment
			require.NoError(t, json.Unmarshal(doc[tc.Key], &d))
			assert.Len(t, d.Schedules, tc.Want.Schedules)
			assert.Equal(t, tc.Want.Schedules, d.ScheduleCount)
			if tc.Want.First != "" {
				s := d.Schedules[0]
				active := "active"
				if s.Inactive {
					active = "inactive"
				}
				assert.Equal(t, tc.Want.First, fmt.Sprintf("%s %s %s %s", s.Kind, s.Cron, s.Timezone, active))
			}
			assert.Equal(t, tc.Want.Paused, d.Paused)
			assert.Equal(t, tc.Want.Limit, d.ConcurrencyLimit)
			assert.Equal(t, tc.Want.JobVariables, d.JobVariables)
		})
	}
}
