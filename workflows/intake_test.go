package workflows

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/khula-cop/khula/activities"
)

func TestIntakeWorkflowPullsAndReports(t *testing.T) {
	f := newFixture(t)
	want := activities.IntakeReport{Source: "ODK Central", Format: "central-json", Rows: 4, Submitted: 3, NotSubmitted: 1, RedFlags: 1,
		Errors: []activities.IntakeRowError{{Row: 3, InstanceID: "uuid:c3", Reason: "cycle_ref: no such child at this site"}}}
	f.env.OnActivity(a.PullSubmissions, mock.Anything, "moutse").Return(want, nil).Once()
	f.env.ExecuteWorkflow(IntakeWorkflowName, "moutse")
	var got activities.IntakeReport
	require.NoError(t, f.env.GetWorkflowResult(&got))
	assert.Equal(t, want, got)
	f.env.AssertExpectations(t)
}

// A pull stopped by an outage is tried again; one the plugin refused
// (wrong token, unknown form) is not: a person must fix the settings.
func TestIntakeWorkflowRetries(t *testing.T) {
	t.Run("an outage", func(t *testing.T) {
		f := newFixture(t)
		f.env.OnActivity(a.PullSubmissions, mock.Anything, "moutse").Return(activities.IntakeReport{}, errors.New("intake pull stopped: the database did not answer")).Once()
		f.env.OnActivity(a.PullSubmissions, mock.Anything, "moutse").Return(activities.IntakeReport{Submitted: 2}, nil).Once()
		f.env.ExecuteWorkflow(IntakeWorkflowName, "moutse")
		var got activities.IntakeReport
		require.NoError(t, f.env.GetWorkflowResult(&got))
		assert.Equal(t, 2, got.Submitted)
		f.env.AssertExpectations(t)
	})
	t.Run("the plugin refused", func(t *testing.T) {
		f := newFixture(t)
		f.env.OnActivity(a.PullSubmissions, mock.Anything, "moutse").Return(activities.IntakeReport{},
			temporal.NewNonRetryableApplicationError("intake plugin rejected the request: 401", activities.ErrTypePluginRejected, nil)).Once()
		f.env.ExecuteWorkflow(IntakeWorkflowName, "moutse")
		err := f.env.GetWorkflowError()
		var appErr *temporal.ApplicationError
		require.ErrorAs(t, err, &appErr)
		assert.Equal(t, activities.ErrTypePluginRejected, appErr.Type())
		f.env.AssertExpectations(t)
	})
}
