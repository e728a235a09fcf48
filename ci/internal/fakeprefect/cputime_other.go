//go:build !unix

package fakeprefect

import "time"

var started = time.Now()

// cpuTime falls back to wall time where getrusage is missing: burn then spins for
// at least the asked duration, which is all a fake build needs.
func cpuTime() time.Duration {
	return time.Since(started)
}
