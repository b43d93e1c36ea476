package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/khula-cop/khula/internal/cycle"
)

// The methods below implement activities.Records. Each is idempotent on the
// record's deterministic ID, so a retried activity writes once.

func joinList(items []string) string { return strings.Join(items, ",") }

// SplitList splits a comma-joined list column.
func SplitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// RecordStage upserts the cycle's row (never moving it back to an older
// stage when a retried activity arrives late) and appends the timeline entry.
func (s *Store) RecordStage(ctx context.Context, r cycle.StageRecord) error {
	status := CycleOpen
	if r.Stage == cycle.StageClosed {
		status = CycleClosed
	}
	row := Cycle{
		ID: r.CycleID, WaveID: r.WaveID, SiteID: r.SiteID, SchoolID: r.SchoolID, ChildID: r.ChildID,
		Stage: r.Stage, Status: status, Outcome: r.Outcome, Risk: r.Risk, RedFlag: len(r.Flags) > 0,
		Flags: joinList(r.Flags), Awaiting: joinList(r.Awaiting), StageSeq: r.Seq, CreatedAt: r.At.UTC(), UpdatedAt: r.At.UTC(),
	}
	return s.with(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "id"}},
			DoUpdates: clause.AssignmentColumns([]string{"stage", "status", "outcome", "risk", "red_flag", "flags", "awaiting", "stage_seq", "updated_at"}),
			Where:     clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "cycles.stage_seq <= excluded.stage_seq"}}},
		}).Create(&row).Error
		if err != nil {
			return fmt.Errorf("upserting cycle: %w", err)
		}
		ev := StageEvent{ID: fmt.Sprintf("%s/%d", r.CycleID, r.Seq), CycleID: r.CycleID, Seq: r.Seq, Stage: r.Stage, Detail: r.Detail, At: r.At.UTC()}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&ev).Error; err != nil {
			return fmt.Errorf("appending stage event: %w", err)
		}
		return nil
	})
}

// Enrolment reports whether a child is in the site's cohort with a consent
// on record that covers the wave under the site's consent policy (any
// consent not withdrawn when q.Wave is 0). A child who left the study is
// found but not enrolled.
func (s *Store) Enrolment(ctx context.Context, q cycle.EnrolmentQuery) (cycle.Enrolment, error) {
	db := s.with(ctx)
	var child Child
	err := db.Select("id", "site_id", "school_id", "left_at", "left_reason").Where("id = ? AND site_id = ?", q.ChildID, q.SiteID).Take(&child).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return cycle.Enrolment{Reason: "child is not in the site's cohort"}, nil
	}
	if err != nil {
		return cycle.Enrolment{}, err
	}
	e := cycle.Enrolment{Found: true, SchoolID: child.SchoolID}
	if child.LeftAt != nil {
		e.Reason = "the child left the study (" + child.LeftReason + ")"
		return e, nil
	}
	var consents []Consent
	if err := db.Select("given_at", "renewed_at").Where("child_id = ? AND withdrawn_at IS NULL", q.ChildID).Find(&consents).Error; err != nil {
		return cycle.Enrolment{}, err
	}
	if len(consents) == 0 {
		e.Reason = "no consent on record from a competent person"
		return e, nil
	}
	if q.Wave == 0 {
		e.Consented = true
		return e, nil
	}
	open, previous, err := s.waveTimes(ctx, q.SiteID, q.Wave)
	if err != nil {
		return cycle.Enrolment{}, err
	}
	for _, c := range consents {
		ok, reason := q.Policy.Covers(cycle.ConsentTerm{GivenAt: c.GivenAt, RenewedAt: c.RenewedAt}, open, previous)
		if ok {
			e.Consented, e.Reason = true, ""
			return e, nil
		}
		e.Reason = reason
	}
	return e, nil
}

