package workflows

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/workflow"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/messages"
)

// referralLog records the referrals a cycle starts and when.
type referralLog struct {
	in []cycle.ReferralInput
	at []time.Duration
}

func (f *fixture) recordReferrals(outcome string) *referralLog {
	log := &referralLog{}
	f.env.OnWorkflow(ReferralWorkflowName, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in cycle.ReferralInput) (cycle.ReferralResult, error) {
		log.in = append(log.in, in)
		log.at = append(log.at, f.env.Now().Sub(startTime))
		return cycle.ReferralResult{ReferralID: in.ReferralID, Outcome: outcome}, nil
	})
	return log
}

func (l *referralLog) services() []string {
	var out []string
	for _, in := range l.in {
		out = append(out, in.ServiceType)
	}
	return out
}

func flagged(code string) cycle.Answers { return cycle.Answers{"red_flag": code} }

func TestRedFlagInTheFirstFormStartsTheUrgentReferralBeforeTheOthersArrive(t *testing.T) {
	f := newFixture(t)
	f.consent(true)
	out := low()
	out.Domains["caregiver"] = cycle.RiskHigh
	out.Risk, out.Flags = cycle.RiskHigh, []string{"phq9.self_harm"}
	out.RedFlags = []cycle.RedFlag{testRedFlags["phq9.self_harm"]}
	f.scores(out)
	refs := f.recordReferrals(cycle.ReferralCompleted)
	// The caregiver answers on day 1 (PHQ-9 item 9 above 0); the others on day 20.
	f.submit(day, cycle.PhaseBaseline, "caregiver", flagged("phq9.self_harm"))
	f.submitAll(20*day, cycle.PhaseBaseline, "child", "teacher", "nurse")
	f.env.RegisterDelayedCallback(func() { f.env.CancelWorkflow() }, 30*day)
	f.env.ExecuteWorkflow(CycleWorkflowName, cycleInput())

	if len(refs.in) != 1 {
		t.Fatalf("referrals = %+v, want exactly one urgent referral (the final score must not refer the same flag again)", refs.in)
	}
	r := refs.in[0]
	if !r.Urgent || r.ServiceType != "clinic" || r.Domain != "caregiver" {
		t.Errorf("urgent referral = %+v, want urgent clinic for caregiver", r)
	}
	if refs.at[0] >= 20*day {
		t.Errorf("urgent referral started on day %.1f, after the other forms arrived", refs.at[0].Hours()/24)
	}
	if got := f.templates(activities.ToSafeguarding); !slices.Equal(got, []string{messages.SafeguardingAlert}) {
		t.Errorf("safeguarding notifications = %v, want one alert", got)
	}
}

func TestEachRedFlagReachesItsDeclaredServiceOncePerService(t *testing.T) {
	f := newFixture(t)
	f.consent(true)
	out := low()
	out.Domains["protection"], out.Domains["nutrition"] = cycle.RiskHigh, cycle.RiskHigh
	out.Risk = cycle.RiskHigh
	out.Flags = []string{"protection.disclosure", "protection.neglect", "growth.severe_thinness"}
	for _, c := range out.Flags {
		out.RedFlags = append(out.RedFlags, testRedFlags[c])
	}
	f.scores(out)
	refs := f.recordReferrals(cycle.ReferralCompleted)
	// The child's form raises a disclosure and neglect (both for social
	// development: one referral), the nurse's severe thinness (a clinic).
	f.submit(day, cycle.PhaseBaseline, "child", cycle.Answers{"red_flag": []any{"protection.disclosure", "protection.neglect"}})
	f.submit(2*day, cycle.PhaseBaseline, "nurse", flagged("growth.severe_thinness"))
	f.submitAll(3*day, cycle.PhaseBaseline, "caregiver", "teacher")
	f.env.RegisterDelayedCallback(func() { f.env.CancelWorkflow() }, 10*day)
	f.env.ExecuteWorkflow(CycleWorkflowName, cycleInput())

	if got, want := refs.services(), []string{"social_development", "clinic"}; !slices.Equal(got, want) {
		t.Fatalf("urgent referrals to %v, want %v", got, want)
	}
	if refs.in[0].Domain != "protection" || refs.in[1].Domain != "nutrition" {
		t.Errorf("domains = %s, %s", refs.in[0].Domain, refs.in[1].Domain)
	}
	if refs.in[0].ReferralID == refs.in[1].ReferralID {
		t.Errorf("two urgent referrals share the ID %s", refs.in[0].ReferralID)
	}
	if refs.at[0] >= 2*day || refs.at[1] >= 3*day {
		t.Errorf("urgent referrals at %v, want each on the day its form arrived", refs.at)
	}
	// One notice per form that raised flags; the final score raises nothing new.
	if n := len(f.templates(activities.ToSafeguarding)); n != 2 {
		t.Errorf("safeguarding notices = %d, want 2", n)
	}
}

