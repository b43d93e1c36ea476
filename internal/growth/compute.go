package growth

import "math"

// Position adjustment WHO's anthro applies between length and height (cm).
const lenHeiAdjustCm = 0.7

// Implausible-value limits on z rounded to two decimals (WHO).
const (
	hazLow, hazHigh = -6, 6
	wazLow, wazHigh = -6, 5
	bazLow, bazHigh = -5, 5
)

// Compute returns the height-for-age, weight-for-age and BMI-for-age
// z-scores of m. It never panics: an indicator that cannot be computed has
// Computed false and a Reason (the Reason* constants). On a nil receiver
// every indicator is reported with [ReasonNoTables]. The rules for choosing a
// reference, matching age, the restricted method and flags are in the
// package doc.
func (r *References) Compute(m Measurement) Result {
	res := Result{
		HFA: ZScore{Indicator: HeightForAge},
		WFA: ZScore{Indicator: WeightForAge},
		BFA: ZScore{Indicator: BMIForAge},
	}
	if r == nil {
		res.setAll(ReasonNoTables)
		return res
	}
	if !m.Sex.Valid() {
		res.setAll(ReasonSexInvalid)
		return res
	}
	switch {
	case math.IsNaN(m.AgeDays):
		res.setAll(ReasonAgeMissing)
		return res
	case m.AgeDays < 0:
		res.setAll(ReasonAgeNegative)
		return res
	}

	// WHO's rule for the 2007 reference is on the age in completed months
	// (61–228, weight-for-age 61–120), so 228.59 months is still in range.
	months := m.AgeDays / DaysPerMonth
	whole := math.Floor(months)
	switch {
	case months <= 60:
		r.compute2006(m, months, &res)
	case whole < firstMonth07:
		res.setAll(ReasonAgeGap)
	case whole <= lastMonth07:
		r.compute2007(m, months, whole, &res)
	default: // also +Inf
		res.setAll(ReasonAgeOutOfRange)
	}
	return res
}

func (res *Result) setAll(reason string) {
	res.HFA.Reason = reason
	res.WFA.Reason = reason
	res.BFA.Reason = reason
}

// compute2006 scores against the 2006 standards (age ≤ 60 months).
func (r *References) compute2006(m Measurement, months float64, res *Result) {
	// WHO anthro: age in days rounded to a whole day, halves upwards.
	day := int(math.Floor(m.AgeDays + 0.5))
	res.HFA.Reference, res.WFA.Reference, res.BFA.Reference = RefWHO2006, RefWHO2006, RefWHO2006

	height, hReason := checkHeight(m.HeightCm)
	weight, wReason := checkWeight(m.WeightKg)
	if hReason == "" {
		height = adjustLenHei(height, m.Position, r.len06.curve(m.Sex).position(day), months)
		if height <= 0 {
			height, hReason = 0, ReasonHeightInvalid
		}
		res.HeightUsedCm = height
	}

	row := func(t *table) (lms, bool) { return t.curve(m.Sex).at(day) }
	score(&res.HFA, row, r.len06, height, hReason, false, hazLow, hazHigh)
	bmi, bReason := bmiOf(weight, wReason, height, hReason)
	res.BMI = bmi
	if m.Oedema {
		wReason, bReason = ReasonOedema, ReasonOedema
	}
	score(&res.WFA, row, r.wei06, weight, wReason, true, wazLow, wazHigh)
	score(&res.BFA, row, r.bmi06, bmi, bReason, true, bazLow, bazHigh)
}

// compute2007 scores against the 2007 reference: whole (the completed
// months of months) is 61–228.
func (r *References) compute2007(m Measurement, months, whole float64, res *Result) {
	res.HFA.Reference, res.WFA.Reference, res.BFA.Reference = RefWHO2007, RefWHO2007, RefWHO2007

	height, hReason := checkHeight(m.HeightCm)
	weight, wReason := checkWeight(m.WeightKg)
	if hReason == "" {
		res.HeightUsedCm = height
	}
	rowTo := func(last int) func(*table) (lms, bool) {
		return func(t *table) (lms, bool) { return interpolate(t.curve(m.Sex), months, last) }
	}
	bmi, bReason := bmiOf(weight, wReason, height, hReason)
	res.BMI = bmi
	if m.Oedema {
		wReason, bReason = ReasonOedema, ReasonOedema
	}

	score(&res.HFA, rowTo(lastMonth07), r.hfa07, height, hReason, false, hazLow, hazHigh)
	if whole > lastMonthWFA7 {
		res.WFA.Reason = ReasonAgeOutOfRange
	} else {
		score(&res.WFA, rowTo(lastMonthWFA7), r.wfa07, weight, wReason, true, wazLow, wazHigh)
	}
	score(&res.BFA, rowTo(lastMonth07), r.bfa07, bmi, bReason, true, bazLow, bazHigh)
}

