// Package inspect loads every flow of a run once, with Prefect's own loader, in one
// Python process (inspect_flows.py, embedded here), and reads what it prints: each
// entrypoint's flow name, parameter schema exactly as Prefect 2.14 computes it, the
// version and description the CLI would fill in, and the installed Prefect version.
//
// The program runs wherever Prefect is installed: the host's Python (prefect-deploy
// --python) or the deploy image (the pipeline's check step). Its output is a pure
// function of the image and the flow files, so the pipeline caches it with the image.
package inspect

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/acme-data/prefect-flows/ci/pyprog"
	"github.com/acme-data/prefect-flows/ci/pytrace"
)

//go:embed inspect_flows.py
var source []byte

// Program is inspect_flows.py. The name must stay: a file named inspect.py would hide
// Python's own inspect module from Prefect (the program's folder is first on sys.path).
var Program = pyprog.New("ci/inspect/inspect_flows.py", source)

// Format is the output version this package reads.
const Format = 1

// Flow is what the program found for one entrypoint.
type Flow struct {
	// Entrypoint is as given (as written in the deployments file).
	Entrypoint string `json:"entrypoint"`
	OK         bool   `json:"ok"`
	// Error is the exception's text when the flow did not load.
	Error string `json:"error"`
	// FlowName is the flow's name (@flow(name=...), else the function name with '_' -> '-').
	FlowName string `json:"flow_name"`
	// Function is the Python function name.
	Function string `json:"function"`
	// DeploymentEntrypoint is the entrypoint as `prefect deployment build` stores it: the
	// file relative to the working directory, ':', the function name.
	DeploymentEntrypoint string `json:"deployment_entrypoint"`
	// ParameterSchema is parameter_schema(flow).dict() as Python's json.dumps wrote it:
	// the very bytes the CLI sends as parameter_openapi_schema.
	ParameterSchema json.RawMessage `json:"parameter_openapi_schema"`
	// Version is the flow's version: the md5 of its file unless @flow(version=...).
	Version *string `json:"version"`
	// Description is @flow(description=...) or the cleaned docstring; nil when neither.
	Description *string `json:"description"`
	// FileMD5 is the md5 of the flow file.
	FileMD5 string `json:"file_md5"`
}

// ErrorLine is the last line of Error: the exception and its message.
func (f *Flow) ErrorLine() string { return pytrace.LastLine(f.Error) }

// Result is the program's whole output.
type Result struct {
	Format         int    `json:"format"`
	PrefectVersion string `json:"prefect_version"`
	Python         string `json:"python"`
	// Error is set when Prefect itself did not import.
	Error string `json:"error"`
	Flows []Flow `json:"flows"`
}

// Flow returns the result for entrypoint ep.
func (r *Result) Flow(ep string) (*Flow, bool) {
	for i := range r.Flows {
		if r.Flows[i].Entrypoint == ep {
			return &r.Flows[i], true
		}
	}
	return nil, false
}

// Failed lists "entrypoint: last line of the error" for every flow that did not load.
func (r *Result) Failed() []string {
	var out []string
	for _, f := range r.Flows {
		if !f.OK {
			out = append(out, f.Entrypoint+": "+f.ErrorLine())
		}
	}
	return out
}

// Missing lists the entrypoints of eps that the result does not cover.
func (r *Result) Missing(eps []string) []string {
	var out []string
	for _, ep := range eps {
		if _, ok := r.Flow(ep); !ok {
			out = append(out, ep)
		}
	}
	return out
}

// Parse reads the program's stdout. Lines before the document (there should be none)
// are skipped; the document is the last line that starts with '{'.
func Parse(data []byte) (*Result, error) {
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	var doc []byte
	for i := len(lines) - 1; i >= 0; i-- {
		if l := bytes.TrimSpace(lines[i]); len(l) > 0 && l[0] == '{' {
			doc = l
			break
		}
	}
	if doc == nil {
		// An --inspected file may also be pretty-printed JSON.
		if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
			doc = t
		} else {
			return nil, errors.New("no JSON document in the inspect output")
		}
	}
	var r Result
	if err := json.Unmarshal(doc, &r); err != nil {
		return nil, fmt.Errorf("inspect output is not the expected JSON: %w", err)
	}
	if r.Format != Format {
		return nil, fmt.Errorf("inspect output has format %d, expected %d (made by another version of prefect-deploy?)", r.Format, Format)
	}
	if r.Error != "" {
		return &r, fmt.Errorf("prefect does not import in that Python: %s", pytrace.LastLine(r.Error))
	}
	for i, f := range r.Flows {
		if f.OK && (f.FlowName == "" || len(f.ParameterSchema) == 0 || f.DeploymentEntrypoint == "") {
			return nil, fmt.Errorf("inspect output: flows[%d] (%s) lacks flow_name, parameter_openapi_schema or deployment_entrypoint", i, f.Entrypoint)
		}
	}
	return &r, nil
}

// ReadFile parses a saved output (prefect-deploy apply --inspected FILE).
func ReadFile(path string) (*Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read inspect output: %w", err)
	}
	r, err := Parse(data)
	if err != nil {
		return r, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// Options says where and how to run the program.
type Options struct {
	// Python is the interpreter that has Prefect; "" means python3.
	Python string
	// Workdir is where entrypoints are relative to (the repository root).
	Workdir string
	// Env is the whole environment; nil means os.Environ().
	Env []string
}

// Run runs the program once for every distinct entrypoint. A flow that does not load
// is in the result (Flow.OK false), not an error; an error means the program gave no
// result (no such Python, Prefect missing, a crash), said in one line.
func Run(ctx context.Context, entrypoints []string, o Options) (*Result, error) {
	python := o.Python
	if python == "" {
		python = "python3"
	}
	dir, err := os.MkdirTemp("", "prefect-inspect-")
	if err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	defer os.RemoveAll(dir)
	path, err := Program.WriteUnder(dir)
	if err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	argv := pyprog.Argv(python, path, Distinct(entrypoints)...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = o.Workdir
	cmd.Env = o.Env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("inspect flows with %s: %w", python, ctx.Err())
	}
	r, perr := Parse(stdout.Bytes())
	if perr == nil {
		return r, nil
	}
	why := pytrace.LastLine(stderr.String())
	if r != nil && r.Error != "" {
		why = pytrace.LastLine(r.Error)
	}
	switch {
	case runErr != nil && why != "":
		return nil, fmt.Errorf("inspect flows with %s: %v: %s", python, shortExit(runErr), why)
	case runErr != nil:
		return nil, fmt.Errorf("inspect flows with %s: %v", python, shortExit(runErr))
	case why != "":
		return nil, fmt.Errorf("inspect flows with %s: %v (stderr: %s)", python, perr, why)
	}
	return nil, fmt.Errorf("inspect flows with %s: %w", python, perr)
}

func shortExit(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Sprintf("exit code %d", ee.ExitCode())
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Distinct keeps the first of each entrypoint, in order.
func Distinct(eps []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, ep := range eps {
		if !seen[ep] {
			seen[ep] = true
			out = append(out, ep)
		}
	}
	return out
}
