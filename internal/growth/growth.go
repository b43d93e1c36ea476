// Package growth computes WHO anthropometric z-scores (height-for-age,
// weight-for-age, BMI-for-age) by the LMS method from WHO's reference tables,
// which it reads at run time from a directory; it never embeds copies.
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

// Indicator names one growth index.
type Indicator string

// The indicators khula computes.
const (
	HeightForAge Indicator = "hfa"
	WeightForAge Indicator = "wfa"
	BMIForAge    Indicator = "bfa"
)

// ErrNoTables reports that the WHO reference tables are not in the directory given.
var ErrNoTables = errors.New("growth: no reference tables")

// Measurement is one child's measurement. A zero WeightKg or HeightCm means
// "not measured".
type Measurement struct {
	Sex      Sex
	AgeDays  float64
	WeightKg float64
	HeightCm float64
}

// ZScore is one indicator's result. When Computed is false, Reason says why
// (e.g. "not computed: no reference tables", "age out of range", "weight missing").
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
}

// References holds WHO's LMS tables loaded from a directory.
type References struct {
	dir string
}
