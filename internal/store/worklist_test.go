package store_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

// kid is a hand-made child of the work list tests.
type kid struct {
	id, site, school, given, family, grade, sex string
	born                                        time.Time
}

func addKids(t *testing.T, st *store.Store, kids ...kid) {
	t.Helper()
	var fams []store.Family
	for _, k := range kids {
		cg := store.Caregiver{ID: "cg-" + k.id, SiteID: k.site, GivenName: "Care", FamilyName: "Giver", Language: "zu", CreatedAt: t0}
		fams = append(fams, store.Family{Caregiver: cg, Child: store.Child{ID: k.id, SiteID: k.site, SchoolID: k.school, CaregiverID: cg.ID,
			GivenName: k.given, FamilyName: k.family, Sex: k.sex, BirthDate: k.born, Grade: k.grade, CreatedAt: t0}})
	}
	if err := st.AddFamilies(context.Background(), fams); err != nil {
		t.Fatalf("AddFamilies: %v", err)
	}
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// workListFixture: wave 1 of alpha (window t0 to t0+14d) with, at school
// a-one, a child with a form due (Thabo), one awaiting a plan at high risk
// (Zanele), one in follow-up with an overdue referral (André), one in
// follow-up with a red flag (Lerato), one being scored (not on the list)
// and one closed; a child awaiting a plan at a-two (Thandi) and one at
// site beta (Bongani), all but one called Dlamini.
func workListFixture(t *testing.T) *store.Store {
	t.Helper()
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	addWave(t, st, siteA, 1)
	addWave(t, st, siteB, 1)
	addKids(t, st,
		kid{"k-thabo", siteA, schoolA1, "Thabo", "Dlamini", "3", "male", day(2017, 5, 10)},
		kid{"k-zanele", siteA, schoolA1, "Zanele", "Mokoena", "R", "female", day(2019, 9, 1)},
		kid{"k-andre", siteA, schoolA1, "André", "Ndlovu-Smith", "3", "male", day(2018, 1, 20)},
		kid{"k-lerato", siteA, schoolA1, "Lerato", "Dlamini", "1", "female", day(2018, 11, 30)},
		kid{"k-sipho", siteA, schoolA1, "Sipho", "Dlamini", "2", "male", day(2018, 2, 2)},
		kid{"k-closed", siteA, schoolA1, "Closed", "Dlamini", "2", "male", day(2018, 2, 2)},
		kid{"k-thandi", siteA, schoolA2, "Thandi", "Dlamini", "3", "female", day(2017, 7, 7)},
		kid{"k-bongani", siteB, schoolB1, "Bongani", "Dlamini", "3", "male", day(2017, 3, 3)},
	)
	stageAt(t, st, siteA, schoolA1, "k-thabo", 2, cycle.StageAssess, func(r *cycle.StageRecord) { r.Awaiting = []string{"caregiver", "teacher"} })
	thabo := cycle.CycleID(siteA, 1, "k-thabo")
	if err := st.SaveAssessment(ctx, cycle.AssessmentRecord{CycleID: thabo, Phase: cycle.PhaseBaseline, Respondent: "teacher",
		Answers: cycle.Answers{"x": 1.0}, SubmittedBy: "t", SubmittedAt: t0}); err != nil {
		t.Fatal(err)
	}
	zanele := stageAt(t, st, siteA, schoolA1, "k-zanele", 4, cycle.StagePlan, nil)
	score := func(cycleID, school, phase string, domains map[string]string) {
		t.Helper()
		if err := st.SaveScore(ctx, cycle.ScoreRecord{CycleID: cycleID, WaveID: cycle.WaveID(siteA, 1), SiteID: siteA, SchoolID: school, Phase: phase,
			Instrument: cycle.InstrumentRef{ID: "cwtt", Version: "1"}, Domains: domains, Result: []byte(`{}`), ComputedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	score(zanele, schoolA1, cycle.PhaseBaseline, map[string]string{"education": "high", "health": "low"})
	andre := stageAt(t, st, siteA, schoolA1, "k-andre", 6, cycle.StageFollowUp, nil)
	score(andre, schoolA1, cycle.PhaseBaseline, map[string]string{"education": "moderate"})
	due := t0.AddDate(0, 0, 2)
	referral := func(cycleID, school, child string, k int, urgent bool, status string, due *time.Time) {
		t.Helper()
		if err := st.SaveReferral(ctx, cycle.ReferralRecord{ReferralID: cycle.ReferralID(siteA, 1, child, k), CycleID: cycleID, WaveID: cycle.WaveID(siteA, 1),
			SiteID: siteA, SchoolID: school, Domain: "education", ServiceType: "learning_support", Urgent: urgent, Status: status, At: t0, DueAt: due}); err != nil {
			t.Fatal(err)
		}
	}
	referral(andre, schoolA1, "k-andre", 1, false, cycle.ReferralDispatched, &due)
	lerato := stageAt(t, st, siteA, schoolA1, "k-lerato", 6, cycle.StageFollowUp, func(r *cycle.StageRecord) { r.Flags = []string{"protection.disclosure"} })
	later := t0.AddDate(0, 1, 0)
	referral(lerato, schoolA1, "k-lerato", 0, true, cycle.ReferralAcknowledged, &later)
	// Once high in education, then reassessed moderate: no longer at risk.
	score(lerato, schoolA1, cycle.PhaseBaseline, map[string]string{"education": "high"})
	score(lerato, schoolA1, cycle.PhaseReassessment, map[string]string{"education": "moderate"})
	stageAt(t, st, siteA, schoolA1, "k-sipho", 3, cycle.StageScore, nil)
	stageAt(t, st, siteA, schoolA1, "k-closed", 9, cycle.StageClosed, nil)
	stageAt(t, st, siteA, schoolA2, "k-thandi", 4, cycle.StagePlan, nil)
	stageAt(t, st, siteB, schoolB1, "k-bongani", 4, cycle.StagePlan, nil)
	return st
}

func ids(rows []store.WorkChild) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r.ChildID)
	}
	return out
}

func workList(t *testing.T, st *store.Store, q store.WorkChildrenQuery) store.WorkChildren {
	t.Helper()
	if q.SiteID == "" {
		q.SiteID = siteA
	}
	if q.Now.IsZero() {
		q.Now = t0.AddDate(0, 0, 5)
	}
	got, err := st.WorkChildren(context.Background(), q)
	if err != nil {
		t.Fatalf("WorkChildren(%+v): %v", q, err)
	}
	return got
}

func TestWorkChildrenOpensNamesAndSaysWhatIsDue(t *testing.T) {
	st := workListFixture(t)
	got := workList(t, st, store.WorkChildrenQuery{SchoolID: schoolA1})
	if want := []string{"k-lerato", "k-thabo", "k-zanele", "k-andre"}; !reflect.DeepEqual(ids(got.Items), want) {
		t.Fatalf("children = %v, want %v (by family name, then given name)", ids(got.Items), want)
	}
	if got.Total != 4 || got.Truncated {
		t.Errorf("total %d truncated %v", got.Total, got.Truncated)
	}
	by := map[string]store.WorkChild{}
	for _, r := range got.Items {
		by[r.ChildID] = r
	}
	thabo := by["k-thabo"]
	if thabo.GivenName != "Thabo" || thabo.FamilyName != "Dlamini" || thabo.Grade != "3" || thabo.Sex != "male" {
		t.Errorf("Thabo = %+v", thabo)
	}
	// Born 10 May 2017, today 8 March 2025: 7 years 9 months.
	if thabo.Age == nil || *thabo.Age != (store.ChildAge{Years: 7, Months: 9}) {
		t.Errorf("Thabo's age = %+v", thabo.Age)
	}
	wantForms := []store.FormDue{{CycleID: cycle.CycleID(siteA, 1, "k-thabo"), SchoolID: schoolA1, Phase: cycle.PhaseBaseline, Respondents: []string{"caregiver"}}}
	if !reflect.DeepEqual(thabo.FormsDue, wantForms) || !reflect.DeepEqual(thabo.Work, []string{store.WorkReasonForms}) {
		t.Errorf("Thabo's forms = %+v, work %v", thabo.FormsDue, thabo.Work)
	}
	if thabo.Overdue || thabo.AtRisk || thabo.RedFlag || thabo.Stage != cycle.StageAssess || thabo.Wave != 1 || thabo.CycleID != cycle.CycleID(siteA, 1, "k-thabo") {
		t.Errorf("Thabo = %+v: a form due within its window is not overdue", thabo)
	}
	if z := by["k-zanele"]; !z.AtRisk || !reflect.DeepEqual(z.HighRiskDomains, []string{"education"}) || z.RedFlag || z.Overdue ||
		!reflect.DeepEqual(z.Work, []string{store.WorkReasonAwaitingPlan}) {
		t.Errorf("Zanele = %+v", z)
	}
	if a := by["k-andre"]; !a.Overdue || !reflect.DeepEqual(a.OverdueReasons, []string{store.OverdueReferral}) || a.AtRisk || a.RedFlag ||
		!reflect.DeepEqual(a.Work, []string{store.WorkReasonFollowUp, store.WorkReasonReferral}) || a.GivenName != "André" {
		t.Errorf("André = %+v", a)
	}
	if l := by["k-lerato"]; !l.RedFlag || l.AtRisk || l.Overdue {
		t.Errorf("Lerato = %+v: red flag, no longer high after the reassessment, referral not yet due", l)
	}

	// The names are sealed in the database and opened for the list.
	var raw []string
	if err := st.DB(context.Background()).Table("children").Where("id IN ?", []string{"k-thabo", "k-andre"}).Pluck("family_name", &raw).Error; err != nil {
		t.Fatal(err)
	}
	for _, v := range raw {
		if !strings.HasPrefix(v, "sealed:") || strings.Contains(v, "Dlamini") || strings.Contains(v, "Ndlovu") {
			t.Errorf("family name stored as %q", v)
		}
	}
}

func TestWorkChildrenSearch(t *testing.T) {
	st := workListFixture(t)
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"dlam", []string{"k-lerato", "k-thabo"}},
		{"DLAMINI thabo", []string{"k-thabo"}},
		{"andre", []string{"k-andre"}},
		{"ndlovu smith", []string{"k-andre"}},
		{"Mokoena", []string{"k-zanele"}},
		{"grade 3", []string{"k-thabo", "k-andre"}},
		{"3", []string{"k-thabo", "k-andre"}},
		{"r", []string{"k-zanele"}},
		{"Thandi", []string{}},  // another school
		{"Bongani", []string{}}, // another site
		{"Sipho", []string{}},   // nothing to do
		{"nobody", []string{}},
	} {
		got := workList(t, st, store.WorkChildrenQuery{SchoolID: schoolA1, Q: tc.q})
		if !reflect.DeepEqual(ids(got.Items), tc.want) || got.Total != len(tc.want) {
			t.Errorf("q=%q: %v (total %d), want %v", tc.q, ids(got.Items), got.Total, tc.want)
		}
	}
}

