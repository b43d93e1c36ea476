package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
)

// AgendaInput asks for a meeting's agenda.
type AgendaInput struct {
	MeetingID string    `json:"meeting_id"`
	SiteID    string    `json:"site_id"`
	SchoolID  string    `json:"school_id"`
	Date      string    `json:"date"`
	At        time.Time `json:"at"`
}

// BuildAgenda lists the school's children awaiting a plan (with their domain
// results and red flags) and saves the meeting with its agenda.
func (a *Activities) BuildAgenda(ctx context.Context, in AgendaInput) ([]cycle.AgendaItem, error) {
	items, err := a.Records.PendingAgenda(ctx, in.SiteID, in.SchoolID)
	if err != nil {
		return nil, fmt.Errorf("building agenda of %s: %w", in.MeetingID, err)
	}
	overdue, err := a.Records.OverdueActionItems(ctx, in.SiteID, in.SchoolID, in.At)
	if err != nil {
		return nil, fmt.Errorf("building agenda of %s: %w", in.MeetingID, err)
	}
	items = append(items, overdue...)
	site, err := a.site(in.SiteID)
	if err != nil {
		return nil, err
	}
	if err := a.Records.AgendaDetails(ctx, items, site.Respondents); err != nil {
		return nil, fmt.Errorf("building agenda of %s: %w", in.MeetingID, err)
	}
	rec := cycle.MeetingRecord{MeetingID: in.MeetingID, SiteID: in.SiteID, SchoolID: in.SchoolID, Date: in.Date, Status: cycle.MeetingAwaitingMinutes, Agenda: items, At: in.At}
	if err := a.Records.SaveMeeting(ctx, rec); err != nil {
		return nil, fmt.Errorf("saving meeting %s: %w", in.MeetingID, err)
	}
	return items, nil
}

// SaveMeeting records a meeting's status.
func (a *Activities) SaveMeeting(ctx context.Context, r cycle.MeetingRecord) error {
	if err := a.Records.SaveMeeting(ctx, r); err != nil {
		return fmt.Errorf("saving meeting %s: %w", r.MeetingID, err)
	}
	return nil
}

// MinutesRecord is a meeting's minutes to save.
type MinutesRecord struct {
	MeetingID string            `json:"meeting_id"`
	Plans     []cycle.ChildPlan `json:"plans"`
	// Attendance counts who attended by sector.
	Attendance map[string]int `json:"attendance,omitempty"`
	At         time.Time      `json:"at"`
}

// SaveMinutes stores the plans a meeting agreed.
func (a *Activities) SaveMinutes(ctx context.Context, in MinutesRecord) error {
	if err := a.Records.SaveMinutes(ctx, in.MeetingID, in.Plans, in.Attendance, in.At); err != nil {
		return fmt.Errorf("saving minutes of %s: %w", in.MeetingID, err)
	}
	return nil
}

// ConcernReferralInput asks how to refer a closed cycle's child.
type ConcernReferralInput struct {
	SiteID  string `json:"site_id"`
	CycleID string `json:"cycle_id"`
}

// ConcernReferralOutput numbers a meeting's referrals for a child whose
// cycle has closed and gives the site's referral SLAs on the wave's time.
type ConcernReferralOutput struct {
	NextK  int           `json:"next_k"`
	AckSLA time.Duration `json:"ack_sla"`
	SLA    time.Duration `json:"sla"`
}

// PlanConcernReferrals prepares a meeting's referrals for a child added with
// a concern whose cycle has closed (a low-risk child a teacher worries about).
func (a *Activities) PlanConcernReferrals(ctx context.Context, in ConcernReferralInput) (ConcernReferralOutput, error) {
	site, err := a.site(in.SiteID)
	if err != nil {
		return ConcernReferralOutput{}, err
	}
	k, dayLength, err := a.Records.ClosedCycleReferrals(ctx, in.CycleID)
	if err != nil {
		return ConcernReferralOutput{}, fmt.Errorf("referrals of %s: %w", in.CycleID, err)
	}
	scale := func(d time.Duration) time.Duration {
		if dayLength <= 0 {
			return d
		}
		return time.Duration(float64(d) * float64(dayLength) / float64(24*time.Hour))
	}
	return ConcernReferralOutput{NextK: k, AckSLA: scale(site.Durations.ReferralAckSLA.D()), SLA: scale(site.Durations.ReferralSLA.D())}, nil
}
