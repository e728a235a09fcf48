// Package isodate reads ISO-8601 dates and date-times with the rules Prefect 2.14 applies
// to an interval schedule's anchor_date: pendulum 2's parser (pendulum.parse, strict),
// then pendulum.instance, then the JSON that `prefect deployment build` sends. It is the
// one date parser of this repository; testdata/cases.json holds what the real Prefect
// made of each case.
//
// pendulum takes much more than RFC 3339: basic and extended forms, a date alone
// (midnight), week dates (2024-W05-3), ordinal dates (2024-031), a year or a year and
// month alone, hours alone, fractions after the minutes or hours, 2024/01/31 and
// 2024:01:31, any Unicode decimal digits, one trailing newline. A time alone ("09:00",
// "201207") and "now" are read on the day of parsing; Parse says so with Relative.
package isodate

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// Kind says which form a value was written in.
type Kind int

const (
	// DateTime is a date with a time of day.
	DateTime Kind = iota
	// Date is a date alone: midnight of that day.
	Date
	// TimeOfDay is a time alone: pendulum puts it on the day of parsing, in UTC.
	TimeOfDay
	// Now is "now": the moment of parsing.
	Now
)

// Value is a parsed date or date-time.
type Value struct {
	Kind Kind
	// Time is the instant, in the written offset (a fixed zone) or UTC when none was
	// written: Prefect reads a value without an offset as UTC.
	Time time.Time
	// Zoned is set when an offset or Z was written (and kept: pendulum drops it from
	// a time alone).
	Zoned bool
}

// Relative reports whether the value depends on when it is parsed ("now", a time alone).
func (v Value) Relative() bool { return v.Kind == TimeOfDay || v.Kind == Now }

// Error is a text pendulum (or the build after it) refuses.
type Error struct {
	Text string
	// Why says what is wrong, for the messages of callers.
	Why string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%q is not an ISO-8601 date or date-time: %s", e.Text, e.Why)
}

const d = `\p{Nd}` // Python's \d in a str pattern: any Unicode decimal digit

var (
	isoDT = regexp.MustCompile(`^(?:` +
		`(` + d + `{4})(?:(-)?(` + d + `{2})(?:(-)?(` + d + `{1,2}))?)?` + // 1 year, 2 monthsep, 3 month, 4 daysep, 5 day
		`|(` + d + `{4})(-)?W(` + d + `{2})(-)?(` + d + `)?` + // 6 isoyear, 7 weeksep, 8 week, 9 weekdaysep, 10 weekday
		`)?` +
		`(?:([T ])?(` + d + `{1,2})(:)?(` + d + `{1,2})?(:)?(` + d + `{1,2})?` + // 11 timesep, 12 hour, 13 minsep, 14 minute, 15 secsep, 16 second
		`(?:[.,](` + d + `{1,9}))?` + // 17 subsecond
		`([-+]` + d + `{2}:?(?:` + d + `{2})?|Z)?` + // 18 tz
		`)?$`)
	isoDuration = regexp.MustCompile(`^P(?:` + d + `+(?:[.,]` + d + `+)?W)?(?:` + d + `+(?:[.,]` + d + `+)?Y)?(?:` + d + `+(?:[.,]` + d + `+)?M)?(?:` + d + `+(?:[.,]` + d + `+)?D)?(?:T(?:` + d + `+(?:[.,]` + d + `+)?H)?(?:` + d + `+(?:[.,]` + d + `+)?M)?(?:` + d + `+(?:[.,]` + d + `+)?S)?)?$`)
	// common is pendulum's fallback: 2024/01/31, 2024:01:31 and a time with a space.
	common = regexp.MustCompile(`^(?:(` + d + `{4})(?:([/:])?(` + d + `{2})(?:[/:])?(` + d + `{2}))?)?` + // 1 year, 2 monthsep, 3 month, 4 day
		`(?:( )?(` + d + `{1,2}):(` + d + `{1,2})?(?::(` + d + `{1,2}))?(?:[.|,](` + d + `{1,9}))?)?$`) // 6 hour, 7 minute, 8 second, 9 subsecond
)

