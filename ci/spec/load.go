package spec

import "errors"

// LoadOptions says where the entrypoints of a file are checked.
type LoadOptions struct {
	// RepoRoot is the directory entrypoint paths are relative to; empty means the
	// directory that holds the file.
	RepoRoot string
}

// Load reads, defaults and validates a deployments file. When the file has problems
// the error is a *ValidationError listing every one of them.
func Load(path string, opt LoadOptions) (*File, error) {
	return nil, errors.New("spec.Load: not implemented yet")
}
