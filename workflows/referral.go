package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/messages"
)

// referralRun is one referral's state.
type referralRun struct {
	in         cycle.ReferralInput
	status     string
	overdue    bool
	outcome    string
	serviceID  string
	ref        string
	automatic  bool
	dispatched time.Time
	// saved is the status last written to the app database.
	saved string
	// saveLateAck: this run saves a late acknowledgement when it comes
	// (the "save-late-acknowledgement" version).
	saveLateAck bool
}

// awaitOutcome waits up to d for the referral's outcome. A status change
// meanwhile (a late acknowledgement) is saved at once and the wait goes
// on until the same end.
func (r *referralRun) awaitOutcome(ctx workflow.Context, d time.Duration) (bool, error) {
	if !r.saveLateAck {
		return workflow.AwaitWithTimeout(ctx, d, func() bool { return r.outcome != "" })
	}
	end := workflow.Now(ctx).Add(d)
	for {
		ok, err := workflow.AwaitWithTimeout(ctx, until(ctx, end), func() bool { return r.outcome != "" || r.status != r.saved })
		if err != nil || !ok || r.outcome != "" {
			return ok, err
		}
		if err := r.save(ctx); err != nil {
			return false, err
		}
	}
}

// Referral dispatches a referral through the site's referral plugin (once,
// however often the activity is retried), then waits for the service to
// acknowledge it and for an outcome, marking it overdue and escalating past
// each SLA. With no outcome after twice the SLA it closes as unreachable.
func (w *Workflows) Referral(ctx workflow.Context, in cycle.ReferralInput) (cycle.ReferralResult, error) {
	r := &referralRun{in: in, status: cycle.ReferralCreated}
	if err := workflow.SetQueryHandler(ctx, cycle.QueryReferral, func() (cycle.ReferralStatus, error) {
		return cycle.ReferralStatus{Status: r.status, Overdue: r.overdue, Outcome: r.outcome}, nil
	}); err != nil {
		return cycle.ReferralResult{}, fmt.Errorf("registering query: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, cycle.UpdateAcknowledge, r.acknowledge,
		workflow.UpdateHandlerOptions{Validator: r.validateAcknowledge}); err != nil {
		return cycle.ReferralResult{}, fmt.Errorf("registering acknowledge update: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, cycle.UpdateReferralOutcome, r.recordOutcome,
		workflow.UpdateHandlerOptions{Validator: r.validateOutcome}); err != nil {
		return cycle.ReferralResult{}, fmt.Errorf("registering outcome update: %w", err)
	}

	if err := r.save(ctx); err != nil {
		return cycle.ReferralResult{}, err
	}
	var out activities.DispatchOutput
	err := workflow.ExecuteActivity(pluginCtx(ctx), a.DispatchReferral, activities.DispatchInput{
		ReferralID: in.ReferralID, SiteID: in.SiteID, SchoolID: in.SchoolID, CycleID: in.CycleID,
		Domain: in.Domain, ServiceType: in.ServiceType, Urgent: in.Urgent,
	}).Get(ctx, &out)
	if err != nil {
		if !isNonRetryable(err, activities.ErrTypeNoService) && !isNonRetryable(err, activities.ErrTypePluginRejected) {
			return cycle.ReferralResult{}, err
		}
		// No service can take it: tell the coordinator and close it, so the
		// child's plan is revisited instead of waiting forever.
		r.notify(ctx, "undeliverable", activities.ToCoordinator, messages.ReferralOverdue)
		return r.finish(ctx, cycle.ReferralUnreachable, true)
	}
	r.status, r.serviceID, r.ref, r.dispatched = cycle.ReferralDispatched, out.ServiceID, out.DispatchRef, workflow.Now(ctx)
	if err := r.save(ctx); err != nil {
		return cycle.ReferralResult{}, err
	}

	// Acknowledgement within the acknowledgement SLA.
	ok, err := workflow.AwaitWithTimeout(ctx, in.AckSLA, func() bool { return r.status != cycle.ReferralDispatched || r.outcome != "" })
	if err != nil {
		return cycle.ReferralResult{}, err
	}
	if !ok {
		r.overdue = true
		if err := r.save(ctx); err != nil {
			return cycle.ReferralResult{}, err
		}
		r.notify(ctx, "ack-overdue", activities.ToCoordinator, messages.ReferralAckOverdue)
	}
	if r.outcome == "" && r.status == cycle.ReferralAcknowledged {
		if err := r.save(ctx); err != nil {
			return cycle.ReferralResult{}, err
		}
	}

	// An acknowledgement after the acknowledgement SLA is saved when it
	// comes, so the work list shows the referral acknowledged (and the
	// service is asked for its outcome); before, it was kept only in the
	// workflow until the referral closed.
	r.saveLateAck = workflow.GetVersion(ctx, "save-late-acknowledgement", workflow.DefaultVersion, 1) == 1

	// Outcome within the SLA; overdue and escalated past it; unreachable past twice it.
	deadline := r.dispatched.Add(in.SLA)
	ok, err = r.awaitOutcome(ctx, until(ctx, deadline))
	if err != nil {
		return cycle.ReferralResult{}, err
	}
	if !ok {
		r.overdue = true
		if err := r.save(ctx); err != nil {
			return cycle.ReferralResult{}, err
		}
		r.notify(ctx, "overdue", activities.ToSocialWorker, messages.ReferralOverdue)
		if ok, err = r.awaitOutcome(ctx, in.SLA); err != nil {
			return cycle.ReferralResult{}, err
		}
		if !ok {
			return r.finish(ctx, cycle.ReferralUnreachable, true)
		}
	}
	if r.outcome == cycle.ReferralDeclined {
		r.notify(ctx, "declined", activities.ToSocialWorker, messages.ReferralDeclined)
	}
	res, err := r.finish(ctx, r.outcome, false)
	if err != nil {
		return res, err
	}
	return res, workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

func (r *referralRun) finish(ctx workflow.Context, outcome string, automatic bool) (cycle.ReferralResult, error) {
	r.outcome, r.status, r.automatic = outcome, outcome, automatic
	if err := r.save(ctx); err != nil {
		return cycle.ReferralResult{}, err
	}
	return cycle.ReferralResult{ReferralID: r.in.ReferralID, Outcome: outcome, Overdue: r.overdue, Automatic: automatic}, nil
}

func (r *referralRun) save(ctx workflow.Context) error {
	now := workflow.Now(ctx)
	rec := cycle.ReferralRecord{
		ReferralID: r.in.ReferralID, CycleID: r.in.CycleID, WaveID: r.in.WaveID, SiteID: r.in.SiteID, SchoolID: r.in.SchoolID,
		Domain: r.in.Domain, ServiceType: r.in.ServiceType, ServiceID: r.serviceID, Urgent: r.in.Urgent,
		Status: r.status, Overdue: r.overdue, DispatchRef: r.ref, At: now,
	}
	if !r.dispatched.IsZero() {
		due := r.dispatched.Add(r.in.SLA)
		rec.DueAt = &due
	}
	if err := workflow.ExecuteActivity(recordCtx(ctx), a.SaveReferral, rec).Get(ctx, nil); err != nil {
		return err
	}
	r.saved = r.status
	return nil
}

// notify sends a message about the referral (see sendNotice).
func (r *referralRun) notify(ctx workflow.Context, key, to, template string) {
	sendNotice(ctx, activities.NotifyInput{
		Key: r.in.ReferralID + "/" + key, SiteID: r.in.SiteID, SchoolID: r.in.SchoolID, To: to, Template: template,
		Params: map[string]string{"referral": r.in.ReferralID, "service_type": r.in.ServiceType, "sla": r.in.SLA.String()},
	})
}

func (r *referralRun) closed() bool { return r.outcome != "" }

func (r *referralRun) validateAcknowledge(in cycle.AcknowledgeInput) error {
	switch {
	case r.closed():
		return conflict("the referral is closed (%s)", r.outcome)
	case r.status == cycle.ReferralCreated:
		return conflict("the referral has not been dispatched yet")
	case r.status == cycle.ReferralAcknowledged:
		return conflict("the referral was already acknowledged")
	case strings.TrimSpace(in.By) == "":
		return invalid([]cycle.FieldError{{Field: "by", Code: "required", Message: "by is required: who acknowledges"}})
	}
	return nil
}

func (r *referralRun) acknowledge(ctx workflow.Context, in cycle.AcknowledgeInput) (cycle.ReferralStatus, error) {
	r.status = cycle.ReferralAcknowledged
	return cycle.ReferralStatus{Status: r.status, Overdue: r.overdue}, nil
}

func (r *referralRun) validateOutcome(in cycle.ReferralOutcomeInput) error {
	if r.closed() {
		return conflict("the referral is closed (%s)", r.outcome)
	}
	if r.status == cycle.ReferralCreated {
		return conflict("the referral has not been dispatched yet")
	}
	var errs []cycle.FieldError
	switch in.Outcome {
	case cycle.ReferralCompleted, cycle.ReferralDeclined, cycle.ReferralUnreachable:
	default:
		errs = append(errs, cycle.FieldError{Field: "outcome", Code: "invalid_choice", Message: "outcome must be completed, declined or unreachable"})
	}
	if strings.TrimSpace(in.By) == "" {
		errs = append(errs, cycle.FieldError{Field: "by", Code: "required", Message: "by is required: who records the outcome"})
	}
	if len(errs) > 0 {
		return invalid(errs)
	}
	return nil
}

func (r *referralRun) recordOutcome(ctx workflow.Context, in cycle.ReferralOutcomeInput) (cycle.ReferralStatus, error) {
	if r.closed() {
		return cycle.ReferralStatus{}, conflict("the referral is closed (%s)", r.outcome)
	}
	r.outcome = in.Outcome
	return cycle.ReferralStatus{Status: r.status, Overdue: r.overdue, Outcome: r.outcome}, nil
}
