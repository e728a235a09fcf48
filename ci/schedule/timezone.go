package schedule

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // time zones must validate the same on a bare CI runner as on a laptop
)

// CheckTimezone says why Prefect would refuse tz as a schedule's time zone; nil when
// it is an IANA name it takes.
func CheckTimezone(tz string) error {
	bad := tz == "" || tz == "Local" || tz == "localtime" || tz == "Factory" || tz == "posixrules" ||
		strings.HasPrefix(tz, "posix/") || strings.HasPrefix(tz, "right/") || strings.HasPrefix(tz, "/") || strings.Contains(tz, "..")
	// Every IANA name segment starts with a capital letter; checking it keeps "europe/berlin"
	// refused on case-insensitive file systems too, as Prefect refuses it everywhere.
	for _, seg := range strings.Split(tz, "/") {
		if seg == "" || seg[0] < 'A' || seg[0] > 'Z' {
			bad = true
		}
	}
	if !bad {
		if _, err := time.LoadLocation(tz); err != nil {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("unknown time zone %q: expected an IANA name such as Europe/Berlin or America/New_York", tz)
	}
	return nil
}
