package store_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

// openWorkFixture records, at site alpha unless noted:
//
//	w1 a-one assess,   awaits caregiver+teacher, caregiver's baseline in  -> form due: teacher
//	w2 a-one assess,   awaits caregiver, caregiver's baseline in          -> no form due
//	w3 a-two reassess, awaits caregiver+teacher, caregiver's BASELINE and
//	                   teacher's reassessment in                          -> form due: caregiver
//	w4 a-one plan, w5 a-two plan                                          -> awaiting plan
//	w6 a-one follow_up                                                    -> follow-up
//	w7 a-one closed, w8 a-one score                                       -> nothing
//	b1 beta plan                                                          -> other site
//
// Meetings: m1 alpha/a-one awaiting minutes, m2 alpha/a-one held, m3 beta awaiting.
// Referrals: w6 dispatched (r1) and acknowledged (r2), w4 created, w1 completed, beta dispatched.
func openWorkFixture(t *testing.T, st *store.Store) map[string]string {
	t.Helper()
	ctx := context.Background()
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "w1", "w2", "w4", "w6", "w7", "w8")
	addChildren(t, st, siteA, schoolA2, "w3", "w5")
	addChildren(t, st, siteB, schoolB1, "b1")
	wave := addWave(t, st, siteA, 1)
	waveB := addWave(t, st, siteB, 1)

	ids := map[string]string{}
	awaiting := func(rs ...string) func(*cycle.StageRecord) {
		return func(r *cycle.StageRecord) { r.Awaiting = rs }
	}
	ids["w1"] = stageAt(t, st, siteA, schoolA1, "w1", 2, cycle.StageAssess, awaiting("caregiver", "teacher"))
	ids["w2"] = stageAt(t, st, siteA, schoolA1, "w2", 2, cycle.StageAssess, awaiting("caregiver"))
	ids["w3"] = stageAt(t, st, siteA, schoolA2, "w3", 7, cycle.StageReassess, awaiting("caregiver", "teacher"))
	ids["w4"] = stageAt(t, st, siteA, schoolA1, "w4", 4, cycle.StagePlan, nil)
	ids["w5"] = stageAt(t, st, siteA, schoolA2, "w5", 4, cycle.StagePlan, nil)
	ids["w6"] = stageAt(t, st, siteA, schoolA1, "w6", 6, cycle.StageFollowUp, nil)
	ids["w7"] = stageAt(t, st, siteA, schoolA1, "w7", 9, cycle.StageClosed, nil)
	ids["w8"] = stageAt(t, st, siteA, schoolA1, "w8", 3, cycle.StageScore, nil)
	ids["b1"] = stageAt(t, st, siteB, schoolB1, "b1", 4, cycle.StagePlan, nil)

	for _, a := range []struct{ cycle, phase, respondent string }{
		{ids["w1"], cycle.PhaseBaseline, "caregiver"},
		{ids["w2"], cycle.PhaseBaseline, "caregiver"},
		{ids["w3"], cycle.PhaseBaseline, "caregiver"},
		{ids["w3"], cycle.PhaseReassessment, "teacher"},
	} {
		if err := st.SaveAssessment(ctx, cycle.AssessmentRecord{CycleID: a.cycle, Phase: a.phase, Respondent: a.respondent,
			Answers: cycle.Answers{"q1": 1}, SubmittedBy: "fw", SubmittedAt: t0}); err != nil {
			t.Fatalf("SaveAssessment: %v", err)
		}
	}
	for _, m := range []cycle.MeetingRecord{
		{MeetingID: "m1", SiteID: siteA, SchoolID: schoolA1, Date: "2025-03-10", Status: cycle.MeetingAwaitingMinutes, At: t0},
		{MeetingID: "m2", SiteID: siteA, SchoolID: schoolA1, Date: "2025-02-24", Status: cycle.MeetingHeld, At: t0},
		{MeetingID: "m3", SiteID: siteB, SchoolID: schoolB1, Date: "2025-03-10", Status: cycle.MeetingAwaitingMinutes, At: t0},
	} {
		if err := st.SaveMeeting(ctx, m); err != nil {
			t.Fatalf("SaveMeeting: %v", err)
		}
	}
	for _, r := range []cycle.ReferralRecord{
		{ReferralID: "r1", CycleID: ids["w6"], WaveID: wave, SiteID: siteA, SchoolID: schoolA1, Status: cycle.ReferralDispatched},
		{ReferralID: "r2", CycleID: ids["w6"], WaveID: wave, SiteID: siteA, SchoolID: schoolA1, Status: cycle.ReferralAcknowledged},
		{ReferralID: "r3", CycleID: ids["w4"], WaveID: wave, SiteID: siteA, SchoolID: schoolA1, Status: cycle.ReferralCreated},
		{ReferralID: "r4", CycleID: ids["w1"], WaveID: wave, SiteID: siteA, SchoolID: schoolA1, Status: cycle.ReferralCompleted},
		{ReferralID: "r5", CycleID: ids["b1"], WaveID: waveB, SiteID: siteB, SchoolID: schoolB1, Status: cycle.ReferralDispatched},
	} {
		r.Domain, r.ServiceType, r.At = "health", "clinic", t0
		if err := st.SaveReferral(ctx, r); err != nil {
			t.Fatalf("SaveReferral: %v", err)
		}
	}
	return ids
}

