package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/khula-cop/khula/internal/cycle"
)

// Cursor marks where a page of a list ended: the last row's time (for
// lists ordered newest first) and ID.
type Cursor struct {
	At time.Time `json:"t,omitzero"`
	ID string    `json:"id"`
}

// WavesPage lists up to limit waves of the given sites (nil: every site),
// newest first, after the cursor (nil: from the start).
func (s *Store) WavesPage(ctx context.Context, siteIDs []string, after *Cursor, limit int) ([]Wave, error) {
	q := s.with(ctx).Order("launched_at DESC, id DESC").Limit(limit)
	if siteIDs != nil {
		q = q.Where("site_id IN ?", append([]string{""}, siteIDs...))
	}
	if after != nil {
		at := after.At.UTC()
		q = q.Where("launched_at < ? OR (launched_at = ? AND id < ?)", at, at, after.ID)
	}
	var out []Wave
	return out, q.Find(&out).Error
}

// Work lists, each paged on its own.
const (
	WorkForms        = "forms"
	WorkAwaitingPlan = "awaiting_plan"
	WorkFollowUps    = "follow_ups"
	WorkMeetings     = "meetings"
	WorkReferrals    = "referrals"
)

// WorkLists names the work lists that page.
var WorkLists = []string{WorkForms, WorkAwaitingPlan, WorkFollowUps, WorkMeetings, WorkReferrals}

// WorkPage lists up to limit entries of one work list of a site (and
// school, when given) with IDs after afterID, in ID order. The result is a
// []FormDue, []string (cycle IDs), []Meeting or []Referral.
func (s *Store) WorkPage(ctx context.Context, siteID, schoolID, list, afterID string, limit int) (any, error) {
	db := s.with(ctx)
	scope := func(q *gorm.DB) *gorm.DB {
		q = q.Where("site_id = ?", siteID)
		if schoolID != "" {
			q = q.Where("school_id = ?", schoolID)
		}
		if afterID != "" {
			q = q.Where("id > ?", afterID)
		}
		return q
	}
	switch list {
	case WorkForms:
		out, err := s.formsDue(ctx, scope, limit)
		if out == nil {
			out = []FormDue{}
		}
		return out, err
	case WorkAwaitingPlan, WorkFollowUps:
		stage := cycle.StagePlan
		if list == WorkFollowUps {
			stage = cycle.StageFollowUp
		}
		out := []string{}
		err := scope(db.Model(&Cycle{})).Where("status = ? AND stage = ?", CycleOpen, stage).Order("id").Limit(limit).Pluck("id", &out).Error
		return out, err
	case WorkMeetings:
		out := []Meeting{}
		err := scope(db.Model(&Meeting{})).Where("status = ?", cycle.MeetingAwaitingMinutes).Order("id").Limit(limit).Find(&out).Error
		return out, err
	case WorkReferrals:
		out := []Referral{}
		err := scope(db.Model(&Referral{})).Where("status IN ?", []string{cycle.ReferralDispatched, cycle.ReferralAcknowledged}).
			Order("id").Limit(limit).Find(&out).Error
		return out, err
	}
	return nil, fmt.Errorf("store: no work list %q", list)
}
