package workflows

import (
	"context"
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

const day = 24 * time.Hour

func low() activities.ScoreOutput {
	return activities.ScoreOutput{Risk: cycle.RiskLow, Domains: map[string]string{
		"health": "low", "nutrition": "low", "material": "low", "education": "low", "protection": "low", "psychosocial": "low", "caregiver": "low"}}
}

func TestAllLowRiskChildClosesWithoutPlan(t *testing.T) {
	f := newFixture(t)
	f.consent(true)
	f.scores(low())
	f.submitAll(day, cycle.PhaseBaseline, respondents...)
	f.env.ExecuteWorkflow(CycleWorkflowName, cycleInput())

	res := f.result()
	if res.Outcome != cycle.OutcomeLowRisk {
		t.Fatalf("outcome = %q, want %q", res.Outcome, cycle.OutcomeLowRisk)
	}
	if want := []string{"enrol", "assess", "score", "closed"}; !slices.Equal(f.stages, want) {
		t.Fatalf("stages = %v, want %v", f.stages, want)
	}
	for _, r := range respondents {
		if f.saved["baseline/"+r] != 1 {
			t.Errorf("%s form saved %d times, want 1", r, f.saved["baseline/"+r])
		}
	}
	if got := f.templates(""); len(got) != 0 {
		t.Errorf("a low-risk child who answered on day 1 got notifications %v", got)
	}
}

// newAtRiskFixture is a consented child whose baseline forms score high
// risk in material and moderate risk in education (the rest low), and
// whose reassessment scores as given.
func newAtRiskFixture(t *testing.T, reassessment activities.ScoreOutput) *fixture {
	f := newFixture(t)
	f.consent(true)
	baseline := low()
	baseline.Risk = cycle.RiskHigh
	baseline.Domains["material"] = cycle.RiskHigh
	baseline.Domains["education"] = cycle.RiskModerate
	f.scores(baseline, reassessment)
	return f
}

func TestAtRiskChildThroughPlanReferralsAndReassessment(t *testing.T) {
	re := low()
	re.Changes = map[string]string{"material": "improved", "education": "unchanged", "health": "unchanged"}
	f := newAtRiskFixture(t, re)

	var referrals []cycle.ReferralInput
	f.env.OnWorkflow(ReferralWorkflowName, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in cycle.ReferralInput) (cycle.ReferralResult, error) {
		referrals = append(referrals, in)
		return cycle.ReferralResult{ReferralID: in.ReferralID, Outcome: cycle.ReferralCompleted}, nil
	})
	f.submitAll(day, cycle.PhaseBaseline, respondents...)
	// The meeting agrees a plan on day 10: a SASSA referral, and support in
	// school that needs no referral.
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(cycle.SignalPlanAgreed, cycle.PlanSignal{MeetingID: "meeting/johannesburg/meadowlands/2026-08-13", Actions: []cycle.PlanAction{
			{Domain: "material", ServiceType: "sassa"},
			{Domain: "education", Note: "reading support in class"},
		}})
	}, 10*day)
	// A second plan for the same child (a second meeting) is ignored.
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(cycle.SignalPlanAgreed, cycle.PlanSignal{MeetingID: "meeting/x", Actions: []cycle.PlanAction{{Domain: "material", ServiceType: "clinic"}}})
	}, 11*day)
	// Reassessment: the plan came on day 10, so forms are due from day 100.
	f.submitAll(101*day, cycle.PhaseReassessment, "caregiver", "teacher")
	f.env.ExecuteWorkflow(CycleWorkflowName, cycleInput())

	res := f.result()
	if res.Outcome != cycle.OutcomeCompleted {
		t.Fatalf("outcome = %q, want completed", res.Outcome)
	}
	want := []string{"enrol", "assess", "score", "plan", "refer", "follow_up", "reassess", "closed"}
	if !slices.Equal(f.stages, want) {
		t.Fatalf("stages = %v, want %v", f.stages, want)
	}
	if len(referrals) != 1 || referrals[0].ServiceType != "sassa" || referrals[0].Urgent {
		t.Fatalf("referrals = %+v, want one routine sassa referral", referrals)
	}
	if got := referrals[0].ReferralID; got != "referral/johannesburg/3/c-0001/1" {
		t.Errorf("referral ID = %q", got)
	}
	// Only the at-risk domains are compared.
	if len(res.Changes) != 2 || res.Changes["material"] != "improved" || res.Changes["education"] != "unchanged" {
		t.Errorf("changes = %v", res.Changes)
	}
	if f.saved["reassessment/caregiver"] != 1 || f.saved["reassessment/teacher"] != 1 {
		t.Errorf("reassessment forms saved: %v", f.saved)
	}
	if !slices.Contains(f.templates(activities.ToLLCoP), messages.ReassessmentDue) {
		t.Errorf("no reassessment notice: %v", f.templates(""))
	}
}

