package workflows

import (
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/messages"
)

// allocK numbers the cycle's referrals: the first urgent one is 0 (as
// before several could be made), every other the next number from 1.
func (c *cycleRun) allocK(urgent bool) int {
	if urgent && !c.usedZero {
		c.usedZero = true
		return 0
	}
	c.nextK++
	return c.nextK
}

// startReferral starts a ReferralWorkflow and tracks its outcome. The
// urgent ones are abandoned, not cancelled, if the cycle ends:
// safeguarding outlives the cycle.
func (c *cycleRun) startReferral(ctx workflow.Context, k int, domain, serviceType string, urgent bool, reason string) error {
	id := cycle.ReferralID(c.in.SiteID, c.in.Wave, c.in.ChildID, k)
	in := cycle.ReferralInput{
		ReferralID: id, SiteID: c.in.SiteID, WaveID: c.in.WaveID, CycleID: c.id, ChildID: c.in.ChildID, SchoolID: c.in.SchoolID,
		Domain: domain, ServiceType: serviceType, Urgent: urgent, Reason: reason,
		AckSLA: c.in.Timing.ReferralAckSLA, SLA: c.in.Timing.ReferralSLA,
	}
	policy := enumspb.PARENT_CLOSE_POLICY_TERMINATE
	if urgent {
		in.AckSLA = c.in.Timing.UrgentReferralSLA
		policy = enumspb.PARENT_CLOSE_POLICY_ABANDON
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            id,
		ParentClosePolicy:     policy,
		TypedSearchAttributes: cycle.ReferralSearchAttributes(c.in),
	})
	// Counted open before it starts, so no wait sees a moment with none.
	c.open++
	f := workflow.ExecuteChildWorkflow(cctx, ReferralWorkflowName, in)
	if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		c.open--
		return fmt.Errorf("starting referral %s: %w", id, err)
	}
	c.referrals = append(c.referrals, id)
	workflow.Go(ctx, func(ctx workflow.Context) {
		var r cycle.ReferralResult
		if err := f.Get(ctx, &r); err != nil && c.refErr == nil {
			c.refErr = fmt.Errorf("referral %s: %w", id, err)
		}
		c.results[id] = r
		for svc, open := range c.urgentTo {
			if open == id {
				delete(c.urgentTo, svc) // a later red flag may refer there again
			}
		}
		c.open--
	})
	return nil
}

// awaitReferrals waits until every referral started so far has an
// outcome, asking the school's social worker for a follow-up check-in
// every FollowUpEvery meanwhile.
func (c *cycleRun) awaitReferrals(ctx workflow.Context) error {
	reminder := 0
	done := func() bool { return c.open == 0 }
	for !done() {
		if !c.mayRemind(reminder) {
			// Enough reminders: the referrals' own SLAs escalate and close
			// them, so wait for that quietly.
			if err := workflow.Await(ctx, done); err != nil {
				return err
			}
			break
		}
		wait := c.in.Timing.FollowUpEvery
		if wait <= 0 {
			wait = 24 * time.Hour
		}
		ok, err := workflow.AwaitWithTimeout(ctx, wait, done)
		if err != nil {
			return err
		}
		if !ok {
			reminder++
			c.notify(ctx, fmt.Sprintf("follow-up-due/%d", reminder), activities.ToSocialWorker, messages.FollowUpDue, map[string]string{
				"cycle": c.id, "open": fmt.Sprint(c.open),
			})
		}
	}
	return c.refErr
}

// MaxReminders bounds the reminders one wait sends (form reminders per
// phase, follow-up check-in reminders), so a long window or a referral that
// stays open for months cannot grow a cycle's history without limit.
const MaxReminders = 8

// mayRemind reports whether another reminder may go out after sent ones;
// cycles started before the bound existed keep reminding as they did.
func (c *cycleRun) mayRemind(sent int) bool {
	return !c.boundedReminders || sent < MaxReminders
}

// notify sends a message about the cycle (see sendNotice).
func (c *cycleRun) notify(ctx workflow.Context, key, to, template string, params map[string]string) {
	sendNotice(ctx, activities.NotifyInput{
		Key: c.id + "/" + key, SiteID: c.in.SiteID, SchoolID: c.in.SchoolID, To: to, Template: template, Params: params,
	})
}