func TestWorkChildrenFilters(t *testing.T) {
	st := workListFixture(t)
	late := func(store.Wave) time.Duration { return 3 * 24 * time.Hour }
	for _, tc := range []struct {
		name    string
		filters []string
		late    func(store.Wave) time.Duration
		now     time.Time
		want    []string
	}{
		{"at risk", []string{store.WorkFilterAtRisk}, nil, time.Time{}, []string{"k-zanele"}},
		{"red flag", []string{store.WorkFilterRedFlag}, nil, time.Time{}, []string{"k-lerato"}},
		{"overdue: a referral past due", []string{store.WorkFilterOverdue}, nil, time.Time{}, []string{"k-andre"}},
		{"overdue: forms past the reminder", []string{store.WorkFilterOverdue}, late, time.Time{}, []string{"k-thabo", "k-andre"}},
		{"overdue: forms past the window", []string{store.WorkFilterOverdue}, nil, t0.AddDate(0, 0, 20), []string{"k-thabo", "k-andre"}},
		{"overdue: the red-flag referral once past due", []string{store.WorkFilterOverdue, store.WorkFilterRedFlag}, nil, t0.AddDate(0, 2, 0), []string{"k-lerato"}},
		{"at risk and overdue", []string{store.WorkFilterAtRisk, store.WorkFilterOverdue}, nil, time.Time{}, []string{}},
	} {
		got := workList(t, st, store.WorkChildrenQuery{SchoolID: schoolA1, Filters: tc.filters, FormsLateAfter: tc.late, Now: tc.now})
		if !reflect.DeepEqual(ids(got.Items), tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, ids(got.Items), tc.want)
		}
	}
}

