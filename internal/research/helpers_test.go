package research

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/khula-cop/khula/instruments"
	"github.com/khula-cop/khula/internal/instrument"
)

// testKey is a fixed research key: bytes 0, 1, …, 31.
var testKey = func() []byte {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = byte(i)
	}
	return k
}()

// miniV1 and miniV2 are two versions of a small instrument: v2 changes
// q1's choices and mood.sum's bands, adds q3, a mean scale and a school
// domain, and drops sad and growth. Item why has codes a spreadsheet would
// read as formulas.
const miniV1 = `id: mini
version: 1.0.0
title: Mini
languages: [en]
respondents: [caregiver, nurse]
domains:
  - {id: mood, label: {en: Mood}}
  - {id: body, label: {en: Body}}
choice_sets:
  three:
    - {value: 0, label: {en: Never}}
    - {value: 1, label: {en: Sometimes}}
    - {value: 2, label: {en: Often}}
items:
  - {id: q1, respondent: caregiver, domain: mood, type: choice, choices: three, label: {en: Q1}}
  - {id: q2, respondent: caregiver, domain: mood, type: choice, choices: three, declinable: true, label: {en: Q2}}
  - {id: sad, respondent: caregiver, domain: mood, type: yesno, label: {en: Sad}}
  - id: why
    respondent: caregiver
    domain: mood
    type: choice
    choices:
      - {value: "-1+1", label: {en: Minus}}
      - {value: "=HYPERLINK(\"http://x\")", label: {en: Link}}
      - {value: plain, label: {en: Plain}}
    label: {en: Why}
  - {id: seen, respondent: nurse, domain: body, type: date, label: {en: Last visit}}
  - {id: kg, respondent: nurse, domain: body, type: measurement, unit: kg, min: 1, max: 50, label: {en: Weight}}
  - {id: cm, respondent: nurse, domain: body, type: measurement, unit: cm, min: 40, max: 150, label: {en: Height}}
growth: {weight: kg, height: cm}
scales:
  - id: mood.sum
    label: {en: Mood sum}
    items: [q1, q2]
    prorate: {max_missing: 1}
    bands: [{name: low, min: 0, max: 1}, {name: high, min: 2, max: 4}]
domain_rules:
  mood:
    - {level: moderate, when: "scales['mood.sum'].band == 'high'", reason: Mood high}
    - {level: low, when: "true", reason: Mood fine}
  body:
    - {level: low, when: "true", reason: Fine}
`

const miniV2 = `id: mini
version: 2.0.0
title: Mini
languages: [en]
respondents: [caregiver, nurse, teacher]
domains:
  - {id: mood, label: {en: Mood}}
  - {id: body, label: {en: Body}}
  - {id: school, label: {en: School}}
choice_sets:
  three:
    - {value: 0, label: {en: Never}}
    - {value: 1, label: {en: Sometimes}}
    - {value: 2, label: {en: Often}}
  four:
    - {value: 0, label: {en: Never}}
    - {value: 1, label: {en: Rarely}}
    - {value: 2, label: {en: Sometimes}}
    - {value: 3, label: {en: Often}}
items:
  - {id: q1, respondent: caregiver, domain: mood, type: choice, choices: four, label: {en: Q1}}
  - {id: q2, respondent: caregiver, domain: mood, type: choice, choices: three, declinable: true, label: {en: Q2}}
  - {id: q3, respondent: caregiver, domain: mood, type: choice, choices: three, label: {en: Q3}}
  - id: why
    respondent: caregiver
    domain: mood
    type: choice
    choices:
      - {value: "-1+1", label: {en: Minus}}
      - {value: "=HYPERLINK(\"http://x\")", label: {en: Link}}
      - {value: plain, label: {en: Plain}}
    label: {en: Why}
  - {id: seen, respondent: nurse, domain: body, type: date, label: {en: Last visit}}
  - {id: kg, respondent: nurse, domain: body, type: measurement, unit: kg, min: 1, max: 50, label: {en: Weight}}
  - {id: cm, respondent: nurse, domain: body, type: measurement, unit: cm, min: 40, max: 150, label: {en: Height}}
  - {id: absent, respondent: teacher, domain: school, type: number, integer: true, unit: days, min: 0, max: 100, label: {en: Days absent}}
scales:
  - id: mood.sum
    label: {en: Mood sum}
    items: [q1, q2, q3]
    prorate: {max_missing: 1}
    bands: [{name: low, min: 0, max: 2}, {name: high, min: 3, max: 7}]
  - id: mood.mean
    label: {en: Mood mean}
    method: mean
    items: [q2, q3]
domain_rules:
  mood:
    - {level: moderate, when: "scales['mood.sum'].band == 'high'", reason: Mood high}
    - {level: low, when: "true", reason: Mood fine}
  body:
    - {level: low, when: "true", reason: Fine}
  school:
    - {level: moderate, when: "answers.?absent.orValue(0) > 10", reason: Absent}
    - {level: low, when: "true", reason: Fine}
`

// loadText loads a base instrument given as YAML text.
func loadText(t testing.TB, text string) *instrument.Instrument {
	t.Helper()
	in, err := instrument.Load(fstest.MapFS{"mini.yaml": {Data: []byte(text)}}, "mini.yaml", nil)
	if err != nil {
		t.Fatalf("loading test instrument: %v", err)
	}
	return in
}

func minis(t testing.TB) (v1, v2 *instrument.Instrument) {
	return loadText(t, miniV1), loadText(t, miniV2)
}

var (
	shippedOnce  sync.Once
	cwtt, moutse *instrument.Instrument
	shippedErr   error
)

