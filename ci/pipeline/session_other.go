//go:build !unix

package pipeline

// protectSession has no process groups to work with here: a Ctrl-C in the console
// may end the engine session too.
func protectSession() (restore func(), note string) { return func() {}, "" }
