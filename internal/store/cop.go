package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/khula-cop/khula/internal/cycle"
)

// SavePlans stores the plans a meeting agreed, once per child and meeting
// (minutes without attendance).
func (s *Store) SavePlans(ctx context.Context, meetingID string, plans []cycle.ChildPlan, at time.Time) error {
	return s.SaveMinutes(ctx, meetingID, plans, nil, at)
}

// SaveMinutes stores what a meeting recorded, in one transaction and once
// (a retry changes nothing): each child's plan, one followed-up row per
// action (with its owner, due date and sector) and the attendance by
// sector. A concern the meeting planned for leaves the agenda.
func (s *Store) SaveMinutes(ctx context.Context, meetingID string, plans []cycle.ChildPlan, attendance map[string]int, at time.Time) error {
	at = at.UTC()
	rows := make([]Plan, 0, len(plans))
	ids := make([]string, 0, len(plans))
	for _, p := range plans {
		doc, err := json.Marshal(p.Actions)
		if err != nil {
			return fmt.Errorf("encoding plan: %w", err)
		}
		rows = append(rows, Plan{ID: planID(meetingID, p.CycleID), CycleID: p.CycleID, MeetingID: meetingID, Actions: string(doc), AgreedAt: at})
		ids = append(ids, p.CycleID)
	}
	return s.with(ctx).Transaction(func(tx *gorm.DB) error {
		if len(attendance) > 0 {
			doc, err := json.Marshal(attendance)
			if err != nil {
				return fmt.Errorf("encoding attendance: %w", err)
			}
			if err := tx.Model(&Meeting{}).Where("id = ? AND attendance = ''", meetingID).Update("attendance", string(doc)).Error; err != nil {
				return fmt.Errorf("attendance: %w", err)
			}
		}
		if len(rows) == 0 {
			return nil
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
			return err
		}
		actions, err := actionRows(tx, meetingID, plans, at)
		if err != nil {
			return err
		}
		if len(actions) > 0 {
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&actions, 200).Error; err != nil {
				return fmt.Errorf("plan actions: %w", err)
			}
		}
		// A concern a meeting planned for leaves the agenda.
		return tx.Model(&AgendaConcern{}).Where("id IN ? AND planned_at IS NULL", ids).Update("planned_at", at).Error
	})
}

func planID(meetingID, cycleID string) string { return meetingID + "|" + cycleID }

// actionID is a plan action's short, stable ID (it goes in URLs): the same
// minutes saved twice give the same IDs.
func actionID(planID string, seq int) string {
	sum := sha256.Sum256([]byte(planID + "|" + strconv.Itoa(seq)))
	return "pa-" + hex.EncodeToString(sum[:10])
}

// actionRows makes the followed-up rows of the plans' actions.
func actionRows(tx *gorm.DB, meetingID string, plans []cycle.ChildPlan, at time.Time) ([]PlanActionRow, error) {
	ids := make([]string, 0, len(plans))
	for _, p := range plans {
		ids = append(ids, p.CycleID)
	}
	var cycles []Cycle
	if err := tx.Select("id", "wave_id", "site_id", "school_id").Where("id IN ?", ids).Find(&cycles).Error; err != nil {
		return nil, fmt.Errorf("plan cycles: %w", err)
	}
	byID := make(map[string]Cycle, len(cycles))
	for _, c := range cycles {
		byID[c.ID] = c
	}
	var out []PlanActionRow
	for _, p := range plans {
		c, ok := byID[p.CycleID]
		if !ok {
			// A plan for a cycle the app database does not know (never
			// mirrored): the plan row is kept, nothing to follow up.
			continue
		}
		for i, a := range p.Actions {
			status := cycle.ActionOpen
			if a.ServiceType != "" {
				status = cycle.ActionReferred
			}
			out = append(out, PlanActionRow{
				ID: actionID(planID(meetingID, p.CycleID), i), PlanID: planID(meetingID, p.CycleID), CycleID: p.CycleID,
				MeetingID: meetingID, SiteID: c.SiteID, SchoolID: c.SchoolID, WaveID: c.WaveID, Seq: i,
				Domain: a.Domain, Kind: a.Kind, ServiceType: a.ServiceType, Sector: cycle.SectorOf(a.ServiceType),
				Owner: a.Owner, DueOn: cycle.ActionDue(a, at), Status: status, AgreedAt: at,
			})
		}
	}
	return out, nil
}

