package deploycli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/schedule"
)

// list prints every deployment on PREFECT_API_URL, one line each, whoever made it: the
// pipeline runs it against the embedded throwaway server to show what the run left
// there. It pages through the API (no 200-deployment cap) and reads either schedule
// shape (2.14's `schedule`, 2.16+'s `schedules`) through the one API client.
func (a *App) list(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("prefect-deploy list", flag.ContinueOnError)
	fs.SetOutput(a.Stderr)
	on := fs.String("on", "", `what the summary line calls the server, e.g. "the embedded server" (default: the API's host)`)
	if err := fs.Parse(args); err != nil {
		return exitForFlagErr(err)
	}
	if fs.NArg() > 0 {
		return a.usageError(fs, "list takes no FILE: it lists every deployment on PREFECT_API_URL")
	}
	api, err := a.client()
	if err != nil {
		fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
		return ExitFailed
	}
	deps, err := api.ListDeployments(ctx, prefectapi.DeploymentFilter{})
	if err != nil {
		fmt.Fprintf(a.Stderr, "prefect-deploy: list the deployments: %v\n", err)
		return ExitFailed
	}
	ids := make([]string, len(deps))
	for i, d := range deps {
		ids[i] = d.FlowID
	}
	flows, err := api.ReadFlowNames(ctx, ids)
	if err != nil {
		fmt.Fprintf(a.Stderr, "prefect-deploy: read the flows' names: %v\n", err)
		return ExitFailed
	}
	where := *on
	if where == "" {
		where = api.Host()
	}
	if err := WriteListing(a.Stdout, deps, flows, where); err != nil {
		fmt.Fprintf(a.Stderr, "prefect-deploy: %v\n", err)
		return ExitFailed
	}
	return ExitOK
}

// WriteListing writes "flow/name  entrypoint  schedule  queue=Q  tags=a,b" per
// deployment, sorted by flow and name, then "N deployment(s) on where". A flow the
// server does not name is "?"; a missing value is None, as Prefect prints it.
func WriteListing(w io.Writer, deps []prefectapi.Deployment, flows map[string]string, where string) error {
	type row struct{ flow, name, line string }
	rows := make([]row, 0, len(deps))
	for _, d := range deps {
		flow, ok := flows[d.FlowID]
		if !ok {
			flow = "?"
		}
		rows = append(rows, row{flow, d.Name, fmt.Sprintf("%s/%s  %s  %s  queue=%s  tags=%s",
			flow, d.Name, orNone(d.Entrypoint), scheduleText(d), orNone(d.WorkQueueName), strings.Join(d.Tags, ","))})
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].flow != rows[j].flow {
			return rows[i].flow < rows[j].flow
		}
		return rows[i].name < rows[j].name
	})
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(r.line + "\n")
	}
	fmt.Fprintf(&b, "%d deployment(s) on %s\n", len(deps), where)
	_, err := io.WriteString(w, b.String())
	return err
}

// scheduleText is the primary schedule in a few words, with how many more there are
// (2.16+ may hold several).
func scheduleText(d prefectapi.Deployment) string {
	s := d.Schedule
	if s == nil {
		return "no schedule"
	}
	var text string
	switch s.Kind {
	case schedule.Cron:
		text = s.Cron
	case schedule.RRule:
		text = schedule.OneLineRRule(s.RRule)
	case schedule.Interval:
		text = fmt.Sprintf("every %ds", s.IntervalSeconds)
	default:
		text = "no schedule"
	}
	if more := d.ScheduleCount - 1; more > 0 {
		text += fmt.Sprintf(" (+%d more)", more)
	}
	return text
}

func orNone(s string) string {
	if s == "" {
		return "None"
	}
	return s
}
