//go:build unix

package batch_test

import (
	"errors"
	"syscall"
)

func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func killPID(pid int) error {
	return syscall.Kill(pid, syscall.SIGKILL)
}
