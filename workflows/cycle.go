package workflows

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/messages"
)

// cycleRun is one child's cycle: its state and the handlers that read and change it.
type cycleRun struct {
	w  *Workflows
	in cycle.CycleInput
	id string
	// local runs the cycle's database writes as local activities (cycles
	// started before that change replay with regular ones).
	local bool
	// boundedReminders caps each wait's reminders at MaxReminders (cycles
	// started before that change replay without the cap).
	boundedReminders bool

	stage    string
	seq      int
	awaiting []string
	outcome  string
	risk     string
	domains  map[string]string
	flags    []string
	changes  map[string]string

	// accepting is the phase whose forms the cycle takes now ("" for none);
	// expected and received list respondents per phase; inflight marks forms
	// whose handler is saving them right now.
	accepting string
	expected  map[string][]string
	received  map[string]map[string]bool
	inflight  map[string]bool

	plan      *cycle.PlanSignal
	planAt    time.Time
	ignored   int
	referrals []string
	results   map[string]cycle.ReferralResult
	// followUps counts saved check-ins; followUpSeq numbers them, reserved
	// before saving so concurrent check-ins get distinct IDs.
	followUps   int
	followUpSeq int
}

// pendingReferral is a started referral whose outcome the cycle awaits.
type pendingReferral struct {
	id string
	f  workflow.ChildWorkflowFuture
}

// ChildCycle runs one child's CoP cycle: enrol, assess, score, plan, refer,
// follow up, reassess. A child without consent never gets past enrol and no
// answer for them is accepted.
func (w *Workflows) ChildCycle(ctx workflow.Context, in cycle.CycleInput) (cycle.CycleResult, error) {
	c := &cycleRun{
		w:        w,
		in:       in,
		id:       workflow.GetInfo(ctx).WorkflowExecution.ID,
		expected: map[string][]string{},
		received: map[string]map[string]bool{cycle.PhaseBaseline: {}, cycle.PhaseReassessment: {}},
		inflight: map[string]bool{},
		results:  map[string]cycle.ReferralResult{},
	}
	if err := c.registerHandlers(ctx); err != nil {
		return cycle.CycleResult{}, err
	}
	c.local = workflow.GetVersion(ctx, "local-records", workflow.DefaultVersion, 1) == 1
	c.boundedReminders = workflow.GetVersion(ctx, "bounded-reminders", workflow.DefaultVersion, 1) == 1
	res, err := c.run(ctx)
	if err != nil {
		return res, err
	}
	// Let any handler still saving finish before the run closes.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return res, err
	}
	return res, nil
}

func (c *cycleRun) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, cycle.QueryCycle, c.status); err != nil {
		return fmt.Errorf("registering query: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, cycle.UpdateSubmitAssessment, c.submitAssessment,
		workflow.UpdateHandlerOptions{Validator: c.validateAssessment}); err != nil {
		return fmt.Errorf("registering assessment update: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, cycle.UpdateRecordFollowUp, c.recordFollowUp,
		workflow.UpdateHandlerOptions{Validator: c.validateFollowUp}); err != nil {
		return fmt.Errorf("registering follow-up update: %w", err)
	}
	plans := workflow.GetSignalChannel(ctx, cycle.SignalPlanAgreed)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var p cycle.PlanSignal
			plans.Receive(ctx, &p)
			if c.stage == cycle.StagePlan && c.plan == nil {
				c.plan = &p
				c.planAt = workflow.Now(ctx)
			} else {
				// A plan for a child no longer awaiting one (a second meeting
				// agreeing twice) changes nothing.
				c.ignored++
			}
		}
	})
	return nil
}

func (c *cycleRun) status() (cycle.CycleStatus, error) {
	return cycle.CycleStatus{
		Stage: c.stage, Awaiting: c.awaiting, Outcome: c.outcome, Risk: c.risk,
		Domains: c.domains, Flags: c.flags, Referrals: c.referrals, FollowUps: c.followUps,
	}, nil
}