func TestDeclinedItemPromptsTheSocialWorkerWithoutAReferral(t *testing.T) {
	f := newFixture(t)
	f.consent(true)
	out := low()
	out.Flags = []string{"phq9.self_harm_declined"}
	out.RedFlags = []cycle.RedFlag{testRedFlags["phq9.self_harm_declined"]}
	f.scores(out)
	refs := f.recordReferrals(cycle.ReferralCompleted)
	f.submit(day, cycle.PhaseBaseline, "caregiver", flagged("phq9.self_harm_declined"))
	f.submitAll(2*day, cycle.PhaseBaseline, "child", "teacher", "nurse")
	f.env.ExecuteWorkflow(CycleWorkflowName, cycleInput())

	res := f.result()
	if len(refs.in) != 0 {
		t.Errorf("referrals = %+v, want none", refs.in)
	}
	if got := f.templates(activities.ToSafeguarding); !slices.Equal(got, []string{messages.SafeguardingPrompt}) {
		t.Errorf("safeguarding notifications = %v, want one prompt", got)
	}
	if res.Outcome != cycle.OutcomeLowRisk || !slices.Contains(res.Flags, "phq9.self_harm_declined") {
		t.Errorf("result = %+v", res)
	}
}

func TestRedFlagsAtReassessmentAndInACheckInAreActedOn(t *testing.T) {
	f := newFixture(t)
	f.consent(true)
	baseline := low()
	baseline.Domains["material"], baseline.Risk = cycle.RiskModerate, cycle.RiskModerate
	re := low()
	re.Flags = []string{"protection.disclosure"}
	re.RedFlags = []cycle.RedFlag{testRedFlags["protection.disclosure"]}
	re.Changes = map[string]string{"material": "improved"}
	f.scores(baseline, re)
	refs := f.recordReferrals(cycle.ReferralCompleted)
	f.submitAll(day, cycle.PhaseBaseline, respondents...)
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(cycle.SignalPlanAgreed, cycle.PlanSignal{MeetingID: "m", Actions: []cycle.PlanAction{{Domain: "material", Note: "caregiver group"}}})
	}, 5*day)
	// A check-in on day 10 records that the child showed signs of neglect.
	var checkIn updateOutcome
	f.env.RegisterDelayedCallback(func() {
		f.env.UpdateWorkflow(cycle.UpdateRecordFollowUp, "fu", &testsuiteCallback{&checkIn},
			cycle.FollowUpInput{Note: "home visit", RecordedBy: "sw", Concerns: []string{"protection.neglect"}})
	}, 10*day)
	// Reassessment is due from day 95; the caregiver's form raises a disclosure.
	f.submit(96*day, cycle.PhaseReassessment, "caregiver", flagged("protection.disclosure"))
	f.env.ExecuteWorkflow(CycleWorkflowName, cycleInput())

	res := f.result()
	if !checkIn.accepted || checkIn.err != nil {
		t.Fatalf("check-in with a concern: %+v", checkIn)
	}
	if len(refs.in) != 2 {
		t.Fatalf("referrals = %+v, want the check-in's and the reassessment's urgent referrals", refs.in)
	}
	if refs.at[0] > 10*day+time.Hour || !refs.in[0].Urgent || refs.in[0].ServiceType != "social_development" {
		t.Errorf("check-in referral = %+v at %v", refs.in[0], refs.at[0])
	}
	if refs.at[1] > 96*day+time.Hour || !refs.in[1].Urgent {
		t.Errorf("reassessment referral = %+v at %v", refs.in[1], refs.at[1])
	}
	if res.Outcome != cycle.OutcomeCompleted || !slices.Contains(res.Flags, "protection.neglect") || !slices.Contains(res.Flags, "protection.disclosure") {
		t.Errorf("result = %+v", res)
	}
}

