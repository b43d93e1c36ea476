package instrument

import (
	"reflect"
	"strings"
	"testing"

	"github.com/khula-cop/khula/internal/growth"
)

// phq sets PHQ-9 items 1..9 to the given answers.
func phq(a Answers, vals [9]float64) Answers {
	out := with(a, nil)
	for i, v := range vals {
		out[phqID(i+1)] = v
	}
	return out
}

// TestPHQ9Bands scores the PHQ-9 at every band boundary (minimal 0–4, mild
// 5–9, moderate 10–14, moderately severe 15–19, severe 20–27) and checks the
// caregiver domain each band leads to. Item 9 stays 0 except where a total
// above 24 needs it (then the self-harm flag fires too).
func TestPHQ9Bands(t *testing.T) {
	in := cwtt(t)
	tests := []struct {
		vals  [9]float64
		score float64
		band  string
		level string
		flag  bool
	}{
		{[9]float64{0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, "minimal", LevelLow, false},
		{[9]float64{3, 1, 0, 0, 0, 0, 0, 0, 0}, 4, "minimal", LevelLow, false},
		{[9]float64{3, 2, 0, 0, 0, 0, 0, 0, 0}, 5, "mild", LevelLow, false},
		{[9]float64{3, 3, 3, 0, 0, 0, 0, 0, 0}, 9, "mild", LevelLow, false},
		{[9]float64{3, 3, 3, 1, 0, 0, 0, 0, 0}, 10, "moderate", LevelModerate, false},
		{[9]float64{3, 3, 3, 3, 2, 0, 0, 0, 0}, 14, "moderate", LevelModerate, false},
		{[9]float64{3, 3, 3, 3, 3, 0, 0, 0, 0}, 15, "moderately_severe", LevelHigh, false},
		{[9]float64{3, 3, 3, 3, 3, 3, 1, 0, 0}, 19, "moderately_severe", LevelHigh, false},
		{[9]float64{3, 3, 3, 3, 3, 3, 2, 0, 0}, 20, "severe", LevelHigh, false},
		{[9]float64{3, 3, 3, 3, 3, 3, 3, 3, 3}, 27, "severe", LevelHigh, true},
	}
	for _, tc := range tests {
		r := score(t, in, boy, phq(fineAnswers(), tc.vals), nil)
		got := r.Scales["phq9.total"]
		if !got.Computed || got.Score != tc.score || got.Band != tc.band {
			t.Errorf("PHQ-9 %v = %+v, want %v %s", tc.vals, got, tc.score, tc.band)
		}
		if r.Domains["caregiver"] != tc.level {
			t.Errorf("PHQ-9 %v: caregiver = %s, want %s", tc.vals, r.Domains["caregiver"], tc.level)
		}
		if hasFlag(r, "phq9.self_harm") != tc.flag {
			t.Errorf("PHQ-9 %v: flags %v", tc.vals, r.Flags)
		}
	}
}

// TestPHQ9Item9 checks that any answer above 0 to item 9 is a red flag, even
// with a minimal total, and that it makes the caregiver domain high.
func TestPHQ9Item9(t *testing.T) {
	in := cwtt(t)
	for _, v := range []float64{1, 2, 3} {
		r := score(t, in, boy, with(fineAnswers(), Answers{"phq9_9": v}), nil)
		if !hasFlag(r, "phq9.self_harm") {
			t.Errorf("phq9_9 = %v: no self-harm flag in %v", v, r.Flags)
		}
		if r.Scales["phq9.total"].Band != "minimal" || r.Domains["caregiver"] != LevelHigh ||
			!strings.HasPrefix(r.DomainReasons["caregiver"], "red flag phq9.self_harm") {
			t.Errorf("phq9_9 = %v: %+v, caregiver %s (%s)", v, r.Scales["phq9.total"], r.Domains["caregiver"], r.DomainReasons["caregiver"])
		}
	}
	r := score(t, in, boy, fineAnswers(), nil)
	if hasFlag(r, "phq9.self_harm") {
		t.Error("phq9_9 = 0 raised the self-harm flag")
	}
	// Missing PHQ items leave the total not computed (no proration).
	r = score(t, in, boy, with(fineAnswers(), Answers{"phq9_3": nil}), nil)
	if got := r.Scales["phq9.total"]; got.Computed || got.Reason != "1 of 9 items missing (this scale is not prorated)" {
		t.Errorf("phq9 with a missing item = %+v", got)
	}
}

func hasFlag(r *Result, code string) bool {
	for _, f := range r.Flags {
		if f == code {
			return true
		}
	}
	return false
}

// TestRedFlags raises every red flag of the CWTT from a child otherwise doing
// well and checks that it makes its domain high with the flag as the reason.
func TestRedFlags(t *testing.T) {
	in := cwtt(t)
	tests := []struct {
		code    string
		domain  string
		changes Answers
		growth  *fakeGrowth
	}{
		{"protection.disclosure", "protection", Answers{"child_disclosure": true}, nil},
		{"protection.disclosure", "protection", Answers{"teacher_disclosure": true}, nil},
		{"protection.signs_of_abuse", "protection", Answers{"teacher_signs": true}, nil},
		{"protection.signs_of_abuse", "protection", Answers{"nurse_injury": true}, nil},
		{"protection.neglect", "protection", Answers{"nurse_neglect": true}, nil},
		{"protection.feels_unsafe", "protection", Answers{"child_feels_safe": "no"}, nil},
		{"phq9.self_harm", "caregiver", Answers{"phq9_9": 1.0}, nil},
		{"growth.severe_thinness", "nutrition", nil, zs(z(-1), z(-2.5), z(-3.2))},
		{"nutrition.oedema", "nutrition", Answers{"oedema": true}, nil},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		seen[tc.code] = true
		g := tc.growth
		if g == nil {
			g = normalGrowth()
		}
		r := score(t, in, boy, with(fineAnswers(), tc.changes), g)
		if !reflect.DeepEqual(r.Flags, []string{tc.code}) {
			t.Errorf("%s via %v: flags = %v", tc.code, tc.changes, r.Flags)
		}
		if r.Domains[tc.domain] != LevelHigh || !strings.HasPrefix(r.DomainReasons[tc.domain], "red flag "+tc.code+": ") {
			t.Errorf("%s: %s = %s (%s), want high by the flag", tc.code, tc.domain, r.Domains[tc.domain], r.DomainReasons[tc.domain])
		}
		if r.FlagReasons[tc.code] == "" {
			t.Errorf("%s: no reason given", tc.code)
		}
	}
	for _, code := range in.RedFlagCodes() {
		if !seen[code] {
			t.Errorf("red flag %s is not tested", code)
		}
	}

	t.Run("several, sorted", func(t *testing.T) {
		r := score(t, in, boy, with(fineAnswers(), Answers{"phq9_9": 2.0, "child_disclosure": true, "oedema": true}), nil)
		want := []string{"nutrition.oedema", "phq9.self_harm", "protection.disclosure"}
		if !reflect.DeepEqual(r.Flags, want) {
			t.Errorf("flags = %v, want %v", r.Flags, want)
		}
	})
	t.Run("implausible thinness is not a flag", func(t *testing.T) {
		bfa := z(-5.5)
		bfa.Flagged = true
		r := score(t, in, boy, fineAnswers(), zs(z(0), z(0), bfa))
		if len(r.Flags) != 0 || r.Domains["nutrition"] != LevelLow {
			t.Errorf("flagged BAZ −5.5: flags %v, nutrition %s", r.Flags, r.Domains["nutrition"])
		}
	})
	t.Run("protection flag without protection answers", func(t *testing.T) {
		// Only the teacher's form has arrived, with a disclosure.
		a := Answers{"teacher_disclosure": true}
		r := score(t, in, boy, a, nil)
		if r.Domains["protection"] != LevelHigh || r.Domains["health"] != LevelNotAssessed {
			t.Errorf("domains = %v", r.Domains)
		}
	})
}

// ruleCase is one domain rule exercised from a child otherwise doing well.
type ruleCase struct {
	name    string
	changes Answers
	growth  *fakeGrowth
	level   string
	reason  string
}

// baseRuleCases fire every domain rule of the CWTT in turn.
func baseRuleCases() map[string][]ruleCase {
	flagged := func(v float64) growth.ZScore { s := z(v); s.Flagged = true; return s }
	cyrm := func(personal, caregiver float64) Answers {
		// Personal items are 1–4, 8–11, 14, 15; caregiver items 5–7, 12, 13, 16, 17.
		a := Answers{}
		care := map[int]bool{5: true, 6: true, 7: true, 12: true, 13: true, 16: true, 17: true}
		for n := 1; n <= 17; n++ {
			if care[n] {
				a[cyrmID(n)] = caregiver
			} else {
				a[cyrmID(n)] = personal
			}
		}
		return a
	}
	merge := func(as ...Answers) Answers {
		out := Answers{}
		for _, a := range as {
			for k, v := range a {
				out[k] = v
			}
		}
		return out
	}
	sdq := func(scale string, v [5]float64) Answers { return raw(Answers{}, scale, v) }
	return map[string][]ruleCase{
		"health": {
			{"fine", nil, nil, LevelLow, "Health checks found no concern"},
			{"chronic untreated", Answers{"chronic_illness": true, "chronic_treated": false}, nil, LevelHigh, "Chronic illness not on treatment or in care"},
			{"dental pain", Answers{"dental": "pain_or_infection"}, nil, LevelHigh, "Dental pain, abscess or infection needs urgent care"},
			{"immunisation behind", Answers{"imm_up_to_date": false}, nil, LevelModerate, "Immunisations not up to date (Road to Health booklet)"},
			{"no booklet", Answers{"rthb_seen": false, "imm_up_to_date": nil, "rthb_last_visit": nil}, nil, LevelModerate, "No Road to Health booklet seen, immunisation status unknown"},
			{"vision", Answers{"vision": "refer"}, nil, LevelModerate, "Failed a vision, hearing or speech screening (refer for assessment)"},
			{"hearing", Answers{"hearing": "refer"}, nil, LevelModerate, "Failed a vision, hearing or speech screening (refer for assessment)"},
			{"speech", Answers{"speech": "refer"}, nil, LevelModerate, "Failed a vision, hearing or speech screening (refer for assessment)"},
			{"decay", Answers{"dental": "decay"}, nil, LevelModerate, "Visible tooth decay (refer to the dental clinic)"},
			// Assessed 2020-11-02; 2019-11-01 is 367 days earlier (> 8760 h), 2019-11-03 only 365.
			{"last visit over a year ago", Answers{"rthb_last_visit": "2019-11-01"}, nil, LevelModerate, "No clinic visit recorded in the booklet for more than a year"},
			{"last visit within a year", Answers{"rthb_last_visit": "2019-11-03"}, nil, LevelLow, "Health checks found no concern"},
			{"chronic treated", Answers{"chronic_illness": true, "chronic_treated": true}, nil, LevelLow, "Chronic illness on treatment (keep under review)"},
			{"untreated beats decay", Answers{"chronic_illness": true, "chronic_treated": false, "dental": "decay"}, nil, LevelHigh, "Chronic illness not on treatment or in care"},
		},
		"nutrition": {
			{"fine", nil, nil, LevelLow, "No nutrition or growth concern found"},
			{"severely stunted", nil, zs(z(-3.1), z(-1), z(0)), LevelHigh, "Severely stunted (height-for-age z-score below −3)"},
			{"often to bed hungry", Answers{"hunger_bed": 3.0}, nil, LevelHigh, "Child often hungry (went to bed hungry or skipped meals more than 10 times in 30 days)"},
			{"often skips meals", Answers{"hunger_skip": 3.0}, nil, LevelHigh, "Child often hungry (went to bed hungry or skipped meals more than 10 times in 30 days)"},
			{"stunted", nil, zs(z(-2.01), z(-1), z(0)), LevelModerate, "Stunted (height-for-age z-score below −2)"},
			{"HAZ exactly −2 is not stunted", nil, zs(z(-2), z(-1), z(0)), LevelLow, "No nutrition or growth concern found"},
			{"thin", nil, zs(z(0), z(-1), z(-2.5)), LevelModerate, "Thin (BMI-for-age z-score below −2)"},
			{"underweight", nil, zs(z(-1), z(-2.2), z(-1)), LevelModerate, "Underweight (weight-for-age z-score below −2)"},
			{"obese", nil, zs(z(0), z(2), z(2.3)), LevelModerate, "Obese (BMI-for-age z-score above +2)"},
			{"sometimes hungry", Answers{"hunger_bed": 2.0}, nil, LevelModerate, "Child sometimes hungry (went to bed hungry or skipped meals 3 to 10 times in 30 days)"},
			{"sometimes skips", Answers{"hunger_skip": 2.0}, nil, LevelModerate, "Child sometimes hungry (went to bed hungry or skipped meals 3 to 10 times in 30 days)"},
			{"hungry at school", Answers{"school_hungry": "often"}, nil, LevelModerate, "Teacher reports the child often comes to school hungry"},
			{"overweight", nil, zs(z(0), z(1), z(1.4)), LevelLow, "Overweight (BMI-for-age z-score above +1); healthy-eating advice"},
			{"flagged HAZ not used", nil, zs(flagged(-6.5), z(0), z(0)), LevelLow, "No nutrition or growth concern found"},
			{"not computed not used", nil, zs(growth.ZScore{Reason: "age out of range"}, z(0), z(0)), LevelLow, "No nutrition or growth concern found"},
		},
		"material": {
			{"fine", nil, nil, LevelLow, "Basic material needs met"},
			{"no home", Answers{"shelter": "none"}, nil, LevelHigh, "No stable home"},
			{"often no food", Answers{"food_short": "often"}, nil, LevelHigh, "Household often without food or money for food"},
			{"no grant no birth certificate", Answers{"csg_received": false, "csg_applied": false, "birth_cert": false}, nil, LevelHigh, "No Child Support Grant and no birth certificate (documents and grant application needed)"},
			{"no grant", Answers{"csg_received": false, "csg_applied": true}, nil, LevelModerate, "Child Support Grant not received (refer to SASSA)"},
			{"no birth certificate", Answers{"birth_cert": false}, nil, LevelModerate, "No birth certificate (refer to Home Affairs)"},
			{"caregiver without ID", Answers{"caregiver_id": false}, nil, LevelModerate, "Caregiver has no ID document (needed for the grant)"},
			{"sometimes no food", Answers{"food_short": "sometimes"}, nil, LevelModerate, "Household sometimes without food or money for food"},
			{"no safe water", Answers{"water_safe": false}, nil, LevelModerate, "No safe drinking water every day"},
			{"informal, no electricity", Answers{"shelter": "informal", "electricity": false}, nil, LevelModerate, "Informal dwelling without electricity"},
			{"informal with electricity", Answers{"shelter": "informal"}, nil, LevelLow, "Basic material needs met"},
		},
		"education": {
			{"fine", nil, nil, LevelLow, "Learning and attendance on track"},
			{"both not achieved, no support", Answers{"edu_number": "not_achieved", "edu_reading": "not_achieved"}, nil, LevelHigh, "Did not achieve number concept or reading and receives no learning support"},
			{"absent 11 days (> 10)", Answers{"edu_days_absent": 11.0}, nil, LevelHigh, "Absent from school on more days this term than the serious-concern threshold"},
			{"both not achieved, with support", Answers{"edu_number": "not_achieved", "edu_reading": "not_achieved", "edu_support": true}, nil, LevelModerate, "Did not achieve number concept or reading"},
			{"reading not achieved", Answers{"edu_reading": "not_achieved"}, nil, LevelModerate, "Did not achieve number concept or reading"},
			{"absent 6 days (> 5)", Answers{"edu_days_absent": 6.0}, nil, LevelModerate, "Absent from school on more days this term than the concern threshold"},
			{"absent 10 days (not > 10)", Answers{"edu_days_absent": 10.0}, nil, LevelModerate, "Absent from school on more days this term than the concern threshold"},
			{"absent 5 days (not > 5)", Answers{"edu_days_absent": 5.0}, nil, LevelLow, "Learning and attendance on track"},
		},
		"protection": {
			{"fine", nil, nil, LevelLow, "No protection concern in the answers given"},
			{"unsupervised and violence", Answers{"supervision_gap": "often", "child_violence": "often"}, nil, LevelHigh, "Often without an adult and often sees violence"},
			{"often unsupervised", Answers{"supervision_gap": "often"}, nil, LevelModerate, "Often without an adult after school"},
			{"sees violence sometimes", Answers{"child_violence": "sometimes"}, nil, LevelModerate, "Sees people hurting each other at home or nearby"},
			{"feels safe sometimes", Answers{"child_feels_safe": "sometimes"}, nil, LevelModerate, "Child feels safe at home only sometimes"},
		},
		"psychosocial": {
			{"fine", nil, nil, LevelLow, "No psychosocial concern in the answers given"},
			// 4+3+6+4 = 17.
			{"SDQ total abnormal", merge(sdq("sdq.emotional", [5]float64{2, 2, 0, 0, 0}), sdq("sdq.conduct", [5]float64{1, 1, 1, 0, 0}),
				sdq("sdq.hyperactivity", [5]float64{2, 2, 1, 1, 2}), sdq("sdq.peer", [5]float64{2, 1, 1, 0, 0})), nil, LevelHigh, "SDQ total difficulties in the abnormal band (17–40)"},
			// 10 × 1 + 7 × 2 = 24 < 26.
			{"very low resilience", cyrm(1, 2), nil, LevelHigh, "Very low resilience (resilience total below the site's very-low threshold)"},
			// 3+3+5+3 = 14.
			{"SDQ total borderline", merge(sdq("sdq.emotional", [5]float64{2, 1, 0, 0, 0}), sdq("sdq.conduct", [5]float64{1, 1, 1, 0, 0}),
				sdq("sdq.hyperactivity", [5]float64{2, 2, 1, 2, 2}), sdq("sdq.peer", [5]float64{1, 1, 1, 0, 0})), nil, LevelModerate, "SDQ total difficulties in the borderline band (14–16)"},
			{"emotional abnormal only", sdq("sdq.emotional", [5]float64{2, 2, 1, 0, 0}), nil, LevelModerate, "An SDQ difficulties subscale in the abnormal band"},
			{"conduct abnormal only", sdq("sdq.conduct", [5]float64{2, 1, 1, 0, 0}), nil, LevelModerate, "An SDQ difficulties subscale in the abnormal band"},
			{"hyperactivity abnormal only", sdq("sdq.hyperactivity", [5]float64{2, 2, 1, 1, 1}), nil, LevelModerate, "An SDQ difficulties subscale in the abnormal band"},
			{"peer abnormal only", sdq("sdq.peer", [5]float64{2, 1, 1, 0, 0}), nil, LevelModerate, "An SDQ difficulties subscale in the abnormal band"},
			{"low prosocial", sdq("sdq.prosocial", [5]float64{2, 2, 0, 0, 0}), nil, LevelModerate, "Low prosocial behaviour (SDQ prosocial 0–4)"},
			// 17 × 2 = 34 is not < 34; 33 is.
			{"resilience 34 not low", cyrm(2, 2), nil, LevelLow, "No psychosocial concern in the answers given"},
			{"low resilience 33", with(cyrm(2, 2), Answers{"cyrm01": 1.0}), nil, LevelModerate, "Low resilience (resilience total below the site's threshold)"},
			// Caregiver 7 × 1 = 7 < 14; personal 10 × 3 = 30; total 37.
			{"weak caregiver relationship", cyrm(3, 1), nil, LevelModerate, "Weak caregiver relationship as the child sees it (caregiver sub-score below the site's threshold)"},
			// Personal 8 × 2 + 2 × 1 = 18 < 20; caregiver 7 × 3 = 21; total 39.
			{"low personal resilience", with(cyrm(2, 3), Answers{"cyrm01": 1.0, "cyrm02": 1.0}), nil, LevelModerate, "Low personal resilience (personal sub-score below the site's threshold)"},
			// Caregiver items 5 and 6 missing (2 > 1 allowed): caregiver and total not
			// computed, so their thresholds do not apply; personal 10 × 2 = 20 is not < 20.
			{"resilience not computed", merge(cyrm(2, 1), Answers{"cyrm05": nil, "cyrm06": nil}), nil, LevelLow, "No psychosocial concern in the answers given"},
		},
		"caregiver": {
			{"fine", nil, nil, LevelLow, "No caregiver well-being concern in the answers given"},
			{"PHQ-9 15", phq(Answers{}, [9]float64{3, 3, 3, 3, 3, 0, 0, 0, 0}), nil, LevelHigh, "Caregiver depression moderately severe or severe (PHQ-9 15 or more)"},
			{"PHQ-9 20", phq(Answers{}, [9]float64{3, 3, 3, 3, 3, 3, 2, 0, 0}), nil, LevelHigh, "Caregiver depression moderately severe or severe (PHQ-9 15 or more)"},
			{"PHQ-9 10 and not coping", with(phq(Answers{}, [9]float64{3, 3, 3, 1, 0, 0, 0, 0, 0}), Answers{"cg_coping": "not_coping"}), nil, LevelHigh, "Moderate caregiver depression (PHQ-9 10–14) and not coping"},
			{"PHQ-9 10", phq(Answers{}, [9]float64{3, 3, 3, 1, 0, 0, 0, 0, 0}), nil, LevelModerate, "Moderate caregiver depression (PHQ-9 10–14)"},
			{"not coping", Answers{"cg_coping": "not_coping"}, nil, LevelModerate, "Caregiver not coping with daily demands"},
			{"parenting without support", Answers{"cg_parenting": "often", "cg_support": false}, nil, LevelModerate, "Caregiver often unable to manage the child's behaviour and has no one to turn to"},
			{"parenting with support", Answers{"cg_parenting": "often"}, nil, LevelLow, "No caregiver well-being concern in the answers given"},
			{"conflict", Answers{"cg_conflict": "often"}, nil, LevelModerate, "Frequent conflict or fighting in the family"},
			{"PHQ-9 5", phq(Answers{}, [9]float64{3, 2, 0, 0, 0, 0, 0, 0, 0}), nil, LevelLow, "Mild caregiver depressive symptoms (PHQ-9 5–9); offer the family strengthening programme"},
			{"not engaged", Answers{"cg_engagement": "never"}, nil, LevelLow, "Caregiver not engaged in the child's schooling; invite to the family strengthening programme"},
		},
	}
}

// TestDomainRules fires each domain rule of the CWTT and checks the level
// and the reason reported; it then checks that no rule went untested.
func TestDomainRules(t *testing.T) {
	in := cwtt(t)
	fired := map[string]bool{}
	for domain, cases := range baseRuleCases() {
		for _, tc := range cases {
			t.Run(domain+"/"+tc.name, func(t *testing.T) {
				g := tc.growth
				if g == nil {
					g = normalGrowth()
				}
				r := score(t, in, boy, with(fineAnswers(), tc.changes), g)
				if r.Domains[domain] != tc.level || r.DomainReasons[domain] != tc.reason {
					t.Errorf("%s = %s (%s), want %s (%s)", domain, r.Domains[domain], r.DomainReasons[domain], tc.level, tc.reason)
				}
				if len(r.Flags) != 0 {
					t.Errorf("unexpected flags %v", r.Flags)
				}
				for d, lv := range r.Domains {
					if d != domain && lv != LevelLow {
						t.Errorf("other domain %s = %s (%s): the case should only touch %s", d, lv, r.DomainReasons[d], domain)
					}
				}
			})
			fired[domain+"\x00"+tc.reason] = true
		}
	}
	for _, d := range in.Domains() {
		for i, r := range in.rules[d.ID] {
			if !fired[d.ID+"\x00"+r.Reason] {
				t.Errorf("domain_rules.%s[%d] (%q) is not exercised by any case", d.ID, i, r.Reason)
			}
		}
	}
}

// TestNotAssessed checks that a domain none of whose items was answered is
// not_assessed, and that one with answers but no concern is low.
func TestNotAssessed(t *testing.T) {
	in := cwtt(t)
	a := only(in, fineAnswers(), "teacher")
	r := score(t, in, boy, a, nil)
	want := map[string]string{
		"health": LevelNotAssessed, "nutrition": LevelLow, "material": LevelNotAssessed,
		"education": LevelLow, "protection": LevelLow, "psychosocial": LevelNotAssessed, "caregiver": LevelNotAssessed,
	}
	if !reflect.DeepEqual(r.Domains, want) {
		t.Errorf("teacher only: domains = %v, want %v", r.Domains, want)
	}
	if r.DomainReasons["health"] != "no item of this domain was answered" {
		t.Errorf("reason = %q", r.DomainReasons["health"])
	}
	r = score(t, in, boy, Answers{}, nil)
	for d, lv := range r.Domains {
		if lv != LevelNotAssessed {
			t.Errorf("no answers: %s = %s", d, lv)
		}
	}
}

// TestGrowthInputs checks what scoring hands the growth calculator: sex,
// age in days from the calendar dates, and the nurse's measurements.
func TestGrowthInputs(t *testing.T) {
	in := cwtt(t)
	g := normalGrowth()
	s := Subject{Sex: SexFemale, DOB: dob, AssessedOn: assessedOn.Add(15 * 3600e9)} // time of day ignored
	r := score(t, in, s, fineAnswers(), g)
	// 2014-05-10 to 2020-11-02 is 2368 days.
	want := growth.Measurement{Sex: growth.Female, AgeDays: 2368, WeightKg: 20.5, HeightCm: 116}
	if !g.seen || g.got != want {
		t.Errorf("growth got %+v, want %+v", g.got, want)
	}
	if r.Growth == nil || r.Growth.HFA.Indicator != growth.HeightForAge {
		t.Errorf("result growth = %+v", r.Growth)
	}

	g = normalGrowth()
	score(t, in, Subject{}, with(fineAnswers(), Answers{"weight_kg": nil}), g)
	if g.got.Sex != 0 || g.got.AgeDays == g.got.AgeDays || g.got.WeightKg != 0 {
		t.Errorf("unknown sex, age and weight: got %+v (want sex 0, age NaN, weight 0)", g.got)
	}

	// Without a calculator the z-scores are reported as not computed.
	r, err := in.Score(boy, fineAnswers(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Growth.HFA.Computed || r.Growth.HFA.Reason == "" || r.Domains["nutrition"] != LevelLow {
		t.Errorf("nil calculator: %+v, nutrition %s", r.Growth.HFA, r.Domains["nutrition"])
	}
}
