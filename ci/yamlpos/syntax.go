package yamlpos

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Decode reads the first document of data and looks for a second one (extra is nil
// when there is none). An empty input gives io.EOF. On a syntax error in the second
// document, doc is the first one. SyntaxError replays Decode on prefixes of the file, so
// a caller that reads the file with Decode gets the error SyntaxError places.
func Decode(data []byte) (doc, extra *yaml.Node, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	doc = &yaml.Node{}
	if err := dec.Decode(doc); err != nil {
		return nil, nil, err
	}
	extra = &yaml.Node{}
	if err := dec.Decode(extra); err != nil {
		if errors.Is(err, io.EOF) {
			return doc, nil, nil
		}
		return doc, nil, err
	}
	return doc, extra, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// splitYAMLError splits yaml.v3's "yaml: line N: problem" (N may be absent) into N and
// the problem.
func splitYAMLError(msg string) (int, string) {
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n, m[2]
	}
	return 0, strings.TrimPrefix(msg, "yaml: ")
}

// yamlContext names, for the problems whose context yaml.v3 sets, what the context mark
// points at.
var yamlContext = map[string]string{
	"did not find expected '-' indicator":                          "the list",
	"did not find expected key":                                    "the mapping",
	"did not find expected ',' or ']'":                             "the [ list",
	"did not find expected ',' or '}'":                             "the { mapping",
	"did not find expected node content":                           "the value",
	"found undefined tag handle":                                   "the value",
	"found unexpected end of stream":                               "the quoted string",
	"found unexpected document indicator":                          "the quoted string",
	"found unknown escape character":                               "the quoted string",
	"did not find expected hexdecimal number":                      "the quoted string",
	"found invalid Unicode character escape code":                  "the quoted string",
	"could not find expected ':'":                                  "the key",
	"found a tab character that violates indentation":              "the value",
	"found a tab character where an indentation space is expected": "the block scalar",
	"found an indentation indicator equal to 0":                    "the block scalar",
}

// parserProblems are the problems yaml.v3's parser (not its scanner) reports. yaml.v3
// prints a parser error's line 0-based and a scanner error's 1-based, and a parser
// error's problem mark is the start of the token it did not expect.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"found undefined tag handle":             true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// Hint lets the caller recognise a mistake of its own kind of file on the line of a
// syntax error: given the line (without its break) and the 1-based column found, it
// returns the column to point at and a hint to add to the message, or "" for none.
type Hint func(line []byte, col int) (int, string)

// SyntaxError places err, a syntax error Decode returned for data, at the line and
// column to fix, with a message that starts "YAML syntax: " followed by yaml.v3's
// problem and what the placement found out (hint may be nil).
//
// yaml.v3 (v3.0.1) keeps only one line in its message: the context mark's (where the
// enclosing list, mapping or string starts), 0-based for parser errors, and the problem
// mark's only when the context is on the first line; it never gives a column. Its Node API returns no partial tree on
// error and its parser state is unexported, so nothing more can be asked of it.
//
// The position is found by replaying the parse on prefixes of the file: the problem is on
// the first line whose prefix fails with exactly the same error (problem text and the
// context line yaml.v3 prints). Only an identical error is accepted because a prefix cut
// inside a block scalar, a flow collection or a quoted string fails differently at its
// end, or not at all. When the identical error appears before the problem mark, it is
// because the prefix ends inside the unclosed [ or " that the error is about: that
// opening line is the one to fix. Within that line, the same test on character prefixes
// gives the column. This relies on yaml.v3's own judgement for every kind of error,
// where a scan for known mistakes (tabs, unclosed quotes or brackets) would re-implement
// YAML's rules and still miss cases. Scans of the found line only refine the column (the
// start of a key, the [ of an unclosed list, the * of an unknown alias) and add a hint
// about a tab. The search gallops from the context line, which is never after the
// problem, then bisects, so it costs O(log n) parses, and runs only after a failed parse.
// One more replay (strayString) recognises a quoted string left open, which yaml.v3
// reports only where the next quote in the file closes it.
//
// Every replay parses the file with one blank line put in front: the context mark is
// then never on the first line, so yaml.v3 always prints the context line, which every
// prefix that holds the context shares, and never the problem mark's, which moves with
// the end of an unclosed string or list.
func SyntaxError(file string, data []byte, err error, hint Hint) FieldError {
	reported, problem := splitYAMLError(err.Error())
	fallback := func() FieldError {
		return FieldError{Pos: Pos{File: file, Line: max(reported, 1), Col: 1}, Msg: "YAML syntax: " + problem}
	}
	// UTF-16 input cannot be cut at byte-level line ends; yaml.v3's line is all there is.
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		return fallback()
	}
	r := newReplay(data)
	full := r.fail(len(data), "")
	shiftedLine, p := splitYAMLError(full)
	if p != problem {
		return fallback()
	}
	// ctx is the 1-based line of the context mark (or of the problem mark when yaml.v3
	// sets no context).
	ctx := shiftedLine
	if !parserProblems[problem] {
		ctx--
	}
	lines := lineEnds(data)
	k := firstTrue(max(ctx, 1), len(lines), func(k int) bool { return r.fail(lines[k-1], "") == full })
	if k == 0 {
		return fallback()
	}
	col := r.column(lines, k, func(end int) bool { return r.fail(end, "") == full })
	if parserProblems[problem] && r.char(lines, k, col) == ':' {
		// The unexpected token is a key, known as one only at its ':'; point at the key.
		// A blank before the ':' would make an empty key, which fails the same way.
		keyEnd := func(end int) bool {
			c, _ := utf8.DecodeLastRune(r.data[:end])
			return c != ' ' && c != '\t' && r.fail(end, ":") == full
		}
		if c := r.column(lines, k, keyEnd); c > 0 && c < col {
			col = c
			if q := r.char(lines, k, col); q == '"' || q == '\'' {
				col = r.openingQuote(lines, k, col, q)
			}
		}
	}
	if bracket, ok := flowOpen[problem]; ok && ctx == k {
		// A prefix fails the same way once it holds the first item: point at the bracket.
		l := []rune(string(r.line(lines, k)))
		i := min(col, len(l)+1) - 2
		for i >= 0 && (l[i] == ' ' || l[i] == '\t') {
			i--
		}
		if i >= 0 && l[i] == bracket {
			col = i + 1
		}
	}
	if name, ok := strings.CutPrefix(problem, "unknown anchor '"); ok {
		// The alias is only known to be unknown at its last character; point at its '*'.
		name = strings.TrimSuffix(name, "' referenced")
		upto := string(r.line(lines, k))
		upto = upto[:byteOffset([]byte(upto), col)]
		if at := strings.LastIndex(upto, "*"+name); at >= 0 {
			col = utf8.RuneCountInString(upto[:at]) + 1
		}
	}

	var notes []string
	if hint != nil {
		if c, h := hint(r.line(lines, k), col); h != "" {
			col = c
			notes = append(notes, h)
		}
	}
	if r.char(lines, k, col) == '\t' {
		notes = append(notes, "a tab: YAML indents with spaces only")
	}
	if problem == "found unexpected end of stream" && ctx == k {
		notes = append(notes, "the quoted string that starts here is never closed")
	} else if what, known := yamlContext[problem]; known && ctx != k && ctx > 0 {
		notes = append(notes, fmt.Sprintf("%s that starts at line %d", what, ctx))
	} else if !known && reported > 0 && reported != k {
		// A context this code does not know: keep yaml.v3's line rather than lose it.
		notes = append(notes, fmt.Sprintf("yaml.v3 reports line %d", reported))
	}
	note := ""
	if len(notes) > 0 {
		note = " (" + strings.Join(notes, "; ") + ")"
	}
	text := "YAML syntax: " + problem + note
	if qLine, qCol, cLine, cCol, ok := r.strayString(lines, k, col); ok {
		// A quoted string left open swallows the text up to the next quote, and yaml.v3
		// stops soon after that; the quote to fix is where the string starts.
		text = fmt.Sprintf("YAML syntax: %s at %d:%d%s, after the quoted string that starts here and ends at %d:%d: is its closing quote missing?", problem, k, col, note, cLine, cCol)
		k, col = qLine, qCol
	}
	return FieldError{Pos: Pos{File: file, Line: k, Col: col}, Msg: text}
}

