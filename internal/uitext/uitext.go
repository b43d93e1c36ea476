// Package uitext holds the web UI's own words in the sites' languages,
// with CLDR plural rules, through go-i18n (github.com/nicksnyder/go-i18n).
// Instrument wording (questions, choices, domains) is the instrument's and
// not here.
//
// The English messages are the source; locales/<lang>.yaml add the other
// languages. A message missing in a language falls back to English, so a
// partial translation never shows an empty string or a message id.
// Translations other than English are drafts for first-language review.
package uitext

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
)

//go:embed locales/*.yaml
var locales embed.FS

var (
	once    sync.Once
	bundle  *i18n.Bundle
	loadErr error
	cache   sync.Map // lang -> *i18n.Localizer
)

func load() {
	bundle = i18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	files, err := fs.Glob(locales, "locales/*.yaml")
	if err != nil {
		loadErr = err
		return
	}
	for _, f := range files {
		data, err := locales.ReadFile(f)
		if err != nil {
			loadErr = err
			return
		}
		if _, err := bundle.ParseMessageFileBytes(data, path.Base(f)); err != nil {
			loadErr = fmt.Errorf("uitext: %s: %w", f, err)
			return
		}
	}
}

// Check loads the embedded messages and reports a broken file (tests and
// start-up call it; T falls back to the id when the files are broken).
func Check() error {
	once.Do(load)
	return loadErr
}

// Languages lists the languages with a message file, English first.
func Languages() []string {
	once.Do(load)
	out := []string{}
	for _, t := range bundle.LanguageTags() {
		out = append(out, t.String())
	}
	return out
}

func localizer(lang string) *i18n.Localizer {
	if l, ok := cache.Load(lang); ok {
		return l.(*i18n.Localizer)
	}
	l := i18n.NewLocalizer(bundle, lang, "en")
	cache.Store(lang, l)
	return l
}

// Has says whether lang has a message file (English always has).
func Has(lang string) bool {
	for _, l := range Languages() {
		if l == lang {
			return true
		}
	}
	return false
}

// T is message id in lang (falling back to English); with a count it
// picks the plural form of lang and fills {{.Count}}.
func T(lang, id string, count ...int) string {
	once.Do(load)
	if loadErr != nil {
		return id
	}
	var data map[string]any
	if len(count) > 0 {
		data = map[string]any{"Count": count[0]}
	}
	return localize(lang, id, data)
}

// Data is message id in lang filled with data (its {{.Name}} fields); a
// "Count" in data picks the plural form.
func Data(lang, id string, data map[string]any) string {
	once.Do(load)
	if loadErr != nil {
		return id
	}
	return localize(lang, id, data)
}

func localize(lang, id string, data map[string]any) string {
	cfg := &i18n.LocalizeConfig{MessageID: id}
	if data != nil {
		cfg.TemplateData = data
		if n, ok := data["Count"]; ok {
			cfg.PluralCount = n
		}
	}
	s, err := localizer(lang).Localize(cfg)
	if err != nil && s == "" {
		return id
	}
	return strings.TrimSpace(s)
}
