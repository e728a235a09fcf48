package pipeline

import (
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes []string
		want   string
	}{
		{"one write", []string{"url https://x/hunter22/y and abc stays (too short to mask safely)\n"},
			"url https://x/***/y and abc stays (too short to mask safely)\n"},
		{"split across writes", []string{"token=hun", "ter22 ok\n"}, "token=*** ok\n"},
		{"split byte by byte", strings.Split("a hunter22 b\n", ""), "a *** b\n"},
		{"several lines in one write, the last one split", []string{"1 hunter22\n2 hun", "ter22\n"}, "1 ***\n2 ***\n"},
		{"no final newline: flushed at the end", []string{"x hunt", "er22"}, "x ***"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			r := &redactor{w: &b, m: masker{"hunter22", "abc"}}
			for _, w := range tc.writes {
				if n, err := r.Write([]byte(w)); err != nil || n != len(w) {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			if err := r.Flush(); err != nil {
				t.Fatal(err)
			}
			if got := b.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
