// Package activities holds every side effect of the CoP cycle: database
// writes, scoring, referral dispatch, notifications and starting cycles.
// Workflows call these through a typed nil *Activities; the worker registers
// one instance holding the dependencies. Every activity is idempotent: a
// retry after a crash writes and sends nothing twice.
package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/messages"
	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/sites"
)

// Records is the app database as the activities see it. Every method is
// idempotent on the record's deterministic ID.
type Records interface {
	RecordStage(ctx context.Context, r cycle.StageRecord) error
	Enrolment(ctx context.Context, q cycle.EnrolmentQuery) (cycle.Enrolment, error)
	Subject(ctx context.Context, childID string) (cycle.Subject, error)
	SaveAssessment(ctx context.Context, r cycle.AssessmentRecord) error
	Assessments(ctx context.Context, cycleID, phase string) (map[string]cycle.Answers, error)
	SaveScore(ctx context.Context, r cycle.ScoreRecord) error
	SaveReferral(ctx context.Context, r cycle.ReferralRecord) error
	PendingAgenda(ctx context.Context, siteID, schoolID string) ([]cycle.AgendaItem, error)
	OverdueActionItems(ctx context.Context, siteID, schoolID string, day time.Time) ([]cycle.AgendaItem, error)
	// AgendaDetails fills in each item's rule reasons, missing respondents
	// (of those given), unassessed domains, urgent referrals and previous result.
	AgendaDetails(ctx context.Context, items []cycle.AgendaItem, respondents []string) error
	SaveMeeting(ctx context.Context, r cycle.MeetingRecord) error
	SaveMinutes(ctx context.Context, meetingID string, plans []cycle.ChildPlan, attendance map[string]int, at time.Time) error
	SaveFollowUp(ctx context.Context, r cycle.FollowUpRecord) error
	SaveWave(ctx context.Context, r cycle.WaveRecord) error
	CohortPage(ctx context.Context, siteID, after string, limit int) ([]cycle.CohortMember, error)
	WaveProgress(ctx context.Context, waveID string) (cycle.WaveProgress, error)
	WaveReport(ctx context.Context, waveID string) (cycle.WaveReport, error)
	WaveAggregates(ctx context.Context, waveID string) ([]cycle.Aggregate, error)
	// ClosedCycleReferrals gives the next free referral number of a cycle
	// and its wave's day length, for a meeting referring a closed cycle's child.
	ClosedCycleReferrals(ctx context.Context, cycleID string) (nextK int, dayLength time.Duration, err error)
	// OpenCycles lists up to limit IDs of a wave's cycles not yet closed,
	// after the given cycle ID, in ID order.
	OpenCycles(ctx context.Context, waveID, after string, limit int) ([]string, error)
}

// Scorer turns a phase's answers into scales, domain risks and red flags.
type Scorer interface {
	Score(ref cycle.InstrumentRef, subject cycle.Subject, assessedOn time.Time, answers map[string]cycle.Answers) (ScoreOutput, []byte, error)
	// Compare says per domain whether the follow-up is improved, unchanged or worse.
	Compare(baseline, follow map[string]string) map[string]string
}

// ScoreOutput is the part of a score the workflow acts on.
type ScoreOutput struct {
	Domains map[string]string `json:"domains"`
	Flags   []string          `json:"flags,omitempty"`
	// RedFlags are the raised flags with where each one's urgent referral
	// goes (as the instrument's red-flag rules declare), in Flags' order.
	RedFlags []cycle.RedFlag   `json:"red_flags,omitempty"`
	Risk     string            `json:"risk"`
	Changes  map[string]string `json:"changes,omitempty"`
}

// SiteDirectory finds a site's configuration.
type SiteDirectory interface {
	Site(id string) (*sites.Site, bool)
}

// Plugins gives the plugins serving a site's roles.
type Plugins interface {
	Referrer(siteID string) (plugins.Referrer, error)
	Notifier(siteID string) (plugins.Notifier, error)
	Exporter(siteID string) (plugins.Exporter, error)
	Intaker(siteID string) (plugins.Intaker, error)
}

// CycleStarter starts a ChildCycleWorkflow; started is false when one with
// the same ID already exists (a relaunch, or a retried page).
type CycleStarter interface {
	StartCycle(ctx context.Context, in cycle.CycleInput) (started bool, err error)
	// SignalCycle signals a workflow by ID; delivered is false when it has
	// closed or never existed, which is not an error.
	SignalCycle(ctx context.Context, workflowID, name string, arg any) (delivered bool, err error)
}

// Activities holds the dependencies of every activity.
type Activities struct {
	Records  Records
	Sites    SiteDirectory
	Scorer   Scorer
	Plugins  Plugins
	Messages *messages.Catalog
	Starter  CycleStarter
	// Retention de-identifies children past their site's retention period.
	Retention RetentionRunner
	// Intake pulls form submissions through the sites' intake plugins.
	Intake IntakePuller
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

// RetentionRunner de-identifies a site's children past its retention period.
type RetentionRunner interface {
	RunRetention(ctx context.Context, siteID string) (string, error)
}

// RunRetention erases the personal fields of children whose waves closed
// longer ago than the site keeps data (the daily retention schedule).
func (a *Activities) RunRetention(ctx context.Context, siteID string) (string, error) {
	if a.Retention == nil {
		return "retention is not configured on this worker", nil
	}
	res, err := a.Retention.RunRetention(ctx, siteID)
	if err != nil {
		return "", fmt.Errorf("retention for %s: %w", siteID, err)
	}
	return res, nil
}
