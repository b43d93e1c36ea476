package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/khula-cop/khula/internal/cycle"
)

// Errors of following children across waves.
var (
	// ErrAlreadyLeft reports a change to a child who left the study.
	ErrAlreadyLeft = errors.New("store: the child has left the study")
	// ErrNoConsent reports a renewal for a child with no consent to renew.
	ErrNoConsent = errors.New("store: the child has no consent on record to renew")
)

// LeaveStudy records that a child of a site left the study, with the
// reason and who recorded it: later waves do not start a cycle for them.
// An open cycle is not stopped (a referral in flight still matters to the
// child); it returns the IDs of the child's open cycles so the caller can
// say so.
func (s *Store) LeaveStudy(ctx context.Context, siteID, childID, reason, by string, at time.Time) ([]string, error) {
	var open []string
	err := s.with(ctx).Transaction(func(tx *gorm.DB) error {
		var ch Child
		err := tx.Select("id", "left_at").Where("id = ? AND site_id = ?", childID, siteID).Take(&ch).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("child: %w", ErrNotFound)
		}
		if err != nil {
			return err
		}
		if ch.LeftAt != nil {
			return ErrAlreadyLeft
		}
		if err := tx.Model(&Child{}).Where("id = ? AND left_at IS NULL", childID).
			Updates(map[string]any{"left_at": at.UTC(), "left_reason": reason, "left_by": by}).Error; err != nil {
			return err
		}
		return tx.Model(&Cycle{}).Where("child_id = ? AND status = ?", childID, CycleOpen).Order("id").Pluck("id", &open).Error
	})
	return open, err
}

// RenewConsent records that a child's consents (those not withdrawn) were
// renewed at a time: under a site's consent policy a renewal restarts a
// standing consent and counts for the next wave. It reports how many
// consents it renewed.
func (s *Store) RenewConsent(ctx context.Context, siteID, childID string, at time.Time) (int64, error) {
	var n int64
	err := s.with(ctx).Transaction(func(tx *gorm.DB) error {
		var ch Child
		err := tx.Select("id", "left_at", "erased_at").Where("id = ? AND site_id = ?", childID, siteID).Take(&ch).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("child: %w", ErrNotFound)
		}
		if err != nil {
			return err
		}
		if ch.LeftAt != nil {
			return ErrAlreadyLeft
		}
		res := tx.Model(&Consent{}).Where("child_id = ? AND withdrawn_at IS NULL", childID).Update("renewed_at", at.UTC())
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNoConsent
		}
		n = res.RowsAffected
		return nil
	})
	return n, err
}

// ChildStatus is one child of a launch preview: opaque IDs and a reason,
// never a name.
type ChildStatus struct {
	ChildID  string `json:"child_id"`
	SchoolID string `json:"school_id"`
	Reason   string `json:"reason"`
	// At is when the child left (leavers only).
	At *time.Time `json:"at,omitempty"`
}

// CohortPreview says who a site's next wave would start: the children who
// continue from earlier waves, the new intake, and who will not be
// assessed and why.
type CohortPreview struct {
	Site string `json:"site"`
	Wave int    `json:"wave"`
	// PreviousWave is the site's latest earlier wave (0 for a first wave).
	PreviousWave int `json:"previous_wave"`
	// ToStart counts the cycles the launch starts (Continuing + New + LapsedTotal:
	// a child whose consent lapsed gets a cycle that ends without assessment).
	ToStart int `json:"to_start"`
	// Continuing took part in an earlier wave of the site and will be assessed.
	Continuing int `json:"continuing"`
	// New have not (new intake) and will be assessed.
	New int `json:"new"`
	// Lapsed have no consent that covers this wave: not assessed, listed
	// (the first Limit of them; LapsedTotal counts them all).
	Lapsed      []ChildStatus `json:"lapsed"`
	LapsedTotal int           `json:"lapsed_total"`
	// Held are likely duplicates awaiting a decision: not started.
	Held int `json:"held"`
	// Left lists the children who left since the previous wave launched
	// (or ever, for a first wave; the first Limit of them), LeftTotal and
	// LeftByReason count them all.
	Left         []ChildStatus  `json:"left"`
	LeftTotal    int            `json:"left_total"`
	LeftByReason map[string]int `json:"left_by_reason"`
	// LeftEarlier counts children who left before the previous wave.
	LeftEarlier int `json:"left_earlier"`
	// BySchool counts, per school, the children to start.
	BySchool map[string]int `json:"by_school"`
	// Limit bounds the lists.
	Limit int `json:"limit"`
}

// previewRow is what the preview reads of a child: no personal field.
type previewRow struct {
	ID         string
	SchoolID   string
	LeftAt     *time.Time
	LeftReason string
}