// flowOpen maps the problems of an unclosed flow collection to its opening bracket.
var flowOpen = map[string]rune{
	"did not find expected ',' or ']'": '[',
	"did not find expected ',' or '}'": '{',
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// replay parses prefixes of a file, with one blank line in front (after a BOM).
type replay struct {
	data    []byte
	head    int // length of the BOM, which yaml.v3 does not count as a column
	shifted []byte
	buf     []byte
}

func newReplay(data []byte) *replay {
	r := &replay{data: data}
	if bytes.HasPrefix(data, utf8BOM) {
		r.head = len(utf8BOM)
	}
	r.shifted = make([]byte, 0, len(data)+1)
	r.shifted = append(append(append(r.shifted, data[:r.head]...), '\n'), data[r.head:]...)
	return r
}

// fail parses data[:end] followed by suffix and returns the error text, "" when it parses.
func (r *replay) fail(end int, suffix string) string {
	end = max(end, r.head)
	r.buf = append(append(r.buf[:0], r.shifted[:end+1]...), suffix...)
	if _, _, err := Decode(r.buf); err != nil {
		return err.Error()
	}
	return ""
}

// line is line k's text without its line break (and without a BOM).
func (r *replay) line(lines []int, k int) []byte {
	start := r.head
	if k > 1 {
		start = lines[k-2]
	}
	content := r.data[start:lines[k-1]]
	return content[:len(content)-len(lineBreakSuffix(content))]
}

// char is the character at 1-based column col of line k, 0 past its end.
func (r *replay) char(lines []int, k, col int) rune {
	l := r.line(lines, k)
	off := byteOffset(l, col-1)
	if off >= len(l) {
		return 0
	}
	c, _ := utf8.DecodeRune(l[off:])
	return c
}

// column is the 1-based column of the first character of line k at which ok holds for
// the prefix that ends with it; one past the line's end when only the line break makes
// ok hold, 0 when nothing does.
func (r *replay) column(lines []int, k int, ok func(end int) bool) int {
	l := r.line(lines, k)
	start := lines[k-1] - len(l) - len(lineBreakSuffix(r.data[:lines[k-1]]))
	var cuts []int
	for i := 0; i < len(l); {
		_, size := utf8.DecodeRune(l[i:])
		i += size
		cuts = append(cuts, start+i)
	}
	if lines[k-1] != start+len(l) {
		cuts = append(cuts, lines[k-1])
	}
	if len(cuts) == 0 {
		return 0
	}
	return firstTrue(1, len(cuts), func(i int) bool { return ok(cuts[i-1]) })
}

// openingQuote is the column of the quote that opens the quoted text closed by the quote
// at column col of line k, or col when there is none on the line.
func (r *replay) openingQuote(lines []int, k, col int, q rune) int {
	runes := []rune(string(r.line(lines, k)))
	for i := col - 2; i >= 0; i-- {
		if runes[i] == q && (q != '"' || i == 0 || runes[i-1] != '\\') {
			return i + 1
		}
	}
	return col
}

// strayString tells whether a quoted string that starts on an earlier line closes on
// line k (at or before column col, where the problem is) or on the line before: the
// usual trace of a missing closing quote, which makes the string swallow text up to the
// next quote in the file. It returns where the string starts and where it ends.
func (r *replay) strayString(lines []int, k, col int) (qLine, qCol, cLine, cCol int, ok bool) {
	for j := k; j >= max(k-1, 2); j-- {
		// Does the prefix that ends just before line j end inside a string?
		open := r.fail(lines[j-2], "")
		n, p := splitYAMLError(open)
		if p != "found unexpected end of stream" || n < 2 || n-1 >= j {
			continue
		}
		qLine = n - 1 // a scanner error's line, shifted by one
		// The string closes at the first character after which the prefix no longer
		// ends inside it.
		cCol = r.column(lines, j, func(end int) bool { return r.fail(end, "") != open })
		if cCol == 0 || cCol > len([]rune(string(r.line(lines, j)))) || (j == k && cCol > col) {
			return 0, 0, 0, 0, false
		}
		qCol = r.column(lines, qLine, func(end int) bool { return r.fail(end, "") == open })
		if qCol == 0 {
			return 0, 0, 0, 0, false
		}
		return qLine, qCol, j, cCol, true
	}
	return 0, 0, 0, 0, false
}

// lineEnds returns the offset just after each line's break (\n, \r\n or a lone \r, as
// yaml.v3 counts lines); the last line may end without one.
func lineEnds(data []byte) []int {
	var ends []int
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '\r':
			if i+1 < len(data) && data[i+1] == '\n' {
				i++
			}
			ends = append(ends, i+1)
		case '\n':
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != len(data) {
		ends = append(ends, len(data))
	}
	return ends
}

func lineBreakSuffix(b []byte) []byte {
	switch {
	case bytes.HasSuffix(b, []byte("\r\n")):
		return b[len(b)-2:]
	case bytes.HasSuffix(b, []byte("\n")), bytes.HasSuffix(b, []byte("\r")):
		return b[len(b)-1:]
	}
	return nil
}

// byteOffset is the offset of the n-th (0-based) character of b.
func byteOffset(b []byte, n int) int {
	off := 0
	for ; n > 0 && off < len(b); n-- {
		_, size := utf8.DecodeRune(b[off:])
		off += size
	}
	return off
}

// firstTrue finds the smallest i in [lo, hi] with ok(i), galloping up from lo and then
// bisecting the last step, so an answer near lo costs few calls; it assumes ok stays
// true once true, and returns 0 when ok(hi) is false.
func firstTrue(lo, hi int, ok func(int) bool) int {
	if lo > hi {
		return 0
	}
	prev := lo - 1
	step := 1
	i := lo
	for {
		if i >= hi {
			i = hi
			if !ok(i) {
				return 0
			}
			break
		}
		if ok(i) {
			break
		}
		prev = i
		i += step
		step *= 2
	}
	for prev+1 < i {
		mid := (prev + i) / 2
		if ok(mid) {
			i = mid
		} else {
			prev = mid
		}
	}
	return i
}