// waveTimes returns when a site's wave opens (now when it is not recorded
// yet) and when the site's latest earlier wave launched (zero when none).
func (s *Store) waveTimes(ctx context.Context, siteID string, number int) (open, previous time.Time, err error) {
	db := s.with(ctx)
	var w Wave
	err = db.Select("window_open").Where("site_id = ? AND number = ?", siteID, number).Take(&w).Error
	switch {
	case err == nil:
		open = w.WindowOpen
	case errors.Is(err, gorm.ErrRecordNotFound):
		open = time.Now().UTC()
	default:
		return time.Time{}, time.Time{}, fmt.Errorf("wave %d of %s: %w", number, siteID, err)
	}
	var prev []Wave
	if err := db.Select("launched_at").Where("site_id = ? AND number < ?", siteID, number).Order("number DESC").Limit(1).Find(&prev).Error; err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("waves of %s before %d: %w", siteID, number, err)
	}
	if len(prev) == 1 {
		previous = prev[0].LaunchedAt
	}
	return open, previous, nil
}

// Subject returns what scoring needs about a child.
func (s *Store) Subject(ctx context.Context, childID string) (cycle.Subject, error) {
	var child Child
	if err := s.with(ctx).Select("sex", "birth_date").Where("id = ?", childID).Take(&child).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return cycle.Subject{}, fmt.Errorf("child %s: %w", childID, ErrNotFound)
		}
		return cycle.Subject{}, err
	}
	return cycle.Subject{Sex: child.Sex, BirthDate: child.BirthDate}, nil
}

// AssessmentID is the deterministic ID of a respondent's form in a phase.
func AssessmentID(cycleID, phase, respondent string) string {
	return cycleID + "/" + phase + "/" + respondent
}

// SaveAssessment stores a respondent's answers once.
func (s *Store) SaveAssessment(ctx context.Context, r cycle.AssessmentRecord) error {
	// Nulls mean "not answered": they are not kept.
	answers := make(cycle.Answers, len(r.Answers))
	for k, v := range r.Answers {
		if v != nil {
			answers[k] = v
		}
	}
	doc, err := json.Marshal(answers)
	if err != nil {
		return fmt.Errorf("encoding answers: %w", err)
	}
	row := Assessment{
		ID: AssessmentID(r.CycleID, r.Phase, r.Respondent), CycleID: r.CycleID, Phase: r.Phase, Respondent: r.Respondent,
		Answers: string(doc), SubmittedBy: r.SubmittedBy, SubmittedAt: r.SubmittedAt.UTC(),
	}
	return s.with(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error
}

// Assessments returns a phase's answers by respondent.
func (s *Store) Assessments(ctx context.Context, cycleID, phase string) (map[string]cycle.Answers, error) {
	var rows []Assessment
	if err := s.with(ctx).Where("cycle_id = ? AND phase = ?", cycleID, phase).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]cycle.Answers, len(rows))
	for _, r := range rows {
		var a cycle.Answers
		if err := json.Unmarshal([]byte(r.Answers), &a); err != nil {
			return nil, fmt.Errorf("decoding answers %s: %w", r.ID, err)
		}
		out[r.Respondent] = a
	}
	return out, nil
}

// SaveScore stores a phase's score and its domain risks (replacing an
// earlier attempt's, which is identical).
func (s *Store) SaveScore(ctx context.Context, r cycle.ScoreRecord) error {
	row := Score{
		ID: r.CycleID + "/" + r.Phase, CycleID: r.CycleID, Phase: r.Phase,
		InstrumentID: r.Instrument.ID, InstrumentVersion: r.Instrument.Version, Result: string(r.Result), ComputedAt: r.ComputedAt.UTC(),
	}
	risks := make([]DomainRisk, 0, len(r.Domains))
	for d, level := range r.Domains {
		risks = append(risks, DomainRisk{CycleID: r.CycleID, Phase: r.Phase, Domain: d, WaveID: r.WaveID, SiteID: r.SiteID, SchoolID: r.SchoolID, Level: level, Change: r.Changes[d]})
	}
	sort.Slice(risks, func(i, j int) bool { return risks[i].Domain < risks[j].Domain })
	return s.with(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
			return fmt.Errorf("saving score: %w", err)
		}
		if len(risks) == 0 {
			return nil
		}
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&risks).Error; err != nil {
			return fmt.Errorf("saving domain risks: %w", err)
		}
		return nil
	})
}

