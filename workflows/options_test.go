package workflows

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/khula-cop/khula/internal/cycle"
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

// A rejection lists at most maxFieldErrors problems and counts the rest:
// the list travels in the engine's payloads.
func TestInvalidCapsItsFieldErrors(t *testing.T) {
	var errs []cycle.FieldError
	for i := range 120 {
		errs = append(errs, cycle.FieldError{Field: fmt.Sprintf("answers.x%d", i), Code: "unknown_item", Message: "not an item"})
	}
	var appErr *temporal.ApplicationError
	if !errors.As(invalid(errs), &appErr) {
		t.Fatal("not an application error")
	}
	var got []cycle.FieldError
	if err := appErr.Details(&got); err != nil {
		t.Fatal(err)
	}
	if len(got) != maxFieldErrors+1 || got[maxFieldErrors].Code != "more" || got[maxFieldErrors].Message != "and 70 more problem(s)" {
		t.Errorf("%d errors, last %+v", len(got), got[len(got)-1])
	}
	if !strings.HasPrefix(appErr.Message(), "120 field(s) invalid") {
		t.Errorf("message %q", appErr.Message())
	}
	if len(errs) != 120 {
		t.Error("the caller's slice was changed")
	}
}
