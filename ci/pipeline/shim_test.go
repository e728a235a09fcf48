package pipeline

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The Dagger module (ci/dagger) cannot be generated or built here: no engine. These
// tests keep it honest: its shape is checked with go/parser, and it is compiled
// against a stand-in for the generated package whose types are aliases of the same
// v0.19.7 API in dagger.io/dagger.

const shimDir = "../dagger"

func TestDaggerModuleConfig(t *testing.T) {
	b, err := os.ReadFile("../../dagger.json")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Name          string `json:"name"`
		EngineVersion string `json:"engineVersion"`
		SDK           struct {
			Source string `json:"source"`
		} `json:"sdk"`
		Source string `json:"source"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "prefect-flows" || cfg.EngineVersion != "v0.19.7" || cfg.SDK.Source != "go" || cfg.Source != "ci/dagger" {
		t.Errorf("dagger.json = %+v", cfg)
	}
	mod, err := os.ReadFile(filepath.Join(shimDir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"module dagger/prefect-flows\n", "\tdagger.io/dagger v0.19.7\n", "replace github.com/acme-data/prefect-flows => ../..\n"} {
		if !strings.Contains(string(mod), want) {
			t.Errorf("ci/dagger/go.mod lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(shimDir, "internal")); err == nil {
		out, _ := exec.Command("git", "ls-files", filepath.Join(shimDir, "internal")).Output()
		if len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("files under ci/dagger/internal are tracked; the engine deletes that folder:\n%s", out)
		}
	}
}

// stubGenerated stands in for what `dagger develop` writes: the module's core types are
// the same v0.19.7 API as dagger.io/dagger's, so aliases compile main.go against it.
const stubGenerated = `// Package dagger is a test stand-in for the generated module package.
package dagger

import lib "dagger.io/dagger"

type (
	Client      = lib.Client
	Container   = lib.Container
	ContainerID = lib.ContainerID
	Directory   = lib.Directory
	DirectoryID = lib.DirectoryID
	Secret      = lib.Secret
	SecretID    = lib.SecretID
)

func Connect() *Client { return nil }
`

const stubMain = `package main

import "dagger/prefect-flows/internal/dagger"

var dag = dagger.Connect()

func main() {}
`

func TestDaggerModuleCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the module shim; skipped with -short")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mod, err := os.ReadFile(filepath.Join(shimDir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mod = []byte(strings.Replace(string(mod), "=> ../..", "=> "+root, 1))
	files := map[string][]byte{"go.mod": mod, "internal/dagger/dagger.gen.go": []byte(stubGenerated), "dagger.gen.go": []byte(stubMain)}
	for _, name := range []string{"main.go", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(shimDir, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "vet", ".")
	cmd.Dir = dir
	// Everything is in the module cache already; the network must not be needed.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the module shim does not compile against the v0.19.7 API:\n%s", out)
	}
}
