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

// fakeBlocks plays the blocks on the Prefect API, as the pipeline's execs reach them:
// `python infrastructure/ecs-task-<env>.py` saves aws-credentials/<env> from the AWS keys
// (none: a block without keys), then ecs-task/<env> with PREFECT_IMAGE, referring to the
// credentials by document id; aws_credentials.py saves aws-credentials/<env> (Prefect 3);
// `blocks.py snapshot` reads blocks (keeping a copy of a credentials block with a
// secret), `blocks.py restore` writes a snapshot back and `blocks.py discard` deletes its
// copies (what blocks.py does against a real server is blocksnap's test). A document's id
// is "id-" + its ref, kept by an overwrite as on the real server.
type fakeBlocks struct {
	mu     sync.Mutex
	images map[string]string // ref → image; a ref that is absent does not exist
	writes int               // saves and restores, in order
	// creds are the aws-credentials blocks: ref → key id and secret ("" for none).
	// copies are the snapshot's anonymous copies of them, by id.
	creds, copies map[string][2]string
	// uses is, per ecs-task ref, the id of the credentials document it refers to.
	uses map[string]string
}

func newFakeBlocks(images map[string]string) *fakeBlocks {
	if images == nil {
		images = map[string]string{}
	}
	return &fakeBlocks{images: maps.Clone(images), creds: map[string][2]string{}, copies: map[string][2]string{}, uses: map[string]string{}}
}

// setCredentials is aws-credentials/<env> saved with keys (both "": without keys), and
// each existing ecs-task/<env>... block of that environment referring to it, as
// infrastructure/ecs_blocks.py leaves them.
func (b *fakeBlocks) setCredentials(env string, keys [2]string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ref := credentialsRef(env)
	b.creds[ref] = keys
	for task := range b.images {
		if task == "ecs-task/"+env {
			b.uses[task] = "id-" + ref
		}
	}
}

// ECSCredentials is what an ECS block's credentials resolve to now, as
// ECSTask.load(...).aws_credentials would give them: the keys of the document it refers to.
func (b *fakeBlocks) ECSCredentials(task string) ([2]string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	keys, ok := b.creds[strings.TrimPrefix(b.uses[task], "id-")]
	return keys, ok
}

// Credentials is what the aws-credentials block ref holds now, and the number of
// copies of a block left on the server.
func (b *fakeBlocks) Credentials(ref string) ([2]string, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.creds[ref], len(b.copies)
}

