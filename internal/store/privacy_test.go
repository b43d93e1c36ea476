package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

// seedChild adds a child with consent, a closed cycle in wave 1 with
// answers, a score and a follow-up note.
func seedChild(t *testing.T, st *store.Store, child, caregiver string, waveClosed time.Time) {
	t.Helper()
	ctx := context.Background()
	if err := st.AddFamilies(ctx, []store.Family{{
		Caregiver: store.Caregiver{ID: caregiver, SiteID: siteA, GivenName: "Nomsa", FamilyName: "D", Phone: "082", Language: "zu", CreatedAt: t0},
		Child:     store.Child{ID: child, SiteID: siteA, SchoolID: schoolA1, CaregiverID: caregiver, GivenName: "Lwazi", FamilyName: "D", Sex: "male", BirthDate: t0, Grade: "1", CreatedAt: t0},
		Consent:   &store.Consent{ID: "consent-" + child, ChildID: child, CaregiverID: caregiver, Relationship: "mother", Scope: "cop", GivenAt: t0},
	}}); err != nil && caregiver != "cg-shared" {
		t.Fatal(err)
	}
	wave := cycle.WaveRecord{WaveID: "wave/alpha/1", SiteID: siteA, Number: 1, WindowOpen: t0, WindowClose: t0, Status: cycle.WaveClosed, At: waveClosed}
	if err := st.SaveWave(ctx, wave); err != nil {
		t.Fatal(err)
	}
	cy := "cycle/alpha/1/" + child
	for _, step := range []error{
		st.RecordStage(ctx, cycle.StageRecord{CycleID: cy, WaveID: "wave/alpha/1", SiteID: siteA, SchoolID: schoolA1, ChildID: child, Seq: 1, Stage: cycle.StageClosed, Outcome: cycle.OutcomeLowRisk, At: t0}),
		st.SaveAssessment(ctx, cycle.AssessmentRecord{CycleID: cy, Phase: cycle.PhaseBaseline, Respondent: "caregiver", Answers: cycle.Answers{"sdq01": 1.0}, SubmittedBy: "x", SubmittedAt: t0}),
		st.SaveScore(ctx, cycle.ScoreRecord{CycleID: cy, WaveID: "wave/alpha/1", SiteID: siteA, SchoolID: schoolA1, Phase: cycle.PhaseBaseline, Domains: map[string]string{"health": "low"}, Result: []byte("{}"), ComputedAt: t0}),
		st.SaveFollowUp(ctx, cycle.FollowUpRecord{ID: cy + "/fu/1", CycleID: cy, Note: "called", RecordedBy: "x", At: t0}),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
}

func TestWithdrawalErasesPersonalDataAndKeepsScores(t *testing.T) {
	st := newStore(t)
	addSites(t, st)
	ctx := context.Background()
	seedChild(t, st, "ch-1", "cg-1", t0)
	withdrawn, err := st.WithdrawConsent(ctx, "ch-1", "family moved away", t0.Add(time.Hour))
	if err != nil || !withdrawn {
		t.Fatalf("withdraw: %v %v", withdrawn, err)
	}
	if again, _ := st.WithdrawConsent(ctx, "ch-1", "again", t0); again {
		t.Error("withdrawing twice reported a second withdrawal")
	}
	if e, _ := st.Enrolment(ctx, cycle.EnrolmentQuery{SiteID: siteA, ChildID: "ch-1"}); e.Consented {
		t.Error("the child still counts as consented")
	}
	if err := st.ErasePersonal(ctx, "ch-1", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var child store.Child
	st.DB(ctx).Where("id = ?", "ch-1").Take(&child)
	var cg store.Caregiver
	st.DB(ctx).Where("id = ?", "cg-1").Take(&cg)
	if child.GivenName != "" || child.FamilyName != "" || child.ErasedAt == nil || cg.GivenName != "" || cg.Phone != "" || cg.ErasedAt == nil {
		t.Errorf("not erased: child %+v caregiver %+v", child, cg)
	}
	var answers, notes, scores, risks int64
	st.DB(ctx).Model(&store.Assessment{}).Count(&answers)
	st.DB(ctx).Model(&store.FollowUp{}).Count(&notes)
	st.DB(ctx).Model(&store.Score{}).Count(&scores)
	st.DB(ctx).Model(&store.DomainRisk{}).Count(&risks)
	if answers != 0 || notes != 0 {
		t.Errorf("answers %d and notes %d survive erasure", answers, notes)
	}
	if scores != 1 || risks != 1 {
		t.Errorf("de-identified scores %d and risks %d must stay for statistics", scores, risks)
	}
}

func TestRetentionDue(t *testing.T) {
	st := newStore(t)
	addSites(t, st)
	ctx := context.Background()
	seedChild(t, st, "ch-old", "cg-old", t0)
	cutoff := t0.Add(24 * time.Hour)
	due, err := st.RetentionDue(ctx, siteA, cutoff, 10)
	if err != nil || len(due) != 1 || due[0] != "ch-old" {
		t.Fatalf("due = %v, %v; want ch-old (its only wave closed before the cutoff)", due, err)
	}
	if due, _ := st.RetentionDue(ctx, siteA, t0.Add(-time.Hour), 10); len(due) != 0 {
		t.Errorf("a cutoff before the wave closed made %v due", due)
	}
	if err := st.ErasePersonal(ctx, "ch-old", cutoff); err != nil {
		t.Fatal(err)
	}
	if due, _ := st.RetentionDue(ctx, siteA, cutoff, 10); len(due) != 0 {
		t.Errorf("an erased child is due again: %v", due)
	}
}
