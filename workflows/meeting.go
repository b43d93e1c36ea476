package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/messages"
)

type meetingRun struct {
	w      *Workflows
	in     cycle.MeetingInput
	id     string
	status string
	agenda []cycle.AgendaItem
	result cycle.MinutesResult
	saving bool
	// ready is set once the agenda is built. The agenda row reaches the
	// database (and the work lists) inside BuildAgenda, a moment before the
	// workflow holds the agenda, so minutes can arrive in between.
	ready bool
}

// Meeting runs one LLCoP meeting of a school: it builds the agenda (children
// awaiting plans, with their domain results and red flags), notifies the
// members, waits for the minutes (an Update carrying a plan per child) and
// signals each child's cycle with its plan. Children the minutes leave out
// stay awaiting a plan and appear on the next meeting's agenda.
func (w *Workflows) Meeting(ctx workflow.Context, in cycle.MeetingInput) (cycle.MinutesResult, error) {
	m := &meetingRun{w: w, in: in, id: workflow.GetInfo(ctx).WorkflowExecution.ID, status: cycle.MeetingAwaitingMinutes}
	if in.Date == "" {
		// A scheduled meeting: its date is the day the schedule started it.
		m.in.Date = workflow.Now(ctx).UTC().Format(time.DateOnly)
	}
	if err := workflow.SetQueryHandler(ctx, cycle.QueryMeeting, func() (cycle.MeetingStatus, error) {
		return cycle.MeetingStatus{Status: m.status, Agenda: m.agenda}, nil
	}); err != nil {
		return cycle.MinutesResult{}, fmt.Errorf("registering query: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, cycle.UpdateSubmitMinutes, m.submitMinutes,
		workflow.UpdateHandlerOptions{Validator: m.validateMinutes}); err != nil {
		return cycle.MinutesResult{}, fmt.Errorf("registering minutes update: %w", err)
	}

	if err := workflow.ExecuteActivity(recordCtx(ctx), a.BuildAgenda, activities.AgendaInput{
		MeetingID: m.id, SiteID: in.SiteID, SchoolID: in.SchoolID, Date: m.in.Date, At: workflow.Now(ctx),
	}).Get(ctx, &m.agenda); err != nil {
		return cycle.MinutesResult{}, err
	}
	m.ready = true
	if len(m.agenda) == 0 {
		m.status = cycle.MeetingNoAgenda
		return m.result, m.save(ctx)
	}
	m.notify(ctx, "agenda", activities.ToLLCoP, messages.MeetingAgenda)

	ok, err := workflow.AwaitWithTimeout(ctx, in.MinutesAfter, func() bool { return m.status != cycle.MeetingAwaitingMinutes || m.saving })
	if err != nil {
		return m.result, err
	}
	if !ok {
		m.status = cycle.MeetingMinutesMissing
		for _, it := range m.agenda {
			m.result.RolledOver = append(m.result.RolledOver, it.CycleID)
		}
		if err := m.save(ctx); err != nil {
			return m.result, err
		}
		m.notify(ctx, "minutes-missing", activities.ToCoordinator, messages.MinutesMissing)
		return m.result, nil
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return m.result, err
	}
	return m.result, nil
}

// deliverPlans signals each child's cycle with its plan. Meetings started
// since "concurrent-plan-signals" send every signal at once and then wait
// for all (one workflow task, however long the minutes); earlier ones sent
// them one after another, a round trip each.
func (m *meetingRun) deliverPlans(ctx workflow.Context, plans []cycle.ChildPlan) {
	signal := func(p cycle.ChildPlan) workflow.Future {
		item, _ := m.onAgenda(p.CycleID)
		return workflow.SignalExternalWorkflow(ctx, p.CycleID, "", cycle.SignalPlanAgreed, cycle.PlanSignal{
			MeetingID: m.id, Actions: p.Actions, Concern: item.Reason == cycle.AgendaConcern,
		})
	}
	check := func(p cycle.ChildPlan, f workflow.Future) {
		if err := f.Get(ctx, nil); err != nil {
			if item, _ := m.onAgenda(p.CycleID); item.Reason == cycle.AgendaConcern {
				// A concern about a child whose cycle has closed (low risk,
				// say): the meeting makes the plan's referrals itself.
				m.referForClosedCycle(ctx, p)
				return
			}
			// The cycle closed meanwhile (withdrawn, say): the plan is kept in the minutes.
			workflow.GetLogger(ctx).Warn("plan not delivered", "cycle", p.CycleID, "error", err)
		}
	}
	if workflow.GetVersion(ctx, "concurrent-plan-signals", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		for _, p := range plans {
			check(p, signal(p))
		}
		return
	}
	sent := make([]workflow.Future, len(plans))
	for i, p := range plans {
		sent[i] = signal(p)
	}
	for i, p := range plans {
		check(p, sent[i])
	}
}

func (m *meetingRun) save(ctx workflow.Context) error {
	return workflow.ExecuteActivity(recordCtx(ctx), a.SaveMeeting, cycle.MeetingRecord{
		MeetingID: m.id, SiteID: m.in.SiteID, SchoolID: m.in.SchoolID, Date: m.in.Date, Status: m.status, Agenda: m.agenda, At: workflow.Now(ctx),
	}).Get(ctx, nil)
}

// notify sends a message about the meeting (see sendNotice).
func (m *meetingRun) notify(ctx workflow.Context, key, to, template string) {
	sendNotice(ctx, activities.NotifyInput{
		Key: m.id + "/" + key, SiteID: m.in.SiteID, SchoolID: m.in.SchoolID, To: to, Template: template,
		Params: map[string]string{"meeting": m.id, "count": fmt.Sprint(len(m.agenda))},
	})
}

func (m *meetingRun) onAgenda(cycleID string) (cycle.AgendaItem, bool) {
	for _, it := range m.agenda {
		if it.CycleID == cycleID && (it.Reason == cycle.AgendaAwaitingPlan || it.Reason == cycle.AgendaConcern) {
			return it, true
		}
	}
	return cycle.AgendaItem{}, false
}

// validateMinutes rejects minutes with every problem listed, before anything is recorded.
func (m *meetingRun) validateMinutes(in cycle.MinutesInput) error {
	if m.status != cycle.MeetingAwaitingMinutes || m.saving {
		return conflict("the meeting's minutes were already recorded or the meeting closed (%s)", m.status)
	}
	if !m.ready {
		return conflict("the meeting's agenda is still being prepared; nothing was recorded, please submit again in a moment")
	}
	var errs []cycle.FieldError
	add := func(field, code, format string, args ...any) {
		errs = append(errs, cycle.FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(in.RecordedBy) == "" {
		add("recorded_by", "required", "recorded_by is required")
	}
	if len(in.Plans) == 0 {
		add("plans", "required", "minutes must record at least one child's plan")
	}
	seen := map[string]bool{}
	for i, p := range in.Plans {
		field := fmt.Sprintf("plans[%d]", i)
		item, ok := m.onAgenda(p.CycleID)
		switch {
		case !ok:
			add(field+".cycle_id", "not_on_agenda", "this child is not on the meeting's agenda awaiting a plan or added with a concern")
		case seen[p.CycleID]:
			add(field+".cycle_id", "duplicate", "this child has two plans in the minutes")
		}
		seen[p.CycleID] = true
		if len(p.Actions) == 0 {
			add(field+".actions", "required", "a plan needs at least one action")
		}
		for j, act := range p.Actions {
			af := fmt.Sprintf("%s.actions[%d]", field, j)
			if act.Kind == cycle.ActionCompleteAssessment && act.Domain == "" {
				// Completing the assessment is about respondents, not one domain.
			} else if ok && item.Domains != nil {
				if _, known := item.Domains[act.Domain]; !known {
					add(af+".domain", "invalid_choice", "domain %q is not one of the child's assessed domains", act.Domain)
				}
			} else if act.Domain == "" {
				add(af+".domain", "required", "domain is required")
			}
			if act.ServiceType != "" && !slices.Contains(m.in.ServiceTypes, act.ServiceType) {
				add(af+".service_type", "invalid_choice", "service type %q is not in the site's services directory (%s)", act.ServiceType, strings.Join(m.in.ServiceTypes, ", "))
			}
			if len(act.Note) > 2000 {
				add(af+".note", "too_long", "note must be at most 2000 characters")
			}
			switch act.Kind {
			case "":
			case cycle.ActionCompleteAssessment:
				if ok && len(item.Missing) == 0 && len(item.Unassessed) == 0 {
					add(af+".kind", "invalid_choice", "the child's assessment is complete: there is nothing to complete")
				}
				for k, r := range act.Respondents {
					if ok && !slices.Contains(item.Missing, r) {
						add(fmt.Sprintf("%s.respondents[%d]", af, k), "invalid_choice", "respondent %q has no missing form (missing: %s)", r, strings.Join(item.Missing, ", "))
					}
				}
			default:
				add(af+".kind", "invalid_choice", "kind must be empty (a service or note) or %s", cycle.ActionCompleteAssessment)
			}
			if len(act.Owner) > 200 {
				add(af+".owner", "too_long", "owner must be at most 200 characters")
			}
			errs = append(errs, cycle.ValidateDue(af+".due", act.Due, m.in.Date)...)
		}
	}
	errs = append(errs, cycle.ValidateAttendance("attendance", in.Attendance)...)
	if len(errs) > 0 {
		return invalid(errs)
	}
	return nil
}

func (m *meetingRun) submitMinutes(ctx workflow.Context, in cycle.MinutesInput) (cycle.MinutesResult, error) {
	// Two submissions can pass validation in the same instant; only the first saves.
	if m.saving || m.status != cycle.MeetingAwaitingMinutes {
		return cycle.MinutesResult{}, conflict("the meeting's minutes were already recorded")
	}
	m.saving = true
	if err := workflow.ExecuteActivity(handlerCtx(ctx), a.SaveMinutes, activities.MinutesRecord{
		MeetingID: m.id, Plans: in.Plans, Attendance: in.Attendance, At: workflow.Now(ctx),
	}).Get(ctx, nil); err != nil {
		m.saving = false
		return cycle.MinutesResult{}, notSaved("minutes", err)
	}
	// From here the minutes are saved: deliver every plan before answering.
	m.status = cycle.MeetingHeld
	planned := map[string]bool{}
	for _, p := range in.Plans {
		planned[p.CycleID] = true
	}
	m.deliverPlans(ctx, in.Plans)
	m.result = cycle.MinutesResult{Planned: len(in.Plans)}
	for _, it := range m.agenda {
		if !planned[it.CycleID] {
			m.result.RolledOver = append(m.result.RolledOver, it.CycleID)
		}
	}
	if err := m.save(ctx); err != nil {
		return m.result, err
	}
	m.saving = false
	return m.result, nil
}

// referForClosedCycle starts a referral for each service action of a
// concern plan whose child's cycle has closed. The referrals outlive the
// meeting (their own SLAs escalate and close them).
func (m *meetingRun) referForClosedCycle(ctx workflow.Context, p cycle.ChildPlan) {
	ref, err := cycle.ParseCycleID(p.CycleID)
	if err != nil {
		workflow.GetLogger(ctx).Error("concern plan for an unknown cycle", "cycle", p.CycleID, "error", err)
		return
	}
	var info activities.ConcernReferralOutput
	if err := workflow.ExecuteActivity(recordCtx(ctx), a.PlanConcernReferrals, activities.ConcernReferralInput{SiteID: m.in.SiteID, CycleID: p.CycleID}).Get(ctx, &info); err != nil {
		workflow.GetLogger(ctx).Error("concern referrals not planned", "cycle", p.CycleID, "error", err)
		return
	}
	k := info.NextK
	for _, act := range p.Actions {
		if act.ServiceType == "" {
			continue
		}
		id := cycle.ReferralID(ref.Site, ref.Wave, ref.Child, k)
		k++
		in := cycle.ReferralInput{
			ReferralID: id, SiteID: m.in.SiteID, WaveID: cycle.WaveID(ref.Site, ref.Wave), CycleID: p.CycleID, ChildID: ref.Child, SchoolID: m.in.SchoolID,
			Domain: act.Domain, ServiceType: act.ServiceType, Reason: concernReason(act), AckSLA: info.AckSLA, SLA: info.SLA,
		}
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:        id,
			ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		})
		f := workflow.ExecuteChildWorkflow(cctx, ReferralWorkflowName, in)
		if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("concern referral not started", "referral", id, "error", err)
		}
	}
}
