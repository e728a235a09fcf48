//go:build unix

package prefectcli

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// setProcessGroup gives the build its own process group, so a kill also reaches what
// prefect started, and a terminal's Ctrl-C reaches only the wrapper.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// terminateProcessGroup asks the whole group to stop, leaving prefect time to clean up.
func terminateProcessGroup(p *os.Process) error {
	if err := syscall.Kill(-p.Pid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
	return nil
}

func killProcessGroup(p *os.Process) {
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
}
