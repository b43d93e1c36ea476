package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

func TestSaveReferralStampsEachStatusOnce(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "c1")
	addWave(t, st, siteA, 1)
	cycleID := stageAt(t, st, siteA, schoolA1, "c1", 5, cycle.StageRefer, nil)
	refID := cycle.ReferralID(siteA, 1, "c1", 1)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	due := at(2).Add(30 * 24 * time.Hour)

	rec := func(status string, h int) cycle.ReferralRecord {
		return cycle.ReferralRecord{ReferralID: refID, CycleID: cycleID, WaveID: cycle.WaveID(siteA, 1), SiteID: siteA, SchoolID: schoolA1,
			Domain: "health", ServiceType: "clinic", Urgent: true, Status: status, At: at(h)}
	}
	dispatched := rec(cycle.ReferralDispatched, 2)
	dispatched.ServiceID, dispatched.DispatchRef, dispatched.DueAt = "clinic-1", "outbox:"+refID, &due
	dispatchedRetry := dispatched
	dispatchedRetry.At = at(3)
	ack := rec(cycle.ReferralAcknowledged, 4) // no service or dispatch ref: the earlier ones stay
	ack.DueAt = &due
	ackOverdue := ack
	ackOverdue.At, ackOverdue.Overdue = at(5), true
	done := ackOverdue
	done.Status, done.At = cycle.ReferralCompleted, at(6)
	doneRetry := done
	doneRetry.At = at(7)

	steps := []struct {
		name        string
		rec         cycle.ReferralRecord
		wantStatus  string
		wantDisp    *time.Time
		wantAck     *time.Time
		wantClosed  *time.Time
		wantOverdue bool
		wantService string
		wantRef     string
		wantDue     *time.Time
	}{
		{name: "created", rec: rec(cycle.ReferralCreated, 1), wantStatus: store.ReferralCreated},
		{name: "dispatched", rec: dispatched, wantStatus: store.ReferralDispatched, wantDisp: timePtr(at(2)),
			wantService: "clinic-1", wantRef: "outbox:" + refID, wantDue: &due},
		{name: "dispatched retry keeps the stamp", rec: dispatchedRetry, wantStatus: store.ReferralDispatched, wantDisp: timePtr(at(2)),
			wantService: "clinic-1", wantRef: "outbox:" + refID, wantDue: &due},
		{name: "acknowledged", rec: ack, wantStatus: store.ReferralAcknowledged, wantDisp: timePtr(at(2)), wantAck: timePtr(at(4)),
			wantService: "clinic-1", wantRef: "outbox:" + refID, wantDue: &due},
		{name: "acknowledged again, now overdue", rec: ackOverdue, wantStatus: store.ReferralAcknowledged, wantDisp: timePtr(at(2)),
			wantAck: timePtr(at(4)), wantOverdue: true, wantService: "clinic-1", wantRef: "outbox:" + refID, wantDue: &due},
		{name: "completed", rec: done, wantStatus: store.ReferralCompleted, wantDisp: timePtr(at(2)), wantAck: timePtr(at(4)),
			wantClosed: timePtr(at(6)), wantOverdue: true, wantService: "clinic-1", wantRef: "outbox:" + refID, wantDue: &due},
		{name: "completed retry keeps the stamp", rec: doneRetry, wantStatus: store.ReferralCompleted, wantDisp: timePtr(at(2)),
			wantAck: timePtr(at(4)), wantClosed: timePtr(at(6)), wantOverdue: true, wantService: "clinic-1", wantRef: "outbox:" + refID, wantDue: &due},
	}
	for _, s := range steps {
		if err := st.SaveReferral(ctx, s.rec); err != nil {
			t.Fatalf("%s: SaveReferral: %v", s.name, err)
		}
		var r store.Referral
		if err := st.DB(ctx).Where("id = ?", refID).Take(&r).Error; err != nil {
			t.Fatalf("%s: reading referral: %v", s.name, err)
		}
		if r.Status != s.wantStatus || r.Overdue != s.wantOverdue {
			t.Errorf("%s: status %q overdue %v, want %q %v", s.name, r.Status, r.Overdue, s.wantStatus, s.wantOverdue)
		}
		if !r.CreatedAt.Equal(at(1)) {
			t.Errorf("%s: created_at %v, want %v", s.name, r.CreatedAt, at(1))
		}
		if !sameTime(r.DispatchedAt, s.wantDisp) || !sameTime(r.AcknowledgedAt, s.wantAck) || !sameTime(r.ClosedAt, s.wantClosed) {
			t.Errorf("%s: dispatched/acknowledged/closed = %v/%v/%v, want %v/%v/%v", s.name,
				r.DispatchedAt, r.AcknowledgedAt, r.ClosedAt, s.wantDisp, s.wantAck, s.wantClosed)
		}
		if !sameTime(r.DueAt, s.wantDue) {
			t.Errorf("%s: due_at %v, want %v", s.name, r.DueAt, s.wantDue)
		}
		if r.ServiceID != s.wantService || r.DispatchRef != s.wantRef {
			t.Errorf("%s: service %q ref %q, want %q %q", s.name, r.ServiceID, r.DispatchRef, s.wantService, s.wantRef)
		}
		if r.CycleID != cycleID || r.Domain != "health" || r.ServiceType != "clinic" || !r.Urgent {
			t.Errorf("%s: referral fields = %+v", s.name, r)
		}
	}
	if n := count(t, st, &store.Referral{}, ""); n != 1 {
		t.Errorf("%d referral rows, want 1", n)
	}
}

