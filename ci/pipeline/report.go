package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/acme-data/prefect-flows/ci/prefectcli"
)

// StepStatus is how one step ended.
type StepStatus string

const (
	StepOK      StepStatus = "ok"
	StepSkipped StepStatus = "skipped"
	StepFailed  StepStatus = "FAILED"
	StepNotRun  StepStatus = "not run"
	// StepInterrupted is a step the interrupt stopped (or that failed because of it).
	StepInterrupted StepStatus = "interrupted"
)

// StepOutcome is one line of the report.
type StepOutcome struct {
	Name     string
	Status   StepStatus
	Detail   string
	Duration time.Duration
}

// Report is what a run did, for the log, the GitHub step summary and the Dagger module.
type Report struct {
	Env      string
	File     string
	Embedded bool
	// ImageRef is PREFECT_IMAGE: a digest reference when Published.
	ImageRef    string
	Published   bool
	Steps       []StepOutcome
	Deployments []prefectcli.Result
	// DeployWall is the deploy step's wall time, for the deployments summary.
	DeployWall time.Duration
	// Blocks says what happened to the infrastructure blocks when the run did not go
	// through: one line per block, from the restore step.
	Blocks []string
}

type reportStep struct{}

func (reportStep) String() string { return "report: summary of the steps and deployments" }
func (reportStep) always()        {}

func (reportStep) Run(_ context.Context, st *State) error {
	st.Report.WriteText(st.out)
	if p := st.Opts.StepSummaryPath; p != "" {
		var md bytes.Buffer
		if err := st.Report.WriteMarkdown(&md); err != nil {
			return fmt.Errorf("GitHub step summary: %w", err)
		}
		text := md.String()
		// The summary is published with the run, outside the log's redaction.
		if st.Opts.Redact != nil {
			text = st.Opts.Redact(text)
		}
		f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("GitHub step summary: %w", err)
		}
		_, werr := io.WriteString(f, text)
		if err := errors.Join(werr, f.Close()); err != nil {
			return fmt.Errorf("GitHub step summary: %w", err)
		}
	}
	return nil
}

// WriteText prints one line per step and per deployment.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "\nSummary (environment %s)\n", r.Env)
	for _, s := range r.Steps {
		line := fmt.Sprintf("  %-10s %-8s", s.Name, s.Status)
		if s.Status == StepOK || s.Status == StepFailed || s.Status == StepInterrupted {
			line += fmt.Sprintf(" %8s", round(s.Duration))
		}
		if s.Detail != "" {
			line += "  " + s.Detail
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	if r.ImageRef != "" {
		pub := "published"
		if !r.Published {
			pub = "NOT published"
		}
		fmt.Fprintf(w, "  image      %s (%s)\n", r.ImageRef, pub)
	}
	if r.Embedded {
		fmt.Fprintln(w, "  EMBEDDED MODE: deployed into a throwaway Prefect server; nothing reached the real Prefect.")
	}
	for _, b := range r.Blocks {
		fmt.Fprintf(w, "  blocks     %s\n", b)
	}
	if len(r.Deployments) > 0 {
		fmt.Fprintln(w)
		prefectcli.WriteSummary(w, r.Deployments, r.DeployWall)
	}
}

// WriteMarkdown writes the GitHub step summary.
func (r *Report) WriteMarkdown(w io.Writer) error {
	fmt.Fprintf(w, "## Prefect deploy: %s\n\n", r.Env)
	if r.Embedded {
		fmt.Fprintf(w, "> **Embedded mode**: deployed into a throwaway Prefect server; nothing reached the real Prefect.\n\n")
	}
	if r.ImageRef != "" {
		pub := "published"
		if !r.Published {
			pub = "**not published**"
		}
		fmt.Fprintf(w, "Image: `%s` (%s)\n\n", r.ImageRef, pub)
	}
	if len(r.Blocks) > 0 {
		fmt.Fprintf(w, "Infrastructure blocks (the run did not go through):\n\n")
		for _, b := range r.Blocks {
			fmt.Fprintf(w, "- %s\n", mdCell(b))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "| step | result | time | detail |\n|---|---|---|---|\n")
	for _, s := range r.Steps {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", s.Name, s.Status, round(s.Duration), mdCell(s.Detail))
	}
	if len(r.Deployments) > 0 {
		fmt.Fprintln(w)
		return prefectcli.WriteMarkdownSummary(w, r.Deployments, r.DeployWall)
	}
	return nil
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