func (c *cycleRun) run(ctx workflow.Context) (cycle.CycleResult, error) {
	// 1. Enrol: consent on record, cohort membership.
	if err := c.enter(ctx, cycle.StageEnrol, nil, ""); err != nil {
		return cycle.CycleResult{}, err
	}
	var enrol cycle.Enrolment
	if err := c.record(ctx, false, a.CheckEnrolment, activities.EnrolInput{SiteID: c.in.SiteID, ChildID: c.in.ChildID}).Get(ctx, &enrol); err != nil {
		return cycle.CycleResult{}, err
	}
	if !enrol.Found || !enrol.Consented {
		return c.close(ctx, cycle.OutcomeNoConsent, enrol.Reason)
	}

	// 2. Assess: wait for the respondents' forms until the window closes.
	c.expected[cycle.PhaseBaseline] = append([]string(nil), c.in.Respondents...)
	if err := c.enter(ctx, cycle.StageAssess, c.remaining(cycle.PhaseBaseline), ""); err != nil {
		return cycle.CycleResult{}, err
	}
	if err := c.awaitForms(ctx, cycle.PhaseBaseline, c.in.WindowClose); err != nil {
		return cycle.CycleResult{}, err
	}
	if len(c.received[cycle.PhaseBaseline]) == 0 {
		return c.close(ctx, cycle.OutcomeNotAssessed, "assessment window closed with no form")
	}

	// 3. Score, and the safeguarding fast path for red flags.
	missing := c.remaining(cycle.PhaseBaseline)
	detail := ""
	if len(missing) > 0 {
		detail = "scored without: " + strings.Join(missing, ", ")
	}
	if err := c.enter(ctx, cycle.StageScore, nil, detail); err != nil {
		return cycle.CycleResult{}, err
	}
	score, err := c.score(ctx, cycle.PhaseBaseline, nil)
	if err != nil {
		return cycle.CycleResult{}, err
	}
	c.domains, c.flags, c.risk = score.Domains, score.Flags, score.Risk
	var pending []pendingReferral
	if len(c.flags) > 0 {
		f, err := c.fastPath(ctx)
		if err != nil {
			return cycle.CycleResult{}, err
		}
		pending = append(pending, f)
	}
	atRisk := c.atRiskDomains()
	if c.risk == cycle.RiskNotAssessed && len(c.flags) == 0 {
		return c.close(ctx, cycle.OutcomeNotAssessed, "the forms received assess no domain")
	}
	if len(atRisk) == 0 {
		if err := c.awaitReferrals(ctx, pending); err != nil {
			return cycle.CycleResult{}, err
		}
		return c.close(ctx, cycle.OutcomeLowRisk, "low risk in every domain: universal services")
	}

	// 4. Plan: on the agenda of the school's next LLCoP meeting.
	if err := c.enter(ctx, cycle.StagePlan, []string{"plan"}, "at risk: "+strings.Join(atRisk, ", ")); err != nil {
		return cycle.CycleResult{}, err
	}
	if err := c.awaitPlan(ctx); err != nil {
		return cycle.CycleResult{}, err
	}

	// 5. Refer: one ReferralWorkflow per plan action that needs a service.
	k := 0
	var actions []cycle.PlanAction
	for _, act := range c.plan.Actions {
		if act.ServiceType != "" {
			actions = append(actions, act)
		}
	}
	if len(actions) > 0 {
		if err := c.enter(ctx, cycle.StageRefer, nil, fmt.Sprintf("%d referral(s)", len(actions))); err != nil {
			return cycle.CycleResult{}, err
		}
		for _, act := range actions {
			k++
			f, err := c.startReferral(ctx, k, act.Domain, act.ServiceType, false, act.Note)
			if err != nil {
				return cycle.CycleResult{}, err
			}
			pending = append(pending, f)
		}
	}

	// 6. Follow up until every referral has an outcome.
	if len(pending) > 0 {
		if err := c.enter(ctx, cycle.StageFollowUp, c.referrals, ""); err != nil {
			return cycle.CycleResult{}, err
		}
		if err := c.awaitReferrals(ctx, pending); err != nil {
			return cycle.CycleResult{}, err
		}
	}

	// 7. Reassess the at-risk domains after the configured interval.
	if err := workflow.Sleep(ctx, until(ctx, c.planAt.Add(c.in.Timing.ReassessAfter))); err != nil {
		return cycle.CycleResult{}, err
	}
	// Who reassesses depends on the instrument's items: recorded once as a
	// side effect so that replay never depends on configuration.
	var respondents []string
	if err := workflow.SideEffect(ctx, func(workflow.Context) any { return c.reassessRespondents(atRisk) }).Get(&respondents); err != nil {
		return cycle.CycleResult{}, err
	}
	c.expected[cycle.PhaseReassessment] = respondents
	if err := c.enter(ctx, cycle.StageReassess, c.remaining(cycle.PhaseReassessment), "domains: "+strings.Join(atRisk, ", ")); err != nil {
		return cycle.CycleResult{}, err
	}
	c.notify(ctx, "reassessment-due", activities.ToLLCoP, messages.ReassessmentDue, map[string]string{"cycle": c.id, "domains": strings.Join(atRisk, ", ")})
	if err := c.awaitForms(ctx, cycle.PhaseReassessment, workflow.Now(ctx).Add(c.in.Timing.ReassessmentWindow)); err != nil {
		return cycle.CycleResult{}, err
	}
	if len(c.received[cycle.PhaseReassessment]) == 0 {
		return c.close(ctx, cycle.OutcomeReassessmentMissed, "reassessment window closed with no form")
	}
	baseline := map[string]string{}
	for _, d := range atRisk {
		baseline[d] = c.domains[d]
	}
	re, err := c.score(ctx, cycle.PhaseReassessment, baseline)
	if err != nil {
		return cycle.CycleResult{}, err
	}
	c.changes = map[string]string{}
	for _, d := range atRisk {
		if ch, ok := re.Changes[d]; ok {
			c.changes[d] = ch
		}
	}
	return c.close(ctx, cycle.OutcomeCompleted, "")
}

