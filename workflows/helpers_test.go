package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/cycle"
)

// fakeForms accepts any answers except an item called "bad" and maps domains
// to respondents the way the CWTT does for the domains the tests use.
type fakeForms struct{}

func (fakeForms) CheckAnswers(_ cycle.InstrumentRef, respondent string, domains []string, answers cycle.Answers) []cycle.FieldError {
	var errs []cycle.FieldError
	if _, ok := answers["echo_domains"]; ok {
		// Tells the test which domains the form was checked for.
		errs = append(errs, cycle.FieldError{Field: "domains", Code: "echo", Message: strings.Join(domains, ",")})
	}
	if _, ok := answers["bad"]; ok {
		errs = append(errs, cycle.FieldError{Field: "answers.bad", Code: "unknown_item", Message: "item bad is not in the instrument"})
	}
	if v, ok := answers["sdq01"].(float64); ok && v > 2 {
		errs = append(errs, cycle.FieldError{Field: "answers.sdq01", Code: "out_of_range", Message: "sdq01 must be 0, 1 or 2"})
	}
	return errs
}

func (fakeForms) RespondentsFor(_ cycle.InstrumentRef, domains []string) []string {
	set := map[string]bool{}
	for _, d := range domains {
		switch d {
		case "psychosocial", "material", "caregiver":
			set["caregiver"] = true
		case "education":
			set["teacher"] = true
		case "health", "nutrition":
			set["nurse"] = true
		case "protection":
			set["child"] = true
		}
	}
	var out []string
	for _, r := range []string{"caregiver", "child", "teacher", "nurse"} {
		if set[r] {
			out = append(out, r)
		}
	}
	return out
}

func (fakeForms) KnownDomain(_ cycle.InstrumentRef, d string) bool { return d != "" }

// testRedFlags are the red-flag rules the tests use, routed as the CWTT routes them.
var testRedFlags = map[string]cycle.RedFlag{
	"protection.disclosure":   {Code: "protection.disclosure", Domain: "protection", ServiceType: "social_development"},
	"protection.neglect":      {Code: "protection.neglect", Domain: "protection", ServiceType: "social_development"},
	"phq9.self_harm":          {Code: "phq9.self_harm", Domain: "caregiver", ServiceType: "clinic"},
	"growth.severe_thinness":  {Code: "growth.severe_thinness", Domain: "nutrition", ServiceType: "clinic"},
	"phq9.self_harm_declined": {Code: "phq9.self_harm_declined", Domain: "caregiver"},
}

func (fakeForms) RedFlag(_ cycle.InstrumentRef, code string) (cycle.RedFlag, bool) {
	f, ok := testRedFlags[code]
	return f, ok
}

var respondents = []string{"caregiver", "child", "teacher", "nurse"}

var testTiming = cycle.Timing{
	ReminderEvery:      7 * 24 * time.Hour,
	PlanDeadline:       21 * 24 * time.Hour,
	UrgentReferralSLA:  time.Hour,
	ReferralAckSLA:     5 * 24 * time.Hour,
	ReferralSLA:        30 * 24 * time.Hour,
	FollowUpEvery:      14 * 24 * time.Hour,
	ReassessAfter:      90 * 24 * time.Hour,
	ReassessmentWindow: 21 * 24 * time.Hour,
	MinutesDeadline:    7 * 24 * time.Hour,
	ProgressEvery:      24 * time.Hour,
}

var startTime = time.Date(2026, 8, 3, 8, 0, 0, 0, time.UTC)

func cycleInput() cycle.CycleInput {
	return cycle.CycleInput{
		SiteID: "johannesburg", WaveID: "wave/johannesburg/3", Wave: 3, ChildID: "c-0001", SchoolID: "meadowlands",
		Instrument: cycle.InstrumentRef{ID: "cwtt", Version: "1.0.0"}, Respondents: respondents,
		WindowClose: startTime.Add(42 * 24 * time.Hour), Timing: testTiming, ServiceTypes: []string{"clinic", "social_development", "sassa"},
	}
}

const testCycleID = "default-test-workflow-id"

type fixture struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	// stages records the stages the cycle entered, in order.
	stages []string
	// saved counts SaveAssessment calls per respondent.
	saved map[string]int
	// notified records notification templates by audience.
	notified []activities.NotifyInput
	// updates numbers update IDs.
	updates int
	// answers holds the saved answers by phase and respondent, which the
	// red-flag screening reads as the activity reads the database.
	answers map[string]map[string]cycle.Answers
	// screenedAt records when each screening ran.
	screenedAt []time.Time
}

