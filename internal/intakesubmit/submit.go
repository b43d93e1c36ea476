// Package intakesubmit submits form submissions read from ODK Central or
// KoboToolbox exports (package intake) to their children's cycles: once per
// instanceID however often an export arrives, whether a coordinator uploads
// it (package api) or the site's intake plugin pulls it on a schedule
// (Puller). Red flags act on arrival because each form goes to its cycle as
// any form does; nothing here screens answers itself.
package intakesubmit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/cycleupdate"
	"github.com/khula-cop/khula/internal/instrument"
	"github.com/khula-cop/khula/internal/intake"
	"github.com/khula-cop/khula/internal/store"
)

// importedMark ends SubmittedBy of an imported form, before its instanceID.
const importedMark = ", imported from submission "

// DefaultUpdateTimeout bounds the wait for one cycle to take one form.
const DefaultUpdateTimeout = 20 * time.Second

// ErrStoreDown is returned when the database did not answer the lookup of
// an earlier import: nothing was submitted.
var ErrStoreDown = errors.New("the database did not answer")

// UpdateID is the Update ID of an imported submission: the same submission
// (instanceID) always makes the same ID, so the cycle takes it once however
// often the export arrives.
func UpdateID(phase, respondent, instanceID string) string {
	return "assessment/" + phase + "/" + respondent + "/odk:" + strings.ToLower(instanceID)
}

// SubmittedBy is the submitted_by of an imported form: who imported it and
// from which submission.
func SubmittedBy(who, instanceID string) string {
	return who + importedMark + strings.ToLower(instanceID)
}

// Outcome is what became of one submission.
type Outcome int

// Outcomes of Submit.
const (
	// Failed: not submitted; the error says why.
	Failed Outcome = iota
	// Submitted: the cycle took the form now.
	Submitted
	// Already: an earlier import of the same submission was taken.
	Already
)

// Submitter sends submissions to their cycles.
type Submitter struct {
	Temporal client.Client
	Store    *store.Store
	// UpdateTimeout bounds each form's wait (DefaultUpdateTimeout when 0).
	UpdateTimeout time.Duration
}

// Submit sends one submission to its cycle as the assessment of its phase
// and respondent, submitted by who. A form this submission became before
// (found in the database) is not sent again: its cycle may have moved on or
// closed. The error is ErrStoreDown or the engine's answer, for the caller
// to classify (a rejection, a conflict, no running cycle, or unavailable).
func (s *Submitter) Submit(ctx context.Context, who string, sub intake.Submission) (Outcome, error) {
	id := cycle.CycleID(sub.Site, sub.Wave, sub.Child)
	instanceID := strings.ToLower(sub.InstanceID)
	var prev []store.Assessment
	lookup, cancel := context.WithTimeout(ctx, 5*time.Second)
	err := s.Store.DB(lookup).Select("submitted_by").Where("id = ?", store.AssessmentID(id, sub.Phase, sub.Respondent)).Limit(1).Find(&prev).Error
	cancel()
	if err != nil {
		return Failed, fmt.Errorf("%w: %v", ErrStoreDown, err)
	}
	if len(prev) == 1 && strings.HasSuffix(prev[0].SubmittedBy, importedMark+instanceID) {
		return Already, nil
	}
	in := cycle.SubmitAssessmentInput{Phase: sub.Phase, Respondent: sub.Respondent, Answers: cycle.Answers(sub.Answers),
		SubmittedBy: SubmittedBy(who, instanceID)}
	wait := s.UpdateTimeout
	if wait <= 0 {
		wait = DefaultUpdateTimeout
	}
	uctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var res cycle.SubmitAssessmentResult
	if err := cycleupdate.Send(uctx, s.Temporal, id, cycle.UpdateSubmitAssessment, UpdateID(sub.Phase, sub.Respondent, instanceID), in, &res); err != nil {
		return Failed, err
	}
	if len(prev) == 1 {
		// The form was recorded and the cycle still took this Update: it
		// answered with the earlier outcome of the same Update ID.
		return Already, nil
	}
	return Submitted, nil
}

// RedFlags counts the red flags a submission raises by its own answers
// (flags that need growth tables or several forms are found by the cycle's
// screening only).
func RedFlags(flags []instrument.PortableFlag, answers instrument.Answers) int {
	declined := map[string]bool{}
	for item, v := range answers {
		if v == any(instrument.Declined) {
			declined[item] = true
		}
	}
	n := 0
	for _, f := range flags {
		if f.Cond != nil && f.Cond.Holds(answers, declined) {
			n++
		}
	}
	return n
}
