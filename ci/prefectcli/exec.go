package prefectcli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ExecRunner runs jobs as `prefect` processes: argv straight to exec, never a shell.
type ExecRunner struct {
	// Prefect is the executable; empty means "prefect" looked up in PATH.
	Prefect string
	// Workdir is the directory entrypoints are relative to.
	Workdir string
	// Env is the process environment; nil inherits this process's.
	Env []string
	// StopTimeout is how long a cancelled build has between SIGTERM and SIGKILL;
	// 0 means 5s.
	StopTimeout time.Duration
	// MaxOutput caps the bytes kept per stream (the end is kept); 0 means DefaultMaxOutput.
	MaxOutput int
}

// Run starts the job in its own process group, so that a terminal's Ctrl-C reaches
// only this wrapper, which then decides when the builds stop; on cancellation it
// sends SIGTERM to the group and SIGKILL after StopTimeout.
func (r *ExecRunner) Run(ctx context.Context, job Job) Result {
	res := Result{Name: job.Name, ExitCode: -1}
	bin := r.Prefect
	if bin == "" {
		bin = "prefect"
	}
	stop := r.StopTimeout
	if stop <= 0 {
		stop = 5 * time.Second
	}
	limit := r.MaxOutput
	if limit <= 0 {
		limit = DefaultMaxOutput
	}
	stdout, stderr := &tailBuffer{max: limit}, &tailBuffer{max: limit}

	cmd := exec.CommandContext(ctx, bin, job.Args...)
	cmd.Dir = r.Workdir
	cmd.Env = r.Env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	setProcessGroup(cmd)
	var killTimer atomic.Pointer[time.Timer]
	cmd.Cancel = func() error {
		proc := cmd.Process
		killTimer.Store(time.AfterFunc(stop, func() { killProcessGroup(proc) }))
		// os.ErrProcessDone (it exited just now) lets Wait report its own status.
		return terminateProcessGroup(proc)
	}
	// After SIGKILL, stop waiting for pipes a stray grandchild may hold open.
	cmd.WaitDelay = stop + time.Second

	start := time.Now()
	err := cmd.Run()
	res.Duration = time.Since(start)
	if t := killTimer.Load(); t != nil {
		t.Stop()
	}
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}

	var exitErr *exec.ExitError
	switch {
	case err == nil:
		res.Status = StatusSucceeded
		res.DeploymentID = ParseDeploymentID(res.Stdout)
	case ctx.Err() != nil:
		res.Status = StatusCancelled
		if errors.Is(context.Cause(ctx), ErrTimedOut) {
			res.Status = StatusTimedOut
		}
		// Apply says why (timeout or interrupt); the runner says how it ended.
		res.Err = fmt.Errorf("prefect stopped (%s)", describeExit(cmd))
	case errors.As(err, &exitErr):
		res.Status = StatusFailed
		if res.ExitCode < 0 {
			res.Err = fmt.Errorf("prefect %s", describeExit(cmd))
		}
	default:
		res.Status = StatusFailed
		res.Err = fmt.Errorf("run %s: %w", bin, err)
	}
	return res
}

func describeExit(cmd *exec.Cmd) string {
	if cmd.ProcessState == nil {
		return "not started"
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		names := map[syscall.Signal]string{syscall.SIGKILL: "SIGKILL", syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT"}
		if n, ok := names[ws.Signal()]; ok {
			return "killed by " + n
		}
		return "killed by " + ws.Signal().String()
	}
	return fmt.Sprintf("exit %d", cmd.ProcessState.ExitCode())
}

// The id may be wrapped onto the next line (rich folds at the terminal width), even
// in the middle, so whitespace is allowed anywhere between the words and in the id.
var idRe = regexp.MustCompile(`successfully\s+created\s+with\s+id\s+'([0-9a-fA-F\-\s]{36,80})'`)

// ParseDeploymentID finds the id in `deployment build -a` output, or "".
func ParseDeploymentID(stdout string) string {
	m := idRe.FindStringSubmatch(stdout)
	if m == nil {
		return ""
	}
	id := strings.Join(strings.Fields(m[1]), "")
	if len(id) != 36 {
		return ""
	}
	return id
}

// DefaultMaxOutput is how many bytes of each stream a runner keeps per job by default.
const DefaultMaxOutput = 1 << 20

// KeepTail keeps the last max bytes of s and says how many it dropped, the way every
// runner reports a flood of output: the end of a traceback says most.
func KeepTail(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return withDropped(len(s)-max, s[len(s)-max:])
}

func withDropped(n int, tail string) string {
	return fmt.Sprintf("[... %d bytes dropped ...]\n%s", n, tail)
}

// tailBuffer keeps the last max bytes written, as KeepTail does, while they stream in.
type tailBuffer struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	dropped int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.dropped += over
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped > 0 {
		return withDropped(b.dropped, string(b.buf))
	}
	return string(b.buf)
}

// LookPrefect resolves the prefect executable the way exec would, for an early,
// clear error before anything runs.
func LookPrefect(path string) (string, error) {
	if path == "" {
		path = "prefect"
	}
	p, err := exec.LookPath(path)
	if err != nil {
		return "", fmt.Errorf("find prefect CLI %q: %w", path, err)
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("find prefect CLI: %w", err)
	}
	return p, nil
}