func TestSaveReferralClosingStatuses(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "c1")
	addWave(t, st, siteA, 1)
	cycleID := stageAt(t, st, siteA, schoolA1, "c1", 5, cycle.StageRefer, nil)
	tests := []struct {
		status     string
		wantClosed bool
	}{
		{status: cycle.ReferralCreated, wantClosed: false},
		{status: cycle.ReferralDispatched, wantClosed: false},
		{status: cycle.ReferralAcknowledged, wantClosed: false},
		{status: cycle.ReferralCompleted, wantClosed: true},
		{status: cycle.ReferralDeclined, wantClosed: true},
		{status: cycle.ReferralUnreachable, wantClosed: true},
	}
	for i, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			refID := cycle.ReferralID(siteA, 1, "c1", i)
			if err := st.SaveReferral(ctx, cycle.ReferralRecord{ReferralID: refID, CycleID: cycleID, WaveID: cycle.WaveID(siteA, 1),
				SiteID: siteA, SchoolID: schoolA1, Domain: "learning", ServiceType: "social_development", Status: tt.status, At: t0}); err != nil {
				t.Fatalf("SaveReferral: %v", err)
			}
			var r store.Referral
			if err := st.DB(ctx).Where("id = ?", refID).Take(&r).Error; err != nil {
				t.Fatalf("reading referral: %v", err)
			}
			if got := r.ClosedAt != nil; got != tt.wantClosed {
				t.Errorf("closed_at set = %v, want %v", got, tt.wantClosed)
			}
			if tt.wantClosed && !r.ClosedAt.Equal(t0) {
				t.Errorf("closed_at = %v, want %v", r.ClosedAt, t0)
			}
			if r.Status != tt.status {
				t.Errorf("status = %q, want %q", r.Status, tt.status)
			}
		})
	}
}

