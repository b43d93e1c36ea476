package workflows

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

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
	// reassessDomains are the domains the reassessment asks (those found
	// at risk); its forms need only their items.
	reassessDomains []string
	// local runs the cycle's database writes as local activities (cycles
	// started before that change replay with regular ones).
	local bool
	// boundedReminders caps each wait's reminders at MaxReminders (cycles
	// started before that change replay without the cap).
	boundedReminders bool
	// dutyOfCare: red flags act the moment their form is accepted and go
	// to the service their rule declares; a domain nobody assessed is never
	// low risk; the wait for a plan escalates and ends. Cycles started
	// before that change replay as they ran.
	dutyOfCare bool

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
	// whose handler is saving them right now; closeRequested marks phases
	// whose wait a close-window signal ended.
	accepting      string
	expected       map[string][]string
	received       map[string]map[string]bool
	inflight       map[string]bool
	closeRequested map[string]bool

	plan    *cycle.PlanSignal
	planAt  time.Time
	ignored int
	// reviewed is the ALCoP's review of the plan, when one arrived.
	reviewed *cycle.PlanReviewSignal

	// referrals lists every referral started, in order; results holds those
	// with an outcome; open counts those still awaited; nextK numbers them.
	referrals []string
	results   map[string]cycle.ReferralResult
	open      int
	refErr    error
	nextK     int
	usedZero  bool

	// The safeguarding fast path: screens queues forms and check-ins to
	// look at for red flags; handled holds the flag codes acted on, and
	// urgentTo the urgent referral made to each service type.
	screens   []screenJob
	screening bool
	handled   map[string]bool
	urgentTo  map[string]string
	alerts    int

	// followUps counts saved check-ins; followUpSeq numbers them, reserved
	// before saving so concurrent check-ins get distinct IDs.
	followUps   int
	followUpSeq int
}

