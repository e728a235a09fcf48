package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"dagger.io/dagger"

	"github.com/acme-data/prefect-flows/ci/prefectcli/blocksnap"
	"github.com/acme-data/prefect-flows/ci/spec"
)

// BlocksDir is where the snapshot blocks.py restores is written in the container.
const BlocksDir = "/tmp/prefect-blocks"

// RestoreTimeout bounds the restore. It runs on a context of its own, because the run's
// context is the one an interrupt has just cancelled.
const RestoreTimeout = 2 * time.Minute

// infraBlocks are the blocks the deployments file's deployments run on (top-level and
// per-deployment ib-block), sorted: the ones whose image decides what ECS starts.
func infraBlocks(f *spec.File) []string {
	var refs []string
	if f.IBBlock != "" {
		refs = append(refs, f.IBBlock)
	}
	for _, d := range f.Deployments {
		if d.IBBlock != "" {
			refs = append(refs, d.IBBlock)
		}
	}
	slices.Sort(refs)
	return slices.Compact(refs)
}

// savedBlocks are the blocks the Prefect 2 block script (infrastructure/ecs-task-<env>.py)
// saves that a failed run puts back: aws-credentials/<env> first, then the
// infrastructure blocks the file names. An ecs-task document refers to the credentials
// by document id, which the script's overwrite and the restore both keep; the
// credentials go back first, so each restored ecs-task block reaches the previous keys
// as soon as it is written.
func savedBlocks(env string, f *spec.File) []string {
	refs := []string{credentialsRef(env)}
	for _, ref := range infraBlocks(f) {
		if ref != refs[0] {
			refs = append(refs, ref)
		}
	}
	return refs
}

// blocksContainer is the image talking to the real API with blocks.py in it. The cache
// buster comes before the exec: reads and writes of a remote API are never cached.
func blocksContainer(st *State) *dagger.Container {
	return withProgram(prefectContainer(st).WithEnvVariable("CACHEBUSTER", st.RunID), blocksnap.Program)
}

func snapshotBlocks(ctx context.Context, st *State, refs []string) (*blocksnap.Snapshot, error) {
	out, err := blocksContainer(st).
		WithExec(blocksnap.SnapshotArgs(refs)).
		Stdout(ctx)
	if err != nil {
		return nil, fmt.Errorf("python blocks.py snapshot: %w", execDetail(err))
	}
	return blocksnap.Parse(out, refs)
}

type restoreStep struct{}

func (restoreStep) String() string {
	return "restore: put the blocks register wrote back if the run did not go through (Prefect 2: aws-credentials/<env> and the infrastructure blocks; Prefect 3: aws-credentials/<env>)"
}

// Runs after a failure or an interrupt: that is what it is for.
func (restoreStep) always() {}

// p3Images is what a failed Prefect 3 run leaves of the images, whatever the blocks.
const p3Images = "the image is per deployment (job_variables.image), so a deployment this run did not deploy keeps its previous image"

func (restoreStep) Run(ctx context.Context, st *State) error {
	switch {
	case st.prefect3() && !st.blocksWritten:
		return Skip("Prefect 3: no aws-credentials block was written (no AWS keys), and %s", p3Images)
	case st.Opts.Embedded():
		return Skip("embedded server: nothing outlives the run")
	case !st.blocksWritten || st.BlocksBefore == nil:
		return Skip("no block was written")
	case st.failed == nil:
		creds := credentialsRef(st.Opts.Env)
		kept := fmt.Sprintf("the blocks keep %s, and %s keeps what this run saved", st.ImageRef, creds)
		if st.prefect3() {
			kept = fmt.Sprintf("%s keeps this run's AWS keys", creds)
		}
		if st.BlocksBefore.HasBackups() {
			// The copy holds the previous secrets: it must not outlive the run.
			if out, err := runBlocks(ctx, st, blocksnap.DiscardArgs); err != nil {
				st.Report.Blocks = append(st.Report.Blocks, "the snapshot's copy was NOT deleted: "+err.Error())
				fmt.Fprintf(st.out, "    ! delete the snapshot's copy: %v\n", err)
			} else {
				printIndented(st.out, out)
			}
		}
		return Skip("the run went through: %s", kept)
	}
	out, err := runBlocks(ctx, st, blocksnap.RestoreArgs)
	if err != nil {
		st.Report.Blocks = append(st.Report.Blocks, restoreFailed(st)...)
		return fmt.Errorf("put the blocks back: %w", err)
	}
	printIndented(st.out, out)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			st.Report.Blocks = append(st.Report.Blocks, line)
		}
	}
	if st.prefect3() {
		fmt.Fprintf(st.out, "    %s\n", p3Images)
	}
	return nil
}

// runBlocks runs blocks.py COMMAND on the snapshot. A fresh context: after Ctrl-C the
// run's own is cancelled, and the restore is the one thing that must still reach
// Prefect. The engine session outlives that context (see DeployLocal), so the exec can
// still run.
func runBlocks(ctx context.Context, st *State, args func(file string) []string) (string, error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RestoreTimeout)
	defer cancel()
	snap := BlocksDir + "/snapshot.json"
	out, err := blocksContainer(st).
		WithNewFile(snap, string(st.BlocksBefore.JSON())).
		WithExec(args(snap)).
		Stdout(rctx)
	if err != nil {
		return "", execDetail(err)
	}
	return out, nil
}

// restoreFailed says, per block, what it may still name and what it named before, so
// the user can put it back by hand.
func restoreFailed(st *State) []string {
	var out []string
	for _, b := range st.BlocksBefore.Blocks {
		switch {
		case !b.Exists && b.Ref == credentialsRef(st.Opts.Env):
			out = append(out, fmt.Sprintf("%s did not exist before this run: left as this run saved it", b.Ref))
		case !b.Exists:
			out = append(out, fmt.Sprintf("%s did not exist before this run: left as this run saved it (image %s)", b.Ref, st.ImageRef))
		case b.Backup != "":
			out = append(out, fmt.Sprintf("NOT restored: %s may still hold this run's document; its previous one, secrets included, is the anonymous block document %s", b.Ref, b.Backup))
		case b.Image == "":
			out = append(out, fmt.Sprintf("NOT restored: %s may still hold what this run saved", b.Ref))
		default:
			out = append(out, fmt.Sprintf("NOT restored: %s may still name %s; before this run it named %s", b.Ref, st.ImageRef, b.Image))
		}
	}
	return out
}
