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

// remaining lists the respondents of a phase whose forms have not arrived.
func (c *cycleRun) remaining(phase string) []string {
	var out []string
	for _, r := range c.expected[phase] {
		if !c.received[phase][r] {
			out = append(out, r)
		}
	}
	return out
}

// awaitForms waits until every expected form of the phase has arrived, the
// deadline passes or a close-window signal ends the wait, sending reminders
// on the way; it then waits for forms being saved at that moment so none is
// half-recorded.
func (c *cycleRun) awaitForms(ctx workflow.Context, phase string, deadline time.Time) error {
	c.accepting = phase
	done := func() bool { return len(c.remaining(phase)) == 0 && len(c.inflight) == 0 }
	ended := func() bool { return done() || c.closeRequested[phase] }
	reminder := 0
	for !ended() {
		left := until(ctx, deadline)
		if left <= 0 {
			break
		}
		wait := left
		remind := c.in.Timing.ReminderEvery > 0 && c.in.Timing.ReminderEvery < left && c.mayRemind(reminder)
		if remind {
			wait = c.in.Timing.ReminderEvery
		}
		ok, err := workflow.AwaitWithTimeout(ctx, wait, ended)
		if err != nil {
			return err
		}
		if !ok && remind {
			reminder++
			c.notify(ctx, fmt.Sprintf("reminder/%s/%d", phase, reminder), activities.ToLLCoP, messages.AssessmentReminder, map[string]string{
				"cycle": c.id, "respondents": strings.Join(c.remaining(phase), ", "), "window_close": deadline.Format("2 Jan 2006 15:04"),
			})
		}
	}
	// Stop accepting this phase's forms, then let in-flight saves finish.
	c.accepting = ""
	if err := workflow.Await(ctx, func() bool { return len(c.inflight) == 0 }); err != nil {
		return err
	}
	if c.dutyOfCare {
		// The phase is scored next: its forms' red flags are acted on first.
		return c.awaitScreening(ctx)
	}
	return nil
}

// validateAssessment rejects a form before anything is recorded.
func (c *cycleRun) validateAssessment(in cycle.SubmitAssessmentInput) error {
	if in.Phase != cycle.PhaseBaseline && in.Phase != cycle.PhaseReassessment {
		return invalid([]cycle.FieldError{{Field: "phase", Code: "invalid_choice", Message: fmt.Sprintf("phase must be %s or %s", cycle.PhaseBaseline, cycle.PhaseReassessment)}})
	}
	if c.accepting != in.Phase {
		if c.stage == cycle.StageClosed && c.outcome == cycle.OutcomeNoConsent {
			return conflict("this child has no consent on record: no answers are accepted")
		}
		return conflict("this cycle is at stage %q and is not accepting %s forms", c.stage, in.Phase)
	}
	if !slices.Contains(c.expected[in.Phase], in.Respondent) {
		return invalid([]cycle.FieldError{{Field: "respondent", Code: "invalid_choice", Message: fmt.Sprintf("respondent must be one of %s", strings.Join(c.expected[in.Phase], ", "))}})
	}
	if c.received[in.Phase][in.Respondent] || c.inflight[in.Respondent] {
		return conflict("the %s %s form was already submitted", in.Phase, in.Respondent)
	}
	if strings.TrimSpace(in.SubmittedBy) == "" {
		return invalid([]cycle.FieldError{{Field: "submitted_by", Code: "required", Message: "submitted_by is required"}})
	}
	var domains []string
	if in.Phase == cycle.PhaseReassessment {
		// A reassessment asks the domains found at risk, not the whole form.
		domains = c.reassessDomains
	}
	if errs := c.w.Forms.CheckAnswers(c.in.Instrument, in.Respondent, domains, in.Answers); len(errs) > 0 {
		return invalid(errs)
	}
	return nil
}

