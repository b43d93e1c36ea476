package instrument

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/khula-cop/khula/instruments"
)

// miniBase is a small, valid base instrument; tests break it line by line.
// Line numbers matter: the expectations below name them.
const miniBase = `id: mini
version: 1.2.0
title: Mini
languages: [en, zu]
respondents: [caregiver, nurse]
domains:
  - {id: mood, label: {en: Mood}}
  - {id: body, label: {en: Body}}
parameters:
  cut: 3
choice_sets:
  three:
    - {value: 0, label: {en: Never}}
    - {value: 1, label: {en: Sometimes}}
    - {value: 2, label: {en: Often}}
items:
  - {id: q1, respondent: caregiver, domain: mood, type: choice, choices: three, label: {en: Q1}}
  - {id: q2, respondent: caregiver, domain: mood, type: choice, choices: three, label: {en: Q2}}
  - {id: sad, respondent: caregiver, domain: mood, type: yesno, label: {en: Sad}}
  - {id: why, respondent: caregiver, domain: mood, type: choice, choices: [{value: a, label: {en: A}}, {value: b, label: {en: B}}], show_if: "answers.?sad.orValue(false)", label: {en: Why}}
  - {id: kg, respondent: nurse, domain: body, type: measurement, unit: kg, min: 1, max: 50, label: {en: Weight}}
scales:
  - id: mood.sum
    items: [q1, q2]
    bands: [{name: low, min: 0, max: 1}, {name: high, min: 2, max: 4}]
domain_rules:
  mood:
    - {level: high, when: "scales['mood.sum'].band == 'high' && scales['mood.sum'].score > params.cut", reason: Mood very high}
    - {level: moderate, when: "scales['mood.sum'].band == 'high'", reason: Mood high}
    - {level: low, when: "true", reason: Mood fine}
  body:
    - {level: moderate, when: "answers.?kg.orValue(99.0) < 10.0", reason: Light}
red_flags:
  - {code: mood.sad, domain: mood, when: "answers.?sad.orValue(false) && answers.?why.orValue('') == 'b'", reason: Sad for reason b, service_type: counselling}
`

// mustMini loads a base instrument given as text.
func mustMini(t *testing.T, text string) *Instrument {
	t.Helper()
	in, err := Load(fstest.MapFS{"mini.yaml": {Data: []byte(text)}}, "mini.yaml", nil)
	if err != nil {
		t.Fatalf("loading mini: %v", err)
	}
	return in
}

func TestMiniLoads(t *testing.T) {
	in := mustMini(t, miniBase)
	if got := in.Ref(); got.ID != "mini" || got.Version != "1.2.0" || got.Base != nil {
		t.Errorf("ref = %+v", got)
	}
	if _, err := Parse("mini.yaml", []byte(miniBase)); err != nil {
		t.Errorf("Parse: %v", err)
	}
}

// problemsOf loads text as mini.yaml and returns the problems as strings.
func problemsOf(t *testing.T, text string) []string {
	t.Helper()
	_, err := Load(fstest.MapFS{"mini.yaml": {Data: []byte(text)}}, "mini.yaml", nil)
	if err == nil {
		t.Fatal("loaded without error")
	}
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("error %T is not a *LoadError: %v", err, err)
	}
	var out []string
	for _, p := range le.Problems {
		out = append(out, p.String())
	}
	return out
}

