package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/messages"
)

// receivePlan takes a meeting's plan. A plan for a child awaiting one is
// the plan; a concern plan (a practitioner added the child to the agenda)
// is acted on at any open stage after enrolment; anything else (a second
// meeting agreeing twice) changes nothing.
func (c *cycleRun) receivePlan(ctx workflow.Context, p cycle.PlanSignal) {
	switch {
	case c.stage == cycle.StagePlan && c.plan == nil:
		c.plan = &p
		c.planAt = workflow.Now(ctx)
	case c.dutyOfCare && p.Concern && c.stage != cycle.StageEnrol && c.stage != cycle.StageClosed && c.stage != "":
		for _, act := range p.Actions {
			if act.ServiceType == "" {
				continue
			}
			if err := c.startReferral(ctx, c.allocK(false), act.Domain, act.ServiceType, false, concernReason(act)); err != nil {
				workflow.GetLogger(ctx).Error("concern referral not started", "cycle", c.id, "error", err)
			}
		}
	default:
		c.ignored++
	}
}

func concernReason(act cycle.PlanAction) string {
	if act.Note != "" {
		return "practitioner's concern: " + act.Note
	}
	return "practitioner's concern"
}

// planPhase puts the child on the school's next LLCoP agenda (at risk, or
// an incomplete assessment), waits for the plan with escalations, and
// starts a referral for each action that needs a service. It reports false
// when no plan was agreed before the site's final plan deadline.
func (c *cycleRun) planPhase(ctx workflow.Context, atRisk []string) (bool, error) {
	if err := c.enter(ctx, cycle.StagePlan, []string{"plan"}, c.agendaDetail(atRisk)); err != nil {
		return false, err
	}
	agreed, err := c.awaitPlanBounded(ctx)
	if err != nil || !agreed {
		return false, err
	}
	if err := c.awaitReview(ctx); err != nil {
		return false, err
	}
	return true, c.startPlanReferrals(ctx)
}

// awaitReview holds a plan for a child at high risk in any domain until an
// advisor (ALCoP) reviews it, where the site asks for reviews: past one
// review period the coordinator and programme manager are told; past two
// the referrals start without the review, so that no child waits on the
// advisory board for long. Urgent safeguarding referrals never wait here
// (they started when the red flag arrived).
func (c *cycleRun) awaitReview(ctx workflow.Context) error {
	within := c.in.Timing.ReviewWithin
	if within <= 0 || !c.highRisk() || c.reviewed != nil {
		return nil
	}
	if err := c.enter(ctx, cycle.StagePlan, []string{"alcop_review"}, "plan agreed: awaiting the ALCoP's review before referrals"); err != nil {
		return err
	}
	start := workflow.Now(ctx)
	reviewed := func() bool { return c.reviewed != nil }
	ok, err := workflow.AwaitWithTimeout(ctx, until(ctx, start.Add(within)), reviewed)
	if err != nil || ok {
		return err
	}
	params := map[string]string{"cycle": c.id, "school": c.in.SchoolID, "waited": within.String()}
	for _, to := range []string{activities.ToCoordinator, activities.ToProgrammeManager} {
		c.notify(ctx, "review-overdue/"+to, to, messages.ReviewOverdue, params)
	}
	ok, err = workflow.AwaitWithTimeout(ctx, until(ctx, start.Add(2*within)), reviewed)
	if err != nil || ok {
		return err
	}
	params["waited"] = (2 * within).String()
	for _, to := range []string{activities.ToCoordinator, activities.ToProgrammeManager} {
		c.notify(ctx, "review-missed/"+to, to, messages.ReviewMissed, params)
	}
	return nil
}

// highRisk reports whether any baseline domain is high.
func (c *cycleRun) highRisk() bool {
	for _, level := range c.domains {
		if level == cycle.RiskHigh {
			return true
		}
	}
	return false
}

