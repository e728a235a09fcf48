package spec

import (
	"os"
	"path/filepath"
	"strings"
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

// BenchmarkSyntaxError: the cost of placing a syntax error, paid only after yaml.v3 has
// refused the file. "big" repeats the prod example's deployments 20 times (about 1250
// lines) and breaks the indentation of the last key, 1240 lines after the list that
// yaml.v3 names.
func BenchmarkSyntaxError(b *testing.B) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		b.Fatal(err)
	}
	prod, err := os.ReadFile(filepath.Join(root, EnvFile("prod")))
	if err != nil {
		b.Fatal(err)
	}
	head, items, ok := strings.Cut(string(prod), "deployments:\n")
	if !ok {
		b.Fatal("no deployments: line in the prod example")
	}
	big := head + "deployments:\n" + strings.Repeat(items, 20)
	for _, bc := range []struct{ name, doc string }{
		{"valid", string(prod)},
		{"prod-tab", string(prod) + "\tbroken: true\n"},
		{"prod-indent", string(prod) + "   broken: true\n"},
		{"big-indent", big + "   broken: true\n"},
		{"big-unclosed-quote", strings.Replace(big, "team: finance", `team: "finance`, 1)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := parse("bench.yaml", []byte(bc.doc), root); (err == nil) != (bc.name == "valid") {
					b.Fatal(err)
				}
			}
		})
	}
}
