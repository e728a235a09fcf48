//go:build !unix

package prefectcli

import (
	"os"
	"os/exec"
)

func setProcessGroup(cmd *exec.Cmd) {}

// terminateProcessGroup kills at once: without process groups and SIGTERM there is no
// portable polite stop, and a build left running would outlive the wrapper.
func terminateProcessGroup(p *os.Process) error {
	return p.Kill()
}

func killProcessGroup(p *os.Process) {
	_ = p.Kill()
}
