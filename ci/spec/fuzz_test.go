package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzLoad: whatever the bytes, parse never panics and either returns a File or a
// *ValidationError with at least one positioned problem.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"valid/seed.yaml", "valid/values.yaml", "valid/defaults.yaml", "invalid/bad_cron.yaml", "invalid/bad_rrule.yaml",
		"invalid/syntax_unquoted_cron.yaml", "invalid/syntax_unquoted_cron_flow.yaml", "invalid/two_documents.yaml", "invalid/duplicate_keys.yaml",
		"valid/prefect3.yaml", "invalid/prefect3_bad_values.yaml", "invalid/prefect3_bad_schedules.yaml", "invalid/mixed_majors.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a: &a [*a, *a]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n"))
	f.Add([]byte("deployments:\n  - <<: [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := parse("fuzz.yaml", data, testRepo)
		if err == nil {
			if file == nil {
				t.Fatal("nil File without error")
			}
			return
		}
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Errors) == 0 {
			t.Fatalf("want a *ValidationError with problems, got %v", err)
		}
		// A syntax error is placed at a line and column of the input (that it is within
		// the input is FuzzSyntaxError's, in ci/yamlpos); the cron hint keeps it there.
		for _, fe := range ve.Errors {
			if strings.HasPrefix(fe.Msg, "YAML syntax:") && (fe.Pos.Line < 1 || fe.Pos.Col < 1) {
				t.Fatalf("syntax error without a line and column: %v", fe)
			}
		}
	})
}

// A file built from nested aliases must not expand without bound.
func TestAliasBomb(t *testing.T) {
	doc := "ib-block: process/dev\ndeployments:\n  - name: a\n    entrypoint: flows/hello.py:hello\n    parameters:\n      l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 1; i < 9; i++ {
		doc += "      l" + strconv.Itoa(i) + ": &l" + strconv.Itoa(i) + " [*l" + strconv.Itoa(i-1) + ", *l" + strconv.Itoa(i-1) + ", *l" + strconv.Itoa(i-1) + ", *l" + strconv.Itoa(i-1) + ", *l" + strconv.Itoa(i-1) + ", *l" + strconv.Itoa(i-1) + ", *l" + strconv.Itoa(i-1) + ", *l" + strconv.Itoa(i-1) + ", *l" + strconv.Itoa(i-1) + ", *l" + strconv.Itoa(i-1) + "]\n"
	}
	_, err := parse("bomb.yaml", []byte(doc), testRepo)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a *ValidationError, got %v", err)
	}
	found := false
	for _, e := range ve.Errors {
		if e.Msg == "too many nodes after expanding aliases" {
			found = true
		}
	}
	if !found {
		t.Fatalf("want the alias budget error, got %v", err)
	}
}

func TestLoadAll(t *testing.T) {
	good := filepath.Join("testdata", "valid", "seed.yaml")
	bad1 := filepath.Join("testdata", "invalid", "bad_cron.yaml")
	bad2 := filepath.Join("testdata", "invalid", "bad_tags.yaml")
	files, err := LoadAll([]string{good, filepath.Join("testdata", "valid", "flows.yaml")}, LoadOptions{RepoRoot: testRepo})
	if err != nil || len(files) != 2 {
		t.Fatalf("LoadAll(valid files) = %d files, %v", len(files), err)
	}
	files, err = LoadAll([]string{bad1, good, bad2}, LoadOptions{RepoRoot: testRepo})
	if err == nil || files != nil {
		t.Fatalf("want an error and no files, got %d files, %v", len(files), err)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.File != bad1 {
		t.Fatalf("the first file's *ValidationError must be reachable, got %v", err)
	}
	for _, p := range []string{bad1, bad2} {
		if !containsStr(err.Error(), p+": ") {
			t.Errorf("error does not mention %s:\n%v", p, err)
		}
	}
}

func containsStr(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || containsStr(s[1:], sub)))
}