func TestRedFlagTakesTheSafeguardingFastPath(t *testing.T) {
	f := newFixture(t)
	f.consent(true)
	out := low()
	out.Risk = cycle.RiskHigh
	out.Domains["protection"] = cycle.RiskHigh
	out.Flags = []string{"protection.disclosure"}
	f.scores(out)

	var urgentAt time.Time
	var urgent cycle.ReferralInput
	f.env.OnWorkflow(ReferralWorkflowName, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in cycle.ReferralInput) (cycle.ReferralResult, error) {
		urgent, urgentAt = in, f.env.Now()
		return cycle.ReferralResult{ReferralID: in.ReferralID, Outcome: cycle.ReferralCompleted}, nil
	})
	f.submitAll(day, cycle.PhaseBaseline, respondents...)
	// Nobody holds a meeting: the test ends once the urgent path has run and
	// the plan is escalated.
	f.env.RegisterDelayedCallback(func() { f.env.CancelWorkflow() }, 30*day)
	f.env.ExecuteWorkflow(CycleWorkflowName, cycleInput())

	if !urgent.Urgent || urgent.ServiceType != "social_development" || urgent.Domain != "protection" {
		t.Fatalf("urgent referral = %+v", urgent)
	}
	if urgent.ReferralID != "referral/johannesburg/3/c-0001/0" || urgent.AckSLA != testTiming.UrgentReferralSLA {
		t.Errorf("urgent referral id/sla = %s %s", urgent.ReferralID, urgent.AckSLA)
	}
	// Forms arrive within 3 minutes of day 1; the referral starts at once, not at a meeting.
	if urgentAt.Sub(startTime) > day+time.Hour {
		t.Errorf("urgent referral made at %s, more than an hour after the forms", urgentAt.Sub(startTime))
	}
	if got := f.templates(activities.ToSafeguarding); !slices.Equal(got, []string{messages.SafeguardingAlert}) {
		t.Errorf("safeguarding notifications = %v", got)
	}
	if !slices.Contains(f.stages, cycle.StagePlan) {
		t.Errorf("a protection red flag must still put the child on the agenda: %v", f.stages)
	}
	if got := f.templates(activities.ToCoordinator); !slices.Contains(got, messages.PlanOverdue) {
		t.Errorf("no escalation when the plan was overdue: %v", got)
	}
}

func TestMissingConsentNeverGetsPastEnrol(t *testing.T) {
	f := newFixture(t)
	f.consent(false)
	late := f.submit(time.Hour, cycle.PhaseBaseline, "caregiver", cycle.Answers{"x": 1.0})
	f.env.ExecuteWorkflow(CycleWorkflowName, cycleInput())

	res := f.result()
	if res.Outcome != cycle.OutcomeNoConsent {
		t.Fatalf("outcome = %q", res.Outcome)
	}
	if want := []string{"enrol", "closed"}; !slices.Equal(f.stages, want) {
		t.Fatalf("stages = %v, want %v", f.stages, want)
	}
	if len(f.saved) != 0 {
		t.Fatalf("answers were saved for a child without consent: %v", f.saved)
	}
	_ = late // the update arrives after the workflow closed; the engine refuses it.
}