// SaveReferral upserts a referral's row, stamping each status change once.
func (s *Store) SaveReferral(ctx context.Context, r cycle.ReferralRecord) error {
	at := r.At.UTC()
	return s.with(ctx).Transaction(func(tx *gorm.DB) error {
		var row Referral
		err := tx.Where("id = ?", r.ReferralID).Take(&row).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			row = Referral{ID: r.ReferralID, CreatedAt: at}
		case err != nil:
			return err
		}
		row.CycleID, row.WaveID, row.SiteID, row.SchoolID = r.CycleID, r.WaveID, r.SiteID, r.SchoolID
		row.Domain, row.ServiceType, row.Urgent = r.Domain, r.ServiceType, r.Urgent
		if r.ServiceID != "" {
			row.ServiceID = r.ServiceID
		}
		if r.DispatchRef != "" {
			row.DispatchRef = r.DispatchRef
		}
		// A late retry of an earlier save must not move the referral back.
		if referralRank(r.Status) >= referralRank(row.Status) {
			row.Status = r.Status
		}
		row.Overdue = row.Overdue || r.Overdue
		if r.DueAt != nil {
			due := r.DueAt.UTC()
			row.DueAt = &due
		}
		switch r.Status {
		case cycle.ReferralDispatched:
			if row.DispatchedAt == nil {
				row.DispatchedAt = &at
			}
		case cycle.ReferralAcknowledged:
			if row.AcknowledgedAt == nil {
				row.AcknowledgedAt = &at
			}
		case cycle.ReferralCompleted, cycle.ReferralDeclined, cycle.ReferralUnreachable:
			if row.ClosedAt == nil {
				row.ClosedAt = &at
			}
		}
		return tx.Save(&row).Error
	})
}

// PendingAgenda lists a school's children awaiting a plan, with their
// baseline domain results and red flags, and those with overdue referrals.
func (s *Store) PendingAgenda(ctx context.Context, siteID, schoolID string) ([]cycle.AgendaItem, error) {
	db := s.with(ctx)
	var cycles []Cycle
	if err := db.Where("site_id = ? AND school_id = ? AND stage = ? AND status = ?", siteID, schoolID, cycle.StagePlan, CycleOpen).
		Order("red_flag DESC, id").Find(&cycles).Error; err != nil {
		return nil, err
	}
	items := make([]cycle.AgendaItem, 0, len(cycles))
	ids := make([]string, 0, len(cycles))
	for _, c := range cycles {
		items = append(items, cycle.AgendaItem{CycleID: c.ID, ChildID: c.ChildID, Reason: cycle.AgendaAwaitingPlan, Flags: SplitList(c.Flags), Domains: map[string]string{}})
		ids = append(ids, c.ID)
	}
	if len(ids) > 0 {
		var risks []DomainRisk
		if err := db.Where("cycle_id IN ? AND phase = ?", ids, cycle.PhaseBaseline).Find(&risks).Error; err != nil {
			return nil, err
		}
		byCycle := map[string]map[string]string{}
		for _, r := range risks {
			if byCycle[r.CycleID] == nil {
				byCycle[r.CycleID] = map[string]string{}
			}
			byCycle[r.CycleID][r.Domain] = r.Level
		}
		for i := range items {
			if d := byCycle[items[i].CycleID]; d != nil {
				items[i].Domains = d
			}
		}
	}
	// Children a practitioner added with a concern; the reason stays sealed
	// in its table (the agenda is stored in clear) and is shown on reading.
	concerns, err := s.pendingConcerns(ctx, siteID, schoolID)
	if err != nil {
		return nil, err
	}
	for _, c := range concerns {
		if slices.Contains(ids, c.ID) {
			continue // already on the agenda awaiting its plan
		}
		items = append(items, cycle.AgendaItem{CycleID: c.ID, ChildID: c.ChildID, Reason: cycle.AgendaConcern, Domains: map[string]string{}})
		ids = append(ids, c.ID)
	}
	if len(concerns) > 0 {
		var risks []DomainRisk
		if err := db.Where("cycle_id IN ? AND phase = ?", ids, cycle.PhaseBaseline).Find(&risks).Error; err != nil {
			return nil, err
		}
		for i := range items {
			if items[i].Reason != cycle.AgendaConcern {
				continue
			}
			for _, r := range risks {
				if r.CycleID == items[i].CycleID {
					items[i].Domains[r.Domain] = r.Level
				}
			}
		}
	}
	var overdue []Referral
	if err := db.Where("site_id = ? AND school_id = ? AND overdue = ? AND closed_at IS NULL", siteID, schoolID, true).Order("id").Find(&overdue).Error; err != nil {
		return nil, err
	}
	for _, r := range overdue {
		ref, err := cycle.ParseCycleID(r.CycleID)
		if err != nil {
			continue
		}
		items = append(items, cycle.AgendaItem{CycleID: r.CycleID, ChildID: ref.Child, Reason: cycle.AgendaOverdueReferral})
	}
	return items, nil
}

