package instrument

import (
	"errors"
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
// caregiver domain each band leads to (mild is moderate since cwtt 2: the
// family strengthening programme is offered, which needs a plan). Item 9
// stays 0 except where a total above 24 needs it (then the self-harm flag
// fires too).
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
		{[9]float64{3, 2, 0, 0, 0, 0, 0, 0, 0}, 5, "mild", LevelModerate, false},
		{[9]float64{3, 3, 3, 0, 0, 0, 0, 0, 0}, 9, "mild", LevelModerate, false},
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
	// A missing item is prorated (TestPHQ9Proration): 0 × 9 / 8 = 0.
	r = score(t, in, boy, with(fineAnswers(), Answers{"phq9_3": nil}), nil)
	if got := r.Scales["phq9.total"]; !got.Computed || !got.Prorated || got.Score != 0 || got.Missing != 1 {
		t.Errorf("phq9 with a missing item = %+v", got)
	}
}

// phqPartial sets PHQ-9 items 1..9 from vals, where -1 leaves the item
// unanswered and -2 records item 9 as declined.
func phqPartial(a Answers, vals [9]float64) Answers {
	out := with(a, nil)
	for i, v := range vals {
		switch v {
		case -1:
			delete(out, phqID(i+1))
		case -2:
			out[phqID(i+1)] = Declined
		default:
			out[phqID(i+1)] = v
		}
	}
	return out
}

// TestPHQ9Proration checks the NHS Data Dictionary proration by hand: with
// up to 2 items missing (a declined item 9 counts as missing) the total is
// the mean of the answered items × 9, rounded to the nearest whole number
// with halves up; with 3 or more missing it is not computed.
func TestPHQ9Proration(t *testing.T) {
	in := cwtt(t)
	const (
		x = -1 // unanswered
		d = -2 // declined (item 9 only)
	)
	tests := []struct {
		name     string
		vals     [9]float64
		computed bool
		score    float64
		band     string
		prorated bool
		level    string
		reason   string
		flags    []string
	}{
		{"complete, 5", [9]float64{3, 2, 0, 0, 0, 0, 0, 0, 0}, true, 5, "mild", false, LevelModerate,
			"Mild caregiver depressive symptoms (PHQ-9 5–9); offer the family strengthening programme", nil},
		// 8 answered summing to 4: 4 / 8 × 9 = 4.5, a half: up to 5 (mild, not minimal).
		{"8 answered, 4.5 rounds up", [9]float64{1, 1, 1, 1, 0, 0, 0, x, 0}, true, 5, "mild", true, LevelModerate,
			"Mild caregiver depressive symptoms (PHQ-9 5–9); offer the family strengthening programme", nil},
		// 8 answered summing to 12: 12 / 8 × 9 = 13.5 → 14.
		{"8 answered, 13.5 rounds up", [9]float64{3, 3, 3, 3, 0, 0, x, 0, 0}, true, 14, "moderate", true, LevelModerate,
			"Moderate caregiver depression (PHQ-9 10–14)", nil},
		// 7 answered summing to 10, item 9 declined: 10 / 7 = 1.4286 × 9 = 12.857 → 13.
		{"7 answered, item 9 declined", [9]float64{3, 3, 2, 1, 1, 0, 0, x, d}, true, 13, "moderate", true, LevelModerate,
			"Caregiver declined PHQ-9 item 9 (thoughts of self-harm); the social worker follows up", []string{"phq9.self_harm_declined"}},
		// 7 answered summing to 3: 3 / 7 × 9 = 3.857 → 4.
		{"7 answered, 3.857", [9]float64{1, 1, 1, 0, 0, 0, x, x, 0}, true, 4, "minimal", true, LevelLow,
			"No caregiver well-being concern in the answers given", nil},
		// 7 answered summing to 4: 4 / 7 × 9 = 5.143 → 5.
		{"7 answered, 5.143", [9]float64{1, 1, 1, 1, x, 0, 0, x, 0}, true, 5, "mild", true, LevelModerate,
			"Mild caregiver depressive symptoms (PHQ-9 5–9); offer the family strengthening programme", nil},
		// Item 9 declined, the other 8 summing to 20: 20 / 8 × 9 = 22.5 → 23;
		// severe depression outranks the declined item.
		{"8 answered, 22.5, declined", [9]float64{3, 3, 3, 3, 3, 3, 2, 0, d}, true, 23, "severe", true, LevelHigh,
			"Caregiver depression moderately severe or severe (PHQ-9 15 or more)", []string{"phq9.self_harm_declined"}},
		// 6 answered: not computed; the caregiver domain says so.
		{"3 missing", [9]float64{3, 3, 3, x, x, x, 0, 0, 0}, false, 0, "", false, LevelLow,
			"Caregiver depression not screened (PHQ-9 has 3 or more items missing)", nil},
		{"2 missing and declined", [9]float64{3, 3, 3, x, x, 0, 0, 0, d}, false, 0, "", false, LevelModerate,
			"Caregiver declined PHQ-9 item 9 (thoughts of self-harm); the social worker follows up", []string{"phq9.self_harm_declined"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := phqPartial(fineAnswers(), tc.vals)
			if err := in.Validate("caregiver", only(in, a, "caregiver")); err != nil {
				t.Fatalf("the form is refused: %v", err)
			}
			r := score(t, in, boy, a, nil)
			got := r.Scales["phq9.total"]
			if got.Computed != tc.computed || got.Score != tc.score || got.Band != tc.band || got.Prorated != tc.prorated {
				t.Errorf("phq9.total = %+v, want computed %v score %v band %q prorated %v", got, tc.computed, tc.score, tc.band, tc.prorated)
			}
			if r.Domains["caregiver"] != tc.level || r.DomainReasons["caregiver"] != tc.reason {
				t.Errorf("caregiver = %s (%s), want %s (%s)", r.Domains["caregiver"], r.DomainReasons["caregiver"], tc.level, tc.reason)
			}
			if len(r.Flags) != len(tc.flags) || (len(tc.flags) > 0 && !reflect.DeepEqual(r.Flags, tc.flags)) {
				t.Errorf("flags = %v, want %v", r.Flags, tc.flags)
			}
		})
	}
	if got := score(t, in, boy, phqPartial(fineAnswers(), [9]float64{3, 3, 3, x, x, x, 0, 0, 0}), nil).Scales["phq9.total"].Reason; got != "3 of 9 items missing (at most 2 allowed)" {
		t.Errorf("reason = %q", got)
	}
}

