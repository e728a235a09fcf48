// Package yamlpos reads YAML through yaml.v3's nodes without losing where anything is:
// every problem of a file collected in one pass with its file:line:col and field path,
// merge keys (<<) and aliases expanded under a work budget, typed values read from nodes
// without YAML's silent conversions, and a syntax error placed at the line and column to
// fix, which yaml.v3 does not say. It knows nothing of what the file means: the caller
// names the keys, the messages and, for syntax errors, an optional hint.
package yamlpos

import "fmt"

// Pos is a place in a YAML file, printed as file:line:col (1-based), or the file alone
// when the line is unknown.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// FieldError is one problem in a YAML file.
type FieldError struct {
	Pos Pos
	// Path is the field path, e.g. deployments[3].schedule.cron.
	Path string
	// Msg says what is wrong and what was expected.
	Msg string
}

func (e FieldError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.Pos, e.Path, e.Msg)
}

// Note is a FieldError's text as a note: something validation could not decide and
// leaves to a later step, which does not fail the file.
func (e FieldError) Note() string { return "note: " + e.Error() }