// Status ranks: a save never moves a record to a lower rank, so a late
// retry of an earlier activity cannot undo a later one.
func referralRank(status string) int {
	switch status {
	case cycle.ReferralCreated:
		return 1
	case cycle.ReferralDispatched:
		return 2
	case cycle.ReferralAcknowledged:
		return 3
	case cycle.ReferralCompleted, cycle.ReferralDeclined, cycle.ReferralUnreachable:
		return 4
	}
	return 0
}

func meetingRank(status string) int {
	if status == cycle.MeetingAwaitingMinutes {
		return 1
	}
	if status == "" {
		return 0
	}
	return 2 // held, minutes missing or no agenda: final
}

func waveRank(status string) int {
	switch status {
	case cycle.WaveLaunching:
		return 1
	case cycle.WaveOpen:
		return 2
	case cycle.WaveClosing:
		return 3
	case cycle.WaveReported:
		return 4
	case cycle.WaveClosed:
		return 5
	}
	return 0
}

// SaveMeeting upserts a meeting's row, never moving it back to an earlier status.
func (s *Store) SaveMeeting(ctx context.Context, r cycle.MeetingRecord) error {
	agenda, err := json.Marshal(r.Agenda)
	if err != nil {
		return fmt.Errorf("encoding agenda: %w", err)
	}
	at := r.At.UTC()
	return s.with(ctx).Transaction(func(tx *gorm.DB) error {
		var row Meeting
		err := tx.Where("id = ?", r.MeetingID).Take(&row).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			row = Meeting{ID: r.MeetingID, SiteID: r.SiteID, SchoolID: r.SchoolID, Date: r.Date, CreatedAt: at}
		case err != nil:
			return err
		}
		if meetingRank(r.Status) < meetingRank(row.Status) {
			return nil
		}
		row.Status, row.Agenda = r.Status, string(agenda)
		if r.Status == cycle.MeetingHeld && row.HeldAt == nil {
			row.HeldAt = &at
		}
		return tx.Save(&row).Error
	})
}

// SaveFollowUp stores a check-in once.
func (s *Store) SaveFollowUp(ctx context.Context, r cycle.FollowUpRecord) error {
	row := FollowUp{ID: r.ID, CycleID: r.CycleID, RecordedBy: r.RecordedBy, Note: r.Note, At: r.At.UTC()}
	return s.with(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error
}

// SaveWave upserts a wave's row, never moving it back to an earlier status.
func (s *Store) SaveWave(ctx context.Context, r cycle.WaveRecord) error {
	at := r.At.UTC()
	return s.with(ctx).Transaction(func(tx *gorm.DB) error {
		var row Wave
		err := tx.Where("id = ?", r.WaveID).Take(&row).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			row = Wave{
				ID: r.WaveID, SiteID: r.SiteID, Number: r.Number, WindowOpen: r.WindowOpen.UTC(), WindowClose: r.WindowClose.UTC(),
				DayLengthMS: r.DayLength.Milliseconds(), LaunchedAt: at,
			}
		case err != nil:
			return err
		}
		if waveRank(r.Status) < waveRank(row.Status) {
			return nil
		}
		row.Status = r.Status
		row.CohortSize = max(row.CohortSize, r.CohortSize)
		switch r.Status {
		case cycle.WaveClosed:
			if row.ClosedAt == nil {
				row.ClosedAt = &at
			}
			row.Report = string(r.Report)
		case cycle.WaveReported:
			// The report on its date, open cycles counted as open, rewritten as they close.
			row.Report = string(r.Report)
		}
		return tx.Save(&row).Error
	})
}

