package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGitSHAFromFiles(t *testing.T) {
	const full = "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		name    string
		files   map[string]string // path under the repo -> contents
		want    string
		wantErr string
	}{
		{"branch ref file", map[string]string{".git/HEAD": "ref: refs/heads/main\n", ".git/refs/heads/main": full + "\n"}, "0123456", ""},
		{"detached head", map[string]string{".git/HEAD": full + "\n"}, "0123456", ""},
		{"packed ref", map[string]string{".git/HEAD": "ref: refs/heads/dev\n", ".git/packed-refs": "# pack-refs with: peeled\n" + strings.Repeat("f", 40) + " refs/heads/main\n" + full + " refs/heads/dev\n"}, "0123456", ""},
		{"worktree gitdir file", map[string]string{".git": "gitdir: wt\n", "wt/HEAD": "ref: refs/heads/x\n", "wt/commondir": "../common\n", "common/refs/heads/x": full}, "0123456", ""},
		{"unborn branch", map[string]string{".git/HEAD": "ref: refs/heads/main\n"}, "", "not found"},
		{"no repository", map[string]string{"README": "x"}, "", "git commit of"},
		{"garbage HEAD", map[string]string{".git/HEAD": "hello\n"}, "", "neither a ref nor a commit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for p, c := range tc.files {
				p = filepath.Join(dir, filepath.FromSlash(p))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("PATH", "") // no git: the file fallback is under test
			got, err := GitSHA(dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("GitSHA = %q, %v; want error %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("GitSHA = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
