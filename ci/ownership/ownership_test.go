package ownership_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/ownership"
	"github.com/acme-data/prefect-flows/ci/spec"
)

const (
	owner  = "acme-data/prefect-flows"
	marker = "managed-by:prefect-flows:" + owner + ":dev"
)

type stringCase struct{ In, Want string }

func readCases(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestLegacyAndOwnerTags: IsLegacy and HasOwnerTag tell the two kinds of ownership tag
// apart, and neither takes a tag of another tool.
func TestLegacyAndOwnerTags(t *testing.T) {
	legacy, err := ownership.LegacyMarkerTag("dev")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		tag              string
		isLegacy, hasOwn bool
	}{
		{marker, false, true},
		{legacy, true, false},
		{"managed-by:other:dev", false, false},
		{"dev", false, false},
	}
	for _, c := range cases {
		if got := ownership.IsLegacy(c.tag); got != c.isLegacy {
			t.Errorf("IsLegacy(%q) = %v", c.tag, got)
		}
		if got := ownership.HasOwnerTag([]string{"x", c.tag}); got != c.hasOwn {
			t.Errorf("HasOwnerTag([x %q]) = %v", c.tag, got)
		}
	}
}

func TestMarkerTag(t *testing.T) {
	for env, ok := range map[string]bool{"dev": true, "prod-eu": true, "a_b": true, "": false, "Dev": false, "a,b": false, "a b": false, "a:b": false} {
		tag, err := ownership.MarkerTag(owner, env)
		if (err == nil) != ok {
			t.Errorf("%q: err %v", env, err)
		}
		if ok && (tag != ownership.MarkerPrefix+owner+":"+env || strings.ContainsAny(tag, ", ")) {
			t.Errorf("%q: tag %q", env, tag)
		}
		if ok {
			if o, e, isTag := ownership.ParseMarker(tag); !isTag || o != owner || e != env {
				t.Errorf("ownership.ParseMarker(%q) = %q, %q, %v", tag, o, e, isTag)
			}
			old, _ := ownership.LegacyMarkerTag(env)
			if o, e, isTag := ownership.ParseMarker(old); !isTag || o != "" || e != env {
				t.Errorf("ownership.ParseMarker(%q) = %q, %q, %v", old, o, e, isTag)
			}
		}
	}
	for _, bad := range []string{"", "A", "-a", "a:b", "a,b", "a b", strings.Repeat("a", 101)} {
		if _, err := ownership.MarkerTag(bad, "dev"); err == nil {
			t.Errorf("owner %q: no error", bad)
		}
	}
	if _, _, ok := ownership.ParseMarker("managed-by:other:dev"); ok {
		t.Error("ParseMarker took a foreign tag")
	}
	f := &spec.File{Deployments: []spec.Deployment{{Name: "a", Tags: []string{"x", marker}}, {Name: "b"}}}
	m := ownership.Mark(f, marker)
	if fmt.Sprint(m.Deployments[0].Tags, m.Deployments[1].Tags) != "[x "+marker+"] ["+marker+"]" {
		t.Errorf("Mark: %v %v", m.Deployments[0].Tags, m.Deployments[1].Tags)
	}
	if len(f.Deployments[1].Tags) != 0 {
		t.Error("Mark changed its input")
	}
}

func TestNormalizeOwner(t *testing.T) {
	var cases []stringCase
	readCases(t, "testdata/owner/normalize.json", &cases)
	for _, c := range cases {
		got := ownership.NormalizeOwner(c.In)
		if got != c.Want {
			t.Errorf("ownership.NormalizeOwner(%q) = %q, want %q", c.In, got, c.Want)
		}
		if got != "" {
			if err := ownership.CheckOwner(got); err != nil {
				t.Errorf("ownership.NormalizeOwner(%q) = %q does not fit the tag: %v", c.In, got, err)
			}
		}
	}
}

func TestRemoteOwner(t *testing.T) {
	var cases []stringCase
	readCases(t, "testdata/owner/remote.json", &cases)
	for _, c := range cases {
		if got := ownership.RemoteOwner(c.In); got != c.Want {
			t.Errorf("ownership.RemoteOwner(%q) = %q, want %q", c.In, got, c.Want)
		}
	}
}

// TestResolveOwner follows the order flag, PREFECT_OWNER, GITHUB_REPOSITORY, git remote,
// directory name, each case in a fresh directory (with a git remote when it says so).
func TestResolveOwner(t *testing.T) {
	var cases []struct {
		Name, Flag, Remote, Dir, Want, Source, Err string
		Env                                        map[string]string
	}
	readCases(t, "testdata/owner/resolve.json", &cases)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			if c.Dir != "" {
				dir = filepath.Join(filepath.Dir(dir), c.Dir)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if c.Remote != "" {
				for _, args := range [][]string{{"init", "-q"}, {"remote", "add", "origin", c.Remote}} {
					cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
					if out, err := cmd.CombinedOutput(); err != nil {
						t.Skipf("git %v: %v %s", args, err, out)
					}
				}
			}
			got, err := ownership.ResolveOwner(c.Flag, func(k string) string { return c.Env[k] }, dir)
			if c.Err != "" {
				if err == nil || !strings.Contains(err.Error(), c.Err) {
					t.Fatalf("err %v, want one containing %q", err, c.Err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != c.Want || got.Source != c.Source {
				t.Errorf("got %+v, want %q from %q", got, c.Want, c.Source)
			}
		})
	}
}
