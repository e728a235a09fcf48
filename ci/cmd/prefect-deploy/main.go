// Command prefect-deploy validates prefect-deployments-<env>.yaml files, prints the
// prefect commands they stand for, and applies them. See package deploycli.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/acme-data/prefect-flows/ci/deploycli"
)

func main() {
	ctx, interrupt := context.WithCancel(context.Background())
	abort := make(chan struct{})
	sigs := make(chan os.Signal, 3)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		// First signal: start nothing new and let running builds finish within the
		// grace period. Second: stop them now. Third: leave at once.
		n := 0
		for s := range sigs {
			n++
			switch n {
			case 1:
				interrupt()
			case 2:
				close(abort)
			default:
				fmt.Fprintf(os.Stderr, "prefect-deploy: %v again: exiting\n", s)
				os.Exit(deploycli.ExitInterrupted)
			}
		}
	}()
	app := &deploycli.App{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin, Interactive: isTerminal(os.Stdin), Env: os.Environ(), Abort: abort}
	os.Exit(app.Run(ctx, os.Args[1:]))
}

// isTerminal is a character device test: it also takes /dev/null for a terminal, which
// is harmless, since reading the prune answer from it gets end of file, which is a no.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
