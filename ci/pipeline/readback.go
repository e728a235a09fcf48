package pipeline

import (
	"context"
	"fmt"
)

// EmbeddedServerName is what the read-back's summary line calls the throwaway server.
const EmbeddedServerName = "the embedded server"

type readBackStep struct{}

func (readBackStep) String() string {
	return "read-back: list the deployments the embedded Prefect server now holds"
}

// Runs after a failed deploy too: what did reach the server is worth seeing.
func (readBackStep) always() {}

// Run lists the server's deployments with `prefect-deploy list`, the same API client
// (paging, every schedule shape of Prefect 2 and 3) as the verify and prune steps, in
// the registered image, which reaches the server through its service binding.
func (readBackStep) Run(ctx context.Context, st *State) error {
	if !st.Opts.Embedded() {
		return Skip("deployed to the real Prefect API")
	}
	if st.Registered == nil {
		return Skip("nothing was registered")
	}
	out, err := inImage(st).WithExec(ListArgs()).Stdout(ctx)
	if err != nil {
		return fmt.Errorf("read the deployments back: %w", execDetail(err))
	}
	st.ReadBack = out
	printIndented(st.out, out)
	fmt.Fprintln(st.out, "    NOTE: embedded mode — these deployments live in a throwaway server that stops when this run ends; nothing reached the real Prefect.")
	return nil
}

// ListArgs is the read-back's exec.
func ListArgs() []string {
	return []string{"prefect-deploy", "list", "--on", EmbeddedServerName}
}
