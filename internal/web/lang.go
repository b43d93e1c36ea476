package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/uitext"
	"github.com/khula-cop/khula/sites"
)

// The pages' own words follow the user's language: the one chosen in the
// page footer (a cookie), else the default language of the user's first
// site, else English. Only languages with messages (internal/uitext) and
// listed by the user's sites are offered. Pages whose words are not in
// internal/uitext yet keep their main part in English, marked lang="en".

// langCookie holds the language the user chose for the pages.
const langCookie = "khula_lang"

// langMaxAge keeps the choice for a year.
const langMaxAge = 365 * 24 * 60 * 60

const langKey = "khula.web.lang"

// translatedPages are the pages whose main part is drawn in the user's
// language; the others are in English (the layout around them follows
// the language).
var translatedPages = map[string]bool{"login": true, "work": true, "child": true, "error": true, "referrals": true}

// flashIDs are the flashes with messages in internal/uitext; the others
// are shown in English.
var flashIDs = map[string]string{
	"signed-out": "login.signed_out",
	"form":       "flash.form",
	"follow-up":  "flash.follow_up",
	"referral":   "flash.referral",
	"check-in":   "flash.check_in",
	"concern":    "flash.concern",
}

// lang is the language of the request's page: the user's choice if they
// may use it, else their first site's default language, else English.
func (u *UI) lang(c *gin.Context) string {
	if v, ok := c.Get(langKey); ok {
		if s, ok := v.(string); ok {
			return s
		}
	}
	lang := u.pickUILang(c)
	c.Set(langKey, lang)
	return lang
}

func (u *UI) pickUILang(c *gin.Context) string {
	chosen, _ := c.Cookie(langCookie)
	p, signedIn := currentPrincipal(c)
	if !signedIn {
		// The sign-in page: the browser's earlier choice, if it is a
		// language the UI has.
		if chosen != "" && uitext.Has(chosen) {
			return chosen
		}
		return "en"
	}
	offered := u.uiLanguages(p)
	if chosen != "" && slices.Contains(offered, chosen) {
		return chosen
	}
	if ss := u.userSites(p); len(ss) > 0 && len(p.Sites) > 0 {
		if d := ss[0].DefaultLanguage; slices.Contains(offered, d) {
			return d
		}
	}
	return "en"
}

// userSites are the sites a user works at; a user of no site in
// particular (programme managers, ops) sees every site.
func (u *UI) userSites(p auth.Principal) []*sites.Site {
	var out []*sites.Site
	for _, id := range p.Sites {
		if s, ok := u.o.Sites.Site(id); ok {
			out = append(out, s)
		}
	}
	if len(p.Sites) == 0 {
		out = u.o.Sites.Sites()
	}
	return out
}

// uiLanguages are the languages a user may choose: English (the source,
// which every message has) and the languages of their sites that have
// messages, in the order the sites list them.
func (u *UI) uiLanguages(p auth.Principal) []string {
	out := []string{"en"}
	for _, s := range u.userSites(p) {
		for _, l := range s.Languages {
			if !slices.Contains(out, l) && uitext.Has(l) {
				out = append(out, l)
			}
		}
	}
	return out
}

// languageChoice is the footer's language form: the languages offered (nil
// when there is only English) and the page to come back to.
func (u *UI) languageChoice(c *gin.Context, p auth.Principal, lang string) ([]langOption, string) {
	offered := u.uiLanguages(p)
	if len(offered) < 2 {
		return nil, ""
	}
	opts := make([]langOption, 0, len(offered))
	for _, l := range offered {
		opts = append(opts, langOption{Code: l, Name: languageName(l), Selected: l == lang})
	}
	back := "/"
	if c.Request.Method == http.MethodGet {
		q := c.Request.URL.Query()
		q.Del("ok")
		back = c.Request.URL.EscapedPath()
		if len(q) > 0 {
			back += "?" + q.Encode()
		}
		if !sameOriginPath(back) {
			back = "/"
		}
	}
	return opts, back
}

// setLanguage keeps the language chosen in the footer in a cookie and
// returns to the page it was chosen on. A language the user's sites do not
// offer is refused (422), and so is a page to return to that is not a path
// on this server (400): the form never sends one.
func (u *UI) setLanguage(c *gin.Context) {
	p := me(c)
	back := c.PostForm("back")
	if back == "" {
		back = "/"
	}
	if !sameOriginPath(back) {
		u.failMsg(c, http.StatusBadRequest, "error.not_khula", "error.not_khula_detail", nil)
		return
	}
	lang := c.PostForm("lang")
	if !slices.Contains(u.uiLanguages(p), lang) {
		u.failMsg(c, http.StatusUnprocessableEntity, "error.unknown_language", "error.unknown_language_detail", nil)
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: langMaxAge, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: c.Request.TLS != nil || c.GetHeader("X-Forwarded-Proto") == "https"})
	c.Redirect(http.StatusSeeOther, back)
}

// sameOriginPath accepts a path (and query) on this server only: it starts
// with one "/", names no scheme or host, and has no backslash, control
// character or space.
func sameOriginPath(s string) bool {
	if len(s) > 2048 || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.ContainsRune(s, '\\') {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return false
		}
	}
	v, err := url.Parse(s)
	if err != nil || v.Scheme != "" || v.Host != "" || v.User != nil || v.Opaque != "" {
		return false
	}
	return strings.HasPrefix(v.Path, "/") && !strings.HasPrefix(v.Path, "//")
}

// word is a value's label in lang: the message prefix+value if there is
// one, else the value humanized.
func word(lang, prefix, value string) string {
	id := prefix + value
	if s := uitext.T(lang, id); s != id {
		return s
	}
	if prefix == "stage." {
		return stageName(value)
	}
	return humanize(value)
}
