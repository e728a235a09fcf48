// Package blocksnap reads block documents before the pipeline overwrites them
// (aws-credentials/<env>, and on Prefect 2 the infrastructure blocks), and puts them back
// when the run does not go through.
//
// blocks.py (embedded here) does the talking, inside the agent image, with the same
// PREFECT_API_URL and key as the block scripts: `snapshot SLUG/NAME...` prints one JSON
// object, `restore FILE` writes each document that existed back and checks its image.
// Documents are read without secrets (Prefect obfuscates them, and keeps the stored
// value when an obfuscated one is written back), so a snapshot holds nothing secret and
// may go through stdout, a file and the engine's cache. A document whose own data holds a
// secret (AwsCredentials) cannot be put back from that: the server keeps its current
// secret for an obfuscated one. For it the snapshot keeps a copy on the server (an
// anonymous block document, Backup) that restore writes back and discard deletes.
package blocksnap

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/acme-data/prefect-flows/ci/pyprog"
)

//go:embed blocks.py
var source []byte

// Program is blocks.py; it runs inside the agent image.
var Program = pyprog.New("ci/prefectcli/blocksnap/blocks.py", source)

// Block is one block document as the snapshot found it.
type Block struct {
	Ref     string `json:"ref"` // block-type-slug/block-name
	Exists  bool   `json:"exists"`
	ID      string `json:"id,omitempty"`
	Updated string `json:"updated,omitempty"`
	// Image is data.image: what ECS ran before this run.
	Image string `json:"image,omitempty"`
	// Update is the PATCH /block_documents/{id} body that puts the document back.
	Update json.RawMessage `json:"update,omitempty"`
	// Backup is the id of the anonymous block document that holds this document,
	// secrets included, when its own data has secrets; restore and discard delete it.
	Backup string `json:"backup,omitempty"`
}

// Snapshot is what `blocks.py snapshot` printed.
type Snapshot struct {
	Blocks []Block `json:"blocks"`
}

// SnapshotArgs is the argv that snapshots refs with blocks.py in a container.
func SnapshotArgs(refs []string) []string {
	return Program.ContainerArgs(append([]string{"snapshot"}, refs...)...)
}

// RestoreArgs is the argv that restores the snapshot in file with blocks.py in a container.
func RestoreArgs(file string) []string {
	return Program.ContainerArgs("restore", file)
}

// DiscardArgs is the argv that deletes the snapshot's copies (the run went through).
func DiscardArgs(file string) []string {
	return Program.ContainerArgs("discard", file)
}

// HasBackups says whether the snapshot kept a copy of a document on the server.
func (s *Snapshot) HasBackups() bool {
	return slices.ContainsFunc(s.Blocks, func(b Block) bool { return b.Backup != "" })
}

// Parse reads a snapshot from blocks.py's stdout (its last line) and checks that it
// holds exactly the refs asked for, each complete enough to restore.
func Parse(stdout string, refs []string) (*Snapshot, error) {
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	var s Snapshot
	if err := json.Unmarshal([]byte(last), &s); err != nil {
		return nil, fmt.Errorf("block snapshot: want one JSON object on the last line of blocks.py's output: %w", err)
	}
	var got []string
	for _, b := range s.Blocks {
		got = append(got, b.Ref)
		if b.Exists && (b.ID == "" || len(b.Update) == 0) {
			return nil, fmt.Errorf("block snapshot: %s exists but has no id or no document to restore", b.Ref)
		}
	}
	if !slices.Equal(got, refs) {
		return nil, fmt.Errorf("block snapshot: got blocks %q, asked for %q", got, refs)
	}
	return &s, nil
}

// JSON is the snapshot as restore reads it.
func (s *Snapshot) JSON() []byte {
	b, err := json.Marshal(s)
	if err != nil {
		// Only strings, bools and raw JSON that came from json.Unmarshal.
		panic(err)
	}
	return b
}

// Describe is one line per block for the log: what it names now, before the run
// writes it.
func (s *Snapshot) Describe() []string {
	var out []string
	for _, b := range s.Blocks {
		switch {
		case !b.Exists:
			out = append(out, fmt.Sprintf("%s does not exist yet", b.Ref))
		case b.Image != "":
			out = append(out, fmt.Sprintf("%s names image %s", b.Ref, b.Image))
		case b.Backup != "":
			out = append(out, fmt.Sprintf("%s exists; a copy of it, secrets included, is kept on the server until the run ends", b.Ref))
		default:
			out = append(out, fmt.Sprintf("%s exists (no image field)", b.Ref))
		}
	}
	return out
}
