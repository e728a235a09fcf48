//go:build !unix

package deploycli_test

import "os"

// processExists relies on FindProcess failing for a pid with no process, as on Windows.
func processExists(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	_ = p.Release()
	return true
}
