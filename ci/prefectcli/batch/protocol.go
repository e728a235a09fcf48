package batch

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/acme-data/prefect-flows/ci/prefectcli"
)

// wireJob is one line on runner.py's input.
type wireJob struct {
	ID   string   `json:"id"`
	Argv []string `json:"argv,omitempty"`
	// Argvb carries the arguments base64-encoded when one of them is not valid UTF-8:
	// JSON would replace such bytes, the CLI runner passes them through unchanged.
	Argvb []string `json:"argvb,omitempty"`
}

// wireResult is one line on runner.py's output: a job's result or the ready line.
type wireResult struct {
	ID       *string `json:"id"`
	ExitCode int     `json:"exit_code"`
	Stdout   string  `json:"stdout"`
	Stderr   string  `json:"stderr"`
	Seconds  float64 `json:"seconds"`
	Error    string  `json:"error"`

	Ready *bool `json:"ready"`
	PID   int   `json:"pid"`
}

// checkArgs rejects what exec cannot pass either, so both runners refuse the same argv.
func checkArgs(args []string) error {
	for i, a := range args {
		if strings.IndexByte(a, 0) >= 0 {
			return fmt.Errorf("argument %d contains a NUL byte", i)
		}
	}
	return nil
}

// encodeJob returns the job line, newline included.
func encodeJob(id string, args []string) ([]byte, error) {
	w := wireJob{ID: id, Argv: args}
	for _, a := range args {
		if !utf8.ValidString(a) {
			w.Argv = nil
			w.Argvb = make([]string, len(args))
			for i, a := range args {
				w.Argvb[i] = base64.StdEncoding.EncodeToString([]byte(a))
			}
			break
		}
	}
	if w.Argv == nil && w.Argvb == nil {
		w.Argv = []string{} // "argv": [] rather than a missing field
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, fmt.Errorf("encode job %s: %w", id, err)
	}
	return b.Bytes(), nil
}

func decodeLine(line []byte) (wireResult, error) {
	var w wireResult
	if err := json.Unmarshal(line, &w); err != nil {
		return w, fmt.Errorf("bad result line %q: %w", truncate(string(line), 200), err)
	}
	return w, nil
}

// toResult turns a runner.py result into the Result the CLI runner would give.
func toResult(name string, w wireResult) prefectcli.Result {
	r := prefectcli.Result{
		Name:     name,
		ExitCode: w.ExitCode,
		Stdout:   w.Stdout,
		Stderr:   w.Stderr,
		Duration: time.Duration(w.Seconds * float64(time.Second)),
		Status:   prefectcli.StatusSucceeded,
	}
	if w.Error != "" {
		r.Err = fmt.Errorf("batch runner rejected the job: %s", w.Error)
	}
	if r.ExitCode != 0 || r.Err != nil {
		r.Status = prefectcli.StatusFailed
	} else {
		r.DeploymentID = prefectcli.ParseDeploymentID(r.Stdout)
	}
	return r
}

// EncodeJobs writes a jobs file for `runner.py --jobs FILE`: job i gets the id "i".
// It is for places without an interactive stdin, such as a Dagger exec.
func EncodeJobs(jobs []prefectcli.Job) ([]byte, error) {
	var b bytes.Buffer
	for i, j := range jobs {
		if err := checkArgs(j.Args); err != nil {
			return nil, fmt.Errorf("job %s: %w", j.Name, err)
		}
		line, err := encodeJob(strconv.Itoa(i), j.Args)
		if err != nil {
			return nil, fmt.Errorf("job %s: %w", j.Name, err)
		}
		b.Write(line)
	}
	return b.Bytes(), nil
}

// ErrNoAnswer marks a job whose result is missing from a runner's output: the runner
// died before reaching it. Run such jobs once more through the plain CLI.
var ErrNoAnswer = errors.New("the batch runner gave no result for this job")

// DecodeResults reads the stdout of `runner.py --jobs FILE` run on EncodeJobs(jobs)
// and returns one Result per job, in the order of jobs. A job without a result line
// gets Status failed and Err wrapping ErrNoAnswer; missing lists their indexes. An
// error means the output is not a runner's output at all (for example, Prefect
// could not be imported: the ready line says why).
func DecodeResults(jobs []prefectcli.Job, stdout []byte) (results []prefectcli.Result, missing []int, err error) {
	got := make(map[int]wireResult, len(jobs))
	lines := bytes.Split(stdout, []byte("\n"))
	for k, line := range lines {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		w, err := decodeLine(line)
		if err != nil {
			if k == len(lines)-1 && k > 0 && line[0] == '{' {
				// A result line without its newline, after the ready line: the runner
				// was killed while writing it. Its job counts as missing, the lines
				// before it stand.
				continue
			}
			return nil, nil, err
		}
		if w.Ready != nil {
			if !*w.Ready {
				return nil, nil, fmt.Errorf("batch runner could not import Prefect: %s", truncate(w.Error, 2000))
			}
			continue
		}
		if w.ID == nil {
			return nil, nil, fmt.Errorf("batch runner rejected a job line: %s", w.Error)
		}
		i, convErr := strconv.Atoi(*w.ID)
		if convErr != nil || i < 0 || i >= len(jobs) {
			return nil, nil, fmt.Errorf("batch runner answered for unknown job id %q", *w.ID)
		}
		got[i] = w
	}
	results = make([]prefectcli.Result, len(jobs))
	for i, j := range jobs {
		w, ok := got[i]
		if !ok {
			results[i] = prefectcli.Result{Name: j.Name, Status: prefectcli.StatusFailed, ExitCode: -1, Err: ErrNoAnswer}
			missing = append(missing, i)
			continue
		}
		results[i] = toResult(j.Name, w)
	}
	return results, missing, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
