package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/longitudinal"
)

// ChildRecord is a child's record across waves: who they are in the study
// (opaque IDs, never names) and one time point per wave they took part in.
type ChildRecord struct {
	ChildID    string     `json:"child_id"`
	SiteID     string     `json:"site_id"`
	SchoolID   string     `json:"school_id"`
	LeftAt     *time.Time `json:"left_at,omitempty"`
	LeftReason string     `json:"left_reason,omitempty"`
	// SameAs names the child this record was confirmed to duplicate.
	SameAs string `json:"same_as,omitempty"`
	// Erased is true when the child's personal data was erased.
	Erased     bool                     `json:"erased"`
	TimePoints []longitudinal.TimePoint `json:"time_points"`
}

// trajectoryCycle is a cycle row with its wave number.
type trajectoryCycle struct {
	ID       string
	SchoolID string
	Stage    string
	Outcome  string
	Number   int
}

// Trajectory returns a child's record across waves: for each cycle, its
// wave, outcome, baseline domain levels, key scales, growth z-scores, the
// plan and the referrals, with the change of each domain from the
// previous time point. It reads no personal field. ErrNotFound when the
// child is not a child of the site.
func (s *Store) Trajectory(ctx context.Context, siteID, childID string) (ChildRecord, error) {
	db := s.with(ctx)
	var ch Child
	err := db.Select("id", "site_id", "school_id", "left_at", "left_reason", "same_as", "erased_at").
		Where("id = ? AND site_id = ?", childID, siteID).Take(&ch).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ChildRecord{}, fmt.Errorf("child: %w", ErrNotFound)
	}
	if err != nil {
		return ChildRecord{}, err
	}
	rec := ChildRecord{ChildID: ch.ID, SiteID: ch.SiteID, SchoolID: ch.SchoolID, LeftAt: ch.LeftAt, LeftReason: ch.LeftReason,
		SameAs: ch.SameAs, Erased: ch.ErasedAt != nil, TimePoints: []longitudinal.TimePoint{}}
	var cycles []trajectoryCycle
	if err := db.Table("cycles").Select("cycles.id, cycles.school_id, cycles.stage, cycles.outcome, waves.number").
		Joins("JOIN waves ON waves.id = cycles.wave_id").Where("cycles.child_id = ?", childID).
		Order("waves.number, cycles.id").Scan(&cycles).Error; err != nil {
		return rec, fmt.Errorf("cycles: %w", err)
	}
	if len(cycles) == 0 {
		return rec, nil
	}
	ids := make([]string, 0, len(cycles))
	points := make(map[string]*longitudinal.TimePoint, len(cycles))
	rec.TimePoints = make([]longitudinal.TimePoint, len(cycles))
	for i, c := range cycles {
		ids = append(ids, c.ID)
		rec.TimePoints[i] = longitudinal.TimePoint{Wave: c.Number, CycleID: c.ID, SchoolID: c.SchoolID, Stage: c.Stage,
			Outcome: c.Outcome, Domains: map[string]string{}}
		points[c.ID] = &rec.TimePoints[i]
	}
	if err := s.fillDomains(db, ids, points); err != nil {
		return rec, err
	}
	if err := s.fillScores(db, ids, points); err != nil {
		return rec, err
	}
	if err := s.fillPlans(db, ids, points); err != nil {
		return rec, err
	}
	if err := s.fillReferrals(db, ids, points); err != nil {
		return rec, err
	}
	longitudinal.Annotate(rec.TimePoints)
	return rec, nil
}

func (s *Store) fillDomains(db *gorm.DB, ids []string, points map[string]*longitudinal.TimePoint) error {
	var risks []DomainRisk
	if err := db.Select("cycle_id", "domain", "level").Where("cycle_id IN ? AND phase = ?", ids, cycle.PhaseBaseline).
		Find(&risks).Error; err != nil {
		return fmt.Errorf("domain levels: %w", err)
	}
	for _, r := range risks {
		points[r.CycleID].Domains[r.Domain] = r.Level
	}
	return nil
}

// storedResult is the part of a stored scoring result a trajectory uses.
type storedResult struct {
	Scales map[string]longitudinal.Scale `json:"scales"`
	Growth *struct {
		HFA longitudinal.Z `json:"hfa"`
		WFA longitudinal.Z `json:"wfa"`
		BFA longitudinal.Z `json:"bfa"`
	} `json:"growth"`
}