// TestPHQ9Declined: item 9 may be declined, never skipped. A decline passes
// validation, is kept as given in the answers, is listed in the result,
// counts as missing for the total and raises a notify-only flag that leaves
// the caregiver domain to its rules.
func TestPHQ9Declined(t *testing.T) {
	in := cwtt(t)
	caregiver := only(in, fineAnswers(), "caregiver")
	tests := []struct {
		name string
		a    Answers
		want []string
	}{
		{"declined", with(caregiver, Answers{"phq9_9": Declined}), nil},
		{"skipped", with(caregiver, Answers{"phq9_9": nil}), []string{"phq9_9:required"}},
		{"items 1-8 may be skipped", with(caregiver, Answers{"phq9_1": nil, "phq9_8": nil}), nil},
		{"another word", with(caregiver, Answers{"phq9_9": "refused"}), []string{"phq9_9:wrong_type"}},
		{"only item 9 is declinable", with(caregiver, Answers{"phq9_1": Declined}), []string{"phq9_1:wrong_type"}},
	}
	for _, tc := range tests {
		if got := codes(t, in.Validate("caregiver", tc.a)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	var ve *ValidationError
	if err := in.Validate("caregiver", with(caregiver, Answers{"phq9_9": "refused"})); !errors.As(err, &ve) ||
		ve.Errors[0].Message != `phq9_9 takes one of the numeric values 0, 1, 2, 3, or "declined"` {
		t.Errorf("message: %v", err)
	}
	if err := in.Validate("caregiver", with(caregiver, Answers{"phq9_1": Declined})); !errors.As(err, &ve) ||
		strings.Contains(ve.Errors[0].Message, "declined") {
		t.Errorf("message for an item that cannot be declined: %v", err)
	}

	a := with(fineAnswers(), Answers{"phq9_9": Declined})
	r := score(t, in, boy, a, nil)
	if !reflect.DeepEqual(r.Declined, []string{"phq9_9"}) || a["phq9_9"] != Declined {
		t.Errorf("declined = %v, answer %v", r.Declined, a["phq9_9"])
	}
	if !reflect.DeepEqual(r.Flags, []string{"phq9.self_harm_declined"}) || r.FlagReasons["phq9.self_harm_declined"] == "" {
		t.Errorf("flags = %v %v", r.Flags, r.FlagReasons)
	}
	// Notify-only: the caregiver domain is moderate by its rule, not high by the flag.
	if r.Domains["caregiver"] != LevelModerate || strings.HasPrefix(r.DomainReasons["caregiver"], "red flag") {
		t.Errorf("caregiver = %s (%s)", r.Domains["caregiver"], r.DomainReasons["caregiver"])
	}
	if got := r.Scales["phq9.total"]; !got.Prorated || got.Missing != 1 || got.Score != 0 {
		t.Errorf("phq9.total = %+v", got)
	}
	// Only item 9 answered, by declining: the caregiver domain was assessed
	// through the caregiver's other answers; alone it is not.
	r = score(t, in, boy, Answers{"phq9_9": Declined}, nil)
	if r.Domains["caregiver"] != LevelNotAssessed || !reflect.DeepEqual(r.Flags, []string{"phq9.self_harm_declined"}) {
		t.Errorf("declined alone: %s %v", r.Domains["caregiver"], r.Flags)
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
// well and checks where its urgent referral goes and that it makes its
// domain high with the flag as the reason (a notify-only flag makes no
// referral and leaves its domain to the rules).
func TestRedFlags(t *testing.T) {
	in := cwtt(t)
	tests := []struct {
		code    string
		domain  string
		service string // "" for notify-only
		changes Answers
		growth  *fakeGrowth
	}{
		{"protection.disclosure", "protection", "social_development", Answers{"child_disclosure": true}, nil},
		{"protection.disclosure", "protection", "social_development", Answers{"teacher_disclosure": true}, nil},
		{"protection.signs_of_abuse", "protection", "social_development", Answers{"teacher_signs": true}, nil},
		{"protection.signs_of_abuse", "protection", "social_development", Answers{"nurse_injury": true}, nil},
		{"protection.neglect", "protection", "social_development", Answers{"nurse_neglect": true}, nil},
		{"protection.feels_unsafe", "protection", "social_development", Answers{"child_feels_safe": "no"}, nil},
		// Self-harm is a health emergency: a clinic, not social development.
		{"phq9.self_harm", "caregiver", "clinic", Answers{"phq9_9": 1.0}, nil},
		{"phq9.self_harm_declined", "caregiver", "", Answers{"phq9_9": Declined}, nil},
		{"growth.severe_thinness", "nutrition", "clinic", nil, zs(z(-1), z(-2.5), z(-3.2))},
		{"nutrition.oedema", "nutrition", "clinic", Answers{"oedema": true}, nil},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		seen[tc.code] = true
		g := tc.growth
		if g == nil {
			g = normalGrowth()
		}
		f, ok := in.RedFlag(tc.code)
		if !ok || f.ServiceType != tc.service || f.NotifyOnly != (tc.service == "") || f.Domain != tc.domain {
			t.Errorf("%s: route %+v, want %s to %q", tc.code, f, tc.domain, tc.service)
		}
		r := score(t, in, boy, with(fineAnswers(), tc.changes), g)
		if !reflect.DeepEqual(r.Flags, []string{tc.code}) {
			t.Errorf("%s via %v: flags = %v", tc.code, tc.changes, r.Flags)
		}
		byFlag := strings.HasPrefix(r.DomainReasons[tc.domain], "red flag "+tc.code+": ")
		if f.NotifyOnly {
			if byFlag || r.Domains[tc.domain] == LevelHigh {
				t.Errorf("%s is notify-only but set %s = %s (%s)", tc.code, tc.domain, r.Domains[tc.domain], r.DomainReasons[tc.domain])
			}
		} else if r.Domains[tc.domain] != LevelHigh || !byFlag || r.DomainServices[tc.domain] != tc.service {
			t.Errorf("%s: %s = %s (%s, %q), want high by the flag", tc.code, tc.domain, r.Domains[tc.domain], r.DomainReasons[tc.domain], r.DomainServices[tc.domain])
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
// service is the suggested service type the rule reports ("" for none);
// also gives the levels of other domains the answers touch (every domain
// not named stays low); flags the red flags expected (none when nil).
type ruleCase struct {
	name    string
	changes Answers
	growth  *fakeGrowth
	level   string
	reason  string
	service string
	also    map[string]string
	flags   []string
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
			{"fine", nil, nil, LevelLow, "Health checks found no concern", "", nil, nil},
			{"chronic untreated", Answers{"chronic_illness": true, "chronic_treated": false}, nil, LevelHigh, "Chronic illness not on treatment or in care", "clinic", nil, nil},
			{"dental pain", Answers{"dental": "pain_or_infection"}, nil, LevelHigh, "Dental pain, abscess or infection needs urgent care", "clinic", nil, nil},
			{"immunisation behind", Answers{"imm_up_to_date": false}, nil, LevelModerate, "Immunisations not up to date (Road to Health booklet)", "clinic", nil, nil},
			{"no booklet", Answers{"rthb_seen": false, "imm_up_to_date": nil, "rthb_last_visit": nil}, nil, LevelModerate, "No Road to Health booklet seen, immunisation status unknown", "clinic", nil, nil},
			{"vision", Answers{"vision": "refer"}, nil, LevelModerate, "Failed a vision, hearing or speech screening (refer for assessment)", "clinic", nil, nil},
			{"hearing", Answers{"hearing": "refer"}, nil, LevelModerate, "Failed a vision, hearing or speech screening (refer for assessment)", "clinic", nil, nil},
			{"speech", Answers{"speech": "refer"}, nil, LevelModerate, "Failed a vision, hearing or speech screening (refer for assessment)", "clinic", nil, nil},
			{"decay", Answers{"dental": "decay"}, nil, LevelModerate, "Visible tooth decay (refer to the dental clinic)", "clinic", nil, nil},
			// Assessed 2020-11-02; 2019-11-01 is 367 days earlier (> 8760 h), 2019-11-03 only 365.
			{"last visit over a year ago", Answers{"rthb_last_visit": "2019-11-01"}, nil, LevelModerate, "No clinic visit recorded in the booklet for more than a year", "clinic", nil, nil},
			{"last visit within a year", Answers{"rthb_last_visit": "2019-11-03"}, nil, LevelLow, "Health checks found no concern", "", nil, nil},
			// A check not done is not "no concern" (cwtt 2).
			{"vision not done", Answers{"vision": "not_done"}, nil, LevelModerate, "Health screening not done (vision, hearing, speech or dental); complete the checks at the clinic", "clinic", nil, nil},
			{"hearing not done", Answers{"hearing": "not_done"}, nil, LevelModerate, "Health screening not done (vision, hearing, speech or dental); complete the checks at the clinic", "clinic", nil, nil},
			{"speech not done", Answers{"speech": "not_done"}, nil, LevelModerate, "Health screening not done (vision, hearing, speech or dental); complete the checks at the clinic", "clinic", nil, nil},
			{"dental not done", Answers{"dental": "not_done"}, nil, LevelModerate, "Health screening not done (vision, hearing, speech or dental); complete the checks at the clinic", "clinic", nil, nil},
			{"failed check reported before one not done", Answers{"vision": "not_done", "hearing": "refer"}, nil, LevelModerate, "Failed a vision, hearing or speech screening (refer for assessment)", "clinic", nil, nil},
			{"checks left blank are not 'not done'", Answers{"vision": nil, "hearing": nil, "speech": nil, "dental": nil}, nil, LevelLow, "Health checks found no concern", "", nil, nil},
			{"chronic treated", Answers{"chronic_illness": true, "chronic_treated": true}, nil, LevelLow, "Chronic illness on treatment (keep under review)", "", nil, nil},
			{"untreated beats decay", Answers{"chronic_illness": true, "chronic_treated": false, "dental": "decay"}, nil, LevelHigh, "Chronic illness not on treatment or in care", "clinic", nil, nil},
		},
		"nutrition": {
			{"fine", nil, nil, LevelLow, "No nutrition or growth concern found", "", nil, nil},
			{"severely stunted", nil, zs(z(-3.1), z(-1), z(0)), LevelHigh, "Severely stunted (height-for-age z-score below −3)", "", nil, nil},
			{"often to bed hungry", Answers{"hunger_bed": 3.0}, nil, LevelHigh, "Child often hungry (went to bed hungry or skipped meals more than 10 times in 30 days)", "", nil, nil},
			{"often skips meals", Answers{"hunger_skip": 3.0}, nil, LevelHigh, "Child often hungry (went to bed hungry or skipped meals more than 10 times in 30 days)", "", nil, nil},
			{"stunted", nil, zs(z(-2.01), z(-1), z(0)), LevelModerate, "Stunted (height-for-age z-score below −2)", "", nil, nil},
			{"HAZ exactly −2 is not stunted", nil, zs(z(-2), z(-1), z(0)), LevelLow, "No nutrition or growth concern found", "", nil, nil},
			{"thin", nil, zs(z(0), z(-1), z(-2.5)), LevelModerate, "Thin (BMI-for-age z-score below −2)", "", nil, nil},
			{"underweight", nil, zs(z(-1), z(-2.2), z(-1)), LevelModerate, "Underweight (weight-for-age z-score below −2)", "", nil, nil},
			{"obese", nil, zs(z(0), z(2), z(2.3)), LevelModerate, "Obese (BMI-for-age z-score above +2)", "", nil, nil},
			{"sometimes hungry", Answers{"hunger_bed": 2.0}, nil, LevelModerate, "Child sometimes hungry (went to bed hungry or skipped meals 3 to 10 times in 30 days)", "", nil, nil},
			{"sometimes skips", Answers{"hunger_skip": 2.0}, nil, LevelModerate, "Child sometimes hungry (went to bed hungry or skipped meals 3 to 10 times in 30 days)", "", nil, nil},
			{"hungry at school", Answers{"school_hungry": "often"}, nil, LevelModerate, "Teacher reports the child often comes to school hungry", "", nil, nil},
			{"overweight", nil, zs(z(0), z(1), z(1.4)), LevelLow, "Overweight (BMI-for-age z-score above +1); healthy-eating advice", "", nil, nil},
			{"flagged HAZ not used", nil, zs(flagged(-6.5), z(0), z(0)), LevelLow, "No nutrition or growth concern found", "", nil, nil},
			{"not computed not used", nil, zs(growth.ZScore{Reason: "age out of range"}, z(0), z(0)), LevelLow, "No nutrition or growth concern found", "", nil, nil},
		},
		"material": {
			{"fine", nil, nil, LevelLow, "Basic material needs met", "", nil, nil},
			{"no home", Answers{"shelter": "none"}, nil, LevelHigh, "No stable home", "", nil, nil},
			{"often no food", Answers{"food_short": "often"}, nil, LevelHigh, "Household often without food or money for food", "food_relief", nil, nil},
			{"no grant no birth certificate", Answers{"csg_received": false, "csg_applied": false, "birth_cert": false}, nil, LevelHigh, "No Child Support Grant and no birth certificate (documents and grant application needed)", "home_affairs", nil, nil},
			{"grant applied for, not received", Answers{"csg_received": false, "csg_applied": true}, nil, LevelModerate, "Child Support Grant applied for but not received (follow up the application with SASSA)", "sassa", nil, nil},
			{"grant not applied for", Answers{"csg_received": false, "csg_applied": false}, nil, LevelModerate, "Child Support Grant not received (refer to SASSA)", "sassa", nil, nil},
			{"grant applied for, no birth certificate", Answers{"csg_received": false, "csg_applied": true, "birth_cert": false}, nil, LevelHigh, "No Child Support Grant and no birth certificate (documents and grant application needed)", "home_affairs", nil, nil},
			{"no birth certificate", Answers{"birth_cert": false}, nil, LevelModerate, "No birth certificate (refer to Home Affairs)", "home_affairs", nil, nil},
			{"caregiver without ID", Answers{"caregiver_id": false}, nil, LevelModerate, "Caregiver has no ID document (needed for the grant)", "home_affairs", nil, nil},
			{"sometimes no food", Answers{"food_short": "sometimes"}, nil, LevelModerate, "Household sometimes without food or money for food", "food_relief", nil, nil},
			{"no safe water", Answers{"water_safe": false}, nil, LevelModerate, "No safe drinking water every day", "", nil, nil},
			{"informal, no electricity", Answers{"shelter": "informal", "electricity": false}, nil, LevelModerate, "Informal or traditional dwelling without electricity", "", nil, nil},
			{"traditional, no electricity", Answers{"shelter": "traditional", "electricity": false}, nil, LevelModerate, "Informal or traditional dwelling without electricity", "", nil, nil},
			{"traditional, no safe water", Answers{"shelter": "traditional", "water_safe": false}, nil, LevelModerate, "No safe drinking water every day", "", nil, nil},
			{"informal with electricity", Answers{"shelter": "informal"}, nil, LevelLow, "Basic material needs met", "", nil, nil},
			{"traditional with electricity and water", Answers{"shelter": "traditional"}, nil, LevelLow, "Basic material needs met", "", nil, nil},
		},
		"education": {
			{"fine", nil, nil, LevelLow, "Learning and attendance on track", "", nil, nil},
			{"both not achieved, no support", Answers{"edu_number": "not_achieved", "edu_reading": "not_achieved"}, nil, LevelHigh, "Did not achieve number concept or reading and receives no learning support", "", nil, nil},
			{"absent 11 days (> 10)", Answers{"edu_days_absent": 11.0}, nil, LevelHigh, "Absent from school on more days this term than the serious-concern threshold", "", nil, nil},
			{"both not achieved, with support", Answers{"edu_number": "not_achieved", "edu_reading": "not_achieved", "edu_support": true}, nil, LevelModerate, "Did not achieve number concept or reading", "", nil, nil},
			{"reading not achieved", Answers{"edu_reading": "not_achieved"}, nil, LevelModerate, "Did not achieve number concept or reading", "", nil, nil},
			{"absent 6 days (> 5)", Answers{"edu_days_absent": 6.0}, nil, LevelModerate, "Absent from school on more days this term than the concern threshold", "", nil, nil},
			{"absent 10 days (not > 10)", Answers{"edu_days_absent": 10.0}, nil, LevelModerate, "Absent from school on more days this term than the concern threshold", "", nil, nil},
			{"absent 5 days (not > 5)", Answers{"edu_days_absent": 5.0}, nil, LevelLow, "Learning and attendance on track", "", nil, nil},
		},
		"protection": {
			{"fine", nil, nil, LevelLow, "No protection concern in the answers given", "", nil, nil},
			{"unsupervised and violence", Answers{"supervision_gap": "often", "child_violence": "often"}, nil, LevelHigh, "Often without an adult and often sees violence", "", nil, nil},
			{"often unsupervised", Answers{"supervision_gap": "often"}, nil, LevelModerate, "Often without an adult after school", "", nil, nil},
			{"sees violence sometimes", Answers{"child_violence": "sometimes"}, nil, LevelModerate, "Sees people hurting each other at home or nearby", "", nil, nil},
			{"feels safe sometimes", Answers{"child_feels_safe": "sometimes"}, nil, LevelModerate, "Child feels safe at home only sometimes", "", nil, nil},
			// Family conflict raises protection as well as the caregiver domain (cwtt 2).
			{"conflict and violence often", Answers{"cg_conflict": "often", "child_violence": "often"}, nil, LevelHigh, "Frequent fighting in the family and the child often sees people hurting each other", "",
				map[string]string{"caregiver": LevelModerate}, nil},
			{"violence often", Answers{"child_violence": "often"}, nil, LevelModerate, "Sees people hurting each other at home or nearby", "", nil, nil},
			{"conflict often", Answers{"cg_conflict": "often"}, nil, LevelModerate, "Frequent conflict or fighting in the family (check the child's safety at home)", "",
				map[string]string{"caregiver": LevelModerate}, nil},
			{"conflict sometimes", Answers{"cg_conflict": "sometimes"}, nil, LevelLow, "No protection concern in the answers given", "", nil, nil},
		},
		"psychosocial": {
			{"fine", nil, nil, LevelLow, "No psychosocial concern in the answers given", "", nil, nil},
			// 4+3+6+4 = 17.
			{"SDQ total abnormal", merge(sdq("sdq.emotional", [5]float64{2, 2, 0, 0, 0}), sdq("sdq.conduct", [5]float64{1, 1, 1, 0, 0}),
				sdq("sdq.hyperactivity", [5]float64{2, 2, 1, 1, 2}), sdq("sdq.peer", [5]float64{2, 1, 1, 0, 0})), nil, LevelHigh, "SDQ total difficulties in the abnormal band (17–40)", "", nil, nil},
			// 10 × 1 + 7 × 2 = 24 < 26.
			{"very low resilience", cyrm(1, 2), nil, LevelHigh, "Very low resilience (resilience total below the site's very-low threshold)", "", nil, nil},
			// 3+3+5+3 = 14.
			{"SDQ total borderline", merge(sdq("sdq.emotional", [5]float64{2, 1, 0, 0, 0}), sdq("sdq.conduct", [5]float64{1, 1, 1, 0, 0}),
				sdq("sdq.hyperactivity", [5]float64{2, 2, 1, 2, 2}), sdq("sdq.peer", [5]float64{1, 1, 1, 0, 0})), nil, LevelModerate, "SDQ total difficulties in the borderline band (14–16)", "", nil, nil},
			{"emotional abnormal only", sdq("sdq.emotional", [5]float64{2, 2, 1, 0, 0}), nil, LevelModerate, "An SDQ difficulties subscale in the abnormal band", "", nil, nil},
			{"conduct abnormal only", sdq("sdq.conduct", [5]float64{2, 1, 1, 0, 0}), nil, LevelModerate, "An SDQ difficulties subscale in the abnormal band", "", nil, nil},
			{"hyperactivity abnormal only", sdq("sdq.hyperactivity", [5]float64{2, 2, 1, 1, 1}), nil, LevelModerate, "An SDQ difficulties subscale in the abnormal band", "", nil, nil},
			{"peer abnormal only", sdq("sdq.peer", [5]float64{2, 1, 1, 0, 0}), nil, LevelModerate, "An SDQ difficulties subscale in the abnormal band", "", nil, nil},
			{"low prosocial", sdq("sdq.prosocial", [5]float64{2, 2, 0, 0, 0}), nil, LevelModerate, "Low prosocial behaviour (SDQ prosocial 0–4)", "", nil, nil},
			// 17 × 2 = 34 is not < 34; 33 is.
			{"resilience 34 not low", cyrm(2, 2), nil, LevelLow, "No psychosocial concern in the answers given", "", nil, nil},
			{"low resilience 33", with(cyrm(2, 2), Answers{"cyrm01": 1.0}), nil, LevelModerate, "Low resilience (resilience total below the site's threshold)", "", nil, nil},
			// Caregiver 7 × 1 = 7 < 14; personal 10 × 3 = 30; total 37.
			{"weak caregiver relationship", cyrm(3, 1), nil, LevelModerate, "Weak caregiver relationship as the child sees it (caregiver sub-score below the site's threshold)", "", nil, nil},
			// Personal 8 × 2 + 2 × 1 = 18 < 20; caregiver 7 × 3 = 21; total 39.
			{"low personal resilience", with(cyrm(2, 3), Answers{"cyrm01": 1.0, "cyrm02": 1.0}), nil, LevelModerate, "Low personal resilience (personal sub-score below the site's threshold)", "", nil, nil},
			// Caregiver items 5 and 6 missing (2 > 1 allowed): caregiver and total not
			// computed, so their thresholds do not apply; personal 10 × 2 = 20 is not < 20.
			{"resilience not computed", merge(cyrm(2, 1), Answers{"cyrm05": nil, "cyrm06": nil}), nil, LevelLow, "No psychosocial concern in the answers given", "", nil, nil},
		},
		"caregiver": {
			{"fine", nil, nil, LevelLow, "No caregiver well-being concern in the answers given", "", nil, nil},
			{"PHQ-9 15", phq(Answers{}, [9]float64{3, 3, 3, 3, 3, 0, 0, 0, 0}), nil, LevelHigh, "Caregiver depression moderately severe or severe (PHQ-9 15 or more)", "", nil, nil},
			{"PHQ-9 20", phq(Answers{}, [9]float64{3, 3, 3, 3, 3, 3, 2, 0, 0}), nil, LevelHigh, "Caregiver depression moderately severe or severe (PHQ-9 15 or more)", "", nil, nil},
			{"PHQ-9 10 and not coping", with(phq(Answers{}, [9]float64{3, 3, 3, 1, 0, 0, 0, 0, 0}), Answers{"cg_coping": "not_coping"}), nil, LevelHigh, "Moderate caregiver depression (PHQ-9 10–14) and not coping", "", nil, nil},
			{"PHQ-9 10", phq(Answers{}, [9]float64{3, 3, 3, 1, 0, 0, 0, 0, 0}), nil, LevelModerate, "Moderate caregiver depression (PHQ-9 10–14)", "", nil, nil},
			{"not coping", Answers{"cg_coping": "not_coping"}, nil, LevelModerate, "Caregiver not coping with daily demands", "", nil, nil},
			{"parenting without support", Answers{"cg_parenting": "often", "cg_support": false}, nil, LevelModerate, "Caregiver often unable to manage the child's behaviour and has no one to turn to", "", nil, nil},
			{"parenting with support", Answers{"cg_parenting": "often"}, nil, LevelLow, "No caregiver well-being concern in the answers given", "", nil, nil},
			{"conflict", Answers{"cg_conflict": "often"}, nil, LevelModerate, "Frequent conflict or fighting in the family", "",
				map[string]string{"protection": LevelModerate}, nil},
			{"item 9 declined", Answers{"phq9_9": Declined}, nil, LevelModerate, "Caregiver declined PHQ-9 item 9 (thoughts of self-harm); the social worker follows up", "",
				nil, []string{"phq9.self_harm_declined"}},
			// Offering the programme needs a plan, so moderate since cwtt 2 (low before).
			{"PHQ-9 5", phq(Answers{}, [9]float64{3, 2, 0, 0, 0, 0, 0, 0, 0}), nil, LevelModerate, "Mild caregiver depressive symptoms (PHQ-9 5–9); offer the family strengthening programme", "family_strengthening", nil, nil},
			{"not engaged", Answers{"cg_engagement": "never"}, nil, LevelModerate, "Caregiver not engaged in the child's schooling; invite to the family strengthening programme", "family_strengthening", nil, nil},
			{"PHQ-9 not computed", Answers{"phq9_1": nil, "phq9_2": nil, "phq9_3": nil}, nil, LevelLow, "Caregiver depression not screened (PHQ-9 has 3 or more items missing)", "", nil, nil},
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
				if r.Domains[domain] != tc.level || r.DomainReasons[domain] != tc.reason || r.DomainServices[domain] != tc.service {
					t.Errorf("%s = %s (%s, service %q), want %s (%s, service %q)", domain, r.Domains[domain], r.DomainReasons[domain], r.DomainServices[domain], tc.level, tc.reason, tc.service)
				}
				if len(r.Flags) != len(tc.flags) || (len(tc.flags) > 0 && !reflect.DeepEqual(r.Flags, tc.flags)) {
					t.Errorf("flags %v, want %v", r.Flags, tc.flags)
				}
				for d, lv := range r.Domains {
					want := LevelLow
					if l, ok := tc.also[d]; ok {
						want = l
					}
					if d != domain && lv != want {
						t.Errorf("other domain %s = %s (%s), want %s", d, lv, r.DomainReasons[d], want)
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
