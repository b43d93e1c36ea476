package scoring_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
)

// Fuzz modes, bits of the pick byte after the instrument bit.
const (
	// fuzzPerRespondent reads the body as {"<respondent>": {answers}}
	// instead of one answers object checked against every respondent.
	fuzzPerRespondent = 1 << 1
	// fuzzOverlay lays the fuzzed answers over a complete valid form.
	fuzzOverlay = 1 << 2
)

// completeForm is a valid form of each respondent of the shipped instruments.
func completeForm(respondent string) cycle.Answers {
	switch respondent {
	case "caregiver":
		return caregiverForm()
	case "teacher":
		return cycle.Answers{"edu_number": "achieved", "edu_reading": "achieved", "edu_days_absent": 2.0}
	case "nurse":
		return cycle.Answers{"weight_kg": 19.5, "height_cm": 112.0, "rthb_seen": true, "imm_up_to_date": true, "chronic_illness": false}
	}
	return cycle.Answers{"child_feels_safe": "yes", "cyrm01": 3.0}
}

// withoutNulls drops null answers, which the instruments read as unanswered.
func withoutNulls(a cycle.Answers) cycle.Answers {
	out := cycle.Answers{}
	for k, v := range a {
		if v != nil {
			out[k] = v
		}
	}
	return out
}

// FuzzCheckAnswers decodes fuzzed JSON into each respondent's answers and
// checks them against the shipped instruments the way the cycle workflow
// does (CheckAnswers in the update validator, Score later in an activity).
// CheckAnswers must never panic, and answers it accepts must score: alone,
// and merged with every other respondent's accepted form, as ScoreCycle
// merges the saved forms. A null answer means unanswered, so dropping the
// nulls must not change the score.
func FuzzCheckAnswers(f *testing.F) {
	cg, _ := json.Marshal(caregiverForm())
	for _, seed := range []struct {
		pick uint8
		data string
	}{
		{0, string(cg)},
		{1, string(cg)},
		{0, `{}`},
		{0, `{"edu_number": "achieved", "edu_reading": "not_achieved", "edu_days_absent": 12}`},
		{0, `{"weight_kg": 80, "height_cm": 60, "rthb_seen": false, "chronic_illness": true, "chronic_treated": false}`},
		{fuzzOverlay, `{"csg_received": false, "csg_applied": true, "phq9_9": 3}`},
		{fuzzOverlay, `{"hunger_bed": 4, "birth_cert": "yes", "zz_unknown": 1, "phq9_2": null}`},
		{fuzzOverlay, `{"edu_days_absent": 2.5, "weight_kg": 1e308, "rthb_last_visit": "2020-02-30", "vision": ["pass"]}`},
		{fuzzOverlay | 1, `{"clinic_distance_km": 12.5, "water_source": "borehole"}`},
		{fuzzOverlay | 1, `{"clinic_distance_km": -1, "water_source": "river_dam"}`},
		{fuzzPerRespondent, `{"caregiver": ` + string(cg) + `, "teacher": {"edu_number": "achieved", "edu_reading": "achieved"}}`},
		{fuzzPerRespondent | fuzzOverlay, `{"child": {"child_disclosure": true, "child_feels_safe": "no"}, "nurse": {"oedema": true, "nurse_injury": true}}`},
		{fuzzPerRespondent | fuzzOverlay, `{"grandparent": {"a": 1}, "teacher": {"teacher_signs": true}, "nurse": {"rthb_seen": false, "imm_up_to_date": true}}`},
		// A respondent's null for another respondent's item passes its
		// check and then erases that answer when the forms are merged.
		{fuzzPerRespondent | fuzzOverlay, `{"caregiver": {"phq9_9": 2}, "child": {"child_disclosure": true}, "teacher": {"phq9_9": null, "child_disclosure": null}}`},
	} {
		f.Add([]byte(seed.data), seed.pick)
	}
	refs := []cycle.InstrumentRef{joziRef, moutseRef}
	assessed := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	subjects := []cycle.Subject{
		{Sex: "female", BirthDate: time.Date(2020, 5, 14, 0, 0, 0, 0, time.UTC)},
		{Sex: "male", BirthDate: time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)},
		{},
		{Sex: "other", BirthDate: assessed.AddDate(1, 0, 0)},
	}

	f.Fuzz(func(t *testing.T, data []byte, pick uint8) {
		r := registry(t)
		ref := refs[int(pick)%len(refs)]
		in, ok := r.Instrument(ref)
		if !ok {
			t.Fatalf("%v not loaded", ref)
		}
		subject := subjects[int(pick>>3)%len(subjects)]

		forms := map[string]cycle.Answers{}
		if pick&fuzzPerRespondent != 0 {
			if json.Unmarshal(data, &forms) != nil {
				return
			}
		} else {
			var a cycle.Answers
			if json.Unmarshal(data, &a) != nil {
				return
			}
			for _, resp := range in.Respondents() {
				forms[resp] = a
			}
		}
		if pick&fuzzOverlay != 0 {
			for resp, a := range forms {
				over := completeForm(resp)
				maps.Copy(over, a)
				forms[resp] = over
			}
		}

		accepted := map[string]cycle.Answers{}
		for _, resp := range slices.Sorted(maps.Keys(forms)) {
			errs := r.CheckAnswers(ref, resp, nil, forms[resp])
			for _, fe := range errs {
				if fe.Field == "" || fe.Code == "" || fe.Message == "" {
					t.Fatalf("%s: field error without field, code or message: %+v", resp, fe)
				}
			}
			if len(errs) > 0 {
				continue
			}
			if _, _, err := r.Score(ref, subject, assessed, map[string]cycle.Answers{resp: forms[resp]}); err != nil {
				t.Fatalf("the %s form passed CheckAnswers but does not score: %v\nanswers: %v", resp, err, forms[resp])
			}
			accepted[resp] = forms[resp]
		}
		if len(accepted) == 0 {
			return
		}
		out, doc, err := r.Score(ref, subject, assessed, accepted)
		if err != nil {
			t.Fatalf("forms that each passed CheckAnswers do not score together: %v\nforms: %v", err, accepted)
		}
		if cycle.RiskRank(out.Risk) == 0 && out.Risk != cycle.RiskNotAssessed {
			t.Fatalf("risk %q is not a level", out.Risk)
		}

		clean := map[string]cycle.Answers{}
		for resp, a := range accepted {
			clean[resp] = withoutNulls(a)
		}
		cleanOut, cleanDoc, err := r.Score(ref, subject, assessed, clean)
		if err != nil {
			t.Fatalf("the accepted forms without their nulls do not score: %v", err)
		}
		if !bytes.Equal(doc, cleanDoc) {
			t.Fatalf("regression: Registry.Score (internal/scoring/scoring.go:163-166) merges the saved forms in respondent order "+
				"and copies null answers, so one respondent's null for another respondent's item (accepted by CheckAnswers "+
				"as unanswered) erases that answer at scoring: with the nulls risk %s, flags %v, domains %v; without them risk %s, flags %v, domains %v",
				out.Risk, out.Flags, out.Domains, cleanOut.Risk, cleanOut.Flags, cleanOut.Domains)
		}
	})
}