// Errors of CloseAction.
var (
	// ErrActionClosed: the action was already recorded done or dropped.
	ErrActionClosed = errors.New("the action is already closed")
	// ErrActionReferred: a service action is followed up by its referral.
	ErrActionReferred = errors.New("the action asked for a service: record the referral's outcome instead")
)

// PlanActionByID returns one plan action; ErrNotFound when there is none.
func (s *Store) PlanActionByID(ctx context.Context, id string) (PlanActionRow, error) {
	var row PlanActionRow
	err := s.with(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, fmt.Errorf("plan action: %w", ErrNotFound)
	}
	return row, err
}

// CloseAction records an open action done or dropped, once. It returns
// the updated row; ErrActionClosed if it was closed before, or
// ErrActionReferred for a service action.
func (s *Store) CloseAction(ctx context.Context, id, status, by string, at time.Time) (PlanActionRow, error) {
	if status != cycle.ActionDone && status != cycle.ActionDropped {
		return PlanActionRow{}, fmt.Errorf("status %q: must be %s or %s", status, cycle.ActionDone, cycle.ActionDropped)
	}
	var row PlanActionRow
	err := s.with(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", id).Take(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("plan action: %w", ErrNotFound)
			}
			return err
		}
		switch row.Status {
		case cycle.ActionReferred:
			return ErrActionReferred
		case cycle.ActionDone, cycle.ActionDropped:
			return ErrActionClosed
		}
		t := at.UTC()
		res := tx.Model(&PlanActionRow{}).Where("id = ? AND status = ?", id, cycle.ActionOpen).
			Updates(map[string]any{"status": status, "closed_at": t, "closed_by": by})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrActionClosed
		}
		row.Status, row.ClosedAt, row.ClosedBy = status, &t, by
		return nil
	})
	return row, err
}

// ActionFilter selects plan actions.
type ActionFilter struct {
	SiteID   string
	SchoolID string // "" for every school of the site
	CycleID  string // "" for every cycle
	// OpenOnly keeps open actions; OverdueOn (YYYY-MM-DD) keeps open
	// actions due before that day.
	OpenOnly  bool
	OverdueOn string
	Limit     int
}