func TestPendingAgenda(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "p0", "p1", "p2", "p3", "p4")
	addChildren(t, st, siteA, schoolA2, "p5")
	addChildren(t, st, siteB, schoolB1, "p6")
	wave := addWave(t, st, siteA, 1)
	addWave(t, st, siteB, 1)

	p0 := stageAt(t, st, siteA, schoolA1, "p0", 4, cycle.StagePlan, nil)
	p1 := stageAt(t, st, siteA, schoolA1, "p1", 4, cycle.StagePlan, nil)
	p2 := stageAt(t, st, siteA, schoolA1, "p2", 4, cycle.StagePlan, func(r *cycle.StageRecord) { r.Flags = []string{"self_harm", "abuse"} })
	p3 := stageAt(t, st, siteA, schoolA1, "p3", 2, cycle.StageAssess, nil)
	p4 := stageAt(t, st, siteA, schoolA1, "p4", 9, cycle.StageClosed, func(r *cycle.StageRecord) { r.Outcome = cycle.OutcomeCompleted })
	p5 := stageAt(t, st, siteA, schoolA2, "p5", 4, cycle.StagePlan, nil)
	stageAt(t, st, siteB, schoolB1, "p6", 4, cycle.StagePlan, nil)

	score := func(cycleID, phase string, domains map[string]string) {
		t.Helper()
		if err := st.SaveScore(ctx, cycle.ScoreRecord{CycleID: cycleID, WaveID: wave, SiteID: siteA, SchoolID: schoolA1, Phase: phase,
			Instrument: cycle.InstrumentRef{ID: "sdq", Version: "1"}, Domains: domains, Result: []byte(`{}`), ComputedAt: t0}); err != nil {
			t.Fatalf("SaveScore: %v", err)
		}
	}
	score(p1, cycle.PhaseBaseline, map[string]string{"health": "high", "learning": "low"})
	score(p1, cycle.PhaseReassessment, map[string]string{"health": "low", "social": "low"}) // not the baseline: left out
	score(p2, cycle.PhaseBaseline, map[string]string{"health": "moderate"})

	referral := func(child, cycleID, school, status string, overdue bool) {
		t.Helper()
		if err := st.SaveReferral(ctx, cycle.ReferralRecord{ReferralID: cycle.ReferralID(siteA, 1, child, 1), CycleID: cycleID, WaveID: wave,
			SiteID: siteA, SchoolID: school, Domain: "health", ServiceType: "clinic", Status: status, Overdue: overdue, At: t0}); err != nil {
			t.Fatalf("SaveReferral: %v", err)
		}
	}
	referral("p0", p0, schoolA1, cycle.ReferralDispatched, false)  // not overdue
	referral("p1", p1, schoolA1, cycle.ReferralCompleted, true)    // overdue but closed
	referral("p3", p3, schoolA1, cycle.ReferralDispatched, true)   // listed
	referral("p4", p4, schoolA1, cycle.ReferralAcknowledged, true) // listed
	referral("p5", p5, schoolA2, cycle.ReferralDispatched, true)   // other school

	tests := []struct {
		name   string
		site   string
		school string
		want   []cycle.AgendaItem
	}{
		{name: "alpha school one", site: siteA, school: schoolA1, want: []cycle.AgendaItem{
			{CycleID: p2, ChildID: "p2", Reason: cycle.AgendaAwaitingPlan, Flags: []string{"self_harm", "abuse"}, Domains: map[string]string{"health": "moderate"}},
			{CycleID: p0, ChildID: "p0", Reason: cycle.AgendaAwaitingPlan, Domains: map[string]string{}},
			{CycleID: p1, ChildID: "p1", Reason: cycle.AgendaAwaitingPlan, Domains: map[string]string{"health": "high", "learning": "low"}},
			{CycleID: p3, ChildID: "p3", Reason: cycle.AgendaOverdueReferral},
			{CycleID: p4, ChildID: "p4", Reason: cycle.AgendaOverdueReferral},
		}},
		{name: "alpha school two", site: siteA, school: schoolA2, want: []cycle.AgendaItem{
			{CycleID: p5, ChildID: "p5", Reason: cycle.AgendaAwaitingPlan, Domains: map[string]string{}},
			{CycleID: p5, ChildID: "p5", Reason: cycle.AgendaOverdueReferral},
		}},
		{name: "school of another site", site: siteA, school: schoolB1, want: []cycle.AgendaItem{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.PendingAgenda(ctx, tt.site, tt.school)
			if err != nil {
				t.Fatalf("PendingAgenda: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("PendingAgenda(%s, %s) =\n %+v\nwant\n %+v", tt.site, tt.school, got, tt.want)
			}
		})
	}
}

