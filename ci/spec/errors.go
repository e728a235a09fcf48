package spec

import (
	"fmt"
	"io"
	"strings"
)

// FieldError is one problem in a deployments file.
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

// WriteNotes prints one `note: file:line:col: path: message` line per note.
func WriteNotes(w io.Writer, notes []FieldError) {
	for _, n := range notes {
		fmt.Fprintln(w, n.Note())
	}
}

// ValidationError holds every problem found in one file, in file order, and the notes
// about what was left to Prefect's loader.
type ValidationError struct {
	File   string
	Errors []FieldError
	Notes  []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s)", e.File, len(e.Errors))
	for _, fe := range e.Errors {
		b.WriteString("\n  ")
		b.WriteString(fe.Error())
	}
	for _, n := range e.Notes {
		b.WriteString("\n  ")
		b.WriteString(n.Note())
	}
	return b.String()
}