// PlanActions lists plan actions, due date first.
func (s *Store) PlanActions(ctx context.Context, f ActionFilter) ([]PlanActionRow, error) {
	q := s.with(ctx).Where("site_id = ?", f.SiteID)
	if f.SchoolID != "" {
		q = q.Where("school_id = ?", f.SchoolID)
	}
	if f.CycleID != "" {
		q = q.Where("cycle_id = ?", f.CycleID)
	}
	if f.OpenOnly || f.OverdueOn != "" {
		q = q.Where("status = ?", cycle.ActionOpen)
	}
	if f.OverdueOn != "" {
		q = q.Where("due_on < ?", f.OverdueOn)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var rows []PlanActionRow
	if err := q.Order("due_on, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("plan actions: %w", err)
	}
	return rows, nil
}

// OverdueActionItems lists a school's open actions due before day, as
// agenda items: the LLCoP follows them up at its next meeting.
func (s *Store) OverdueActionItems(ctx context.Context, siteID, schoolID string, day time.Time) ([]cycle.AgendaItem, error) {
	rows, err := s.PlanActions(ctx, ActionFilter{SiteID: siteID, SchoolID: schoolID, OverdueOn: day.UTC().Format(time.DateOnly), Limit: 500})
	if err != nil {
		return nil, err
	}
	items := make([]cycle.AgendaItem, 0, len(rows))
	for _, r := range rows {
		ref, err := cycle.ParseCycleID(r.CycleID)
		if err != nil {
			continue
		}
		items = append(items, cycle.AgendaItem{CycleID: r.CycleID, ChildID: ref.Child, Reason: cycle.AgendaOverdueAction, ActionID: r.ID})
	}
	return items, nil
}

// MeetingAttendance decodes a meeting's attendance ("" gives nil).
func MeetingAttendance(m Meeting) (map[string]int, error) {
	if m.Attendance == "" {
		return nil, nil
	}
	var att map[string]int
	if err := json.Unmarshal([]byte(m.Attendance), &att); err != nil {
		return nil, fmt.Errorf("attendance of %s: %w", m.ID, err)
	}
	return att, nil
}

// CoPCycle is one cycle as the CoP dashboard reads it.
type CoPCycle struct {
	SchoolID string
	Wave     int
	Risk     string
	ScoredAt *time.Time
	PlanAt   *time.Time
}

// CoPRows is what the CoP dashboard of a site reads: its waves (oldest
// first), meetings, cycles at baseline with their first plan, referrals
// and plan actions. No personal field is read.
type CoPRows struct {
	Waves     []Wave
	Meetings  []Meeting
	Cycles    []CoPCycle
	Referrals []Referral
	Actions   []PlanActionRow
	// WaveOf maps a wave ID to its number.
	WaveOf map[string]int
}

// CoPData reads the rows of a site's CoP dashboard.
func (s *Store) CoPData(ctx context.Context, siteID string) (CoPRows, error) {
	db := s.with(ctx)
	out := CoPRows{WaveOf: map[string]int{}}
	if err := db.Where("site_id = ?", siteID).Order("number").Find(&out.Waves).Error; err != nil {
		return out, fmt.Errorf("waves: %w", err)
	}
	for _, w := range out.Waves {
		out.WaveOf[w.ID] = w.Number
	}
	var err error
	if out.Meetings, err = s.Meetings(ctx, siteID, ""); err != nil {
		return out, err
	}
	var cycles []Cycle
	if err := db.Select("id", "wave_id", "school_id", "risk").Where("site_id = ?", siteID).Order("id").Find(&cycles).Error; err != nil {
		return out, fmt.Errorf("cycles: %w", err)
	}
	// Timestamps are compared in Go: an aggregate over a TIMESTAMP column
	// loses its type in SQLite.
	var scores []Score
	if err := db.Table("scores").Select("scores.cycle_id, scores.computed_at").
		Joins("JOIN cycles ON cycles.id = scores.cycle_id").
		Where("cycles.site_id = ? AND scores.phase = ?", siteID, cycle.PhaseBaseline).Find(&scores).Error; err != nil {
		return out, fmt.Errorf("scores: %w", err)
	}
	var plans []Plan
	if err := db.Table("plans").Select("plans.cycle_id, plans.agreed_at").
		Joins("JOIN cycles ON cycles.id = plans.cycle_id").
		Where("cycles.site_id = ?", siteID).Find(&plans).Error; err != nil {
		return out, fmt.Errorf("plans: %w", err)
	}
	scored := map[string]time.Time{}
	for _, sc := range scores {
		if t, ok := scored[sc.CycleID]; !ok || sc.ComputedAt.Before(t) {
			scored[sc.CycleID] = sc.ComputedAt
		}
	}
	planned := map[string]time.Time{}
	for _, p := range plans {
		if t, ok := planned[p.CycleID]; !ok || p.AgreedAt.Before(t) {
			planned[p.CycleID] = p.AgreedAt
		}
	}
	for _, c := range cycles {
		cc := CoPCycle{SchoolID: c.SchoolID, Wave: out.WaveOf[c.WaveID], Risk: c.Risk}
		if t, ok := scored[c.ID]; ok {
			cc.ScoredAt = &t
		}
		if t, ok := planned[c.ID]; ok {
			cc.PlanAt = &t
		}
		out.Cycles = append(out.Cycles, cc)
	}
	if err := db.Where("site_id = ?", siteID).Order("created_at, id").Find(&out.Referrals).Error; err != nil {
		return out, fmt.Errorf("referrals: %w", err)
	}
	if err := db.Where("site_id = ?", siteID).Order("agreed_at, id").Find(&out.Actions).Error; err != nil {
		return out, fmt.Errorf("plan actions: %w", err)
	}
	return out, nil
}

// HighRiskPlan is a plan for a child at high risk in some domain, with
// its reviews.
type HighRiskPlan struct {
	Plan     Plan
	Cycle    Cycle
	Levels   map[string]string
	Reasons  map[string]string
	Actions  []cycle.PlanAction
	Reviews  []PlanReview
	Awaiting bool // the cycle's referrals wait for the review
}

// HighRiskPlans lists a site's plans for children at high risk in some
// baseline domain, newest first (at most limit), with their reviews;
// pendingOnly keeps those without a review.
func (s *Store) HighRiskPlans(ctx context.Context, siteID string, pendingOnly bool, limit int) ([]HighRiskPlan, error) {
	db := s.with(ctx)
	var cycleIDs []string
	if err := db.Model(&DomainRisk{}).Distinct("cycle_id").
		Where("site_id = ? AND phase = ? AND level = ?", siteID, cycle.PhaseBaseline, cycle.RiskHigh).Pluck("cycle_id", &cycleIDs).Error; err != nil {
		return nil, fmt.Errorf("high-risk cycles: %w", err)
	}
	if len(cycleIDs) == 0 {
		return []HighRiskPlan{}, nil
	}
	var out []HighRiskPlan
	for start := 0; start < len(cycleIDs); start += 500 {
		chunk := cycleIDs[start:min(start+500, len(cycleIDs))]
		var plans []Plan
		if err := db.Where("cycle_id IN ?", chunk).Find(&plans).Error; err != nil {
			return nil, fmt.Errorf("plans: %w", err)
		}
		for _, p := range plans {
			out = append(out, HighRiskPlan{Plan: p})
		}
	}
	if len(out) == 0 {
		return []HighRiskPlan{}, nil
	}
	planIDs := make([]string, len(out))
	for i, h := range out {
		planIDs[i] = h.Plan.ID
	}
	reviews, err := s.reviewsOf(ctx, planIDs)
	if err != nil {
		return nil, err
	}
	kept := out[:0]
	for _, h := range out {
		h.Reviews = reviews[h.Plan.ID]
		if pendingOnly && len(h.Reviews) > 0 {
			continue
		}
		kept = append(kept, h)
	}
	out = kept
	// Newest plan first.
	slices.SortFunc(out, func(a, b HighRiskPlan) int {
		if c := b.Plan.AgreedAt.Compare(a.Plan.AgreedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Plan.ID, b.Plan.ID)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	for i := range out {
		h := &out[i]
		if err := json.Unmarshal([]byte(h.Plan.Actions), &h.Actions); err != nil {
			return nil, fmt.Errorf("plan %s: %w", h.Plan.ID, err)
		}
		if err := db.Where("id = ?", h.Plan.CycleID).Take(&h.Cycle).Error; err != nil {
			return nil, fmt.Errorf("cycle of plan %s: %w", h.Plan.ID, err)
		}
		h.Awaiting = slices.Contains(SplitList(h.Cycle.Awaiting), "alcop_review")
		h.Levels, h.Reasons = map[string]string{}, map[string]string{}
		var risks []DomainRisk
		if err := db.Where("cycle_id = ? AND phase = ?", h.Plan.CycleID, cycle.PhaseBaseline).Find(&risks).Error; err != nil {
			return nil, fmt.Errorf("levels of plan %s: %w", h.Plan.ID, err)
		}
		for _, r := range risks {
			h.Levels[r.Domain] = r.Level
		}
		var sc Score
		if err := db.Select("result").Where("cycle_id = ? AND phase = ?", h.Plan.CycleID, cycle.PhaseBaseline).Take(&sc).Error; err == nil {
			var doc struct {
				DomainReasons map[string]string `json:"domain_reasons"`
			}
			if json.Unmarshal([]byte(sc.Result), &doc) == nil && doc.DomainReasons != nil {
				h.Reasons = doc.DomainReasons
			}
		}
	}
	return out, nil
}

func (s *Store) reviewsOf(ctx context.Context, planIDs []string) (map[string][]PlanReview, error) {
	out := map[string][]PlanReview{}
	for start := 0; start < len(planIDs); start += 500 {
		var rows []PlanReview
		if err := s.with(ctx).Where("plan_id IN ?", planIDs[start:min(start+500, len(planIDs))]).Order("reviewed_at, id").Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("reviews: %w", err)
		}
		for _, r := range rows {
			out[r.PlanID] = append(out[r.PlanID], r)
		}
	}
	return out, nil
}

// PlanByID returns one plan; ErrNotFound when there is none.
func (s *Store) PlanByID(ctx context.Context, id string) (Plan, Cycle, error) {
	var p Plan
	var c Cycle
	db := s.with(ctx)
	err := db.Where("id = ?", id).Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return p, c, fmt.Errorf("plan: %w", ErrNotFound)
	}
	if err != nil {
		return p, c, err
	}
	if err := db.Where("id = ?", p.CycleID).Take(&c).Error; err != nil {
		return p, c, fmt.Errorf("cycle of plan: %w", err)
	}
	return p, c, nil
}

// SaveReview stores an advisor's review of a plan (the comment sealed).
func (s *Store) SaveReview(ctx context.Context, r PlanReview) error {
	r.ReviewedAt = r.ReviewedAt.UTC()
	if err := s.with(ctx).Create(&r).Error; err != nil {
		return fmt.Errorf("saving review: %w", err)
	}
	return nil
}

// AgendaConcernByID returns the concern that put a cycle on an agenda
// (the reason opened); ErrNotFound when there is none.
func (s *Store) AgendaConcernByID(ctx context.Context, cycleID string) (AgendaConcern, error) {
	var row AgendaConcern
	err := s.with(ctx).Where("id = ?", cycleID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, fmt.Errorf("concern: %w", ErrNotFound)
	}
	return row, err
}

// FlagReasons returns why each red flag of a cycle's baseline was raised.
func (s *Store) FlagReasons(ctx context.Context, cycleID string) (map[string]string, error) {
	var sc Score
	err := s.with(ctx).Select("result").Where("cycle_id = ? AND phase = ?", cycleID, cycle.PhaseBaseline).Take(&sc).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("flag reasons: %w", err)
	}
	var doc struct {
		FlagReasons map[string]string `json:"flag_reasons"`
	}
	if err := json.Unmarshal([]byte(sc.Result), &doc); err != nil {
		return nil, fmt.Errorf("flag reasons: %w", err)
	}
	if doc.FlagReasons == nil {
		doc.FlagReasons = map[string]string{}
	}
	return doc.FlagReasons, nil
}

