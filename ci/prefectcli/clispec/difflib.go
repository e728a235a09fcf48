package clispec

import "sort"

// closeMatches mirrors Python's difflib.get_close_matches(word, possibilities) with
// its defaults (n=3, cutoff=0.6), which click uses to suggest options for a typo.
// The result is sorted alphabetically, as click prints it.
func closeMatches(word string, possibilities []string) []string {
	type scored struct {
		score float64
		s     string
	}
	var hits []scored
	for _, p := range possibilities {
		if r := ratio(p, word); r >= 0.6 {
			hits = append(hits, scored{r, p})
		}
	}
	// heapq.nlargest(n, (score, x)): the highest score first, ties by the larger string.
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].score != hits[j].score {
			return hits[i].score > hits[j].score
		}
		return hits[i].s > hits[j].s
	})
	if len(hits) > 3 {
		hits = hits[:3]
	}
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.s
	}
	sort.Strings(out)
	return out
}

// ratio is SequenceMatcher(None, a, b).ratio() for strings shorter than 200 runes
// (below difflib's autojunk threshold, so no element is treated as junk).
func ratio(a, b string) float64 {
	ra, rb := []rune(a), []rune(b)
	if len(ra)+len(rb) == 0 {
		return 1
	}
	m := matched(ra, rb, 0, len(ra), 0, len(rb))
	return 2 * float64(m) / float64(len(ra)+len(rb))
}

// matched sums the sizes of difflib's matching blocks: the longest common block,
// then recursively the parts on either side of it.
func matched(a, b []rune, alo, ahi, blo, bhi int) int {
	i, j, k := longestMatch(a, b, alo, ahi, blo, bhi)
	if k == 0 {
		return 0
	}
	n := k
	if alo < i && blo < j {
		n += matched(a, b, alo, i, blo, j)
	}
	if i+k < ahi && j+k < bhi {
		n += matched(a, b, i+k, ahi, j+k, bhi)
	}
	return n
}

// longestMatch follows difflib's find_longest_match: among the longest blocks it
// returns the one that starts earliest in a, then earliest in b.
func longestMatch(a, b []rune, alo, ahi, blo, bhi int) (int, int, int) {
	besti, bestj, best := alo, blo, 0
	prev := make([]int, len(b)+1)
	for i := alo; i < ahi; i++ {
		cur := make([]int, len(b)+1)
		for j := blo; j < bhi; j++ {
			if a[i] != b[j] {
				continue
			}
			k := 1
			if j > blo {
				k = prev[j-1+1] + 1
			}
			cur[j+1] = k
			if k > best {
				besti, bestj, best = i-k+1, j-k+1, k
			}
		}
		prev = cur
	}
	return besti, bestj, best
}
