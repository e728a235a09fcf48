package schedule

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Expressions croniter 1.x/2.x accepts (and Prefect does not refuse) must pass; the
// others must fail. Comments say which croniter rule decides.
func TestCheckCron(t *testing.T) {
	valid := []string{
		"* * * * *", "0 0 * * *", "@daily", "@ANNUALLY", "@midnight", "@weekly", "@monthly", "@yearly", "@hourly",
		"*/5 * * * *", "0-59/10 * * * *", "5/15 * * * *", "0 9-17 * * 1-5", "0 9 * * mon-fri", "0 9 * jan-mar *",
		"0 0 l * *", "0 0 15-L * *", "0 0 * * 5#3", "0 0 * * mon#1", "0 0 * * L5", "0 0 * * 7", "0 0 * * fri-sun",
		"0 0 1,15 * *", "0 0 * * 0,6", "1,2,3 * * * *", "0 0 * * MON-FRI#2", "0 0 31 2 *", "0 0 * * *,1",
		"0 0 * * mon-fri#2,6-0,5-0", "0 0 * * 0,1,2,3,4,5,6,1#2", // nth mixed with plain days is fine when all 7 days appear
	}
	for _, e := range valid {
		assert.NoError(t, CheckCron(e), e)
	}
	invalid := []string{
		"", "* * * *", "* * * * * *", "@reboot", "@every 5m", "60 * * * *", "* 24 * * *", "* * 32 * *", "* * 0 * *",
		"* * * 13 *", "* * * 0 *", "* * * * 8", "H * * * *", "h(0-29) * * * *", "R * * * *", "r/5 * * * *",
		"? * * * *", "0 0 ? * *", "*/0 * * * *", "5-1 * * * *", "-1 * * * *", "1,,2 * * * *", "0 0 * * mon#0",
		"0 0 * * 1#6", "0 0 * * 1-3#2", "0 0 * mon * *", "0 0 * * jan", "0 0 L/2 * *", "0 0 * * tue,1#2", "0 0 W * *",
		"a b c d e", "0 0 * * *#2", "0 0 * * l5,*/2,*", "0 0 * * 6-0,*,mon-fri#2", "@daily ",
	}
	for _, e := range invalid {
		assert.Error(t, CheckCron(e), e)
	}
}

func TestCheckRRule(t *testing.T) {
	valid := []string{
		"FREQ=DAILY", "freq=weekly;byday=mo,we", "RRULE:FREQ=MONTHLY;BYMONTHDAY=-1", "FREQ=YEARLY;BYMONTH=1,7;BYMONTHDAY=1",
		"FREQ=HOURLY;INTERVAL=6;BYMINUTE=0", "FREQ=MONTHLY;BYDAY=1MO,-1FR", "FREQ=MONTHLY;BYDAY=TH(+2)", "FREQ=DAILY;COUNT=5",
		"FREQ=DAILY;UNTIL=20301231T235959Z", "FREQ=DAILY;UNTIL=20301231", "FREQ=WEEKLY;WKST=SU;BYDAY=SU", "FREQ=YEARLY;BYWEEKNO=-53;BYDAY=MO",
		"FREQ=YEARLY;BYYEARDAY=366", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "FREQ=YEARLY;BYEASTER=0",
		"DTSTART:20240101T090000\nRRULE:FREQ=DAILY", "DTSTART:20240101T090000Z\nRRULE:FREQ=DAILY;UNTIL=20240201T000000Z",
		"DTSTART;TZID=Europe/Berlin:20240101T090000\nRRULE:FREQ=DAILY;UNTIL=20240201T000000Z",
		"DTSTART:20240101T090000\nRRULE:FREQ=DAILY\nRRULE:FREQ=HOURLY;INTERVAL=12\nEXDATE:20240102T090000",
		"DTSTART:20240101T090000\nRDATE:20240105T090000,20240106T090000",
		"DTSTART:20240101T090000\nFREQ=DAILY",
		"DTSTART:20240101T230000\nRRULE:FREQ=HOURLY;INTERVAL=2;BYHOUR=23", "FREQ=HOURLY;INTERVAL=2;BYHOUR=9,10",
		"FREQ=HOURLY;INTERVAL=5;BYHOUR=3", "DTSTART:20240101\nRRULE:FREQ=MINUTELY;INTERVAL=15;BYMINUTE=0,30",
	}
	for _, r := range valid {
		assert.NoError(t, CheckRRule(r), r)
	}
	invalid := []string{
		"", "BYDAY=MO", "FREQ=FORTNIGHTLY", "FREQ=DAILY;", ";FREQ=DAILY", "FREQ=DAILY;FREQ=WEEKLY", "FREQ=DAILY;INTERVAL=0",
		"FREQ=DAILY;INTERVAL=x", "FREQ=DAILY;COUNT=-1", "FREQ=DAILY;UNTIL=tomorrow", "FREQ=WEEKLY;WKST=XX", "FREQ=WEEKLY;BYDAY=",
		"FREQ=WEEKLY;BYDAY=0MO", "FREQ=WEEKLY;BYDAY=54MO", "FREQ=DAILY;BYHOUR=24", "FREQ=DAILY;BYMINUTE=60", "FREQ=DAILY;BYSECOND=61",
		"FREQ=MONTHLY;BYMONTHDAY=0", "FREQ=MONTHLY;BYMONTHDAY=32", "FREQ=YEARLY;BYMONTH=13", "FREQ=YEARLY;BYWEEKNO=54",
		"FREQ=MONTHLY;BYSETPOS=0", "FREQ=DAILY;X-NAME=1", "FREQ", "FREQ=DAILY=WEEKLY", "RRULE;X=1:FREQ=DAILY",
		"DTSTART:20240101T090000\nDTSTART:20240102T090000\nRRULE:FREQ=DAILY", "DTSTART:notadate\nRRULE:FREQ=DAILY",
		"DTSTART:20240101T090000\nSUMMARY:x\nRRULE:FREQ=DAILY", "DTSTART:20240101T090000", "DTSTART;FOO=1:20240101T090000\nRRULE:FREQ=DAILY",
		"DTSTART:20240101T090000Z\nRRULE:FREQ=DAILY;UNTIL=20240201T000000",
		"FREQ=DAILY;BYHOUR=" + string(make([]byte, 7000)),
		// reachable or not depending on the start hour, which is "now" without DTSTART
		"FREQ=HOURLY;INTERVAL=2;BYHOUR=23", "DTSTART:20240101T220000\nRRULE:FREQ=HOURLY;INTERVAL=2;BYHOUR=23",
		"FREQ=DAILY;UNTIL=2030-12-31T23:59:59", // dateutil splits on ':'
		"FREQ=DAILY;BYSECOND=60",
	}
	for _, r := range invalid {
		assert.Error(t, CheckRRule(r), r)
	}
}

