package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/longitudinal"
	"github.com/khula-cop/khula/internal/store"
)

// launchWave records wave n of a site launched (and opened) at the given time.
func launchWave(t *testing.T, st *store.Store, site string, n int, at time.Time) string {
	t.Helper()
	id := cycle.WaveID(site, n)
	if err := st.SaveWave(context.Background(), cycle.WaveRecord{
		WaveID: id, SiteID: site, Number: n, WindowOpen: at, WindowClose: at.AddDate(0, 0, 14), Status: cycle.WaveOpen, At: at,
	}); err != nil {
		t.Fatalf("SaveWave %s: %v", id, err)
	}
	return id
}

// scoredCycle records child's cycle in wave n closed with the given baseline levels and result.
func scoredCycle(t *testing.T, st *store.Store, site, school, child string, n int, levels map[string]string, result string) string {
	t.Helper()
	ctx := context.Background()
	id, wave := cycle.CycleID(site, n, child), cycle.WaveID(site, n)
	if err := st.RecordStage(ctx, cycle.StageRecord{CycleID: id, WaveID: wave, SiteID: site, SchoolID: school, ChildID: child,
		Seq: 9, Stage: cycle.StageClosed, Outcome: cycle.OutcomeCompleted, At: t0}); err != nil {
		t.Fatal(err)
	}
	if result == "" {
		result = "{}"
	}
	if err := st.SaveScore(ctx, cycle.ScoreRecord{CycleID: id, WaveID: wave, SiteID: site, SchoolID: school, Phase: cycle.PhaseBaseline,
		Instrument: cycle.InstrumentRef{ID: "cwtt", Version: "2.0.0"}, Domains: levels, Result: []byte(result), ComputedAt: t0.AddDate(0, 0, n)}); err != nil {
		t.Fatal(err)
	}
	return id
}

func cohortIDs(t *testing.T, st *store.Store, site string) []string {
	t.Helper()
	page, err := st.CohortPage(context.Background(), site, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page {
		ids = append(ids, m.ChildID)
	}
	return ids
}

func TestLeaveStudy(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "k1", "k2")
	launchWave(t, st, siteA, 1, t0)
	open := stageAt(t, st, siteA, schoolA1, "k1", 1, cycle.StageAssess, nil)

	got, err := st.LeaveStudy(ctx, siteA, "k1", cycle.LeftMovedSchool, "coord", t0.AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{open}) {
		t.Errorf("open cycles = %v, want [%s] (a cycle in progress goes on)", got, open)
	}
	if ids := cohortIDs(t, st, siteA); !slices.Equal(ids, []string{"k2"}) {
		t.Errorf("cohort after k1 left = %v, want [k2]", ids)
	}
	if _, err := st.LeaveStudy(ctx, siteA, "k1", cycle.LeftArea, "coord", t0); !errors.Is(err, store.ErrAlreadyLeft) {
		t.Errorf("leaving twice: %v, want ErrAlreadyLeft", err)
	}
	if _, err := st.LeaveStudy(ctx, siteB, "k2", cycle.LeftArea, "coord", t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("leaving at another site: %v, want ErrNotFound", err)
	}
	e, err := st.Enrolment(ctx, cycle.EnrolmentQuery{SiteID: siteA, ChildID: "k1", Wave: 2})
	if err != nil || !e.Found || e.Consented {
		t.Errorf("enrolment of a leaver = %+v, %v; want found, not consented", e, err)
	}
}

func TestConsentPerWave(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "k1", "k2")
	wave1 := t0.AddDate(0, 1, 0) // consents were given at t0, before wave 1
	launchWave(t, st, siteA, 1, wave1)
	wave2 := t0.AddDate(1, 0, 0)
	launchWave(t, st, siteA, 2, wave2)
	if _, err := st.RenewConsent(ctx, siteA, "k2", wave1.AddDate(0, 6, 0)); err != nil {
		t.Fatal(err)
	}
	eachWave := cycle.ConsentPolicy{EachWave: true}
	standing := cycle.ConsentPolicy{ValidFor: 300 * 24 * time.Hour}
	cases := []struct {
		name   string
		child  string
		wave   int
		policy cycle.ConsentPolicy
		want   bool
	}{
		{"each wave: wave 1 is covered by the consent given before it", "k1", 1, eachWave, true},
		{"each wave: wave 2 without renewal lapses", "k1", 2, eachWave, false},
		{"each wave: renewed after wave 1 launched covers wave 2", "k2", 2, eachWave, true},
		{"standing 300 days: a year later has expired", "k1", 2, standing, false},
		{"standing 300 days: the renewal restarts it", "k2", 2, standing, true},
		{"no policy: any consent not withdrawn", "k1", 2, cycle.ConsentPolicy{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := st.Enrolment(ctx, cycle.EnrolmentQuery{SiteID: siteA, ChildID: tc.child, Wave: tc.wave, Policy: tc.policy})
			if err != nil {
				t.Fatal(err)
			}
			if e.Consented != tc.want {
				t.Errorf("consented = %v (%s), want %v", e.Consented, e.Reason, tc.want)
			}
			if !e.Consented && e.Reason == "" {
				t.Error("a lapsed consent must say why")
			}
		})
	}
	if _, err := st.RenewConsent(ctx, siteA, "nobody", t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("renewing an unknown child: %v", err)
	}
}