// match is re.match with Python's `$`, which also matches before one final newline.
func match(re *regexp.Regexp, s string) []string {
	if m := re.FindStringSubmatch(s); m != nil {
		return m
	}
	if strings.HasSuffix(s, "\n") {
		return re.FindStringSubmatch(s[:len(s)-1])
	}
	return nil
}

// Parse reads s the way Prefect 2.14 reads an anchor date; now is the moment of parsing,
// used only by the relative forms.
func Parse(s string, now time.Time) (Value, error) {
	if s == "now" {
		return Value{Kind: Now, Time: now.UTC()}, nil
	}
	p, err := parseISO(s)
	if err != nil {
		if strings.Contains(s, "/") {
			switch v := parseInterval(s); v {
			case intervalParsed:
				return Value{}, &Error{s, "an interval (start/end) is not one date"}
			case intervalCrash:
				return Value{}, &Error{s, "an interval with an empty side"}
			}
		}
		var cerr error
		if p, cerr = parseCommon(s); cerr != nil {
			if cerr == errNoForm && err != errNoForm {
				cerr = err // the ISO form matched: its own complaint says more
			}
			return Value{}, &Error{s, cerr.Error()}
		}
	}
	return p.value(s, now)
}

// parsed is pendulum's intermediate result: a date, a time or a date-time.
type parsed struct {
	kind                 Kind
	year, month, day     int
	hour, min, sec, usec int
	zoned                bool
	offset               int // seconds east of UTC
	duration             bool
}

func (p parsed) value(s string, now time.Time) (Value, error) {
	if p.duration {
		return Value{}, &Error{s, "a duration, not a date"}
	}
	loc := time.UTC
	if p.zoned && p.kind == DateTime {
		// Python keeps any offset until it is used; the build's JSON refuses a day or more.
		if p.offset <= -86400 || p.offset >= 86400 {
			return Value{}, &Error{s, "the offset must be less than 24 hours"}
		}
		if p.offset != 0 {
			loc = time.FixedZone(offsetName(p.offset), p.offset)
		}
	}
	switch p.kind {
	case TimeOfDay:
		n := now.UTC()
		return Value{Kind: TimeOfDay, Time: time.Date(n.Year(), n.Month(), n.Day(), p.hour, p.min, p.sec, p.usec*1000, time.UTC)}, nil
	case Date:
		return Value{Kind: Date, Time: time.Date(p.year, time.Month(p.month), p.day, 0, 0, 0, 0, time.UTC)}, nil
	}
	return Value{Kind: DateTime, Time: time.Date(p.year, time.Month(p.month), p.day, p.hour, p.min, p.sec, p.usec*1000, loc), Zoned: p.zoned}, nil
}

func offsetName(off int) string {
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%c%02d:%02d", sign, off/3600, off%3600/60)
}

type parseError string

func (e parseError) Error() string { return string(e) }

// errNoForm is the complaint of a form whose pattern does not match at all.
const errNoForm = parseError("not a form pendulum reads (such as 2024-01-31, 2024-01-31T09:00:00+01:00 or 20240131T090000Z)")

// num is Python's int() of a run of Unicode decimal digits ("" is 0).
func num(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + digitValue(r)
		if n > 1<<40 {
			return 1 << 40
		}
	}
	return n
}

// digitValue is a decimal digit's value: Unicode puts each set of ten digits in one
// run starting at zero.
func digitValue(r rune) int {
	start := r
	for start > 0 && unicode.IsDigit(start-1) {
		start--
	}
	return int(r-start) % 10
}