func TestOpenWork(t *testing.T) {
	st := newStore(t)
	ids := openWorkFixture(t, st)
	type want struct {
		forms        []store.FormDue
		awaitingPlan []string
		planBySchool map[string]int
		meetings     []string
		referrals    []string
		followUps    []string
	}
	tests := []struct {
		name   string
		site   string
		school string
		want   want
	}{
		{name: "whole site", site: siteA, want: want{
			forms: []store.FormDue{
				{CycleID: ids["w1"], SchoolID: schoolA1, Phase: cycle.PhaseBaseline, Respondents: []string{"teacher"}},
				{CycleID: ids["w3"], SchoolID: schoolA2, Phase: cycle.PhaseReassessment, Respondents: []string{"caregiver"}},
			},
			awaitingPlan: []string{ids["w4"], ids["w5"]},
			planBySchool: map[string]int{schoolA1: 1, schoolA2: 1},
			meetings:     []string{"m1"},
			referrals:    []string{"r1", "r2"},
			followUps:    []string{ids["w6"]},
		}},
		{name: "one school", site: siteA, school: schoolA2, want: want{
			forms: []store.FormDue{
				{CycleID: ids["w3"], SchoolID: schoolA2, Phase: cycle.PhaseReassessment, Respondents: []string{"caregiver"}},
			},
			awaitingPlan: []string{ids["w5"]},
			planBySchool: map[string]int{schoolA2: 1},
		}},
		{name: "other site", site: siteB, want: want{
			awaitingPlan: []string{ids["b1"]},
			planBySchool: map[string]int{schoolB1: 1},
			meetings:     []string{"m3"},
			referrals:    []string{"r5"},
		}},
		{name: "unknown site", site: "gamma", want: want{planBySchool: map[string]int{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := st.OpenWork(context.Background(), tt.site, tt.school, 10)
			if err != nil {
				t.Fatalf("OpenWork: %v", err)
			}
			if !reflect.DeepEqual(w.Forms, tt.want.forms) {
				t.Errorf("Forms = %+v, want %+v", w.Forms, tt.want.forms)
			}
			if !slices.Equal(w.AwaitingPlan, tt.want.awaitingPlan) {
				t.Errorf("AwaitingPlan = %q, want %q", w.AwaitingPlan, tt.want.awaitingPlan)
			}
			if !reflect.DeepEqual(w.PlanBySchool, tt.want.planBySchool) {
				t.Errorf("PlanBySchool = %v, want %v", w.PlanBySchool, tt.want.planBySchool)
			}
			if got := meetingIDs(w.Meetings); !reflect.DeepEqual(got, tt.want.meetings) {
				t.Errorf("Meetings = %q, want %q", got, tt.want.meetings)
			}
			if got := referralIDs(w.Referrals); !reflect.DeepEqual(got, tt.want.referrals) {
				t.Errorf("Referrals = %q, want %q", got, tt.want.referrals)
			}
			if !slices.Equal(w.FollowUps, tt.want.followUps) {
				t.Errorf("FollowUps = %q, want %q", w.FollowUps, tt.want.followUps)
			}
		})
	}
}

func TestOpenWorkLimit(t *testing.T) {
	st := newStore(t)
	ids := openWorkFixture(t, st)
	w, err := st.OpenWork(context.Background(), siteA, "", 1)
	if err != nil {
		t.Fatalf("OpenWork: %v", err)
	}
	// With limit 1 each list holds at most one entry, the first in ID order.
	if len(w.Forms) != 1 || w.Forms[0].CycleID != ids["w1"] {
		t.Errorf("Forms = %+v, want only %s's", w.Forms, ids["w1"])
	}
	if got := meetingIDs(w.Meetings); !reflect.DeepEqual(got, []string{"m1"}) {
		t.Errorf("Meetings = %q, want [m1]", got)
	}
	if got := referralIDs(w.Referrals); !reflect.DeepEqual(got, []string{"r1"}) {
		t.Errorf("Referrals = %q, want [r1]", got)
	}
	if !reflect.DeepEqual(w.AwaitingPlan, []string{ids["w4"]}) {
		t.Errorf("AwaitingPlan = %q, want [%s]", w.AwaitingPlan, ids["w4"])
	}

	// The cycles are read through one window of limit*4 rows in ID order
	// (w1, w2, w3, w4), so w6's follow-up and w5's plan fall outside it: the
	// follow-up list is empty although it is under its limit, and the
	// per-school count misses school a-two.
	if len(w.FollowUps) != 1 || w.PlanBySchool[schoolA2] != 1 {
		t.Fatalf("OpenWork(limit=1) returned FollowUps %q and PlanBySchool %v; want [%s] and a-two counted "+
			"(internal/store/queries.go:91 reads only limit*4 cycles for every list)", w.FollowUps, w.PlanBySchool, ids["w6"])
	}
}

func TestOpenWorkLimitBoundsAwaitingPlan(t *testing.T) {
	st := newStore(t)
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "p1", "p2", "p3")
	addWave(t, st, siteA, 1)
	for _, c := range []string{"p1", "p2", "p3"} {
		stageAt(t, st, siteA, schoolA1, c, 4, cycle.StagePlan, nil)
	}
	w, err := st.OpenWork(context.Background(), siteA, "", 1)
	if err != nil {
		t.Fatalf("OpenWork: %v", err)
	}
	// Three cycles await a plan; the count by school sees all of them.
	if got := w.PlanBySchool[schoolA1]; got != 3 {
		t.Errorf("PlanBySchool[%s] = %d, want 3", schoolA1, got)
	}
	if len(w.AwaitingPlan) > 1 {
		t.Fatalf("OpenWork(limit=1) returned %d awaiting-plan cycles %q; its doc says limit bounds each list "+
			"(internal/store/queries.go:101 appends without checking limit)", len(w.AwaitingPlan), w.AwaitingPlan)
	}
}