func TestAnswersRejectedWhileWaitingForConsentCheck(t *testing.T) {
	f := newFixture(t)
	// An update sent during enrol (before the consent check returns) is rejected.
	f.env.OnActivity(a.CheckEnrolment, mock.Anything, mock.Anything).After(time.Hour).Return(cycle.Enrolment{Found: true}, nil)
	early := f.submit(time.Minute, cycle.PhaseBaseline, "caregiver", cycle.Answers{"x": 1.0})
	f.env.ExecuteWorkflow(CycleWorkflowName, cycleInput())
	if early.rejected == nil || errType(early.rejected) != cycle.ErrTypeConflict {
		t.Fatalf("an answer during enrol was not rejected as a conflict: %+v", early)
	}
	if len(f.saved) != 0 {
		t.Fatalf("answers saved: %v", f.saved)
	}
}

func TestBadAnswersAreRejectedWithFieldErrorsAndNothingRecorded(t *testing.T) {
	f := newFixture(t)
	f.consent(true)
	f.scores(low())
	bad := f.submit(day, cycle.PhaseBaseline, "caregiver", cycle.Answers{"bad": 1.0, "sdq01": 7.0})
	wrongWho := f.submit(day+time.Minute, cycle.PhaseBaseline, "uncle", cycle.Answers{"x": 1.0})
	wrongPhase := f.submit(day+2*time.Minute, cycle.PhaseReassessment, "caregiver", cycle.Answers{"x": 1.0})
	good := f.submit(2*day, cycle.PhaseBaseline, "caregiver", cycle.Answers{"x": 1.0})
	twice := f.submit(3*day, cycle.PhaseBaseline, "caregiver", cycle.Answers{"x": 1.0})
	f.submitAll(4*day, cycle.PhaseBaseline, "child", "teacher", "nurse")
	f.env.ExecuteWorkflow(CycleWorkflowName, cycleInput())

	if bad.accepted || bad.rejected == nil {
		t.Fatalf("bad answers were accepted: %+v", bad)
	}
	fe := fieldErrors(t, bad.rejected)
	if len(fe) != 2 || fe[0].Field != "answers.bad" || fe[1].Field != "answers.sdq01" {
		t.Errorf("field errors = %+v, want both listed", fe)
	}
	if errType(wrongWho.rejected) != cycle.ErrTypeInvalidInput {
		t.Errorf("unknown respondent: %v", wrongWho.rejected)
	}
	if errType(wrongPhase.rejected) != cycle.ErrTypeConflict {
		t.Errorf("reassessment during baseline: %v", wrongPhase.rejected)
	}
	if !good.accepted || good.err != nil {
		t.Fatalf("good answers: %+v", good)
	}
	if errType(twice.rejected) != cycle.ErrTypeConflict || !strings.Contains(twice.rejected.Error(), "already submitted") {
		t.Errorf("second caregiver form: %v", twice.rejected)
	}
	if f.saved["baseline/caregiver"] != 1 {
		t.Errorf("caregiver form saved %d times, want exactly 1", f.saved["baseline/caregiver"])
	}
	if f.result().Outcome != cycle.OutcomeLowRisk {
		t.Error("cycle did not finish")
	}
}

// TestRemindersAreBounded: a window far longer than the reminder interval
// sends at most MaxReminders form reminders, so the history stays small.
func TestRemindersAreBounded(t *testing.T) {
	f := newFixture(t)
	f.consent(true)
	f.scores(low())
	f.submitAll(day, cycle.PhaseBaseline, "caregiver", "teacher")
	in := cycleInput()
	in.WindowClose = startTime.Add(365 * day) // weekly reminders would be 52
	f.env.ExecuteWorkflow(CycleWorkflowName, in)
	if got := f.result().Outcome; got != cycle.OutcomeLowRisk {
		t.Fatalf("outcome = %q", got)
	}
	if got := f.templates(activities.ToLLCoP); len(got) != MaxReminders {
		t.Errorf("%d reminders, want %d: %v", len(got), MaxReminders, got)
	}
	if f.env.Now().Sub(startTime) < 365*day {
		t.Errorf("scored before the window closed (%s): the bound must stop reminders, not the wait", f.env.Now().Sub(startTime))
	}
}

