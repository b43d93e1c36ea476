package web

import (
	"fmt"
	"strings"
	"time"

	"github.com/khula-cop/khula/sites"
)

// nextMeetings lists the next n meeting times of a site's cadence after
// now, in the site's time zone. They fall where the meeting schedules fire:
// every site.Meetings.Every from the Unix epoch (a Thursday, 00:00 UTC),
// offset to the cadence's weekday and local time.
func nextMeetings(site *sites.Site, now time.Time, n int) ([]time.Time, error) {
	loc, err := time.LoadLocation(site.Timezone)
	if err != nil {
		return nil, fmt.Errorf("site %s time zone: %w", site.ID, err)
	}
	every := site.Meetings.Every.D()
	if every <= 0 {
		return nil, fmt.Errorf("site %s has no meeting cadence", site.ID)
	}
	clock, err := time.ParseInLocation("15:04", site.Meetings.Time, loc)
	if err != nil {
		return nil, fmt.Errorf("site %s meeting time: %w", site.ID, err)
	}
	weekdays := map[string]int{"thursday": 0, "friday": 1, "saturday": 2, "sunday": 3, "monday": 4, "tuesday": 5, "wednesday": 6}
	days, ok := weekdays[strings.ToLower(site.Meetings.Weekday)]
	if !ok {
		return nil, fmt.Errorf("site %s meeting weekday %q", site.ID, site.Meetings.Weekday)
	}
	_, zone := time.Date(2026, 1, 1, 12, 0, 0, 0, loc).Zone()
	offset := time.Duration(days)*24*time.Hour + time.Duration(clock.Hour())*time.Hour + time.Duration(clock.Minute())*time.Minute - time.Duration(zone)*time.Second
	if offset < 0 {
		offset += 7 * 24 * time.Hour
	}
	offset %= every
	since := now.UTC().Sub(time.Unix(0, 0).UTC()) - offset
	k := since / every
	if since%every != 0 || since < 0 {
		k++
	}
	var out []time.Time
	for i := 0; i < n; i++ {
		t := time.Unix(0, 0).UTC().Add(offset + (k+time.Duration(i))*every)
		out = append(out, t.In(loc))
	}
	return out, nil
}
