package longitudinal

import (
	"cmp"
	"slices"

	"github.com/khula-cop/khula/internal/cycle"
)

// Directions of a [Change].
const (
	// DirBetter: the level went down (high → moderate, moderate → low, high → low).
	DirBetter = "better"
	// DirSame: the level did not change.
	DirSame = "same"
	// DirWorse: the level went up (low → moderate, moderate → high, low → high).
	DirWorse = "worse"
	// DirNotComparable: either side is not_assessed, missing or not a risk level.
	DirNotComparable = "not_comparable"
)

// Levels lists the risk levels in the order reports show them: worst first,
// then not_assessed. Callers must not modify it.
var Levels = []string{cycle.RiskHigh, cycle.RiskModerate, cycle.RiskLow, cycle.RiskNotAssessed}

// levelIndex maps a level to its rank: 0 not_assessed (and anything that is
// not a risk level, including ""), 1 low, 2 moderate, 3 high.
func levelIndex(level string) int { return cycle.RiskRank(level) }

// levelByIndex is the inverse of levelIndex.
var levelByIndex = [4]string{cycle.RiskNotAssessed, cycle.RiskLow, cycle.RiskModerate, cycle.RiskHigh}

// ReferralOutcome is one referral of a time point.
type ReferralOutcome struct {
	Service     string `json:"service"`
	ServiceType string `json:"service_type"`
	Domain      string `json:"domain"`
	Status      string `json:"status"`
	Urgent      bool   `json:"urgent"`
	Outcome     string `json:"outcome,omitempty"`
}

// Scale is a key scale value at a time point. Computed is false when the
// scale could not be scored (items missing); Score is then meaningless.
type Scale struct {
	Score    float64 `json:"score"`
	Band     string  `json:"band,omitempty"`
	Computed bool    `json:"computed"`
}

// Z is a growth z-score. Computed is false when it could not be computed
// (measurement missing or out of the reference's range).
type Z struct {
	Z        float64 `json:"z"`
	Computed bool    `json:"computed"`
}

// TimePoint is one child's assessment in one wave.
type TimePoint struct {
	Wave              int    `json:"wave"`
	CycleID           string `json:"cycle_id"`
	SchoolID          string `json:"school_id"`
	Stage             string `json:"stage"`
	Outcome           string `json:"outcome"`
	AssessedOn        string `json:"assessed_on,omitempty"` // YYYY-MM-DD
	InstrumentVersion string `json:"instrument_version,omitempty"`
	// Domains gives each domain's risk level.
	Domains map[string]string `json:"domains"`
	// Change is each domain's change since the previous time point, filled
	// by [Annotate]; absent on the first.
	Change map[string]Change `json:"change,omitempty"`
	// Scales holds the key scales only (see [KeyScales], [KeepKeyScales]).
	Scales map[string]Scale `json:"scales,omitempty"`
	// Growth holds z-scores by indicator: "hfa", "wfa", "bfa".
	Growth      map[string]Z      `json:"growth,omitempty"`
	PlanAgreed  bool              `json:"plan_agreed"`
	PlanActions []string          `json:"plan_actions,omitempty"`
	Referrals   []ReferralOutcome `json:"referrals,omitempty"`
}

// Change is a domain's level at two time points and which way it went:
// [DirBetter], [DirSame], [DirWorse] or [DirNotComparable].
type Change struct {
	From      string `json:"from"`
	To        string `json:"to"`
	Direction string `json:"direction"`
}

// KeyScales are the scales a trajectory carries, in display order. Callers
// must not modify it.
var KeyScales = []string{
	"sdq.total", "sdq.emotional", "sdq.conduct", "sdq.hyperactivity", "sdq.peer", "sdq.prosocial",
	"phq9.total",
	"cyrm.total", "cyrm.personal", "cyrm.caregiver",
}

// direction compares two level ranks (see levelIndex).
func direction(from, to int) string {
	switch {
	case from == 0 || to == 0:
		return DirNotComparable
	case to < from:
		return DirBetter
	case to > from:
		return DirWorse
	}
	return DirSame
}

// Compare says how a domain's level changed from one time point to the
// next. High is worst and low best; a side that is not_assessed, empty or
// not a risk level makes the change [DirNotComparable]. From and To are kept
// as given.
func Compare(from, to string) Change {
	return Change{From: from, To: to, Direction: direction(levelIndex(from), levelIndex(to))}
}

// Annotate sorts points by wave (stably, so points of the same wave keep
// their order) and sets Change on every point but the first: for each
// domain in either that point or the one before it, the change from the
// previous point's level to this one's (a domain absent on one side is
// compared as "" and so is [DirNotComparable]). The first point's Change is
// set to nil. Any Change already present is replaced.
func Annotate(points []TimePoint) {
	slices.SortStableFunc(points, func(a, b TimePoint) int { return cmp.Compare(a.Wave, b.Wave) })
	for i := range points {
		if i == 0 {
			points[i].Change = nil
			continue
		}
		prev, cur := points[i-1].Domains, points[i].Domains
		ch := make(map[string]Change, max(len(prev), len(cur)))
		for d, to := range cur {
			ch[d] = Compare(prev[d], to)
		}
		for d, from := range prev {
			if _, ok := cur[d]; !ok {
				ch[d] = Compare(from, "")
			}
		}
		if len(ch) == 0 {
			ch = nil
		}
		points[i].Change = ch
	}
}

// KeepKeyScales returns the entries of all whose name is in [KeyScales], in
// a new map; nil when there are none.
func KeepKeyScales(all map[string]Scale) map[string]Scale {
	var out map[string]Scale
	for _, k := range KeyScales {
		if s, ok := all[k]; ok {
			if out == nil {
				out = make(map[string]Scale, len(KeyScales))
			}
			out[k] = s
		}
	}
	return out
}

// AtRisk reports whether a level is high or moderate.
func AtRisk(level string) bool {
	return level == cycle.RiskHigh || level == cycle.RiskModerate
}
