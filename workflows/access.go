package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/khula-cop/khula/activities"
)

// AccessAlertWorkflowName is started by the API when a practitioner uses
// break-the-glass, to tell the site's coordinator at once.
const AccessAlertWorkflowName = "AccessAlertWorkflow"

// AccessAlert sends the coordinator the break-the-glass message. The
// notify plugin sends its key once, so the retries of a slow channel never
// send it twice.
func (w *Workflows) AccessAlert(ctx workflow.Context, in activities.NotifyInput) (activities.NotifyResult, error) {
	var res activities.NotifyResult
	err := workflow.ExecuteActivity(pluginCtx(ctx), a.Notify, in).Get(ctx, &res)
	return res, err
}
