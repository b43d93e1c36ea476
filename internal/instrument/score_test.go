package instrument

import (
	"encoding/json"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCompare(t *testing.T) {
	baseline := map[string]string{
		"health": LevelHigh, "nutrition": LevelModerate, "material": LevelLow, "education": LevelModerate,
		"protection": LevelNotAssessed, "psychosocial": LevelHigh, "caregiver": LevelLow,
	}
	follow := map[string]string{
		"health": LevelModerate, "nutrition": LevelModerate, "material": LevelHigh, "education": LevelLow,
		"protection": LevelLow, "psychosocial": LevelNotAssessed, "extra": LevelLow,
	}
	want := map[string]string{
		"health": Improved, "nutrition": Unchanged, "material": Worse, "education": Improved,
		"protection": NotComparable, "psychosocial": NotComparable, "caregiver": NotComparable, "extra": NotComparable,
	}
	if got := Compare(baseline, follow); !reflect.DeepEqual(got, want) {
		t.Errorf("Compare = %v, want %v", got, want)
	}
	if got := Compare(nil, nil); len(got) != 0 {
		t.Errorf("Compare(nil, nil) = %v", got)
	}
}

// TestResultJSON pins the JSON a CLI prints.
func TestResultJSON(t *testing.T) {
	loadShipped(t)
	r := score(t, moutse, boy, with(fineAnswers(), Answers{"child_disclosure": true, "sdq03": nil, "sdq08": nil}), nil)
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	for _, k := range []string{"instrument", "scales", "domains", "domain_reasons", "flags", "flag_reasons", "growth"} {
		if _, ok := got[k]; !ok {
			t.Errorf("no %q in %v", k, keys)
		}
	}
	for _, want := range []string{
		`"instrument":{"id":"cwtt-moutse","version":"2.0.0","base":{"id":"cwtt","version":"2.0.0"}}`,
		`"domain_services":{"protection":"social_development"}`,
		`"sdq.emotional":{"score":0,"band":"normal","computed":true,"prorated":true,"missing":2}`,
		`"sdq.peer":{"score":0,"band":"normal","computed":true,"prorated":false}`,
		`"flags":["protection.disclosure"]`,
		`"protection":"high"`,
		`"protection":"red flag protection.disclosure: The child disclosed harm (to the fieldworker or the teacher)"`,
		`"hfa":{"indicator":"hfa","z":0,"computed":true,"flagged":false}`,
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("JSON lacks %s\n%s", want, data)
		}
	}
	// No flags is an empty list, not null; no suggestion and nothing
	// declined leave those keys out.
	r = score(t, moutse, boy, fineAnswers(), nil)
	data, _ = json.Marshal(r)
	if !strings.Contains(string(data), `"flags":[]`) || strings.Contains(string(data), "warnings") ||
		strings.Contains(string(data), "domain_services") || strings.Contains(string(data), "declined") {
		t.Errorf("JSON = %s", data)
	}
	// The reason and the suggested service of each domain sit side by side
	// under domain_reasons and domain_services; a declined item is listed.
	r = score(t, moutse, boy, with(fineAnswers(), Answers{"csg_received": false, "csg_applied": true, "phq9_9": Declined}), nil)
	data, _ = json.Marshal(r)
	for _, want := range []string{
		`"material":"Child Support Grant applied for but not received (follow up the application with SASSA)"`,
		`"domain_services":{"material":"sassa"}`,
		`"declined":["phq9_9"]`,
		`"flags":["phq9.self_harm_declined"]`,
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("JSON lacks %s\n%s", want, data)
		}
	}
}

func TestRoundHalfUp(t *testing.T) {
	for _, tc := range []struct {
		num, den int64
		want     int64
	}{
		{5, 2, 3}, {3, 2, 2}, {7, 3, 2}, {8, 3, 3}, {-5, 2, -2}, {-7, 3, -2}, {-8, 3, -3}, {4, 1, 4}, {0, 1, 0}, {25, 4, 6}, {15, 2, 8},
	} {
		got := roundHalfUp(big.NewRat(tc.num, tc.den))
		if !got.IsInt() || got.Num().Int64() != tc.want {
			t.Errorf("roundHalfUp(%d/%d) = %v, want %d", tc.num, tc.den, got, tc.want)
		}
	}
}

// meanScale is a mini instrument with a mean scale and continuous bands.
const meanScale = `  - id: mood.mean
    items: [q1, q2]
    method: mean
    prorate: {max_missing: 1}
    bands: [{name: calm, min: 0, max: 1}, {name: tense, min: 1, max: 2}]
domain_rules:`

