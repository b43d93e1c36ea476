package research_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing/fstest"
	"time"

	"github.com/khula-cop/khula/internal/instrument"
	"github.com/khula-cop/khula/internal/research"
)

func ExamplePseudonym() {
	key := bytes.Repeat([]byte("k"), research.KeySize) // a site's key comes from research.NewKey
	p, err := research.Pseudonym(key, "child-0001")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p)
	// Output: Pmsxjs33o5wwdsyvu
}

func ExampleAgeMonths() {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	fmt.Println(research.AgeMonths(day(2019, 1, 31), day(2019, 2, 28)))
	fmt.Println(research.AgeMonths(day(2019, 1, 31), day(2019, 3, 1)))
	fmt.Println(research.AgeMonths(day(2016, 2, 29), day(2020, 2, 28)))
	fmt.Println(research.AgeMonths(day(2016, 2, 29), day(2020, 2, 29)))
	// Output:
	// 0
	// 1
	// 47
	// 48
}

const exampleInstrument = `id: tiny
version: 1.0.0
title: Tiny
languages: [en]
respondents: [caregiver]
domains:
  - {id: mood, label: {en: Mood}}
items:
  - {id: sad, respondent: caregiver, domain: mood, type: yesno, label: {en: Often sad}}
domain_rules:
  mood:
    - {level: moderate, when: "answers.?sad.orValue(false)", reason: Sad}
    - {level: low, when: "true", reason: Fine}
`

func ExampleWriter() {
	in, err := instrument.Load(fstest.MapFS{"tiny.yaml": {Data: []byte(exampleInstrument)}}, "tiny.yaml", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	schema, err := research.NewSchema([]*instrument.Instrument{in}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	var data strings.Builder
	w, err := research.NewWriter(&data, schema, bytes.Repeat([]byte("k"), research.KeySize))
	if err != nil {
		fmt.Println(err)
		return
	}
	age := research.AgeMonths(time.Date(2018, 6, 30, 0, 0, 0, 0, time.UTC), time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC))
	err = w.Write(research.Row{
		ChildID: "child-0001", School: "school-07", Wave: 1, Phase: research.PhaseBaseline, Sex: "female", Grade: "R",
		AgeMonths: &age, InstrumentID: "tiny", InstrumentVersion: "1.0.0", AssessedOn: time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC),
		Outcome: "completed", Answers: map[string]any{"sad": true}, Domains: map[string]string{"mood": "moderate"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(data.String())
	if err := research.WriteCodebook(os.Stdout, schema.Codebook()[12:14]); err != nil {
		fmt.Println(err)
	}
	// Output:
	// pseudonym,school,wave,phase,sex,age_months,grade,instrument_id,instrument_version,assessed_month,outcome,item_sad,level_mood,red_flags,plan_agreed,plan_actions,plan_actions_done,plan_actions_overdue,plan_action_list,plan_action_sector_list,referrals,referrals_urgent,referrals_completed,referrals_declined,referrals_unreachable,referrals_open,referrals_overdue,referral_median_days_to_service,referral_list,referral_sector_list
	// Pmsxjs33o5wwdsyvu,school-07,1,baseline,F,68,R,tiny,1.0.0,2024-03,completed,1,moderate,0,0,0,0,0,,,0,0,0,0,0,0,0,,,
	// variable,label,type,allowed_values,instrument_versions,notes
	// level_mood,Risk level: Mood,category,high; moderate; low; not_assessed,tiny 1.0.0,not_assessed when no item of the domain was answered; missing when the time point was not scored
	// red_flags,Number of red flags raised,integer,,tiny 1.0.0,which flags were raised is not written
}
