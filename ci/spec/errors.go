package spec

import (
	"fmt"
	"io"
	"strings"

	"github.com/acme-data/prefect-flows/ci/yamlpos"
)

// FieldError is one problem in a deployments file: where (file:line:col), the field
// path, and what is wrong and what was expected.
type FieldError = yamlpos.FieldError

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