func TestWorkChildrenSorts(t *testing.T) {
	st := workListFixture(t)
	for _, tc := range []struct {
		sort string
		want []string
	}{
		{"", []string{"k-lerato", "k-thabo", "k-zanele", "k-andre"}},
		{store.WorkSortName, []string{"k-lerato", "k-thabo", "k-zanele", "k-andre"}},
		{store.WorkSortClass, []string{"k-zanele", "k-lerato", "k-thabo", "k-andre"}},
		{store.WorkSortAge, []string{"k-zanele", "k-lerato", "k-andre", "k-thabo"}},
		{store.WorkSortStage, []string{"k-thabo", "k-zanele", "k-lerato", "k-andre"}},
	} {
		got := workList(t, st, store.WorkChildrenQuery{SchoolID: schoolA1, Sort: tc.sort})
		if !reflect.DeepEqual(ids(got.Items), tc.want) {
			t.Errorf("sort %q: %v, want %v", tc.sort, ids(got.Items), tc.want)
		}
	}
	page := workList(t, st, store.WorkChildrenQuery{SchoolID: schoolA1, Offset: 2, Limit: 1})
	if !reflect.DeepEqual(ids(page.Items), []string{"k-zanele"}) || page.Total != 4 {
		t.Errorf("third child alone: %v (total %d)", ids(page.Items), page.Total)
	}
	if past := workList(t, st, store.WorkChildrenQuery{SchoolID: schoolA1, Offset: 9}); len(past.Items) != 0 || past.Total != 4 {
		t.Errorf("past the end: %+v", past)
	}
}

