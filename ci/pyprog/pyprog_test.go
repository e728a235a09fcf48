package pyprog_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/inspect"
	"github.com/acme-data/prefect-flows/ci/pipeline"
	"github.com/acme-data/prefect-flows/ci/prefectcli/batch"
	"github.com/acme-data/prefect-flows/ci/prefectcli/blocksnap"
	"github.com/acme-data/prefect-flows/ci/pyprog"
	"github.com/acme-data/prefect-flows/ci/pytrace"
)

// Every program is declared under its real file: the embedded text is that file's,
// byte for byte, and it lands at ContainerRoot + that path.
func TestProgramsAreTheirFiles(t *testing.T) {
	for _, p := range []pyprog.Program{inspect.Program, batch.Program, blocksnap.Program, pipeline.HealthProgram} {
		b, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(p.Path())))
		if err != nil {
			t.Errorf("%s: %v", p.Path(), err)
			continue
		}
		if string(b) != p.Source() {
			t.Errorf("%s: the embedded text is not the file's", p.Path())
		}
		if got := p.ContainerPath(); got != "/tmp/prefect-flows-ci/"+p.Path() {
			t.Errorf("%s lands at %s", p.Path(), got)
		}
	}
}

func TestArgv(t *testing.T) {
	if got, want := batch.Program.ContainerArgs("--jobs", "j.jsonl"), []string{"python", "-u", "/tmp/prefect-flows-ci/ci/prefectcli/batch/runner.py", "--jobs", "j.jsonl"}; !slices.Equal(got, want) {
		t.Errorf("ContainerArgs = %q, want %q", got, want)
	}
	if got, want := pyprog.Argv("/venv/bin/python", "/x/y.py"), []string{"/venv/bin/python", "-u", "/x/y.py"}; !slices.Equal(got, want) {
		t.Errorf("Argv = %q, want %q", got, want)
	}
}

func TestNewRefusesAPathThatIsNotAProgramFile(t *testing.T) {
	for _, p := range []string{"/abs/x.py", "ci/x.go", "../x.py", "ci/../x.py", "ci//x.py", "x.py/"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%q) did not panic", p)
				}
			}()
			pyprog.New(p, nil)
		}()
	}
}

// A program written with WriteUnder and run with Argv fails with a traceback that names
// its real path (the repository path under the directory), and pytrace still makes
// one line of it.
func TestTracebackNamesTheFile(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	src, err := os.ReadFile("testdata/boom.py")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file, err := pyprog.New("ci/pyprog/testdata/boom.py", src).WriteUnder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "ci", "pyprog", "testdata", "boom.py"); file != want {
		t.Fatalf("WriteUnder = %s, want %s", file, want)
	}
	argv := pyprog.Argv(python, file, "a", "b")
	cmd := exec.Command(argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var ee *exec.ExitError
	if err := cmd.Run(); !errors.As(err, &ee) {
		t.Fatalf("run: %v, want exit code 1", err)
	}
	if !strings.Contains(stderr.String(), `File "`+file+`", line 6, in main`) {
		t.Errorf("traceback does not name %s:\n%s", file, stderr.String())
	}
	f := pytrace.FromOutput(ee.ExitCode(), stdout.String(), stderr.String())
	if got, want := f.Error(), "ValueError: boom: a b (exit code 1)"; got != want {
		t.Errorf("pytrace: %q, want %q", got, want)
	}
	if stdout.String() != "started\n" {
		t.Errorf("stdout = %q", stdout.String())
	}
}
