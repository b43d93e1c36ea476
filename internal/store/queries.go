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

// Waves lists a site's waves, newest first ("" lists every site's).
func (s *Store) Waves(ctx context.Context, siteID string) ([]Wave, error) {
	q := s.with(ctx).Order("launched_at DESC")
	if siteID != "" {
		q = q.Where("site_id = ?", siteID)
	}
	var out []Wave
	return out, q.Find(&out).Error
}

// Wave returns one wave.
func (s *Store) Wave(ctx context.Context, id string) (Wave, error) {
	var w Wave
	err := s.with(ctx).Where("id = ?", id).Take(&w).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return w, fmt.Errorf("wave %s: %w", id, ErrNotFound)
	}
	return w, err
}

// CountChildren counts a site's children ("" counts all).
func (s *Store) CountChildren(ctx context.Context, siteID string) (int64, error) {
	var n int64
	q := s.with(ctx).Model(&Child{})
	if siteID != "" {
		q = q.Where("site_id = ?", siteID)
	}
	return n, q.Count(&n).Error
}

// StageBySchool counts a wave's cycles by school and stage.
func (s *Store) StageBySchool(ctx context.Context, waveID string) (map[string]map[string]int, error) {
	var rows []keyCount
	if err := s.with(ctx).Model(&Cycle{}).Select("school_id AS k1, stage AS k2, count(*) AS n").
		Where("wave_id = ?", waveID).Group("school_id, stage").Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := map[string]map[string]int{}
	for _, r := range rows {
		if out[r.K1] == nil {
			out[r.K1] = map[string]int{}
		}
		out[r.K1][r.K2] = r.N
	}
	return out, nil
}

// FormDue is a cycle waiting for respondents' forms.
type FormDue struct {
	CycleID     string   `json:"cycle_id"`
	SchoolID    string   `json:"school_id"`
	Phase       string   `json:"phase"`
	Respondents []string `json:"respondents"`
}

// Work is what practitioners at a site have to do now.
type Work struct {
	Forms        []FormDue      `json:"forms"`
	AwaitingPlan []string       `json:"awaiting_plan"`
	PlanBySchool map[string]int `json:"awaiting_plan_by_school"`
	Meetings     []Meeting      `json:"meetings"`
	Referrals    []Referral     `json:"referrals"`
	FollowUps    []string       `json:"follow_ups"`
}

// OpenWork lists a site's outstanding forms, children awaiting plans,
// meetings awaiting minutes, open referrals and cycles in follow-up; limit
// bounds each list, and AwaitingPlanBySchool counts every child awaiting a plan.
func (s *Store) OpenWork(ctx context.Context, siteID, schoolID string, limit int) (Work, error) {
	db := s.with(ctx)
	scope := func(q *gorm.DB) *gorm.DB {
		q = q.Where("site_id = ?", siteID)
		if schoolID != "" {
			q = q.Where("school_id = ?", schoolID)
		}
		return q
	}
	w := Work{PlanBySchool: map[string]int{}}
	var err error
	if w.Forms, err = s.formsDue(ctx, scope, limit); err != nil {
		return w, err
	}
	open := func(stage string) *gorm.DB {
		return scope(db.Model(&Cycle{})).Where("status = ? AND stage = ?", CycleOpen, stage)
	}
	if err := open(cycle.StagePlan).Order("id").Limit(limit).Pluck("id", &w.AwaitingPlan).Error; err != nil {
		return w, err
	}
	var counts []keyCount
	if err := open(cycle.StagePlan).Select("school_id AS k1, count(*) AS n").Group("school_id").Scan(&counts).Error; err != nil {
		return w, err
	}
	for _, c := range counts {
		w.PlanBySchool[c.K1] = c.N
	}
	if err := open(cycle.StageFollowUp).Order("id").Limit(limit).Pluck("id", &w.FollowUps).Error; err != nil {
		return w, err
	}
	if err := scope(db.Model(&Meeting{})).Where("status = ?", cycle.MeetingAwaitingMinutes).Order("id").Limit(limit).Find(&w.Meetings).Error; err != nil {
		return w, err
	}
	if err := scope(db.Model(&Referral{})).Where("status IN ?", []string{cycle.ReferralDispatched, cycle.ReferralAcknowledged}).
		Order("id").Limit(limit).Find(&w.Referrals).Error; err != nil {
		return w, err
	}
	return w, nil
}

