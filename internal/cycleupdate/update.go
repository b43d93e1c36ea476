// Package cycleupdate sends human inputs to workflows as Temporal Updates,
// once per caller's ID, sending an input again under a derived ID when the
// workflow accepted it but could not save it.
package cycleupdate

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/khula-cop/khula/internal/cycle"
)

// ResubmitLimit bounds how often one input is sent again after the
// workflow accepted it but could not save it (cycle.ErrTypeNotSaved). Each
// such attempt is a handler's whole write budget
// (workflows.LocalHandlerRetryFor), so the limit covers an outage of minutes.
const ResubmitLimit = 20

// ErrResubmitsExhausted: every resubmission of one input failed to save;
// the caller must send it under a new ID (a new Idempotency-Key).
var ErrResubmitsExhausted = errors.New("the input could not be saved after repeated attempts")

// Send sends an Update and waits for its result until ctx ends. An
// Update whose ID the workflow has seen before is not applied again:
// Temporal answers with the earlier outcome.
//
// Temporal keeps a failed outcome under its ID too, so an input the
// workflow could not save (its database was locked or down) would fail for
// ever under its caller's ID. Nothing was recorded in that case, so the
// input goes again under the next ID of a fixed sequence (ResubmissionID):
// a caller retrying with the same ID walks past the attempts that failed
// and attaches to the one still running or gets the one that succeeded, so
// one ID still records at most once.
func Send(ctx context.Context, c client.Client, workflowID, name, updateID string, arg, result any) error {
	for attempt := range ResubmitLimit {
		err := sendUpdateOnce(ctx, c, workflowID, name, ResubmissionID(updateID, attempt), arg, result)
		if !IsNotSaved(err) {
			return closedOrMissing(ctx, c, workflowID, err)
		}
	}
	return ErrResubmitsExhausted
}

// ErrClosed reports an update sent to a workflow that exists but has
// closed: it accepts no more input. The engine answers such an update
// with the same NotFound as for a workflow that never existed; Send tells
// the two apart by describing the workflow.
var ErrClosed = errors.New("the workflow has closed and accepts no more input")

// closedOrMissing turns a NotFound answer into ErrClosed (wrapping the
// engine's error) when the workflow exists and is no longer running.
func closedOrMissing(ctx context.Context, c client.Client, workflowID string, err error) error {
	var notFound *serviceerror.NotFound
	if !errors.As(err, &notFound) {
		return err
	}
	desc, derr := c.DescribeWorkflowExecution(ctx, workflowID, "")
	if derr != nil {
		return err // missing (or not describable): the NotFound stands
	}
	if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

// IsTimeout reports an update the engine did not answer before the call's
// deadline or cancellation (the SDK's typed error, or the context's own).
func IsTimeout(err error) bool {
	var timeout *client.WorkflowUpdateServiceTimeoutOrCanceledError
	return errors.As(err, &timeout) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

func sendUpdateOnce(ctx context.Context, c client.Client, workflowID, name, updateID string, arg, result any) error {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflowID,
		UpdateName:   name,
		UpdateID:     updateID,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, result)
	}
	return err
}

// ResubmissionID is the update ID of the attempt-th sending of one input:
// the caller's ID first, then the same ID with "#2", "#3", ...
func ResubmissionID(updateID string, attempt int) string {
	if attempt == 0 {
		return updateID
	}
	return fmt.Sprintf("%s#%d", updateID, attempt+1)
}

// IsNotSaved reports a workflow's answer that it accepted an input but
// could not save it.
func IsNotSaved(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == cycle.ErrTypeNotSaved
}
