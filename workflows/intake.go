package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/khula-cop/khula/activities"
)

// IntakeWorkflowName is started per site with an intake plugin by a
// Temporal Schedule, every plugins.intake.every.
const IntakeWorkflowName = "IntakeWorkflow"

// Intake pulls the site's form submissions from its form server and
// submits the new ones to their cycles. A pull that stops half way (the
// database or the engine unavailable) is retried and does the rest; the
// next scheduled pull would too.
func (w *Workflows) Intake(ctx workflow.Context, siteID string) (activities.IntakeReport, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    30 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Minute,
			MaximumAttempts:    4,
		},
	})
	var rep activities.IntakeReport
	err := workflow.ExecuteActivity(ctx, a.PullSubmissions, siteID).Get(ctx, &rep)
	return rep, err
}
