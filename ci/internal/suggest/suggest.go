// Package suggest finds the likely intended word for a misspelt one ("did you mean"),
// for YAML keys, parameter names and flow function names alike.
package suggest

import (
	"sort"
	"strings"
)

// Closest returns the known word closest to an unknown one, or "" when none is close
// enough to be a likely typo. `-` and `_` are treated as the same character because
// the published schema mixes them (ib-block, work_pool).
func Closest(key string, known []string) string {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }
	nk := norm(key)
	best, bestD := "", 1<<30
	cands := append([]string(nil), known...)
	sort.Strings(cands)
	for _, k := range cands {
		if norm(k) == nk {
			return k
		}
		d := editDistance(nk, norm(k))
		if d < bestD {
			best, bestD = k, d
		}
	}
	limit := 2
	if len(key) <= 4 {
		limit = 1
	}
	if bestD <= limit {
		return best
	}
	return ""
}

// editDistance is the Damerau-Levenshtein distance (optimal string alignment), so a
// swapped pair of letters counts as one typo.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
