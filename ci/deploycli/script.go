package deploycli

import (
	"fmt"
	"io"

	"github.com/acme-data/prefect-flows/ci/prefectcli"
)

// Script is the shell script that `prefect-deploy script` prints: pasted into a shell it runs
// what apply runs. The Dagger pipeline's `mage script` prints the same script with the
// image's paths, so both show one thing.
type Script struct {
	File    string           // the deployments file, as the header names it
	Workdir string           // where the commands run; entrypoints are relative to it
	OutDir  string           // the directory of the builds' -o files: Prefect does not create it
	Prefect string           // the prefect executable
	Setup   [][]string       // commands that run before the builds (the pipeline's block registration)
	Jobs    []prefectcli.Job // one `deployment build` each
}

// Write prints the script, one command a line, every word quoted for a POSIX shell.
func (p Script) Write(w io.Writer) error {
	lines := []string{
		fmt.Sprintf("# %s: %d deployment(s); entrypoints are relative to the cd below", p.File, len(p.Jobs)),
		"cd " + ShellQuote(p.Workdir),
	}
	for _, argv := range p.Setup {
		lines = append(lines, ShellJoin(argv))
	}
	lines = append(lines, "mkdir -p "+ShellQuote(p.OutDir))
	for _, j := range p.Jobs {
		lines = append(lines, ShellJoin(append([]string{p.Prefect}, j.Args...)))
	}
	for _, l := range lines {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	return nil
}
