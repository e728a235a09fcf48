package pipeline

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"strings"
	"sync"

	"github.com/acme-data/prefect-flows/ci/internal/fakedagger"
	"github.com/acme-data/prefect-flows/ci/prefectcli/blocksnap"
)

// fakeBlocks plays the infrastructure blocks on the Prefect API, as the pipeline's execs
// reach them: `python infrastructure/ecs-task-<env>.py` saves ecs-task/<env> with
// PREFECT_IMAGE, `blocks.py snapshot` reads blocks and `blocks.py restore` writes a
// snapshot back (what blocks.py does against a real server is blocksnap's test).
type fakeBlocks struct {
	mu     sync.Mutex
	images map[string]string // ref → image; a ref that is absent does not exist
	writes int               // saves and restores, in order
}

func newFakeBlocks(images map[string]string) *fakeBlocks {
	if images == nil {
		images = map[string]string{}
	}
	return &fakeBlocks{images: maps.Clone(images)}
}

// Image is what ref names now ("" when it does not exist).
func (b *fakeBlocks) Image(ref string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.images[ref]
}

func isBlocks(a []string) bool {
	return len(a) >= 4 && runsProgram(a, blocksnap.Program)
}

// save is the block script. fail["infra"] makes it die after saving, as a script that
// fails on its second block would.
func (b *fakeBlocks) save(ex fakedagger.Exec, fail map[string]bool) fakedagger.ExecResult {
	env := strings.TrimSuffix(strings.TrimPrefix(path.Base(ex.Args[1]), "ecs-task-"), ".py")
	img := ex.Env["PREFECT_IMAGE"]
	b.mu.Lock()
	b.images["ecs-task/"+env] = img
	b.writes++
	b.mu.Unlock()
	if fail["infra"] {
		return fakedagger.ExecResult{ExitCode: 1, Stderr: "ecs-task-" + env + ": ClientError: AccessDenied\n"}
	}
	return fakedagger.ExecResult{Stdout: fmt.Sprintf("saved ecs-task/%s (image %s, cpu 512, memory 1024)\n", env, img)}
}

// play is blocks.py. fail["snapshot"] and fail["restore"] make that command fail.
func (b *fakeBlocks) play(ex fakedagger.Exec, fail map[string]bool) fakedagger.ExecResult {
	if res, ok := programMissing(ex, blocksnap.Program); !ok {
		return res
	}
	args := ex.Args[3:] // after python -u blocks.py
	if _, ok := ex.Secrets["PREFECT_API_URL"]; !ok {
		return fakedagger.ExecResult{ExitCode: 1, Stderr: "blocks.py: PREFECT_API_URL is not set\n"}
	}
	if fail[args[0]] {
		return fakedagger.ExecResult{ExitCode: 1, Stderr: "read ecs-task/x: HTTP 503: Service Unavailable\n"}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch args[0] {
	case "snapshot":
		var snap blocksnap.Snapshot
		for _, ref := range args[1:] {
			img, ok := b.images[ref]
			if !ok {
				snap.Blocks = append(snap.Blocks, blocksnap.Block{Ref: ref})
				continue
			}
			update, _ := json.Marshal(map[string]any{"data": map[string]any{"image": img}, "merge_existing_data": false})
			snap.Blocks = append(snap.Blocks, blocksnap.Block{Ref: ref, Exists: true, ID: "id-" + ref, Image: img, Update: update})
		}
		return fakedagger.ExecResult{Stdout: string(snap.JSON()) + "\n"}
	case "restore":
		var snap blocksnap.Snapshot
		if err := json.Unmarshal([]byte(ex.Files[args[1]]), &snap); err != nil {
			return fakedagger.ExecResult{ExitCode: 1, Stderr: "restore: " + err.Error() + "\n"}
		}
		var out strings.Builder
		for _, blk := range snap.Blocks {
			if !blk.Exists {
				fmt.Fprintf(&out, "left %s: it did not exist before this run, so it stays as this run saved it\n", blk.Ref)
				continue
			}
			var u struct {
				Data struct{ Image string } `json:"data"`
			}
			if err := json.Unmarshal(blk.Update, &u); err != nil {
				return fakedagger.ExecResult{ExitCode: 1, Stderr: "restore: " + err.Error() + "\n"}
			}
			b.images[blk.Ref] = u.Data.Image
			b.writes++
			fmt.Fprintf(&out, "restored %s to its previous document (image %s)\n", blk.Ref, u.Data.Image)
		}
		return fakedagger.ExecResult{Stdout: out.String()}
	}
	return fakedagger.ExecResult{ExitCode: 2, Stderr: "usage: blocks.py snapshot SLUG/NAME... | blocks.py restore FILE\n"}
}
