package workflows

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/workflow"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/messages"
)

func meetingInput() cycle.MeetingInput {
	return cycle.MeetingInput{SiteID: "johannesburg", SchoolID: "meadowlands", Date: "2026-08-13", MinutesAfter: 7 * day, ServiceTypes: []string{"clinic", "sassa"}}
}

var agenda = []cycle.AgendaItem{
	{CycleID: "cycle/johannesburg/3/c-0001", ChildID: "c-0001", Reason: cycle.AgendaAwaitingPlan, Domains: map[string]string{"material": "high", "health": "low"}},
	{CycleID: "cycle/johannesburg/3/c-0002", ChildID: "c-0002", Reason: cycle.AgendaAwaitingPlan, Domains: map[string]string{"health": "moderate"}},
	{CycleID: "cycle/johannesburg/3/c-0003", ChildID: "c-0003", Reason: cycle.AgendaOverdueReferral},
}

func TestMeetingMinutesSignalPlansAndRollOverTheRest(t *testing.T) {
	f := newFixture(t)
	f.env.OnActivity(a.BuildAgenda, mock.Anything, mock.Anything).Return(agenda, nil)
	var statuses []string
	f.env.OnActivity(a.SaveMeeting, mock.Anything, mock.Anything).Return(func(_ context.Context, r cycle.MeetingRecord) error { return nil }).Maybe()
	f.env.OnActivity(a.SaveMinutes, mock.Anything, mock.Anything).Return(nil).Once()
	plan := cycle.PlanSignal{MeetingID: "default-test-workflow-id", Actions: []cycle.PlanAction{{Domain: "material", ServiceType: "sassa"}}}
	f.env.OnSignalExternalWorkflow(mock.Anything, "cycle/johannesburg/3/c-0001", "", cycle.SignalPlanAgreed, plan).Return(nil).Once()

	bad := f.referralUpdate(day, cycle.UpdateSubmitMinutes, cycle.MinutesInput{RecordedBy: "sw", Plans: []cycle.ChildPlan{
		{CycleID: "cycle/johannesburg/3/c-0003", Actions: []cycle.PlanAction{{Domain: "health"}}},                   // overdue referral, not awaiting a plan
		{CycleID: "cycle/johannesburg/3/c-0001", Actions: []cycle.PlanAction{{Domain: "wealth", ServiceType: "x"}}}, // unknown domain and service
		{CycleID: "cycle/johannesburg/3/c-0001"},                                                                    // duplicate, no actions
	}})
	good := f.referralUpdate(2*day, cycle.UpdateSubmitMinutes, cycle.MinutesInput{RecordedBy: "sw", Plans: []cycle.ChildPlan{
		{CycleID: "cycle/johannesburg/3/c-0001", Actions: plan.Actions},
	}})
	again := f.referralUpdate(2*day, cycle.UpdateSubmitMinutes, cycle.MinutesInput{RecordedBy: "sw", Plans: []cycle.ChildPlan{
		{CycleID: "cycle/johannesburg/3/c-0002", Actions: []cycle.PlanAction{{Domain: "health", ServiceType: "clinic"}}},
	}})
	_ = statuses
	f.env.ExecuteWorkflow(MeetingWorkflowName, meetingInput())

	fe := fieldErrors(t, bad.rejected)
	var fields []string
	for _, e := range fe {
		fields = append(fields, e.Field)
	}
	want := []string{"plans[0].cycle_id", "plans[1].actions[0].domain", "plans[1].actions[0].service_type", "plans[2].cycle_id", "plans[2].actions"}
	if !slices.Equal(fields, want) {
		t.Errorf("field errors = %v, want %v", fields, want)
	}
	if !good.accepted || good.err != nil {
		t.Fatalf("good minutes: %+v %v", good, good.rejected)
	}
	if errType(again.rejected) != cycle.ErrTypeConflict && errType(again.err) != cycle.ErrTypeConflict {
		t.Errorf("second minutes at the same instant: rejected %v, err %v", again.rejected, again.err)
	}
	var res cycle.MinutesResult
	if err := f.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Planned != 1 || !slices.Equal(res.RolledOver, []string{"cycle/johannesburg/3/c-0002", "cycle/johannesburg/3/c-0003"}) {
		t.Errorf("result = %+v", res)
	}
	if got := f.templates(activities.ToLLCoP); !slices.Equal(got, []string{messages.MeetingAgenda}) {
		t.Errorf("notifications = %v", got)
	}
	f.env.AssertExpectations(t)
}

