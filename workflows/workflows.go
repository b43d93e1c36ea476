// Package workflows holds the CoP cycle as Temporal workflows: WaveWorkflow
// fans a wave out into one ChildCycleWorkflow per child; each cycle enrols,
// assesses, scores, plans (through MeetingWorkflow), refers (through
// ReferralWorkflow), follows up and reassesses. Workflow code is
// deterministic and does no I/O: every side effect is an activity.
package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/cycle"
)

// Workflow type names, stable across releases: renaming one strands running workflows.
const (
	WaveWorkflowName     = "WaveWorkflow"
	CycleWorkflowName    = "ChildCycleWorkflow"
	MeetingWorkflowName  = "MeetingWorkflow"
	ReferralWorkflowName = "ReferralWorkflow"
)

// FormChecker checks human inputs against an instrument version. It must be
// deterministic: validators run inside workflow code.
type FormChecker interface {
	// CheckAnswers lists every problem with one respondent's answers; with
	// domains (a reassessment) only those domains' required items must be answered.
	CheckAnswers(ref cycle.InstrumentRef, respondent string, domains []string, answers cycle.Answers) []cycle.FieldError
	// RespondentsFor lists the respondents whose items feed the given domains.
	RespondentsFor(ref cycle.InstrumentRef, domains []string) []string
	// KnownDomain reports whether domain is one of the instrument's domains.
	KnownDomain(ref cycle.InstrumentRef, domain string) bool
	// RedFlag returns a red-flag rule's code, domain and the service type
	// its urgent referral goes to ("" for a flag that only prompts the
	// safeguarding social worker); false for a code the instrument lacks.
	RedFlag(ref cycle.InstrumentRef, code string) (cycle.RedFlag, bool)
}

// Workflows holds what workflow code may read: immutable, deterministic
// dependencies only.
type Workflows struct {
	Forms FormChecker
}

// Register registers every workflow and the activities on a worker.
func Register(r worker.Registry, wf *Workflows, acts *activities.Activities) {
	r.RegisterWorkflowWithOptions(wf.Wave, workflow.RegisterOptions{Name: WaveWorkflowName})
	r.RegisterWorkflowWithOptions(wf.ChildCycle, workflow.RegisterOptions{Name: CycleWorkflowName})
	r.RegisterWorkflowWithOptions(wf.Meeting, workflow.RegisterOptions{Name: MeetingWorkflowName})
	r.RegisterWorkflowWithOptions(wf.Referral, workflow.RegisterOptions{Name: ReferralWorkflowName})
	r.RegisterWorkflowWithOptions(wf.Retention, workflow.RegisterOptions{Name: RetentionWorkflowName})
	r.RegisterWorkflowWithOptions(wf.Intake, workflow.RegisterOptions{Name: IntakeWorkflowName})
	r.RegisterWorkflowWithOptions(wf.AccessAlert, workflow.RegisterOptions{Name: AccessAlertWorkflowName})
	if acts != nil {
		r.RegisterActivity(acts)
	}
}

// a is the typed nil pointer through which workflows name activities.
var a *activities.Activities

// retry policies: recording activities retry until the database is back
// (nothing is lost); activities inside an update handler give up sooner so
// the caller gets an answer and can resubmit.
func recordCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
		},
	})
}

func handlerCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    200 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Second,
			MaximumAttempts:    6,
		},
	})
}

// How long a workflow's own database writes (local activities) keep
// retrying: a workflow's record waits out any outage of a month; an update
// handler's gives up in time for the API to answer its caller.
const (
	LocalRecordRetryFor  = 30 * 24 * time.Hour
	LocalHandlerRetryFor = 15 * time.Second
)

// localRecordCtx runs short database writes as local activities: in the
// worker, with no task round trip through the engine, recorded as one
// marker in the history. They retry until the database answers: the SDK
// takes a missing ScheduleToCloseTimeout to be the StartToCloseTimeout,
// which would allow one attempt only, and a database locked for longer than
// that would fail the whole workflow.
func localRecordCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: LocalRecordRetryFor,
		StartToCloseTimeout:    10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    200 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
		},
	})
}

// localHandlerCtx is localRecordCtx for update handlers: it gives up sooner
// so the caller gets an answer (within the API's wait for an update) and
// can resubmit.
func localHandlerCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: LocalHandlerRetryFor,
		StartToCloseTimeout:    10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    200 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Second,
			MaximumAttempts:    6,
		},
	})
}

// pluginCtx is for calls to site plugins, which are untrusted: a short
// per-call time-out, retried with backoff for as long as it takes.
func pluginCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    2 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Minute,
		},
	})
}

// maxFieldErrors bounds the field errors a rejection carries: the list
// travels in the engine's payloads, which have a size limit.
const maxFieldErrors = 50

func invalid(errs []cycle.FieldError) error {
	n := len(errs)
	if n > maxFieldErrors {
		errs = append(errs[:maxFieldErrors:maxFieldErrors], cycle.FieldError{Field: "answers", Code: "more",
			Message: fmt.Sprintf("and %d more problem(s)", n-maxFieldErrors)})
	}
	return temporal.NewApplicationError(fmt.Sprintf("%d field(s) invalid: %s", n, errs[0].Message), cycle.ErrTypeInvalidInput, errs)
}

// notSaved is the failure of an update handler whose write failed: nothing
// was recorded and the caller may send the input again.
func notSaved(what string, cause error) error {
	return temporal.NewApplicationErrorWithCause(fmt.Sprintf("the %s could not be saved; nothing was recorded, please submit again", what), cycle.ErrTypeNotSaved, cause)
}

func conflict(format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), cycle.ErrTypeConflict)
}

// isNonRetryable reports an activity failure that retrying could not fix.
func isNonRetryable(err error, errType string) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == errType
}

// until returns how long from now until t, never negative.
func until(ctx workflow.Context, t time.Time) time.Duration {
	d := t.Sub(workflow.Now(ctx))
	if d < 0 {
		return 0
	}
	return d
}

// sendNotice runs the Notify activity and carries on if the notify plugin
// keeps failing: the activity retries for a day, and a lost reminder must
// not stop a cycle, a meeting or a referral. Failures stay visible in the
// history and the plugin metrics. (One function for the three workflows
// that send notices: the same commands, so histories replay unchanged.)
func sendNotice(ctx workflow.Context, in activities.NotifyInput) {
	nctx := workflow.WithScheduleToCloseTimeout(pluginCtx(ctx), 24*time.Hour)
	if err := workflow.ExecuteActivity(nctx, a.Notify, in).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("notification not sent", "key", in.Key, "error", err)
	}
}