func TestCohortPreview(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	// k1, k2 took part in wave 1; k3 is new; k4 left after wave 1; k5 left
	// before it; k6 is held as a likely duplicate; k7 has no consent.
	addChildren(t, st, siteA, schoolA1, "k1", "k3", "k4", "k5", "k6")
	addChildren(t, st, siteA, schoolA2, "k2")
	if err := st.AddFamilies(ctx, []store.Family{family(siteA, schoolA2, "k7", false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.LeaveStudy(ctx, siteA, "k5", cycle.LeftArea, "coord", t0.AddDate(0, 0, 5)); err != nil {
		t.Fatal(err)
	}
	launchWave(t, st, siteA, 1, t0.AddDate(0, 1, 0))
	scoredCycle(t, st, siteA, schoolA1, "k1", 1, map[string]string{"health": "low"}, "")
	scoredCycle(t, st, siteA, schoolA2, "k2", 1, map[string]string{"health": "low"}, "")
	scoredCycle(t, st, siteA, schoolA1, "k4", 1, map[string]string{"health": "low"}, "")
	if _, err := st.LeaveStudy(ctx, siteA, "k4", cycle.LeftMovedSchool, "coord", t0.AddDate(0, 3, 0)); err != nil {
		t.Fatal(err)
	}
	if err := st.DB(ctx).Create(&store.DuplicateHold{ID: "h1", SiteID: siteA, ChildID: "k6", KnownChildID: "k1", KnownSiteID: siteA,
		Score: 0.95, Status: store.HoldPending, CreatedAt: t0}).Error; err != nil {
		t.Fatal(err)
	}
	p, err := st.CohortPreview(ctx, siteA, 2, cycle.ConsentPolicy{}, time.Time{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if p.PreviousWave != 1 || p.Continuing != 2 || p.New != 1 || p.Held != 1 || p.ToStart != 4 || p.LeftEarlier != 1 {
		t.Errorf("preview = %+v; want previous 1, continuing 2 (k1, k2), new 1 (k3), held 1, to start 4, left earlier 1", p)
	}
	if len(p.Left) != 1 || p.Left[0].ChildID != "k4" || p.LeftByReason[cycle.LeftMovedSchool] != 1 {
		t.Errorf("left = %+v by reason %v; want k4 moved school", p.Left, p.LeftByReason)
	}
	if len(p.Lapsed) != 1 || p.Lapsed[0].ChildID != "k7" {
		t.Errorf("lapsed = %+v; want k7 (no consent)", p.Lapsed)
	}
	if p.BySchool[schoolA1] != 2 || p.BySchool[schoolA2] != 2 {
		t.Errorf("by school = %v", p.BySchool)
	}
	if ids := cohortIDs(t, st, siteA); !slices.Equal(ids, []string{"k1", "k2", "k3", "k7"}) {
		t.Errorf("cohort the wave starts = %v, want k1 k2 k3 k7 (k7's cycle ends for no consent)", ids)
	}
}

func TestTrajectoryAcrossThreeWaves(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "k1")
	for n := 1; n <= 3; n++ {
		launchWave(t, st, siteA, n, t0.AddDate(n-1, 0, 0))
	}
	scoredCycle(t, st, siteA, schoolA1, "k1", 1, map[string]string{"health": "high", "psychosocial": "moderate"},
		`{"scales":{"sdq.total":{"score":21,"band":"abnormal","computed":true},"cyrm.total":{"score":30,"computed":true},"other":{"score":1,"computed":true}},"growth":{"hfa":{"z":-2.4,"computed":true},"wfa":{"z":-1.1,"computed":true},"bfa":{"z":0,"computed":false}}}`)
	c2 := scoredCycle(t, st, siteA, schoolA1, "k1", 2, map[string]string{"health": "moderate", "psychosocial": "moderate"},
		`{"scales":{"sdq.total":{"score":15,"band":"borderline","computed":true}}}`)
	scoredCycle(t, st, siteA, schoolA2, "k1", 3, map[string]string{"health": "low", "psychosocial": "high"}, "")
	if err := st.SavePlans(ctx, "m1", []cycle.ChildPlan{{CycleID: c2, Actions: []cycle.PlanAction{{Domain: "health", ServiceType: "clinic", Note: "a private note"}}}}, t0); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveReferral(ctx, cycle.ReferralRecord{ReferralID: cycle.ReferralID(siteA, 2, "k1", 0), CycleID: c2, WaveID: cycle.WaveID(siteA, 2),
		SiteID: siteA, SchoolID: schoolA1, Domain: "health", ServiceType: "clinic", Status: cycle.ReferralCompleted, At: t0}); err != nil {
		t.Fatal(err)
	}
	rec, err := st.Trajectory(ctx, siteA, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.TimePoints) != 3 {
		t.Fatalf("time points = %d, want 3", len(rec.TimePoints))
	}
	p1, p2, p3 := rec.TimePoints[0], rec.TimePoints[1], rec.TimePoints[2]
	if p1.Wave != 1 || p2.Wave != 2 || p3.Wave != 3 || p3.SchoolID != schoolA2 {
		t.Errorf("waves %d %d %d, school of wave 3 %s", p1.Wave, p2.Wave, p3.Wave, p3.SchoolID)
	}
	if p1.Scales["sdq.total"].Score != 21 || p1.Scales["cyrm.total"].Score != 30 || len(p1.Scales) != 2 {
		t.Errorf("wave 1 key scales = %+v (only key scales kept)", p1.Scales)
	}
	if p1.Growth["hfa"].Z != -2.4 || p1.Growth["bfa"].Computed {
		t.Errorf("wave 1 growth = %+v", p1.Growth)
	}
	if p1.Change != nil {
		t.Errorf("the first time point has no change: %+v", p1.Change)
	}
	if got := p2.Change["health"]; got.Direction != longitudinal.DirBetter || got.From != "high" || got.To != "moderate" {
		t.Errorf("wave 2 health change = %+v, want better high→moderate", got)
	}
	if p2.Change["psychosocial"].Direction != longitudinal.DirSame || p3.Change["psychosocial"].Direction != longitudinal.DirWorse {
		t.Errorf("psychosocial changes = %+v, %+v", p2.Change["psychosocial"], p3.Change["psychosocial"])
	}
	if !p2.PlanAgreed || !slices.Equal(p2.PlanActions, []string{"health: clinic"}) {
		t.Errorf("wave 2 plan = %v %v (no note text)", p2.PlanAgreed, p2.PlanActions)
	}
	if len(p2.Referrals) != 1 || p2.Referrals[0].Status != cycle.ReferralCompleted {
		t.Errorf("wave 2 referrals = %+v", p2.Referrals)
	}
	if _, err := st.Trajectory(ctx, siteB, "k1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("trajectory at the wrong site: %v", err)
	}
}

// TestTransitionsByHand checks the change between two waves on a cohort
// small enough to count by hand.
func TestTransitionsByHand(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "k1", "k2", "k3", "k4")
	addChildren(t, st, siteA, schoolA2, "k5")
	launchWave(t, st, siteA, 1, t0)
	launchWave(t, st, siteA, 2, t0.AddDate(1, 0, 0))
	// health: k1 high→moderate (better), k2 low→high (worse), k3 moderate→moderate,
	// k4 only in wave 1 (low), k5 only in wave 2 (high).
	for _, c := range []struct {
		child, school string
		wave          int
		level         string
	}{
		{"k1", schoolA1, 1, "high"}, {"k1", schoolA1, 2, "moderate"},
		{"k2", schoolA1, 1, "low"}, {"k2", schoolA1, 2, "high"},
		{"k3", schoolA1, 1, "moderate"}, {"k3", schoolA1, 2, "moderate"},
		{"k4", schoolA1, 1, "low"},
		{"k5", schoolA2, 2, "high"},
	} {
		scoredCycle(t, st, siteA, c.school, c.child, c.wave, map[string]string{"health": c.level}, "")
	}
	from, err := st.WaveLevels(ctx, siteA, 1)
	if err != nil {
		t.Fatal(err)
	}
	to, err := st.WaveLevels(ctx, siteA, 2)
	if err != nil {
		t.Fatal(err)
	}
	rep := longitudinal.Build(1, 2, []string{"health"}, from, to)
	h := rep.Site.Domains["health"]
	// Wave 1 at risk: k1, k3 of 4 assessed = 0.5; wave 2: k1, k2, k3, k5 of 4 = 1.
	if rep.Site.Both != 3 || rep.Site.OnlyFrom != 1 || rep.Site.OnlyTo != 1 {
		t.Errorf("both/only = %d/%d/%d, want 3/1/1", rep.Site.Both, rep.Site.OnlyFrom, rep.Site.OnlyTo)
	}
	if h.Better != 1 || h.Worse != 1 || h.Same != 1 || h.Matrix["high"]["moderate"] != 1 || h.Matrix["low"]["high"] != 1 {
		t.Errorf("health transitions = %+v", h.Transitions)
	}
	if h.ShareFrom != 0.5 || h.ShareTo != 1 {
		t.Errorf("shares = %v → %v, want 0.5 → 1", h.ShareFrom, h.ShareTo)
	}
	if len(rep.Site.Worsened) != 1 || rep.Site.Worsened[0].ChildID != "k2" {
		t.Errorf("worsened = %+v, want k2", rep.Site.Worsened)
	}
	if _, err := st.WaveLevels(ctx, siteA, 9); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("levels of a wave that never ran: %v", err)
	}
}
