package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/khula-cop/khula/plugins"
)

// MaxIntakeReportErrors bounds the row errors a pull's report lists; the
// counts still cover every row.
const MaxIntakeReportErrors = 100

// IntakeReport tells what one pull did. It names rows and instanceIDs,
// never an answer or a child's name.
type IntakeReport struct {
	Source    string `json:"source"`
	Format    string `json:"format"`
	Rows      int    `json:"rows"`
	Submitted int    `json:"submitted"`
	// Already counts submissions an earlier pull or upload submitted.
	Already int `json:"already"`
	// Rejected counts submissions the server's reviewer rejected.
	Rejected int `json:"rejected"`
	// NotSubmitted counts the rows with an error (reviewer rejections aside).
	NotSubmitted int `json:"not_submitted"`
	// RedFlags counts the red flags the submitted forms raise by their own answers.
	RedFlags int `json:"red_flags"`
	// Errors lists the first MaxIntakeReportErrors rows not submitted and why.
	Errors []IntakeRowError `json:"errors,omitempty"`
}

// IntakeRowError is why one row of a pull was not submitted.
type IntakeRowError struct {
	Row        int    `json:"row"`
	InstanceID string `json:"instance_id,omitempty"`
	Reason     string `json:"reason"`
}

// IntakePuller pulls a site's form submissions through its intake plugin
// and submits the new ones to their cycles (package intakesubmit).
type IntakePuller interface {
	Pull(ctx context.Context, siteID string, progress func(done, total int)) (IntakeReport, error)
}

// ErrTypeIntakeNotConfigured: the worker has no intake puller, or the site
// names no intake plugin.
const ErrTypeIntakeNotConfigured = "IntakeNotConfigured"

// PullSubmissions fetches the site's submissions from its form server (ODK
// Central, KoboToolbox) and submits each one not yet submitted to its
// cycle, where its red flags act at once as any form's. Pulling again
// submits nothing twice: each submission's instanceID is its key. The
// report names rows and instanceIDs only.
func (a *Activities) PullSubmissions(ctx context.Context, siteID string) (IntakeReport, error) {
	if a.Intake == nil {
		return IntakeReport{}, temporal.NewNonRetryableApplicationError("this worker has no intake puller", ErrTypeIntakeNotConfigured, nil)
	}
	site, err := a.site(siteID)
	if err != nil {
		return IntakeReport{}, err
	}
	if !site.Plugins.Intake.Configured() {
		return IntakeReport{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("site %s names no intake plugin", siteID), ErrTypeIntakeNotConfigured, nil)
	}
	rep, err := a.Intake.Pull(ctx, siteID, func(done, total int) {
		if done%50 == 0 || done == total {
			activity.RecordHeartbeat(ctx, done)
		}
	})
	switch {
	case err == nil:
		return rep, nil
	case errors.Is(err, plugins.ErrPermanent):
		return rep, pluginError(plugins.RoleIntake, err)
	default:
		return rep, fmt.Errorf("pulling submissions for %s: %w", siteID, err)
	}
}
