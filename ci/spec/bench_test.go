package spec

import (
	"path/filepath"
	"testing"
)

func BenchmarkLoadExample(b *testing.B) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(root, EnvFile("prod"))
	for b.Loop() {
		if _, err := Load(path, LoadOptions{RepoRoot: root}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckCron(b *testing.B) {
	for b.Loop() {
		if msg := checkCron("*/15 9-17 * JAN-MAR mon-fri"); msg != "" {
			b.Fatal(msg)
		}
	}
}