// formsDue pages through cycles waiting for forms, dropping respondents who
// have answered, until limit cycles with outstanding forms are found.
func (s *Store) formsDue(ctx context.Context, scope func(*gorm.DB) *gorm.DB, limit int) ([]FormDue, error) {
	db := s.with(ctx)
	var out []FormDue
	after := ""
	for len(out) < limit {
		var cycles []Cycle
		if err := scope(db.Model(&Cycle{})).Where("status = ? AND stage IN ? AND id > ?", CycleOpen, []string{cycle.StageAssess, cycle.StageReassess}, after).
			Order("id").Limit(limit).Find(&cycles).Error; err != nil {
			return nil, err
		}
		if len(cycles) == 0 {
			break
		}
		ids := make([]string, len(cycles))
		for i, c := range cycles {
			ids[i] = c.ID
		}
		var got []Assessment
		if err := db.Select("cycle_id", "phase", "respondent").Where("cycle_id IN ?", ids).Find(&got).Error; err != nil {
			return nil, err
		}
		submitted := map[string]bool{}
		for _, a := range got {
			submitted[a.CycleID+"/"+a.Phase+"/"+a.Respondent] = true
		}
		for _, c := range cycles {
			phase := cycle.PhaseBaseline
			if c.Stage == cycle.StageReassess {
				phase = cycle.PhaseReassessment
			}
			due := FormDue{CycleID: c.ID, SchoolID: c.SchoolID, Phase: phase}
			for _, r := range SplitList(c.Awaiting) {
				if !submitted[c.ID+"/"+phase+"/"+r] {
					due.Respondents = append(due.Respondents, r)
				}
			}
			if len(due.Respondents) > 0 && len(out) < limit {
				out = append(out, due)
			}
		}
		after = cycles[len(cycles)-1].ID
	}
	return out, nil
}

// CycleDetail is everything recorded about one cycle.
type CycleDetail struct {
	Cycle     Cycle        `json:"cycle"`
	Timeline  []StageEvent `json:"timeline"`
	Scores    []Score      `json:"scores"`
	Referrals []Referral   `json:"referrals"`
	Plans     []Plan       `json:"plans"`
	FollowUps int64        `json:"follow_ups"`
}

// Cycle returns one cycle's record with its timeline, scores, plans and referrals.
func (s *Store) Cycle(ctx context.Context, id string) (CycleDetail, error) {
	db := s.with(ctx)
	var d CycleDetail
	err := db.Where("id = ?", id).Take(&d.Cycle).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return d, fmt.Errorf("cycle %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return d, err
	}
	if err := db.Where("cycle_id = ?", id).Order("seq").Find(&d.Timeline).Error; err != nil {
		return d, err
	}
	if err := db.Where("cycle_id = ?", id).Order("computed_at").Find(&d.Scores).Error; err != nil {
		return d, err
	}
	if err := db.Where("cycle_id = ?", id).Order("id").Find(&d.Referrals).Error; err != nil {
		return d, err
	}
	if err := db.Where("cycle_id = ?", id).Order("agreed_at").Find(&d.Plans).Error; err != nil {
		return d, err
	}
	if err := db.Model(&FollowUp{}).Where("cycle_id = ?", id).Count(&d.FollowUps).Error; err != nil {
		return d, err
	}
	return d, nil
}

// Meeting returns one meeting.
func (s *Store) Meeting(ctx context.Context, id string) (Meeting, error) {
	var m Meeting
	err := s.with(ctx).Where("id = ?", id).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return m, fmt.Errorf("meeting %s: %w", id, ErrNotFound)
	}
	return m, err
}

// NextWaveNumber is one more than the site's highest wave number.
func (s *Store) NextWaveNumber(ctx context.Context, siteID string) (int, error) {
	var max *int
	if err := s.with(ctx).Model(&Wave{}).Select("MAX(number)").Where("site_id = ?", siteID).Scan(&max).Error; err != nil {
		return 0, err
	}
	if max == nil {
		return 1, nil
	}
	return *max + 1, nil
}

// EnsureSite records a site and its schools (from its configuration) if they are missing.
func (s *Store) EnsureSite(ctx context.Context, site Site, schools []School) error {
	return s.with(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", site.ID).FirstOrCreate(&site).Error; err != nil {
			return fmt.Errorf("site %s: %w", site.ID, err)
		}
		for _, sc := range schools {
			if err := tx.Where("id = ?", sc.ID).FirstOrCreate(&sc).Error; err != nil {
				return fmt.Errorf("school %s: %w", sc.ID, err)
			}
		}
		return nil
	})
}

// Family is a caregiver, their child and the consent on record (nil: none).
type Family struct {
	Caregiver Caregiver
	Child     Child
	Consent   *Consent
	// Hold, when set, holds the child as a likely duplicate of a known
	// child until someone decides (see DecideDuplicate).
	Hold *DuplicateHold
}

// AddFamilies inserts families, their blind-index tokens and any holds in
// one transaction: all or none.
func (s *Store) AddFamilies(ctx context.Context, families []Family) error {
	return s.with(ctx).Transaction(func(tx *gorm.DB) error { return s.insertFamilies(tx, families) })
}

