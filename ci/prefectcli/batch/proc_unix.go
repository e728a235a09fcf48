//go:build unix

package batch

import (
	"os/exec"
	"syscall"
)

// setProcessGroup gives the runner its own process group, so a kill also reaches
// anything a job started, and a terminal's Ctrl-C reaches only the wrapper, which
// then decides what to stop.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
