package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/config"
)

// An entrypoint validation leaves to Prefect's loader (here a re-exported flow) is no
// error: the validate step and `mage script` print its note, and the check step decides.
func TestPlanPrintsNotes(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, repoDir(t, "repo"), dir)
	files := map[string]string{
		"flows/reexport.py":              "from flows.hello import hello as hello_again  # noqa: F401\n",
		"prefect-deployments-notes.yaml": "ib-block: process/dev\ndeployments:\n  - name: reexported\n    entrypoint: flows/reexport.py:hello_again\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const note = "note: " // the rest is spec's wording, tested there
	var out bytes.Buffer
	st := &State{Opts: &Options{Config: config.Config{SourceDir: dir, Env: "notes"}}, Report: &Report{}, out: &out}
	if err := (validateStep{}).Run(context.Background(), st); err != nil {
		t.Fatalf("validate step: %v", err)
	}
	want := "    " + note + filepath.Join(dir, "prefect-deployments-notes.yaml") + ":4:17: deployments[0].entrypoint: hello_again in flows/reexport.py is imported"
	if !strings.Contains(out.String(), want) {
		t.Errorf("validate step output lacks %q:\n%s", want, out.String())
	}

	out.Reset()
	if err := ScriptAll(dir, testOwner, &out); err != nil {
		t.Fatalf("ScriptAll: %v", err)
	}
	if !strings.Contains(out.String(), "# "+note) || strings.Count(out.String(), note) != 1 {
		t.Errorf("mage script output should hold the one note as a comment:\n%s", out.String())
	}
}
