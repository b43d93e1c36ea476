package growth

import (
	"errors"
)

// Sex follows WHO's coding: 1 male, 2 female.
type Sex int

// WHO sex codes.
const (
	Male   Sex = 1
	Female Sex = 2
)

// Valid reports whether s is one of WHO's two codes.
func (s Sex) Valid() bool { return s == Male || s == Female }

// Indicator names one growth index.
type Indicator string

// The indicators khula computes.
const (
	HeightForAge Indicator = "hfa"
	WeightForAge Indicator = "wfa"
	BMIForAge    Indicator = "bfa"
)

// DaysPerMonth is WHO's convention for converting between age in months and
// age in days (365.25 / 12).
const DaysPerMonth = 30.4375

// EnvDir names the environment variable that callers (the CLI, the server)
// consult for a directory of WHO's reference tables to use instead of the
// built-in ones ([LoadEmbedded]).
const EnvDir = "KHULA_WHO_GROWTH_DIR"

// The names of the two references, as reported in [ZScore.Reference].
const (
	RefWHO2006 = "WHO 2006 standards"
	RefWHO2007 = "WHO 2007 reference"
)

// Reasons reported in [ZScore.Reason] when an indicator is not computed.
// Every reason about age starts with "age", and both range reasons start with
// [ReasonAgeOutOfRange].
const (
	ReasonNoTables      = "not computed: no reference tables"
	ReasonSexInvalid    = "sex must be 1 (male) or 2 (female)"
	ReasonAgeMissing    = "age missing"
	ReasonAgeNegative   = "age negative"
	ReasonAgeOutOfRange = "age out of range"
	ReasonAgeGap        = "age out of range: WHO references cover up to 60 and from 61 months"
	ReasonWeightMissing = "weight missing"
	ReasonWeightInvalid = "weight must be a positive number of kilograms"
	ReasonHeightMissing = "height missing"
	ReasonHeightInvalid = "height must be a positive number of centimetres"
	ReasonUndefined     = "z-score undefined for these reference values"
	// ReasonOedema is given for weight-for-age and BMI-for-age when the child
	// has bilateral pitting oedema ([Measurement.Oedema]).
	ReasonOedema = "not computed: oedema present"
)

// ErrNoTables reports that the WHO reference tables are not in the directory given.
var ErrNoTables = errors.New("growth: no reference tables")

// Position says how a child's length or height was measured.
type Position int

// Measurement positions. The zero value means the child was measured in the
// position the reference expects, so no adjustment is made.
const (
	// PositionAsExpected means the child was measured as the 2006 standards
	// expect (lying under 731 days, standing from 731 days): no adjustment.
	PositionAsExpected Position = iota
	// Recumbent means recumbent length, measured lying down.
	Recumbent
	// Standing means standing height.
	Standing
)

// Measurement is one child's measurement. A zero WeightKg or HeightCm means
// "not measured"; an AgeDays that is NaN means the age is unknown (zero is a
// valid age: the day of birth). Months convert to days with [DaysPerMonth].
type Measurement struct {
	Sex      Sex
	AgeDays  float64
	WeightKg float64
	HeightCm float64
	// Position says how HeightCm was measured; see the package doc for the
	// adjustment it triggers. The zero value makes no adjustment.
	Position Position
	// Oedema records bilateral pitting oedema. Oedema adds weight, so, as
	// in WHO's software, weight-for-age and BMI-for-age are then not
	// computed ([ReasonOedema]); height-for-age still is. false also stands
	// for "not recorded", which WHO's software treats as no oedema.
	Oedema bool
}

// ZScore is one indicator's result. When Computed is false, Reason says why
// (e.g. "not computed: no reference tables", "age out of range", "weight missing").
// Z keeps full precision; Flagged is decided on Z rounded to two decimals, as
// WHO's software does.
type ZScore struct {
	Indicator Indicator `json:"indicator"`
	Z         float64   `json:"z"`
	Computed  bool      `json:"computed"`
	Flagged   bool      `json:"flagged"`
	Reason    string    `json:"reason,omitempty"`
	Reference string    `json:"reference,omitempty"`
}

// Result holds the three indicators for one measurement.
type Result struct {
	HFA ZScore `json:"hfa"`
	WFA ZScore `json:"wfa"`
	BFA ZScore `json:"bfa"`
	// HeightUsedCm is the length or height the z-scores used, after any
	// position adjustment; zero when no height was given or used.
	HeightUsedCm float64 `json:"heightUsedCm,omitempty"`
	// BMI is weight / (HeightUsedCm/100)², zero when not computable.
	BMI float64 `json:"bmi,omitempty"`
}

// References holds WHO's LMS tables, built in ([LoadEmbedded]) or loaded from
// a directory ([LoadReferences]). It is read-only once loaded and safe for
// concurrent use. A nil *References stands for "tables absent": its Compute
// reports every indicator as not computed.
type References struct {
	dir string

	// 2006 standards, rows by whole day.
	len06, wei06, bmi06 *table
	// 2007 reference, rows by whole month.
	hfa07, wfa07, bfa07 *table
}

// Dir returns the directory the tables were read from, or "" for the
// built-in tables.
func (r *References) Dir() string {
	if r == nil {
		return ""
	}
	return r.dir
}
