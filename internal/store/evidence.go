package store

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/khula-cop/khula/internal/cycle"
)

// CycleEvidence is everything recorded about one child's cycle, for the
// wave findings report and the research dataset. It holds personal data
// (the answers, the birth date): callers de-identify before anything
// leaves the process.
type CycleEvidence struct {
	Cycle Cycle
	Wave  int
	// Sex, Grade and BirthDate of the child (BirthDate zero when erased).
	Sex, Grade string
	BirthDate  time.Time
	// SameAs names the child this record duplicates ("" if none).
	SameAs string
	// Phases holds, per phase, the merged answers, the stored scoring
	// result and the domain levels; a phase never scored is absent.
	Phases    map[string]*PhaseEvidence
	Plans     []Plan
	Actions   []PlanActionRow
	Referrals []Referral
}

// PhaseEvidence is one phase (baseline or reassessment) of a cycle.
type PhaseEvidence struct {
	Answers map[string]any
	// Result is the stored scoring result (JSON) and ScoredAt when.
	Result            string
	ScoredAt          time.Time
	InstrumentID      string
	InstrumentVersion string
	Levels            map[string]string
}

// EvidenceQuery selects the cycles to read.
type EvidenceQuery struct {
	SiteID string
	// Wave is a wave number; 0 reads every wave of the site.
	Wave int
	// Answers says whether to open the answers (the research dataset needs
	// them; the findings report reads a few items).
	Answers bool
	// Batch is how many cycles are read at once (default 500).
	Batch int
}

// EachCycleEvidence calls fn with each cycle of the site (of one wave, or
// all), in wave then cycle order, reading Batch cycles at a time so a
// large site never sits in memory whole. It stops at fn's first error.
func (s *Store) EachCycleEvidence(ctx context.Context, q EvidenceQuery, fn func(CycleEvidence) error) error {
	if q.Batch <= 0 {
		q.Batch = 500
	}
	db := s.with(ctx)
	var waves []Wave
	wq := db.Select("id", "number").Where("site_id = ?", q.SiteID).Order("number")
	if q.Wave > 0 {
		wq = wq.Where("number = ?", q.Wave)
	}
	if err := wq.Find(&waves).Error; err != nil {
		return fmt.Errorf("waves: %w", err)
	}
	for _, w := range waves {
		after := ""
		for {
			var cycles []Cycle
			if err := db.Where("wave_id = ? AND id > ?", w.ID, after).Order("id").Limit(q.Batch).Find(&cycles).Error; err != nil {
				return fmt.Errorf("cycles of wave %d: %w", w.Number, err)
			}
			if len(cycles) == 0 {
				break
			}
			batch, err := s.evidenceBatch(ctx, w.Number, cycles, q.Answers)
			if err != nil {
				return err
			}
			for _, ev := range batch {
				if err := fn(ev); err != nil {
					return err
				}
			}
			after = cycles[len(cycles)-1].ID
		}
	}
	return nil
}

func (s *Store) evidenceBatch(ctx context.Context, wave int, cycles []Cycle, withAnswers bool) ([]CycleEvidence, error) {
	db := s.with(ctx)
	ids := make([]string, len(cycles))
	childIDs := make([]string, len(cycles))
	out := make([]CycleEvidence, len(cycles))
	at := make(map[string]*CycleEvidence, len(cycles))
	for i, c := range cycles {
		ids[i], childIDs[i] = c.ID, c.ChildID
		out[i] = CycleEvidence{Cycle: c, Wave: wave, Phases: map[string]*PhaseEvidence{}}
		at[c.ID] = &out[i]
	}
	phase := func(ev *CycleEvidence, name string) *PhaseEvidence {
		p := ev.Phases[name]
		if p == nil {
			p = &PhaseEvidence{Answers: map[string]any{}, Levels: map[string]string{}}
			ev.Phases[name] = p
		}
		return p
	}
	// Sex, grade and birth date are not sealed: no personal field is opened.
	var children []Child
	if err := db.Select("id", "sex", "grade", "birth_date", "same_as", "erased_at").Where("id IN ?", childIDs).Find(&children).Error; err != nil {
		return nil, fmt.Errorf("children: %w", err)
	}
	byChild := make(map[string]Child, len(children))
	for _, ch := range children {
		byChild[ch.ID] = ch
	}
	for i := range out {
		ch := byChild[out[i].Cycle.ChildID]
		out[i].Sex, out[i].Grade, out[i].SameAs = ch.Sex, ch.Grade, ch.SameAs
		if ch.ErasedAt == nil {
			out[i].BirthDate = ch.BirthDate
		}
	}
	var scores []Score
	if err := db.Select("cycle_id", "phase", "instrument_id", "instrument_version", "result", "computed_at").Where("cycle_id IN ?", ids).Find(&scores).Error; err != nil {
		return nil, fmt.Errorf("scores: %w", err)
	}
	for _, sc := range scores {
		p := phase(at[sc.CycleID], sc.Phase)
		p.Result, p.ScoredAt, p.InstrumentID, p.InstrumentVersion = sc.Result, sc.ComputedAt, sc.InstrumentID, sc.InstrumentVersion
	}
	var risks []DomainRisk
	if err := db.Select("cycle_id", "phase", "domain", "level").Where("cycle_id IN ?", ids).Find(&risks).Error; err != nil {
		return nil, fmt.Errorf("domain levels: %w", err)
	}
	for _, r := range risks {
		phase(at[r.CycleID], r.Phase).Levels[r.Domain] = r.Level
	}
	if withAnswers {
		var forms []Assessment
		if err := db.Select("id", "cycle_id", "phase", "answers").Where("cycle_id IN ?", ids).Order("id").Find(&forms).Error; err != nil {
			return nil, fmt.Errorf("answers: %w", err)
		}
		for _, f := range forms {
			var a cycle.Answers
			if err := json.Unmarshal([]byte(f.Answers), &a); err != nil {
				return nil, fmt.Errorf("answers of a form of %s: %w", f.CycleID, err)
			}
			p := phase(at[f.CycleID], f.Phase)
			for k, v := range a {
				p.Answers[k] = v
			}
		}
	}
	var plans []Plan
	if err := db.Select("id", "cycle_id", "meeting_id", "agreed_at").Where("cycle_id IN ?", ids).Order("agreed_at, id").Find(&plans).Error; err != nil {
		return nil, fmt.Errorf("plans: %w", err)
	}
	for _, p := range plans {
		at[p.CycleID].Plans = append(at[p.CycleID].Plans, p)
	}
	var actions []PlanActionRow
	if err := db.Where("cycle_id IN ?", ids).Order("agreed_at, id").Find(&actions).Error; err != nil {
		return nil, fmt.Errorf("plan actions: %w", err)
	}
	for _, a := range actions {
		at[a.CycleID].Actions = append(at[a.CycleID].Actions, a)
	}
	var refs []Referral
	if err := db.Where("cycle_id IN ?", ids).Order("created_at, id").Find(&refs).Error; err != nil {
		return nil, fmt.Errorf("referrals: %w", err)
	}
	for _, r := range refs {
		at[r.CycleID].Referrals = append(at[r.CycleID].Referrals, r)
	}
	return out, nil
}