// shipped loads instruments/cwtt.yaml and the Moutse variant.
func shipped(t testing.TB) (base, variant *instrument.Instrument) {
	t.Helper()
	shippedOnce.Do(func() {
		if cwtt, shippedErr = instrument.Load(instruments.FS, "cwtt.yaml", instruments.FS); shippedErr != nil {
			return
		}
		data, err := os.ReadFile("../../sites/moutse/instrument.yaml")
		if err != nil {
			shippedErr = err
			return
		}
		moutse, shippedErr = instrument.Load(fstest.MapFS{"moutse/instrument.yaml": {Data: data}}, "moutse/instrument.yaml", instruments.FS)
	})
	if shippedErr != nil {
		t.Fatalf("loading shipped instruments: %v", shippedErr)
	}
	return cwtt, moutse
}

func mustSchema(t testing.TB, ins []*instrument.Instrument, domains []string) *Schema {
	t.Helper()
	s, err := NewSchema(ins, domains)
	if err != nil {
		t.Fatalf("NewSchema: %v", err)
	}
	return s
}

// writeRows writes rows and returns the CSV, failing on any error.
func writeRows(t testing.TB, s *Schema, rows ...Row) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, s, testKey)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	for i, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatalf("Write row %d: %v", i+1, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if w.Rows() != len(rows) {
		t.Fatalf("Rows() = %d, want %d", w.Rows(), len(rows))
	}
	return buf.Bytes()
}

// parse reads a dataset back as one map per row, by column name.
func parse(t testing.TB, data []byte) (header []string, rows []map[string]string) {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("reading the CSV back: %v", err)
	}
	if len(recs) == 0 {
		t.Fatal("no header")
	}
	header = recs[0]
	for _, rec := range recs[1:] {
		m := make(map[string]string, len(rec))
		for i, v := range rec {
			m[header[i]] = v
		}
		rows = append(rows, m)
	}
	return header, rows
}

func intp(n int) *int                { return &n }
func floatp(f float64) *float64      { return &f }
func day(y, m, d int) time.Time      { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
func pad2(n int) string              { return fmt.Sprintf("%02d", n) }
func sdqID(n int) string             { return "sdq" + pad2(n) }
func cyrmID(n int) string            { return "cyrm" + pad2(n) }
func phqID(n int) string             { return fmt.Sprintf("phq9_%d", n) }
func growthOK(z float64) GrowthValue { return GrowthValue{Z: z, Computed: true} }

// cwttAnswers is a complete cwtt assessment of a child doing well.
func cwttAnswers() map[string]any {
	a := map[string]any{}
	for n := 1; n <= 25; n++ {
		a[sdqID(n)] = float64(n % 3)
	}
	for n := 1; n <= 8; n++ {
		a[phqID(n)] = 0.0
	}
	a["phq9_9"] = instrument.Declined
	for n := 1; n <= 17; n++ {
		a[cyrmID(n)] = 3.0
	}
	for k, v := range map[string]any{
		"hunger_bed": 0.0, "hunger_skip": 1.0,
		"csg_received": true, "birth_cert": true, "caregiver_id": true,
		"food_short": "never", "water_safe": true, "electricity": true, "shelter": "formal",
		"supervision_gap": "never",
		"cg_coping":       "well", "cg_support": true, "cg_parenting": "never", "cg_conflict": "never", "cg_engagement": "often",
		"child_feels_safe": "yes", "child_violence": "never", "child_disclosure": false,
		"edu_number": "achieved", "edu_reading": "partly", "edu_days_absent": 3.0, "edu_support": false,
		"school_hungry": "never", "teacher_signs": false, "teacher_disclosure": false,
		"weight_kg": 20.5, "height_cm": 116.25, "oedema": false,
		"rthb_seen": true, "imm_up_to_date": true, "rthb_last_visit": "2024-01-17",
		"chronic_illness": false, "vision": "pass", "hearing": "pass", "speech": "pass", "dental": "healthy",
		"nurse_injury": false, "nurse_neglect": false,
	} {
		a[k] = v
	}
	return a
}

// scoredRow scores answers with in and returns the row the extraction
// would read for it.
func scoredRow(t testing.TB, in *instrument.Instrument, childID string, answers map[string]any) Row {
	t.Helper()
	assessed := day(2024, 3, 15)
	res, err := in.Score(instrument.Subject{Sex: instrument.SexFemale, DOB: day(2018, 6, 30), AssessedOn: assessed}, answers, nil)
	if err != nil {
		t.Fatalf("scoring: %v", err)
	}
	r := Row{
		ChildID: childID, School: "school-07", Wave: 2, Phase: PhaseBaseline, Sex: instrument.SexFemale, Grade: "1",
		AgeMonths: intp(AgeMonths(day(2018, 6, 30), assessed)), InstrumentID: res.Instrument.ID, InstrumentVersion: res.Instrument.Version,
		AssessedOn: assessed, Outcome: "completed", Answers: answers,
		Scales: map[string]ScaleValue{}, Domains: res.Domains, RedFlags: len(res.Flags),
		Growth:      map[string]GrowthValue{HeightForAge: growthOK(-1.234), WeightForAge: growthOK(-0.5), BMIForAge: growthOK(0.12)},
		PlanAgreed:  true,
		PlanActions: []Action{{Domain: "caregiver", Kind: "complete_assessment"}, {Domain: "caregiver", ServiceType: "family_strengthening", Sector: "ngo", Done: true}},
		Referrals:   []Referral{{Domain: "caregiver", ServiceType: "family_strengthening", Sector: "ngo", Status: ReferralCompleted, DaysToService: floatp(6)}},
	}
	for id, sc := range res.Scales {
		r.Scales[id] = ScaleValue{Score: sc.Score, Computed: sc.Computed, Band: sc.Band, Prorated: sc.Prorated}
	}
	return r
}