func TestMeanScale(t *testing.T) {
	in := mustMini(t, strings.Replace(miniBase, "domain_rules:", meanScale, 1))
	for _, tc := range []struct {
		a        Answers
		score    float64
		band     string
		prorated bool
	}{
		{Answers{"q1": 0.0, "q2": 1.0}, 0.5, "calm", false},
		{Answers{"q1": 1.0, "q2": 1.0}, 1, "tense", false}, // the boundary belongs to the upper band
		{Answers{"q1": 2.0, "q2": 2.0}, 2, "tense", false}, // the top is in the last band
		{Answers{"q1": 2.0}, 2, "tense", true},             // mean of the answered item
	} {
		got := score(t, in, boy, tc.a, nil).Scales["mood.mean"]
		if !got.Computed || got.Score != tc.score || got.Band != tc.band || got.Prorated != tc.prorated {
			t.Errorf("%v: %+v, want %v %s prorated=%v", tc.a, got, tc.score, tc.band, tc.prorated)
		}
	}
	// Continuous bands must share their boundaries.
	text := strings.Replace(miniBase, "domain_rules:", strings.Replace(meanScale, "{name: tense, min: 1,", "{name: tense, min: 1.5,", 1), 1)
	if got := problemsOf(t, text); len(got) != 1 || !strings.Contains(got[0], `bands leave a gap between "calm" (max 1) and "tense" (min 1.5)`) {
		t.Errorf("problems = %v", got)
	}
}

// TestChildVariables checks child.age_months, child.sex and assessed_on as
// rules see them, including when they are unknown.
func TestChildVariables(t *testing.T) {
	text := strings.Replace(miniBase, `    - {level: moderate, when: "answers.?kg.orValue(99.0) < 10.0", reason: Light}`,
		`    - {level: high, when: "child.age_months >= 77.79 && child.sex == 'female'", reason: Girl of 6½}
    - {level: moderate, when: "assessed_on > timestamp('2020-01-01T00:00:00Z')", reason: Recent}`, 1)
	in := mustMini(t, text)
	a := Answers{"kg": 20.0}
	for _, tc := range []struct {
		name string
		s    Subject
		want string
	}{
		// 2014-05-10 to 2020-11-02: 2368 days / 30.4375 = 77.799 months; a day less is 77.766.
		{"girl 77.799 months", Subject{Sex: SexFemale, DOB: dob, AssessedOn: assessedOn}, LevelHigh},
		{"girl a day younger", Subject{Sex: SexFemale, DOB: dob, AssessedOn: assessedOn.AddDate(0, 0, -1)}, LevelModerate},
		{"boy", Subject{Sex: SexMale, DOB: dob, AssessedOn: assessedOn}, LevelModerate},
		{"age unknown", Subject{Sex: SexFemale, AssessedOn: assessedOn}, LevelModerate},
		{"nothing known", Subject{}, LevelLow},
		{"assessed in 2019", Subject{AssessedOn: time.Date(2019, 6, 1, 0, 0, 0, 0, time.UTC)}, LevelLow},
	} {
		r := score(t, in, tc.s, a, nil)
		if r.Domains["body"] != tc.want {
			t.Errorf("%s: body = %s (%s), want %s", tc.name, r.Domains["body"], r.DomainReasons["body"], tc.want)
		}
	}
}

// TestCostLimit: an expression that is too expensive fails at evaluation
// and is reported as a warning, not a panic or a silent match.
func TestCostLimit(t *testing.T) {
	text := strings.Replace(miniBase, `when: "answers.?kg.orValue(99.0) < 10.0"`,
		`when: "[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, a+b+c+d > 0))))"`, 1)
	in := mustMini(t, text)
	r, err := in.Score(boy, Answers{"kg": 20.0}, normalGrowth())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "domain_rules.body[0]") || !strings.Contains(r.Warnings[0], "cost") {
		t.Errorf("warnings = %v", r.Warnings)
	}
	if r.Domains["body"] != LevelLow {
		t.Errorf("body = %s", r.Domains["body"])
	}
}

// TestScoreIsDeterministic scores the same answers many times concurrently.
func TestScoreIsDeterministic(t *testing.T) {
	in := cwtt(t)
	a := with(fineAnswers(), Answers{"sdq03": 2.0, "sdq08": nil, "phq9_9": 1.0, "hunger_bed": 2.0})
	want, err := in.Score(boy, a, normalGrowth())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *Result)
	for i := 0; i < 8; i++ {
		go func() {
			r, _ := in.Score(boy, a, normalGrowth())
			done <- r
		}()
	}
	for i := 0; i < 8; i++ {
		if got := <-done; !reflect.DeepEqual(got, want) {
			t.Errorf("run %d differs", i)
		}
	}
}
