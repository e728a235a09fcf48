package prefectcli

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// wireResult is one Result in a results file (prefect-deploy apply --results FILE), the
// hand-over from a prefect-deploy run in a container to the pipeline's report.
type wireResult struct {
	Name         string  `json:"name"`
	Status       Status  `json:"status"`
	ExitCode     int     `json:"exit_code"`
	Seconds      float64 `json:"seconds"`
	DeploymentID string  `json:"deployment_id,omitempty"`
	Error        string  `json:"error,omitempty"`
	Stdout       string  `json:"stdout,omitempty"`
	Stderr       string  `json:"stderr,omitempty"`
}

// MarshalResults writes results as a JSON array.
func MarshalResults(results []Result) ([]byte, error) {
	out := make([]wireResult, len(results))
	for i, r := range results {
		w := wireResult{Name: r.Name, Status: r.Status, ExitCode: r.ExitCode, Seconds: r.Duration.Seconds(),
			DeploymentID: r.DeploymentID, Stdout: KeepTail(r.Stdout, DefaultMaxOutput), Stderr: KeepTail(r.Stderr, DefaultMaxOutput)}
		if r.Err != nil {
			w.Error = r.Err.Error()
		}
		out[i] = w
	}
	return json.MarshalIndent(out, "", " ")
}

// UnmarshalResults reads what MarshalResults wrote.
func UnmarshalResults(data []byte) ([]Result, error) {
	var in []wireResult
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, fmt.Errorf("results file: %w", err)
	}
	out := make([]Result, len(in))
	for i, w := range in {
		r := Result{Name: w.Name, Status: w.Status, ExitCode: w.ExitCode, Duration: time.Duration(w.Seconds * float64(time.Second)),
			DeploymentID: w.DeploymentID, Stdout: w.Stdout, Stderr: w.Stderr}
		if w.Error != "" {
			r.Err = errors.New(w.Error)
		}
		out[i] = r
	}
	return out, nil
}
