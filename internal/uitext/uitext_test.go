package uitext

import (
	"strings"
	"testing"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"gopkg.in/yaml.v3"
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
