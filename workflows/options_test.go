package workflows

import (
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// TestLocalRecordsOutlastAnOutage checks the budgets of the workflows' own
// database writes. Without an explicit ScheduleToCloseTimeout the SDK
// allows a local activity one attempt (its StartToCloseTimeout), so a
// database locked for longer failed the whole cycle: the embedded-engine
// test TestSQLiteLockedMidWave (internal/app) shows the behaviour; this
// keeps the options from sliding back.
func TestLocalRecordsOutlastAnOutage(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(quietLogger{})
	env := suite.NewTestWorkflowEnvironment()
	type budgets struct{ Record, Handler workflow.LocalActivityOptions }
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) (budgets, error) {
		return budgets{
			Record:  workflow.GetLocalActivityOptions(localRecordCtx(ctx)),
			Handler: workflow.GetLocalActivityOptions(localHandlerCtx(ctx)),
		}, nil
	}, workflow.RegisterOptions{Name: "budgets"})
	env.ExecuteWorkflow("budgets")
	var got budgets
	if err := env.GetWorkflowResult(&got); err != nil {
		t.Fatal(err)
	}
	if r := got.Record; r.ScheduleToCloseTimeout < 24*time.Hour || r.RetryPolicy == nil || r.RetryPolicy.MaximumAttempts != 0 {
		t.Errorf("stage records retry for %v (policy %+v), want at least a day with unlimited attempts", r.ScheduleToCloseTimeout, r.RetryPolicy)
	}
	if h := got.Handler; h.ScheduleToCloseTimeout <= h.StartToCloseTimeout || h.ScheduleToCloseTimeout >= updateWait {
		t.Errorf("update handlers' writes retry for %v with attempts of %v: want more than one attempt, and an answer within %v",
			h.ScheduleToCloseTimeout, h.StartToCloseTimeout, updateWait)
	}
}

// updateWait is how long the API waits for an update (internal/api's updateTimeout).
const updateWait = 20 * time.Second