// agendaDetail says why the child is on the agenda.
func (c *cycleRun) agendaDetail(atRisk []string) string {
	var parts []string
	if len(atRisk) > 0 {
		parts = append(parts, "at risk: "+strings.Join(atRisk, ", "))
	}
	if gaps := c.unassessed(); len(gaps) > 0 {
		part := "incomplete assessment: " + strings.Join(gaps, ", ") + " not assessed"
		if missing := c.remaining(cycle.PhaseBaseline); len(missing) > 0 {
			part += " (no " + strings.Join(missing, ", ") + " form)"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "; ")
}

// startPlanReferrals makes one referral per plan action that needs a service.
func (c *cycleRun) startPlanReferrals(ctx workflow.Context) error {
	var actions []cycle.PlanAction
	for _, act := range c.plan.Actions {
		if act.ServiceType != "" {
			actions = append(actions, act)
		}
	}
	if len(actions) == 0 {
		return nil
	}
	if err := c.enter(ctx, cycle.StageRefer, nil, fmt.Sprintf("%d referral(s)", len(actions))); err != nil {
		return err
	}
	for _, act := range actions {
		if err := c.startReferral(ctx, c.allocK(false), act.Domain, act.ServiceType, false, act.Note); err != nil {
			return err
		}
	}
	return nil
}

// planGiveUp is how long a cycle waits for a plan before it closes.
func (c *cycleRun) planGiveUp() time.Duration {
	if c.in.Timing.PlanGiveUpAfter > 0 {
		return c.in.Timing.PlanGiveUpAfter
	}
	return 3 * c.in.Timing.PlanDeadline
}

// awaitPlanBounded waits for the meeting's plan: past one plan deadline the
// site coordinator is told, past two the programme manager, and past the
// site's final deadline both are told and the wait ends without a plan.
func (c *cycleRun) awaitPlanBounded(ctx workflow.Context) (bool, error) {
	start := workflow.Now(ctx)
	giveUp := c.planGiveUp()
	arrived := func() bool { return c.plan != nil }
	steps := []struct {
		after time.Duration
		to    string
	}{{c.in.Timing.PlanDeadline, activities.ToCoordinator}, {2 * c.in.Timing.PlanDeadline, activities.ToProgrammeManager}}
	for i, s := range steps {
		if s.after <= 0 || s.after >= giveUp {
			break
		}
		ok, err := workflow.AwaitWithTimeout(ctx, until(ctx, start.Add(s.after)), arrived)
		if err != nil || ok {
			return ok, err
		}
		c.notify(ctx, fmt.Sprintf("plan-overdue/%d", i+1), s.to, messages.PlanOverdue, map[string]string{
			"cycle": c.id, "school": c.in.SchoolID, "waited": s.after.String(),
		})
	}
	ok, err := workflow.AwaitWithTimeout(ctx, until(ctx, start.Add(giveUp)), arrived)
	if err != nil || ok {
		return ok, err
	}
	for _, to := range []string{activities.ToCoordinator, activities.ToProgrammeManager} {
		c.notify(ctx, "plan-not-agreed/"+to, to, messages.PlanNotAgreed, map[string]string{
			"cycle": c.id, "school": c.in.SchoolID, "waited": giveUp.String(),
		})
	}
	return false, nil
}

// completeAssessment carries out a plan's "complete the assessment" action:
// the baseline reopens for the missing respondents until the site's
// reassessment window has passed, and the baseline is scored again with
// what arrived. Domains found at risk then go to one more LLCoP meeting.
// It returns the at-risk domains after it.
func (c *cycleRun) completeAssessment(ctx workflow.Context, atRisk []string) ([]string, error) {
	var act *cycle.PlanAction
	for i := range c.plan.Actions {
		if c.plan.Actions[i].Kind == cycle.ActionCompleteAssessment {
			act = &c.plan.Actions[i]
			break
		}
	}
	missing := c.remaining(cycle.PhaseBaseline)
	if act == nil || len(missing) == 0 {
		return atRisk, nil
	}
	collect := missing
	if len(act.Respondents) > 0 {
		collect = nil
		for _, r := range act.Respondents {
			if slices.Contains(missing, r) {
				collect = append(collect, r)
			}
		}
	}
	if len(collect) == 0 {
		return atRisk, nil
	}
	// Only the respondents the plan names are awaited; the others stay missing.
	c.expected[cycle.PhaseBaseline] = slices.DeleteFunc(slices.Clone(c.expected[cycle.PhaseBaseline]), func(r string) bool {
		return !c.received[cycle.PhaseBaseline][r] && !slices.Contains(collect, r)
	})
	c.closeRequested[cycle.PhaseBaseline] = false
	deadline := workflow.Now(ctx).Add(c.in.Timing.ReassessmentWindow)
	if err := c.enter(ctx, cycle.StageAssess, collect, "completing the assessment: "+strings.Join(collect, ", ")); err != nil {
		return nil, err
	}
	owner := act.Owner
	if owner == "" {
		owner = "the LLCoP"
	}
	c.notify(ctx, "assessment-to-complete", activities.ToLLCoP, messages.AssessmentToComplete, map[string]string{
		"cycle": c.id, "owner": owner, "respondents": strings.Join(collect, ", "), "window_close": deadline.Format("2 Jan 2006 15:04"),
	})
	before := len(c.received[cycle.PhaseBaseline])
	if err := c.awaitForms(ctx, cycle.PhaseBaseline, deadline); err != nil {
		return nil, err
	}
	if err := c.awaitScreening(ctx); err != nil {
		return nil, err
	}
	if len(c.received[cycle.PhaseBaseline]) == before {
		return atRisk, nil
	}
	if err := c.enter(ctx, cycle.StageScore, nil, "the completed assessment"); err != nil {
		return nil, err
	}
	score, err := c.score(ctx, cycle.PhaseBaseline, nil)
	if err != nil {
		return nil, err
	}
	c.domains, c.risk = score.Domains, score.Risk
	if err := c.raise(ctx, c.routes(ctx, score), "baseline"); err != nil {
		return nil, err
	}
	after := c.atRiskDomains()
	var fresh []string
	for _, d := range after {
		if !slices.Contains(atRisk, d) {
			fresh = append(fresh, d)
		}
	}
	if len(fresh) == 0 {
		return after, nil
	}
	// Newly found needs go to one more meeting; without a plan there, the
	// escalations have told the coordinator and the programme manager and
	// the cycle follows up what it has.
	c.plan = nil
	agreed, err := c.planPhase(ctx, fresh)
	if err != nil {
		return nil, err
	}
	if !agreed {
		c.plan = &cycle.PlanSignal{}
		c.planAt = workflow.Now(ctx)
	}
	return after, nil
}

// legacyPlanAndAfter is the cycle after scoring as it ran before the
// duty-of-care change, kept so cycles started then replay unchanged.
func (c *cycleRun) legacyPlanAndAfter(ctx workflow.Context, atRisk []string) (cycle.CycleResult, error) {
	if err := c.enter(ctx, cycle.StagePlan, []string{"plan"}, "at risk: "+strings.Join(atRisk, ", ")); err != nil {
		return cycle.CycleResult{}, err
	}
	if err := c.legacyAwaitPlan(ctx); err != nil {
		return cycle.CycleResult{}, err
	}
	if err := c.startPlanReferrals(ctx); err != nil {
		return cycle.CycleResult{}, err
	}
	if err := c.followUp(ctx); err != nil {
		return cycle.CycleResult{}, err
	}
	return c.reassess(ctx, atRisk)
}

// legacyAwaitPlan waited for the plan without end, telling the coordinator
// every plan deadline.
func (c *cycleRun) legacyAwaitPlan(ctx workflow.Context) error {
	escalations := 0
	for c.plan == nil {
		ok, err := workflow.AwaitWithTimeout(ctx, c.in.Timing.PlanDeadline, func() bool { return c.plan != nil })
		if err != nil {
			return err
		}
		if !ok {
			escalations++
			c.notify(ctx, fmt.Sprintf("plan-overdue/%d", escalations), activities.ToCoordinator, messages.PlanOverdue, map[string]string{
				"cycle": c.id, "school": c.in.SchoolID, "waited": (time.Duration(escalations) * c.in.Timing.PlanDeadline).String(),
			})
		}
	}
	return nil
}
