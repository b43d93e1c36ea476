package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

// Minutes save the plans, one followed-up row per action (a service
// action is "referred"; the rest open, with the owner and the due date or
// the default four weeks) and the attendance, once however often retried.
// Closing an action happens once; open actions past their due date come
// back as agenda items.
func TestMinutesActionsAndAttendance(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "c1", "c2")
	addWave(t, st, siteA, 1)
	c1 := stageAt(t, st, siteA, schoolA1, "c1", 4, cycle.StagePlan, nil)
	c2 := stageAt(t, st, siteA, schoolA1, "c2", 4, cycle.StagePlan, nil)
	meeting := cycle.MeetingID(siteA, schoolA1, "2025-03-10")
	if err := st.SaveMeeting(ctx, cycle.MeetingRecord{MeetingID: meeting, SiteID: siteA, SchoolID: schoolA1, Date: "2025-03-10",
		Status: cycle.MeetingAwaitingMinutes, At: t0}); err != nil {
		t.Fatal(err)
	}
	plans := []cycle.ChildPlan{
		{CycleID: c1, Actions: []cycle.PlanAction{
			{Domain: "health", ServiceType: "clinic", Owner: "Nurse"},
			{Domain: "education", Note: "reading support", Owner: "Grade R teacher", Due: "2025-03-20"},
		}},
		{CycleID: c2, Actions: []cycle.PlanAction{{Domain: "caregiver", Note: "home visit"}}},
	}
	att := map[string]int{cycle.SectorHealth: 1, cycle.SectorEducation: 2, cycle.SectorParents: 4}
	for i := 0; i < 2; i++ { // the second save is a retry
		if err := st.SaveMinutes(ctx, meeting, plans, att, t0); err != nil {
			t.Fatalf("SaveMinutes (try %d): %v", i+1, err)
		}
	}
	if n := count(t, st, &store.PlanActionRow{}, ""); n != 3 {
		t.Fatalf("%d action rows, want 3", n)
	}
	rows, err := st.PlanActions(ctx, store.ActionFilter{SiteID: siteA})
	if err != nil {
		t.Fatal(err)
	}
	byDomain := map[string]store.PlanActionRow{}
	for _, r := range rows {
		byDomain[r.Domain] = r
	}
	defaultDue := t0.Add(cycle.DefaultActionDue).Format(time.DateOnly)
	for _, tt := range []struct {
		domain, status, owner, due, sector string
	}{
		{"health", cycle.ActionReferred, "Nurse", defaultDue, cycle.SectorHealth},
		{"education", cycle.ActionOpen, "Grade R teacher", "2025-03-20", ""},
		{"caregiver", cycle.ActionOpen, "", defaultDue, ""},
	} {
		r := byDomain[tt.domain]
		if r.Status != tt.status || r.Owner != tt.owner || r.DueOn != tt.due || r.Sector != tt.sector || r.WaveID != cycle.WaveID(siteA, 1) || r.SchoolID != schoolA1 {
			t.Errorf("%s action = %+v, want status %s owner %q due %s sector %q", tt.domain, r, tt.status, tt.owner, tt.due, tt.sector)
		}
	}
	m, err := st.Meeting(ctx, meeting)
	if err != nil {
		t.Fatal(err)
	}
	got, err := store.MeetingAttendance(m)
	if err != nil || got[cycle.SectorParents] != 4 || got[cycle.SectorEducation] != 2 || len(got) != 3 {
		t.Errorf("attendance = %v (%v), want %v", got, err, att)
	}

	// On 2025-03-21 the reading support (due 20 March) is overdue; the home
	// visit (due 7 April) is not; the referral is followed by its referral.
	items, err := st.OverdueActionItems(ctx, siteA, schoolA1, time.Date(2025, 3, 21, 9, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	reading := byDomain["education"]
	if len(items) != 1 || items[0].ActionID != reading.ID || items[0].Reason != cycle.AgendaOverdueAction || items[0].ChildID != "c1" {
		t.Fatalf("overdue items = %+v, want the reading support of c1", items)
	}
	if _, err := st.CloseAction(ctx, reading.ID, cycle.ActionDone, "teacher", t0.AddDate(0, 0, 12)); err != nil {
		t.Fatalf("CloseAction: %v", err)
	}
	if _, err := st.CloseAction(ctx, reading.ID, cycle.ActionDropped, "teacher", t0.AddDate(0, 0, 13)); !errors.Is(err, store.ErrActionClosed) {
		t.Errorf("closing twice: %v, want ErrActionClosed", err)
	}
	if _, err := st.CloseAction(ctx, byDomain["health"].ID, cycle.ActionDone, "nurse", t0); !errors.Is(err, store.ErrActionReferred) {
		t.Errorf("closing a referral action: %v, want ErrActionReferred", err)
	}
	if _, err := st.CloseAction(ctx, "pa-nope", cycle.ActionDone, "x", t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("closing an unknown action: %v, want ErrNotFound", err)
	}
	items, err = st.OverdueActionItems(ctx, siteA, schoolA1, time.Date(2025, 3, 21, 9, 0, 0, 0, time.UTC))
	if err != nil || len(items) != 0 {
		t.Errorf("overdue after closing = %+v (%v), want none", items, err)
	}

	// The CoP dashboard's rows: the wave, the meeting with its attendance,
	// the two cycles and the three actions.
	rowsCoP, err := st.CoPData(ctx, siteA)
	if err != nil {
		t.Fatal(err)
	}
	if len(rowsCoP.Waves) != 1 || len(rowsCoP.Meetings) != 1 || rowsCoP.Meetings[0].Attendance == "" || len(rowsCoP.Cycles) != 2 || len(rowsCoP.Actions) != 3 {
		t.Errorf("CoP rows: %d waves, %d meetings, %d cycles, %d actions", len(rowsCoP.Waves), len(rowsCoP.Meetings), len(rowsCoP.Cycles), len(rowsCoP.Actions))
	}
	for _, c := range rowsCoP.Cycles {
		if c.PlanAt == nil || !c.PlanAt.Equal(t0) || c.Wave != 1 {
			t.Errorf("cycle %+v: want wave 1 planned at %v", c, t0)
		}
	}
}
