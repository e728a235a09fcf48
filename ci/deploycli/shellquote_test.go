package deploycli_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/deploycli"
)

func TestShellQuoteRoundTrip(t *testing.T) {
	words := []string{
		"", "plain", "with space", "it's", `"double"`, "$HOME", "${PATH}", "$(id)", "`id`",
		"line\nbreak", "tab\there", "ünï 🚀", "<>&|;", "*?[a]~", `back\slash`, "'", "''", "-n", "#comment", "a=b", "!bang",
	}
	script := "printf '%s\\0' " + deploycli.ShellJoin(words)
	out, err := exec.Command("sh", "-c", script).Output()
	require.NoError(t, err)
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	assert.Equal(t, words, got)

	assert.Equal(t, "plain", deploycli.ShellQuote("plain"))
	assert.Equal(t, "''", deploycli.ShellQuote(""))
	assert.Equal(t, `'it'\''s'`, deploycli.ShellQuote("it's"))
}