// TestFollowUpRemindersAreBounded: a referral that stays open for a year
// asks for at most MaxReminders check-ins, and the cycle still waits for it.
func TestFollowUpRemindersAreBounded(t *testing.T) {
	f := newFixture(t)
	f.consent(true)
	at := low()
	at.Risk = cycle.RiskModerate
	at.Domains["health"] = cycle.RiskModerate
	f.scores(at, low())
	f.env.OnActivity(a.DispatchReferral, mock.Anything, mock.Anything).Return(activities.DispatchOutput{ServiceID: "clinic-meadowlands", DispatchRef: "r1"}, nil)
	f.env.OnActivity(a.SaveReferral, mock.Anything, mock.Anything).Return(nil)
	f.submitAll(day, cycle.PhaseBaseline, respondents...)
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(cycle.SignalPlanAgreed, cycle.PlanSignal{MeetingID: "m", Actions: []cycle.PlanAction{{Domain: "health", ServiceType: "clinic"}}})
	}, 5*day)
	in := cycleInput()
	in.Timing.ReferralSLA = 183 * day // unreachable after 366 days: 26 check-ins at 14 days
	f.env.ExecuteWorkflow(CycleWorkflowName, in)

	res := f.result()
	if len(res.Referral) != 1 || res.Referral[0].Outcome != cycle.ReferralUnreachable {
		t.Fatalf("referrals = %+v, want one closed as unreachable", res.Referral)
	}
	if ran := f.env.Now().Sub(startTime); ran < 371*day {
		t.Errorf("the cycle finished after %s, before the referral closed", ran)
	}
	n := 0
	for _, tpl := range f.templates(activities.ToSocialWorker) {
		if tpl == messages.FollowUpDue {
			n++
		}
	}
	if n != MaxReminders {
		t.Errorf("%d follow-up reminders, want %d (%v)", n, MaxReminders, f.templates(""))
	}
}

func TestWindowClosesWithFormsMissing(t *testing.T) {
	t.Run("some forms: scored without the rest", func(t *testing.T) {
		f := newFixture(t)
		f.consent(true)
		f.scores(low())
		f.submitAll(day, cycle.PhaseBaseline, "caregiver", "teacher")
		f.env.ExecuteWorkflow(CycleWorkflowName, cycleInput())
		if got := f.result().Outcome; got != cycle.OutcomeLowRisk {
			t.Fatalf("outcome = %q", got)
		}
		// Reminders went out weekly while child and nurse forms were missing:
		// days 7, 14, 21, 28, 35 (day 42 is the close itself).
		if got := f.templates(activities.ToLLCoP); len(got) != 5 || got[0] != messages.AssessmentReminder {
			t.Errorf("reminders = %v, want 5 assessment reminders", got)
		}
		if f.env.Now().Sub(startTime) < 42*day {
			t.Errorf("scored before the window closed (%s)", f.env.Now().Sub(startTime))
		}
	})
	t.Run("no form: not assessed", func(t *testing.T) {
		f := newFixture(t)
		f.consent(true)
		f.env.ExecuteWorkflow(CycleWorkflowName, cycleInput())
		if got := f.result().Outcome; got != cycle.OutcomeNotAssessed {
			t.Fatalf("outcome = %q", got)
		}
		if want := []string{"enrol", "assess", "closed"}; !slices.Equal(f.stages, want) {
			t.Fatalf("stages = %v", f.stages)
		}
	})
}