// TestMinutesBeforeTheAgendaIsReadyAreRefusedAsAConflict: the agenda row
// reaches the work lists while BuildAgenda runs, so minutes can arrive
// before the workflow holds the agenda; they are refused as "try again",
// not as field errors, and minutes after that are accepted.
func TestMinutesBeforeTheAgendaIsReadyAreRefusedAsAConflict(t *testing.T) {
	f := newFixture(t)
	f.env.OnActivity(a.BuildAgenda, mock.Anything, mock.Anything).Return(agenda, nil).After(time.Hour)
	f.env.OnActivity(a.SaveMeeting, mock.Anything, mock.Anything).Return(nil).Maybe()
	f.env.OnActivity(a.SaveMinutes, mock.Anything, mock.Anything).Return(nil).Once()
	both := []cycle.ChildPlan{
		{CycleID: "cycle/johannesburg/3/c-0001", Actions: []cycle.PlanAction{{Domain: "material", ServiceType: "sassa"}}},
		{CycleID: "cycle/johannesburg/3/c-0002", Actions: []cycle.PlanAction{{Domain: "health", ServiceType: "clinic"}}},
	}
	for _, p := range both {
		f.env.OnSignalExternalWorkflow(mock.Anything, p.CycleID, "", cycle.SignalPlanAgreed, cycle.PlanSignal{MeetingID: "default-test-workflow-id", Actions: p.Actions}).Return(nil).Once()
	}
	early := f.referralUpdate(time.Minute, cycle.UpdateSubmitMinutes, cycle.MinutesInput{RecordedBy: "sw", Plans: both})
	later := f.referralUpdate(day, cycle.UpdateSubmitMinutes, cycle.MinutesInput{RecordedBy: "sw", Plans: both})
	f.env.ExecuteWorkflow(MeetingWorkflowName, meetingInput())

	if errType(early.rejected) != cycle.ErrTypeConflict || !strings.Contains(early.rejected.Error(), "still being prepared") {
		t.Errorf("minutes before the agenda: rejected %v, accepted %v", early.rejected, early.accepted)
	}
	if !later.accepted || later.err != nil {
		t.Fatalf("minutes after the agenda: %+v %v", later, later.rejected)
	}
	var res cycle.MinutesResult
	if err := f.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Planned != 2 || !slices.Equal(res.RolledOver, []string{"cycle/johannesburg/3/c-0003"}) {
		t.Errorf("result = %+v", res)
	}
	f.env.AssertExpectations(t) // both plans delivered
}

func TestMeetingWithoutMinutesRollsEveryoneOver(t *testing.T) {
	f := newFixture(t)
	f.env.OnActivity(a.BuildAgenda, mock.Anything, mock.Anything).Return(agenda[:2], nil)
	var last cycle.MeetingRecord
	f.env.OnActivity(a.SaveMeeting, mock.Anything, mock.Anything).Return(func(_ context.Context, r cycle.MeetingRecord) error { last = r; return nil })
	f.env.ExecuteWorkflow(MeetingWorkflowName, meetingInput())
	var res cycle.MinutesResult
	if err := f.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if len(res.RolledOver) != 2 || last.Status != cycle.MeetingMinutesMissing {
		t.Errorf("result = %+v, last status %q", res, last.Status)
	}
	if got := f.templates(activities.ToCoordinator); !slices.Equal(got, []string{messages.MinutesMissing}) {
		t.Errorf("coordinator notifications = %v", got)
	}
	if f.env.Now().Sub(startTime) != 7*day {
		t.Errorf("closed after %s", f.env.Now().Sub(startTime))
	}
}

func TestMeetingWithEmptyAgendaEndsAtOnce(t *testing.T) {
	f := newFixture(t)
	f.env.OnActivity(a.BuildAgenda, mock.Anything, mock.Anything).Return([]cycle.AgendaItem{}, nil)
	var last cycle.MeetingRecord
	f.env.OnActivity(a.SaveMeeting, mock.Anything, mock.Anything).Return(func(_ context.Context, r cycle.MeetingRecord) error { last = r; return nil })
	f.env.ExecuteWorkflow(MeetingWorkflowName, meetingInput())
	if err := f.env.GetWorkflowError(); err != nil || last.Status != cycle.MeetingNoAgenda {
		t.Fatalf("err %v, status %q", err, last.Status)
	}
	if f.env.Now().Sub(startTime) > time.Minute || len(f.notified) != 0 {
		t.Errorf("an empty meeting waited or notified: %s %v", f.env.Now().Sub(startTime), f.notified)
	}
}

