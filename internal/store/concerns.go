package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/khula-cop/khula/internal/cycle"
)

// AgendaConcern is a practitioner's reason to discuss a child at the next
// LLCoP meeting of the child's school.
type AgendaConcern struct {
	// ID is the cycle's ID: one concern waits per cycle.
	ID        string `gorm:"primaryKey"`
	SiteID    string
	SchoolID  string
	ChildID   string
	Reason    string
	AddedBy   string
	AddedAt   time.Time
	PlannedAt *time.Time
}

func (c *AgendaConcern) fields() map[string]*string { return map[string]*string{"reason": &c.Reason} }

// BeforeSave seals the reason.
func (c *AgendaConcern) BeforeSave(tx *gorm.DB) error {
	return sealFields(tx, "agenda_concerns", c.fields())
}

// AfterSave leaves the caller's copy in clear.
func (c *AgendaConcern) AfterSave(tx *gorm.DB) error {
	return openFields(tx, "agenda_concerns", c.fields())
}

// AfterFind opens the reason.
func (c *AgendaConcern) AfterFind(tx *gorm.DB) error {
	return openFields(tx, "agenda_concerns", c.fields())
}

// concernable reports whether a cycle can be discussed: past enrolment,
// with consent, not withdrawn. A closed cycle can (a low-risk child a
// teacher worries about): the meeting refers the child itself.
func concernable(c Cycle) bool {
	switch {
	case c.Stage == cycle.StageEnrol, c.Stage == "":
		return false
	case c.Outcome == cycle.OutcomeNoConsent, c.Outcome == cycle.OutcomeWithdrawn:
		return false
	}
	return true
}

// Errors of AddConcern.
var (
	// ErrCycleNotOpen: the cycle does not exist, has not got past
	// enrolment, has no consent or was withdrawn.
	ErrCycleNotOpen = errors.New("store: the child's cycle cannot take a concern: not enrolled with consent")
	// ErrConcernPending: the child is already on the agenda with a concern.
	ErrConcernPending = errors.New("store: the child is already on the next agenda with a concern")
)

// AddConcern puts a child on the school's next agenda with a reason. The
// cycle must be past enrolment with consent; one concern waits at a time.
func (s *Store) AddConcern(ctx context.Context, cycleID, reason, addedBy string, at time.Time) (AgendaConcern, error) {
	var out AgendaConcern
	err := s.with(ctx).Transaction(func(tx *gorm.DB) error {
		var c Cycle
		err := tx.Where("id = ?", cycleID).Take(&c).Error
		if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && !concernable(c)) {
			return ErrCycleNotOpen
		}
		if err != nil {
			return err
		}
		var prev AgendaConcern
		err = tx.Where("id = ?", cycleID).Take(&prev).Error
		switch {
		case err == nil && prev.PlannedAt == nil:
			return ErrConcernPending
		case err == nil:
			// An earlier concern was planned for: this one replaces it.
			if err := tx.Delete(&prev).Error; err != nil {
				return err
			}
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return err
		}
		out = AgendaConcern{ID: cycleID, SiteID: c.SiteID, SchoolID: c.SchoolID, ChildID: c.ChildID, Reason: reason, AddedBy: addedBy, AddedAt: at.UTC()}
		return tx.Create(&out).Error
	})
	if err != nil {
		return AgendaConcern{}, fmt.Errorf("adding a concern: %w", err)
	}
	return out, nil
}

// pendingConcerns lists a school's concerns no meeting has planned for yet.
func (s *Store) pendingConcerns(ctx context.Context, siteID, schoolID string) ([]AgendaConcern, error) {
	var rows []AgendaConcern
	err := s.with(ctx).Where("site_id = ? AND school_id = ? AND planned_at IS NULL", siteID, schoolID).Order("added_at, id").Find(&rows).Error
	return rows, err
}

// ClosedCycleReferrals says what a meeting needs to refer a child whose
// cycle has closed: the next free referral number of the cycle and the
// day length of its wave (0: real time).
func (s *Store) ClosedCycleReferrals(ctx context.Context, cycleID string) (nextK int, dayLength time.Duration, err error) {
	db := s.with(ctx)
	var c Cycle
	if err := db.Select("id", "wave_id").Where("id = ?", cycleID).Take(&c).Error; err != nil {
		return 0, 0, fmt.Errorf("cycle for a concern plan: %w", err)
	}
	var w Wave
	if err := db.Select("id", "day_length_ms").Where("id = ?", c.WaveID).Take(&w).Error; err != nil {
		return 0, 0, fmt.Errorf("wave for a concern plan: %w", err)
	}
	var ids []string
	if err := db.Model(&Referral{}).Where("cycle_id = ?", cycleID).Pluck("id", &ids).Error; err != nil {
		return 0, 0, fmt.Errorf("referrals for a concern plan: %w", err)
	}
	nextK = 1
	for _, id := range ids {
		var k int
		if i := strings.LastIndexByte(id, '/'); i >= 0 {
			if _, err := fmt.Sscanf(id[i+1:], "%d", &k); err == nil && k >= nextK {
				nextK = k + 1
			}
		}
	}
	return nextK, time.Duration(w.DayLengthMS) * time.Millisecond, nil
}
