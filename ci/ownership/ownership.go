// Package ownership is who a deployment belongs to: the ownership tag
// managed-by:prefect-flows:<owner>:<env> that apply puts on every deployment it writes,
// the rules for owners and environment names, and where a run's owner comes from.
// The live plan, prune and the take-over guard all decide by it.
package ownership

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/acme-data/prefect-flows/ci/spec"
)

// MarkerPrefix starts the ownership tag; the full tag is MarkerPrefix + owner + ":" + env,
// e.g. "managed-by:prefect-flows:acme-data/prefect-flows:dev". The spec loader rejects
// user tags with this prefix, so only an apply puts it on a deployment.
//
// Before owners existed the tag was MarkerPrefix + env (LegacyMarkerTag): the same for
// every copy of this repository, so two forks sharing a server pruned each other. A
// deployment carrying only the legacy tag is adopted (re-tagged) when the file lists it,
// and deleted only when the user asks for it (PruneLegacy), since the legacy tag cannot
// say which copy made it.
const MarkerPrefix = spec.ReservedTagPrefix

var (
	envRe   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	ownerRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._/-]{0,99}$`)
)

// CheckEnv is the one rule for environment names: lower-case letters, digits, '-' and
// '_', because the environment ends the ownership tag.
func CheckEnv(env string) error {
	if !envRe.MatchString(env) {
		return fmt.Errorf("environment %q: want lower-case letters, digits, '-' or '_' (it ends the ownership tag %s<owner>:<env>)", env, MarkerPrefix)
	}
	return nil
}

// CheckOwner says whether owner may stand in the ownership tag as it is (NormalizeOwner's
// output always may).
func CheckOwner(owner string) error {
	if !ownerRe.MatchString(owner) {
		return fmt.Errorf("owner %q: want lower-case letters, digits, '.', '_', '-' or '/', starting with a letter or digit, at most 100 (it names the ownership tag %s<owner>:<env>)", owner, MarkerPrefix)
	}
	return nil
}

// NormalizeOwner maps any repository name onto the tag's characters: lower case, every
// run of other characters (':', ',', spaces, ...) becomes one '-', and '-', '.', '/' are
// trimmed from both ends. "Acme Data/Prefect_Flows" gives "acme-data/prefect_flows".
func NormalizeOwner(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '/':
			b.WriteRune(r)
			dash = false
		case !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.Trim(b.String(), "-./_")
	if len(out) > 100 {
		out = strings.TrimRight(out[:100], "-./_")
	}
	return out
}

// MarkerTag is the ownership tag of owner's deployments in env. It holds no comma
// (Prefect would keep "a,b" as one tag, but a human reading a comma list would not), no
// space, and exactly one ':' after the prefix, so the owner and the environment can be
// read back from it (ParseMarker).
func MarkerTag(owner, env string) (string, error) {
	if err := CheckOwner(owner); err != nil {
		return "", err
	}
	if err := CheckEnv(env); err != nil {
		return "", err
	}
	return MarkerPrefix + owner + ":" + env, nil
}

// LegacyMarkerTag is the tag every copy of the repository used before owners existed.
func LegacyMarkerTag(env string) (string, error) {
	if err := CheckEnv(env); err != nil {
		return "", err
	}
	return MarkerPrefix + env, nil
}

// ParseMarker reads an ownership tag: owner is "" for a legacy tag; ok is false for a
// tag that is not an ownership tag.
func ParseMarker(tag string) (owner, env string, ok bool) {
	rest, found := strings.CutPrefix(tag, MarkerPrefix)
	if !found || rest == "" {
		return "", "", false
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		return rest[:i], rest[i+1:], true
	}
	return "", rest, true
}

// Owner is a resolved ownership identity and where it came from, for the plan's header.
type Owner struct {
	Name   string
	Source string // e.g. "--owner", "PREFECT_OWNER", "GITHUB_REPOSITORY", "git remote origin", "directory name"
}

func (o Owner) String() string { return o.Name + " (from " + o.Source + ")" }

// ResolveOwner is the one rule for the owner of a repository's deployments, in order:
// flagValue (--owner; mage passes PREFECT_OWNER there too), PREFECT_OWNER,
// GITHUB_REPOSITORY (set in GitHub Actions: "owner/name", different for every fork),
// the owner/name of the git remote "origin" of dir, else dir's base name. Every value but
// flagValue and PREFECT_OWNER is normalised to the tag's characters; those two must
// already fit, so that a typo is an error rather than a silently different owner.
func ResolveOwner(flagValue string, getenv func(string) string, dir string) (Owner, error) {
	for _, c := range []struct{ v, src string }{{flagValue, "--owner"}, {getenv("PREFECT_OWNER"), "PREFECT_OWNER"}} {
		if v := strings.TrimSpace(c.v); v != "" {
			if err := CheckOwner(v); err != nil {
				return Owner{}, fmt.Errorf("%s: %w (normalised it would be %q)", c.src, err, NormalizeOwner(v))
			}
			return Owner{v, c.src}, nil
		}
	}
	if v := NormalizeOwner(getenv("GITHUB_REPOSITORY")); v != "" {
		return Owner{v, "GITHUB_REPOSITORY"}, nil
	}
	if dir != "" {
		if v := NormalizeOwner(RemoteOwner(gitRemoteURL(dir))); v != "" {
			return Owner{v, "git remote origin"}, nil
		}
		if abs, err := filepath.Abs(dir); err == nil {
			if v := NormalizeOwner(filepath.Base(abs)); v != "" {
				return Owner{v, "directory name " + filepath.Base(abs)}, nil
			}
		}
	}
	return Owner{}, errors.New("no owner: set PREFECT_OWNER (or --owner), e.g. to the repository's owner/name")
}

// RemoteOwner is the "owner/name" of a git remote URL (https, ssh or scp-like), without
// ".git"; "" when the URL has fewer than two path parts.
func RemoteOwner(url string) string {
	url = strings.TrimSpace(url)
	if url == "" {
		return ""
	}
	if i := strings.Index(url, "://"); i >= 0 {
		url = url[i+3:]
		if j := strings.IndexByte(url, '/'); j >= 0 {
			url = url[j+1:]
		} else {
			return ""
		}
	} else if i := strings.IndexByte(url, ':'); i >= 0 { // git@host:owner/name.git
		url = url[i+1:]
	}
	parts := strings.Split(strings.Trim(strings.TrimSuffix(strings.TrimSuffix(url, "/"), ".git"), "/"), "/")
	if len(parts) < 2 {
		return ""
	}
	return parts[len(parts)-2] + "/" + parts[len(parts)-1]
}

// gitRemoteURL asks git for dir's "origin" URL; "" when there is no git, repository or
// remote (the image has no .git: the pipeline passes the owner explicitly).
func gitRemoteURL(dir string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "config", "--get", "remote.origin.url").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// Mark returns a copy of f whose deployments all carry tag (once, last), which is what
// apply must build from so every deployment it touches is marked as managed.
func Mark(f *spec.File, tag string) *spec.File {
	out := *f
	out.Deployments = make([]spec.Deployment, len(f.Deployments))
	for i, d := range f.Deployments {
		tags := make([]string, 0, len(d.Tags)+1)
		for _, t := range d.Tags {
			if t != tag {
				tags = append(tags, t)
			}
		}
		d.Tags = append(tags, tag)
		out.Deployments[i] = d
	}
	return &out
}

// IsLegacy says whether tag is an ownership tag of the time before owners (no owner).
func IsLegacy(tag string) bool {
	owner, _, ok := ParseMarker(tag)
	return ok && owner == ""
}

// HasOwnerTag says whether tags hold an owner's (non-legacy) ownership tag.
func HasOwnerTag(tags []string) bool {
	for _, t := range tags {
		if owner, _, ok := ParseMarker(t); ok && owner != "" {
			return true
		}
	}
	return false
}
