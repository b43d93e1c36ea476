package findings

import (
	"math"
	"slices"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
)

// cohortScored is where the scored count is, the denominator of most tables.
var cohortScored = loc{TableCohort, pos{1, 0}}

// sectors lists the sectors in display order, with their labels.
var sectors = []struct{ key, label string }{
	{"social_work", "Social work"},
	{"education", "Education"},
	{"health", "Health"},
	{"parents", "Parents and caregivers"},
	{"ngo", "NGOs and community organisations"},
	{"government", "Government departments"},
	{"other", "Other"},
}

// sectorOf returns the sector key a record is counted under.
func sectorOf(s string) string {
	for _, x := range sectors {
		if x.key == s {
			return s
		}
	}
	return "other"
}

// part is what one scope counts.
type part struct {
	children  []Child
	referrals []Referral
	actions   []PlanAction
	plans     int
}

// Build computes the report. It does not modify the input.
func Build(in Input) Report {
	r := Report{Site: in.Site, SiteName: in.SiteName, Wave: in.Wave, WaveStatus: in.WaveStatus, GeneratedAt: in.GeneratedAt}
	site := part{children: in.Children, referrals: in.Referrals, actions: in.Actions, plans: in.Plans}
	r.Scopes = append(r.Scopes, buildScope(Scope{Key: KindSite, Kind: KindSite, Name: in.SiteName}, site, in.Domains))
	var kids, refs, acts, plans int // the schools' records: is the site their sum?
	seen := map[string]bool{}
	for _, s := range in.Schools {
		if seen[s.ID] {
			continue
		}
		seen[s.ID] = true
		p := part{
			children:  of(in.Children, s.ID, func(c Child) string { return c.School }),
			referrals: of(in.Referrals, s.ID, func(f Referral) string { return f.School }),
			actions:   of(in.Actions, s.ID, func(a PlanAction) string { return a.School }),
			plans:     in.PlansBySchool[s.ID],
		}
		kids, refs, acts, plans = kids+len(p.children), refs+len(p.referrals), acts+len(p.actions), plans+p.plans
		r.Scopes = append(r.Scopes, buildScope(Scope{Key: "school:" + s.ID, Kind: KindSchool, SchoolID: s.ID, Name: s.Name}, p, in.Domains))
	}
	r.suppress(map[string]bool{
		"children":  kids == len(in.Children),
		"referrals": refs == len(in.Referrals),
		"actions":   acts == len(in.Actions),
		"plans":     plans == in.Plans,
	})
	return r
}

// of returns the records of one school.
func of[T any](xs []T, school string, schoolOf func(T) string) []T {
	var out []T
	for _, x := range xs {
		if schoolOf(x) == school {
			out = append(out, x)
		}
	}
	return out
}

// source says which records a cell counts: children, referrals, actions
// or plans.
func source(tableID, rowKey string) string {
	switch {
	case tableID == TableReferralsBySector:
		return "referrals"
	case tableID == TablePlanActionsBySector:
		return "actions"
	case tableID == TableCohort && rowKey == "with_plan":
		return "plans"
	}
	return "children"
}

func buildScope(s Scope, p part, domains []Domain) Scope {
	var scored []Child
	for _, c := range p.children {
		if c.Scored {
			scored = append(scored, c)
		}
	}
	s.Tables = []Table{
		cohortTable(len(p.children), len(scored), p.plans),
		csgTable(scored),
		birthTable(scored),
		foodTable(scored),
		hungerTable(scored),
		depressionTable(scored),
		sdqTable(scored),
		resilienceTable(scored),
		growthTable(scored),
		riskTable(scored, domains),
		referralTable(p.referrals),
		actionTable(p.actions),
	}
	return s
}

func count(n int) Value           { return Value{Kind: Count, N: n} }
func stat(x float64, n int) Value { return Value{Kind: Stat, X: x, N: n} }

// pct is the percentage of the count at num over the count at den.
func pct(num, den pos) Value { return Value{Kind: Percent, numAt: num, denAt: den} }

func newTable(id, title, note string, cols ...string) Table {
	t := Table{ID: id, Title: title, Note: note}
	for i := 0; i+1 < len(cols); i += 2 {
		t.Columns = append(t.Columns, Column{Key: cols[i], Label: cols[i+1]})
	}
	return t
}