// interpolate returns L, M and S at a decimal age in months, linearly
// interpolated between the bracketing whole months (WHO anthroplus). Within
// the last whole month khula scores (last ≤ months < last+1) it returns row
// last unchanged: WHO's rule admits those ages, and WHO's tables carry a row
// last+1 that repeats row last, so interpolating towards it changes nothing.
// khula does not rely on that extra row being present.
func interpolate(c *curve, months float64, last int) (lms, bool) {
	low := math.Floor(months)
	frac := months - low
	if low >= float64(last) {
		return c.at(last)
	}
	lo, ok := c.at(int(low))
	if !ok || frac == 0 {
		return lo, ok
	}
	hi, ok := c.at(int(low) + 1)
	if !ok {
		return lms{}, false
	}
	return lms{
		l: lo.l + frac*(hi.l-lo.l),
		m: lo.m + frac*(hi.m-lo.m),
		s: lo.s + frac*(hi.s-lo.s),
	}, true
}

// score fills z for measure y against the row picked from t. reason, when
// set, says why y is unusable.
func score(z *ZScore, row func(*table) (lms, bool), t *table, y float64, reason string, restricted bool, low, high float64) {
	if reason != "" {
		z.Reason = reason
		return
	}
	p, ok := row(t)
	if !ok {
		z.Reason = ReasonAgeOutOfRange
		return
	}
	v := zscore(y, p)
	if restricted {
		v = restrict(v, y, p)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		z.Reason = ReasonUndefined
		return
	}
	z.Z = v
	z.Computed = true
	rz := round2(v)
	z.Flagged = rz < low || rz > high
}

// zscore is the LMS z-score: ((y/M)^L − 1)/(L·S), or ln(y/M)/S when L is 0.
// expm1(L·ln(y/M)) equals (y/M)^L − 1 and stays accurate for L near 0.
func zscore(y float64, p lms) float64 {
	if p.l == 0 {
		return math.Log(y/p.m) / p.s
	}
	return math.Expm1(p.l*math.Log(y/p.m)) / (p.l * p.s)
}

// sdLine is the measure at z-score k: M·(1 + L·S·k)^(1/L), or M·e^(S·k) when L
// is 0. It is NaN when 1 + L·S·k ≤ 0.
func sdLine(p lms, k float64) float64 {
	if p.l == 0 {
		return p.m * math.Exp(p.s*k)
	}
	base := p.l * p.s * k
	if base <= -1 {
		return math.NaN()
	}
	return p.m * math.Exp(math.Log1p(base)/p.l)
}

// restrict applies WHO's restricted method beyond ±3 SD: the distance
// between the 2 and 3 SD lines becomes the unit beyond the 3 SD line.
func restrict(z, y float64, p lms) float64 {
	switch {
	case z > 3:
		sd3, sd2 := sdLine(p, 3), sdLine(p, 2)
		return 3 + (y-sd3)/(sd3-sd2)
	case z < -3:
		sd3, sd2 := sdLine(p, -3), sdLine(p, -2)
		return -3 + (y-sd3)/(sd2-sd3)
	}
	return z
}

// round2 rounds to two decimals, halves away from zero.
func round2(v float64) float64 { return math.Round(v*100) / 100 }

// adjustLenHei converts between recumbent length and standing height the
// way WHO's anthro does. expected is the table's loh code for the age.
func adjustLenHei(h float64, pos Position, expected byte, months float64) float64 {
	switch {
	case pos == Standing && expected == 'L' && months >= 9:
		return h + lenHeiAdjustCm
	case pos == Recumbent && expected == 'H':
		return h - lenHeiAdjustCm
	}
	return h
}

func checkWeight(w float64) (float64, string) {
	switch {
	case w == 0:
		return 0, ReasonWeightMissing
	case math.IsNaN(w) || math.IsInf(w, 0) || w < 0:
		return 0, ReasonWeightInvalid
	}
	return w, ""
}

func checkHeight(h float64) (float64, string) {
	switch {
	case h == 0:
		return 0, ReasonHeightMissing
	case math.IsNaN(h) || math.IsInf(h, 0) || h < 0:
		return 0, ReasonHeightInvalid
	}
	return h, ""
}

// bmiOf returns weight / (height in m)² or the reason it cannot.
func bmiOf(w float64, wReason string, h float64, hReason string) (float64, string) {
	if wReason != "" {
		return 0, wReason
	}
	if hReason != "" {
		return 0, hReason
	}
	hm := h / 100
	return w / (hm * hm), ""
}
