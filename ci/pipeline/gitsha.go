package pipeline

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/acme-data/prefect-flows/ci/config"
)

var hexSHA = regexp.MustCompile(`^[0-9a-f]{7,64}$`)

// GitSHA returns the short commit hash of the repository at dir: `git rev-parse --short
// HEAD` when git is installed, else by reading .git/HEAD and the ref it points to (CI
// images and the Dagger module often have no git binary).
func GitSHA(dir string) (string, error) {
	if out, err := exec.Command("git", "-C", dir, "rev-parse", "--short", "HEAD").Output(); err == nil {
		if sha := strings.TrimSpace(string(out)); hexSHA.MatchString(sha) {
			return sha, nil
		}
	}
	sha, err := readHead(filepath.Join(dir, ".git"))
	if err != nil {
		return "", fmt.Errorf("git commit of %s: %w", dir, err)
	}
	return config.ShortSHA(sha), nil
}

func readHead(gitDir string) (string, error) {
	// A worktree or submodule has a .git file pointing at the real directory.
	if b, err := os.ReadFile(gitDir); err == nil {
		line := strings.TrimSpace(string(b))
		rest, ok := strings.CutPrefix(line, "gitdir: ")
		if !ok {
			return "", fmt.Errorf("%s: not a gitdir file", gitDir)
		}
		if !filepath.IsAbs(rest) {
			rest = filepath.Join(filepath.Dir(gitDir), rest)
		}
		gitDir = rest
	}
	b, err := os.ReadFile(filepath.Join(gitDir, "HEAD"))
	if err != nil {
		return "", err
	}
	head := strings.TrimSpace(string(b))
	ref, ok := strings.CutPrefix(head, "ref: ")
	if !ok {
		if hexSHA.MatchString(head) {
			return head, nil
		}
		return "", fmt.Errorf("HEAD %q is neither a ref nor a commit", head)
	}
	if b, err := os.ReadFile(filepath.Join(gitDir, filepath.FromSlash(ref))); err == nil {
		if sha := strings.TrimSpace(string(b)); hexSHA.MatchString(sha) {
			return sha, nil
		}
	}
	// Worktrees keep shared refs in the common directory.
	common := gitDir
	if b, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		c := strings.TrimSpace(string(b))
		if !filepath.IsAbs(c) {
			c = filepath.Join(gitDir, c)
		}
		common = c
		if b, err := os.ReadFile(filepath.Join(common, filepath.FromSlash(ref))); err == nil {
			if sha := strings.TrimSpace(string(b)); hexSHA.MatchString(sha) {
				return sha, nil
			}
		}
	}
	f, err := os.Open(filepath.Join(common, "packed-refs"))
	if err != nil {
		return "", fmt.Errorf("ref %s: not found", ref)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 && fields[1] == ref && hexSHA.MatchString(fields[0]) {
			return fields[0], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", errors.New("ref " + ref + ": not found (unborn branch?)")
}