// submitAssessment saves a form and queues it for the red-flag screening,
// which acts on it at once.
func (c *cycleRun) submitAssessment(ctx workflow.Context, in cycle.SubmitAssessmentInput) (cycle.SubmitAssessmentResult, error) {
	// Two submissions of one form can pass validation in the same instant; only the first is saved.
	if c.accepting != in.Phase || c.received[in.Phase][in.Respondent] || c.inflight[in.Respondent] {
		return cycle.SubmitAssessmentResult{}, conflict("the %s %s form was already submitted", in.Phase, in.Respondent)
	}
	c.inflight[in.Respondent] = true
	defer delete(c.inflight, in.Respondent)
	rec := cycle.AssessmentRecord{
		CycleID: c.id, Phase: in.Phase, Respondent: in.Respondent, Answers: in.Answers,
		SubmittedBy: in.SubmittedBy, SubmittedAt: workflow.Now(ctx),
	}
	if err := c.record(ctx, true, a.SaveAssessment, rec).Get(ctx, nil); err != nil {
		return cycle.SubmitAssessmentResult{}, notSaved("form", err)
	}
	c.received[in.Phase][in.Respondent] = true
	if c.dutyOfCare {
		c.screens = append(c.screens, screenJob{phase: in.Phase, source: in.Phase})
	}
	c.awaiting = c.remaining(in.Phase)
	return cycle.SubmitAssessmentResult{Remaining: c.awaiting}, nil
}

// acceptsCheckIns reports whether the cycle takes a check-in now: while
// referrals are open, and since the duty-of-care change at any stage after
// scoring, so a concern seen at any visit reaches the fast path.
func (c *cycleRun) acceptsCheckIns() bool {
	if !c.dutyOfCare {
		return c.stage == cycle.StageFollowUp
	}
	switch c.stage {
	case cycle.StagePlan, cycle.StageRefer, cycle.StageFollowUp, cycle.StageReassess:
		return true
	case cycle.StageAssess, cycle.StageScore:
		return c.domains != nil // the completion of an assessment, after the first score
	}
	return false
}

func (c *cycleRun) validateFollowUp(in cycle.FollowUpInput) error {
	if !c.acceptsCheckIns() {
		if c.dutyOfCare {
			return conflict("this cycle is at stage %q: check-ins are recorded once the child is scored and until the cycle closes", c.stage)
		}
		return conflict("this cycle is at stage %q: follow-ups are recorded while referrals are open", c.stage)
	}
	var errs []cycle.FieldError
	if strings.TrimSpace(in.Note) == "" {
		errs = append(errs, cycle.FieldError{Field: "note", Code: "required", Message: "note is required"})
	} else if len(in.Note) > 4000 {
		errs = append(errs, cycle.FieldError{Field: "note", Code: "too_long", Message: "note must be at most 4000 characters"})
	}
	if strings.TrimSpace(in.RecordedBy) == "" {
		errs = append(errs, cycle.FieldError{Field: "recorded_by", Code: "required", Message: "recorded_by is required"})
	}
	if len(in.Concerns) > 0 && !c.dutyOfCare {
		errs = append(errs, cycle.FieldError{Field: "concerns", Code: "not_supported", Message: "this cycle was started before check-ins could carry concerns: use the safeguarding procedure directly"})
	}
	for i, code := range in.Concerns {
		if _, ok := c.w.Forms.RedFlag(c.in.Instrument, code); !ok {
			errs = append(errs, cycle.FieldError{Field: fmt.Sprintf("concerns[%d]", i), Code: "invalid_choice", Message: fmt.Sprintf("concern %q is not a red flag of this child's instrument", code)})
		}
	}
	if len(errs) > 0 {
		return invalid(errs)
	}
	return nil
}

// recordFollowUp saves a check-in; its concerns go to the fast path at once.
func (c *cycleRun) recordFollowUp(ctx workflow.Context, in cycle.FollowUpInput) (cycle.FollowUpResult, error) {
	c.followUpSeq++
	seq := c.followUpSeq
	rec := cycle.FollowUpRecord{ID: fmt.Sprintf("%s/follow-up/%d", c.id, seq), CycleID: c.id, Note: in.Note, RecordedBy: in.RecordedBy, At: workflow.Now(ctx)}
	if err := c.record(ctx, true, a.SaveFollowUp, rec).Get(ctx, nil); err != nil {
		return cycle.FollowUpResult{}, notSaved("follow-up", err)
	}
	c.followUps++
	if c.dutyOfCare && len(in.Concerns) > 0 {
		c.screens = append(c.screens, screenJob{concerns: in.Concerns, source: fmt.Sprintf("check-in/%d", seq)})
	}
	return cycle.FollowUpResult{Count: c.followUps}, nil
}