// CohortPreview computes the preview of wave number n of a site under its
// consent policy. The wave opens at open (zero: as recorded, or now for a
// wave not recorded yet); the lists hold at most limit children each. It
// reads no personal field.
func (s *Store) CohortPreview(ctx context.Context, siteID string, n int, policy cycle.ConsentPolicy, open time.Time, limit int) (CohortPreview, error) {
	p := CohortPreview{Site: siteID, Wave: n, Lapsed: []ChildStatus{}, Left: []ChildStatus{}, LeftByReason: map[string]int{}, BySchool: map[string]int{}, Limit: limit}
	db := s.with(ctx)
	recorded, previousLaunch, err := s.waveTimes(ctx, siteID, n)
	if err != nil {
		return p, err
	}
	if open.IsZero() {
		open = recorded
	}
	var prev []Wave
	if err := db.Select("number").Where("site_id = ? AND number < ?", siteID, n).Order("number DESC").Limit(1).Find(&prev).Error; err != nil {
		return p, fmt.Errorf("previous wave: %w", err)
	}
	if len(prev) == 1 {
		p.PreviousWave = prev[0].Number
	}
	var before []string
	if err := db.Model(&Cycle{}).Distinct("child_id").
		Where("wave_id IN (?)", db.Model(&Wave{}).Select("id").Where("site_id = ? AND number < ?", siteID, n)).
		Pluck("child_id", &before).Error; err != nil {
		return p, fmt.Errorf("earlier waves' children: %w", err)
	}
	continuing := make(map[string]bool, len(before))
	for _, id := range before {
		continuing[id] = true
	}
	var held []string
	if err := db.Model(&DuplicateHold{}).Where("site_id = ? AND status = ?", siteID, HoldPending).Pluck("child_id", &held).Error; err != nil {
		return p, fmt.Errorf("held children: %w", err)
	}
	isHeld := make(map[string]bool, len(held))
	for _, id := range held {
		isHeld[id] = true
	}
	terms, err := s.consentTerms(ctx, siteID)
	if err != nil {
		return p, err
	}
	var rows []previewRow
	err = db.Model(&Child{}).Select("id", "school_id", "left_at", "left_reason").Where("site_id = ?", siteID).Order("id").
		FindInBatches(&rows, 2000, func(*gorm.DB, int) error {
			for _, r := range rows {
				p.add(r, continuing[r.ID], isHeld[r.ID], terms[r.ID], policy, open, previousLaunch)
			}
			return nil
		}).Error
	if err != nil {
		return p, fmt.Errorf("children of %s: %w", siteID, err)
	}
	return p, nil
}

// add counts one child into the preview.
func (p *CohortPreview) add(r previewRow, continuing, held bool, terms []cycle.ConsentTerm, policy cycle.ConsentPolicy, open, previousLaunch time.Time) {
	switch {
	case r.LeftAt != nil:
		if previousLaunch.IsZero() || r.LeftAt.After(previousLaunch) {
			at := r.LeftAt.UTC()
			if len(p.Left) < p.Limit {
				p.Left = append(p.Left, ChildStatus{ChildID: r.ID, SchoolID: r.SchoolID, Reason: r.LeftReason, At: &at})
			}
			p.LeftTotal++
			p.LeftByReason[r.LeftReason]++
		} else {
			p.LeftEarlier++
		}
		return
	case held:
		p.Held++
		return
	}
	p.ToStart++
	p.BySchool[r.SchoolID]++
	covered, reason := false, "no consent on record from a competent person"
	for _, t := range terms {
		ok, why := policy.Covers(t, open, previousLaunch)
		if ok {
			covered = true
			break
		}
		reason = why
	}
	switch {
	case !covered:
		if len(p.Lapsed) < p.Limit {
			p.Lapsed = append(p.Lapsed, ChildStatus{ChildID: r.ID, SchoolID: r.SchoolID, Reason: reason})
		}
		p.LapsedTotal++
	case continuing:
		p.Continuing++
	default:
		p.New++
	}
}

// consentTerms loads the consents not withdrawn of a site's children, by child.
func (s *Store) consentTerms(ctx context.Context, siteID string) (map[string][]cycle.ConsentTerm, error) {
	db := s.with(ctx)
	var rows []Consent
	out := map[string][]cycle.ConsentTerm{}
	err := db.Select("id", "child_id", "given_at", "renewed_at").
		Where("withdrawn_at IS NULL AND child_id IN (?)", db.Model(&Child{}).Select("id").Where("site_id = ?", siteID)).
		Order("id").FindInBatches(&rows, 2000, func(*gorm.DB, int) error {
		for _, c := range rows {
			out[c.ChildID] = append(out[c.ChildID], cycle.ConsentTerm{GivenAt: c.GivenAt, RenewedAt: c.RenewedAt})
		}
		return nil
	}).Error
	if err != nil {
		return nil, fmt.Errorf("consents of %s: %w", siteID, err)
	}
	return out, nil
}

// Leavers lists a site's children who left the study, newest first.
func (s *Store) Leavers(ctx context.Context, siteID string, limit int) ([]ChildStatus, error) {
	var rows []previewRow
	if err := s.with(ctx).Model(&Child{}).Select("id", "school_id", "left_at", "left_reason").
		Where("site_id = ? AND left_at IS NOT NULL", siteID).Order("left_at DESC, id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]ChildStatus, 0, len(rows))
	for _, r := range rows {
		at := r.LeftAt.UTC()
		out = append(out, ChildStatus{ChildID: r.ID, SchoolID: r.SchoolID, Reason: r.LeftReason, At: &at})
	}
	return out, nil
}
