package deploycli

import (
	"os"
	"path/filepath"
	"strings"
)

// DefaultPythonPath is apply's --python-path: the repository's shared Python package
// directory, which the image puts on PYTHONPATH (Dockerfile: ENV PYTHONPATH=/opt/prefect/src).
const DefaultPythonPath = "src"

// ConsoleColumns is the console width Prefect's CLI gets when COLUMNS is not set: rich
// wraps its messages at the console width (80 when output is not a terminal), which
// breaks words and ids across lines ("No \n module named ...").
const ConsoleColumns = "1000"

// LocalEnv is the environment of the builds apply runs, made to match the image: the
// directory pythonPath (relative to workdir; "" for none) goes first on PYTHONPATH when
// it exists, ahead of any PYTHONPATH already set, so flows import the shared package on
// a laptop as they do in the image; and COLUMNS is set wide unless it is set already.
// The rule is the same inside the image, where /opt/prefect/src is already first.
func LocalEnv(env []string, workdir, pythonPath string) []string {
	out := make([]string, 0, len(env)+2)
	var oldPath string
	hasColumns := false
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "PYTHONPATH":
			oldPath = v
			continue
		case "COLUMNS":
			hasColumns = strings.TrimSpace(v) != ""
		}
		out = append(out, kv)
	}
	var parts []string
	if pythonPath != "" {
		dir := pythonPath
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(workdir, dir)
		}
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			parts = append(parts, dir)
		}
	}
	for _, p := range filepath.SplitList(oldPath) {
		if p != "" && (len(parts) == 0 || p != parts[0]) {
			parts = append(parts, p)
		}
	}
	if len(parts) > 0 {
		out = append(out, "PYTHONPATH="+strings.Join(parts, string(os.PathListSeparator)))
	}
	if !hasColumns {
		out = append(out, "COLUMNS="+ConsoleColumns)
	}
	return out
}