// ChildCycle runs one child's CoP cycle: enrol, assess, score, plan, refer,
// follow up, reassess. A child without consent never gets past enrol and no
// answer for them is accepted.
func (w *Workflows) ChildCycle(ctx workflow.Context, in cycle.CycleInput) (cycle.CycleResult, error) {
	c := &cycleRun{
		w:              w,
		in:             in,
		id:             workflow.GetInfo(ctx).WorkflowExecution.ID,
		expected:       map[string][]string{},
		received:       map[string]map[string]bool{cycle.PhaseBaseline: {}, cycle.PhaseReassessment: {}},
		inflight:       map[string]bool{},
		closeRequested: map[string]bool{},
		results:        map[string]cycle.ReferralResult{},
		handled:        map[string]bool{},
		urgentTo:       map[string]string{},
	}
	if err := c.registerHandlers(ctx); err != nil {
		return cycle.CycleResult{}, err
	}
	c.local = workflow.GetVersion(ctx, "local-records", workflow.DefaultVersion, 1) == 1
	c.boundedReminders = workflow.GetVersion(ctx, "bounded-reminders", workflow.DefaultVersion, 1) == 1
	c.dutyOfCare = workflow.GetVersion(ctx, "duty-of-care", workflow.DefaultVersion, 1) == 1
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
			c.receivePlan(ctx, p)
		}
	})
	reviews := workflow.GetSignalChannel(ctx, cycle.SignalPlanReviewed)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var r cycle.PlanReviewSignal
			reviews.Receive(ctx, &r)
			if c.reviewed == nil && c.plan != nil {
				c.reviewed = &r
			}
		}
	})
	closes := workflow.GetSignalChannel(ctx, cycle.SignalCloseWindow)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var s cycle.CloseWindowSignal
			closes.Receive(ctx, &s)
			if s.Phase == cycle.PhaseBaseline || s.Phase == cycle.PhaseReassessment {
				c.closeRequested[s.Phase] = true
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

// run walks the stages; each returns whether the cycle closed there.
func (c *cycleRun) run(ctx workflow.Context) (cycle.CycleResult, error) {
	if res, closed, err := c.enrol(ctx); closed || err != nil {
		return res, err
	}
	if c.dutyOfCare {
		workflow.Go(ctx, c.safeguard)
	}
	if res, closed, err := c.assess(ctx); closed || err != nil {
		return res, err
	}
	atRisk, res, closed, err := c.scoreBaseline(ctx)
	if closed || err != nil {
		return res, err
	}
	if !c.dutyOfCare {
		return c.legacyPlanAndAfter(ctx, atRisk)
	}
	agreed, err := c.planPhase(ctx, atRisk)
	if err != nil {
		return cycle.CycleResult{}, err
	}
	if !agreed {
		return c.close(ctx, cycle.OutcomePlanNotAgreed, fmt.Sprintf("no plan agreed within %s: carried to the next wave's agenda", c.planGiveUp()))
	}
	atRisk, err = c.completeAssessment(ctx, atRisk)
	if err != nil {
		return cycle.CycleResult{}, err
	}
	if err := c.followUp(ctx); err != nil {
		return cycle.CycleResult{}, err
	}
	if len(atRisk) == 0 {
		if missing := c.unassessed(); len(missing) > 0 {
			return c.close(ctx, cycle.OutcomeIncomplete, "not assessed: "+strings.Join(missing, ", "))
		}
		return c.close(ctx, cycle.OutcomeLowRisk, "low risk in every domain once the assessment was completed")
	}
	return c.reassess(ctx, atRisk)
}

// enrol checks consent and cohort membership.
func (c *cycleRun) enrol(ctx workflow.Context) (cycle.CycleResult, bool, error) {
	if err := c.enter(ctx, cycle.StageEnrol, nil, ""); err != nil {
		return cycle.CycleResult{}, true, err
	}
	var enrol cycle.Enrolment
	if err := c.record(ctx, false, a.CheckEnrolment, activities.EnrolInput{SiteID: c.in.SiteID, ChildID: c.in.ChildID, Wave: c.in.Wave}).Get(ctx, &enrol); err != nil {
		return cycle.CycleResult{}, true, err
	}
	if !enrol.Found || !enrol.Consented {
		res, err := c.close(ctx, cycle.OutcomeNoConsent, enrol.Reason)
		return res, true, err
	}
	return cycle.CycleResult{}, false, nil
}

// assess waits for the respondents' forms until the window closes.
func (c *cycleRun) assess(ctx workflow.Context) (cycle.CycleResult, bool, error) {
	c.expected[cycle.PhaseBaseline] = append([]string(nil), c.in.Respondents...)
	if err := c.enter(ctx, cycle.StageAssess, c.remaining(cycle.PhaseBaseline), ""); err != nil {
		return cycle.CycleResult{}, true, err
	}
	if err := c.awaitForms(ctx, cycle.PhaseBaseline, c.in.WindowClose); err != nil {
		return cycle.CycleResult{}, true, err
	}
	if len(c.received[cycle.PhaseBaseline]) == 0 {
		res, err := c.close(ctx, cycle.OutcomeNotAssessed, "assessment window closed with no form")
		return res, true, err
	}
	return cycle.CycleResult{}, false, nil
}

// scoreBaseline scores the baseline, acts on its red flags, and closes the
// cycle when nothing is left to plan: low risk in every domain (all of
// them assessed), or no domain assessed at all.
func (c *cycleRun) scoreBaseline(ctx workflow.Context) ([]string, cycle.CycleResult, bool, error) {
	missing := c.remaining(cycle.PhaseBaseline)
	detail := ""
	if len(missing) > 0 {
		detail = "scored without: " + strings.Join(missing, ", ")
	}
	if err := c.enter(ctx, cycle.StageScore, nil, detail); err != nil {
		return nil, cycle.CycleResult{}, true, err
	}
	score, err := c.score(ctx, cycle.PhaseBaseline, nil)
	if err != nil {
		return nil, cycle.CycleResult{}, true, err
	}
	c.domains, c.risk = score.Domains, score.Risk
	if c.dutyOfCare {
		// Flags the screening already acted on are not acted on twice.
		if err := c.raise(ctx, c.routes(ctx, score), "baseline"); err != nil {
			return nil, cycle.CycleResult{}, true, err
		}
	} else {
		c.flags = score.Flags
		if len(c.flags) > 0 {
			if err := c.legacyFastPath(ctx); err != nil {
				return nil, cycle.CycleResult{}, true, err
			}
		}
	}
	atRisk := c.atRiskDomains()
	if c.risk == cycle.RiskNotAssessed && len(c.flags) == 0 {
		res, err := c.close(ctx, cycle.OutcomeNotAssessed, "the forms received assess no domain")
		return nil, res, true, err
	}
	if len(atRisk) == 0 && (!c.dutyOfCare || len(c.unassessed()) == 0) {
		if err := c.awaitReferrals(ctx); err != nil {
			return nil, cycle.CycleResult{}, true, err
		}
		res, err := c.close(ctx, cycle.OutcomeLowRisk, "low risk in every domain: universal services")
		return nil, res, true, err
	}
	return atRisk, cycle.CycleResult{}, false, nil
}

// routes pairs each flag of a score with its declared route. The scoring
// activity sends them; for a score without them the routes are looked up
// in the instrument, recorded so that a release that re-routes a flag
// replays the same.
func (c *cycleRun) routes(ctx workflow.Context, score activities.ScoreOutput) []cycle.RedFlag {
	if len(score.RedFlags) == len(score.Flags) {
		return score.RedFlags
	}
	var out []cycle.RedFlag
	err := workflow.SideEffect(ctx, func(workflow.Context) any {
		routed := make([]cycle.RedFlag, 0, len(score.Flags))
		for _, code := range score.Flags {
			f, ok := c.w.Forms.RedFlag(c.in.Instrument, code)
			if !ok {
				f = cycle.RedFlag{Code: code}
			}
			routed = append(routed, f)
		}
		return routed
	}).Get(&out)
	if err != nil {
		workflow.GetLogger(ctx).Error("routing red flags failed", "cycle", c.id, "error", err)
		for _, code := range score.Flags {
			out = append(out, cycle.RedFlag{Code: code})
		}
	}
	return out
}

// followUp waits for every referral's outcome, if there are any.
func (c *cycleRun) followUp(ctx workflow.Context) error {
	if c.open == 0 && len(c.referrals) == 0 {
		return nil
	}
	if err := c.enter(ctx, cycle.StageFollowUp, c.referrals, ""); err != nil {
		return err
	}
	return c.awaitReferrals(ctx)
}

// reassess assesses the at-risk domains again after the configured
// interval and compares them with baseline.
func (c *cycleRun) reassess(ctx workflow.Context, atRisk []string) (cycle.CycleResult, error) {
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
	c.reassessDomains = atRisk
	if err := c.enter(ctx, cycle.StageReassess, c.remaining(cycle.PhaseReassessment), cycle.ReassessDetail(atRisk)); err != nil {
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
	if c.dutyOfCare {
		if err := c.raise(ctx, c.routes(ctx, re), "reassessment"); err != nil {
			return cycle.CycleResult{}, err
		}
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
	return c.saveRow(ctx, detail)
}

// saveRow writes the cycle's database row as it stands.
func (c *cycleRun) saveRow(ctx workflow.Context, detail string) error {
	rec := cycle.StageRecord{
		CycleID: c.id, WaveID: c.in.WaveID, SiteID: c.in.SiteID, SchoolID: c.in.SchoolID, ChildID: c.in.ChildID,
		Seq: c.seq, Stage: c.stage, Outcome: c.outcome, Risk: c.risk, Flags: c.flags,
		Awaiting: c.awaiting, Detail: detail, At: workflow.Now(ctx),
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

// close ends the cycle with an outcome. Since the duty-of-care change it
// first lets the safeguarding screening finish and waits for every
// referral still open, so nothing started for the child is cut off.
func (c *cycleRun) close(ctx workflow.Context, outcome, detail string) (cycle.CycleResult, error) {
	if c.dutyOfCare && c.stage != cycle.StageEnrol {
		if err := c.awaitScreening(ctx); err != nil {
			return cycle.CycleResult{}, err
		}
		if c.open > 0 {
			if err := c.enter(ctx, cycle.StageFollowUp, c.referrals, "closing as "+outcome+" once the open referrals have an outcome"); err != nil {
				return cycle.CycleResult{}, err
			}
			if err := c.awaitReferrals(ctx); err != nil {
				return cycle.CycleResult{}, err
			}
		}
	}
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

// unassessed lists the domains nobody assessed: a gap to close, never low risk.
func (c *cycleRun) unassessed() []string {
	var out []string
	for d, level := range c.domains {
		if level == cycle.RiskNotAssessed {
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
