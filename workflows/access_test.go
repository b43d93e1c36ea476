package workflows

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/messages"
)

func TestAccessAlertTellsTheCoordinator(t *testing.T) {
	f := newFixture(t)
	in := activities.NotifyInput{Key: "break-glass/g-1", SiteID: "johannesburg", SchoolID: "meadowlands", To: activities.ToCoordinator,
		Template: messages.BreakGlassGranted, Params: map[string]string{"user": "nurse-alex", "child": "c-0001"}}
	f.env.ExecuteWorkflow(AccessAlertWorkflowName, in)
	var res activities.NotifyResult
	require.NoError(t, f.env.GetWorkflowResult(&res))
	assert.Equal(t, 1, res.Sent)
	assert.Equal(t, []activities.NotifyInput{in}, f.notified, "one message, to the coordinator")
}