func newFixture(t *testing.T) *fixture {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(quietLogger{})
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(startTime)
	wf := &Workflows{Forms: fakeForms{}}
	Register(env, wf, &activities.Activities{})
	f := &fixture{t: t, env: env, saved: map[string]int{}, answers: map[string]map[string]cycle.Answers{}}
	env.OnActivity(a.RecordStage, mock.Anything, mock.Anything).Return(func(_ context.Context, r cycle.StageRecord) error {
		f.stages = append(f.stages, r.Stage)
		return nil
	}).Maybe()
	env.OnActivity(a.SaveAssessment, mock.Anything, mock.Anything).Return(func(_ context.Context, r cycle.AssessmentRecord) error {
		f.saved[r.Phase+"/"+r.Respondent]++
		if f.answers[r.Phase] == nil {
			f.answers[r.Phase] = map[string]cycle.Answers{}
		}
		f.answers[r.Phase][r.Respondent] = r.Answers
		return nil
	}).Maybe()
	// Screening raises the flags named by a form's "red_flag" answer.
	env.OnActivity(a.ScreenRedFlags, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ScreenInput) ([]cycle.RedFlag, error) {
		f.screenedAt = append(f.screenedAt, env.Now())
		var out []cycle.RedFlag
		for _, r := range respondents {
			switch v := f.answers[in.Phase][r]["red_flag"].(type) {
			case string:
				out = append(out, testRedFlags[v])
			case []any:
				for _, code := range v {
					out = append(out, testRedFlags[code.(string)])
				}
			}
		}
		return out, nil
	}).Maybe()
	env.OnActivity(a.Notify, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.NotifyInput) (activities.NotifyResult, error) {
		f.notified = append(f.notified, in)
		return activities.NotifyResult{Sent: 1}, nil
	}).Maybe()
	env.OnActivity(a.SaveFollowUp, mock.Anything, mock.Anything).Return(nil).Maybe()
	return f
}

func (f *fixture) consent(ok bool) {
	f.env.OnActivity(a.CheckEnrolment, mock.Anything, mock.Anything).Return(cycle.Enrolment{Found: true, Consented: ok, SchoolID: "meadowlands"}, nil)
}

func (f *fixture) scores(outs ...activities.ScoreOutput) {
	for _, o := range outs {
		f.env.OnActivity(a.ScoreCycle, mock.Anything, mock.Anything).Return(o, nil).Once()
	}
}

// submit sends a form at delay; the returned pointer holds the outcome.
type updateOutcome struct {
	accepted bool
	rejected error
	result   any
	err      error
}

func (f *fixture) submit(delay time.Duration, phase, respondent string, answers cycle.Answers) *updateOutcome {
	out := &updateOutcome{}
	f.env.RegisterDelayedCallback(func() {
		f.env.UpdateWorkflow(cycle.UpdateSubmitAssessment, phase+"/"+respondent+"/"+delay.String(), &testsuite.TestUpdateCallback{
			OnAccept:   func() { out.accepted = true },
			OnReject:   func(err error) { out.rejected = err },
			OnComplete: func(r any, err error) { out.result, out.err = r, err },
		}, cycle.SubmitAssessmentInput{Phase: phase, Respondent: respondent, Answers: answers, SubmittedBy: "tester"})
	}, delay)
	return out
}

func (f *fixture) submitAll(delay time.Duration, phase string, who ...string) {
	for i, r := range who {
		f.submit(delay+time.Duration(i)*time.Minute, phase, r, cycle.Answers{"x": 1.0})
	}
}

func (f *fixture) result() cycle.CycleResult {
	f.t.Helper()
	if !f.env.IsWorkflowCompleted() {
		f.t.Fatal("workflow did not complete")
	}
	if err := f.env.GetWorkflowError(); err != nil {
		f.t.Fatalf("workflow failed: %v", err)
	}
	var res cycle.CycleResult
	if err := f.env.GetWorkflowResult(&res); err != nil {
		f.t.Fatal(err)
	}
	return res
}

func (f *fixture) templates(to string) []string {
	var out []string
	for _, n := range f.notified {
		if to == "" || n.To == to {
			out = append(out, n.Template)
		}
	}
	return out
}

func errType(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type()
	}
	return ""
}

func fieldErrors(t *testing.T, err error) []cycle.FieldError {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("error %v is not an application error", err)
	}
	var fe []cycle.FieldError
	if err := appErr.Details(&fe); err != nil {
		t.Fatalf("no field errors in %v: %v", err, err)
	}
	return fe
}

// testsuiteCallback adapts an updateOutcome to the testsuite's callbacks.
type testsuiteCallback struct{ out *updateOutcome }

func (c *testsuiteCallback) Accept()                   { c.out.accepted = true }
func (c *testsuiteCallback) Reject(err error)          { c.out.rejected = err }
func (c *testsuiteCallback) Complete(r any, err error) { c.out.result, c.out.err = r, err }

// quietLogger keeps the testsuite's debug lines out of test output.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}

func durationOf(d interface{ Nanoseconds() int64 }) time.Duration {
	return time.Duration(d.Nanoseconds())
}
