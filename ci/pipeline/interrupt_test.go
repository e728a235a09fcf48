package pipeline

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/prefectcli"
)

// TestWatchInterrupts: the first Ctrl-C cancels the run's context (the restore then
// runs on its own), the second exits at once with 130 and says the blocks stay.
func TestWatchInterrupts(t *testing.T) {
	sigs := make(chan os.Signal)
	exited := make(chan int, 1)
	var out bytes.Buffer
	w := &lockedWriter{w: &out}
	ctx, stop := watchInterrupts(context.Background(), sigs, w, func(code int) { exited <- code })
	defer stop()
	sigs <- os.Interrupt
	<-ctx.Done()
	if !errors.Is(context.Cause(ctx), prefectcli.ErrInterrupted) {
		t.Errorf("cause %v, want prefectcli.ErrInterrupted", context.Cause(ctx))
	}
	sigs <- os.Interrupt
	if code := <-exited; code != 130 {
		t.Errorf("exit %d, want 130", code)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, want := range []string{"then the blocks are put back", "the blocks were not put back"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