func TestSaveMeetingUpserts(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	id := cycle.MeetingID(siteA, schoolA1, "2025-03-10")
	agenda := []cycle.AgendaItem{{CycleID: "cycle/alpha/1/c1", ChildID: "c1", Reason: cycle.AgendaAwaitingPlan}}
	steps := []struct {
		name       string
		rec        cycle.MeetingRecord
		wantStatus string
		wantHeld   *time.Time
		wantAgenda string
	}{
		{name: "awaiting minutes", rec: cycle.MeetingRecord{MeetingID: id, SiteID: siteA, SchoolID: schoolA1, Date: "2025-03-10",
			Status: cycle.MeetingAwaitingMinutes, Agenda: agenda, At: t0},
			wantStatus: store.MeetingAwaitingMinutes, wantAgenda: `[{"cycle_id":"cycle/alpha/1/c1","child_id":"c1","reason":"awaiting_plan"}]`},
		{name: "held", rec: cycle.MeetingRecord{MeetingID: id, SiteID: siteA, SchoolID: schoolA1, Date: "2025-03-10",
			Status: cycle.MeetingHeld, Agenda: agenda, At: t0.Add(2 * time.Hour)},
			wantStatus: store.MeetingHeld, wantHeld: timePtr(t0.Add(2 * time.Hour)), wantAgenda: `[{"cycle_id":"cycle/alpha/1/c1","child_id":"c1","reason":"awaiting_plan"}]`},
		{name: "held retried keeps one row", rec: cycle.MeetingRecord{MeetingID: id, SiteID: siteA, SchoolID: schoolA1, Date: "2025-03-10",
			Status: cycle.MeetingHeld, Agenda: agenda, At: t0.Add(2 * time.Hour)},
			wantStatus: store.MeetingHeld, wantHeld: timePtr(t0.Add(2 * time.Hour)), wantAgenda: `[{"cycle_id":"cycle/alpha/1/c1","child_id":"c1","reason":"awaiting_plan"}]`},
	}
	for _, s := range steps {
		if err := st.SaveMeeting(ctx, s.rec); err != nil {
			t.Fatalf("%s: SaveMeeting: %v", s.name, err)
		}
		m, err := st.Meeting(ctx, id)
		if err != nil {
			t.Fatalf("%s: Meeting: %v", s.name, err)
		}
		if m.Status != s.wantStatus || !sameTime(m.HeldAt, s.wantHeld) || m.Agenda != s.wantAgenda {
			t.Errorf("%s: meeting status %q held %v agenda %s, want %q %v %s", s.name, m.Status, m.HeldAt, m.Agenda, s.wantStatus, s.wantHeld, s.wantAgenda)
		}
		if !m.CreatedAt.Equal(t0) || m.Date != "2025-03-10" || m.SiteID != siteA || m.SchoolID != schoolA1 {
			t.Errorf("%s: meeting = %+v, want created %v on 2025-03-10 at %s/%s", s.name, m, t0, siteA, schoolA1)
		}
		if n := count(t, st, &store.Meeting{}, ""); n != 1 {
			t.Errorf("%s: %d meeting rows, want 1", s.name, n)
		}
	}

	// A meeting with no agenda stores JSON null, not an empty string.
	empty := cycle.MeetingID(siteA, schoolA2, "2025-03-10")
	if err := st.SaveMeeting(ctx, cycle.MeetingRecord{MeetingID: empty, SiteID: siteA, SchoolID: schoolA2, Date: "2025-03-10",
		Status: cycle.MeetingNoAgenda, At: t0}); err != nil {
		t.Fatalf("SaveMeeting without agenda: %v", err)
	}
	m, err := st.Meeting(ctx, empty)
	if err != nil {
		t.Fatalf("Meeting: %v", err)
	}
	if m.Agenda != "null" || m.HeldAt != nil {
		t.Errorf("meeting without agenda: agenda %q held %v, want \"null\" and nil", m.Agenda, m.HeldAt)
	}
}

