package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/acme-data/prefect-flows/ci/prefectcli"
)

// onInterrupt takes SIGINT and SIGTERM over for DeployLocal. Mage (v1.15, its
// runTarget) cancels a target's context on Ctrl-C but exits 5 s later whatever the
// target is doing: too soon for builds in their grace period and the restore after
// them. So mage's own handler is dropped (signal.Reset) for the run: the first signal
// cancels the returned context, the second exits at once with 130.
func onInterrupt(parent context.Context, out io.Writer) (context.Context, func()) {
	sigs := make(chan os.Signal, 2)
	signal.Reset(os.Interrupt, syscall.SIGTERM)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, stop := watchInterrupts(parent, sigs, out, os.Exit)
	return ctx, func() {
		signal.Stop(sigs)
		stop()
	}
}

// watchInterrupts is onInterrupt without the process-wide parts, for tests.
func watchInterrupts(parent context.Context, sigs <-chan os.Signal, out io.Writer, exit func(int)) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-done:
				return
			case s := <-sigs:
				n++
				if n == 1 {
					fmt.Fprintf(out, "\n!!! %s: stopping; running builds get their grace period, then the blocks are put back. Press Ctrl-C again to exit at once (the blocks then stay as they are).\n", s)
					cancel(prefectcli.ErrInterrupted)
					continue
				}
				fmt.Fprintf(out, "\n!!! %s again: exiting now; the blocks were not put back\n", s)
				exit(130)
				return
			}
		}
	}()
	return ctx, func() {
		close(done)
		cancel(nil)
	}
}
