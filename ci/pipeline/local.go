package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"dagger.io/dagger"

	"github.com/acme-data/prefect-flows/ci/config"
)

// DeployLocal is mage's deploy: it checks the settings and the deployments file before
// an engine is started (a typo costs no engine start-up), then connects a library-mode
// client (the SDK fetches its CLI and uses the local Docker), runs the pipeline and
// closes the session.
func DeployLocal(ctx context.Context, c config.Config, out io.Writer) error {
	if err := c.CheckDeploy(); err != nil {
		return err
	}
	ctx, stop := onInterrupt(ctx, out)
	defer stop()
	return local(ctx, c, out, func(ctx context.Context, client *dagger.Client, o Options) error {
		_, err := Run(ctx, client, o)
		return err
	})
}

// ImageLocal builds the image, and publishes it when REGISTRY is set.
func ImageLocal(ctx context.Context, c config.Config, out io.Writer) error {
	return local(ctx, c, out, func(ctx context.Context, client *dagger.Client, o Options) error {
		_, _, err := Build(ctx, client, o)
		return err
	})
}

func local(ctx context.Context, c config.Config, out io.Writer, do func(context.Context, *dagger.Client, Options) error) error {
	m := masker(c.Plaintexts())
	r := &redactor{w: out, m: m}
	err := localRun(ctx, c, r, do)
	ferr := r.Flush()
	if err != nil {
		// Engine errors can quote what they were sent; mage prints this one.
		if masked := m.mask(err.Error()); masked != err.Error() {
			return errors.New(masked)
		}
		return err
	}
	return ferr
}

func localRun(ctx context.Context, c config.Config, out io.Writer, do func(context.Context, *dagger.Client, Options) error) error {
	o := LocalOptions(c, out)
	// The validate step's own checks, before any engine, failing as that step would.
	validateErr := func(err error) error { return fmt.Errorf("step %s: %w", stepName(validateStep{}), err) }
	owner, err := o.owner()
	if err != nil {
		return validateErr(err)
	}
	if f, jobs, err := loadFile(c.SourceDir, c.Env, owner); err != nil {
		return validateErr(err)
	} else if err := o.checkRunner(f); err != nil {
		return validateErr(err)
	} else if len(c.Only) > 0 {
		if _, err := selectJobs(f, jobs, c.Only); err != nil {
			return validateErr(err)
		}
	}
	client, err := connectLocal(ctx, out, ProgressOutput(c, os.Stderr))
	if err != nil {
		return err
	}
	defer client.Close()
	return do(ctx, client, o)
}

// LocalOptions are mage's options: the configuration it read from the environment, with
// the secrets' plaintexts masked in what the pipeline writes and the preflight asking the
// API from this process (the plaintext URL is known here).
func LocalOptions(c config.Config, out io.Writer) Options {
	o := Options{
		Config:     c,
		GitSHAHint: "set GIT_SHA",
		Out:        out,
		Redact:     masker(c.Plaintexts()).mask,
	}
	if url, ok := c.PrefectAPIURL.Plaintext(); ok {
		key, _ := c.PrefectAPIKey.Plaintext()
		o.PrefectAPI = newPreflightAPI(url, key)
	}
	return o
}

// newPreflightAPI is preflightClient; tests whose API URL names no server replace it.
var newPreflightAPI = preflightClient

// ProgressOutput is where Dagger's own progress goes: stderr when DAGGER_PROGRESS asks
// for it, else nowhere. By default the log holds only the pipeline's lines; with both,
// every exec's output would appear twice (once in Dagger's progress, once in the step's
// lines). Nil also keeps the SDK quiet: it then buffers the engine's stderr only to
// quote it in a connection error.
func ProgressOutput(c config.Config, stderr io.Writer) io.Writer {
	if c.DaggerProgress == "" {
		return nil
	}
	return stderr
}

// connectLocal starts the library-mode session. The SDK ends the session when the
// context given to Connect is done (it closes the child's stdin), so Connect gets one
// that an interrupt does not cancel: the restore after a Ctrl-C still needs the engine.
// Close ends it. protectSession keeps the terminal's Ctrl-C away from the session child.
// progress receives Dagger's own progress (ProgressOutput); nil drops it.
func connectLocal(ctx context.Context, out, progress io.Writer) (*dagger.Client, error) {
	restore, note := protectSession()
	defer restore()
	if note != "" {
		fmt.Fprintf(out, "note: %s\n", note)
	}
	client, err := daggerConnect(context.WithoutCancel(ctx), dagger.WithLogOutput(progress))
	if err != nil {
		return nil, fmt.Errorf("connect to the Dagger engine (is Docker running?): %w", err)
	}
	return client, nil
}

// daggerConnect is dagger.Connect; a test looks at the context it is given.
var daggerConnect = dagger.Connect

// masker lists secret plaintexts to hide in text that leaves the process: a second line
// of defence behind the engine's own scrubbing of exec output.
type masker []string

func (m masker) mask(s string) string {
	for _, sec := range m {
		// Very short values would mask ordinary words; no real credential is that short.
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	return s
}

// redactor masks what is written through it a line at a time, so a secret that arrives
// in two writes is still seen whole. Flush writes out an unfinished last line.
type redactor struct {
	w  io.Writer
	m  masker
	mu sync.Mutex
	// buf holds the unfinished line.
	buf []byte
}

func (r *redactor) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(r.buf, p...)
	if i := bytes.LastIndexByte(r.buf, '\n'); i >= 0 {
		lines := string(r.buf[:i+1])
		r.buf = append(r.buf[:0], r.buf[i+1:]...)
		if _, err := io.WriteString(r.w, r.m.mask(lines)); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush writes out what is left after the last newline.
func (r *redactor) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) == 0 {
		return nil
	}
	rest := string(r.buf)
	r.buf = r.buf[:0]
	_, err := io.WriteString(r.w, r.m.mask(rest))
	return err
}
