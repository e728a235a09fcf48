//go:build unix

package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"dagger.io/dagger"

	"github.com/acme-data/prefect-flows/ci/internal/fakedagger"
)

// fakeCLI writes a stand-in for the Dagger CLI: `session` writes its pid to pidFile,
// prints the connect parameters of the fake engine, lives until its stdin closes (how
// the SDK ends a session) and then writes "closed" into closed: a FIFO when fifo is
// set (a reader blocks until then), else a plain file.
func fakeCLI(t *testing.T, srv *fakedagger.Server, fifo bool) (cli, pidFile, closed string) {
	dir := t.TempDir()
	pidFile, closed = filepath.Join(dir, "pid"), filepath.Join(dir, "closed")
	if fifo {
		if err := syscall.Mkfifo(closed, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var port, token string
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "DAGGER_SESSION_PORT":
			port = v
		case "DAGGER_SESSION_TOKEN":
			token = v
		}
	}
	cli = filepath.Join(dir, "dagger")
	script := "#!/bin/sh\n[ \"$1\" = session ] || exit 2\necho $$ > " + pidFile + "\n" +
		"printf '{\"port\":" + port + ",\"session_token\":\"" + token + "\"}\\n'\n" +
		"cat >/dev/null\necho closed > " + closed + "\n"
	if err := os.WriteFile(cli, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return cli, pidFile, closed
}

func readPid(t *testing.T, file string) int {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the session child did not start: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestSessionSurvivesCtrlC holds dagger.io/dagger v0.19.7 to what connectLocal relies on:
//
//   - the SDK starts the CLI named by _EXPERIMENTAL_DAGGER_CLI_BIN as `CLI session ...`
//     (engineconn.FromLocalCLI), with this process's environment;
//   - left alone, that child is in this process's process group, which is the group
//     the terminal sends Ctrl-C to;
//   - the SDK ends the session (closes the child's stdin) as soon as the context given
//     to Connect is done: exec.CommandContext with Cmd.Cancel = stdin.Close.
//
// connectLocal therefore starts the child in a process group of its own and connects
// with a context an interrupt does not cancel: after Ctrl-C the session lives on (the
// restore runs there) until Close ends it.
func TestSessionSurvivesCtrlC(t *testing.T) {
	for _, protected := range []bool{false, true} {
		name := map[bool]string{false: "the SDK alone", true: "connectLocal"}[protected]
		t.Run(name, func(t *testing.T) {
			srv := fakedagger.Start(t, fakedagger.WithHandler(handler(nil)))
			cli, pidFile, closed := fakeCLI(t, srv, !protected)
			t.Setenv("_EXPERIMENTAL_DAGGER_CLI_BIN", cli)
			t.Setenv("DAGGER_SESSION_PORT", "")
			os.Unsetenv("DAGGER_SESSION_PORT") // the SDK would take a set one, even empty
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out bytes.Buffer
			var client *dagger.Client
			var err error
			var connectCtx context.Context
			if protected {
				daggerConnect = func(ctx context.Context, opts ...dagger.ClientOpt) (*dagger.Client, error) {
					connectCtx = ctx
					return dagger.Connect(ctx, opts...)
				}
				t.Cleanup(func() { daggerConnect = dagger.Connect })
				client, err = connectLocal(ctx, &out, nil)
			} else {
				client, err = dagger.Connect(ctx)
			}
			if err != nil {
				t.Fatalf("connect: %v\n%s", err, out.String())
			}
			pid := readPid(t, pidFile)
			pgid, err := syscall.Getpgid(pid)
			if err != nil {
				t.Fatal(err)
			}
			if ours := syscall.Getpgrp(); (pgid != ours) != protected {
				t.Errorf("session child in process group %d, this process in %d: want a group of its own = %v", pgid, ours, protected)
			}
			if got := os.Getenv("_EXPERIMENTAL_DAGGER_CLI_BIN"); got != cli {
				t.Errorf("_EXPERIMENTAL_DAGGER_CLI_BIN = %q after connecting, want it put back to %q", got, cli)
			}
			if _, ok := os.LookupEnv(sessionCLIEnv); ok {
				t.Errorf("%s is left in the environment", sessionCLIEnv)
			}

			cancel() // Ctrl-C, as onInterrupt (or mage) turns it into a cancelled context
			if !protected {
				// Blocks until the child's stdin is closed: the SDK does that by itself.
				if b, err := os.ReadFile(closed); err != nil || strings.TrimSpace(string(b)) != "closed" {
					t.Errorf("fifo: %q, %v", b, err)
				}
				_ = client.Close()
				return
			}
			if _, err := withProgram(client.Container().From("python:3.11-slim"), HealthProgram).WithExec(HealthProgram.ContainerArgs(EmbeddedAPIURL + "/health")).Stdout(context.Background()); err != nil {
				t.Errorf("after the interrupt the client no longer works: %v", err)
			}
			// The SDK's child lives as long as the context Connect got (see above).
			if err := connectCtx.Err(); err != nil {
				t.Errorf("the interrupt reached the context Connect was given (%v): the SDK ends the session with it", err)
			}
			// Nothing has closed the child's stdin.
			if b, err := os.ReadFile(closed); err == nil {
				t.Errorf("the session ended with the interrupt (%q): the restore could not reach the engine", b)
			}
			if err := client.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			// Close waits for the child, so it has written the file.
			if b, err := os.ReadFile(closed); err != nil || strings.TrimSpace(string(b)) != "closed" {
				t.Errorf("Close did not end the session: %q, %v", b, err)
			}
		})
	}
}