func TestWorkChildrenScope(t *testing.T) {
	st := workListFixture(t)
	if got := ids(workList(t, st, store.WorkChildrenQuery{SchoolID: schoolA2}).Items); !reflect.DeepEqual(got, []string{"k-thandi"}) {
		t.Errorf("school a-two: %v", got)
	}
	if got := ids(workList(t, st, store.WorkChildrenQuery{}).Items); !reflect.DeepEqual(got, []string{"k-lerato", "k-thabo", "k-thandi", "k-zanele", "k-andre"}) {
		t.Errorf("site alpha: %v", got)
	}
	if got := ids(workList(t, st, store.WorkChildrenQuery{SiteID: siteB}).Items); !reflect.DeepEqual(got, []string{"k-bongani"}) {
		t.Errorf("site beta: %v", got)
	}
	if got := ids(workList(t, st, store.WorkChildrenQuery{WaveID: cycle.WaveID(siteA, 2)}).Items); len(got) != 0 {
		t.Errorf("a wave without cycles: %v", got)
	}
	if got := ids(workList(t, st, store.WorkChildrenQuery{SiteID: "nowhere"}).Items); len(got) != 0 {
		t.Errorf("unknown site: %v", got)
	}
}

// TestWorkChildrenOneRowPerChild: a child in follow-up in wave 1 (with an
// overdue referral) and with forms due in wave 2 is one row, linked to wave 2.
func TestWorkChildrenOneRowPerChild(t *testing.T) {
	st := workListFixture(t)
	ctx := context.Background()
	addWave(t, st, siteA, 2)
	c2 := cycle.CycleID(siteA, 2, "k-andre")
	if err := st.RecordStage(ctx, cycle.StageRecord{CycleID: c2, WaveID: cycle.WaveID(siteA, 2), SiteID: siteA, SchoolID: schoolA1, ChildID: "k-andre",
		Seq: 2, Stage: cycle.StageAssess, Awaiting: []string{"nurse"}, At: t0}); err != nil {
		t.Fatal(err)
	}
	got := workList(t, st, store.WorkChildrenQuery{SchoolID: schoolA1, Q: "André"})
	if len(got.Items) != 1 {
		t.Fatalf("rows = %+v", got.Items)
	}
	r := got.Items[0]
	if r.CycleID != c2 || r.Wave != 2 || r.Stage != cycle.StageAssess || !r.Overdue || len(r.FormsDue) != 1 || r.FormsDue[0].CycleID != c2 {
		t.Errorf("row = %+v", r)
	}
	if got := ids(workList(t, st, store.WorkChildrenQuery{SchoolID: schoolA1, WaveID: cycle.WaveID(siteA, 2)}).Items); !reflect.DeepEqual(got, []string{"k-andre"}) {
		t.Errorf("wave 2 alone: %v", got)
	}
}

func TestAuditAllKeepsTheChain(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	if _, err := st.Audit(ctx, store.AuditEntry{At: t0, Actor: "u1", Action: store.AuditRead, SiteID: siteA, ChildID: "ch-0", What: "cycle"}); err != nil {
		t.Fatal(err)
	}
	var batch []store.AuditEntry
	for _, id := range []string{"ch-1", "ch-2", "ch-3"} {
		batch = append(batch, store.AuditEntry{At: t0, Actor: "u1", Role: "practitioner", Action: store.AuditRead, SiteID: siteA, ChildID: id, What: "work list", Outcome: "200"})
	}
	if err := st.AuditAll(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := st.AuditAll(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Audit(ctx, store.AuditEntry{At: t0, Actor: "u1", Action: store.AuditRead, SiteID: siteA, ChildID: "ch-4", What: "cycle"}); err != nil {
		t.Fatal(err)
	}
	rep, err := st.VerifyAudit(ctx, nil, nil)
	// Five entries and, first, the one that records the chain's key.
	if err != nil || !rep.OK() || rep.Entries != 6 || rep.HeadSeq != 6 {
		t.Fatalf("chain after a batch: %+v, %v", rep, err)
	}
	trail, err := st.AuditTrail(ctx, "ch-2", 10)
	if err != nil || len(trail) != 1 || trail[0].Seq != 4 || trail[0].What != "work list" {
		t.Fatalf("trail of ch-2 = %+v, %v", trail, err)
	}
}