// row appends a row.
func (t *Table) row(key, label string, vals ...Value) {
	t.Rows = append(t.Rows, Row{Key: key, Label: label, Values: vals})
}

// add records that the parts (in this table) add up to total.
func (t *Table) add(total loc, parts ...pos) {
	g := group{total: total}
	for _, p := range parts {
		g.parts = append(g.parts, loc{p: p})
	}
	t.groups = append(t.groups, g)
}

func here(r, c int) loc { return loc{p: pos{r, c}} }

func cohortTable(cohort, scored, plans int) Table {
	t := newTable(TableCohort, "Cohort",
		"Children in the wave's cohort. Scored children were assessed at baseline; not assessed: no consent or not assessed. The other child tables count scored children only.",
		"group", "Children", "children", "Number")
	t.row("in_cohort", "In cohort", count(cohort))
	t.row("scored", "Scored (assessed)", count(scored))
	t.row("not_assessed", "Not assessed", count(cohort-scored))
	t.row("with_plan", "With an agreed plan", count(plans))
	t.groups = append(t.groups, group{parts: []loc{here(1, 0), here(2, 0)}, total: here(0, 0), totalFirst: true})
	return t
}

// category is a row of a categorical table.
type category struct{ key, label string }

// categorical counts scored children by the category classify gives (an
// index into cats), with a percentage of all scored children and a total row.
func categorical(id, title, head string, cats []category, scored []Child, classify func(Child) int) Table {
	t := newTable(id, title, "Percent of scored children.", "category", head, "children", "Children", "percent", "% of scored")
	n := make([]int, len(cats))
	for _, c := range scored {
		n[classify(c)]++
	}
	all := pos{len(cats), 0}
	parts := make([]pos, len(cats))
	for i, c := range cats {
		parts[i] = pos{i, 0}
		t.row(c.key, c.label, count(n[i]), pct(parts[i], all))
	}
	t.row("all", "All scored children", count(len(scored)), pct(all, all))
	t.add(here(all.r, 0), parts...)
	t.groups = append(t.groups, group{parts: []loc{here(all.r, 0)}, total: cohortScored})
	return t
}

func csgTable(scored []Child) Table {
	return categorical(TableCSG, "Child Support Grant", "Child Support Grant", []category{
		{"received", "Received"},
		{"applied_awaiting", "Not received: applied, awaiting"},
		{"not_applied", "Not received: not applied"},
		{"not_answered", "Not answered"},
	}, scored, func(c Child) int {
		if a := answer(c.CSGReceived); a != 1 {
			return []int{0, 1, 3}[a]
		}
		return 1 + answer(c.CSGApplied) // an unanswered follow-up is "not answered"
	})
}

// answer is the index of a yes/no answer: 0 yes, 1 no, 2 not answered.
func answer(p *bool) int {
	switch {
	case p == nil:
		return 2
	case *p:
		return 0
	}
	return 1
}

func birthTable(scored []Child) Table {
	return categorical(TableBirthCertificate, "Birth certificate", "Child has a birth certificate", []category{
		{"yes", "Yes"}, {"no", "No"}, {"not_answered", "Not answered"},
	}, scored, func(c Child) int { return answer(c.BirthCert) })
}

func foodTable(scored []Child) Table {
	return categorical(TableFoodInsecurity, "Household food insecurity", "Household ran out of food or money for food (last 30 days)", []category{
		{"never", "Never"}, {"sometimes", "Sometimes"}, {"often", "Often"}, {"not_answered", "Not answered"},
	}, scored, func(c Child) int {
		if i := slices.Index([]string{"never", "sometimes", "often"}, c.FoodShort); i >= 0 {
			return i
		}
		return 3
	})
}