// TestMalformedInstrument breaks the mini instrument one way at a time and
// checks that the problem is reported at the right file and line.
func TestMalformedInstrument(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		want     string // "mini.yaml:LINE: substring"
	}{
		{"unknown key", "title: Mini", "title: Mini\ncolour: blue", `mini.yaml:4: unknown key "colour"`},
		{"unknown key in item", "label: {en: Q2}}", "label: {en: Q2}, colour: red}", `mini.yaml:18: items[1]: unknown key "colour"`},
		{"wrong type", "min: 1, max: 50", "min: one, max: 50", "mini.yaml:21: items[4].min: wrong type: got string, want number"},
		{"bad enum", "type: yesno", "type: boolean", "mini.yaml:19: items[2].type: must be one of choice, number, yesno, date, measurement"},
		{"missing key", "{id: kg, respondent: nurse, ", "{id: kg, ", `mini.yaml:21: items[4]: missing required key "respondent"`},
		{"missing choices", "type: choice, choices: three, label: {en: Q2}", "type: choice, label: {en: Q2}", `mini.yaml:18: items[1]: missing required key "choices"`},
		{"duplicate key", "title: Mini", "title: Mini\ntitle: Maxi", `mini.yaml:4: key "title" is defined twice`},
		{"yaml syntax", "title: Mini", "title: [Mini", "mini.yaml:3:"},
		{"bad CEL syntax", `"answers.?kg.orValue(99.0) < 10.0"`, `"answers.?kg.orValue(99.0) < < 10.0"`, "mini.yaml:32: domain_rules.body[0] (moderate): CEL error at column"},
		{"bad CEL type", `"answers.?kg.orValue(99.0) < 10.0"`, `"answers.kg == 'heavy'"`, "mini.yaml:32: domain_rules.body[0] (moderate): CEL error at column 12: found no matching overload for '_==_'"},
		{"unknown item in rule", `"answers.?kg.orValue(99.0) < 10.0"`, `"answers.weight < 10.0"`, "mini.yaml:32: domain_rules.body[0] (moderate): CEL error at column 8: undefined field 'weight'"},
		{"unknown parameter", "score > params.cut", "score > params.cutoff", "mini.yaml:28: domain_rules.mood[0] (high): CEL error"},
		{"not a bool", `"answers.?kg.orValue(99.0) < 10.0"`, `"answers.?kg.orValue(99.0)"`, "mini.yaml:32: domain_rules.body[0] (moderate): condition must be a bool, but it is double"},
		{"unknown scale in rule", "band == 'high'\", reason: Mood high", "band == 'high' && scales['mood.total'].computed\", reason: Mood high", `mini.yaml:29: domain_rules.mood[1] (moderate): unknown scale "mood.total"`},
		{"unknown band in rule", "band == 'high'\", reason: Mood high", "band == 'hihg'\", reason: Mood high", `mini.yaml:29: domain_rules.mood[1] (moderate): scale "mood.sum" has no band "hihg" (bands: low, high)`},
		{"band gap", "{name: high, min: 2, max: 4}", "{name: high, min: 3, max: 4}", `mini.yaml:25: scale "mood.sum": bands leave a gap between "low" (max 1) and "high" (min 3)`},
		{"band overlap", "{name: high, min: 2, max: 4}", "{name: high, min: 1, max: 4}", `mini.yaml:25: scale "mood.sum": bands "low" (max 1) and "high" (min 1) overlap`},
		{"band short of range", "{name: high, min: 2, max: 4}", "{name: high, min: 2, max: 3}", `mini.yaml:25: scale "mood.sum": bands leave a gap: scores above 3 (band "high") up to 4 are in no band`},
		{"band beyond range", "{name: high, min: 2, max: 4}", "{name: high, min: 2, max: 5}", `mini.yaml:25: scale "mood.sum": band "high" ends at 5, above the highest possible score 4`},
		{"duplicate item", "{id: q2, respondent", "{id: q1, respondent", `mini.yaml:18: duplicate item id "q1" (first defined at line 17)`},
		{"scale unknown item", "items: [q1, q2]", "items: [q1, q3]", `mini.yaml:23: scale "mood.sum": unknown item "q3"`},
		{"scale non-numeric item", "items: [q1, q2]", "items: [q1, sad]", `mini.yaml:23: scale "mood.sum": item "sad" is not numeric (a yesno item)`},
		{"reverse not in scale", "items: [q1, q2]", "items: [q1, q2]\n    reverse: [kg]", `mini.yaml:23: scale "mood.sum": reverse names "kg", which is not one of its items`},
		{"show_if later item", `show_if: "answers.?sad.orValue(false)"`, `show_if: "answers.?sad.orValue(false) && !has(answers.kg)"`, `mini.yaml:20: item why show_if: refers to "kg", which comes later`},
		{"show_if other respondent", "{id: kg, respondent: nurse", "{id: kg, respondent: nurse, show_if: \"answers.q1 > 0\"", `mini.yaml:21: item kg show_if: refers to "q1", answered by the caregiver`},
		{"show_if unknown item", `show_if: "answers.?sad.orValue(false)"`, `show_if: "answers.?happy.orValue(false)"`, "mini.yaml:20: item why show_if: CEL error at column 8: undefined field 'happy'"},
		{"show_if sees no scales", `show_if: "answers.?sad.orValue(false)"`, `show_if: "scales['mood.sum'].computed"`, "mini.yaml:20: item why show_if: CEL error at column 1: undeclared reference to 'scales'"},
		{"domain without rules", "  body:\n    - {level: moderate, when: \"answers.?kg.orValue(99.0) < 10.0\", reason: Light}\n", "", `mini.yaml:8: domain "body" has no rules`},
		{"rules for unknown domain", "  body:\n", "  bod:\n", `mini.yaml:31: domain_rules: unknown domain "bod"`},
		{"rule order", "{level: low, when: \"true\", reason: Mood fine}", "{level: low, when: \"true\", reason: Mood fine}\n    - {level: high, when: \"false\", reason: Late}", "mini.yaml:31: domain_rules.mood[3]: a high rule must come before the low rules"},
		{"unknown respondent", "{id: kg, respondent: nurse", "{id: kg, respondent: doctor", `mini.yaml:21: item "kg": unknown respondent "doctor"`},
		{"unknown domain", "{id: kg, respondent: nurse, domain: body", "{id: kg, respondent: nurse, domain: bones", `mini.yaml:21: item "kg": unknown domain "bones"`},
		{"unknown choice set", "choices: three, label: {en: Q2}", "choices: four, label: {en: Q2}", `mini.yaml:18: item "q2": unknown choice set "four"`},
		{"choices on yesno", "type: yesno, label", "type: yesno, choices: three, label", `mini.yaml:19: item "sad": choices are only for choice items`},
		{"min above max", "min: 1, max: 50", "min: 51, max: 50", `mini.yaml:21: item "kg": min 51 is greater than max 50`},
		{"no default label", "label: {en: Q1}", "label: {zu: Q1}", `mini.yaml:17: item "q1" has no label in the default language "en"`},
		{"label in other language", "label: {en: Q1}", "label: {en: Q1, nso: Q1}", `mini.yaml:17: item q1 label: language "nso" is not one of the instrument's languages (en, zu)`},
		{"mixed choices", "{value: 2, label: {en: Often}}", "{value: often, label: {en: Often}}", "mini.yaml:13: choice set three: values must all be numbers or all be codes"},
		{"duplicate choice", "{value: 2, label: {en: Often}}", "{value: 1, label: {en: Often}}", "mini.yaml:13: choice set three: value 1 is listed twice"},
		{"reserved id", "{id: sad,", "{id: in,", `mini.yaml:19: item "in": the id is a reserved word in CEL`},
		{"bad version", "version: 1.2.0", "version: 1.2", "mini.yaml:2: version:"},
		{"variant-only key", "title: Mini", "title: Mini\nlabels: {items: {q1: {zu: Umbuzo}}}", `mini.yaml:4: key "labels" is only allowed in a variant`},
		{"duplicate red flag", "red_flags:\n", "red_flags:\n  - {code: mood.sad, domain: mood, when: \"false\", reason: Again}\n", `mini.yaml:35: duplicate red flag code "mood.sad" (first defined at line 34)`},
		{"red flag unknown domain", "{code: mood.sad, domain: mood", "{code: mood.sad, domain: soul", `mini.yaml:34: red flag "mood.sad": unknown domain "soul"`},
		{"red flag without a route", ", service_type: counselling}", "}", `mini.yaml:34: red_flags[0]: missing required key "service_type" (the site service type the flag's urgent referral goes to`},
		{"red flag not notify-only", ", service_type: counselling}", ", notify_only: false}", `mini.yaml:34: red_flags[0]: missing required key "service_type"`},
		{"notify-only flag with a route", ", service_type: counselling}", ", service_type: counselling, notify_only: true}", `mini.yaml:34: red_flags[0]: a notify_only flag makes no referral: remove service_type`},
		{"red flag service type not a name", "service_type: counselling}", "service_type: Counselling}", `mini.yaml:34: red_flags[0].service_type: "Counselling" is not a valid name here`},
		{"rule service type not a name", "reason: Light}", "reason: Light, service_type: food relief}", `mini.yaml:32: domain_rules.body[0].service_type: "food relief" is not a valid name here`},
		{"re-routing in a base", "red_flags:\n", "red_flag_services: {mood.sad: outreach}\nred_flags:\n", `mini.yaml:33: key "red_flag_services" is only allowed in a variant`},
		{"declinable with a declined choice", "{id: why, respondent: caregiver, domain: mood, type: choice, choices: [{value: a, label: {en: A}}, {value: b",
			"{id: why, respondent: caregiver, domain: mood, type: choice, declinable: true, choices: [{value: a, label: {en: A}}, {value: declined", `mini.yaml:20: item "why": a declinable item cannot also have a choice "declined"`},
		{"declined of an item not declinable", `"answers.?kg.orValue(99.0) < 10.0"`, `"declined.kg"`, "mini.yaml:32: domain_rules.body[0] (moderate): CEL error at column 9: undefined field 'kg'"},
		{"prorate too lenient", "items: [q1, q2]", "items: [q1, q2]\n    prorate: {max_missing: 2}", `mini.yaml:23: scale "mood.sum": prorate.max_missing must be less than its 2 items`},
		{"sum_of unknown", "domain_rules:", "  - {id: mood.all, sum_of: [mood.sum, mood.other]}\ndomain_rules:", `mini.yaml:26: scale "mood.all": sum_of names "mood.other", which is not a scale defined before it`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(miniBase, tc.old) {
				t.Fatalf("mutation %q not found in miniBase", tc.old)
			}
			text := strings.Replace(miniBase, tc.old, tc.new, 1)
			got := problemsOf(t, text)
			for _, p := range got {
				if strings.Contains(p, tc.want) {
					return
				}
			}
			t.Errorf("no problem contains %q; got:\n%s", tc.want, strings.Join(got, "\n"))
		})
	}
}

