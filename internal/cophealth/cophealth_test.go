package cophealth

import (
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func at(s string) *time.Time { t := day(s); return &t }

func TestScheduled(t *testing.T) {
	open := day("2026-01-01")
	for _, tt := range []struct {
		until string
		every time.Duration
		want  int
	}{
		{"2026-01-01", 14 * Day, 0}, // empty span
		{"2026-01-02", 14 * Day, 1}, // the first slot is the opening day
		{"2026-01-15", 14 * Day, 1}, // 15 Jan is the second slot, excluded
		{"2026-01-16", 14 * Day, 2},
		{"2026-03-01", 14 * Day, 5}, // 1, 15, 29 Jan, 12, 26 Feb
		{"2026-03-01", 0, 0},        // no schedule
	} {
		if got := Scheduled(open, day(tt.until), tt.every); got != tt.want {
			t.Errorf("Scheduled(1 Jan, %s, %v) = %d, want %d", tt.until, tt.every, got, tt.want)
		}
	}
}

func TestMedianAndPercent(t *testing.T) {
	for _, tt := range []struct {
		xs   []float64
		want float64
		nil_ bool
	}{
		{nil, 0, true},
		{[]float64{3}, 3, false},
		{[]float64{5, 1, 3}, 3, false},
		{[]float64{4, 1, 2, 10}, 3, false}, // (2+4)/2
		{[]float64{1, 2.25}, 1.6, false},   // 1.625 → 1.6
	} {
		got := Median(tt.xs)
		if tt.nil_ != (got == nil) || (got != nil && *got != tt.want) {
			t.Errorf("Median(%v) = %v, want %v", tt.xs, got, tt.want)
		}
	}
	if Percent(1, 0) != nil {
		t.Error("Percent of 0 must be nil")
	}
	if got := *Percent(2, 3); got != 66.7 {
		t.Errorf("Percent(2, 3) = %v, want 66.7", got)
	}
}

// A site of two schools, one wave from 1 Jan to 1 Mar 2026, meetings every
// 14 days (5 slots per school, 10 for the site); everything computed by hand.
func TestBuild(t *testing.T) {
	in := Input{
		Schools: []string{"a", "b"},
		Every:   14 * Day,
		Waves:   []WaveSpan{{Number: 1, Open: day("2026-01-01"), Until: day("2026-03-01")}},
		Today:   day("2026-02-20"),
		Meetings: []Meeting{
			{School: "a", Date: day("2026-01-15"), Status: "held", Attendance: map[string]int{"health": 1, "education": 2}},
			{School: "a", Date: day("2026-01-29"), Status: "held"},
			{School: "a", Date: day("2026-02-12"), Status: "minutes_missing"},
			{School: "b", Date: day("2026-01-15"), Status: "held", Attendance: map[string]int{"health": 2, "parents": 3}},
			{School: "b", Date: day("2026-01-29"), Status: "no_agenda"},
			{School: "b", Date: day("2026-03-05"), Status: "held"}, // after the wave's period: not counted
		},
		Cycles: []Cycle{
			{School: "a", Wave: 1, AtRisk: true, ScoredAt: at("2026-01-10"), PlanAt: at("2026-01-15")}, // 5 days
			{School: "a", Wave: 1, AtRisk: true, ScoredAt: at("2026-01-10"), PlanAt: at("2026-01-29")}, // 19 days
			{School: "a", Wave: 1, AtRisk: true, ScoredAt: at("2026-02-01")},                           // waiting
			{School: "a", Wave: 1, AtRisk: false, ScoredAt: at("2026-01-10")},                          // low risk: not counted
			{School: "b", Wave: 1, AtRisk: true, ScoredAt: at("2026-01-12"), PlanAt: at("2026-01-15")}, // 3 days
		},
		Referrals: []Referral{
			// Health, clinic: acknowledged after 2 days then completed.
			{School: "a", Wave: 1, Sector: "health", ServiceType: "clinic", Status: "completed", CreatedAt: day("2026-01-15"), AcknowledgedAt: at("2026-01-17"), ClosedAt: at("2026-01-30")},
			// Health, clinic: overdue, never answered.
			{School: "a", Wave: 1, Sector: "health", ServiceType: "clinic", Status: "dispatched", Overdue: true, CreatedAt: day("2026-01-15")},
			// Government, SASSA: declined after 4 days without acknowledging.
			{School: "b", Wave: 1, Sector: "government", ServiceType: "sassa", Status: "declined", CreatedAt: day("2026-01-15"), ClosedAt: at("2026-01-19")},
			// Urgent social work referral, unreachable: khula gave up, no answer.
			{School: "b", Wave: 1, Sector: "social_work", ServiceType: "social_development", Status: "unreachable", Urgent: true, CreatedAt: day("2026-01-12"), ClosedAt: at("2026-01-20")},
		},
		Actions: []Action{
			{School: "a", Wave: 1, Status: "open", DueOn: "2026-02-12"}, // overdue on 20 Feb
			{School: "a", Wave: 1, Status: "open", DueOn: "2026-02-20"}, // due today: not overdue
			{School: "a", Wave: 1, Status: "done", DueOn: "2026-02-01"},
			{School: "b", Wave: 1, Status: "dropped", DueOn: "2026-02-01"},
			{School: "b", Wave: 1, Status: "referred", DueOn: "2026-02-01"}, // counted with referrals
		},
	}
	d := Build(in)
	if len(d.Waves) != 1 || len(d.Waves[0].Scopes) != 3 {
		t.Fatalf("want 1 wave of 3 scopes, got %+v", d)
	}
	site, a, b := d.Waves[0].Scopes[0], d.Waves[0].Scopes[1], d.Waves[0].Scopes[2]
	if want := (MeetingMeasure{Scheduled: 10, Held: 3, NoAgenda: 1, MinutesMissing: 1, WithAttendance: 2}); site.Meetings != want {
		t.Errorf("site meetings = %+v, want %+v", site.Meetings, want)
	}
	if want := (MeetingMeasure{Scheduled: 5, Held: 2, MinutesMissing: 1, WithAttendance: 1}); a.Meetings != want {
		t.Errorf("school a meetings = %+v, want %+v", a.Meetings, want)
	}
	if got := site.Attendance; got["health"] != 3 || got["education"] != 2 || got["parents"] != 3 || len(got) != 3 {
		t.Errorf("site attendance = %v, want health 3, education 2, parents 3", got)
	}
	// Site waits: 5, 19, 3 → median 5; school a: 5, 19 → 12.
	if site.Plans.AtRisk != 4 || site.Plans.Planned != 3 || site.Plans.Waiting != 1 || *site.Plans.MedianDays != 5 {
		t.Errorf("site plans = %+v (median %v), want 4 at risk, 3 planned, 1 waiting, median 5", site.Plans, *site.Plans.MedianDays)
	}
	if *a.Plans.MedianDays != 12 {
		t.Errorf("school a median = %v, want 12", *a.Plans.MedianDays)
	}
	byKey := map[string]ReferralMeasure{}
	for _, r := range site.Referrals {
		byKey[r.Sector+"/"+r.ServiceType] = r
	}
	health := byKey["health/"]
	if health.Made != 2 || health.Accepted != 1 || health.Completed != 1 || health.Open != 1 || health.Overdue != 1 ||
		*health.AcceptancePercent != 50 || *health.CompletionPercent != 50 || *health.MedianDaysToService != 2 {
		t.Errorf("health = %+v", health)
	}
	gov := byKey["government/sassa"]
	if gov.Made != 1 || gov.Accepted != 0 || gov.Declined != 1 || *gov.MedianDaysToService != 4 || *gov.AcceptancePercent != 0 {
		t.Errorf("government/sassa = %+v", gov)
	}
	sw := byKey["social_work/"]
	if sw.Urgent != 1 || sw.Unreachable != 1 || sw.MedianDaysToService != nil {
		t.Errorf("social work = %+v (an unreachable referral has no time to service)", sw)
	}
	if want := (ActionMeasure{Total: 4, Done: 1, Dropped: 1, Open: 2, Overdue: 1}); site.Actions != want {
		t.Errorf("site actions = %+v, want %+v", site.Actions, want)
	}
	// Overdue now: the clinic referral and the action due 12 Feb.
	if site.Overdue != 2 || a.Overdue != 2 || b.Overdue != 0 {
		t.Errorf("overdue site %d a %d b %d, want 2 2 0", site.Overdue, a.Overdue, b.Overdue)
	}
}