// The rrule dates and the anchor-date use ci/isodate (pendulum's rules); what a
// schedule adds is refusing values read relative to the time of each deploy.
func TestScheduleDates(t *testing.T) {
	for s, zoned := range map[string]bool{"20240131T090000Z": true, "2024-01-31": false, "2024-01-31T09:00+01": true, "2024-W05-3": false} {
		z, ok := rruleDate(s)
		assert.True(t, ok, s)
		assert.Equal(t, zoned, z, s)
		_, err := ParseAnchor(s)
		assert.NoError(t, err, s)
	}
	for _, s := range []string{"now", "09:00", "201207", "tomorrow", "2024-01-31T09:00+25:00", "2023-02-29", ""} {
		_, ok := rruleDate(s)
		assert.False(t, ok, s)
		_, err := ParseAnchor(s)
		assert.Error(t, err, s)
	}
	_, err := ParseAnchor("09:00")
	assert.EqualError(t, err, `"09:00" is read by Prefect at each deploy (a time without a date, or now), so the anchor would move with every deploy: write a date such as 2024-01-31T09:00:00+01:00`)
}

func TestParseInterval(t *testing.T) {
	valid := map[string]int64{"1": 1, "3600": 3600, "90m": 5400, "1h30m": 5400, "45s": 45, "1d": 86400, "1w": 604800, "2h0m5s": 7205, "0h1s": 1}
	for s, want := range valid {
		got, err := ParseInterval(s)
		assert.NoError(t, err, s)
		assert.Equal(t, want, got, s)
	}
	for _, s := range []string{"", "0", "-1", "0s", "0m0s", "1.5", "1.5h", "h", "90 m", "1y", "500ms", "PT1H", "-5m", "99999999999999999999w", "9223372036854775807w"} {
		_, err := ParseInterval(s)
		assert.Error(t, err, s)
	}
}

func TestCheckTimezone(t *testing.T) {
	for _, tz := range []string{"UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "US/Eastern", "Etc/GMT+5", "Asia/Kolkata"} {
		assert.NoError(t, CheckTimezone(tz), tz)
	}
	for _, tz := range []string{"", "Local", "Mars/Olympus", "europe/berlin", "../etc/passwd", "/etc/localtime", "posix/UTC", "right/UTC", "Europe/"} {
		assert.Error(t, CheckTimezone(tz), tz)
	}
}