func TestConcernPlanForAClosedCycleIsReferredByTheMeeting(t *testing.T) {
	f := newFixture(t)
	concern := []cycle.AgendaItem{
		{CycleID: "cycle/johannesburg/3/c-0007", ChildID: "c-0007", Reason: cycle.AgendaConcern, Domains: map[string]string{"education": "low"}},
		{CycleID: "cycle/johannesburg/3/c-0008", ChildID: "c-0008", Reason: cycle.AgendaAwaitingPlan,
			Domains: map[string]string{"health": "not_assessed", "material": "low"}, Missing: []string{"nurse"}, Unassessed: []string{"health"}},
	}
	f.env.OnActivity(a.BuildAgenda, mock.Anything, mock.Anything).Return(concern, nil)
	f.env.OnActivity(a.SaveMeeting, mock.Anything, mock.Anything).Return(nil).Maybe()
	f.env.OnActivity(a.SaveMinutes, mock.Anything, mock.Anything).Return(nil).Once()
	// The low-risk child's cycle has closed: the signal cannot be delivered.
	f.env.OnSignalExternalWorkflow(mock.Anything, "cycle/johannesburg/3/c-0007", "", cycle.SignalPlanAgreed, mock.Anything).
		Return(errors.New("workflow execution already completed")).Once()
	f.env.OnSignalExternalWorkflow(mock.Anything, "cycle/johannesburg/3/c-0008", "", cycle.SignalPlanAgreed, mock.Anything).Return(nil).Once()
	f.env.OnActivity(a.PlanConcernReferrals, mock.Anything, mock.Anything).
		Return(activities.ConcernReferralOutput{NextK: 3, AckSLA: 5 * day, SLA: 30 * day}, nil).Once()
	var referred []cycle.ReferralInput
	f.env.OnWorkflow(ReferralWorkflowName, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in cycle.ReferralInput) (cycle.ReferralResult, error) {
		referred = append(referred, in)
		return cycle.ReferralResult{ReferralID: in.ReferralID, Outcome: cycle.ReferralCompleted}, nil
	})
	in := meetingInput()
	in.ServiceTypes = append(in.ServiceTypes, "learning_support")
	bad := f.referralUpdate(day, cycle.UpdateSubmitMinutes, cycle.MinutesInput{RecordedBy: "sw", Plans: []cycle.ChildPlan{
		{CycleID: "cycle/johannesburg/3/c-0008", Actions: []cycle.PlanAction{{Kind: cycle.ActionCompleteAssessment, Respondents: []string{"teacher"}}, {Domain: "health", Kind: "guess"}}},
	}})
	good := f.referralUpdate(2*day, cycle.UpdateSubmitMinutes, cycle.MinutesInput{RecordedBy: "sw", Plans: []cycle.ChildPlan{
		{CycleID: "cycle/johannesburg/3/c-0007", Actions: []cycle.PlanAction{{Domain: "education", ServiceType: "learning_support", Note: "struggles to read"}}},
		{CycleID: "cycle/johannesburg/3/c-0008", Actions: []cycle.PlanAction{{Kind: cycle.ActionCompleteAssessment, Owner: "school nurse", Respondents: []string{"nurse"}}}},
	}})
	f.env.ExecuteWorkflow(MeetingWorkflowName, in)

	var fields []string
	for _, e := range fieldErrors(t, bad.rejected) {
		fields = append(fields, e.Field)
	}
	if want := []string{"plans[0].actions[0].respondents[0]", "plans[0].actions[1].kind"}; !slices.Equal(fields, want) {
		t.Errorf("field errors = %v, want %v", fields, want)
	}
	if !good.accepted || good.err != nil {
		t.Fatalf("minutes: %+v (%v)", good, good.rejected)
	}
	if len(referred) != 1 {
		t.Fatalf("referrals = %+v, want the concern plan's learning support referral", referred)
	}
	r := referred[0]
	if r.ReferralID != "referral/johannesburg/3/c-0007/3" || r.ServiceType != "learning_support" || r.Urgent || r.SLA != 30*day {
		t.Errorf("referral = %+v", r)
	}
	f.env.AssertExpectations(t)
}