// saveCredentials is aws_credentials.py: AwsCredentials(...).save(env, overwrite=True)
// from the keys the exec has as secret variables.
func (b *fakeBlocks) saveCredentials(ex fakedagger.Exec) fakedagger.ExecResult {
	if res, ok := programMissing(ex, CredentialsProgram); !ok {
		return res
	}
	id, _ := ex.SecretPlaintext("AWS_ACCESS_KEY_ID")
	secret, _ := ex.SecretPlaintext("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return fakedagger.ExecResult{ExitCode: 1, Stderr: "aws-credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set\n"}
	}
	env := ex.Args[len(ex.Args)-1]
	b.mu.Lock()
	b.creds["aws-credentials/"+env] = [2]string{id, secret}
	b.writes++
	b.mu.Unlock()
	return fakedagger.ExecResult{Stdout: "saved aws-credentials/" + env + " (region " + ex.Env["AWS_REGION"] + ")\n"}
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

// save is the block script: the credentials first (from the exec's secret variables,
// none when they are absent), then the ECS block referring to them. fail["infra"] makes
// it die after saving, as a script that fails on its second block would.
func (b *fakeBlocks) save(ex fakedagger.Exec, fail map[string]bool) fakedagger.ExecResult {
	env := strings.TrimSuffix(strings.TrimPrefix(path.Base(ex.Args[1]), "ecs-task-"), ".py")
	img := ex.Env["PREFECT_IMAGE"]
	id, _ := ex.SecretPlaintext("AWS_ACCESS_KEY_ID")
	secret, _ := ex.SecretPlaintext("AWS_SECRET_ACCESS_KEY")
	b.mu.Lock()
	b.creds[credentialsRef(env)] = [2]string{id, secret}
	b.images["ecs-task/"+env] = img
	b.uses["ecs-task/"+env] = "id-" + credentialsRef(env)
	b.writes += 2
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
			if c, ok := b.creds[ref]; ok {
				if c[1] == "" {
					// Saved without keys: no secret of its own, the snapshot holds all of it.
					update, _ := json.Marshal(map[string]any{"data": map[string]any{"aws_access_key_id": nil, "aws_secret_access_key": nil}, "merge_existing_data": false})
					snap.Blocks = append(snap.Blocks, blocksnap.Block{Ref: ref, Exists: true, ID: "id-" + ref, Update: update})
					continue
				}
				// The secret is read into a copy on the server, never printed.
				backup := fmt.Sprintf("copy-%d", len(b.copies)+1)
				b.copies[backup] = c
				update, _ := json.Marshal(map[string]any{"data": map[string]any{"aws_access_key_id": c[0], "aws_secret_access_key": "********"}, "merge_existing_data": false})
				snap.Blocks = append(snap.Blocks, blocksnap.Block{Ref: ref, Exists: true, ID: "id-" + ref, Update: update, Backup: backup})
				continue
			}
			img, ok := b.images[ref]
			if !ok {
				snap.Blocks = append(snap.Blocks, blocksnap.Block{Ref: ref})
				continue
			}
			data := map[string]any{"image": img}
			if id := b.uses[ref]; id != "" {
				data["aws_credentials"] = map[string]any{"$ref": map[string]any{"block_document_id": id}}
			}
			update, _ := json.Marshal(map[string]any{"data": data, "merge_existing_data": false})
			snap.Blocks = append(snap.Blocks, blocksnap.Block{Ref: ref, Exists: true, ID: "id-" + ref, Image: img, Update: update})
		}
		return fakedagger.ExecResult{Stdout: string(snap.JSON()) + "\n"}
	case "restore", "discard":
		var snap blocksnap.Snapshot
		if err := json.Unmarshal([]byte(ex.Files[args[1]]), &snap); err != nil {
			return fakedagger.ExecResult{ExitCode: 1, Stderr: args[0] + ": " + err.Error() + "\n"}
		}
		if args[0] == "discard" {
			return b.discard(snap)
		}
		var out strings.Builder
		for _, blk := range snap.Blocks {
			if !blk.Exists {
				fmt.Fprintf(&out, "left %s: it did not exist before this run, so it stays as this run saved it\n", blk.Ref)
				continue
			}
			if c, ok := b.copies[blk.Backup]; ok {
				b.creds[blk.Ref] = c
				delete(b.copies, blk.Backup)
				b.writes++
				fmt.Fprintf(&out, "restored %s to its previous document (secrets included, from the copy the snapshot kept)\n", blk.Ref)
				continue
			}
			var u struct {
				Data map[string]any `json:"data"`
			}
			if err := json.Unmarshal(blk.Update, &u); err != nil {
				return fakedagger.ExecResult{ExitCode: 1, Stderr: "restore: " + err.Error() + "\n"}
			}
			b.writes++
			if _, ok := b.creds[blk.Ref]; ok {
				if u.Data["aws_secret_access_key"] != nil {
					// What blocks.py would do: ******** written back keeps the current secret.
					return fakedagger.ExecResult{ExitCode: 1, Stderr: "restore: " + blk.Ref + " has a secret but no copy\n"}
				}
				b.creds[blk.Ref] = [2]string{}
				fmt.Fprintf(&out, "restored %s to its previous document\n", blk.Ref)
				continue
			}
			image, _ := u.Data["image"].(string)
			nested, _ := u.Data["aws_credentials"].(map[string]any)
			ref, _ := nested["$ref"].(map[string]any)
			b.images[blk.Ref] = image
			b.uses[blk.Ref], _ = ref["block_document_id"].(string)
			fmt.Fprintf(&out, "restored %s to its previous document (image %s)\n", blk.Ref, image)
		}
		return fakedagger.ExecResult{Stdout: out.String()}
	}
	return fakedagger.ExecResult{ExitCode: 2, Stderr: "usage: blocks.py snapshot SLUG/NAME... | blocks.py restore FILE | blocks.py discard FILE\n"}
}

// discard is blocks.py discard: the run went through, the snapshot's copies go. The
// caller holds b.mu.
func (b *fakeBlocks) discard(snap blocksnap.Snapshot) fakedagger.ExecResult {
	var out strings.Builder
	for _, blk := range snap.Blocks {
		if blk.Backup != "" {
			delete(b.copies, blk.Backup)
			fmt.Fprintf(&out, "deleted the snapshot's copy of %s\n", blk.Ref)
		}
	}
	return fakedagger.ExecResult{Stdout: out.String()}
}
