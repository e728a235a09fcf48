package prefectcli

import (
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/acme-data/prefect-flows/ci/schedule"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// BuildArgs returns the argv (after the `prefect` executable) of
// `prefect deployment build` for one deployment. Every value is one argv element, so
// nothing is ever interpreted by a shell. outputPath becomes `-o` and must end in .yaml:
// Prefect otherwise writes `<flow_function>-deployment.yaml` in the current directory,
// which two concurrent builds of one flow would share.
func BuildArgs(d spec.Deployment, outputPath string) ([]string, error) {
	if d.Name == "" {
		return nil, fmt.Errorf("deployment has no name")
	}
	if d.Entrypoint == "" || !strings.Contains(d.Entrypoint, ":") {
		return nil, fmt.Errorf("deployment %q: entrypoint %q is not path/file.py:function", d.Name, d.Entrypoint)
	}
	// click would read an entrypoint starting with '-' as an option.
	if strings.HasPrefix(d.Entrypoint, "-") {
		return nil, fmt.Errorf("deployment %q: entrypoint %q starts with '-'", d.Name, d.Entrypoint)
	}
	if d.IBBlock == "" {
		return nil, fmt.Errorf("deployment %q: no ib-block", d.Name)
	}
	if filepath.Ext(outputPath) != ".yaml" {
		return nil, fmt.Errorf("deployment %q: output file %q must end in .yaml", d.Name, outputPath)
	}

	args := []string{"deployment", "build", d.Entrypoint, "-n", d.Name, "-a", "--skip-upload", "-ib", d.IBBlock}

	// Prefect treats --params '{}' as "not given" and would keep the server's old
	// parameters; an empty mapping is therefore simply left out.
	if len(d.Parameters) > 0 {
		js, err := spec.ParamsJSON(d.Parameters)
		if err != nil {
			return nil, fmt.Errorf("deployment %q: %w", d.Name, err)
		}
		args = append(args, "--params", js)
	}
	for _, t := range d.Tags {
		args = append(args, "--tag", t)
	}

	sched, err := scheduleArgs(d.Schedule)
	if err != nil {
		return nil, fmt.Errorf("deployment %q: %w", d.Name, err)
	}
	args = append(args, sched...)

	if d.Version != "" {
		args = append(args, "-v", d.Version)
	}
	if d.WorkPool != nil {
		if d.WorkPool.Name != "" {
			args = append(args, "-p", d.WorkPool.Name)
		}
		if d.WorkPool.WorkQueueName != "" {
			args = append(args, "-q", d.WorkPool.WorkQueueName)
		}
	}
	if d.Description != "" {
		args = append(args, "-d", d.Description)
	}
	for _, o := range d.InfraOverrides {
		// Prefect splits on the first '=', so a key holding one would be cut short.
		if o.Key == "" || strings.Contains(o.Key, "=") {
			return nil, fmt.Errorf("deployment %q: infra override key %q is empty or holds '='", d.Name, o.Key)
		}
		args = append(args, "--override", o.Key+"="+o.Value)
	}
	args = append(args, "-o", outputPath)
	return args, nil
}

// scheduleArgs renders a schedule, or --no-schedule: the YAML is the source of truth
// and without it Prefect keeps a schedule that was removed from the file.
func scheduleArgs(s *schedule.Schedule) ([]string, error) {
	if s == nil {
		return []string{"--no-schedule"}, nil
	}
	if err := s.Check(); err != nil {
		return nil, err
	}
	var args []string
	switch s.Kind {
	case schedule.Cron:
		args = append(args, "--cron", s.Cron)
	case schedule.Interval:
		args = append(args, "--interval", strconv.FormatInt(s.IntervalSeconds, 10))
		if !s.Anchor.IsZero() {
			args = append(args, "--anchor-date", s.Anchor.Text)
		}
	case schedule.RRule:
		args = append(args, "--rrule", s.RRule)
	}
	if s.Timezone != "" {
		args = append(args, "--timezone", s.Timezone)
	}
	return args, nil
}

// RegisterArgs is `block register -m module`, e.g. prefect_aws.ecs.
func RegisterArgs(module string) []string {
	return []string{"block", "register", "-m", module}
}

// Jobs builds one Job per deployment, in file order, for a `prefect` that runs on this
// host: outDir is a host directory. Each writes its own output file
// `<outDir>/<index>-<name>.yaml`: the index keeps two deployments whose names
// sanitise alike apart.
func Jobs(f *spec.File, outDir string) ([]Job, error) {
	return jobs(f, outDir, filepath.Join)
}

// ContainerJobs is Jobs for a `prefect` that runs inside a Linux container: outDir is
// a container path and the output files are joined with '/', whatever the OS the
// argv is built on (filepath.Join would write `\` on Windows).
func ContainerJobs(f *spec.File, outDir string) ([]Job, error) {
	return jobs(f, outDir, path.Join)
}

func jobs(f *spec.File, outDir string, join func(...string) string) ([]Job, error) {
	jobs := make([]Job, 0, len(f.Deployments))
	width := len(strconv.Itoa(len(f.Deployments)))
	for i, d := range f.Deployments {
		out := join(outDir, fmt.Sprintf("%0*d-%s.yaml", width, i+1, sanitise(d.Name)))
		args, err := BuildArgs(d, out)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		jobs = append(jobs, Job{Name: d.Name, Args: args})
	}
	return jobs, nil
}

func sanitise(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 60 {
			break
		}
	}
	if b.Len() == 0 {
		return "deployment"
	}
	return b.String()
}