func TestSavePlansOncePerMeetingAndChild(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "c1", "c2")
	addWave(t, st, siteA, 1)
	c1 := stageAt(t, st, siteA, schoolA1, "c1", 4, cycle.StagePlan, nil)
	c2 := stageAt(t, st, siteA, schoolA1, "c2", 4, cycle.StagePlan, nil)
	m1 := cycle.MeetingID(siteA, schoolA1, "2025-03-10")
	m2 := cycle.MeetingID(siteA, schoolA1, "2025-03-24")

	first := []cycle.ChildPlan{
		{CycleID: c1, Actions: []cycle.PlanAction{{Domain: "health", ServiceType: "clinic"}}},
		{CycleID: c2, Actions: []cycle.PlanAction{{Domain: "learning", Note: "extra reading"}}},
	}
	steps := []struct {
		name     string
		meeting  string
		plans    []cycle.ChildPlan
		at       time.Time
		wantRows int64
	}{
		{name: "first minutes", meeting: m1, plans: first, at: t0, wantRows: 2},
		{name: "retried minutes", meeting: m1, plans: first, at: t0.Add(time.Hour), wantRows: 2},
		{name: "different plan for the same meeting is ignored", meeting: m1,
			plans: []cycle.ChildPlan{{CycleID: c1, Actions: []cycle.PlanAction{{Domain: "social"}}}}, at: t0.Add(2 * time.Hour), wantRows: 2},
		{name: "no plans", meeting: m1, plans: nil, at: t0, wantRows: 2},
		{name: "next meeting", meeting: m2, plans: []cycle.ChildPlan{{CycleID: c1, Actions: []cycle.PlanAction{{Domain: "social"}}}},
			at: t0.AddDate(0, 0, 14), wantRows: 3},
	}
	for _, s := range steps {
		if err := st.SavePlans(ctx, s.meeting, s.plans, s.at); err != nil {
			t.Fatalf("%s: SavePlans: %v", s.name, err)
		}
		if n := count(t, st, &store.Plan{}, ""); n != s.wantRows {
			t.Errorf("%s: %d plan rows, want %d", s.name, n, s.wantRows)
		}
	}

	d, err := st.Cycle(ctx, c1)
	if err != nil {
		t.Fatalf("Cycle: %v", err)
	}
	want := []struct{ id, meeting, actions string }{
		{m1 + "|" + c1, m1, `[{"domain":"health","service_type":"clinic"}]`},
		{m2 + "|" + c1, m2, `[{"domain":"social"}]`},
	}
	if len(d.Plans) != len(want) {
		t.Fatalf("cycle has %d plans, want %d", len(d.Plans), len(want))
	}
	for i, w := range want {
		p := d.Plans[i]
		if p.ID != w.id || p.MeetingID != w.meeting || p.Actions != w.actions {
			t.Errorf("plans[%d] = %+v, want id %q meeting %q actions %s", i, p, w.id, w.meeting, w.actions)
		}
	}
	if !d.Plans[0].AgreedAt.Equal(t0) {
		t.Errorf("first plan agreed at %v, want the first save's %v", d.Plans[0].AgreedAt, t0)
	}
}

func TestSaveFollowUpOnce(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "c1")
	addWave(t, st, siteA, 1)
	c1 := stageAt(t, st, siteA, schoolA1, "c1", 6, cycle.StageFollowUp, nil)
	saves := []struct {
		rec       cycle.FollowUpRecord
		wantCount int64
	}{
		{rec: cycle.FollowUpRecord{ID: c1 + "/fu/1", CycleID: c1, Note: "visited", RecordedBy: "sw-1", At: t0}, wantCount: 1},
		{rec: cycle.FollowUpRecord{ID: c1 + "/fu/1", CycleID: c1, Note: "changed", RecordedBy: "sw-2", At: t0.Add(time.Hour)}, wantCount: 1},
		{rec: cycle.FollowUpRecord{ID: c1 + "/fu/2", CycleID: c1, Note: "called", RecordedBy: "sw-1", At: t0.Add(24 * time.Hour)}, wantCount: 2},
	}
	for i, s := range saves {
		if err := st.SaveFollowUp(ctx, s.rec); err != nil {
			t.Fatalf("save %d: SaveFollowUp: %v", i, err)
		}
		d, err := st.Cycle(ctx, c1)
		if err != nil {
			t.Fatalf("save %d: Cycle: %v", i, err)
		}
		if d.FollowUps != s.wantCount {
			t.Errorf("save %d: %d follow-ups, want %d", i, d.FollowUps, s.wantCount)
		}
	}
	var fu store.FollowUp
	if err := st.DB(ctx).Where("id = ?", c1+"/fu/1").Take(&fu).Error; err != nil {
		t.Fatalf("reading follow-up: %v", err)
	}
	if fu.Note != "visited" || fu.RecordedBy != "sw-1" {
		t.Errorf("follow-up kept note %q by %q, want the first: visited by sw-1", fu.Note, fu.RecordedBy)
	}
}