// TestFollowUpsAreRecordedOnlyWhileReferralsAreOpen runs the real
// ReferralWorkflow as the cycle's child, with its activities mocked: the
// service never acknowledges, the outcome comes on day 45, past the SLA.
func TestCheckInsAreRecordedFromScoringUntilTheCycleCloses(t *testing.T) {
	f := newFixture(t)
	f.consent(true)
	at := low()
	at.Risk = cycle.RiskModerate
	at.Domains["health"] = cycle.RiskModerate
	f.scores(at, low())
	var saved []cycle.ReferralRecord
	f.env.OnActivity(a.DispatchReferral, mock.Anything, mock.Anything).Return(activities.DispatchOutput{ServiceID: "clinic-meadowlands", DispatchRef: "r1"}, nil)
	f.env.OnActivity(a.SaveReferral, mock.Anything, mock.Anything).Return(func(_ context.Context, r cycle.ReferralRecord) error {
		saved = append(saved, r)
		return nil
	})
	f.submitAll(day, cycle.PhaseBaseline, respondents...)
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(cycle.SignalPlanAgreed, cycle.PlanSignal{MeetingID: "m", Actions: []cycle.PlanAction{{Domain: "health", ServiceType: "clinic"}}})
	}, 5*day)
	var early, planning, ok, empty, outcome updateOutcome
	followUp := func(out *updateOutcome, delay time.Duration, note string) {
		f.env.RegisterDelayedCallback(func() {
			f.env.UpdateWorkflow(cycle.UpdateRecordFollowUp, "fu-"+delay.String(), &testsuiteCallback{out}, cycle.FollowUpInput{Note: note, RecordedBy: "sw"})
		}, delay)
	}
	followUp(&early, 12*time.Hour, "too early: not scored yet")
	followUp(&planning, 2*day, "visited while awaiting the plan")
	followUp(&ok, 20*day, "called the clinic")
	followUp(&empty, 21*day, " ")
	f.env.RegisterDelayedCallback(func() {
		err := f.env.UpdateWorkflowByID("referral/johannesburg/3/c-0001/1", cycle.UpdateReferralOutcome, "outcome", &testsuiteCallback{&outcome},
			cycle.ReferralOutcomeInput{Outcome: cycle.ReferralCompleted, By: "clinic"})
		if err != nil {
			t.Errorf("outcome update: %v", err)
		}
	}, 45*day)
	f.submitAll(100*day, cycle.PhaseReassessment, "nurse")
	f.env.ExecuteWorkflow(CycleWorkflowName, cycleInput())

	if errType(early.rejected) != cycle.ErrTypeConflict {
		t.Errorf("check-in before scoring: %v", early.rejected)
	}
	if planning.err != nil || !planning.accepted {
		t.Errorf("check-in while awaiting the plan: %+v (%v)", planning, planning.rejected)
	}
	if ok.err != nil || !ok.accepted {
		t.Errorf("follow-up during referrals: %+v (%v)", ok, ok.rejected)
	}
	if fe := fieldErrors(t, empty.rejected); fe[0].Field != "note" {
		t.Errorf("empty note: %+v", fe)
	}
	if !outcome.accepted {
		t.Errorf("referral outcome rejected: %v", outcome.rejected)
	}
	res := f.result()
	if res.Outcome != cycle.OutcomeCompleted {
		t.Errorf("outcome = %q", res.Outcome)
	}
	if len(res.Referral) != 1 || res.Referral[0].Outcome != cycle.ReferralCompleted || !res.Referral[0].Overdue {
		t.Errorf("referral results = %+v, want one completed and overdue", res.Referral)
	}
	// Follow-up reminders every 14 days from day 5 while the referral was open: days 19 and 33.
	n := 0
	for _, tpl := range f.templates(activities.ToSocialWorker) {
		if tpl == messages.FollowUpDue {
			n++
		}
	}
	if n != 2 {
		t.Errorf("follow-up reminders = %d, want 2 (%v)", n, f.templates(""))
	}
	for _, want := range []string{messages.ReferralAckOverdue, messages.ReferralOverdue} {
		if !slices.Contains(f.templates(""), want) {
			t.Errorf("no %s notification: %v", want, f.templates(""))
		}
	}
	last := saved[len(saved)-1]
	if last.Status != cycle.ReferralCompleted || !last.Overdue || last.DueAt == nil {
		t.Errorf("last referral record = %+v", last)
	}
}