// TestAllProblemsListed breaks the instrument in four ways at once and
// checks that all four are reported, in line order, with nothing else.
func TestAllProblemsListed(t *testing.T) {
	text := miniBase
	for _, m := range [][2]string{
		{"title: Mini", "title: Mini\ncolour: blue"}, // line 4: unknown key
		{"  - {id: sad,", "  - {id: q1, respondent: caregiver, domain: mood, type: yesno, label: {en: Again}}\n  - {id: sad,"}, // line 20: duplicate item
		{"{name: high, min: 2, max: 4}", "{name: high, min: 3, max: 4}"},                                                       // line 27: band gap
		{`"answers.?kg.orValue(99.0) < 10.0"`, `"answers.?kg.orValue(99.0) < 'light'"`},                                        // line 34: bad CEL
	} {
		text = strings.Replace(text, m[0], m[1], 1)
	}
	got := problemsOf(t, text)
	want := []string{
		`mini.yaml:4: unknown key "colour"`,
		`mini.yaml:20: duplicate item id "q1" (first defined at line 18)`,
		`mini.yaml:27: scale "mood.sum": bands leave a gap between "low" (max 1) and "high" (min 3)`,
		`mini.yaml:34: domain_rules.body[0] (moderate): CEL error at column 27: found no matching overload for '_<_' applied to '(double, string)'`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
	// Parse reports the same for a base.
	_, err := Parse("mini.yaml", []byte(text))
	var le *LoadError
	if !errors.As(err, &le) || len(le.Problems) != len(want) {
		t.Errorf("Parse: %v", err)
	}
	if !strings.Contains(err.Error(), "(4 problems)") {
		t.Errorf("error text: %v", err)
	}
}

// TestBlockScalarLines checks that a CEL error in a multi-line expression is
// reported on the line it is on.
func TestBlockScalarLines(t *testing.T) {
	text := strings.Replace(miniBase, `    - {level: moderate, when: "answers.?kg.orValue(99.0) < 10.0", reason: Light}`,
		"    - level: moderate\n      when: |\n        has(answers.kg) &&\n        answers.kg < 'ten'\n      reason: Light", 1)
	got := problemsOf(t, text)
	// The rule starts on line 32, when: is on 33, its text on 34 and 35; the error is on 35.
	if len(got) != 1 || !strings.HasPrefix(got[0], "mini.yaml:35: domain_rules.body[0] (moderate): CEL error") {
		t.Errorf("problems = %q", got)
	}
}

func TestLoadReadErrors(t *testing.T) {
	if _, err := Load(fstest.MapFS{}, "nowhere.yaml", nil); err == nil {
		t.Error("missing file: no error")
	}
	got := problemsOf(t, "")
	if len(got) != 1 || got[0] != "mini.yaml:1: empty instrument definition" {
		t.Errorf("empty file: %q", got)
	}
	got = problemsOf(t, "- a\n- b\n")
	if len(got) == 0 || !strings.Contains(got[0], "wrong type: got array, want object") {
		t.Errorf("list: %q", got)
	}
}

func TestSchemaIsDraft2020(t *testing.T) {
	if _, err := compiledSchema(); err != nil {
		t.Fatal(err)
	}
	data, err := instruments.FS.ReadFile(instruments.SchemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"$schema": "https://json-schema.org/draft/2020-12/schema"`) {
		t.Error("schema does not declare draft 2020-12")
	}
}
