package yamlpos

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syntaxCases says, for every file under testdata/syntax, where SyntaxError puts the
// error and what it says. yaml.v3's message alone names only the line of the enclosing
// list or mapping (0-based), e.g. 2 for crlf.yaml, 3 for indented_key.yaml.
var syntaxCases = map[string]struct {
	line, col int
	msg       string
}{
	"crlf.yaml":                     {5, 3, "YAML syntax: did not find expected '-' indicator (the list that starts at line 3)"},
	"double_colon.yaml":             {4, 16, "YAML syntax: mapping values are not allowed in this context"},
	"indented_key.yaml":             {6, 4, "YAML syntax: did not find expected '-' indicator (the list that starts at line 4)"},
	"mapping_in_list.yaml":          {7, 7, "YAML syntax: did not find expected '-' indicator (the list that starts at line 6)"},
	"second_document.yaml":          {4, 11, "YAML syntax: did not find expected ',' or ']'"},
	"tab_indent.yaml":               {6, 1, "YAML syntax: found character that cannot start any token (a tab: YAML indents with spaces only)"},
	"tab_violates_indentation.yaml": {4, 1, "YAML syntax: found a tab character that violates indentation (a tab: YAML indents with spaces only; the value that starts at line 3)"},
	"unclosed_list.yaml":            {5, 11, "YAML syntax: did not find expected ',' or ']'"},
	"unclosed_string.yaml":          {5, 18, "YAML syntax: mapping values are not allowed in this context at 8:15, after the quoted string that starts here and ends at 7:13: is its closing quote missing?"},
	"unclosed_string_eof.yaml":      {5, 18, "YAML syntax: found unexpected end of stream (the quoted string that starts here is never closed)"},
	"unknown_alias.yaml":            {9, 17, "YAML syntax: unknown anchor 'comon' referenced"},
}

func syntaxFile(t testing.TB, name string) (string, []byte) {
	t.Helper()
	path := filepath.Join("testdata", "syntax", name)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return path, data
}

// Every file under testdata/syntax is a case, and every case a file.
func TestSyntaxError(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "syntax", "*.yaml"))
	require.NoError(t, err)
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			want, ok := syntaxCases[name]
			require.True(t, ok, "no row in syntaxCases for %s", name)
			path, data := syntaxFile(t, name)
			_, _, err := Decode(data)
			require.Error(t, err)
			got := SyntaxError(path, data, err, nil)
			assert.Equal(t, FieldError{Pos: Pos{File: path, Line: want.line, Col: want.col}, Msg: want.msg}, got)
		})
	}
	assert.Len(t, files, len(syntaxCases), "a row of syntaxCases without its file")
}

// The hint sees the line of the error and the column found, and may move the column
// and add to the message; a hint that says nothing changes nothing.
func TestSyntaxErrorHint(t *testing.T) {
	path, data := syntaxFile(t, "unknown_alias.yaml")
	_, _, err := Decode(data)
	require.Error(t, err)
	var sawLine string
	var sawCol int
	got := SyntaxError(path, data, err, func(line []byte, col int) (int, string) {
		sawLine, sawCol = string(line), col
		return 5, "anchors are named with &"
	})
	assert.Equal(t, "    parameters: *comon", sawLine)
	assert.Equal(t, 17, sawCol)
	assert.Equal(t, FieldError{Pos: Pos{File: path, Line: 9, Col: 5}, Msg: "YAML syntax: unknown anchor 'comon' referenced (anchors are named with &)"}, got)

	silent := SyntaxError(path, data, err, func([]byte, int) (int, string) { return 1, "" })
	assert.Equal(t, SyntaxError(path, data, err, nil), silent)
}

func TestDecode(t *testing.T) {
	_, _, err := Decode(nil)
	assert.ErrorIs(t, err, io.EOF)
	doc, extra, err := Decode([]byte("a: 1\n---\nb: 2\n"))
	require.NoError(t, err)
	assert.Equal(t, 1, doc.Content[0].Line)
	require.NotNil(t, extra)
	assert.Equal(t, 3, extra.Content[0].Line)
	doc, extra, err = Decode([]byte("a: 1\n"))
	require.NoError(t, err)
	assert.NotNil(t, doc)
	assert.Nil(t, extra)
}

// FuzzSyntaxError: whatever the bytes, a syntax error is placed at a real line (as
// yaml.v3 counts them: \n, \r\n or a lone \r) and column of the input.
func FuzzSyntaxError(f *testing.F) {
	for name := range syntaxCases {
		_, data := syntaxFile(f, name)
		f.Add(data)
	}
	f.Add([]byte("a: \"b\r  c: [d\r"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, err := Decode(data)
		if err == nil || errors.Is(err, io.EOF) {
			return
		}
		got := SyntaxError("fuzz.yaml", data, err, nil)
		lines := len(lineEnds(data))
		if got.Pos.Line < 1 || got.Pos.Line > lines || got.Pos.Col < 1 || !strings.HasPrefix(got.Msg, "YAML syntax: ") {
			t.Fatalf("syntax error outside the input's %d lines: %v", lines, got)
		}
	})
}
