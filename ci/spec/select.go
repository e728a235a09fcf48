package spec

import (
	"fmt"
	"path"
	"strings"
)

// Deployments are chosen by name with path.Match globs: prefect-deploy's --only and the
// pipeline's DEPLOY_ONLY (which it hands on to prefect-deploy as --only, unchanged) both
// mean this. A plain name is a glob that matches only itself unless it contains one of
// globChars, which the file's name rule allows (Prefect refuses only bannedNameChars):
// such a name is selected by escaping those characters with a backslash (QuoteName).
const globChars = `*?[\`

// SelectHelp is the rule in one line, for the help of --only and the README's DEPLOY_ONLY.
const SelectHelp = "a deployment name or path.Match glob (sales-*); \\ escapes * ? [ \\ in a name; a pattern that matches nothing is an error"

// CheckPatterns reports the first pattern that is not a valid path.Match glob, so that
// a bad pattern stops a run before anything is loaded or built.
func CheckPatterns(patterns []string) error {
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("%q: %w (a glob as in path.Match: * ? [a-z], \\ escapes)", p, err)
		}
	}
	return nil
}

// Select keeps f's deployments, in the file's order, whose name matches at least one of
// patterns (see globChars); no patterns keeps them all. Every pattern must match
// something: otherwise the error is a *SelectError. A bad pattern is CheckPatterns' error.
func (f *File) Select(patterns []string) ([]Deployment, error) {
	if len(patterns) == 0 {
		return f.Deployments, nil
	}
	if err := CheckPatterns(patterns); err != nil {
		return nil, err
	}
	used := make([]bool, len(patterns))
	var kept []Deployment
	for _, d := range f.Deployments {
		match := false
		for i, p := range patterns {
			if ok, _ := path.Match(p, d.Name); ok {
				used[i], match = true, true
			}
		}
		if match {
			kept = append(kept, d)
		}
	}
	e := &SelectError{File: f.Path}
	for i, p := range patterns {
		if !used[i] {
			e.Unmatched = append(e.Unmatched, p)
		}
	}
	if len(e.Unmatched) == 0 {
		return kept, nil
	}
	for _, d := range f.Deployments {
		e.Names = append(e.Names, d.Name)
	}
	return nil, e
}

// SelectError is Select's answer when a pattern matches no deployment. Its message
// reads after the name of the setting: "--only " or "DEPLOY_ONLY ".
type SelectError struct {
	File      string   // the deployments file, as loaded
	Unmatched []string // the patterns that match no deployment, in the order given
	Names     []string // every deployment name of the file, in the file's order
}

func (e *SelectError) Error() string {
	verb := "matches"
	if len(e.Unmatched) > 1 {
		verb = "match"
	}
	msg := fmt.Sprintf("%s %s no deployment in %s (it has: %s)", strings.Join(e.Unmatched, ", "), verb, e.File, strings.Join(e.Names, ", "))
	// A pattern spelled like a name with glob characters: say how to select that name.
	for _, p := range e.Unmatched {
		for _, n := range e.Names {
			if p == n {
				msg += fmt.Sprintf("; patterns are globs: write %s to match the name %s", QuoteName(n), n)
			}
		}
	}
	return msg
}

// QuoteName is the pattern that matches the deployment name and nothing else.
func QuoteName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if strings.ContainsRune(globChars, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
