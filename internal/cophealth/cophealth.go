// Package cophealth measures how well a Community of Practice works, wave
// over wave, per site and per school: meetings held against the schedule,
// who attended by sector, how long children wait from scoring to a plan,
// how services accept and complete referrals (by sector and service) and
// how soon they first respond, and what is overdue. It is pure: the
// caller reads the rows; nothing here touches a database or a child's
// personal data.
package cophealth

import (
	"math"
	"slices"
	"sort"
	"time"
)

// Day is 24 hours: durations are reported in days.
const Day = 24 * time.Hour

// WaveSpan is one wave's period: from its window's opening to Until (the
// next wave's opening, or now for the latest).
type WaveSpan struct {
	Number int
	Open   time.Time
	Until  time.Time
}

// Meeting is one LLCoP meeting.
type Meeting struct {
	School string
	Date   time.Time
	// Status is held, awaiting_minutes, minutes_missing, no_agenda or cancelled.
	Status     string
	Attendance map[string]int
}

// Cycle is one child's cycle: when it was scored and when its first plan
// was agreed (nil when not yet).
type Cycle struct {
	School   string
	Wave     int
	AtRisk   bool
	ScoredAt *time.Time
	PlanAt   *time.Time
}

// Referral is one referral.
type Referral struct {
	School, Sector, ServiceType string
	Wave                        int
	Status                      string
	Urgent, Overdue             bool
	CreatedAt                   time.Time
	AcknowledgedAt, ClosedAt    *time.Time
}

// Action is one agreed plan action that is followed up.
type Action struct {
	School string
	Wave   int
	// Status is open, done, dropped or referred.
	Status string
	DueOn  string // YYYY-MM-DD
}

// Input is what the dashboard reads.
type Input struct {
	Schools []string
	// Every is the site's meeting cadence (0: no schedule).
	Every     time.Duration
	Waves     []WaveSpan
	Meetings  []Meeting
	Cycles    []Cycle
	Referrals []Referral
	Actions   []Action
	// Today decides what is overdue.
	Today time.Time
}

// Dashboard is the CoP's measures, one entry per wave (oldest first).
type Dashboard struct {
	Waves []WaveMeasures `json:"waves"`
}

// WaveMeasures are one wave's measures: the site first, then each school.
type WaveMeasures struct {
	Wave   int        `json:"wave"`
	Open   time.Time  `json:"open"`
	Until  time.Time  `json:"until"`
	Scopes []Measures `json:"scopes"`
}

// Measures are one scope's measures ("" school: the whole site).
type Measures struct {
	School   string         `json:"school"`
	Meetings MeetingMeasure `json:"meetings"`
	// Attendance sums who attended by sector over the meetings that recorded it.
	Attendance map[string]int `json:"attendance"`
	Plans      PlanMeasure    `json:"plans"`
	// Referrals by sector, then by service type within it.
	Referrals []ReferralMeasure `json:"referrals"`
	Actions   ActionMeasure     `json:"actions"`
	// Overdue counts what is late now: open overdue referrals and open
	// actions past their due date.
	Overdue int `json:"overdue"`
}

// MeetingMeasure counts meetings against the schedule.
type MeetingMeasure struct {
	Scheduled      int `json:"scheduled"`
	Held           int `json:"held"`
	NoAgenda       int `json:"no_agenda"`
	MinutesMissing int `json:"minutes_missing"`
	Awaiting       int `json:"awaiting_minutes"`
	// WithAttendance counts held meetings whose minutes said who attended.
	WithAttendance int `json:"with_attendance"`
}

// PlanMeasure is how long children at risk waited from scoring to a plan.
type PlanMeasure struct {
	AtRisk  int `json:"at_risk"`
	Planned int `json:"planned"`
	Waiting int `json:"waiting"`
	// MedianDays from scoring to the first plan (nil: no plan yet).
	MedianDays *float64 `json:"median_days,omitempty"`
}

// ReferralMeasure is one sector's (or, with ServiceType set, one
// service's) referrals.
type ReferralMeasure struct {
	Sector      string `json:"sector"`
	ServiceType string `json:"service_type,omitempty"`
	Made        int    `json:"made"`
	Urgent      int    `json:"urgent"`
	// Accepted: the service acknowledged or completed it.
	Accepted    int `json:"accepted"`
	Completed   int `json:"completed"`
	Declined    int `json:"declined"`
	Unreachable int `json:"unreachable"`
	Open        int `json:"open"`
	Overdue     int `json:"overdue"`
	// AcceptancePercent and CompletionPercent are shares of Made.
	AcceptancePercent *float64 `json:"acceptance_percent,omitempty"`
	CompletionPercent *float64 `json:"completion_percent,omitempty"`
	// MedianDaysToService is from referral to the service's first answer.
	MedianDaysToService *float64 `json:"median_days_to_service,omitempty"`
}

// ActionMeasure counts agreed actions followed up (service actions are
// counted with their referrals).
type ActionMeasure struct {
	Total   int `json:"total"`
	Done    int `json:"done"`
	Dropped int `json:"dropped"`
	Open    int `json:"open"`
	Overdue int `json:"overdue"`
}

// Build computes the dashboard. A meeting belongs to the wave whose
// period holds its date; cycles, referrals and actions to their own wave.
func Build(in Input) Dashboard {
	d := Dashboard{Waves: []WaveMeasures{}}
	today := in.Today.UTC().Format(time.DateOnly)
	for _, w := range in.Waves {
		wm := WaveMeasures{Wave: w.Number, Open: w.Open, Until: w.Until}
		for _, school := range append([]string{""}, in.Schools...) {
			wm.Scopes = append(wm.Scopes, measure(in, w, school, today))
		}
		d.Waves = append(d.Waves, wm)
	}
	return d
}

