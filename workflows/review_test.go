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

// A site that asks the ALCoP to review plans for children at high risk:
// the plan's referrals wait for the review; without one the coordinator
// and programme manager are told after one period, and the referrals start
// after two.
func TestHighRiskPlanWaitsForTheALCoPReview(t *testing.T) {
	const within = 7 * day
	for _, tt := range []struct {
		name     string
		level    string
		reviewAt time.Duration // 0: no review
		// wantReferralAt is when the referral starts, from the plan (day 10).
		wantReferralAt time.Duration
		wantTemplates  []string
	}{
		{name: "reviewed on day 12", level: cycle.RiskHigh, reviewAt: 12 * day, wantReferralAt: 2 * day},
		{name: "reviewed after the escalation", level: cycle.RiskHigh, reviewAt: 20 * day, wantReferralAt: 10 * day,
			wantTemplates: []string{messages.ReviewOverdue}},
		{name: "never reviewed", level: cycle.RiskHigh, wantReferralAt: 2 * within,
			wantTemplates: []string{messages.ReviewOverdue, messages.ReviewMissed}},
		{name: "moderate risk does not wait", level: cycle.RiskModerate, wantReferralAt: 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.consent(true)
			baseline := low()
			baseline.Risk = tt.level
			baseline.Domains["material"] = tt.level
			f.scores(baseline, low())
			var startedAt time.Time
			f.env.OnWorkflow(ReferralWorkflowName, mock.Anything, mock.Anything).Return(func(ctx workflow.Context, in cycle.ReferralInput) (cycle.ReferralResult, error) {
				startedAt = workflow.Now(ctx)
				return cycle.ReferralResult{ReferralID: in.ReferralID, Outcome: cycle.ReferralCompleted}, nil
			})
			f.submitAll(day, cycle.PhaseBaseline, respondents...)
			var planAt time.Time
			f.env.RegisterDelayedCallback(func() {
				planAt = f.env.Now()
				f.env.SignalWorkflow(cycle.SignalPlanAgreed, cycle.PlanSignal{MeetingID: "meeting/johannesburg/meadowlands/2026-08-13",
					Actions: []cycle.PlanAction{{Domain: "material", ServiceType: "sassa"}}})
			}, 10*day)
			if tt.reviewAt > 0 {
				f.env.RegisterDelayedCallback(func() {
					f.env.SignalWorkflow(cycle.SignalPlanReviewed, cycle.PlanReviewSignal{ReviewID: "r1", Verdict: cycle.ReviewEndorsed})
				}, tt.reviewAt)
			}
			f.submitAll(200*day, cycle.PhaseReassessment, "caregiver")
			in := cycleInput()
			in.Timing.ReviewWithin = within
			f.env.ExecuteWorkflow(CycleWorkflowName, in)
			f.result()
			if startedAt.IsZero() {
				t.Fatal("the plan's referral never started")
			}
			if got := startedAt.Sub(planAt); got != tt.wantReferralAt {
				t.Errorf("referral started %v after the plan, want %v", got, tt.wantReferralAt)
			}
			var got []string
			for _, tmpl := range f.templates(activities.ToCoordinator) {
				if tmpl == messages.ReviewOverdue || tmpl == messages.ReviewMissed {
					got = append(got, tmpl)
				}
			}
			if !slices.Equal(got, tt.wantTemplates) {
				t.Errorf("coordinator told %v, want %v", got, tt.wantTemplates)
			}
		})
	}
}