// parseISO is pendulum.parsing.iso8601.parse_iso8601.
func parseISO(s string) (parsed, error) {
	if match(isoDuration, s) != nil {
		// A duration, or an error (which then falls through to the other forms, none of
		// which reads a leading P).
		return parsed{duration: true}, nil
	}
	m := match(isoDT, s)
	if m == nil {
		return parsed{}, errNoForm
	}
	p := parsed{month: 1, day: 1}
	isDate := m[1] != "" || m[6] != ""
	ambiguous := false
	switch {
	case m[6] != "": // week date
		weekSep, daySep, weekday := m[7] != "", m[9] != "", m[10]
		if weekSep && !daySep && weekday != "" || !weekSep && daySep {
			return parsed{}, parseError("mixed basic and extended week date")
		}
		y, mo, dd, err := isoWeekDate(num(m[6]), num(m[8]), weekday)
		if err != nil {
			return parsed{}, err
		}
		p.year, p.month, p.day = y, mo, dd
	case m[1] != "":
		p.year = num(m[1])
		switch {
		case m[3] == "":
		case m[5] != "":
			if m[4] == "" && len([]rune(m[5])) == 1 {
				// YYYY-DDD (or YYYYDDD): an ordinal day
				ord := num(m[3] + m[5])
				offsets := monthOffsets[boolInt(isLeap(p.year))]
				if ord > offsets[13] {
					return parsed{}, parseError("ordinal day out of range")
				}
				for i := 1; i < 14; i++ {
					if ord <= offsets[i] {
						p.day, p.month = ord-offsets[i-1], i-1
						break
					}
				}
			} else {
				p.month, p.day = num(m[3]), num(m[5])
			}
		default:
			if m[2] == "" {
				ambiguous = true // 201207: read as a time hhmmss when nothing follows
			}
			p.month = num(m[3])
		}
	}
	if m[12] == "" { // no time
		if ambiguous {
			hhmmss := fmt.Sprintf("%d%02d", p.year, p.month)
			if len(hhmmss) != 6 {
				return parsed{}, parseError("not a time")
			}
			p = parsed{kind: TimeOfDay, hour: num(hhmmss[:2]), min: num(hhmmss[2:4]), sec: num(hhmmss[4:])}
			return p, p.checkTime()
		}
		p.kind = Date
		return p, p.checkDate()
	}
	if ambiguous {
		return parsed{}, parseError("year and month without a separator")
	}
	if isDate && m[11] == "" {
		return parsed{}, parseError("a date and a time need T or a space between them")
	}
	p.hour = num(m[12])
	minSep, secSep := m[13] != "", m[15] != ""
	switch {
	case m[14] != "":
		p.min = num(m[14])
	case minSep:
		return parsed{}, parseError("no minutes after ':'")
	}
	if secSep && !minSep && m[14] != "" {
		return parsed{}, parseError("mixed basic and extended time")
	}
	switch {
	case m[16] != "":
		if !secSep && minSep {
			return parsed{}, parseError("mixed basic and extended time")
		}
		p.sec = num(m[16])
	case secSep:
		return parsed{}, parseError("no seconds after ':'")
	}
	if m[17] != "" {
		p.usec = micro(m[17])
	}
	if tz := m[18]; tz != "" {
		p.zoned = true
		if tz != "Z" {
			neg := tz[0] == '-'
			rest := []rune(tz[1:])
			var h, mi string
			if i := strings.IndexRune(string(rest), ':'); i >= 0 {
				h, mi = string(rest)[:i], string(rest)[i+1:]
				if mi == "" {
					return parsed{}, parseError("no offset minutes after ':'")
				}
			} else {
				if len(rest) == 2 {
					rest = append(rest, '0', '0')
				}
				h, mi = string(rest[:2]), string(rest[2:4])
			}
			p.offset = (num(h)*60 + num(mi)) * 60
			if neg {
				p.offset = -p.offset
			}
		}
	}
	if !isDate {
		p.kind = TimeOfDay // a time alone: its offset is dropped
		p.zoned, p.offset = false, 0
		return p, p.checkTime()
	}
	p.kind = DateTime
	if err := p.checkDate(); err != nil {
		return parsed{}, err
	}
	return p, p.checkTime()
}

// micro is pendulum's fraction: the first six digits, padded with zeros.
func micro(frac string) int {
	r := []rune(frac)
	if len(r) > 6 {
		r = r[:6]
	}
	n := num(string(r))
	for i := len(r); i < 6; i++ {
		n *= 10
	}
	return n
}

