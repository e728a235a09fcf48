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
// the SDK ends a session) and then writes "closed" into the FIFO fifo.
func fakeCLI(t *testing.T, srv *fakedagger.Server) (cli, pidFile, fifo string) {
	dir := t.TempDir()
	pidFile, fifo = filepath.Join(dir, "pid"), filepath.Join(dir, "closed")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
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
		"cat >/dev/null\necho closed > " + fifo + "\n"
	if err := os.WriteFile(cli, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return cli, pidFile, fifo
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
			cli, pidFile, fifo := fakeCLI(t, srv)
			t.Setenv("_EXPERIMENTAL_DAGGER_CLI_BIN", cli)
			t.Setenv("DAGGER_SESSION_PORT", "")
			os.Unsetenv("DAGGER_SESSION_PORT") // the SDK would take a set one, even empty
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out bytes.Buffer
			var client *dagger.Client
			var err error
			if protected {
				client, err = connectLocal(ctx, &out)
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
				if b, err := os.ReadFile(fifo); err != nil || strings.TrimSpace(string(b)) != "closed" {
					t.Errorf("fifo: %q, %v", b, err)
				}
				_ = client.Close()
				return
			}
			if _, err := client.Container().From("python:3.11-slim").WithExec([]string{"python", "-c", "print(1)"}).Stdout(context.Background()); err != nil {
				t.Errorf("after the interrupt the client no longer works: %v", err)
			}
			// Nothing has closed the child's stdin: a non-blocking look finds no "closed".
			f, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 16)
			n, _ := f.Read(buf)
			f.Close()
			if n > 0 {
				t.Errorf("the session ended with the interrupt (%q): the restore could not reach the engine", buf[:n])
			}
			got := make(chan string, 1)
			go func() {
				b, _ := os.ReadFile(fifo)
				got <- strings.TrimSpace(string(b))
			}()
			if err := client.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if g := <-got; g != "closed" {
				t.Errorf("Close did not end the session: %q", g)
			}
		})
	}
}
