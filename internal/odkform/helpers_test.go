package odkform

import (
	"os"
	"testing"
	"testing/fstest"

	"github.com/khula-cop/khula/instruments"
	"github.com/khula-cop/khula/internal/instrument"
	"github.com/khula-cop/khula/sites"
)

const sitesDir = "../../sites"

// shipped loads a shipped site and its effective instrument.
func shipped(t *testing.T, id string) (*sites.Site, *instrument.Instrument) {
	t.Helper()
	fsys := os.DirFS(sitesDir)
	site, err := sites.Load(fsys, id)
	if err != nil {
		t.Fatal(err)
	}
	in, err := instrument.Load(fsys, id+"/"+site.InstrumentFile, instruments.FS)
	if err != nil {
		t.Fatal(err)
	}
	return site, in
}

// testVariant adds to cwtt@2 an item of every kind the shipped sites lack:
// declinable numbers, dates and yes/no items, inline and fractional
// choices, units, skip logic over a declinable number.
const testVariant = `
extends: cwtt@2
id: cwtt-test
version: 1.2.3
title: Test variant
languages: [nso]
choice_sets:
  sizes:
    - {value: 0, label: {en: None, nso: Ga go na}}
    - {value: 2.5, label: {en: Half}}
items:
  - id: meals
    respondent: caregiver
    domain: nutrition
    type: number
    integer: true
    min: 0
    max: 10
    required: true
    declinable: true
    unit: meals
    label: {en: Meals yesterday, nso: Dijo maabane}
  - id: meals_note
    respondent: caregiver
    domain: nutrition
    type: choice
    choices: [{value: few, label: {en: Few}}, {value: many, label: {en: Many}}]
    show_if: "answers.meals < 2"
    label: {en: How many meals usually}
  - id: portion
    respondent: caregiver
    domain: nutrition
    type: choice
    choices: sizes
    declinable: true
    label: {en: Portion}
  - id: moved_on
    respondent: caregiver
    domain: material
    type: date
    declinable: true
    label: {en: Date the family moved}
  - id: owns_home
    respondent: caregiver
    domain: material
    type: yesno
    declinable: true
    help: {en: Ask gently.}
    label: {en: Family owns the home}
  - id: support_offered
    respondent: caregiver
    domain: caregiver
    type: yesno
    show_if: "answers.?phq9_9.orValue(0) > 0 || !answers.?owns_home.orValue(true)"
    label: {en: Support offered}
  - id: rooms
    respondent: caregiver
    domain: material
    type: number
    integer: true
    unit: rooms
    min: 1
    max: 20
    label: {en: Rooms}
  - id: arm_cm
    respondent: nurse
    domain: nutrition
    type: measurement
    unit: cm
    min: 5
    max: 30.5
    label: {en: Arm circumference}
`

func testInstrument(t *testing.T) (*sites.Site, *instrument.Instrument) {
	t.Helper()
	fsys := fstest.MapFS{"test/instrument.yaml": {Data: []byte(testVariant)}}
	in, err := instrument.Load(fsys, "test/instrument.yaml", instruments.FS)
	if err != nil {
		t.Fatal(err)
	}
	return &sites.Site{ID: "test", Name: "Test site", DefaultLanguage: "en"}, in
}
