package spec

import (
	"fmt"
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

// ValidationError holds every problem found in one file, in file order.
type ValidationError struct {
	File   string
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s)", e.File, len(e.Errors))
	for _, fe := range e.Errors {
		b.WriteString("\n  ")
		b.WriteString(fe.Error())
	}
	return b.String()
}