func TestCheckInConcernMustBeARedFlagOfTheInstrument(t *testing.T) {
	f := newFixture(t)
	f.consent(true)
	at := low()
	at.Domains["health"], at.Risk = cycle.RiskModerate, cycle.RiskModerate
	f.scores(at)
	f.submitAll(day, cycle.PhaseBaseline, respondents...)
	var bad updateOutcome
	f.env.RegisterDelayedCallback(func() {
		f.env.UpdateWorkflow(cycle.UpdateRecordFollowUp, "fu", &testsuiteCallback{&bad},
			cycle.FollowUpInput{Note: "visit", RecordedBy: "sw", Concerns: []string{"made.up"}})
	}, 3*day)
	f.env.RegisterDelayedCallback(func() { f.env.CancelWorkflow() }, 4*day)
	f.env.ExecuteWorkflow(CycleWorkflowName, cycleInput())
	fe := fieldErrors(t, bad.rejected)
	if len(fe) != 1 || fe[0].Field != "concerns[0]" || fe[0].Code != "invalid_choice" {
		t.Errorf("field errors = %+v", fe)
	}
}

func TestMissingNurseFormIsIncompleteNotLowRisk(t *testing.T) {
	f := newFixture(t)
	f.consent(true)
	out := low()
	out.Domains["health"], out.Domains["nutrition"] = cycle.RiskNotAssessed, cycle.RiskNotAssessed
	f.scores(out)
	f.submitAll(day, cycle.PhaseBaseline, "caregiver", "child", "teacher")
	var planned cycle.PlanSignal
	f.env.RegisterDelayedCallback(func() {
		planned = cycle.PlanSignal{MeetingID: "m", Actions: []cycle.PlanAction{{Domain: "health", Note: "nurse visits next week", Owner: "school nurse"}}}
		f.env.SignalWorkflow(cycle.SignalPlanAgreed, planned)
	}, 50*day)
	f.env.ExecuteWorkflow(CycleWorkflowName, cycleInput())

	res := f.result()
	if res.Outcome != cycle.OutcomeIncomplete {
		t.Fatalf("outcome = %q, want %q", res.Outcome, cycle.OutcomeIncomplete)
	}
	if !slices.Contains(f.stages, cycle.StagePlan) {
		t.Errorf("an incomplete assessment must go on the LLCoP agenda: stages %v", f.stages)
	}
}

func TestCompletingTheAssessmentReopensTheMissingForms(t *testing.T) {
	f := newFixture(t)
	f.consent(true)
	first := low()
	first.Domains["health"], first.Domains["nutrition"] = cycle.RiskNotAssessed, cycle.RiskNotAssessed
	second := low() // the nurse's form completes it: all low
	f.scores(first, second)
	f.submitAll(day, cycle.PhaseBaseline, "caregiver", "child", "teacher")
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(cycle.SignalPlanAgreed, cycle.PlanSignal{MeetingID: "m", Actions: []cycle.PlanAction{
			{Kind: cycle.ActionCompleteAssessment, Owner: "school nurse", Respondents: []string{"nurse"}}}})
	}, 50*day)
	late := f.submit(55*day, cycle.PhaseBaseline, "nurse", cycle.Answers{"x": 1.0})
	f.env.ExecuteWorkflow(CycleWorkflowName, cycleInput())

	res := f.result()
	if !late.accepted || late.err != nil {
		t.Fatalf("the nurse's form after the plan: %+v", late)
	}
	if res.Outcome != cycle.OutcomeLowRisk {
		t.Errorf("outcome = %q, want low_risk once every domain was assessed", res.Outcome)
	}
	if !slices.Contains(f.templates(activities.ToLLCoP), messages.AssessmentToComplete) {
		t.Errorf("nobody was asked to complete the assessment: %v", f.templates(""))
	}
}

