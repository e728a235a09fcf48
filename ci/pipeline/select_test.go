package pipeline

import (
	"context"
	"io"
	"slices"
	"testing"

	"github.com/acme-data/prefect-flows/ci/config"
	"github.com/acme-data/prefect-flows/ci/spec/selecttest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// DEPLOY_ONLY is the selection rule of ci/spec (selecttest's table, the one
// prefect-deploy's --only is held to): the validate step keeps the jobs of the deployments
// it selects, and the steps in the image are given the patterns unchanged.
func TestDeployOnlyFollowsTheSelectionTable(t *testing.T) {
	for _, tc := range selecttest.Cases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			st := &State{Opts: &Options{Config: config.Config{SourceDir: selecttest.Dir(), Env: "dev", Owner: testOwner, Only: tc.Patterns}}, Report: &Report{}, out: io.Discard}
			err := (validateStep{}).Run(context.Background(), st)
			if len(tc.Error) > 0 {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "DEPLOY_ONLY "+tc.Error[0])
				for _, want := range tc.Error {
					assert.Contains(t, err.Error(), want)
				}
				return
			}
			require.NoError(t, err)
			var kept []string
			for _, j := range st.Jobs {
				kept = append(kept, j.Name)
			}
			assert.Equal(t, tc.Kept, kept)
			var passed []string
			for args := onlyArgs(tc.Patterns); len(args) > 0; args = args[2:] {
				require.Equal(t, "--only", args[0])
				passed = append(passed, args[1])
			}
			assert.True(t, slices.Equal(tc.Patterns, passed), "--only %q, want DEPLOY_ONLY %q as it is", passed, tc.Patterns)
		})
	}
}
