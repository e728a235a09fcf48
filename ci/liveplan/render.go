package liveplan

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/acme-data/prefect-flows/ci/ownership"
	"github.com/acme-data/prefect-flows/ci/schedule"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// Render writes the plan as text in the manner of `terraform plan`.
func Render(w io.Writer, p *Plan) error {
	ew := &errWriter{w: w}
	where := ""
	if p.Host != "" {
		where = " on " + p.Host
	}
	ew.printf("Live plan for %s%s (managed deployments carry the tag %s)\n", orNone(p.File), where, p.Marker)
	if p.Owner != "" {
		ew.printf("Owner: %s%s\n", p.Owner, ownerFrom(p))
	}
	ew.printf("\n")
	var unchanged []string
	for _, e := range p.Entries {
		switch e.Action {
		case Create:
			ew.printf("  + create    %s\n", e.Key())
			writeFields(ew, createFields(e, p))
		case Update:
			note := ""
			if e.Adopt {
				note = "  (" + adoptNote(e) + ")"
			}
			ew.printf("  ~ update    %s%s\n", e.Key(), note)
			var lines [][2]string
			for _, c := range e.Changes {
				lines = append(lines, [2]string{c.Field, c.Old + " → " + c.New})
			}
			writeFields(ew, lines)
		case Delete:
			ew.printf("  - delete    %s  (id %s; %s)\n", e.Key(), e.ID, deleteNote(e))
		case Keep:
			ew.printf("  ? keep      %s  (id %s; %s)\n", e.Key(), e.ID, keepNote(e))
		case Unchanged:
			if len(e.Notes) > 0 {
				ew.printf("  = unchanged %s\n", e.Key())
				break
			}
			unchanged = append(unchanged, e.Key())
		}
		for _, n := range e.Notes {
			ew.printf("        note: %s\n", n)
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
	if n := p.Count(Keep); n > 0 {
		ew.printf("Kept: %d deployment(s) with only the legacy tag %s (apply --prune --prune-legacy deletes them).\n", n, p.Legacy)
	}
	return ew.err
}

func ownerFrom(p *Plan) string {
	if p.OwnerSource == "" {
		return ""
	}
	return " (from " + p.OwnerSource + "; set PREFECT_OWNER or --owner to change it)"
}

// adoptNote says whose deployment an apply takes over.
func adoptNote(e Entry) string {
	switch {
	case e.TakeOver():
		return "TAKE-OVER: owned by " + e.AdoptOwner + " (tag " + e.AdoptFrom + "); apply makes it ours and their prune will no longer see it"
	case ownership.IsLegacy(e.AdoptFrom):
		return "carries the legacy tag " + e.AdoptFrom + ": apply adopts it and re-tags it with this owner's tag"
	case e.AdoptFrom != "":
		return "carries " + e.AdoptFrom + ": apply takes it over"
	}
	return "exists without the marker: apply takes it over"
}

func deleteNote(e Entry) string {
	if ownership.IsLegacy(e.Tag) {
		return "legacy tag " + e.Tag + "; only with apply --prune --prune-legacy"
	}
	return "only with apply --prune"
}

func keepNote(e Entry) string {
	return "only the legacy tag " + e.Tag + ", not in the file: kept, since every copy of the repository used that tag"
}

func createFields(e Entry, p *Plan) [][2]string {
	d, marker := e.Spec, p.Marker
	if d == nil {
		return nil
	}
	if p.target.major == spec.Prefect3 {
		return createFields3(d, p)
	}
	sched := schedule.Describe(d.Schedule)
	if d.Schedule != nil {
		sched += " in " + d.Schedule.Zone()
		if !d.Schedule.Anchor.IsZero() {
			sched += " from " + d.Schedule.Anchor.Text
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
	if d.ScheduleActive != nil {
		lines = append(lines, [2]string{FieldScheduleActive, activeText(*d.ScheduleActive)})
	}
	return append(lines, textFields(d)...)
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
	if p.Owner != "" {
		ew.printf("Owner %s%s, tag %s.\n\n", code(p.Owner), mdEscape(ownerFrom(p)), code(p.Marker))
	}
	ew.printf("**Plan: %d to create, %d to update, %d to delete, %d unchanged.**\n\n",
		p.Count(Create), p.Count(Update), p.Count(Delete), p.Count(Unchanged))
	if !p.HasChanges() {
		ew.printf("No changes: the server matches the file.\n")
		if !p.hasRemarks() {
			return ew.err
		}
		ew.printf("\n")
	}
	ew.printf("| | Deployment | Details |\n|---|---|---|\n")
	var unchanged []string
	for _, e := range p.Entries {
		var lines []string
		switch e.Action {
		case Create:
			for _, f := range createFields(e, p) {
				lines = append(lines, f[0]+": "+code(f[1]))
			}
		case Update:
			if e.Adopt {
				lines = append(lines, mdEscape(adoptNote(e)))
			}
			for _, c := range e.Changes {
				lines = append(lines, c.Field+": "+code(c.Old)+" → "+code(c.New))
			}
		case Delete:
			lines = append(lines, mdEscape(deleteNote(e)))
		case Keep:
			lines = append(lines, mdEscape(keepNote(e)))
		case Unchanged:
			if len(e.Notes) == 0 {
				unchanged = append(unchanged, e.Key())
				continue
			}
		}
		for _, n := range e.Notes {
			lines = append(lines, "note: "+mdEscape(n))
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
	case Keep:
		return "?"
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

// hasRemarks says whether some entry carries a note or is kept, which the Markdown
// shows even when nothing changes.
func (p *Plan) hasRemarks() bool {
	for _, e := range p.Entries {
		if len(e.Notes) > 0 || e.Action == Keep {
			return true
		}
	}
	return false
}

// createFields3 is a Prefect 3 create as the Prefect 3 writer sends it: the schedules
// list, the job variables (the pool's settings, the file's, the image when the plan
// knows it), and the Prefect 3 keys the file sets.
func createFields3(d *spec.Deployment, p *Plan) [][2]string {
	_, scheds, _ := schedule.CompareSets(schedulesSent(*d), nil)
	queue := DefaultQueue
	if d.WorkPool.WorkQueueName != "" {
		queue = d.WorkPool.WorkQueueName
	}
	lines := [][2]string{
		{FieldSchedules, listText(scheds)},
		{FieldParameters, canonical(orEmptyMap(d.Parameters))},
		{FieldTags, tagSet(withMarker(d.Tags, p.Marker))},
		{"work_pool/queue", d.WorkPool.Name + " / " + queue},
		{FieldJobVariables, canonical(p.target.jobVariables(*d))},
	}
	if d.Paused != nil {
		lines = append(lines, [2]string{FieldPaused, strconv.FormatBool(*d.Paused)})
	}
	if d.ConcurrencyLimit != nil {
		lines = append(lines, [2]string{FieldConcurrencyLimit, limitText(d.ConcurrencyLimit)})
	}
	if d.EnforceParameterSchema != nil && !*d.EnforceParameterSchema {
		lines = append(lines, [2]string{FieldEnforceSchema, "false"})
	}
	return append(lines, textFields(d)...)
}

// textFields are the version and description a create sets, when the file has them.
func textFields(d *spec.Deployment) [][2]string {
	var lines [][2]string
	if d.Version != "" {
		lines = append(lines, [2]string{FieldVersion, quote(d.Version)})
	}
	if d.Description != "" {
		lines = append(lines, [2]string{FieldDescription, quote(d.Description)})
	}
	return lines
}
