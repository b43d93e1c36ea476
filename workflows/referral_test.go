package workflows

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/messages"
)

func referralInput() cycle.ReferralInput {
	return cycle.ReferralInput{
		ReferralID: "referral/johannesburg/3/c-0001/1", SiteID: "johannesburg", WaveID: "wave/johannesburg/3",
		CycleID: "cycle/johannesburg/3/c-0001", ChildID: "c-0001", SchoolID: "meadowlands",
		Domain: "material", ServiceType: "sassa", AckSLA: 5 * day, SLA: 30 * day,
	}
}

func (f *fixture) referralRecords() *[]cycle.ReferralRecord {
	var saved []cycle.ReferralRecord
	f.env.OnActivity(a.SaveReferral, mock.Anything, mock.Anything).Return(func(_ context.Context, r cycle.ReferralRecord) error {
		saved = append(saved, r)
		return nil
	})
	return &saved
}

func (f *fixture) referralUpdate(delay time.Duration, name string, arg any) *updateOutcome {
	out := &updateOutcome{}
	f.env.RegisterDelayedCallback(func() {
		f.updates++
		f.env.UpdateWorkflow(name, fmt.Sprintf("%s-%d", name, f.updates), &testsuiteCallback{out}, arg)
	}, delay)
	return out
}

func TestReferralDeclinedNotifiesTheSocialWorker(t *testing.T) {
	f := newFixture(t)
	saved := f.referralRecords()
	f.env.OnActivity(a.DispatchReferral, mock.Anything, mock.Anything).Return(activities.DispatchOutput{ServiceID: "sassa-jhb", DispatchRef: "d1"}, nil)
	ack := f.referralUpdate(day, cycle.UpdateAcknowledge, cycle.AcknowledgeInput{By: "sassa"})
	ackTwice := f.referralUpdate(2*day, cycle.UpdateAcknowledge, cycle.AcknowledgeInput{By: "sassa"})
	badOutcome := f.referralUpdate(3*day, cycle.UpdateReferralOutcome, cycle.ReferralOutcomeInput{Outcome: "maybe"})
	decline := f.referralUpdate(4*day, cycle.UpdateReferralOutcome, cycle.ReferralOutcomeInput{Outcome: cycle.ReferralDeclined, By: "sassa"})
	f.env.ExecuteWorkflow(ReferralWorkflowName, referralInput())

	if !ack.accepted || errType(ackTwice.rejected) != cycle.ErrTypeConflict {
		t.Fatalf("ack: %+v, second ack: %v", ack, ackTwice.rejected)
	}
	fe := fieldErrors(t, badOutcome.rejected)
	if len(fe) != 2 || fe[0].Field != "outcome" || fe[1].Field != "by" {
		t.Errorf("bad outcome field errors = %+v, want outcome and by", fe)
	}
	if !decline.accepted {
		t.Fatalf("decline rejected: %v", decline.rejected)
	}
	var res cycle.ReferralResult
	if err := f.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != cycle.ReferralDeclined || res.Overdue {
		t.Errorf("result = %+v", res)
	}
	if got := f.templates(activities.ToSocialWorker); !slices.Equal(got, []string{messages.ReferralDeclined}) {
		t.Errorf("notifications = %v", f.templates(""))
	}
	var statuses []string
	for _, r := range *saved {
		statuses = append(statuses, r.Status)
	}
	if want := []string{"created", "dispatched", "acknowledged", "declined"}; !slices.Equal(statuses, want) {
		t.Errorf("saved statuses = %v, want %v", statuses, want)
	}
}

func TestReferralOverdueThenUnreachable(t *testing.T) {
	f := newFixture(t)
	saved := f.referralRecords()
	f.env.OnActivity(a.DispatchReferral, mock.Anything, mock.Anything).Return(activities.DispatchOutput{ServiceID: "sassa-jhb"}, nil)
	f.env.ExecuteWorkflow(ReferralWorkflowName, referralInput())

	var res cycle.ReferralResult
	if err := f.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != cycle.ReferralUnreachable || !res.Overdue || !res.Automatic {
		t.Fatalf("result = %+v, want unreachable, overdue, automatic", res)
	}
	// No answer for twice the SLA after dispatch.
	if got := f.env.Now().Sub(startTime); got != 60*day {
		t.Errorf("closed after %s, want 60 days", got)
	}
	if got := f.templates(""); !slices.Equal(got, []string{messages.ReferralAckOverdue, messages.ReferralOverdue}) {
		t.Errorf("notifications = %v", got)
	}
	if last := (*saved)[len(*saved)-1]; last.Status != cycle.ReferralUnreachable || !last.Overdue {
		t.Errorf("last record = %+v", last)
	}
}

func TestReferralWithNoServiceClosesAndTellsTheCoordinator(t *testing.T) {
	f := newFixture(t)
	f.referralRecords()
	f.env.OnActivity(a.DispatchReferral, mock.Anything, mock.Anything).Return(activities.DispatchOutput{},
		temporal.NewNonRetryableApplicationError("no sassa service", activities.ErrTypeNoService, nil))
	f.env.ExecuteWorkflow(ReferralWorkflowName, referralInput())
	var res cycle.ReferralResult
	if err := f.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != cycle.ReferralUnreachable || !res.Automatic {
		t.Fatalf("result = %+v", res)
	}
	if got := f.templates(activities.ToCoordinator); len(got) != 1 {
		t.Errorf("coordinator notifications = %v", got)
	}
}

// TestReferralLateAcknowledgementIsSaved: a service that acknowledges after
// the acknowledgement SLA (day 8 of 5) was kept only in the workflow: the
// work list showed the referral dispatched until it closed, so nobody asked
// the service for its outcome and it closed unreachable. The late
// acknowledgement is saved when it comes now, and the outcome follows.
func TestReferralLateAcknowledgementIsSaved(t *testing.T) {
	f := newFixture(t)
	saved := f.referralRecords()
	f.env.OnActivity(a.DispatchReferral, mock.Anything, mock.Anything).Return(activities.DispatchOutput{ServiceID: "sassa-jhb", DispatchRef: "d1"}, nil)
	var ackSavedAt time.Duration
	f.env.RegisterDelayedCallback(func() {
		for _, r := range *saved {
			if r.Status == cycle.ReferralAcknowledged && ackSavedAt == 0 {
				ackSavedAt = f.env.Now().Sub(startTime)
			}
		}
	}, 9*day)
	ack := f.referralUpdate(8*day, cycle.UpdateAcknowledge, cycle.AcknowledgeInput{By: "sassa"})
	done := f.referralUpdate(12*day, cycle.UpdateReferralOutcome, cycle.ReferralOutcomeInput{Outcome: cycle.ReferralCompleted, By: "sassa"})
	f.env.ExecuteWorkflow(ReferralWorkflowName, referralInput())

	if !ack.accepted || !done.accepted {
		t.Fatalf("ack %+v, outcome %+v", ack, done)
	}
	if ackSavedAt == 0 {
		t.Fatal("a day after the late acknowledgement the database still did not show it")
	}
	var res cycle.ReferralResult
	if err := f.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != cycle.ReferralCompleted || !res.Overdue {
		t.Errorf("result = %+v, want completed, overdue (acknowledged late)", res)
	}
	var statuses []string
	for _, r := range *saved {
		statuses = append(statuses, r.Status)
	}
	// created, dispatched, dispatched+overdue (ack SLA passed), acknowledged, completed.
	if want := []string{"created", "dispatched", "dispatched", "acknowledged", "completed"}; !slices.Equal(statuses, want) {
		t.Errorf("saved statuses = %v, want %v", statuses, want)
	}
}