func TestCycleQueryShowsStage(t *testing.T) {
	f := newFixture(t)
	f.consent(true)
	f.scores(low())
	var st cycle.CycleStatus
	f.env.RegisterDelayedCallback(func() {
		v, err := f.env.QueryWorkflow(cycle.QueryCycle)
		if err != nil {
			t.Errorf("query: %v", err)
			return
		}
		if err := v.Get(&st); err != nil {
			t.Error(err)
		}
	}, 2*day)
	f.submit(day, cycle.PhaseBaseline, "caregiver", cycle.Answers{"x": 1.0})
	f.submitAll(3*day, cycle.PhaseBaseline, "child", "teacher", "nurse")
	f.env.ExecuteWorkflow(CycleWorkflowName, cycleInput())
	if st.Stage != cycle.StageAssess || !slices.Equal(st.Awaiting, []string{"child", "teacher", "nurse"}) {
		t.Fatalf("query on day 2 = %+v", st)
	}
}

func TestFormsThatAssessNoDomainCloseAsNotAssessed(t *testing.T) {
	f := newFixture(t)
	f.consent(true)
	f.scores(activities.ScoreOutput{Risk: cycle.RiskNotAssessed, Domains: map[string]string{"psychosocial": cycle.RiskNotAssessed}})
	f.submit(day, cycle.PhaseBaseline, "child", cycle.Answers{})
	f.env.ExecuteWorkflow(CycleWorkflowName, cycleInput())
	if got := f.result().Outcome; got != cycle.OutcomeNotAssessed {
		t.Fatalf("outcome = %q, want not_assessed: an empty form is not a low-risk child", got)
	}
}

// TestReassessmentFormsAskOnlyTheDomainsAtRisk: a reassessment's forms are
// checked for the domains found at risk (material and education here),
// so the practitioner need not answer the whole form again; a baseline form
// is checked for every domain.
func TestReassessmentFormsAskOnlyTheDomainsAtRisk(t *testing.T) {
	f := newAtRiskFixture(t, low())
	f.env.OnWorkflow(ReferralWorkflowName, mock.Anything, mock.Anything).Return(cycle.ReferralResult{Outcome: cycle.ReferralCompleted}, nil)
	atBaseline := f.submit(day/2, cycle.PhaseBaseline, "caregiver", cycle.Answers{"echo_domains": true})
	f.submitAll(day, cycle.PhaseBaseline, respondents...)
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(cycle.SignalPlanAgreed, cycle.PlanSignal{MeetingID: "meeting/x", Actions: []cycle.PlanAction{{Domain: "education", Note: "reading support"}}})
	}, 10*day)
	atReassess := f.submit(100*day+time.Hour, cycle.PhaseReassessment, "caregiver", cycle.Answers{"echo_domains": true})
	f.submitAll(101*day, cycle.PhaseReassessment, "caregiver", "teacher")
	f.env.ExecuteWorkflow(CycleWorkflowName, cycleInput())
	f.result()

	for name, tc := range map[string]struct {
		out  *updateOutcome
		want string
	}{"baseline": {atBaseline, ""}, "reassessment": {atReassess, "education,material"}} {
		if tc.out.rejected == nil {
			t.Fatalf("%s: the echo form was not checked: %+v", name, tc.out)
		}
		fe := fieldErrors(t, tc.out.rejected)
		if len(fe) != 1 || fe[0].Message != tc.want {
			t.Errorf("%s form checked for domains %+v, want %q", name, fe, tc.want)
		}
	}
}