func hungerTable(scored []Child) Table {
	t := newTable(TableChildHunger, "Child hunger",
		"At least sometimes: sometimes or often in the last 30 days. Percent of scored children whose caregiver answered the question.",
		"item", "Child, last 30 days", "at_least_sometimes", "At least sometimes", "answered", "Answered", "percent", "% of answered")
	items := []struct {
		key, label string
		get        func(Child) *int
	}{
		{"went_to_bed_hungry", "Went to bed hungry", func(c Child) *int { return c.HungerBed }},
		{"skipped_meal", "Skipped a meal for lack of food", func(c Child) *int { return c.HungerSkip }},
	}
	for _, it := range items {
		yes, answered := 0, 0
		for _, c := range scored {
			v := it.get(c)
			if v == nil || *v < 0 || *v > 3 {
				continue
			}
			answered++
			if *v >= 2 {
				yes++
			}
		}
		i := len(t.Rows)
		t.row(it.key, it.label, count(yes), count(answered), pct(pos{i, 0}, pos{i, 1}))
	}
	return t
}

func depressionTable(scored []Child) Table {
	t := newTable(TableCaregiverDepression, "Caregiver depression (PHQ-9)",
		"Caregiver's PHQ-9 band. Percent of scored children whose caregiver's band was computed.",
		"band", "PHQ-9 band", "children", "Children", "percent", "% of computed")
	bands := []category{
		{"minimal", "Minimal (0-4)"},
		{"mild", "Mild (5-9)"},
		{"moderate", "Moderate (10-14)"},
		{"moderately_severe", "Moderately severe (15-19)"},
		{"severe", "Severe (20-27)"},
	}
	n := make([]int, len(bands))
	computed := 0
	for _, c := range scored {
		if i := slices.IndexFunc(bands, func(b category) bool { return b.key == c.PHQ9Band }); i >= 0 {
			n[i]++
			computed++
		}
	}
	const cr, mw = 5, 7 // rows computed, moderate or worse
	for i, b := range bands {
		t.row(b.key, b.label, count(n[i]), pct(pos{i, 0}, pos{cr, 0}))
	}
	t.row("computed", "Computed (any band)", count(computed), pct(pos{cr, 0}, pos{cr, 0}))
	t.row("not_computed", "Not computed", count(len(scored)-computed), Value{})
	t.row("moderate_or_worse", "Moderate or worse (score 10 or more)", count(n[2]+n[3]+n[4]), pct(pos{mw, 0}, pos{cr, 0}))
	t.add(here(cr, 0), pos{0, 0}, pos{1, 0}, pos{2, 0}, pos{3, 0}, pos{4, 0})
	t.add(cohortScored, pos{cr, 0}, pos{cr + 1, 0})
	t.add(here(mw, 0), pos{2, 0}, pos{3, 0}, pos{4, 0})
	return t
}

// sdqScales are the SDQ subscales in display order.
var sdqScales = []category{
	{"sdq.emotional", "Emotional symptoms"},
	{"sdq.conduct", "Conduct problems"},
	{"sdq.hyperactivity", "Hyperactivity/inattention"},
	{"sdq.peer", "Peer relationship problems"},
	{"sdq.prosocial", "Prosocial behaviour"},
	{"sdq.total", "Total difficulties"},
}

func sdqTable(scored []Child) Table {
	t := newTable(TableSDQBands, "Strengths and Difficulties (SDQ) bands",
		"Children by band per subscale. % abnormal: percent of scored children with the subscale computed.",
		"subscale", "SDQ subscale", "normal", "Normal", "borderline", "Borderline", "abnormal", "Abnormal",
		"computed", "Computed", "not_computed", "Not computed", "percent_abnormal", "% abnormal")
	for _, s := range sdqScales {
		var n [3]int
		for _, c := range scored {
			if b := slices.Index([]string{"normal", "borderline", "abnormal"}, c.SDQBands[s.key]); b >= 0 {
				n[b]++
			}
		}
		comp, i := n[0]+n[1]+n[2], len(t.Rows)
		t.row(s.key, s.label, count(n[0]), count(n[1]), count(n[2]), count(comp), count(len(scored)-comp), pct(pos{i, 2}, pos{i, 3}))
		t.add(here(i, 3), pos{i, 0}, pos{i, 1}, pos{i, 2})
		t.add(cohortScored, pos{i, 3}, pos{i, 4})
	}
	return t
}

func finite(p *float64) bool { return p != nil && !math.IsNaN(*p) && !math.IsInf(*p, 0) }