// enter moves the cycle to a stage: search attributes, then the database row.
func (c *cycleRun) enter(ctx workflow.Context, stage string, awaiting []string, detail string) error {
	c.stage, c.awaiting = stage, awaiting
	c.seq++
	updates := []temporal.SearchAttributeUpdate{cycle.SAStage.ValueSet(stage), cycle.SAStageSince.ValueSet(workflow.Now(ctx))}
	if c.risk != "" {
		updates = append(updates, cycle.SARisk.ValueSet(c.risk))
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		return fmt.Errorf("upserting search attributes: %w", err)
	}
	rec := cycle.StageRecord{
		CycleID: c.id, WaveID: c.in.WaveID, SiteID: c.in.SiteID, SchoolID: c.in.SchoolID, ChildID: c.in.ChildID,
		Seq: c.seq, Stage: stage, Outcome: c.outcome, Risk: c.risk, Flags: c.flags,
		Awaiting: awaiting, Detail: detail, At: workflow.Now(ctx),
	}
	return c.record(ctx, false, a.RecordStage, rec).Get(ctx, nil)
}

// record runs a database activity: local in cycles started since that
// change, a regular activity in older ones (as their histories recorded).
func (c *cycleRun) record(ctx workflow.Context, inHandler bool, fn any, arg any) workflow.Future {
	if c.local {
		if inHandler {
			return workflow.ExecuteLocalActivity(localHandlerCtx(ctx), fn, arg)
		}
		return workflow.ExecuteLocalActivity(localRecordCtx(ctx), fn, arg)
	}
	if inHandler {
		return workflow.ExecuteActivity(handlerCtx(ctx), fn, arg)
	}
	return workflow.ExecuteActivity(recordCtx(ctx), fn, arg)
}

