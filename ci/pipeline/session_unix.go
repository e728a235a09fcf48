//go:build unix

package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"dagger.io/dagger/engineconn"
	"github.com/adrg/xdg"
)

// The SDK (dagger.io/dagger v0.19.7, engineconn.startCLISession) starts `dagger session`
// with exec.CommandContext and no SysProcAttr, so the child stays in this process's
// process group: the terminal's Ctrl-C reaches it as well, and it ends the engine
// session at once, before the pipeline can put the blocks back. The SDK runs the CLI
// named by _EXPERIMENTAL_DAGGER_CLI_BIN when that is set (engineconn.FromLocalCLI), so
// protectSession names this very executable there, with sessionCLIEnv naming the real
// CLI; init below then moves that child into a process group of its own and execs the
// real CLI with the SDK's arguments. The session still ends when the client is closed
// (the SDK closes the child's stdin) or this process dies (the pipe closes with it).
// TestSessionSurvivesCtrlC holds the SDK to this.
const sessionCLIEnv = "PREFECT_FLOWS_DAGGER_CLI"

func init() {
	cli := os.Getenv(sessionCLIEnv)
	if cli == "" || len(os.Args) < 2 || os.Args[1] != "session" {
		return
	}
	os.Unsetenv(sessionCLIEnv)
	if err := syscall.Setpgid(0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "dagger session: own process group: %v\n", err)
	}
	err := syscall.Exec(cli, append([]string{cli}, os.Args[1:]...), os.Environ())
	fmt.Fprintf(os.Stderr, "dagger session: exec %s: %v\n", cli, err)
	os.Exit(1)
}

// protectSession sets the environment for dagger.Connect so that the session child
// ignores the terminal's Ctrl-C (see sessionCLIEnv) and returns a function that puts
// the environment back once the child has started. When the SDK would not start a
// child (DAGGER_SESSION_PORT: a session from `dagger run` or a module), or the CLI is
// not there yet (the SDK downloads it on the first run), it changes nothing and says
// why in note.
func protectSession() (restore func(), note string) {
	if _, ok := os.LookupEnv("DAGGER_SESSION_PORT"); ok {
		return func() {}, ""
	}
	cli, ok := os.LookupEnv("_EXPERIMENTAL_DAGGER_CLI_BIN")
	if !ok {
		cli = filepath.Join(xdg.CacheHome, "dagger", "dagger-"+engineconn.CLIVersion)
	}
	if abs, err := filepath.Abs(cli); err == nil {
		cli = abs
	}
	if st, err := os.Stat(cli); err != nil || st.IsDir() {
		return func() {}, "the Dagger CLI is not downloaded yet: on this first run a Ctrl-C ends the engine session too, and the blocks cannot be put back"
	}
	self, err := os.Executable()
	if err != nil {
		return func() {}, fmt.Sprintf("a Ctrl-C ends the engine session too (this executable: %v)", err)
	}
	old, had := os.LookupEnv("_EXPERIMENTAL_DAGGER_CLI_BIN")
	os.Setenv("_EXPERIMENTAL_DAGGER_CLI_BIN", self)
	os.Setenv(sessionCLIEnv, cli)
	return func() {
		os.Unsetenv(sessionCLIEnv)
		if had {
			os.Setenv("_EXPERIMENTAL_DAGGER_CLI_BIN", old)
		} else {
			os.Unsetenv("_EXPERIMENTAL_DAGGER_CLI_BIN")
		}
	}, ""
}