func TestPlanNeverAgreedEscalatesThenEnds(t *testing.T) {
	f := newFixture(t)
	f.consent(true)
	at := low()
	at.Domains["education"], at.Risk = cycle.RiskModerate, cycle.RiskModerate
	f.scores(at)
	f.submitAll(day, cycle.PhaseBaseline, respondents...)
	in := cycleInput()
	in.Timing.PlanGiveUpAfter = 63 * day
	f.env.ExecuteWorkflow(CycleWorkflowName, in)

	res := f.result()
	if res.Outcome != cycle.OutcomePlanNotAgreed {
		t.Fatalf("outcome = %q, want %q", res.Outcome, cycle.OutcomePlanNotAgreed)
	}
	var got []string
	for _, n := range f.notified {
		got = append(got, n.To+":"+n.Template)
	}
	want := []string{
		activities.ToCoordinator + ":" + messages.PlanOverdue,
		activities.ToProgrammeManager + ":" + messages.PlanOverdue,
		activities.ToCoordinator + ":" + messages.PlanNotAgreed,
		activities.ToProgrammeManager + ":" + messages.PlanNotAgreed,
	}
	if !slices.Equal(got, want) {
		t.Errorf("notifications = %v, want %v", got, want)
	}
	if d := f.env.Now().Sub(startTime); d > 65*day {
		t.Errorf("the cycle closed on day %.0f, want by day 64", d.Hours()/24)
	}
}

func TestAChildAddedToTheAgendaGetsTheConcernPlansReferral(t *testing.T) {
	f := newFixture(t)
	f.consent(true)
	baseline := low()
	baseline.Domains["material"], baseline.Risk = cycle.RiskModerate, cycle.RiskModerate
	re := low()
	re.Changes = map[string]string{"material": "improved"}
	f.scores(baseline, re)
	refs := f.recordReferrals(cycle.ReferralCompleted)
	f.submitAll(day, cycle.PhaseBaseline, respondents...)
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(cycle.SignalPlanAgreed, cycle.PlanSignal{MeetingID: "m1", Actions: []cycle.PlanAction{{Domain: "material", ServiceType: "sassa"}}})
	}, 5*day)
	// Later a teacher's concern puts the child on another meeting's agenda.
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(cycle.SignalPlanAgreed, cycle.PlanSignal{MeetingID: "m2", Concern: true, Actions: []cycle.PlanAction{
			{Domain: "education", ServiceType: "learning_support", Note: "struggling to read"}}})
	}, 40*day)
	f.submitAll(96*day, cycle.PhaseReassessment, "caregiver")
	f.env.ExecuteWorkflow(CycleWorkflowName, cycleInput())

	res := f.result()
	if got, want := refs.services(), []string{"sassa", "learning_support"}; !slices.Equal(got, want) {
		t.Fatalf("referrals = %v, want %v", got, want)
	}
	if refs.in[1].ReferralID != "referral/johannesburg/3/c-0001/2" || refs.in[1].Urgent {
		t.Errorf("concern referral = %+v", refs.in[1])
	}
	if res.Outcome != cycle.OutcomeCompleted || len(res.Referral) != 2 {
		t.Errorf("result = %+v", res)
	}
}

func TestCloseWindowSignalEndsTheWaitForForms(t *testing.T) {
	f := newFixture(t)
	f.consent(true)
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(cycle.SignalCloseWindow, cycle.CloseWindowSignal{Phase: cycle.PhaseBaseline, By: "simulator"})
	}, 2*day)
	f.env.ExecuteWorkflow(CycleWorkflowName, cycleInput())

	res := f.result()
	if res.Outcome != cycle.OutcomeNotAssessed {
		t.Errorf("outcome = %q, want not_assessed", res.Outcome)
	}
	if d := f.env.Now().Sub(startTime); d > 3*day {
		t.Errorf("closed on day %.1f, want day 2", d.Hours()/24)
	}
}
