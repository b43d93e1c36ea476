// Package evidence turns what the store recorded about each child's cycle
// into the inputs of the wave findings report (package findings) and the
// rows of the research dataset (package research). It knows which CWTT
// items answer the report's questions (the Child Support Grant, birth
// certificate, food and hunger items) and reads the stored scoring
// results; it writes nothing and logs nothing.
package evidence

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/findings"
	"github.com/khula-cop/khula/internal/research"
	"github.com/khula-cop/khula/internal/store"
)

// The CWTT items the findings report reads (see instruments/cwtt.yaml).
const (
	ItemCSGReceived = "csg_received"
	ItemCSGApplied  = "csg_applied"
	ItemBirthCert   = "birth_cert"
	ItemFoodShort   = "food_short"
	ItemHungerBed   = "hunger_bed"
	ItemHungerSkip  = "hunger_skip"
)

// storedResult is the part of a stored scoring result read here.
type storedResult struct {
	Scales map[string]struct {
		Score    float64 `json:"score"`
		Band     string  `json:"band"`
		Computed bool    `json:"computed"`
		Prorated bool    `json:"prorated"`
	} `json:"scales"`
	Flags  []string `json:"flags"`
	Growth *struct {
		HFA zscore `json:"hfa"`
		WFA zscore `json:"wfa"`
		BFA zscore `json:"bfa"`
	} `json:"growth"`
}

type zscore struct {
	Z        float64 `json:"z"`
	Computed bool    `json:"computed"`
	Flagged  bool    `json:"flagged"`
}

func decode(p *store.PhaseEvidence) (storedResult, error) {
	var r storedResult
	if p == nil || p.Result == "" {
		return r, nil
	}
	if err := json.Unmarshal([]byte(p.Result), &r); err != nil {
		return r, fmt.Errorf("stored scoring result: %w", err)
	}
	return r, nil
}

// Child is a cycle's baseline as the findings report reads it.
func Child(ev store.CycleEvidence) (findings.Child, error) {
	c := findings.Child{School: ev.Cycle.SchoolID}
	base := ev.Phases[cycle.PhaseBaseline]
	if base == nil || base.Result == "" {
		return c, nil
	}
	c.Scored = true
	res, err := decode(base)
	if err != nil {
		return c, fmt.Errorf("cycle %s: %w", ev.Cycle.ID, err)
	}
	c.CSGReceived = boolAnswer(base.Answers, ItemCSGReceived)
	c.CSGApplied = boolAnswer(base.Answers, ItemCSGApplied)
	c.BirthCert = boolAnswer(base.Answers, ItemBirthCert)
	if s, ok := base.Answers[ItemFoodShort].(string); ok {
		c.FoodShort = s
	}
	c.HungerBed = intAnswer(base.Answers, ItemHungerBed)
	c.HungerSkip = intAnswer(base.Answers, ItemHungerSkip)
	if s, ok := res.Scales["phq9.total"]; ok && s.Computed {
		c.PHQ9Band = s.Band
	}
	c.SDQBands = map[string]string{}
	for _, id := range []string{"sdq.emotional", "sdq.conduct", "sdq.hyperactivity", "sdq.peer", "sdq.prosocial", "sdq.total"} {
		if s, ok := res.Scales[id]; ok && s.Computed && s.Band != "" {
			c.SDQBands[id] = s.Band
		}
	}
	if s, ok := res.Scales["cyrm.total"]; ok && s.Computed {
		v := s.Score
		c.Resilience = &v
	}
	if g := res.Growth; g != nil {
		c.HAZ, c.WAZ, c.BAZ = usable(g.HFA), usable(g.WFA), usable(g.BFA)
	}
	c.Domains = base.Levels
	return c, nil
}

// usable is a z-score the prevalences may count: computed and not flagged
// as implausible.
func usable(z zscore) *float64 {
	if !z.Computed || z.Flagged {
		return nil
	}
	v := z.Z
	return &v
}

func boolAnswer(a map[string]any, item string) *bool {
	if b, ok := a[item].(bool); ok {
		return &b
	}
	return nil
}

func intAnswer(a map[string]any, item string) *int {
	switch v := a[item].(type) {
	case float64:
		n := int(v)
		return &n
	case int:
		return &v
	}
	return nil
}

// Referrals are a cycle's referrals as the findings report reads them.
func Referrals(ev store.CycleEvidence) []findings.Referral {
	out := make([]findings.Referral, 0, len(ev.Referrals))
	for _, r := range ev.Referrals {
		out = append(out, findings.Referral{School: r.SchoolID, Sector: cycle.SectorOf(r.ServiceType), ServiceType: r.ServiceType,
			Urgent: r.Urgent, Status: r.Status, Overdue: r.Overdue, CreatedAt: r.CreatedAt, AcknowledgedAt: r.AcknowledgedAt, ClosedAt: r.ClosedAt})
	}
	return out
}

