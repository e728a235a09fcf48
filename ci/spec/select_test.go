package spec_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/spec"
	"github.com/acme-data/prefect-flows/ci/spec/selecttest"
)

func loadSelectFile(t *testing.T) *spec.File {
	t.Helper()
	f, err := spec.Load(selecttest.File(), spec.LoadOptions{RepoRoot: selecttest.Dir()})
	require.NoError(t, err)
	return f
}

func names(ds []spec.Deployment) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Name)
	}
	return out
}

func TestSelect(t *testing.T) {
	f := loadSelectFile(t)
	for _, tc := range selecttest.Cases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			kept, err := f.Select(tc.Patterns)
			if len(tc.Error) > 0 {
				require.Error(t, err)
				for _, want := range tc.Error {
					assert.Contains(t, err.Error(), want)
				}
				assert.Nil(t, kept)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.Kept, names(kept))
		})
	}
}

// The file's name rule lets a deployment name hold every glob character (Prefect refuses
// only / % & > <), so the selection rule needs an escape: the table's file loads with
// names that hold each of them, and QuoteName's pattern selects each such name alone.
func TestDeploymentNamesMayHoldGlobCharacters(t *testing.T) {
	f := loadSelectFile(t)
	for _, c := range `*?[\` {
		var found bool
		for _, d := range f.Deployments {
			if !strings.ContainsRune(d.Name, c) {
				continue
			}
			found = true
			kept, err := f.Select([]string{spec.QuoteName(d.Name)})
			require.NoError(t, err)
			assert.Equal(t, []string{d.Name}, names(kept), "pattern %s", spec.QuoteName(d.Name))
		}
		assert.True(t, found, "no deployment name of %s holds %q", selecttest.File(), c)
	}
}

func TestSelectErrorFields(t *testing.T) {
	f := loadSelectFile(t)
	_, err := f.Select([]string{"nope"})
	var se *spec.SelectError
	require.True(t, errors.As(err, &se), "err = %v", err)
	assert.Equal(t, f.Path, se.File)
	assert.Equal(t, []string{"nope"}, se.Unmatched)
	assert.Equal(t, names(f.Deployments), se.Names)
}

func TestCheckPatterns(t *testing.T) {
	assert.NoError(t, spec.CheckPatterns([]string{"sales-*", `a\*b`, "[a-z]?"}))
	err := spec.CheckPatterns([]string{"ok", `trailing\`})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"trailing\\": syntax error in pattern`)
}

// The README states the one rule in the same words for DEPLOY_ONLY and --only (and
// prefect-deploy's --only help is built from SelectHelp).
func TestReadmeStatesTheSelectionRule(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	for _, row := range []string{"| `DEPLOY_ONLY` |", "| `--only NAME` |"} {
		_, line, ok := strings.Cut(string(readme), "\n"+row)
		require.True(t, ok, "README.md has no row %s", row)
		line, _, _ = strings.Cut(line, "\n")
		assert.Contains(t, strings.ReplaceAll(line, "`", ""), spec.SelectHelp, "README.md row %s", row)
	}
}
