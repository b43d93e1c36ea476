package store_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

func TestRecordStageSequence(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "c1")
	addWave(t, st, siteA, 1)
	cycleID := cycle.CycleID(siteA, 1, "c1")

	rec := func(seq int, stage string) cycle.StageRecord {
		return cycle.StageRecord{
			CycleID: cycleID, WaveID: cycle.WaveID(siteA, 1), SiteID: siteA, SchoolID: schoolA1, ChildID: "c1",
			Seq: seq, Stage: stage, Detail: stage + " detail", At: t0.Add(time.Duration(seq) * time.Hour),
		}
	}
	assess := rec(2, cycle.StageAssess)
	assess.Awaiting = []string{"caregiver", "teacher"}
	score := rec(3, cycle.StageScore)
	score.Awaiting = nil
	score.Risk = cycle.RiskModerate
	plan := rec(4, cycle.StagePlan)
	plan.Risk = cycle.RiskHigh
	plan.Flags = []string{"self_harm", "abuse"}
	closed := rec(5, cycle.StageClosed)
	closed.Outcome = cycle.OutcomeCompleted
	closed.Risk = cycle.RiskHigh

	// Each step is applied in order; want is the cycle row afterwards.
	steps := []struct {
		name       string
		rec        cycle.StageRecord
		wantStage  string
		wantStatus string
		wantSeq    int
		wantRisk   string
		wantOut    string
		wantFlags  []string
		wantAwait  []string
		wantEvents int64
		wantUpdAt  time.Time
	}{
		{name: "enrol creates the row", rec: rec(1, cycle.StageEnrol), wantStage: cycle.StageEnrol, wantStatus: store.CycleOpen,
			wantSeq: 1, wantEvents: 1, wantUpdAt: t0.Add(1 * time.Hour)},
		{name: "retried enrol writes nothing new", rec: rec(1, cycle.StageEnrol), wantStage: cycle.StageEnrol, wantStatus: store.CycleOpen,
			wantSeq: 1, wantEvents: 1, wantUpdAt: t0.Add(1 * time.Hour)},
		{name: "score arrives before assess", rec: score, wantStage: cycle.StageScore, wantStatus: store.CycleOpen,
			wantSeq: 3, wantRisk: cycle.RiskModerate, wantEvents: 2, wantUpdAt: t0.Add(3 * time.Hour)},
		{name: "late assess keeps the row at score but adds its event", rec: assess, wantStage: cycle.StageScore, wantStatus: store.CycleOpen,
			wantSeq: 3, wantRisk: cycle.RiskModerate, wantEvents: 3, wantUpdAt: t0.Add(3 * time.Hour)},
		{name: "late assess retried again adds nothing", rec: assess, wantStage: cycle.StageScore, wantStatus: store.CycleOpen,
			wantSeq: 3, wantRisk: cycle.RiskModerate, wantEvents: 3, wantUpdAt: t0.Add(3 * time.Hour)},
		{name: "plan with red flags", rec: plan, wantStage: cycle.StagePlan, wantStatus: store.CycleOpen,
			wantSeq: 4, wantRisk: cycle.RiskHigh, wantFlags: []string{"self_harm", "abuse"}, wantEvents: 4, wantUpdAt: t0.Add(4 * time.Hour)},
		{name: "closed sets the status", rec: closed, wantStage: cycle.StageClosed, wantStatus: store.CycleClosed,
			wantSeq: 5, wantRisk: cycle.RiskHigh, wantOut: cycle.OutcomeCompleted, wantEvents: 5, wantUpdAt: t0.Add(5 * time.Hour)},
		{name: "late plan after close does not reopen", rec: plan, wantStage: cycle.StageClosed, wantStatus: store.CycleClosed,
			wantSeq: 5, wantRisk: cycle.RiskHigh, wantOut: cycle.OutcomeCompleted, wantEvents: 5, wantUpdAt: t0.Add(5 * time.Hour)},
	}
	for _, s := range steps {
		if err := st.RecordStage(ctx, s.rec); err != nil {
			t.Fatalf("%s: RecordStage: %v", s.name, err)
		}
		c := getCycle(t, st, cycleID)
		if c.Stage != s.wantStage || c.Status != s.wantStatus || c.StageSeq != s.wantSeq {
			t.Errorf("%s: stage/status/seq = %q/%q/%d, want %q/%q/%d", s.name, c.Stage, c.Status, c.StageSeq, s.wantStage, s.wantStatus, s.wantSeq)
		}
		if c.Risk != s.wantRisk || c.Outcome != s.wantOut {
			t.Errorf("%s: risk/outcome = %q/%q, want %q/%q", s.name, c.Risk, c.Outcome, s.wantRisk, s.wantOut)
		}
		if got := store.SplitList(c.Flags); !reflect.DeepEqual(got, s.wantFlags) {
			t.Errorf("%s: flags = %q, want %q", s.name, got, s.wantFlags)
		}
		if c.RedFlag != (len(s.wantFlags) > 0) {
			t.Errorf("%s: red flag = %v, want %v", s.name, c.RedFlag, len(s.wantFlags) > 0)
		}
		if got := store.SplitList(c.Awaiting); !reflect.DeepEqual(got, s.wantAwait) {
			t.Errorf("%s: awaiting = %q, want %q", s.name, got, s.wantAwait)
		}
		if !c.CreatedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("%s: created_at = %v, want the first record's %v", s.name, c.CreatedAt, t0.Add(time.Hour))
		}
		if !c.UpdatedAt.Equal(s.wantUpdAt) {
			t.Errorf("%s: updated_at = %v, want %v", s.name, c.UpdatedAt, s.wantUpdAt)
		}
		if c.WaveID != cycle.WaveID(siteA, 1) || c.SiteID != siteA || c.SchoolID != schoolA1 || c.ChildID != "c1" {
			t.Errorf("%s: keys = %q %q %q %q", s.name, c.WaveID, c.SiteID, c.SchoolID, c.ChildID)
		}
		if n := count(t, st, &store.StageEvent{}, "cycle_id = ?", cycleID); n != s.wantEvents {
			t.Errorf("%s: %d stage events, want %d", s.name, n, s.wantEvents)
		}
	}
	if n := count(t, st, &store.Cycle{}, ""); n != 1 {
		t.Errorf("%d cycle rows, want 1", n)
	}

	// The timeline holds each seq once, in seq order, whatever the arrival order.
	d, err := st.Cycle(ctx, cycleID)
	if err != nil {
		t.Fatalf("Cycle: %v", err)
	}
	wantTimeline := []struct {
		seq   int
		stage string
	}{{1, cycle.StageEnrol}, {2, cycle.StageAssess}, {3, cycle.StageScore}, {4, cycle.StagePlan}, {5, cycle.StageClosed}}
	if len(d.Timeline) != len(wantTimeline) {
		t.Fatalf("timeline has %d entries, want %d", len(d.Timeline), len(wantTimeline))
	}
	for i, w := range wantTimeline {
		ev := d.Timeline[i]
		if ev.Seq != w.seq || ev.Stage != w.stage || ev.Detail != w.stage+" detail" {
			t.Errorf("timeline[%d] = seq %d %q %q, want seq %d %q %q", i, ev.Seq, ev.Stage, ev.Detail, w.seq, w.stage, w.stage+" detail")
		}
		if wantID := cycleID + "/" + strconv.Itoa(w.seq); ev.ID != wantID {
			t.Errorf("timeline[%d].ID = %q, want %q", i, ev.ID, wantID)
		}
		if !ev.At.Equal(t0.Add(time.Duration(w.seq) * time.Hour)) {
			t.Errorf("timeline[%d].At = %v, want %v", i, ev.At, t0.Add(time.Duration(w.seq)*time.Hour))
		}
	}
}

func TestRecordStageListsRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		flags     []string
		awaiting  []string
		wantFlags string
		wantAwait string
		wantRed   bool
	}{
		{name: "none", wantFlags: "", wantAwait: "", wantRed: false},
		{name: "one each", flags: []string{"self_harm"}, awaiting: []string{"caregiver"}, wantFlags: "self_harm", wantAwait: "caregiver", wantRed: true},
		{name: "several", flags: []string{"abuse", "neglect"}, awaiting: []string{"caregiver", "teacher", "nurse"},
			wantFlags: "abuse,neglect", wantAwait: "caregiver,teacher,nurse", wantRed: true},
		{name: "empty flag list is no red flag", flags: []string{}, awaiting: []string{}, wantFlags: "", wantAwait: "", wantRed: false},
	}
	st := newStore(t)
	addSites(t, st)
	addWave(t, st, siteA, 1)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			child := "lists-" + string(rune('a'+i))
			addChildren(t, st, siteA, schoolA1, child)
			id := stageAt(t, st, siteA, schoolA1, child, 2, cycle.StageAssess, func(r *cycle.StageRecord) {
				r.Flags, r.Awaiting = tt.flags, tt.awaiting
			})
			c := getCycle(t, st, id)
			if c.Flags != tt.wantFlags || c.Awaiting != tt.wantAwait || c.RedFlag != tt.wantRed {
				t.Errorf("flags %q awaiting %q red %v, want %q %q %v", c.Flags, c.Awaiting, c.RedFlag, tt.wantFlags, tt.wantAwait, tt.wantRed)
			}
			gotFlags, gotAwait := store.SplitList(c.Flags), store.SplitList(c.Awaiting)
			if len(gotFlags) != len(tt.flags) || len(gotAwait) != len(tt.awaiting) {
				t.Fatalf("SplitList gave %q and %q, want %q and %q", gotFlags, gotAwait, tt.flags, tt.awaiting)
			}
			for j := range tt.flags {
				if gotFlags[j] != tt.flags[j] {
					t.Errorf("flag %d = %q, want %q", j, gotFlags[j], tt.flags[j])
				}
			}
			for j := range tt.awaiting {
				if gotAwait[j] != tt.awaiting[j] {
					t.Errorf("awaiting %d = %q, want %q", j, gotAwait[j], tt.awaiting[j])
				}
			}
		})
	}
}