func (c *cycleRun) close(ctx workflow.Context, outcome, detail string) (cycle.CycleResult, error) {
	c.outcome = outcome
	if err := c.enter(ctx, cycle.StageClosed, nil, detail); err != nil {
		return cycle.CycleResult{}, err
	}
	res := cycle.CycleResult{Outcome: outcome, Domains: c.domains, Changes: c.changes, Flags: c.flags}
	for _, id := range c.referrals {
		if r, ok := c.results[id]; ok {
			res.Referral = append(res.Referral, r)
		}
	}
	return res, nil
}

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

// awaitForms waits until every expected form of the phase has arrived or the
// deadline passes, sending reminders on the way; it then waits for forms
// being saved at that moment so none is half-recorded.
func (c *cycleRun) awaitForms(ctx workflow.Context, phase string, deadline time.Time) error {
	c.accepting = phase
	done := func() bool { return len(c.remaining(phase)) == 0 && len(c.inflight) == 0 }
	reminder := 0
	for !done() {
		left := until(ctx, deadline)
		if left <= 0 {
			break
		}
		wait := left
		remind := c.in.Timing.ReminderEvery > 0 && c.in.Timing.ReminderEvery < left && c.mayRemind(reminder)
		if remind {
			wait = c.in.Timing.ReminderEvery
		}
		ok, err := workflow.AwaitWithTimeout(ctx, wait, done)
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
	return workflow.Await(ctx, func() bool { return len(c.inflight) == 0 })
}

func (c *cycleRun) score(ctx workflow.Context, phase string, baseline map[string]string) (activities.ScoreOutput, error) {
	var out activities.ScoreOutput
	err := workflow.ExecuteActivity(recordCtx(ctx), a.ScoreCycle, activities.ScoreInput{
		CycleID: c.id, WaveID: c.in.WaveID, SiteID: c.in.SiteID, SchoolID: c.in.SchoolID, ChildID: c.in.ChildID,
		Phase: phase, Instrument: c.in.Instrument, AssessedOn: workflow.Now(ctx), Baseline: baseline,
	}).Get(ctx, &out)
	return out, err
}

func (c *cycleRun) atRiskDomains() []string {
	var out []string
	for d, level := range c.domains {
		if level == cycle.RiskModerate || level == cycle.RiskHigh {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

func (c *cycleRun) reassessRespondents(domains []string) []string {
	var out []string
	for _, r := range c.w.Forms.RespondentsFor(c.in.Instrument, domains) {
		if slices.Contains(c.in.Respondents, r) {
			out = append(out, r)
		}
	}
	return out
}

// fastPath notifies the designated social worker and starts an urgent
// referral at once, without waiting for a meeting. The urgent referral is
// abandoned, not cancelled, if the cycle ends: safeguarding outlives the cycle.
func (c *cycleRun) fastPath(ctx workflow.Context) (pendingReferral, error) {
	domain := strings.SplitN(c.flags[0], ".", 2)[0]
	for _, f := range c.flags {
		if strings.HasPrefix(f, "protection.") {
			domain = "protection"
		}
	}
	c.notify(ctx, "safeguarding", activities.ToSafeguarding, messages.SafeguardingAlert, map[string]string{
		"cycle": c.id, "school": c.in.SchoolID, "flags": strings.Join(c.flags, ", "),
	})
	return c.startReferral(ctx, 0, domain, cycle.UrgentServiceType(domain), true, "red flag: "+strings.Join(c.flags, ", "))
}

func (c *cycleRun) startReferral(ctx workflow.Context, k int, domain, serviceType string, urgent bool, reason string) (pendingReferral, error) {
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
	f := workflow.ExecuteChildWorkflow(cctx, ReferralWorkflowName, in)
	if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return pendingReferral{}, fmt.Errorf("starting referral %s: %w", id, err)
	}
	c.referrals = append(c.referrals, id)
	return pendingReferral{id: id, f: f}, nil
}

// awaitReferrals waits for every referral's outcome, asking the school's
// social worker for a follow-up check-in every FollowUpEvery meanwhile.
func (c *cycleRun) awaitReferrals(ctx workflow.Context, pending []pendingReferral) error {
	if len(pending) == 0 {
		return nil
	}
	done := 0
	var firstErr error
	for _, p := range pending {
		workflow.Go(ctx, func(ctx workflow.Context) {
			var r cycle.ReferralResult
			if err := p.f.Get(ctx, &r); err != nil && firstErr == nil {
				firstErr = fmt.Errorf("referral %s: %w", p.id, err)
			}
			c.results[p.id] = r
			done++
		})
	}
	reminder := 0
	for done < len(pending) {
		if !c.mayRemind(reminder) {
			// Enough reminders: the referrals' own SLAs escalate and close
			// them, so wait for that quietly.
			if err := workflow.Await(ctx, func() bool { return done == len(pending) }); err != nil {
				return err
			}
			break
		}
		wait := c.in.Timing.FollowUpEvery
		if wait <= 0 {
			wait = 24 * time.Hour
		}
		ok, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return done == len(pending) })
		if err != nil {
			return err
		}
		if !ok {
			reminder++
			c.notify(ctx, fmt.Sprintf("follow-up-due/%d", reminder), activities.ToSocialWorker, messages.FollowUpDue, map[string]string{
				"cycle": c.id, "open": fmt.Sprint(len(pending) - done),
			})
		}
	}
	return firstErr
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

// awaitPlan waits for the meeting's plan, escalating to the site
// coordinator every PlanDeadline: a child at risk never silently drops out.
func (c *cycleRun) awaitPlan(ctx workflow.Context) error {
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

// notify sends a message and carries on if the notify plugin keeps failing:
// the Notify activity retries for a day and a lost reminder must not stop a
// child's cycle. Failures stay visible in the history and the plugin metrics.
func (c *cycleRun) notify(ctx workflow.Context, key, to, template string, params map[string]string) {
	nctx := workflow.WithScheduleToCloseTimeout(pluginCtx(ctx), 24*time.Hour)
	err := workflow.ExecuteActivity(nctx, a.Notify, activities.NotifyInput{
		Key: c.id + "/" + key, SiteID: c.in.SiteID, SchoolID: c.in.SchoolID, To: to, Template: template, Params: params,
	}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("notification not sent", "key", key, "error", err)
	}
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
	if errs := c.w.Forms.CheckAnswers(c.in.Instrument, in.Respondent, in.Answers); len(errs) > 0 {
		return invalid(errs)
	}
	return nil
}

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
		return cycle.SubmitAssessmentResult{}, fmt.Errorf("the form could not be saved; nothing was recorded, please submit again: %w", err)
	}
	c.received[in.Phase][in.Respondent] = true
	c.awaiting = c.remaining(in.Phase)
	return cycle.SubmitAssessmentResult{Remaining: c.awaiting}, nil
}

func (c *cycleRun) validateFollowUp(in cycle.FollowUpInput) error {
	if c.stage != cycle.StageFollowUp {
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
	if len(errs) > 0 {
		return invalid(errs)
	}
	return nil
}

func (c *cycleRun) recordFollowUp(ctx workflow.Context, in cycle.FollowUpInput) (cycle.FollowUpResult, error) {
	c.followUpSeq++
	rec := cycle.FollowUpRecord{ID: fmt.Sprintf("%s/follow-up/%d", c.id, c.followUpSeq), CycleID: c.id, Note: in.Note, RecordedBy: in.RecordedBy, At: workflow.Now(ctx)}
	if err := c.record(ctx, true, a.SaveFollowUp, rec).Get(ctx, nil); err != nil {
		return cycle.FollowUpResult{}, fmt.Errorf("the follow-up could not be saved, please submit again: %w", err)
	}
	c.followUps++
	return cycle.FollowUpResult{Count: c.followUps}, nil
}