func resilienceTable(scored []Child) Table {
	t := newTable(TableResilience, "Resilience (CYRM-R)",
		"CYRM-R total score (17 items, 17 to 51) over scored children with the score computed.",
		"measure", "Measure", "computed", "Computed", "not_computed", "Not computed",
		"mean", "Mean", "median", "Median", "min", "Minimum", "max", "Maximum")
	var xs []float64
	for _, c := range scored {
		if finite(c.Resilience) {
			xs = append(xs, *c.Resilience)
		}
	}
	n := len(xs)
	mean, med, lo, hi := 0.0, median(xs), 0.0, 0.0
	if n > 0 {
		sum := 0.0
		for _, x := range xs {
			sum += x
		}
		mean, lo, hi = sum/float64(n), slices.Min(xs), slices.Max(xs)
	}
	t.row("cyrm_r_total", "CYRM-R total", count(n), count(len(scored)-n), stat(mean, n), stat(med, n), stat(lo, n), stat(hi, n))
	t.add(cohortScored, pos{0, 0}, pos{0, 1})
	return t
}

// median returns the median of xs (0 when empty), leaving xs alone.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	m := len(s) / 2
	if len(s)%2 == 0 {
		return (s[m-1] + s[m]) / 2
	}
	return s[m]
}

func growthTable(scored []Child) Table {
	t := newTable(TableGrowth, "Growth (WHO cut-offs)",
		"Percent of scored children with the z-score computed and plausible. Cut-offs are strict: a z-score of exactly -2 is not below -2.",
		"indicator", "Indicator (WHO cut-off)", "children", "Children", "measured", "Measured", "percent", "% of measured")
	// z: 0 HAZ, 1 WAZ, 2 BAZ. A negative cut-off counts z-scores below
	// it, a positive one those above it; both strictly.
	rows := []struct {
		key, label string
		z          int
		cut        float64
	}{
		{"stunted", "Stunted (HAZ < -2)", 0, -2},
		{"severely_stunted", "Severely stunted (HAZ < -3)", 0, -3},
		{"underweight", "Underweight (WAZ < -2)", 1, -2},
		{"thin", "Thin/wasted (BAZ < -2)", 2, -2},
		{"severely_thin", "Severely thin (BAZ < -3)", 2, -3},
		{"overweight", "Overweight (BAZ > +1)", 2, 1},
		{"obese", "Obese (BAZ > +2)", 2, 2},
	}
	for _, g := range rows {
		n, measured := 0, 0
		for _, c := range scored {
			if z := [3]*float64{c.HAZ, c.WAZ, c.BAZ}[g.z]; finite(z) {
				measured++
				if g.cut < 0 && *z < g.cut || g.cut > 0 && *z > g.cut {
					n++
				}
			}
		}
		i := len(t.Rows)
		t.row(g.key, g.label, count(n), count(measured), pct(pos{i, 0}, pos{i, 1}))
	}
	// Rows on one z-score share their denominator.
	t.add(here(0, 1), pos{1, 1})
	for _, r := range []int{4, 5, 6} {
		t.add(here(3, 1), pos{r, 1})
	}
	return t
}

func riskTable(scored []Child, domains []Domain) Table {
	t := newTable(TableRiskByDomain, "Risk by domain",
		"Scored children by risk level. Assessed: high, moderate or low. % at risk: percent of assessed children at high or moderate risk.",
		"domain", "Domain", "high", "High", "moderate", "Moderate", "low", "Low", "not_assessed", "Not assessed",
		"assessed", "Assessed", "at_risk", "At risk (high or moderate)", "percent_at_risk", "% at risk")
	for _, d := range domains {
		var h, m, l int
		for _, c := range scored {
			switch c.Domains[d.ID] {
			case cycle.RiskHigh:
				h++
			case cycle.RiskModerate:
				m++
			case cycle.RiskLow:
				l++
			}
		}
		label := d.Label
		if label == "" {
			label = d.ID
		}
		i := len(t.Rows)
		t.row(d.ID, label, count(h), count(m), count(l), count(len(scored)-h-m-l), count(h+m+l), count(h+m), pct(pos{i, 5}, pos{i, 4}))
		t.add(here(i, 4), pos{i, 0}, pos{i, 1}, pos{i, 2})
		t.add(cohortScored, pos{i, 4}, pos{i, 3})
		t.add(here(i, 5), pos{i, 0}, pos{i, 1})
	}
	return t
}

