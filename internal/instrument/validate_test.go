package instrument

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// codes returns "item:code" for each field error of err.
func codes(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %T is not a *ValidationError: %v", err, err)
	}
	out := make([]string, 0, len(ve.Errors))
	for _, fe := range ve.Errors {
		out = append(out, fe.Item+":"+fe.Code)
	}
	return out
}

func TestValidateFineForms(t *testing.T) {
	in := cwtt(t)
	for _, r := range in.Respondents() {
		if err := in.Validate(r, only(in, fineAnswers(), r)); err != nil {
			t.Errorf("%s: %v", r, err)
		}
	}
	if err := in.ValidateAll(fineAnswers(), nil); err != nil {
		t.Errorf("ValidateAll: %v", err)
	}
	if err := in.ValidateAll(fineAnswers(), in.Respondents()); err != nil {
		t.Errorf("ValidateAll with respondents: %v", err)
	}
}

// TestValidateCodes produces each error code on its own.
func TestValidateCodes(t *testing.T) {
	in := cwtt(t)
	nurse := only(in, fineAnswers(), "nurse")
	caregiver := only(in, fineAnswers(), "caregiver")
	tests := []struct {
		name       string
		respondent string
		answers    Answers
		want       []string
	}{
		{"unknown item", "nurse", with(nurse, Answers{"blood_group": "O"}), []string{"blood_group:unknown_item"}},
		{"wrong respondent", "nurse", with(nurse, Answers{"sdq01": 1.0}), []string{"sdq01:wrong_respondent"}},
		{"choice given a string", "caregiver", with(caregiver, Answers{"sdq01": "1"}), []string{"sdq01:wrong_type"}},
		{"code given a number", "nurse", with(nurse, Answers{"vision": 1.0}), []string{"vision:wrong_type"}},
		{"yesno given a string", "nurse", with(nurse, Answers{"oedema": "no"}), []string{"oedema:wrong_type"}},
		{"number given a bool", "nurse", with(nurse, Answers{"weight_kg": true}), []string{"weight_kg:wrong_type"}},
		{"date given a number", "nurse", with(nurse, Answers{"rthb_last_visit": 20200601.0}), []string{"rthb_last_visit:wrong_type"}},
		{"fractional days", "teacher", with(only(in, fineAnswers(), "teacher"), Answers{"edu_days_absent": 2.5}), []string{"edu_days_absent:wrong_type"}},
		{"invalid choice", "caregiver", with(caregiver, Answers{"sdq01": 3.0}), []string{"sdq01:invalid_choice"}},
		{"invalid code", "nurse", with(nurse, Answers{"dental": "bad"}), []string{"dental:invalid_choice"}},
		{"below range", "nurse", with(nurse, Answers{"weight_kg": 4.9}), []string{"weight_kg:out_of_range"}},
		{"above range", "nurse", with(nurse, Answers{"height_cm": 180.5}), []string{"height_cm:out_of_range"}},
		{"required", "nurse", with(nurse, Answers{"weight_kg": nil}), []string{"weight_kg:required"}},
		{"required when shown", "nurse", with(nurse, Answers{"chronic_illness": true}), []string{"chronic_treated:required"}},
		{"not required when skipped", "nurse", with(nurse, Answers{"chronic_illness": false}), nil},
		{"skipped item answered", "nurse", with(nurse, Answers{"chronic_illness": false, "chronic_treated": true}), []string{"chronic_treated:skipped_item_answered"}},
		{"skipped when trigger unanswered", "nurse", with(nurse, Answers{"rthb_seen": nil}), []string{"rthb_seen:required", "imm_up_to_date:skipped_item_answered", "rthb_last_visit:skipped_item_answered"}},
		{"invalid date", "nurse", with(nurse, Answers{"rthb_last_visit": "2020-02-30"}), []string{"rthb_last_visit:invalid_date"}},
		{"date out of range", "nurse", with(nurse, Answers{"rthb_last_visit": "0001-01-01"}), []string{"rthb_last_visit:invalid_date"}},
		{"date in another format", "nurse", with(nurse, Answers{"rthb_last_visit": "01/06/2020"}), []string{"rthb_last_visit:invalid_date"}},
		{"null is unanswered", "caregiver", with(caregiver, Answers{"cg_support": nil}), nil},
		{"NaN", "nurse", with(nurse, Answers{"weight_kg": nan()}), []string{"weight_kg:wrong_type"}},
		{"Go ints accepted", "caregiver", with(caregiver, Answers{"sdq01": 2, "phq9_1": int64(1)}), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := codes(t, in.Validate(tc.respondent, tc.answers))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestValidateListsEveryError breaks a caregiver form in many ways at once.
func TestValidateListsEveryError(t *testing.T) {
	in := cwtt(t)
	a := with(only(in, fineAnswers(), "caregiver"), Answers{
		"favourite_colour": "blue",                 // unknown
		"zz_unknown":       1.0,                    // unknown
		"sdq02":            "often",                // wrong type
		"sdq03":            7.0,                    // invalid choice
		"hunger_bed":       nil,                    // required
		"csg_received":     true,                   // so csg_applied is skipped ...
		"csg_applied":      false,                  // ... but answered
		"phq9_9":           nil,                    // required
		"cg_coping":        "fine",                 // invalid code
		"cyrm01":           3.0,                    // the child's item
		"weight_kg":        500.0,                  // the nurse's item (range not checked: wrong respondent)
		"rthb_last_visit":  "not a date",           // the nurse's item
		"shelter":          map[string]any{"x": 1}, // wrong type
	})
	want := []string{
		"favourite_colour:unknown_item", "zz_unknown:unknown_item",
		"sdq02:wrong_type", "sdq03:invalid_choice",
		"hunger_bed:required", "csg_applied:skipped_item_answered", "shelter:wrong_type",
		"phq9_9:required", "cg_coping:invalid_choice",
		"cyrm01:wrong_respondent", "weight_kg:wrong_respondent", "rthb_last_visit:wrong_respondent",
	}
	if got := codes(t, in.Validate("caregiver", a)); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

// TestValidateMessagesDoNotEchoAnswers: answers may be free text about a
// child; messages name the item and the rule only.
func TestValidateMessagesDoNotEchoAnswers(t *testing.T) {
	in := cwtt(t)
	secret := "Thandi told me her uncle"
	a := Answers{"weight_kg": secret, "vision": secret, "rthb_last_visit": secret, "oedema": secret, "sdq01": secret}
	for _, r := range []string{"nurse", "caregiver"} {
		err := in.Validate(r, a)
		if err == nil || strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "uncle") {
			t.Errorf("%s: %v", r, err)
		}
		var ve *ValidationError
		errors.As(err, &ve)
		for _, fe := range ve.Errors {
			if !strings.Contains(fe.Message, fe.Item) && fe.Code != CodeUnknownItem {
				t.Errorf("message %q does not name item %s", fe.Message, fe.Item)
			}
		}
	}
	err := in.Validate("nurse", Answers{"weight_kg": 100.0})
	if !strings.Contains(err.Error(), "weight_kg must be from 5 to 80 kg") {
		t.Errorf("range message: %v", err)
	}
}

func TestValidateAll(t *testing.T) {
	in := cwtt(t)
	// Inferred respondents: only the nurse answered, so only the nurse's
	// required items count.
	nurse := only(in, fineAnswers(), "nurse")
	if err := in.ValidateAll(nurse, nil); err != nil {
		t.Errorf("nurse only, inferred: %v", err)
	}
	// Named respondents: the teacher's required items are missing and the
	// nurse's answers do not belong.
	got := codes(t, in.ValidateAll(nurse, []string{"teacher"}))
	want := []string{"edu_number:required", "edu_reading:required"}
	for _, id := range []string{"weight_kg", "height_cm", "oedema", "rthb_seen", "imm_up_to_date", "rthb_last_visit",
		"chronic_illness", "vision", "hearing", "speech", "dental", "nurse_injury", "nurse_neglect"} {
		want = append(want, id+":wrong_respondent")
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	if err := in.ValidateAll(nurse, []string{"doctor"}); !errors.Is(err, ErrUnknownRespondent) {
		t.Errorf("unknown respondent: %v", err)
	}
	if err := in.Validate("doctor", nurse); !errors.Is(err, ErrUnknownRespondent) {
		t.Errorf("Validate unknown respondent: %v", err)
	}
}

func TestShown(t *testing.T) {
	in := cwtt(t)
	tests := []struct {
		item string
		a    Answers
		want bool
	}{
		{"weight_kg", nil, true}, // no show_if
		{"chronic_treated", Answers{"chronic_illness": true}, true},
		{"chronic_treated", Answers{"chronic_illness": false}, false},
		{"chronic_treated", Answers{}, false},                         // trigger unanswered
		{"chronic_treated", Answers{"chronic_illness": "yes"}, false}, // invalid trigger counts as unanswered
		{"csg_applied", Answers{"csg_received": false}, true},
		{"csg_applied", Answers{"csg_received": true}, false},
	}
	for _, tc := range tests {
		got, err := in.Shown(tc.item, tc.a)
		if err != nil || got != tc.want {
			t.Errorf("Shown(%s, %v) = %v, %v; want %v", tc.item, tc.a, got, err, tc.want)
		}
	}
	if _, err := in.Shown("nope", nil); !errors.Is(err, ErrUnknownItem) {
		t.Errorf("unknown item: %v", err)
	}
}

// TestShownChains: an item skipped because of an earlier skip stays hidden
// even if its own trigger is answered (the answer to a skipped item is ignored).
func TestShownChains(t *testing.T) {
	text := strings.Replace(miniBase,
		"  - {id: kg,",
		"  - {id: detail, respondent: caregiver, domain: mood, type: yesno, show_if: \"answers.?why.orValue('') == 'b'\", label: {en: Detail}}\n  - {id: kg,", 1)
	in := mustMini(t, text)
	for _, tc := range []struct {
		a    Answers
		want bool
	}{
		{Answers{"sad": true, "why": "b"}, true},
		{Answers{"sad": true, "why": "a"}, false},
		{Answers{"sad": false, "why": "b"}, false}, // why is skipped, so its answer does not count
	} {
		got, err := in.Shown("detail", tc.a)
		if err != nil || got != tc.want {
			t.Errorf("Shown(detail, %v) = %v, %v; want %v", tc.a, got, err, tc.want)
		}
	}
	got := codes(t, in.Validate("caregiver", Answers{"sad": false, "why": "b", "detail": true}))
	if want := []string{"why:skipped_item_answered", "detail:skipped_item_answered"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestScoreRejectsInvalidAnswers(t *testing.T) {
	in := cwtt(t)
	_, err := in.Score(boy, with(fineAnswers(), Answers{"sdq01": 5.0, "nope": 1.0}), normalGrowth())
	if got := codes(t, err); !reflect.DeepEqual(got, []string{"nope:unknown_item", "sdq01:invalid_choice"}) {
		t.Errorf("codes = %v (%v)", got, err)
	}
	if !strings.Contains(err.Error(), "scoring with cwtt@2.0.0") {
		t.Errorf("error lacks context: %v", err)
	}
	// Missing required answers do not stop scoring.
	if _, err := in.Score(boy, with(fineAnswers(), Answers{"weight_kg": nil, "phq9_1": nil}), normalGrowth()); err != nil {
		t.Errorf("missing required answers: %v", err)
	}
}

func TestItemsFor(t *testing.T) {
	in := cwtt(t)
	counts := map[string]int{}
	total := 0
	for _, r := range in.Respondents() {
		items := in.ItemsFor(r)
		counts[r] = len(items)
		total += len(items)
		for _, it := range items {
			if it.Respondent != r {
				t.Errorf("%s listed for %s", it.ID, r)
			}
			if it.Type == TypeChoice && len(it.Choices) < 2 {
				t.Errorf("%s: choices not resolved: %v", it.ID, it.Choices)
			}
			if (it.Type == TypeNumber || it.Type == TypeMeasurement) && (it.Min == nil || it.Max == nil) {
				t.Errorf("%s: no range", it.ID)
			}
		}
	}
	if total != len(in.Items()) {
		t.Errorf("respondents' items %v add up to %d, instrument has %d", counts, total, len(in.Items()))
	}
	if counts["child"] != 20 || counts["nurse"] != 14 {
		t.Errorf("counts = %v", counts)
	}
	it, ok := in.Item("sdq07")
	if !ok || it.ChoiceSet != "sdq" || len(it.Choices) != 3 || it.Label.In("zu", "en") != "SDQ item 7 (conduct, reverse-scored)" {
		t.Errorf("sdq07 = %+v", it)
	}
	// Callers get copies: changing them does not change the instrument.
	it.Choices[0].Value = 99.0
	if again, _ := in.Item("sdq07"); again.Choices[0].Value != 0.0 {
		t.Error("Item returned shared choices")
	}
	if in.Label("sdq07", "zu") != "SDQ item 7 (conduct, reverse-scored)" || in.Label("nope", "en") != "" {
		t.Error("Label fallback")
	}
	if got := in.Domains(); len(got) != 7 || got[0].ID != "health" || got[6].ID != "caregiver" {
		t.Errorf("domains = %v", got)
	}
	if len(in.MissingLabels("en")) != 0 {
		t.Errorf("missing English labels: %v", in.MissingLabels("en"))
	}
	if len(in.MissingLabels("zu")) == 0 {
		t.Error("expected isiZulu labels to be missing (fallback to English)")
	}
}

func TestValidateDomains(t *testing.T) {
	in := cwtt(t)
	// The nurse answers only the health items at a reassessment of health:
	// the nutrition items (weight, height) are not required then.
	health := Answers{"rthb_seen": false, "chronic_illness": false}
	tests := []struct {
		name    string
		domains []string
		answers Answers
		want    []string // codes:items of the errors left
	}{
		{"every domain asked", nil, health, []string{"required:weight_kg", "required:height_cm"}},
		{"health only", []string{"health"}, health, nil},
		{"health only, a health item missing", []string{"health"}, Answers{"rthb_seen": false}, []string{"required:chronic_illness"}},
		{"other errors stay", []string{"health"}, Answers{"rthb_seen": false, "chronic_illness": false, "weight_kg": 500.0}, []string{"out_of_range:weight_kg"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := in.ValidateDomains("nurse", tt.answers, tt.domains)
			var got []string
			if ve, ok := err.(*ValidationError); ok {
				for _, fe := range ve.Errors {
					got = append(got, fe.Code+":"+fe.Item)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("errors %v, want %v", got, tt.want)
			}
		})
	}
}

func TestItemsAskedKeepSafeguardingItems(t *testing.T) {
	in := cwtt(t)
	ids := func(items []Item) []string {
		var out []string
		for _, it := range items {
			id := it.ID
			if it.Required {
				id += "*"
			}
			out = append(out, id)
		}
		return out
	}
	// A teacher reassessing education still answers the protection items
	// red flags read (signs of abuse, disclosure), not required there.
	got := ids(in.ItemsAsked("teacher", []string{"education"}))
	want := []string{"edu_number*", "edu_reading*", "edu_days_absent", "edu_support", "teacher_signs", "teacher_disclosure"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("teacher asked %v, want %v", got, want)
	}
	// A nurse reassessing health keeps the growth measurements (severe
	// thinness is a red flag) and the injury and neglect items.
	got = ids(in.ItemsAsked("nurse", []string{"health"}))
	for _, id := range []string{"weight_kg", "height_cm", "oedema", "nurse_injury", "nurse_neglect", "rthb_seen*"} {
		if !slices.Contains(got, id) {
			t.Errorf("nurse at a health reassessment is not asked %s: %v", id, got)
		}
	}
	if len(in.ItemsAsked("teacher", nil)) != len(in.ItemsFor("teacher")) {
		t.Error("no domains must mean the whole form")
	}
}