func measure(in Input, w WaveSpan, school, today string) Measures {
	ours := func(s string) bool { return school == "" || s == school }
	m := Measures{School: school, Attendance: map[string]int{}, Referrals: []ReferralMeasure{}}
	schools := 1
	if school == "" {
		schools = len(in.Schools)
	}
	m.Meetings.Scheduled = schools * Scheduled(w.Open, w.Until, in.Every)
	for _, mt := range in.Meetings {
		if !ours(mt.School) || mt.Date.Before(w.Open) || !mt.Date.Before(w.Until) {
			continue
		}
		switch mt.Status {
		case "held":
			m.Meetings.Held++
			if len(mt.Attendance) > 0 {
				m.Meetings.WithAttendance++
			}
			for sector, n := range mt.Attendance {
				m.Attendance[sector] += n
			}
		case "no_agenda":
			m.Meetings.NoAgenda++
		case "minutes_missing":
			m.Meetings.MinutesMissing++
		case "awaiting_minutes":
			m.Meetings.Awaiting++
		}
	}
	var waits []float64
	for _, c := range in.Cycles {
		if c.Wave != w.Number || !ours(c.School) || !c.AtRisk || c.ScoredAt == nil {
			continue
		}
		m.Plans.AtRisk++
		if c.PlanAt == nil {
			m.Plans.Waiting++
			continue
		}
		m.Plans.Planned++
		waits = append(waits, days(c.PlanAt.Sub(*c.ScoredAt)))
	}
	m.Plans.MedianDays = Median(waits)
	m.Referrals = referrals(in.Referrals, w.Number, ours)
	for _, r := range in.Referrals {
		if r.Wave == w.Number && ours(r.School) && r.Overdue && r.ClosedAt == nil {
			m.Overdue++
		}
	}
	for _, a := range in.Actions {
		if a.Wave != w.Number || !ours(a.School) || a.Status == "referred" {
			continue
		}
		m.Actions.Total++
		switch a.Status {
		case "done":
			m.Actions.Done++
		case "dropped":
			m.Actions.Dropped++
		default:
			m.Actions.Open++
			if a.DueOn < today {
				m.Actions.Overdue++
				m.Overdue++
			}
		}
	}
	return m
}

// referrals groups a wave's referrals by sector (in order of the first
// referral seen per sector, sorted), each followed by its services.
func referrals(all []Referral, wave int, ours func(string) bool) []ReferralMeasure {
	type key struct{ sector, service string }
	counts := map[key]*ReferralMeasure{}
	waits := map[key][]float64{}
	var keys []key
	add := func(k key, r Referral) {
		rm := counts[k]
		if rm == nil {
			rm = &ReferralMeasure{Sector: k.sector, ServiceType: k.service}
			counts[k] = rm
			keys = append(keys, k)
		}
		rm.Made++
		if r.Urgent {
			rm.Urgent++
		}
		if r.AcknowledgedAt != nil || r.Status == "completed" {
			rm.Accepted++
		}
		switch r.Status {
		case "completed":
			rm.Completed++
		case "declined":
			rm.Declined++
		case "unreachable":
			rm.Unreachable++
		default:
			rm.Open++
		}
		if r.Overdue && r.ClosedAt == nil {
			rm.Overdue++
		}
		if t := firstAnswer(r); t != nil {
			waits[k] = append(waits[k], days(t.Sub(r.CreatedAt)))
		}
	}
	for _, r := range all {
		if r.Wave != wave || !ours(r.School) {
			continue
		}
		sector := r.Sector
		if sector == "" {
			sector = "other"
		}
		add(key{sector, ""}, r)
		add(key{sector, r.ServiceType}, r)
	}
	sort.SliceStable(keys, func(i, j int) bool {
		if keys[i].sector != keys[j].sector {
			return keys[i].sector < keys[j].sector
		}
		return keys[i].service < keys[j].service
	})
	out := make([]ReferralMeasure, 0, len(keys))
	for _, k := range keys {
		rm := counts[k]
		rm.AcceptancePercent = Percent(rm.Accepted, rm.Made)
		rm.CompletionPercent = Percent(rm.Completed, rm.Made)
		rm.MedianDaysToService = Median(waits[k])
		out = append(out, *rm)
	}
	return out
}

// firstAnswer is when the service first answered: acknowledged, or closed
// with an outcome it gave (completed or declined; unreachable is khula
// giving up, not an answer).
func firstAnswer(r Referral) *time.Time {
	if r.AcknowledgedAt != nil {
		return r.AcknowledgedAt
	}
	if r.ClosedAt != nil && (r.Status == "completed" || r.Status == "declined") {
		return r.ClosedAt
	}
	return nil
}

// Scheduled counts the meeting slots of a cadence from open (the first
// slot) to until (exclusive); none when every is 0 or the span is empty.
func Scheduled(open, until time.Time, every time.Duration) int {
	if every <= 0 || !until.After(open) {
		return 0
	}
	return int((until.Sub(open)-1)/every) + 1
}

func days(d time.Duration) float64 { return d.Hours() / 24 }

// Median is the median of xs rounded to one decimal (nil when empty).
func Median(xs []float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	mid := len(s) / 2
	v := s[mid]
	if len(s)%2 == 0 {
		v = (s[mid-1] + s[mid]) / 2
	}
	v = math.Round(v*10) / 10
	return &v
}

// Percent is 100·n/of with one decimal (nil when of is 0).
func Percent(n, of int) *float64 {
	if of == 0 {
		return nil
	}
	v := math.Round(1000*float64(n)/float64(of)) / 10
	return &v
}
