package instrument

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"time"

	"cel.dev/cel-go/common/types"

	"github.com/khula-cop/khula/internal/growth"
)

// GrowthCalculator computes WHO growth z-scores; *growth.References
// satisfies it (a nil *growth.References reports every indicator as not
// computed). Tests use a fake.
type GrowthCalculator interface {
	Compute(growth.Measurement) growth.Result
}

// Sexes of a [Subject].
const (
	SexMale   = "male"
	SexFemale = "female"
)

// Subject is what scoring needs to know about the child besides the answers.
// A zero DOB or AssessedOn leaves the age unknown.
type Subject struct {
	Sex        string // "male" or "female"
	DOB        time.Time
	AssessedOn time.Time
}

// ScaleResult is one scale's score. When Computed is false, Score is zero,
// Band empty and Reason says why.
type ScaleResult struct {
	Score    float64 `json:"score"`
	Band     string  `json:"band,omitempty"`
	Computed bool    `json:"computed"`
	Prorated bool    `json:"prorated"`
	// Missing counts the scale's unanswered items (after proration, or why
	// it was not computed).
	Missing int    `json:"missing,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// Result is a child's scored assessment. Every field is explainable: each
// domain's reason is the reason of the rule (or red flag) that set its level.
type Result struct {
	// Instrument is the effective instrument that produced the result.
	Instrument Ref `json:"instrument"`
	// Scales by scale id.
	Scales map[string]ScaleResult `json:"scales"`
	// Domains maps each domain to high, moderate, low or not_assessed.
	Domains map[string]string `json:"domains"`
	// DomainReasons says why each domain has its level.
	DomainReasons map[string]string `json:"domain_reasons"`
	// DomainServices holds, for a domain whose level was set by a rule with
	// a service_type (or by a red flag with one), the site service type the
	// rule suggests for the plan. Domains without a suggestion are absent.
	DomainServices map[string]string `json:"domain_services,omitempty"`
	// Flags lists the red flag codes raised, sorted.
	Flags []string `json:"flags"`
	// FlagReasons maps each raised flag to its reason, for the safeguarding lead.
	FlagReasons map[string]string `json:"flag_reasons,omitempty"`
	// Declined lists the declinable items the respondent declined, sorted
	// (scored as unanswered).
	Declined []string `json:"declined,omitempty"`
	// Growth holds the z-scores when the instrument measures growth.
	Growth *growth.Result `json:"growth,omitempty"`
	// Warnings lists conditions that could not be evaluated (they counted as
	// false); empty for a well-formed instrument.
	Warnings []string `json:"warnings,omitempty"`
}

// Score scores a child's merged answers (all respondents; item ids are
// unique across respondents). Answers are checked as by ValidateAll with
// inferred respondents, except that missing required answers are allowed: a
// missing answer leaves its scales not computed and its domain possibly
// not_assessed. Invalid answers fail scoring with a *ValidationError.
// g computes growth z-scores; nil means no reference tables.
func (in *Instrument) Score(s Subject, a Answers, g GrowthCalculator) (*Result, error) {
	resps, err := in.respondentSet(a, nil)
	if err != nil {
		return nil, fmt.Errorf("scoring with %s: %w", in.ref, err)
	}
	errs, vals, declined := in.check(a, resps, false)
	if len(errs) > 0 {
		return nil, fmt.Errorf("scoring with %s: %w", in.ref, &ValidationError{Errors: errs})
	}
	res := &Result{
		Instrument:    in.Ref(),
		Scales:        make(map[string]ScaleResult, len(in.scales)),
		Domains:       make(map[string]string, len(in.domains)),
		DomainReasons: make(map[string]string, len(in.domains)),
		Flags:         []string{},
	}

	// Scales, in definition order (sum_of only names earlier scales).
	scaleVals := make(map[string]any, len(in.scales))
	results := make([]ScaleResult, len(in.scales))
	for i, cs := range in.scales {
		r := in.scoreScale(cs, vals, results)
		results[i] = r
		res.Scales[cs.ID] = r
		fields := map[string]any{"computed": r.Computed, "prorated": r.Prorated}
		if r.Computed {
			fields["score"] = r.Score
			if r.Band != "" {
				fields["band"] = r.Band
			}
		}
		scaleVals[cs.ID] = newRecord(typeScale, fields)
	}

	// Growth and the child's age.
	ageDays := math.NaN()
	if !s.DOB.IsZero() && !s.AssessedOn.IsZero() {
		ageDays = float64(civilDays(s.AssessedOn) - civilDays(s.DOB))
	}
	child := map[string]any{}
	if !math.IsNaN(ageDays) && ageDays >= 0 {
		child["age_months"] = ageDays / growth.DaysPerMonth
	}
	if s.Sex != "" {
		child["sex"] = s.Sex
	}
	growthFields := map[string]any{}
	if in.growthItems != nil {
		gr := in.computeGrowth(s, ageDays, vals, g)
		res.Growth = &gr
		for name, z := range map[string]growth.ZScore{"hfa": gr.HFA, "wfa": gr.WFA, "bfa": gr.BFA} {
			f := map[string]any{"computed": z.Computed, "flagged": z.Flagged, "usable": z.Computed && !z.Flagged}
			if z.Computed {
				f["z"] = z.Z
			}
			growthFields[name] = newRecord(typeZ, f)
		}
	} else {
		for _, name := range []string{"hfa", "wfa", "bfa"} {
			growthFields[name] = newRecord(typeZ, map[string]any{"computed": false, "flagged": false, "usable": false})
		}
	}

	vars := map[string]any{
		"answers": newRecord(typeAnswers, vals),
		"params":  newRecord(typeParams, paramFields(in.params)),
		"scales":  scaleVals,
		"growth":  newRecord(typeGrowth, growthFields),
		"child":   newRecord(typeChild, child),
	}
	declinedFields := map[string]any{}
	for _, it := range in.items {
		if it.Declinable {
			declinedFields[it.ID] = declined[it.ID]
			if declined[it.ID] {
				res.Declined = append(res.Declined, it.ID)
			}
		}
	}
	sort.Strings(res.Declined)
	vars["declined"] = newRecord(typeDeclined, declinedFields)
	if s.AssessedOn.IsZero() {
		// Unknown: reading it makes a condition not hold, like an absent answer.
		vars["assessed_on"] = types.WrapErr(fmt.Errorf("%w: assessment date unknown", errNoValue))
	} else {
		vars["assessed_on"] = timeValue(s.AssessedOn)
	}
	act, err := activation(vars)
	if err != nil {
		return nil, fmt.Errorf("scoring with %s: %w", in.ref, err)
	}
	cond := func(p *program) bool {
		ok, err := p.eval(act)
		if err != nil && !errors.Is(err, errNoValue) {
			res.Warnings = append(res.Warnings, err.Error())
		}
		return ok && err == nil
	}

	// Red flags; each makes its domain high, except notify-only flags.
	flagged := map[string]*compiledFlag{}
	for _, f := range in.flags {
		if !cond(f.prg) {
			continue
		}
		res.Flags = append(res.Flags, f.Code)
		if res.FlagReasons == nil {
			res.FlagReasons = map[string]string{}
		}
		res.FlagReasons[f.Code] = f.Reason
		if _, ok := flagged[f.Domain]; !ok && !f.NotifyOnly {
			flagged[f.Domain] = f
		}
	}
	sort.Strings(res.Flags)

	// Domains.
	for _, d := range in.domains {
		level, reason, service := in.domainLevel(d.ID, vals, flagged[d.ID], cond)
		res.Domains[d.ID] = level
		res.DomainReasons[d.ID] = reason
		if service != "" {
			if res.DomainServices == nil {
				res.DomainServices = map[string]string{}
			}
			res.DomainServices[d.ID] = service
		}
	}
	return res, nil
}

// domainLevel applies a domain's red flag or first matching rule, and
// returns the level, the reason and the suggested service type.
func (in *Instrument) domainLevel(dom string, vals map[string]any, flag *compiledFlag, cond func(*program) bool) (string, string, string) {
	if flag != nil {
		return LevelHigh, fmt.Sprintf("red flag %s: %s", flag.Code, flag.Reason), flag.ServiceType
	}
	assessed := false
	for _, id := range in.domainItems[dom] {
		if _, ok := vals[id]; ok {
			assessed = true
			break
		}
	}
	if !assessed {
		return LevelNotAssessed, "no item of this domain was answered", ""
	}
	for _, r := range in.rules[dom] {
		if cond(r.prg) {
			return r.Level, r.Reason, r.ServiceType
		}
	}
	return LevelLow, "no rule matched: no concern found in the answers given", ""
}

// civilDays counts calendar days since 1970-01-01 of t's date (in t's
// location), so an age does not depend on the time of day.
func civilDays(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func (in *Instrument) computeGrowth(s Subject, ageDays float64, vals map[string]any, g GrowthCalculator) growth.Result {
	if g == nil {
		var none *growth.References
		g = none
	}
	m := growth.Measurement{AgeDays: ageDays}
	switch s.Sex {
	case SexMale:
		m.Sex = growth.Male
	case SexFemale:
		m.Sex = growth.Female
	}
	if w, ok := vals[in.growthItems.Weight].(float64); ok {
		m.WeightKg = w
	}
	if h, ok := vals[in.growthItems.Height].(float64); ok {
		m.HeightCm = h
	}
	return g.Compute(m)
}

// scoreScale computes one scale from the answers (or the scales before it).
func (in *Instrument) scoreScale(cs *compiledScale, vals map[string]any, done []ScaleResult) ScaleResult {
	if len(cs.parts) > 0 {
		var r ScaleResult
		for _, j := range cs.parts {
			p := done[j]
			if !p.Computed {
				return ScaleResult{Reason: fmt.Sprintf("%s not computed", in.scales[j].ID)}
			}
			r.Score += p.Score
			r.Prorated = r.Prorated || p.Prorated
			r.Missing += p.Missing
		}
		r.Computed = true
		r.Band = cs.band(r.Score)
		return r
	}
	n := len(cs.items)
	sum := new(big.Rat)
	answered := 0
	for _, si := range cs.items {
		v, ok := numeric(vals[in.items[si.idx].ID])
		if !ok {
			continue
		}
		answered++
		x := new(big.Rat).SetFloat64(v)
		if si.reverse {
			// value' = max + min - value over the item's range.
			x = new(big.Rat).Sub(new(big.Rat).Add(ratOf(si.lo), ratOf(si.hi)), x)
		}
		sum.Add(sum, x)
	}
	missing := n - answered
	r := ScaleResult{Missing: missing}
	switch {
	case missing == 0:
		if cs.method == "mean" {
			sum.Quo(sum, big.NewRat(int64(n), 1))
		}
	case cs.Prorate != nil && missing <= cs.Prorate.MaxMissing && answered > 0:
		r.Prorated = true
		if cs.method == "mean" {
			sum.Quo(sum, big.NewRat(int64(answered), 1))
		} else {
			// round-half-up(mean of answered × item count)
			sum.Mul(sum, big.NewRat(int64(n), int64(answered)))
			sum = roundHalfUp(sum)
		}
	case cs.Prorate != nil:
		r.Reason = fmt.Sprintf("%d of %d items missing (at most %d allowed)", missing, n, cs.Prorate.MaxMissing)
		return r
	default:
		r.Reason = fmt.Sprintf("%d of %d items missing (this scale is not prorated)", missing, n)
		return r
	}
	r.Score, _ = sum.Float64()
	r.Computed = true
	r.Band = cs.band(r.Score)
	return r
}

// band returns the name of the band holding score ("" when no bands).
func (cs *compiledScale) band(score float64) string {
	if len(cs.Bands) == 0 {
		return ""
	}
	if cs.whole {
		for _, b := range cs.Bands {
			if score >= b.Min && score <= b.Max {
				return b.Name
			}
		}
		return ""
	}
	bands := append([]Band(nil), cs.Bands...)
	sort.SliceStable(bands, func(i, j int) bool { return bands[i].Min < bands[j].Min })
	for i, b := range bands {
		last := i == len(bands)-1
		if score >= b.Min && (score < b.Max || (last && score <= b.Max)) {
			return b.Name
		}
	}
	return ""
}

func ratOf(f float64) *big.Rat { return new(big.Rat).SetFloat64(f) }

// roundHalfUp rounds to the nearest whole number, halves upwards.
func roundHalfUp(r *big.Rat) *big.Rat {
	x := new(big.Rat).Add(r, big.NewRat(1, 2))
	q := new(big.Int).Quo(x.Num(), x.Denom()) // truncates toward zero
	if x.Sign() < 0 && new(big.Int).Mul(q, x.Denom()).Cmp(x.Num()) != 0 {
		q.Sub(q, big.NewInt(1))
	}
	return new(big.Rat).SetInt(q)
}

// numeric reads a CEL answer value as a number.
func numeric(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// Comparison outcomes of [Compare].
const (
	Improved      = "improved"
	Unchanged     = "unchanged"
	Worse         = "worse"
	NotComparable = "not_comparable"
)

// Compare compares the domain levels of a follow-up assessment with the
// baseline: improved (lower risk), unchanged, worse, or not_comparable when
// either is missing or not_assessed.
func Compare(baseline, follow map[string]string) map[string]string {
	out := map[string]string{}
	for d := range baseline {
		out[d] = NotComparable
	}
	for d := range follow {
		out[d] = NotComparable
	}
	for d := range out {
		b, f := levelRank(baseline[d]), levelRank(follow[d])
		switch {
		case b == 0 || f == 0:
			out[d] = NotComparable
		case f < b:
			out[d] = Improved
		case f > b:
			out[d] = Worse
		default:
			out[d] = Unchanged
		}
	}
	return out
}
