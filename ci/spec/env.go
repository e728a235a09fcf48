package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
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
//
// A whole float keeps its ".0" (2.0, not 2): Prefect reads --params with Python's
// json.loads, which makes `2` an int and `2.0` a float, and a YAML 2.0 is a float. An
// untyped flow parameter would otherwise receive an int. NaN and infinities have no
// JSON form and are an error naming where they are.
func ParamsJSON(params map[string]any) (string, error) {
	if params == nil {
		params = map[string]any{}
	}
	v, err := jsonReady(params)
	if err != nil {
		return "", fmt.Errorf("render parameters as JSON: %w", err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("render parameters as JSON: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// jsonReady replaces whole floats by json.Numbers that print with ".0" and refuses the
// floats JSON cannot hold; errors name the key path ("x: [0]: ...").
func jsonReady(v any) (any, error) {
	switch x := v.(type) {
	case float32:
		return jsonReady(float64(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%v cannot be written as JSON", x)
		}
		// From 1e21 on encoding/json switches to exponent form (1e+21), which
		// json.loads already reads as a float.
		if x == math.Trunc(x) && math.Abs(x) < 1e21 {
			return json.Number(strconv.FormatFloat(x, 'f', -1, 64) + ".0"), nil
		}
		return x, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := jsonReady(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := jsonReady(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}
