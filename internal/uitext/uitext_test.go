package uitext

import (
	"strings"
	"testing"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
)

func TestMessagesLoad(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(Languages(), " ")
	for _, lang := range []string{"en", "zu", "st", "nso", "nr"} {
		if !strings.Contains(" "+got+" ", " "+lang+" ") {
			t.Errorf("no messages in %s (have %s)", lang, got)
		}
	}
}

func TestT(t *testing.T) {
	tests := []struct {
		lang, id string
		count    []int
		want     string
	}{
		{"en", "form.submit", nil, "Submit the form"},
		{"zu", "form.submit", nil, "Thumela ifomu"},
		{"nso", "form.yes", nil, "Ee"},
		// Plural rules: one and other.
		{"en", "form.errors", []int{1}, "Nothing was recorded: please correct 1 answer"},
		{"en", "form.errors", []int{3}, "Nothing was recorded: please correct 3 answers"},
		{"st", "form.hidden", []int{2}, "Dipotso tse 2 ha di botswe ho latela dikarabo tse fanweng."},
		{"nr", "form.hidden", []int{1}, "Umbuzo o-1 awubuzwa ngokweempendulo ezikhona."},
		{"en", "work.plan", []int{1}, "1 child awaits a plan at the next LLCoP meeting."},
		{"en", "work.plan", []int{0}, "0 children await a plan at the next LLCoP meeting."},
		{"zu", "work.plan", []int{1}, "Ingane e-1 ilinde uhlelo emhlanganweni olandelayo we-LLCoP."},
		{"zu", "work.plan", []int{4}, "Izingane ezingu-4 zilinde uhlelo emhlanganweni olandelayo we-LLCoP."},
		{"nso", "work.plan", []int{2}, "Bana ba 2 ba letetše leano kopanong ye e latelago ya LLCoP."},
		{"zu", "work.title", nil, "Umsebenzi wanamuhla"},
		// A language without messages falls back to English, an unknown id to itself.
		{"tn", "form.update", nil, "Update the form"},
		{"en", "no.such.message", nil, "no.such.message"},
	}
	for _, tt := range tests {
		if got := T(tt.lang, tt.id, tt.count...); got != tt.want {
			t.Errorf("T(%s, %s, %v) = %q, want %q", tt.lang, tt.id, tt.count, got, tt.want)
		}
	}
}

func TestData(t *testing.T) {
	if got := Data("en", "work.age", map[string]any{"Years": 7, "Months": 9}); got != "7 y 9 m" {
		t.Errorf("English age = %q", got)
	}
	if got := Data("st", "work.age", map[string]any{"Years": 7, "Months": 9}); got != "dilemo: 7, dikgwedi: 9" {
		t.Errorf("Sesotho age = %q", got)
	}
	if got := Data("zu", "layout.crumb.child", map[string]any{"Child": "ch-1"}); got != "Ingane ch-1" {
		t.Errorf("isiZulu crumb = %q", got)
	}
	if !Has("zu") || !Has("en") || Has("tn") || Has("") {
		t.Error("Has: want zu and en, not tn or the empty language")
	}
}

// TestEveryMessageHasItsPluralForms checks that a message with plural
// forms in English has the forms each language's CLDR rules use (one and
// other for all the languages here), and that a message without plural
// forms in English has none elsewhere.
func TestEveryMessageHasItsPluralForms(t *testing.T) {
	en := rawMessages(t, "en")
	for _, lang := range Languages() {
		msgs := rawMessages(t, lang)
		for id, m := range en {
			got, ok := msgs[id]
			if !ok {
				continue // TestEveryLanguageHasEveryMessage reports it
			}
			_, enPlural := m.(map[string]any)
			forms, plural := got.(map[string]any)
			if enPlural != plural {
				t.Errorf("%s %s: plural forms %v, English %v", lang, id, plural, enPlural)
				continue
			}
			if plural {
				for _, f := range []string{"one", "other"} {
					if s, _ := forms[f].(string); !strings.Contains(s, "{{.Count}}") {
						t.Errorf("%s %s: form %s does not say the count: %q", lang, id, f, s)
					}
				}
			}
		}
	}
}

func rawMessages(t *testing.T, lang string) map[string]any {
	t.Helper()
	data, err := locales.ReadFile("locales/" + lang + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	if err := yaml.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEveryLanguageHasEveryMessage keeps the drafts complete: a message in
// English and missing in another language is reported.
func TestEveryLanguageHasEveryMessage(t *testing.T) {
	en := messageIDs(t, "en")
	for _, lang := range Languages() {
		have := messageIDs(t, lang)
		for id := range en {
			if !have[id] {
				t.Errorf("%s has no %s", lang, id)
			}
		}
	}
}

func messageIDs(t *testing.T, lang string) map[string]bool {
	t.Helper()
	data, err := locales.ReadFile("locales/" + lang + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	mf, err := b.ParseMessageFileBytes(data, lang+".yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range mf.Messages {
		out[m.ID] = true
	}
	return out
}
