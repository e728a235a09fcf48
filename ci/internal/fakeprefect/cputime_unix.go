//go:build unix

package fakeprefect

import (
	"syscall"
	"time"
)

// cpuTime is this process's CPU time, so burn uses CPU, not wall time, on a busy machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