// TestLateRetriesDoNotMoveStatusBack replays, after a newer save, an older
// save that a timed-out activity attempt could still commit. RecordStage
// guards the cycle row against this (stage_seq); the other mirrors should not
// move back either.
func TestLateRetriesDoNotMoveStatusBack(t *testing.T) {
	tests := []struct {
		name string
		// run applies the newer save, then the late older one, and returns
		// the stored status and the status the newer save recorded.
		run func(t *testing.T, st *store.Store) (got, want string)
		bug string
	}{
		{name: "referral acknowledged, then a late dispatched", bug: "internal/store/records.go:174 SaveReferral overwrites status with any saved status",
			run: func(t *testing.T, st *store.Store) (string, string) {
				ctx := context.Background()
				addSites(t, st)
				addChildren(t, st, siteA, schoolA1, "c1")
				wave := addWave(t, st, siteA, 1)
				cycleID := stageAt(t, st, siteA, schoolA1, "c1", 5, cycle.StageRefer, nil)
				rec := cycle.ReferralRecord{ReferralID: "r1", CycleID: cycleID, WaveID: wave, SiteID: siteA, SchoolID: schoolA1,
					Domain: "health", ServiceType: "clinic", Status: cycle.ReferralDispatched, At: t0}
				late := rec
				if err := st.SaveReferral(ctx, rec); err != nil {
					t.Fatal(err)
				}
				rec.Status, rec.At = cycle.ReferralAcknowledged, t0.Add(time.Hour)
				if err := st.SaveReferral(ctx, rec); err != nil {
					t.Fatal(err)
				}
				if err := st.SaveReferral(ctx, late); err != nil {
					t.Fatal(err)
				}
				var r store.Referral
				if err := st.DB(ctx).Where("id = ?", "r1").Take(&r).Error; err != nil {
					t.Fatal(err)
				}
				return r.Status, store.ReferralAcknowledged
			}},
		{name: "meeting held, then a late awaiting minutes", bug: "internal/store/records.go:251 SaveMeeting upserts status and held_at unconditionally",
			run: func(t *testing.T, st *store.Store) (string, string) {
				ctx := context.Background()
				rec := cycle.MeetingRecord{MeetingID: "m1", SiteID: siteA, SchoolID: schoolA1, Date: "2025-03-10",
					Status: cycle.MeetingAwaitingMinutes, At: t0}
				late := rec
				if err := st.SaveMeeting(ctx, rec); err != nil {
					t.Fatal(err)
				}
				rec.Status, rec.At = cycle.MeetingHeld, t0.Add(time.Hour)
				if err := st.SaveMeeting(ctx, rec); err != nil {
					t.Fatal(err)
				}
				if err := st.SaveMeeting(ctx, late); err != nil {
					t.Fatal(err)
				}
				m, err := st.Meeting(ctx, "m1")
				if err != nil {
					t.Fatal(err)
				}
				return m.Status, store.MeetingHeld
			}},
		{name: "wave closed, then a late open", bug: "internal/store/records.go:291 SaveWave upserts status unconditionally",
			run: func(t *testing.T, st *store.Store) (string, string) {
				ctx := context.Background()
				addSites(t, st)
				rec := cycle.WaveRecord{WaveID: "wave/alpha/1", SiteID: siteA, Number: 1, WindowOpen: t0, WindowClose: t0.AddDate(0, 0, 14),
					Status: cycle.WaveOpen, CohortSize: 3, At: t0}
				late := rec
				if err := st.SaveWave(ctx, rec); err != nil {
					t.Fatal(err)
				}
				rec.Status, rec.At, rec.Report = cycle.WaveClosed, t0.AddDate(0, 0, 15), []byte(`{}`)
				if err := st.SaveWave(ctx, rec); err != nil {
					t.Fatal(err)
				}
				if err := st.SaveWave(ctx, late); err != nil {
					t.Fatal(err)
				}
				w, err := st.Wave(ctx, "wave/alpha/1")
				if err != nil {
					t.Fatal(err)
				}
				return w.Status, store.WaveClosed
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, want := tt.run(t, newStore(t))
			if got != want {
				t.Fatalf("status after the late save = %q, want %q (%s)", got, want, tt.bug)
			}
		})
	}
}