// UrgentReferrals lists a cycle's urgent referrals.
func (s *Store) UrgentReferrals(ctx context.Context, cycleID string) ([]Referral, error) {
	var rows []Referral
	if err := s.with(ctx).Where("cycle_id = ? AND urgent = ?", cycleID, true).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("urgent referrals: %w", err)
	}
	return rows, nil
}

// SchoolSummaryCounts is a school's picture in a wave.
type SchoolSummaryCounts struct {
	Levels           map[string]map[string]int
	Scored           int
	ReferralsOpen    int
	ReferralsOverdue int
}

// SchoolSummary counts a school's children per domain and baseline level
// in a wave, the children scored, and its referrals open and overdue.
func (s *Store) SchoolSummary(ctx context.Context, waveID, schoolID string, _ time.Time) (SchoolSummaryCounts, error) {
	db := s.with(ctx)
	out := SchoolSummaryCounts{Levels: map[string]map[string]int{}}
	var rows []keyCount
	if err := db.Model(&DomainRisk{}).Select("domain AS k1, level AS k2, count(*) AS n").
		Where("wave_id = ? AND school_id = ? AND phase = ?", waveID, schoolID, cycle.PhaseBaseline).Group("domain, level").Scan(&rows).Error; err != nil {
		return out, fmt.Errorf("school levels: %w", err)
	}
	for _, r := range rows {
		if out.Levels[r.K1] == nil {
			out.Levels[r.K1] = map[string]int{}
		}
		out.Levels[r.K1][r.K2] = r.N
	}
	var scored int64
	if err := db.Model(&Score{}).Joins("JOIN cycles ON cycles.id = scores.cycle_id").
		Where("cycles.wave_id = ? AND cycles.school_id = ? AND scores.phase = ?", waveID, schoolID, cycle.PhaseBaseline).Count(&scored).Error; err != nil {
		return out, fmt.Errorf("school scored: %w", err)
	}
	out.Scored = int(scored)
	var open, overdue int64
	if err := db.Model(&Referral{}).Where("wave_id = ? AND school_id = ? AND closed_at IS NULL", waveID, schoolID).Count(&open).Error; err != nil {
		return out, fmt.Errorf("school referrals: %w", err)
	}
	if err := db.Model(&Referral{}).Where("wave_id = ? AND school_id = ? AND closed_at IS NULL AND overdue = ?", waveID, schoolID, true).Count(&overdue).Error; err != nil {
		return out, fmt.Errorf("school referrals: %w", err)
	}
	out.ReferralsOpen, out.ReferralsOverdue = int(open), int(overdue)
	return out, nil
}