// OpenCycles lists up to limit IDs of a wave's cycles not yet closed, after
// the given cycle ID, in ID order.
func (s *Store) OpenCycles(ctx context.Context, waveID, after string, limit int) ([]string, error) {
	var ids []string
	if err := s.with(ctx).Model(&Cycle{}).Where("wave_id = ? AND stage <> ? AND id > ?", waveID, cycle.StageClosed, after).
		Order("id").Limit(limit).Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("open cycles of %s: %w", waveID, err)
	}
	return ids, nil
}

// CohortPage lists up to limit children of a site after the given child
// ID, in ID order: those who have not left the study and are not held as
// likely duplicates awaiting a decision.
func (s *Store) CohortPage(ctx context.Context, siteID, after string, limit int) ([]cycle.CohortMember, error) {
	var rows []Child
	if err := s.with(ctx).Select("id", "school_id").Where("site_id = ? AND id > ? AND left_at IS NULL", siteID, after).
		Where("NOT EXISTS (SELECT 1 FROM duplicate_holds h WHERE h.child_id = children.id AND h.status = ?)", HoldPending).
		Order("id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]cycle.CohortMember, len(rows))
	for i, r := range rows {
		out[i] = cycle.CohortMember{ChildID: r.ID, SchoolID: r.SchoolID}
	}
	return out, nil
}

type stageCount struct {
	Stage string
	N     int
}

// WaveProgress counts a wave's cycles by stage.
func (s *Store) WaveProgress(ctx context.Context, waveID string) (cycle.WaveProgress, error) {
	var counts []stageCount
	if err := s.with(ctx).Model(&Cycle{}).Select("stage, count(*) AS n").Where("wave_id = ?", waveID).Group("stage").Scan(&counts).Error; err != nil {
		return cycle.WaveProgress{}, err
	}
	p := cycle.WaveProgress{ByStage: map[string]int{}}
	for _, c := range counts {
		p.ByStage[c.Stage] = c.N
		p.CohortSize += c.N
		if c.Stage != cycle.StageClosed {
			p.Open += c.N
		}
	}
	return p, nil
}

type keyCount struct {
	K1, K2 string
	N      int
}

// WaveReport summarises a wave: outcomes, baseline risk by domain, change at
// reassessment, referral outcomes and red flags.
func (s *Store) WaveReport(ctx context.Context, waveID string) (cycle.WaveReport, error) {
	db := s.with(ctx)
	rep := cycle.WaveReport{Outcomes: map[string]int{}, Risk: map[string]map[string]int{}, Changes: map[string]map[string]int{}, Referrals: map[string]int{}}
	var rows []keyCount
	if err := db.Model(&Cycle{}).Select("outcome AS k1, count(*) AS n").Where("wave_id = ?", waveID).Group("outcome").Scan(&rows).Error; err != nil {
		return rep, err
	}
	for _, r := range rows {
		rep.CohortSize += r.N
		key := r.K1
		if key == "" {
			key = "open"
		}
		rep.Outcomes[key] = r.N
	}
	rows = nil
	if err := db.Model(&DomainRisk{}).Select("domain AS k1, level AS k2, count(*) AS n").Where("wave_id = ? AND phase = ?", waveID, cycle.PhaseBaseline).Group("domain, level").Scan(&rows).Error; err != nil {
		return rep, err
	}
	for _, r := range rows {
		if rep.Risk[r.K1] == nil {
			rep.Risk[r.K1] = map[string]int{}
		}
		rep.Risk[r.K1][r.K2] = r.N
	}
	rows = nil
	if err := db.Model(&DomainRisk{}).Select("domain AS k1, change AS k2, count(*) AS n").Where("wave_id = ? AND phase = ? AND change <> ''", waveID, cycle.PhaseReassessment).Group("domain, change").Scan(&rows).Error; err != nil {
		return rep, err
	}
	for _, r := range rows {
		if rep.Changes[r.K1] == nil {
			rep.Changes[r.K1] = map[string]int{}
		}
		rep.Changes[r.K1][r.K2] = r.N
	}
	rows = nil
	if err := db.Model(&Referral{}).Select("status AS k1, count(*) AS n").Where("wave_id = ?", waveID).Group("status").Scan(&rows).Error; err != nil {
		return rep, err
	}
	for _, r := range rows {
		rep.Referrals[r.K1] = r.N
	}
	var flagged int64
	if err := db.Model(&Cycle{}).Where("wave_id = ? AND red_flag = ?", waveID, true).Count(&flagged).Error; err != nil {
		return rep, err
	}
	rep.RedFlags = int(flagged)
	return rep, nil
}

// AgendaDetails fills in what an LLCoP needs in front of it for each agenda
// item: the reason of the rule behind each domain's level, the respondents
// whose baseline form never arrived (of those the site expects) and the
// domains left unassessed, the urgent referrals its red flags opened, and
// the child's result in the site's previous wave.
func (s *Store) AgendaDetails(ctx context.Context, items []cycle.AgendaItem, respondents []string) error {
	if len(items) == 0 {
		return nil
	}
	db := s.with(ctx)
	ids := make([]string, 0, len(items))
	for _, it := range items {
		ids = append(ids, it.CycleID)
	}
	var scores []Score
	if err := db.Select("cycle_id", "result").Where("cycle_id IN ? AND phase = ?", ids, cycle.PhaseBaseline).Find(&scores).Error; err != nil {
		return fmt.Errorf("agenda scores: %w", err)
	}
	reasons := map[string]map[string]string{}
	for _, sc := range scores {
		var doc struct {
			DomainReasons map[string]string `json:"domain_reasons"`
		}
		if json.Unmarshal([]byte(sc.Result), &doc) == nil {
			reasons[sc.CycleID] = doc.DomainReasons
		}
	}
	var answered []Assessment
	if err := db.Select("cycle_id", "respondent").Where("cycle_id IN ? AND phase = ?", ids, cycle.PhaseBaseline).Find(&answered).Error; err != nil {
		return fmt.Errorf("agenda assessments: %w", err)
	}
	got := map[string]map[string]bool{}
	for _, as := range answered {
		if got[as.CycleID] == nil {
			got[as.CycleID] = map[string]bool{}
		}
		got[as.CycleID][as.Respondent] = true
	}
	var urgent []Referral
	if err := db.Select("id", "cycle_id").Where("cycle_id IN ? AND urgent = ?", ids, true).Order("id").Find(&urgent).Error; err != nil {
		return fmt.Errorf("agenda referrals: %w", err)
	}
	for i := range items {
		it := &items[i]
		it.Reasons = reasons[it.CycleID]
		it.Missing = nil
		for _, r := range respondents {
			if !got[it.CycleID][r] {
				it.Missing = append(it.Missing, r)
			}
		}
		it.Unassessed = nil
		for d, level := range it.Domains {
			if level == cycle.RiskNotAssessed {
				it.Unassessed = append(it.Unassessed, d)
			}
		}
		sort.Strings(it.Unassessed)
		it.Urgent = nil
		for _, r := range urgent {
			if r.CycleID == it.CycleID {
				it.Urgent = append(it.Urgent, r.ID)
			}
		}
		prev, err := s.previousResult(ctx, it.CycleID)
		if err != nil {
			return err
		}
		it.Previous = prev
	}
	return nil
}

// previousResult is the child's result in the latest earlier wave of the
// same site, or nil.
func (s *Store) previousResult(ctx context.Context, cycleID string) (*cycle.PreviousResult, error) {
	ref, err := cycle.ParseCycleID(cycleID)
	if err != nil {
		return nil, nil
	}
	db := s.with(ctx)
	for n := ref.Wave - 1; n >= 1; n-- {
		var c Cycle
		err := db.Select("id", "outcome").Where("id = ?", cycle.CycleID(ref.Site, n, ref.Child)).Take(&c).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("previous result of a cycle: %w", err)
		}
		prev := &cycle.PreviousResult{Wave: n, Outcome: c.Outcome, Domains: map[string]string{}}
		var risks []DomainRisk
		if err := db.Where("cycle_id = ? AND phase = ?", c.ID, cycle.PhaseBaseline).Find(&risks).Error; err != nil {
			return nil, fmt.Errorf("previous result of a cycle: %w", err)
		}
		for _, r := range risks {
			prev.Domains[r.Domain] = r.Level
		}
		return prev, nil
	}
	return nil, nil
}
