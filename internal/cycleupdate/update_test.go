package cycleupdate

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/mock"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"
)

func TestClosedOrMissing(t *testing.T) {
	notFound := serviceerror.NewNotFound("workflow execution already completed")
	described := func(status enumspb.WorkflowExecutionStatus) *workflowservice.DescribeWorkflowExecutionResponse {
		return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{Status: status}}
	}
	tests := []struct {
		name        string
		err         error
		describe    *workflowservice.DescribeWorkflowExecutionResponse
		describeErr error
		wantClosed  bool
		wantSame    bool
	}{
		{name: "completed", err: notFound, describe: described(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED), wantClosed: true},
		{name: "terminated", err: notFound, describe: described(enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED), wantClosed: true},
		{name: "running (the update itself was not found)", err: notFound, describe: described(enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING), wantSame: true},
		{name: "no such workflow", err: notFound, describeErr: serviceerror.NewNotFound("workflow not found"), wantSame: true},
		{name: "another error is not looked into", err: errors.New("engine down"), wantSame: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &mocks.Client{}
			if tc.describe != nil || tc.describeErr != nil {
				c.On("DescribeWorkflowExecution", mock.Anything, "cycle/s/1/ch-1", "").Return(tc.describe, tc.describeErr).Once()
			}
			got := closedOrMissing(context.Background(), c, "cycle/s/1/ch-1", tc.err)
			if errors.Is(got, ErrClosed) != tc.wantClosed {
				t.Errorf("ErrClosed = %v, want %v (%v)", !tc.wantClosed, tc.wantClosed, got)
			}
			if tc.wantSame && got != tc.err {
				t.Errorf("got %v, want the engine's error unchanged", got)
			}
			var nf *serviceerror.NotFound
			if tc.wantClosed && !errors.As(got, &nf) {
				t.Errorf("ErrClosed hides the engine's NotFound: %v", got)
			}
			c.AssertExpectations(t)
		})
	}
}

func TestIsTimeout(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{client.NewWorkflowUpdateServiceTimeoutOrCanceledError(errors.New("deadline")), true},
		{fmt.Errorf("sending: %w", client.NewWorkflowUpdateServiceTimeoutOrCanceledError(errors.New("deadline"))), true},
		{context.DeadlineExceeded, true},
		{context.Canceled, true},
		{errors.New("Timeout or cancellation waiting for update"), false}, // text alone is not the type
		{serviceerror.NewUnavailable("down"), false},
	}
	for _, tc := range tests {
		if got := IsTimeout(tc.err); got != tc.want {
			t.Errorf("IsTimeout(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