// Meetings lists a site's meetings (of one school, or all with school "").
func (s *Store) Meetings(ctx context.Context, siteID, schoolID string) ([]Meeting, error) {
	q := s.with(ctx).Select("id", "site_id", "school_id", "date", "status", "created_at", "held_at", "attendance").Where("site_id = ?", siteID)
	if schoolID != "" {
		q = q.Where("school_id = ?", schoolID)
	}
	var out []Meeting
	if err := q.Order("date, id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("meetings: %w", err)
	}
	return out, nil
}

// ResearchKeyFor returns a site's research pseudonym key, creating it with
// newKey the first time (once, even when two exports race). The key is
// kept sealed with the field key, so it survives key rotations and the
// pseudonyms stay the same from wave to wave.
func (s *Store) ResearchKeyFor(ctx context.Context, siteID string, newKey func() ([]byte, error)) ([]byte, error) {
	read := func() ([]byte, bool, error) {
		var row ResearchKey
		err := s.with(ctx).Where("site_id = ?", siteID).Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("research key: %w", err)
		}
		key, err := hex.DecodeString(row.KeySealed)
		if err != nil {
			return nil, false, fmt.Errorf("research key of %s: %w", siteID, err)
		}
		return key, true, nil
	}
	if key, ok, err := read(); err != nil || ok {
		return key, err
	}
	key, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("new research key: %w", err)
	}
	row := ResearchKey{SiteID: siteID, KeySealed: hex.EncodeToString(key), CreatedAt: time.Now().UTC()}
	if err := s.with(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return nil, fmt.Errorf("saving research key: %w", err)
	}
	key, ok, err := read()
	if err == nil && !ok {
		err = fmt.Errorf("research key of %s: not saved", siteID)
	}
	return key, err
}

// DeviceKeyFor returns the user's offline key, creating it with newKey the
// first time. Concurrent first calls agree on one key.
func (s *Store) DeviceKeyFor(ctx context.Context, userID string, newKey func() ([]byte, error)) ([]byte, error) {
	read := func() ([]byte, bool, error) {
		var row DeviceKey
		err := s.with(ctx).Where("user_id = ?", userID).Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("device key: %w", err)
		}
		key, err := hex.DecodeString(row.KeySealed)
		if err != nil {
			return nil, false, fmt.Errorf("device key: %w", err)
		}
		return key, true, nil
	}
	if key, ok, err := read(); err != nil || ok {
		return key, err
	}
	key, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("new device key: %w", err)
	}
	row := DeviceKey{UserID: userID, KeySealed: hex.EncodeToString(key), CreatedAt: time.Now().UTC()}
	if err := s.with(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return nil, fmt.Errorf("saving device key: %w", err)
	}
	key, ok, err := read()
	if err == nil && !ok {
		err = errors.New("device key: not saved")
	}
	return key, err
}

// InstrumentUsed names an instrument version a site's scores were made with.
type InstrumentUsed struct {
	InstrumentID      string
	InstrumentVersion string
}

// InstrumentsUsed lists the instrument versions of a site's scores.
func (s *Store) InstrumentsUsed(ctx context.Context, siteID string) ([]InstrumentUsed, error) {
	var out []InstrumentUsed
	if err := s.with(ctx).Table("scores").Distinct("scores.instrument_id", "scores.instrument_version").
		Joins("JOIN cycles ON cycles.id = scores.cycle_id").Where("cycles.site_id = ?", siteID).
		Order("scores.instrument_id, scores.instrument_version").Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("instruments used: %w", err)
	}
	return out, nil
}

// CountCycles counts a site's cycles (of one wave, or all with wave 0).
func (s *Store) CountCycles(ctx context.Context, siteID string, wave int) (int64, error) {
	q := s.with(ctx).Model(&Cycle{}).Where("site_id = ?", siteID)
	if wave > 0 {
		q = q.Where("wave_id = ?", cycle.WaveID(siteID, wave))
	}
	var n int64
	return n, q.Count(&n).Error
}
