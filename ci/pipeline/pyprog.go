package pipeline

import (
	"dagger.io/dagger"

	"github.com/acme-data/prefect-flows/ci/pyprog"
)

// withProgram is the one way a Python program enters a container: written with
// WithNewFile at its fixed path (pyprog.ContainerRoot + its repository path), to run
// with p.ContainerArgs, so that a traceback names the program's real file.
func withProgram(ctr *dagger.Container, p pyprog.Program) *dagger.Container {
	return ctr.WithNewFile(p.ContainerPath(), p.Source())
}