func TestRecordStageNeedsKnownChildAndWave(t *testing.T) {
	st := newStore(t)
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "c1")
	addWave(t, st, siteA, 1)
	tests := []struct {
		name  string
		child string
		wave  string
	}{
		{name: "unknown child", child: "ghost", wave: cycle.WaveID(siteA, 1)},
		{name: "unknown wave", child: "c1", wave: cycle.WaveID(siteA, 9)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := st.RecordStage(context.Background(), cycle.StageRecord{
				CycleID: "cycle/" + siteA + "/1/" + tt.child, WaveID: tt.wave, SiteID: siteA, SchoolID: schoolA1, ChildID: tt.child,
				Seq: 1, Stage: cycle.StageEnrol, At: t0,
			})
			if err == nil {
				t.Fatal("RecordStage succeeded, want a foreign key error")
			}
			if n := count(t, st, &store.StageEvent{}, ""); n != 0 {
				t.Errorf("%d stage events after a failed RecordStage, want 0", n)
			}
		})
	}
}

func TestEnrolment(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	withdrawn := family(siteA, schoolA1, "c-withdrawn", true)
	withdrawn.Consent.WithdrawnAt = timePtr(t0.Add(24 * time.Hour))
	regiven := family(siteA, schoolA2, "c-regiven", true)
	regiven.Consent.WithdrawnAt = timePtr(t0.Add(24 * time.Hour))
	if err := st.AddFamilies(ctx, []store.Family{
		family(siteA, schoolA1, "c-ok", true),
		family(siteA, schoolA1, "c-none", false),
		withdrawn,
		regiven,
		family(siteB, schoolB1, "c-beta", true),
	}); err != nil {
		t.Fatalf("AddFamilies: %v", err)
	}
	// c-regiven's caregiver consented again after withdrawing.
	if err := st.DB(ctx).Create(&store.Consent{ID: "consent-c-regiven-2", ChildID: "c-regiven", CaregiverID: "cg-c-regiven",
		Relationship: "parent", Scope: "cop-cycle", GivenAt: t0.Add(48 * time.Hour)}).Error; err != nil {
		t.Fatalf("second consent: %v", err)
	}

	const (
		notInCohort = "child is not in the site's cohort"
		noConsent   = "no consent on record from a competent person"
	)
	tests := []struct {
		name  string
		site  string
		child string
		want  cycle.Enrolment
	}{
		{name: "consented", site: siteA, child: "c-ok", want: cycle.Enrolment{Found: true, Consented: true, SchoolID: schoolA1}},
		{name: "no consent", site: siteA, child: "c-none", want: cycle.Enrolment{Found: true, SchoolID: schoolA1, Reason: noConsent}},
		{name: "withdrawn consent", site: siteA, child: "c-withdrawn", want: cycle.Enrolment{Found: true, SchoolID: schoolA1, Reason: noConsent}},
		{name: "consent given again after withdrawal", site: siteA, child: "c-regiven", want: cycle.Enrolment{Found: true, Consented: true, SchoolID: schoolA2}},
		{name: "unknown child", site: siteA, child: "ghost", want: cycle.Enrolment{Reason: notInCohort}},
		{name: "child of another site", site: siteA, child: "c-beta", want: cycle.Enrolment{Reason: notInCohort}},
		{name: "child at its own site", site: siteB, child: "c-beta", want: cycle.Enrolment{Found: true, Consented: true, SchoolID: schoolB1}},
		{name: "unknown site", site: "gamma", child: "c-ok", want: cycle.Enrolment{Reason: notInCohort}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.Enrolment(ctx, cycle.EnrolmentQuery{SiteID: tt.site, ChildID: tt.child})
			if err != nil {
				t.Fatalf("Enrolment: %v", err)
			}
			if got != tt.want {
				t.Errorf("Enrolment(%q, %q) = %+v, want %+v", tt.site, tt.child, got, tt.want)
			}
		})
	}
}

func TestSubject(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	f := family(siteA, schoolA1, "c1", true)
	f.Child.Sex = "male"
	f.Child.BirthDate = time.Date(2018, 11, 30, 0, 0, 0, 0, time.UTC)
	if err := st.AddFamilies(ctx, []store.Family{f}); err != nil {
		t.Fatalf("AddFamilies: %v", err)
	}
	tests := []struct {
		name    string
		child   string
		want    cycle.Subject
		wantErr error
	}{
		{name: "known child", child: "c1", want: cycle.Subject{Sex: "male", BirthDate: time.Date(2018, 11, 30, 0, 0, 0, 0, time.UTC)}},
		{name: "unknown child", child: "ghost", wantErr: store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.Subject(ctx, tt.child)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Subject error = %v, want %v", err, tt.wantErr)
			}
			if got.Sex != tt.want.Sex || !got.BirthDate.Equal(tt.want.BirthDate) {
				t.Errorf("Subject = %+v, want %+v", got, tt.want)
			}
		})
	}
}