// insertFamilies writes families inside a transaction. Tokens are made
// from the plain values before the model hooks seal them.
func (s *Store) insertFamilies(tx *gorm.DB, families []Family) error {
	var tokens []ChildToken
	for _, f := range families {
		tokens = append(tokens, s.tokensOf(f.Child, f.Caregiver)...)
		if err := tx.Create(&f.Caregiver).Error; err != nil {
			return fmt.Errorf("caregiver: %w", err)
		}
		if err := tx.Create(&f.Child).Error; err != nil {
			return fmt.Errorf("child: %w", err)
		}
		if f.Consent != nil {
			if err := tx.Create(f.Consent).Error; err != nil {
				return fmt.Errorf("consent: %w", err)
			}
		}
		if f.Hold != nil {
			if err := tx.Create(f.Hold).Error; err != nil {
				return fmt.Errorf("duplicate hold: %w", err)
			}
		}
	}
	if len(tokens) > 0 {
		if err := tx.CreateInBatches(tokens, 500).Error; err != nil {
			return fmt.Errorf("blind index: %w", err)
		}
	}
	return nil
}

// Gauge is one aggregate row for metrics: labels and a count.
type Gauge struct {
	Labels []string
	Value  float64
}

// Snapshot holds the aggregates khula exports as metrics. None carries a
// child identifier: only site, wave number, school, stage, domain and level.
type Snapshot struct {
	CyclesByStage    []Gauge // site, wave, stage
	RiskByDomain     []Gauge // site, wave, domain, level (baseline)
	PlansAwaiting    []Gauge // site, school
	Referrals        []Gauge // site, status, overdue
	MeetingBacklog   []Gauge // site, school
	StalledCycles    []Gauge // site: open cycles with no stage change for StalledAfter
	StalledAfterDays int
	// AuditHead is the audit chain's last entry, exported so a copy of it
	// lives outside the database (Prometheus keeps its history).
	AuditHead AuditHead
	// AuditQueued counts write entries waiting in the audit outbox.
	AuditQueued int64
}

// MetricsSnapshot computes the aggregates; cycles count as stalled when
// their stage has not changed for stalledAfter.
func (s *Store) MetricsSnapshot(ctx context.Context, stalledAfter time.Duration, now time.Time) (Snapshot, error) {
	db := s.with(ctx)
	snap := Snapshot{StalledAfterDays: int(stalledAfter.Hours() / 24)}
	type row struct {
		A, B, C, D string
		N          float64
	}
	run := func(q *gorm.DB, cols int, dst *[]Gauge) error {
		var rows []row
		if err := q.Scan(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			labels := []string{r.A, r.B, r.C, r.D}[:cols]
			*dst = append(*dst, Gauge{Labels: labels, Value: r.N})
		}
		return nil
	}
	steps := []struct {
		q    *gorm.DB
		cols int
		dst  *[]Gauge
	}{
		{db.Model(&Cycle{}).Select("site_id AS a, wave_id AS b, stage AS c, count(*) AS n").Group("site_id, wave_id, stage"), 3, &snap.CyclesByStage},
		{db.Model(&DomainRisk{}).Select("site_id AS a, wave_id AS b, domain AS c, level AS d, count(*) AS n").Where("phase = ?", cycle.PhaseBaseline).Group("site_id, wave_id, domain, level"), 4, &snap.RiskByDomain},
		{db.Model(&Cycle{}).Select("site_id AS a, school_id AS b, count(*) AS n").Where("stage = ? AND status = ?", cycle.StagePlan, CycleOpen).Group("site_id, school_id"), 2, &snap.PlansAwaiting},
		{db.Model(&Referral{}).Select("site_id AS a, status AS b, CASE WHEN overdue THEN 'true' ELSE 'false' END AS c, count(*) AS n").Group("site_id, status, overdue"), 3, &snap.Referrals},
		{db.Model(&Meeting{}).Select("site_id AS a, school_id AS b, count(*) AS n").Where("status = ?", cycle.MeetingAwaitingMinutes).Group("site_id, school_id"), 2, &snap.MeetingBacklog},
		{db.Model(&Cycle{}).Select("site_id AS a, count(*) AS n").Where("status = ? AND updated_at < ?", CycleOpen, now.Add(-stalledAfter).UTC()).Group("site_id"), 1, &snap.StalledCycles},
	}
	for _, st := range steps {
		if err := run(st.q, st.cols, st.dst); err != nil {
			return snap, err
		}
	}
	var err error
	if snap.AuditHead, err = s.ReadAuditHead(ctx); err != nil {
		return snap, err
	}
	if snap.AuditQueued, err = s.AuditOutboxLen(ctx); err != nil {
		return snap, err
	}
	for i := range snap.CyclesByStage {
		snap.CyclesByStage[i].Labels[1] = waveNumber(snap.CyclesByStage[i].Labels[1])
	}
	for i := range snap.RiskByDomain {
		snap.RiskByDomain[i].Labels[1] = waveNumber(snap.RiskByDomain[i].Labels[1])
	}
	return snap, nil
}

// waveNumber turns "wave/site/3" into "3".
func waveNumber(id string) string {
	if i := strings.LastIndex(id, "/"); i >= 0 {
		return id[i+1:]
	}
	return id
}