// Actions are a cycle's followed-up plan actions (service actions are
// counted with their referrals), as of today.
func Actions(ev store.CycleEvidence, today time.Time) []findings.PlanAction {
	day := today.UTC().Format(time.DateOnly)
	var out []findings.PlanAction
	for _, a := range ev.Actions {
		if a.Status == cycle.ActionReferred {
			continue
		}
		out = append(out, findings.PlanAction{School: a.SchoolID, Domain: a.Domain, Sector: actionSector(a),
			Done: a.Status == cycle.ActionDone, Overdue: a.Status == cycle.ActionOpen && a.DueOn < day})
	}
	return out
}

// actionSector is an action's sector: its service's, or "other" for the
// LLCoP's own actions (notes, completing the assessment).
func actionSector(a store.PlanActionRow) string {
	if a.Sector != "" {
		return a.Sector
	}
	return cycle.SectorOther
}

// Rows are a cycle's research rows: one per phase scored, or one baseline
// row carrying the outcome for a cycle never scored. childKey is the ID
// the pseudonym is made from (the child a duplicate was linked to, so the
// same child keeps one pseudonym).
func Rows(ev store.CycleEvidence, today time.Time) ([]research.Row, error) {
	childKey := ev.Cycle.ChildID
	if ev.SameAs != "" {
		childKey = ev.SameAs
	}
	base := research.Row{ChildID: childKey, School: ev.Cycle.SchoolID, Wave: ev.Wave, Sex: ev.Sex, Grade: ev.Grade, Outcome: ev.Cycle.Outcome}
	phases := []string{cycle.PhaseBaseline, cycle.PhaseReassessment}
	var out []research.Row
	for _, phase := range phases {
		p := ev.Phases[phase]
		if p == nil && phase != cycle.PhaseBaseline {
			continue
		}
		row := base
		row.Phase = phase
		if p != nil && p.Result != "" {
			res, err := decode(p)
			if err != nil {
				return nil, fmt.Errorf("cycle %s %s: %w", ev.Cycle.ID, phase, err)
			}
			row.InstrumentID, row.InstrumentVersion = p.InstrumentID, p.InstrumentVersion
			row.AssessedOn = p.ScoredAt
			if !ev.BirthDate.IsZero() && !p.ScoredAt.IsZero() {
				age := research.AgeMonths(ev.BirthDate, p.ScoredAt)
				row.AgeMonths = &age
			}
			row.Answers = p.Answers
			row.Domains = p.Levels
			row.RedFlags = len(res.Flags)
			row.Scales = map[string]research.ScaleValue{}
			for id, s := range res.Scales {
				row.Scales[id] = research.ScaleValue{Score: s.Score, Computed: s.Computed, Band: s.Band, Prorated: s.Prorated}
			}
			if g := res.Growth; g != nil {
				row.Growth = map[string]research.GrowthValue{
					research.HeightForAge: growthValue(g.HFA), research.WeightForAge: growthValue(g.WFA), research.BMIForAge: growthValue(g.BFA),
				}
			}
		}
		if phase == cycle.PhaseBaseline {
			row.PlanAgreed = len(ev.Plans) > 0
			day := today.UTC().Format(time.DateOnly)
			for _, a := range ev.Actions {
				row.PlanActions = append(row.PlanActions, research.Action{Domain: a.Domain, ServiceType: a.ServiceType, Kind: a.Kind,
					Sector: a.Sector, Done: a.Status == cycle.ActionDone, Overdue: a.Status == cycle.ActionOpen && a.DueOn < day})
			}
			for _, r := range ev.Referrals {
				ref := research.Referral{Domain: r.Domain, ServiceType: r.ServiceType, Sector: cycle.SectorOf(r.ServiceType), Status: r.Status,
					Urgent: r.Urgent, Overdue: r.Overdue}
				if t := firstService(r); t != nil {
					d := t.Sub(r.CreatedAt).Hours() / 24
					if d >= 0 {
						ref.DaysToService = &d
					}
				}
				row.Referrals = append(row.Referrals, ref)
			}
		}
		out = append(out, row)
	}
	return out, nil
}

func growthValue(z zscore) research.GrowthValue {
	g := research.GrowthValue{Z: z.Z, Computed: z.Computed}
	if z.Computed && z.Flagged {
		g.Flag = research.GrowthFlagImplausible
	}
	return g
}

// firstService is when the service first answered: acknowledged, or
// completed without an acknowledgement.
func firstService(r store.Referral) *time.Time {
	if r.AcknowledgedAt != nil {
		return r.AcknowledgedAt
	}
	if r.Status == store.ReferralCompleted && r.ClosedAt != nil {
		return r.ClosedAt
	}
	return nil
}
