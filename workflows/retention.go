package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// RetentionWorkflowName is started daily per site by a Temporal Schedule.
const RetentionWorkflowName = "RetentionWorkflow"

// Retention de-identifies the site's children whose waves closed longer
// ago than the site keeps personal data.
func (w *Workflows) Retention(ctx workflow.Context, siteID string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Minute, BackoffCoefficient: 2, MaximumInterval: time.Hour, MaximumAttempts: 10},
	})
	var res string
	err := workflow.ExecuteActivity(ctx, a.RunRetention, siteID).Get(ctx, &res)
	return res, err
}
