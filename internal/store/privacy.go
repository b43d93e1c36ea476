package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/khula-cop/khula/internal/cycle"
)

// OutcomeWithdrawn is the outcome of a cycle stopped because consent was withdrawn.
const OutcomeWithdrawn = "withdrawn"

// WithdrawConsent marks a child's active consents withdrawn and records
// that the child left the study (withdrew consent), in one transaction; it
// reports whether there was any consent to withdraw.
func (s *Store) WithdrawConsent(ctx context.Context, childID, reason string, at time.Time) (bool, error) {
	withdrew := false
	err := s.with(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&Consent{}).Where("child_id = ? AND withdrawn_at IS NULL", childID).
			Updates(map[string]any{"withdrawn_at": at.UTC(), "withdrawal_reason": reason})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		withdrew = true
		return tx.Model(&Child{}).Where("id = ? AND left_at IS NULL", childID).
			Updates(map[string]any{"left_at": at.UTC(), "left_reason": cycle.LeftWithdrewConsent}).Error
	})
	return withdrew, err
}

// OpenCyclesOf lists a child's open cycles.
func (s *Store) OpenCyclesOf(ctx context.Context, childID string) ([]Cycle, error) {
	var out []Cycle
	return out, s.with(ctx).Where("child_id = ? AND status = ?", childID, CycleOpen).Order("id").Find(&out).Error
}

// CloseWithdrawn closes a cycle whose workflow was stopped for withdrawal.
// Its stage number jumps ahead so no late record of the stopped workflow
// can reopen it.
func (s *Store) CloseWithdrawn(ctx context.Context, cycleID string, at time.Time) error {
	return s.with(ctx).Transaction(func(tx *gorm.DB) error {
		var c Cycle
		if err := tx.Where("id = ?", cycleID).Take(&c).Error; err != nil {
			return err
		}
		seq := c.StageSeq + 1000
		if err := tx.Model(&Cycle{}).Where("id = ?", cycleID).Updates(map[string]any{
			"stage": cycle.StageClosed, "status": CycleClosed, "outcome": OutcomeWithdrawn, "awaiting": "", "stage_seq": seq, "updated_at": at.UTC(),
		}).Error; err != nil {
			return err
		}
		return tx.Create(&StageEvent{ID: fmt.Sprintf("%s/%d", cycleID, seq), CycleID: cycleID, Seq: seq, Stage: cycle.StageClosed,
			Detail: "consent withdrawn: workflow stopped, personal data erased", At: at.UTC()}).Error
	})
}

// ErasePersonal erases a child's personal data and keeps what aggregate
// statistics need: the child's and (when no other child of theirs remains)
// the caregiver's names and phone are blanked, the answers and follow-up
// notes of the child's cycles are deleted; scores, domain risks, stages
// and referral outcomes stay, tied only to the opaque IDs. The child's
// blind-index tokens go too, so an erased child is never found again.
func (s *Store) ErasePersonal(ctx context.Context, childID string, at time.Time) error {
	if err := s.with(ctx).Transaction(func(tx *gorm.DB) error { return erasePersonalTx(tx, childID, at) }); err != nil {
		return err
	}
	for _, fn := range s.afterErase {
		fn(childID)
	}
	return nil
}

// erasePersonalTx is ErasePersonal inside a transaction.
func erasePersonalTx(tx *gorm.DB, childID string, at time.Time) error {
	var child Child
	if err := tx.Where("id = ?", childID).Take(&child).Error; err != nil {
		return fmt.Errorf("child %s: %w", childID, err)
	}
	if err := tx.Model(&Child{}).Where("id = ?", childID).
		Updates(map[string]any{"given_name": "", "family_name": "", "erased_at": at.UTC()}).Error; err != nil {
		return err
	}
	var others int64
	if err := tx.Model(&Child{}).Where("caregiver_id = ? AND id <> ? AND erased_at IS NULL", child.CaregiverID, childID).Count(&others).Error; err != nil {
		return err
	}
	if others == 0 {
		if err := tx.Model(&Caregiver{}).Where("id = ?", child.CaregiverID).
			Updates(map[string]any{"given_name": "", "family_name": "", "phone": "", "erased_at": at.UTC()}).Error; err != nil {
			return err
		}
	}
	if err := tx.Where("child_id = ?", childID).Delete(&ChildToken{}).Error; err != nil {
		return err
	}
	// The engine's copy of the child's cycle payloads is sealed with this
	// key: destroying it erases that copy too (crypto-shredding).
	if err := destroyDataKeyTx(tx, childID, at); err != nil {
		return err
	}
	cycles := tx.Model(&Cycle{}).Select("id").Where("child_id = ?", childID)
	if err := tx.Where("cycle_id IN (?)", cycles).Delete(&Assessment{}).Error; err != nil {
		return err
	}
	if err := tx.Where("id IN (?)", cycles).Delete(&AgendaConcern{}).Error; err != nil {
		return err
	}
	return tx.Where("cycle_id IN (?)", cycles).Delete(&FollowUp{}).Error
}

