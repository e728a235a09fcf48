// Package pytrace reads what a failed Python program printed in a container: the one line
// that says what went wrong (a traceback ends with the exception), and the output to show
// once in the log rather than in every error that wraps it.
package pytrace

import (
	"fmt"
	"strings"
)

// LastLine is the last non-blank line of s, trimmed: the end of a Python traceback names
// the exception (`httpx.ConnectError: All connection attempts failed`).
func LastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// MaxOutputLines is how much of a failed command's output Failure keeps: the end of it,
// where a traceback says what went wrong.
const MaxOutputLines = 40

// Failure is a command that exited non-zero. Its Error is one line (the exception and the
// exit code), so a step line, a summary row and the caller's final error stay readable;
// Output holds what the command printed, for the one place that shows it in full.
type Failure struct {
	ExitCode int
	Line     string // the last line of stderr, else of stdout; "" when it printed nothing
	Output   string // stdout and stderr, each at most MaxOutputLines from the end
}

// FromOutput makes the Failure of a command that exited with code and printed these.
func FromOutput(code int, stdout, stderr string) *Failure {
	f := &Failure{ExitCode: code}
	switch {
	case strings.TrimSpace(stderr) != "":
		f.Line = LastLine(stderr)
	case strings.TrimSpace(stdout) != "":
		f.Line = LastLine(stdout)
	}
	var b strings.Builder
	for _, part := range []struct{ name, text string }{{"stdout", stdout}, {"stderr", stderr}} {
		if t := strings.TrimSpace(part.text); t != "" {
			if b.Len() > 0 {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "%s:\n%s", part.name, tail(t, MaxOutputLines))
		}
	}
	f.Output = b.String()
	return f
}

func (f *Failure) Error() string {
	if f.Line == "" {
		return fmt.Sprintf("exit code %d (no output)", f.ExitCode)
	}
	return fmt.Sprintf("%s (exit code %d)", f.Line, f.ExitCode)
}

// tail keeps the last n lines of s and says how many it cut.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) <= n {
		return s
	}
	return fmt.Sprintf("[... %d lines cut]\n%s", len(lines)-n, strings.Join(lines[len(lines)-n:], "\n"))
}
