package liveplan

import (
	"fmt"
	"io"
	"strings"
)

// Render writes the plan as text in the manner of `terraform plan`.
func Render(w io.Writer, p *Plan) error {
	ew := &errWriter{w: w}
	where := ""
	if p.Host != "" {
		where = " on " + p.Host
	}
	ew.printf("Live plan for %s%s (managed deployments carry the tag %s)\n\n", orNone(p.File), where, p.Marker)
	var unchanged []string
	for _, e := range p.Entries {
		switch e.Action {
		case Create:
			ew.printf("  + create    %s\n", e.Key())
			writeFields(ew, createFields(e, p.Marker))
		case Update:
			note := ""
			if e.Adopt {
				note = "  (exists without the marker: apply takes it over)"
			}
			ew.printf("  ~ update    %s%s\n", e.Key(), note)
			var lines [][2]string
			for _, c := range e.Changes {
				lines = append(lines, [2]string{c.Field, c.Old + " → " + c.New})
			}
			writeFields(ew, lines)
		case Delete:
			ew.printf("  - delete    %s  (id %s; only with apply --prune)\n", e.Key(), e.ID)
		case Unchanged:
			unchanged = append(unchanged, e.Key())
		}
	}
	if len(unchanged) > 0 {
		ew.printf("  = unchanged %d: %s\n", len(unchanged), strings.Join(unchanged, ", "))
	}
	if !p.HasChanges() {
		ew.printf("\nNo changes: the server matches the file.\n")
	}
	ew.printf("\nPlan: %d to create, %d to update, %d to delete, %d unchanged.\n",
		p.Count(Create), p.Count(Update), p.Count(Delete), p.Count(Unchanged))
	return ew.err
}

func createFields(e Entry, marker string) [][2]string {
	d := e.Spec
	if d == nil {
		return nil
	}
	sched := describeSpec(d.Schedule)
	if d.Schedule != nil {
		sched += " in " + orUTC(d.Schedule.Timezone)
		if d.Schedule.AnchorDate != "" {
			sched += " from " + d.Schedule.AnchorDate
		}
	}
	pool, queue := DefaultPool, DefaultQueue
	if d.WorkPool != nil {
		if d.WorkPool.Name != "" {
			pool = d.WorkPool.Name
		}
		if d.WorkPool.WorkQueueName != "" {
			queue = d.WorkPool.WorkQueueName
		}
	}
	lines := [][2]string{
		{FieldSchedule, sched},
		{FieldParameters, canonical(orEmptyMap(d.Parameters))},
		{FieldTags, tagSet(withMarker(d.Tags, marker))},
		{"work_pool/queue", pool + " / " + queue},
		{FieldInfraBlock, orNone(d.IBBlock)},
	}
	if d.Version != "" {
		lines = append(lines, [2]string{FieldVersion, quote(d.Version)})
	}
	if d.Description != "" {
		lines = append(lines, [2]string{FieldDescription, quote(d.Description)})
	}
	return lines
}

func writeFields(ew *errWriter, lines [][2]string) {
	width := 0
	for _, l := range lines {
		width = max(width, len(l[0]))
	}
	for _, l := range lines {
		ew.printf("        %-*s  %s\n", width+1, l[0]+":", l[1])
	}
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// RenderMarkdown writes the plan as a Markdown table, for a GitHub step summary or a
// pull request comment.
func RenderMarkdown(w io.Writer, p *Plan) error {
	ew := &errWriter{w: w}
	ew.printf("### Live plan: %s\n\n", mdEscape(orNone(p.File)))
	ew.printf("**Plan: %d to create, %d to update, %d to delete, %d unchanged.**\n\n",
		p.Count(Create), p.Count(Update), p.Count(Delete), p.Count(Unchanged))
	if !p.HasChanges() {
		ew.printf("No changes: the server matches the file.\n")
		return ew.err
	}
	ew.printf("| | Deployment | Details |\n|---|---|---|\n")
	var unchanged []string
	for _, e := range p.Entries {
		var lines []string
		switch e.Action {
		case Create:
			for _, f := range createFields(e, p.Marker) {
				lines = append(lines, f[0]+": "+code(f[1]))
			}
		case Update:
			if e.Adopt {
				lines = append(lines, "exists without the marker: apply takes it over")
			}
			for _, c := range e.Changes {
				lines = append(lines, c.Field+": "+code(c.Old)+" → "+code(c.New))
			}
		case Delete:
			lines = append(lines, "only with `apply --prune`")
		case Unchanged:
			unchanged = append(unchanged, e.Key())
			continue
		}
		ew.printf("| %s %s | %s | %s |\n", symbol(e.Action), e.Action, code(e.Key()), strings.Join(lines, "<br>"))
	}
	if len(unchanged) > 0 {
		ew.printf("| = unchanged | %d | %s |\n", len(unchanged), mdEscape(strings.Join(unchanged, ", ")))
	}
	return ew.err
}

func symbol(a Action) string {
	switch a {
	case Create:
		return "+"
	case Update:
		return "~"
	case Delete:
		return "-"
	}
	return "="
}

// code puts s in a Markdown code span that survives backticks and table pipes.
func code(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

func mdEscape(s string) string {
	r := strings.NewReplacer("|", "\\|", "<", "&lt;", ">", "&gt;", "*", "\\*", "_", "\\_", "`", "\\`")
	return r.Replace(s)
}