// serviceDays is a referral's time to service in days, if it has one.
func serviceDays(f Referral) (float64, bool) {
	var end *time.Time
	switch {
	case f.AcknowledgedAt != nil:
		end = f.AcknowledgedAt
	case f.Status == "completed" && f.ClosedAt != nil:
		end = f.ClosedAt
	default:
		return 0, false
	}
	d := end.Sub(f.CreatedAt)
	if d < 0 {
		return 0, false
	}
	return d.Hours() / 24, true
}

// sectorTally counts one sector's records: counts in column order, and
// the days to service of referrals.
type sectorTally struct {
	n    []int
	days []float64
}

// sectorRows adds a row per sector with records, in display order, then
// an "All sectors" row, and records that each of the first width columns
// adds up to the last row. tally adds a record to a row's counts; values
// gives the row's values from its index and tally.
func sectorRows[R any](t *Table, recs []R, width int, sector func(R) string, tally func(*sectorTally, R), values func(int, *sectorTally) []Value) {
	by := map[string]*sectorTally{}
	all := &sectorTally{n: make([]int, width)}
	for _, r := range recs {
		s := sectorOf(sector(r))
		if by[s] == nil {
			by[s] = &sectorTally{n: make([]int, width)}
		}
		tally(by[s], r)
		tally(all, r)
	}
	for _, s := range sectors {
		if x := by[s.key]; x != nil {
			t.row(s.key, s.label, values(len(t.Rows), x)...)
		}
	}
	t.row("all", "All sectors", values(len(t.Rows), all)...)
	last := len(t.Rows) - 1
	for c := range width {
		parts := make([]pos, last)
		for r := range last {
			parts[r] = pos{r, c}
		}
		if last > 0 {
			t.add(here(last, c), parts...)
		}
	}
}

// counts turns a tally's counts into values.
func counts(x *sectorTally) []Value {
	v := make([]Value, len(x.n))
	for i, n := range x.n {
		v[i] = count(n)
	}
	return v
}

// flags adds 1 to n[i] for each true flag i.
func flags(n []int, fs ...bool) {
	for i, f := range fs {
		if f {
			n[i]++
		}
	}
}

func referralTable(refs []Referral) Table {
	t := newTable(TableReferralsBySector, "Referrals by sector",
		"Referrals made in the wave, by the sector of the service. Completion rate: percent of referrals made that were completed. Median days to service: from the referral to the service's first response (or to completion), over referrals that have one.",
		"sector", "Sector", "made", "Made", "urgent", "Urgent", "completed", "Completed", "declined", "Declined",
		"unreachable", "Unreachable", "open", "Still open", "overdue", "Overdue",
		"completion_rate", "Completion rate %", "median_days", "Median days to service")
	sectorRows(&t, refs, 7, func(f Referral) string { return f.Sector }, func(x *sectorTally, f Referral) {
		closed := slices.Index([]string{"completed", "declined", "unreachable"}, f.Status)
		flags(x.n, true, f.Urgent, closed == 0, closed == 1, closed == 2, closed < 0, f.Overdue)
		if d, ok := serviceDays(f); ok {
			x.days = append(x.days, d)
		}
	}, func(i int, x *sectorTally) []Value {
		t.add(here(i, 0), pos{i, 2}, pos{i, 3}, pos{i, 4}, pos{i, 5})
		return append(counts(x), pct(pos{i, 2}, pos{i, 0}), stat(median(x.days), len(x.days)))
	})
	return t
}

func actionTable(actions []PlanAction) Table {
	t := newTable(TablePlanActionsBySector, "Plan actions by sector",
		"Actions of agreed plans, by the sector that carries them out. Done rate: percent of actions done.",
		"sector", "Sector", "actions", "Actions", "done", "Done", "overdue", "Overdue", "done_rate", "Done rate %")
	sectorRows(&t, actions, 3, func(a PlanAction) string { return a.Sector }, func(x *sectorTally, a PlanAction) {
		flags(x.n, true, a.Done, a.Overdue)
	}, func(i int, x *sectorTally) []Value {
		return append(counts(x), pct(pos{i, 1}, pos{i, 0}))
	})
	return t
}
