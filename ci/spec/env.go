package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
)

const (
	envFilePrefix = "prefect-deployments-"
	envFileSuffix = ".yaml"
)

// EnvFile is the file name that holds the deployments of env.
func EnvFile(env string) string { return envFilePrefix + env + envFileSuffix }

// Env is the environment the file is for, taken from its name
// (prefect-deployments-<env>.yaml or .yml); "" when the name has another form.
func (f *File) Env() string {
	base := filepath.Base(f.Path)
	if !strings.HasPrefix(base, envFilePrefix) {
		return ""
	}
	rest := strings.TrimPrefix(base, envFilePrefix)
	for _, ext := range []string{".yaml", ".yml"} {
		if env, ok := strings.CutSuffix(rest, ext); ok && env != "" {
			return env
		}
	}
	return ""
}

// ParamsJSON renders parameters as the JSON object passed to --params: keys sorted at
// every level (encoding/json sorts map keys), no HTML escaping, so quotes, `<>&`, `$`,
// backticks, newlines and non-ASCII text reach Prefect byte for byte. An empty or nil
// map renders as "{}"; callers decide whether to pass it.
func ParamsJSON(params map[string]any) (string, error) {
	if params == nil {
		params = map[string]any{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(params); err != nil {
		return "", fmt.Errorf("render parameters as JSON: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}
