package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"dagger.io/dagger"
)

// DeployLocal is mage's deploy: it checks the settings and the deployments file before
// an engine is started (a typo costs no engine start-up), then connects a library-mode
// client (the SDK fetches its CLI and uses the local Docker), runs the pipeline and
// closes the session.
func DeployLocal(ctx context.Context, s Settings, out io.Writer) error {
	return local(ctx, s, out, func(ctx context.Context, c *dagger.Client, o Options) error {
		_, err := Run(ctx, c, o)
		return err
	})
}

// ImageLocal builds the image, and publishes it when REGISTRY is set.
func ImageLocal(ctx context.Context, s Settings, out io.Writer) error {
	return local(ctx, s, out, func(ctx context.Context, c *dagger.Client, o Options) error {
		_, _, err := Build(ctx, c, o)
		return err
	})
}

func local(ctx context.Context, s Settings, out io.Writer, do func(context.Context, *dagger.Client, Options) error) error {
	r := &redactor{w: out, secrets: s.plaintexts()}
	if err := localRun(ctx, s, r, do); err != nil {
		// Engine errors can quote what they were sent; mage prints this one.
		if masked := r.mask(err.Error()); masked != err.Error() {
			return errors.New(masked)
		}
		return err
	}
	return nil
}

func localRun(ctx context.Context, s Settings, out io.Writer, do func(context.Context, *dagger.Client, Options) error) error {
	if _, jobs, err := loadJobs(s.SourceDir, s.Env); err != nil {
		return fmt.Errorf("step plan: %w", err)
	} else if len(s.Only) > 0 {
		if _, err := selectJobs(jobs, s.Only); err != nil {
			return fmt.Errorf("step plan: %w", err)
		}
	}
	client, err := dagger.Connect(ctx, dagger.WithLogOutput(os.Stderr))
	if err != nil {
		return fmt.Errorf("connect to the Dagger engine (is Docker running?): %w", err)
	}
	defer client.Close()
	return do(ctx, client, s.Options(client, out))
}

// redactor masks secret plaintexts in everything written through it: a second line of
// defence behind the engine's own scrubbing of exec output.
type redactor struct {
	w       io.Writer
	secrets []string
}

func (r *redactor) mask(s string) string {
	for _, sec := range r.secrets {
		// Very short values would mask ordinary words; no real credential is that short.
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	return s
}

func (r *redactor) Write(p []byte) (int, error) {
	if _, err := io.WriteString(r.w, r.mask(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