func meetingIDs(ms []store.Meeting) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func referralIDs(rs []store.Referral) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestCycleDetail(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "c1", "c2")
	wave := addWave(t, st, siteA, 1)
	// Recorded out of order; the timeline reads in seq order.
	for _, s := range []struct {
		seq   int
		stage string
	}{{3, cycle.StageScore}, {1, cycle.StageEnrol}, {4, cycle.StageRefer}, {2, cycle.StageAssess}} {
		stageAt(t, st, siteA, schoolA1, "c1", s.seq, s.stage, nil)
	}
	c1 := cycle.CycleID(siteA, 1, "c1")
	c2 := stageAt(t, st, siteA, schoolA1, "c2", 1, cycle.StageEnrol, nil)
	for _, ref := range []string{"ref-b", "ref-a"} {
		if err := st.SaveReferral(ctx, cycle.ReferralRecord{ReferralID: ref, CycleID: c1, WaveID: wave, SiteID: siteA, SchoolID: schoolA1,
			Domain: "health", ServiceType: "clinic", Status: cycle.ReferralCreated, At: t0}); err != nil {
			t.Fatalf("SaveReferral: %v", err)
		}
	}

	tests := []struct {
		name          string
		id            string
		wantErr       error
		wantStage     string
		wantSeqs      []int
		wantReferrals []string
	}{
		{name: "four stages", id: c1, wantStage: cycle.StageRefer, wantSeqs: []int{1, 2, 3, 4}, wantReferrals: []string{"ref-a", "ref-b"}},
		{name: "one stage", id: c2, wantStage: cycle.StageEnrol, wantSeqs: []int{1}},
		{name: "unknown", id: cycle.CycleID(siteA, 1, "ghost"), wantErr: store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := st.Cycle(ctx, tt.id)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Cycle error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			if d.Cycle.ID != tt.id || d.Cycle.Stage != tt.wantStage {
				t.Errorf("cycle %q at %q, want %q at %q", d.Cycle.ID, d.Cycle.Stage, tt.id, tt.wantStage)
			}
			var seqs []int
			for _, ev := range d.Timeline {
				seqs = append(seqs, ev.Seq)
				if ev.CycleID != tt.id {
					t.Errorf("timeline entry of cycle %q in %q's detail", ev.CycleID, tt.id)
				}
			}
			if !reflect.DeepEqual(seqs, tt.wantSeqs) {
				t.Errorf("timeline seqs = %v, want %v", seqs, tt.wantSeqs)
			}
			if got := referralIDs(d.Referrals); !reflect.DeepEqual(got, tt.wantReferrals) {
				t.Errorf("referrals = %q, want %q", got, tt.wantReferrals)
			}
			if len(d.Scores) != 0 || len(d.Plans) != 0 || d.FollowUps != 0 {
				t.Errorf("scores %d plans %d follow-ups %d, want none", len(d.Scores), len(d.Plans), d.FollowUps)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	tests := []struct {
		name string
		get  func() error
	}{
		{name: "wave", get: func() error { _, err := st.Wave(ctx, "wave/alpha/1"); return err }},
		{name: "meeting", get: func() error { _, err := st.Meeting(ctx, "meeting/alpha/a-one/2025-03-10"); return err }},
		{name: "cycle", get: func() error { _, err := st.Cycle(ctx, "cycle/alpha/1/c1"); return err }},
		{name: "subject", get: func() error { _, err := st.Subject(ctx, "c1"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.get(); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("error = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestAddFamiliesAllOrNothing(t *testing.T) {
	tests := []struct {
		name         string
		families     func() []store.Family
		wantErr      bool
		wantChildren int64
		wantConsents int64
	}{
		{name: "three families, one without consent", families: func() []store.Family {
			return []store.Family{family(siteA, schoolA1, "f1", true), family(siteA, schoolA1, "f2", false), family(siteA, schoolA2, "f3", true)}
		}, wantChildren: 3, wantConsents: 2},
		{name: "duplicate child ID in the batch", families: func() []store.Family {
			return []store.Family{family(siteA, schoolA1, "f1", true), family(siteA, schoolA1, "f2", true), family(siteA, schoolA1, "f1", true)}
		}, wantErr: true},
		{name: "duplicate child with a new caregiver", families: func() []store.Family {
			dup := family(siteA, schoolA1, "f1", false)
			dup.Caregiver.ID, dup.Child.CaregiverID = "cg-other", "cg-other"
			return []store.Family{family(siteA, schoolA1, "f1", true), dup}
		}, wantErr: true},
		{name: "unknown school in the last family", families: func() []store.Family {
			return []store.Family{family(siteA, schoolA1, "f1", true), family(siteA, "no-such-school", "f2", true)}
		}, wantErr: true},
		{name: "empty batch", families: func() []store.Family { return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStore(t)
			addSites(t, st)
			err := st.AddFamilies(context.Background(), tt.families())
			if (err != nil) != tt.wantErr {
				t.Fatalf("AddFamilies error = %v, want error %v", err, tt.wantErr)
			}
			if n := count(t, st, &store.Child{}, ""); n != tt.wantChildren {
				t.Errorf("%d children, want %d", n, tt.wantChildren)
			}
			if n := count(t, st, &store.Caregiver{}, ""); n != tt.wantChildren {
				t.Errorf("%d caregivers, want %d", n, tt.wantChildren)
			}
			if n := count(t, st, &store.Consent{}, ""); n != tt.wantConsents {
				t.Errorf("%d consents, want %d", n, tt.wantConsents)
			}
		})
	}
}

func TestEnsureSiteAndCountChildren(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	// A second call, even with changed names and a new school, keeps the
	// existing rows and adds only what is missing.
	if err := st.EnsureSite(ctx, store.Site{ID: siteA, Name: "Renamed", Setting: "rural", CreatedAt: t0}, []store.School{
		{ID: schoolA1, SiteID: siteA, Name: "Renamed", Quintile: 5, CreatedAt: t0},
		{ID: "a-three", SiteID: siteA, Name: "A Three", Quintile: 4, CreatedAt: t0},
	}); err != nil {
		t.Fatalf("EnsureSite again: %v", err)
	}
	if n := count(t, st, &store.Site{}, ""); n != 2 {
		t.Errorf("%d sites, want 2", n)
	}
	if n := count(t, st, &store.School{}, ""); n != 4 {
		t.Errorf("%d schools, want 4", n)
	}
	var site store.Site
	if err := st.DB(ctx).Where("id = ?", siteA).Take(&site).Error; err != nil {
		t.Fatalf("reading site: %v", err)
	}
	if site.Name != "Alpha" {
		t.Errorf("site name = %q, want the first call's Alpha", site.Name)
	}

	addChildren(t, st, siteA, schoolA1, "c1", "c2")
	addChildren(t, st, siteA, "a-three", "c3")
	addChildren(t, st, siteB, schoolB1, "b1")
	tests := []struct {
		site string
		want int64
	}{
		{site: siteA, want: 3},
		{site: siteB, want: 1},
		{site: "", want: 4},
		{site: "gamma", want: 0},
	}
	for _, tt := range tests {
		t.Run("CountChildren/"+tt.site, func(t *testing.T) {
			got, err := st.CountChildren(ctx, tt.site)
			if err != nil {
				t.Fatalf("CountChildren: %v", err)
			}
			if got != tt.want {
				t.Errorf("CountChildren(%q) = %d, want %d", tt.site, got, tt.want)
			}
		})
	}
}
