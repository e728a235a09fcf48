package deploycli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/acme-data/prefect-flows/ci/prefectcli"
	"github.com/acme-data/prefect-flows/ci/prefectcli/batch"
)

// newBatchRunner is --runner batch: every build goes through Prefect's own CLI
// application in a few warm Python processes (batch.Runner), and a job whose process
// broke runs once more through the plain CLI, with a warning line on stderr.
func newBatchRunner(c RunnerConfig) (prefectcli.Runner, error) {
	cli := &prefectcli.ExecRunner{Prefect: c.Prefect, Workdir: c.Workdir, Env: c.Env}
	w := &retryWarner{w: c.Stderr}
	if w.w == nil {
		w.w = io.Discard
	}
	r, err := batch.New(batch.Options{
		Processes: c.Concurrency,
		Python:    c.Python,
		Env:       c.Env,
		Workdir:   c.Workdir,
		Fallback:  cli,
		OnRetry:   w.warn,
		// What a runner prints outside a job is Prefect's import-time noise; the CLI
		// runner shows no such thing either. A crash's stderr tail is in the retry
		// reason.
		Log: io.Discard,
	})
	if err != nil {
		return nil, fmt.Errorf("start the batch runner: %w", err)
	}
	return r, nil
}

// retryWarner prints one line per job that the batch runner hands to the CLI. An
// import failure hits every job the same way, so its traceback is printed once.
type retryWarner struct {
	mu         sync.Mutex
	w          io.Writer
	importSeen bool
}

func (r *retryWarner) warn(job prefectcli.Job, reason error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ie *batch.ImportError
	if errors.As(reason, &ie) {
		if !r.importSeen {
			r.importSeen = true
			fmt.Fprintf(r.w, "prefect-deploy: warning: the batch runner cannot import prefect.cli with this Python (give --python the interpreter Prefect is installed in, or use --runner cli); every build runs with the prefect CLI instead:\n%s\n",
				indentLines(strings.TrimRight(ie.Traceback, "\n"), "    "))
		}
		fmt.Fprintf(r.w, "! %s: batch runner unavailable (prefect.cli not importable); running it with the prefect CLI\n", job.Name)
		return
	}
	fmt.Fprintf(r.w, "! %s: batch runner failed (%s); running it once more with the prefect CLI\n", job.Name,
		indentLines(strings.TrimRight(reason.Error(), "\n"), "    "))
}

func indentLines(s, prefix string) string {
	return strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// PythonFor names the interpreter the batch runner should use for the prefect
// executable at prefectPath: the one its script starts (the shebang of a pip or pipx
// entry point names the interpreter of the environment Prefect is installed in).
// It returns "python3" when the file names none (a binary, an unreadable file).
func PythonFor(prefectPath string) string {
	f, err := os.Open(prefectPath)
	if err != nil {
		return "python3"
	}
	defer f.Close()
	if py := pythonFromScript(bufio.NewReader(io.LimitReader(f, 8192))); py != "" {
		return py
	}
	return "python3"
}

// pythonFromScript reads the interpreter from a script's first lines: `#!/path/python`,
// `#!/usr/bin/env [-S] [VAR=x] python3`, or the /bin/sh trampoline pip writes when the
// interpreter's path is too long or has spaces for a shebang:
//
//	#!/bin/sh
//	'''exec' "/long path/bin/python" "$0" "$@"
//	' '''
func pythonFromScript(r *bufio.Reader) string {
	first, err := r.ReadString('\n')
	if err != nil && first == "" {
		return ""
	}
	first = strings.TrimRight(first, "\r\n")
	if !strings.HasPrefix(first, "#!") {
		return ""
	}
	fields := strings.Fields(first[2:])
	if len(fields) == 0 {
		return ""
	}
	interp := fields[0]
	if filepath.Base(interp) == "env" {
		interp = ""
		for _, f := range fields[1:] {
			if strings.HasPrefix(f, "-") || strings.Contains(f, "=") {
				continue
			}
			interp = f
			break
		}
		if interp == "" {
			return ""
		}
	}
	if base := filepath.Base(interp); base == "sh" || base == "bash" {
		second, _ := r.ReadString('\n')
		rest, ok := strings.CutPrefix(strings.TrimRight(second, "\r\n"), "'''exec' ")
		if !ok {
			return ""
		}
		if q, ok := strings.CutPrefix(rest, `"`); ok {
			path, _, ok := strings.Cut(q, `"`)
			if !ok {
				return ""
			}
			return path
		}
		if fs := strings.Fields(rest); len(fs) > 0 {
			return fs[0]
		}
		return ""
	}
	if !strings.Contains(filepath.Base(interp), "python") {
		// A script for another interpreter is not a Python entry point.
		return ""
	}
	return interp
}

// python resolves --python (or, without it, the interpreter of the prefect script) to
// an executable, for an early, clear error before anything runs.
func (a *App) python(flagValue, prefectBin string) (string, error) {
	py := flagValue
	if py == "" {
		py = PythonFor(prefectBin)
	}
	path, err := exec.LookPath(py)
	if err != nil {
		return "", fmt.Errorf("--runner batch needs the Python that has Prefect installed: %w (give --python PATH, or use --runner cli)", err)
	}
	// The runner processes start in --workdir, where a relative path would mean
	// something else.
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return path, nil
}
