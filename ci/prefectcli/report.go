package prefectcli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// TextReporter writes a line per deployment as it starts and ends, and the full
// Prefect output of each one that did not succeed.
type TextReporter struct {
	W io.Writer
	// ASCII uses plain markers for terminals and logs that mangle UTF-8.
	ASCII bool
	mu    sync.Mutex
}

func (t *TextReporter) marks() (start, ok, bad, stop string) {
	if t.ASCII {
		return ">", "ok", "FAIL", "STOP"
	}
	return "▶", "✔", "✖", "■"
}

// Started prints "▶ name".
func (t *TextReporter) Started(job Job) {
	start, _, _, _ := t.marks()
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.W, "%s %s\n", start, job.Name)
}

// Finished prints "✔ name 3.4s", or "✖ name 3.4s (exit 1)" and the output.
func (t *TextReporter) Finished(r Result) {
	_, ok, bad, stop := t.marks()
	t.mu.Lock()
	defer t.mu.Unlock()
	secs := fmt.Sprintf("%.1fs", r.Duration.Seconds())
	switch r.Status {
	case StatusSucceeded:
		fmt.Fprintf(t.W, "%s %s %s\n", ok, r.Name, secs)
		return
	case StatusCancelled, StatusTimedOut:
		fmt.Fprintf(t.W, "%s %s %s (%s)\n", stop, r.Name, secs, why(r))
	default:
		fmt.Fprintf(t.W, "%s %s %s (%s)\n", bad, r.Name, secs, why(r))
	}
	writeOutput(t.W, r)
}

func why(r Result) string {
	switch {
	case r.Status == StatusFailed && r.ExitCode >= 0:
		return fmt.Sprintf("exit %d", r.ExitCode)
	case r.Err != nil:
		return r.Err.Error()
	default:
		return string(r.Status)
	}
}

func writeOutput(w io.Writer, r Result) {
	for _, s := range []struct{ name, text string }{{"stdout", r.Stdout}, {"stderr", r.Stderr}} {
		text := strings.TrimRight(s.text, "\n")
		if text == "" {
			continue
		}
		fmt.Fprintf(w, "    ┌─ prefect %s of %s\n", s.name, r.Name)
		for _, line := range strings.Split(text, "\n") {
			fmt.Fprintf(w, "    │ %s\n", line)
		}
		fmt.Fprintf(w, "    └─\n")
	}
}

// WriteSummary prints the summary table, in the order of results (the file's order),
// and a count per result.
func WriteSummary(w io.Writer, results []Result, wall time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DEPLOYMENT\tRESULT\tSECONDS\tPREFECT DEPLOYMENT ID")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", oneLine(r.Name), r.Status, seconds(r), orDash(r.DeploymentID))
	}
	tw.Flush()
	fmt.Fprintf(w, "%s in %.1fs\n", counts(results), wall.Seconds())
}

// WriteMarkdownSummary writes the same summary as a GitHub step summary.
func WriteMarkdownSummary(w io.Writer, results []Result, wall time.Duration) error {
	var b strings.Builder
	b.WriteString("### Prefect deployments\n\n")
	fmt.Fprintf(&b, "%s in %.1fs\n\n", counts(results), wall.Seconds())
	b.WriteString("| Deployment | Result | Seconds | Prefect deployment id |\n|---|---|---:|---|\n")
	for _, r := range results {
		icon := map[Status]string{StatusSucceeded: "✅", StatusFailed: "❌", StatusTimedOut: "⏱️", StatusCancelled: "🛑", StatusNotStarted: "⏸️"}[r.Status]
		id := "–"
		if r.DeploymentID != "" {
			id = "`" + r.DeploymentID + "`"
		}
		fmt.Fprintf(&b, "| %s | %s %s | %s | %s |\n", escapeMarkdown(r.Name), icon, r.Status, seconds(r), id)
	}
	b.WriteString("\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write markdown summary: %w", err)
	}
	return nil
}

func seconds(r Result) string {
	if r.Status == StatusNotStarted {
		return "-"
	}
	return fmt.Sprintf("%.1f", r.Duration.Seconds())
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func counts(results []Result) string {
	n := map[Status]int{}
	for _, r := range results {
		n[r.Status]++
	}
	parts := []string{fmt.Sprintf("%d deployment(s)", len(results))}
	for _, s := range []Status{StatusSucceeded, StatusFailed, StatusTimedOut, StatusCancelled, StatusNotStarted} {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

func oneLine(s string) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s)
}

// escapeMarkdown keeps a deployment name from breaking the table or turning into
// markup.
func escapeMarkdown(s string) string {
	var b strings.Builder
	for _, r := range oneLine(s) {
		if strings.ContainsRune("\\`*_[]<>|~&", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
