// Package shareddata finds the facts recorded from a real Prefect 2.14 server and CLI, a real
// Prefect 3.8.3 server and client, and a real Dagger v0.19.7 engine, which the test doubles answer from.
//
// The team's authoritative copy is ../shared beside the repository. A snapshot of the parts
// the tests read is committed under ci/internal/shareddata/testdata/shared, so the tests also
// run where ../shared is absent (a fork's GitHub Actions). When both exist, the snapshot must
// equal ../shared (TestSnapshotIsCurrent; refresh with `go test ./ci/internal/shareddata -update`).
package shareddata

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Snapshotted are the files and folders of the shared data the tests read, relative to its
// root. Not the offline installers (prefect/real, prefect3/real: wheels, scripts): only
// .ci/real-prefect and .ci/real-prefect3 use them, from ../shared itself, and a fork without
// ../shared skips those steps.
var Snapshotted = []string{
	filepath.Join("prefect", "FACTS.md"),
	filepath.Join("prefect", "cli-2.14.json"),
	filepath.Join("prefect", "recorded"),
	filepath.Join("dagger", "recorded"),
	filepath.Join("prefect3", "FACTS.md"),
	filepath.Join("prefect3", "recorded"),
}

// snapshotRel is where the snapshot lives, relative to the repository root.
const snapshotRel = "ci/internal/shareddata/testdata/shared"

// RepoRoot is the directory holding go.mod, found by walking up from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find the repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find the repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Beside returns ../shared beside the repository, and whether it exists.
func Beside() (string, bool, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", false, err
	}
	dir := filepath.Join(filepath.Dir(root), "shared")
	_, err = os.Stat(filepath.Join(dir, "prefect", "cli-2.14.json"))
	return dir, err == nil, nil
}

// Snapshot returns the committed snapshot's folder.
func Snapshot() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, filepath.FromSlash(snapshotRel)), nil
}

// Dir returns the shared data folder: ../shared when present, else the snapshot.
func Dir() (string, error) {
	dir, ok, err := Beside()
	if err != nil {
		return "", err
	}
	if ok {
		return dir, nil
	}
	return Snapshot()
}

// Path resolves rel (slash-separated) under Dir. A missing file is an error: tests fail
// rather than skip, since the data is always there.
func Path(rel string) (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("shared data %s is missing: %w", rel, err)
	}
	return p, nil
}