// checkDate is what Python's date() refuses.
func (p parsed) checkDate() error {
	switch {
	case p.year < 1 || p.year > 9999:
		return parseError("year out of range")
	case p.month < 1 || p.month > 12:
		return parseError("month out of range")
	case p.day < 1 || p.day > daysIn(p.year, p.month):
		return parseError("day out of range for month")
	}
	return nil
}

// checkTime is what Python's time() refuses.
func (p parsed) checkTime() error {
	if p.hour > 23 || p.min > 59 || p.sec > 59 {
		return parseError("hour, minute or second out of range")
	}
	return nil
}

var monthOffsets = [2][14]int{
	{-1, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365},
	{-1, 0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366},
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func daysIn(y, m int) int {
	return monthOffsets[boolInt(isLeap(y))][m+1] - monthOffsets[boolInt(isLeap(y))][m]
}

func daysInYear(y int) int { return 365 + boolInt(isLeap(y)) }

// isoWeekDate is pendulum's _get_iso_8601_week, which ends in strptime("%Y-%j"): a
// year that is not four digits is refused there.
func isoWeekDate(year, week int, weekday string) (int, int, int, error) {
	wd := 1
	if weekday != "" {
		wd = num(weekday)
	}
	p := func(y int) int { return y + y/4 - y/100 + y/400 }
	long := p(year)%7 == 4 || p(year-1)%7 == 3
	if week > 53 || week > 52 && !long {
		return 0, 0, 0, parseError("week out of range")
	}
	if wd > 7 {
		return 0, 0, 0, parseError("weekday out of range")
	}
	ord := week*7 + wd - (weekDay(year, 1, 4) + 3)
	if ord < 1 {
		ord += daysInYear(year - 1)
		year--
	}
	if ord > daysInYear(year) {
		ord -= daysInYear(year)
		year++
	}
	if year < 1000 || year > 9999 || ord < 1 {
		return 0, 0, 0, parseError("week date out of range")
	}
	t := time.Date(year, 1, ord, 0, 0, 0, 0, time.UTC)
	return t.Year(), int(t.Month()), t.Day(), nil
}

// weekDay is pendulum's week_day: 1 (Monday) to 7 (Sunday).
func weekDay(year, month, day int) int {
	if month < 3 {
		year--
	}
	table := [12]int{0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4}
	w := (year + year/4 - year/100 + year/400 + table[month-1] + day) % 7
	if w == 0 {
		w = 7
	}
	return w
}

type intervalResult int

const (
	intervalFailed intervalResult = iota // not an interval: pendulum goes on to the common forms
	intervalParsed                       // an interval: refused as an anchor
	intervalCrash                        // an empty side: pendulum raises IndexError
)

// parseInterval is pendulum's _parse_iso8601_interval: exactly one '/', each side ISO.
func parseInterval(s string) intervalResult {
	parts := strings.Split(s, "/")
	if len(parts) != 2 {
		return intervalFailed
	}
	first, last := parts[0], parts[1]
	if first == "" {
		return intervalCrash
	}
	if first[0] != 'P' && last == "" {
		return intervalCrash
	}
	for _, side := range []string{first, last} {
		if _, err := parseISO(side); err != nil {
			return intervalFailed
		}
	}
	return intervalParsed
}

// parseCommon is pendulum's _parse_common, the last form it tries in strict mode.
func parseCommon(s string) (parsed, error) {
	m := match(common, s)
	if m == nil {
		return parsed{}, errNoForm
	}
	p := parsed{month: 1, day: 1}
	hasDate := m[1] != ""
	if hasDate {
		p.year = num(m[1])
		if m[3] != "" {
			p.month, p.day = num(m[3]), num(m[4])
		}
	}
	if m[6] == "" {
		p.kind = Date
		return p, p.checkDate()
	}
	if m[7] == "" {
		return parsed{}, parseError("no minutes after ':'")
	}
	p.hour, p.min, p.sec = num(m[6]), num(m[7]), num(m[8])
	if m[9] != "" {
		p.usec = micro(m[9])
	}
	if !hasDate {
		p.kind = TimeOfDay
		return p, p.checkTime()
	}
	p.kind = DateTime
	if err := p.checkDate(); err != nil {
		return parsed{}, err
	}
	return p, p.checkTime()
}
