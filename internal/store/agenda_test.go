package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

func TestAgendaDetailsPutTheReasonsInFrontOfTheMeeting(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "k1")
	addWave(t, st, siteA, 1)
	w2 := addWave(t, st, siteA, 2)
	// Wave 1: the child closed as plan_not_agreed, material high.
	w1cycle := stageAt(t, st, siteA, schoolA1, "k1", 9, cycle.StageClosed, func(r *cycle.StageRecord) { r.Outcome = cycle.OutcomePlanNotAgreed })
	if err := st.SaveScore(ctx, cycle.ScoreRecord{CycleID: w1cycle, WaveID: cycle.WaveID(siteA, 1), SiteID: siteA, SchoolID: schoolA1, Phase: cycle.PhaseBaseline,
		Instrument: cycle.InstrumentRef{ID: "cwtt", Version: "2.0.0"}, Domains: map[string]string{"material": "high"}, Result: []byte(`{}`), ComputedAt: t0}); err != nil {
		t.Fatal(err)
	}
	// Wave 2: caregiver and child answered; nurse and teacher never did.
	c2 := cycle.CycleID(siteA, 2, "k1")
	if err := st.RecordStage(ctx, cycle.StageRecord{CycleID: c2, WaveID: w2, SiteID: siteA, SchoolID: schoolA1, ChildID: "k1", Seq: 4, Stage: cycle.StagePlan,
		Flags: []string{"protection.disclosure"}, At: t0}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"caregiver", "child"} {
		if err := st.SaveAssessment(ctx, cycle.AssessmentRecord{CycleID: c2, Phase: cycle.PhaseBaseline, Respondent: r, Answers: cycle.Answers{"x": 1.0}, SubmittedBy: "t", SubmittedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SaveScore(ctx, cycle.ScoreRecord{CycleID: c2, WaveID: w2, SiteID: siteA, SchoolID: schoolA1, Phase: cycle.PhaseBaseline,
		Instrument: cycle.InstrumentRef{ID: "cwtt", Version: "2.0.0"}, Domains: map[string]string{"material": "moderate", "health": "not_assessed", "education": "not_assessed"},
		Result: []byte(`{"domain_reasons":{"material":"Child Support Grant not received (refer to SASSA)","health":"no item of this domain was answered"}}`), ComputedAt: t0}); err != nil {
		t.Fatal(err)
	}
	urgent := cycle.ReferralID(siteA, 2, "k1", 0)
	if err := st.SaveReferral(ctx, cycle.ReferralRecord{ReferralID: urgent, CycleID: c2, WaveID: w2, SiteID: siteA, SchoolID: schoolA1,
		Domain: "protection", ServiceType: "social_development", Urgent: true, Status: cycle.ReferralDispatched, At: t0}); err != nil {
		t.Fatal(err)
	}

	items, err := st.PendingAgenda(ctx, siteA, schoolA1)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AgendaDetails(ctx, items, []string{"caregiver", "child", "teacher", "nurse"}); err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 {
		t.Fatalf("agenda = %+v, want the wave-2 child", items)
	}
	it := items[0]
	if it.Reasons["material"] != "Child Support Grant not received (refer to SASSA)" {
		t.Errorf("reasons = %v", it.Reasons)
	}
	if want := []string{"teacher", "nurse"}; !reflect.DeepEqual(it.Missing, want) {
		t.Errorf("missing = %v, want %v", it.Missing, want)
	}
	if want := []string{"education", "health"}; !reflect.DeepEqual(it.Unassessed, want) {
		t.Errorf("unassessed = %v, want %v", it.Unassessed, want)
	}
	if want := []string{urgent}; !reflect.DeepEqual(it.Urgent, want) {
		t.Errorf("urgent = %v, want %v", it.Urgent, want)
	}
	want := &cycle.PreviousResult{Wave: 1, Outcome: cycle.OutcomePlanNotAgreed, Domains: map[string]string{"material": "high"}}
	if !reflect.DeepEqual(it.Previous, want) {
		t.Errorf("previous = %+v, want %+v", it.Previous, want)
	}
}

func TestConcernsPutAnyConsentingChildOnTheAgendaUntilPlanned(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "low", "enrolling", "refused", "waiting")
	addWave(t, st, siteA, 1)
	low := stageAt(t, st, siteA, schoolA1, "low", 4, cycle.StageClosed, func(r *cycle.StageRecord) { r.Outcome = cycle.OutcomeLowRisk })
	enrolling := stageAt(t, st, siteA, schoolA1, "enrolling", 1, cycle.StageEnrol, nil)
	refused := stageAt(t, st, siteA, schoolA1, "refused", 2, cycle.StageClosed, func(r *cycle.StageRecord) { r.Outcome = cycle.OutcomeNoConsent })
	waiting := stageAt(t, st, siteA, schoolA1, "waiting", 4, cycle.StagePlan, nil)

	for _, tc := range []struct {
		cycleID string
		wantErr error
	}{
		{low, nil},
		{enrolling, store.ErrCycleNotOpen},
		{refused, store.ErrCycleNotOpen},
		{cycle.CycleID(siteA, 1, "nobody"), store.ErrCycleNotOpen},
		{waiting, nil},
		{low, store.ErrConcernPending},
	} {
		_, err := st.AddConcern(ctx, tc.cycleID, "teacher worried about reading", "teacher.a1", t0)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("AddConcern(%s) = %v, want %v", tc.cycleID, err, tc.wantErr)
		}
	}
	items, err := st.PendingAgenda(ctx, siteA, schoolA1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, it.CycleID+" "+it.Reason)
	}
	// The waiting child is on the agenda once, awaiting its plan.
	if want := []string{waiting + " " + cycle.AgendaAwaitingPlan, low + " " + cycle.AgendaConcern}; !reflect.DeepEqual(got, want) {
		t.Errorf("agenda = %v, want %v", got, want)
	}
	if err := st.SavePlans(ctx, "meeting/a/a1/2026-01-02", []cycle.ChildPlan{{CycleID: low, Actions: []cycle.PlanAction{{Domain: "education"}}}}, t0); err != nil {
		t.Fatal(err)
	}
	items, err = st.PendingAgenda(ctx, siteA, schoolA1)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].CycleID != waiting {
		t.Errorf("after the plan, agenda = %+v, want only the waiting child", items)
	}
	// A new concern after the plan puts the child back.
	if _, err := st.AddConcern(ctx, low, "another worry", "teacher.a1", t0); err != nil {
		t.Errorf("a concern after the earlier one was planned for: %v", err)
	}
	k, day, err := st.ClosedCycleReferrals(ctx, low)
	if err != nil || k != 1 || day != 0 {
		t.Errorf("ClosedCycleReferrals = %d, %s, %v; want 1, 0", k, day, err)
	}
}
