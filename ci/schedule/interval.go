package schedule

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
)

var (
	durationText = regexp.MustCompile(`^(?:[0-9]+[wdhms])+$`)
	durationPart = regexp.MustCompile(`([0-9]+)([wdhms])`)
	unitSeconds  = map[string]int64{"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
)

// ParseInterval reads a file's `interval` into whole seconds: whole seconds (3600, or
// "3600") or a duration made of whole numbers with units w, d, h, m, s ("90m",
// "1h30m", "1d"). Fractions are refused because Prefect's --interval takes whole
// seconds only; ISO-8601 durations (PT1H) are refused too, as the loader always did.
func ParseInterval(text string) (int64, error) {
	secs, msg := intervalSeconds(text)
	if msg != "" {
		return 0, errors.New(msg)
	}
	return secs, nil
}

func intervalSeconds(text string) (int64, string) {
	if text == "" {
		return 0, "empty interval"
	}
	if v, err := strconv.ParseInt(text, 10, 64); err == nil {
		if v <= 0 {
			return 0, fmt.Sprintf("interval %s: must be a positive whole number of seconds", text)
		}
		return v, ""
	}
	if !durationText.MatchString(text) {
		return 0, fmt.Sprintf("interval %q: expected a positive whole number of seconds or a duration such as 90m or 1h30m (units w, d, h, m, s)", text)
	}
	var total int64
	for _, m := range durationPart.FindAllStringSubmatch(text, -1) {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || n > math.MaxInt64/unitSeconds[m[2]] || total > math.MaxInt64-n*unitSeconds[m[2]] {
			return 0, fmt.Sprintf("interval %q is too large", text)
		}
		total += n * unitSeconds[m[2]]
	}
	if total <= 0 {
		return 0, fmt.Sprintf("interval %q: must be positive", text)
	}
	return total, ""
}