func (s *Store) fillScores(db *gorm.DB, ids []string, points map[string]*longitudinal.TimePoint) error {
	var scores []Score
	if err := db.Select("cycle_id", "instrument_version", "result", "computed_at").
		Where("cycle_id IN ? AND phase = ?", ids, cycle.PhaseBaseline).Find(&scores).Error; err != nil {
		return fmt.Errorf("scores: %w", err)
	}
	for _, sc := range scores {
		p := points[sc.CycleID]
		p.InstrumentVersion = sc.InstrumentVersion
		p.AssessedOn = sc.ComputedAt.UTC().Format(time.DateOnly)
		var r storedResult
		if err := json.Unmarshal([]byte(sc.Result), &r); err != nil {
			return fmt.Errorf("score of cycle %s: %w", sc.CycleID, err)
		}
		p.Scales = longitudinal.KeepKeyScales(r.Scales)
		if r.Growth != nil {
			p.Growth = map[string]longitudinal.Z{"hfa": r.Growth.HFA, "wfa": r.Growth.WFA, "bfa": r.Growth.BFA}
		}
	}
	return nil
}

func (s *Store) fillPlans(db *gorm.DB, ids []string, points map[string]*longitudinal.TimePoint) error {
	var plans []Plan
	if err := db.Select("cycle_id", "actions", "agreed_at").Where("cycle_id IN ?", ids).Order("agreed_at").Find(&plans).Error; err != nil {
		return fmt.Errorf("plans: %w", err)
	}
	for _, pl := range plans {
		var actions []cycle.PlanAction
		if err := json.Unmarshal([]byte(pl.Actions), &actions); err != nil {
			return fmt.Errorf("plan of cycle %s: %w", pl.CycleID, err)
		}
		p := points[pl.CycleID]
		p.PlanAgreed = true
		for _, a := range actions {
			p.PlanActions = append(p.PlanActions, actionLabel(a))
		}
	}
	return nil
}

// actionLabel names a plan action by domain and what it does; a note's
// free text stays out (it may name people).
func actionLabel(a cycle.PlanAction) string {
	what := a.ServiceType
	switch {
	case a.Kind != "":
		what = a.Kind
	case what == "":
		what = "note"
	}
	return a.Domain + ": " + what
}

func (s *Store) fillReferrals(db *gorm.DB, ids []string, points map[string]*longitudinal.TimePoint) error {
	var refs []Referral
	if err := db.Select("cycle_id", "service_type", "service_id", "domain", "urgent", "status", "overdue", "created_at").
		Where("cycle_id IN ?", ids).Order("created_at, id").Find(&refs).Error; err != nil {
		return fmt.Errorf("referrals: %w", err)
	}
	for _, r := range refs {
		out := longitudinal.ReferralOutcome{Service: r.ServiceID, ServiceType: r.ServiceType, Domain: r.Domain, Status: r.Status, Urgent: r.Urgent}
		if r.Overdue {
			out.Outcome = "overdue"
		}
		p := points[r.CycleID]
		p.Referrals = append(p.Referrals, out)
	}
	return nil
}

// WaveLevels returns the baseline domain levels of every child scored in a
// site's wave (by number), with the school of that wave's cycle. Children
// whose cycle was never scored (no consent, withdrawn before scoring) are
// not in it.
func (s *Store) WaveLevels(ctx context.Context, siteID string, number int) ([]longitudinal.ChildLevels, error) {
	db := s.with(ctx)
	var w Wave
	err := db.Select("id").Where("site_id = ? AND number = ?", siteID, number).Take(&w).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("wave %d: %w", number, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	// Rows come in cycle order (the domain_risks_levels index): a child's
	// domains are consecutive, and the child ID is the cycle ID's last part.
	var out []longitudinal.ChildLevels
	rows, err := db.Table("domain_risks").Select("cycle_id, school_id, domain, level").
		Where("wave_id = ? AND phase = ?", w.ID, cycle.PhaseBaseline).Order("cycle_id").Rows()
	if err != nil {
		return nil, fmt.Errorf("levels of wave %d: %w", number, err)
	}
	defer rows.Close()
	last := ""
	for rows.Next() {
		var cycleID, school, domain, level string
		if err := rows.Scan(&cycleID, &school, &domain, &level); err != nil {
			return nil, fmt.Errorf("levels of wave %d: %w", number, err)
		}
		if cycleID != last {
			last = cycleID
			out = append(out, longitudinal.ChildLevels{ChildID: cycleID[strings.LastIndexByte(cycleID, '/')+1:], SchoolID: school,
				Domains: make(map[string]string, 8)})
		}
		out[len(out)-1].Domains[domain] = level
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("levels of wave %d: %w", number, err)
	}
	return out, nil
}
