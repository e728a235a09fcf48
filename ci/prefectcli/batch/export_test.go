package batch

// ExitedProcesses counts the runner's processes whose stdout reader has seen EOF: the
// state runIn checks to tell a process that died while idle from a broken job.
func (r *Runner) ExitedProcesses() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for p := range r.live {
		if p.exited() {
			n++
		}
	}
	return n
}
