package batch

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"time"

	"github.com/acme-data/prefect-flows/ci/pyprog"
)

// ImportError says that runner.py started but could not import Prefect. Every later
// process would fail the same way, so the Runner stops starting them.
type ImportError struct {
	Traceback string
}

func (e *ImportError) Error() string {
	return "the batch runner could not import prefect.cli: " + truncate(e.Traceback, 2000)
}

// proc is one runner.py process. Only the goroutine holding its slot talks to it.
type proc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	// lines carries stdout lines; it is closed at EOF, after readErr is set.
	lines      chan []byte
	readErr    error
	readerDone chan struct{}
	// dead is closed once nobody will receive from lines any more.
	dead    chan struct{}
	stderr  *tail
	endOnce sync.Once
	waitErr error
}

// startProc starts runner.py and waits until it has imported Prefect.
func startProc(ctx context.Context, python, script, dir string, env []string, log io.Writer) (*proc, error) {
	argv := pyprog.Argv(python, script)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	setProcessGroup(cmd)
	// Never hand the child one of our *os.File: a terminal on fd 2 would change the
	// width rich wraps at, so output would differ from the CLI runner's.
	p := &proc{
		cmd:        cmd,
		lines:      make(chan []byte),
		readerDone: make(chan struct{}),
		dead:       make(chan struct{}),
		stderr:     newTail(4096),
	}
	if log != nil {
		cmd.Stderr = io.MultiWriter(p.stderr, log)
	} else {
		cmd.Stderr = p.stderr
	}
	cmd.WaitDelay = 2 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("stdin pipe: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	p.stdin = stdin
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", python, err)
	}
	go p.read(stdout)

	select {
	case line, ok := <-p.lines:
		if !ok {
			p.kill()
			return nil, fmt.Errorf("runner process exited before it was ready: %w", p.exitError())
		}
		w, err := decodeLine(line)
		if err != nil || w.Ready == nil {
			p.kill()
			return nil, fmt.Errorf("runner process did not say it was ready: %q", truncate(string(line), 200))
		}
		if !*w.Ready {
			p.kill()
			return nil, &ImportError{Traceback: w.Error}
		}
		return p, nil
	case <-ctx.Done():
		p.kill()
		return nil, ctx.Err()
	}
}

func (p *proc) read(r io.Reader) {
	defer close(p.readerDone)
	defer close(p.lines)
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			select {
			case p.lines <- line:
			case <-p.dead:
			}
		}
		if err != nil {
			p.readErr = err
			return
		}
	}
}

// exited reports whether the process has closed its stdout (it died while idle).
func (p *proc) exited() bool {
	select {
	case <-p.readerDone:
		return true
	default:
		return false
	}
}

var errNoAnswer = errors.New("runner process gave no answer in time")

// do sends one job and waits for its result. A ctx error means the job was stopped
// (the caller kills the process); any other error means the process is broken.
func (p *proc) do(ctx context.Context, id string, line []byte, answerTimeout time.Duration) (wireResult, error) {
	if _, err := p.stdin.Write(line); err != nil {
		return wireResult{}, fmt.Errorf("send job to runner process: %w (%v)", err, p.exitError())
	}
	var timeout <-chan time.Time
	if answerTimeout > 0 {
		t := time.NewTimer(answerTimeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case out, ok := <-p.lines:
		if !ok {
			return wireResult{}, fmt.Errorf("runner process died during the job: %w", p.exitError())
		}
		w, err := decodeLine(out)
		if err != nil {
			return wireResult{}, err
		}
		if w.ID == nil || *w.ID != id {
			return wireResult{}, fmt.Errorf("runner process answered for job %v while running job %s", derefOr(w.ID, "<none>"), id)
		}
		return w, nil
	case <-ctx.Done():
		return wireResult{}, ctx.Err()
	case <-timeout:
		return wireResult{}, fmt.Errorf("%w (%s)", errNoAnswer, answerTimeout)
	}
}

// exitError describes how the process ended; call it only once its stdout is closed.
func (p *proc) exitError() error {
	p.kill()
	err := p.waitErr
	if err == nil {
		err = errors.New("exit status 0")
	}
	if t := p.stderr.String(); t != "" {
		return fmt.Errorf("%w; its stderr ends with: %s", err, t)
	}
	return err
}

// kill stops the process group at once and reaps it.
func (p *proc) kill() {
	p.endOnce.Do(func() {
		close(p.dead)
		killProcessGroup(p.cmd)
		_ = p.stdin.Close()
		p.awaitReader(5 * time.Second)
		p.waitErr = p.cmd.Wait()
	})
}

// stop lets the process finish on end of input, killing it after grace.
func (p *proc) stop(grace time.Duration) {
	p.endOnce.Do(func() {
		close(p.dead)
		_ = p.stdin.Close()
		if !p.awaitReader(grace) {
			killProcessGroup(p.cmd)
			p.awaitReader(5 * time.Second)
		}
		done := make(chan error, 1)
		go func() { done <- p.cmd.Wait() }()
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case p.waitErr = <-done:
		case <-t.C:
			// Still unreaped, so the group id cannot have been reused yet.
			killProcessGroup(p.cmd)
			p.waitErr = <-done
		}
	})
}

func (p *proc) awaitReader(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.readerDone:
		return true
	case <-t.C:
		return false
	}
}

func derefOr(s *string, def string) string {
	if s == nil {
		return def
	}
	return *s
}

// tail keeps the last bytes written to it: a dying runner's last words.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}