// RetentionDue lists children of a site whose every cycle is closed in a
// wave closed before cutoff, and whose data is not yet erased.
func (s *Store) RetentionDue(ctx context.Context, siteID string, cutoff time.Time, limit int) ([]string, error) {
	db := s.with(ctx)
	recent := db.Model(&Cycle{}).Select("cycles.child_id").
		Joins("JOIN waves ON waves.id = cycles.wave_id").
		Where("cycles.site_id = ? AND (cycles.status <> ? OR waves.closed_at IS NULL OR waves.closed_at >= ?)", siteID, CycleClosed, cutoff.UTC())
	var ids []string
	err := db.Model(&Child{}).
		Where("site_id = ? AND erased_at IS NULL AND id IN (?) AND id NOT IN (?)", siteID,
			db.Model(&Cycle{}).Select("child_id").Where("site_id = ?", siteID), recent).
		Order("id").Limit(limit).Pluck("id", &ids).Error
	return ids, err
}

// AccessGrant is a practitioner's time-limited access to a child outside
// their schools, given with a reason ("break the glass").
type AccessGrant struct {
	ID        string `gorm:"primaryKey"`
	UserID    string
	SiteID    string
	ChildID   string
	Reason    string
	GrantedAt time.Time
	// ExpiresAt ends the access; while the grant awaits approval it is the
	// time by which it must be approved.
	ExpiresAt time.Time
	// Minutes is the access asked for, counted from the approval.
	Minutes int
	// ApprovedAt opens the access: set at once where the site needs no
	// second person, else when one approves (ApprovedBy).
	ApprovedAt *time.Time
	ApprovedBy string
}

// ErrGrantNotPending is returned when approving a grant that is already
// approved or whose time to be approved has passed.
var ErrGrantNotPending = errors.New("the grant is not awaiting approval")

// CreateGrant records a grant.
func (s *Store) CreateGrant(ctx context.Context, g AccessGrant) error {
	g.GrantedAt, g.ExpiresAt = g.GrantedAt.UTC(), g.ExpiresAt.UTC()
	if g.ApprovedAt != nil {
		at := g.ApprovedAt.UTC()
		g.ApprovedAt = &at
	}
	return s.with(ctx).Create(&g).Error
}

// Grant returns one grant of a site.
func (s *Store) Grant(ctx context.Context, siteID, id string) (AccessGrant, error) {
	var g AccessGrant
	err := s.with(ctx).Where("id = ? AND site_id = ?", id, siteID).Take(&g).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return g, ErrNotFound
	}
	return g, err
}

// ApproveGrant opens a grant awaiting approval for its minutes from now.
// It answers ErrGrantNotPending when the grant was approved already or its
// time to be approved has passed.
func (s *Store) ApproveGrant(ctx context.Context, siteID, id, approver string, now time.Time) (AccessGrant, error) {
	now = now.UTC()
	var g AccessGrant
	err := s.with(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("id = ? AND site_id = ?", id, siteID).Take(&g).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNotFound
			}
			return err
		}
		if g.ApprovedAt != nil || !g.ExpiresAt.After(now) {
			return ErrGrantNotPending
		}
		g.ApprovedAt, g.ApprovedBy = &now, approver
		g.ExpiresAt = now.Add(time.Duration(g.Minutes) * time.Minute)
		res := tx.Model(&AccessGrant{}).Where("id = ? AND approved_at IS NULL", id).
			Updates(map[string]any{"approved_at": now, "approved_by": approver, "expires_at": g.ExpiresAt})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return ErrGrantNotPending
		}
		return nil
	})
	return g, err
}

// DeleteGrant removes a grant that never took effect (its alert could not
// be sent).
func (s *Store) DeleteGrant(ctx context.Context, id string) error {
	return s.with(ctx).Where("id = ?", id).Delete(&AccessGrant{}).Error
}

// HasGrant reports whether a user holds a live, approved grant to a child.
func (s *Store) HasGrant(ctx context.Context, userID, childID string, now time.Time) (bool, error) {
	var n int64
	err := s.with(ctx).Model(&AccessGrant{}).Where("user_id = ? AND child_id = ? AND approved_at IS NOT NULL AND expires_at > ?", userID, childID, now.UTC()).Count(&n).Error
	return n > 0, err
}

// GrantView is a grant with the practitioner's username, for the coordinator.
type GrantView struct {
	AccessGrant
	Username string `json:"username"`
}

// Grants lists a site's grants since a time, newest first.
func (s *Store) Grants(ctx context.Context, siteID string, since time.Time, limit int) ([]GrantView, error) {
	var out []GrantView
	err := s.with(ctx).Table("access_grants").Select("access_grants.*, users.username").
		Joins("JOIN users ON users.id = access_grants.user_id").
		Where("access_grants.site_id = ? AND access_grants.granted_at >= ?", siteID, since.UTC()).
		Order("access_grants.granted_at DESC").Limit(limit).Scan(&out).Error
	return out, err
}
