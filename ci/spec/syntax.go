package spec

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

var unquotedCron = regexp.MustCompile(`(?:^|[\s{,])cron[ \t]*:[ \t]+([*@])`)

// cronHint is the yamlpos.Hint of a deployments file. It recognises the commonest
// syntax error of one: a cron expression left unquoted that starts with * (YAML reads an
// alias, *name) or @ (a reserved character). When line holds one at or before col, it
// returns the column of the expression and a hint that shows it quoted.
func cronHint(line []byte, col int) (int, string) {
	m := unquotedCron.FindSubmatchIndex(line)
	if m == nil {
		return col, ""
	}
	start := utf8.RuneCount(line[:m[2]]) + 1
	if col < start {
		return col, ""
	}
	expr := string(line[m[2]:])
	if bytes.LastIndexByte(line[:m[2]], '{') >= 0 {
		if end := strings.IndexAny(expr, ",}"); end >= 0 {
			expr = expr[:end] // a { mapping } ends the value at , or }
		}
	} else if end := strings.Index(expr, " #"); end >= 0 {
		expr = expr[:end]
	}
	expr = strings.TrimSpace(expr)
	what := "an alias (*name)"
	if expr[0] == '@' {
		what = "a reserved character"
	}
	return start, fmt.Sprintf("YAML reads a value starting with %c as %s: quote the cron expression, cron: %s", expr[0], what, strconv.Quote(expr))
}
