package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPagesFollowTheChosenLanguage: English by default at Johannesburg,
// the footer offers the site's languages that have messages, choosing
// isiZulu (with the CSRF token, back to a path on this server) turns the
// work page and the layout into isiZulu, and pages not translated yet keep
// their main part in English, marked as such.
func TestPagesFollowTheChosenLanguage(t *testing.T) {
	f := newFixture(t, false)
	b := f.as("social-worker")

	res := b.get("/work")
	require.Equal(t, http.StatusOK, res.status, excerpt(res.body))
	assert.Contains(t, res.body, `<html lang="en">`)
	assert.Contains(t, res.body, "<h1>Today&#39;s work")
	assert.Contains(t, res.body, `<main id="main" tabindex="-1">`, "no lang on main when the page is in the page's language")
	assert.Contains(t, res.body, "<p>1 child awaits a plan at the next LLCoP meeting. ", "a plural message")
	// The footer offers English and the site's languages with messages
	// (Johannesburg lists en, zu, st and tn; there are no Setswana messages).
	assert.True(t, contains(res.body, `<form class="lang" method="post" action="/language">`, `<input type="hidden" name="back" value="/work">`,
		`<option value="en" lang="en" selected>English</option>`, `<option value="zu" lang="zu">isiZulu</option>`, `<option value="st" lang="st">Sesotho</option>`), excerpt(res.body))
	assert.NotContains(t, res.body, `<option value="tn" lang="tn">`)

	// Without the session's CSRF token the choice is refused.
	res = b.post("/language", url.Values{"lang": {"zu"}, "back": {"/work"}})
	assert.Equal(t, http.StatusForbidden, res.status)
	assert.Empty(t, res.header.Values("Set-Cookie"))
	// A page to return to on another origin (or not a plain path) is refused.
	for _, back := range []string{"https://evil.example/work", "//evil.example/work", "/\\evil.example", "javascript:alert(1)", "work", "/work\r\nSet-Cookie: x=1", "http:/work"} {
		res = b.submit("/language", url.Values{"lang": {"zu"}, "back": {back}})
		assert.Equal(t, http.StatusBadRequest, res.status, "back %q", back)
		assert.Empty(t, res.header.Get("Location"), "back %q", back)
		assert.Empty(t, res.header.Values("Set-Cookie"), "back %q", back)
	}
	// A language the user's sites do not offer (or that has no messages) is refused.
	for _, lang := range []string{"tn", "fr", "", "zu; Path=/x"} {
		res = b.submit("/language", url.Values{"lang": {lang}, "back": {"/work"}})
		assert.Equal(t, http.StatusUnprocessableEntity, res.status, "lang %q", lang)
		assert.Empty(t, res.header.Values("Set-Cookie"), "lang %q", lang)
	}
	res = b.get("/work")
	assert.Contains(t, res.body, `<html lang="en">`, "nothing refused changed the language")

	res = b.submit("/language", url.Values{"lang": {"zu"}, "back": {"/work?school=meadowlands#children"}})
	require.Equal(t, http.StatusSeeOther, res.status, excerpt(res.body))
	assert.Equal(t, "/work?school=meadowlands#children", res.header.Get("Location"))
	cookie := strings.Join(res.header.Values("Set-Cookie"), "\n")
	for _, want := range []string{"khula_lang=zu", "Path=/", "Max-Age=31536000", "HttpOnly", "SameSite=Lax"} {
		assert.Contains(t, cookie, want)
	}
	assert.NotContains(t, cookie, "Secure", "not over plain HTTP")

	res = b.get("/work")
	require.Equal(t, http.StatusOK, res.status, excerpt(res.body))
	assert.Contains(t, res.body, `<html lang="zu">`)
	assert.Contains(t, res.body, `<title>Umsebenzi wanamuhla · khula</title>`)
	assert.Contains(t, res.body, "<h1>Umsebenzi wanamuhla")
	assert.Contains(t, res.body, `<main id="main" tabindex="-1">`)
	assert.True(t, contains(res.body, `<a href="/work" aria-current="page">Namuhla</a>`, "Phuma", "Yeqela kokuqukethwe", `<option value="zu" lang="zu" selected>isiZulu</option>`), excerpt(res.body))
	sec := childrenTable(t, res.body)
	assert.True(t, contains(sec, "Izingane (3)", `<th scope="col">Ubudala</th>`, "Owesifazane", "iminyaka: 5, izinyanga: 10", "Ukulandelela", "Umnakekeli"), sec)
	assert.Contains(t, res.body, "<p>Ingane e-1 ilinde uhlelo emhlanganweni olandelayo we-LLCoP. ", "the plural form for one child")
	for _, problem := range lint(res.body) {
		t.Errorf("/work in isiZulu: %s", problem)
	}

	// A page not translated yet: the layout is in isiZulu, its main part in English.
	res = b.get("/sites/johannesburg/meetings")
	require.Equal(t, http.StatusOK, res.status, excerpt(res.body))
	assert.True(t, contains(res.body, `<html lang="zu">`, `<main id="main" tabindex="-1" lang="en">`, `<title lang="en">`, "Phuma"), excerpt(res.body))
	// The child's page is translated: the breadcrumb needs no lang of its own.
	res = b.get(childPage)
	require.Equal(t, http.StatusOK, res.status, excerpt(res.body))
	assert.Contains(t, res.body, `<nav aria-label="Indlela yamakhasi"><ol class="crumbs"><li><a href="/work">Umsebenzi wanamuhla</a></li></ol></nav>`)

	// The choice is the browser's: the sign-in page follows it after signing out.
	res = b.submit("/logout", nil)
	require.Equal(t, http.StatusSeeOther, res.status)
	res = b.get(res.header.Get("Location"))
	require.Equal(t, http.StatusOK, res.status)
	assert.True(t, contains(res.body, `<html lang="zu">`, "<h1>Ngena ku-khula</h1>", `<p class="flash" role="status">Uphumile.</p>`), excerpt(res.body))

	// Another user of Johannesburg, without the cookie, gets English.
	res = f.as("coordinator").get("/work")
	assert.Contains(t, res.body, `<html lang="en">`)
}

// TestDefaultLanguageIsTheSites: without a choice, the pages are in the
// default language of the user's first site (Sepedi at Moutse).
func TestDefaultLanguageIsTheSites(t *testing.T) {
	f := newFixture(t, false)
	b := f.as("coord-moutse")
	res := b.get("/work")
	require.Equal(t, http.StatusOK, res.status, excerpt(res.body))
	assert.True(t, contains(res.body, `<html lang="nso">`, "<h1>Mošomo wa lehono", `<option value="nso" lang="nso" selected>Sepedi</option>`,
		`<option value="nr" lang="nr">isiNdebele</option>`), excerpt(res.body))
	res = b.get("/sites/moutse")
	require.Equal(t, http.StatusOK, res.status)
	assert.True(t, contains(res.body, `<html lang="nso">`, `<main id="main" tabindex="-1" lang="en">`))

	// Choosing English keeps English.
	res = b.submit("/language", url.Values{"lang": {"en"}, "back": {"/work"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	res = b.get("/work")
	assert.True(t, contains(res.body, `<html lang="en">`, "<h1>Today&#39;s work"), excerpt(res.body))
}

// TestTranslatedPagesInIsiZulu: the child's page (with its flashes), the
// error page and the referrals list are drawn in the language chosen,
// with what stays English (an API problem's words) marked lang="en"; in
// English by default.
func TestTranslatedPagesInIsiZulu(t *testing.T) {
	f := newFixture(t, false)
	b := f.as("social-worker")
	notFound := "/cycles/johannesburg/x/" + childPlan

	// English by default.
	res := b.get(childPage + "?ok=referral")
	require.Equal(t, http.StatusOK, res.status, excerpt(res.body))
	assert.True(t, contains(res.body, `<html lang="en">`, `<title>Child `+childPlan+` · khula</title>`, `<h1>Child <span class="id">`+childPlan+`</span></h1>`,
		"<h2>Timeline</h2>", `<p class="flash" role="status">The referral was updated.</p>`, `<main id="main" tabindex="-1">`), excerpt(res.body))
	main := res.body[strings.Index(res.body, "<main"):strings.Index(res.body, "</main>")]
	assert.NotContains(t, main, `lang="en"`, "nothing marked on an English page")
	res = b.get("/sites/johannesburg/referrals")
	require.Equal(t, http.StatusOK, res.status, excerpt(res.body))
	assert.True(t, contains(res.body, `<html lang="en">`, "<h1>City of Johannesburg: referrals</h1>", "<h2>Overdue ("), excerpt(res.body))
	res = b.get(notFound)
	assert.Equal(t, http.StatusNotFound, res.status)
	assert.True(t, contains(res.body, `<html lang="en">`, "<h1>Not found</h1>", "<p>no such cycle</p>", "Status 404.", "Go to your start page"), excerpt(res.body))

	// khula.js has the outbox's English words: the English page carries none.
	assert.NotContains(t, b.get("/work").body, `id="khula-words"`)

	res = b.submit("/language", url.Values{"lang": {"zu"}, "back": {"/work"}})
	require.Equal(t, http.StatusSeeOther, res.status, excerpt(res.body))

	// Today's work gives khula.js the outbox panel's words in isiZulu, a
	// count's forms with {n}; 0 takes the one form in isiZulu.
	res = b.get("/work")
	require.Equal(t, http.StatusOK, res.status, excerpt(res.body))
	words := regexp.MustCompile(`<script type="application/json" id="khula-words">([^<]*)</script>`).FindStringSubmatch(res.body)
	require.NotNil(t, words, excerpt(res.body))
	var ws map[string]string
	require.NoError(t, json.Unmarshal([]byte(words[1]), &ws), words[1])
	assert.Equal(t, "Thumela manje", ws["outbox.send"])
	assert.Equal(t, "Okulindile ukuthunyelwa: amafomu angu-{n}", ws["outbox.waiting_other"])
	assert.Equal(t, "Okulindile ukuthunyelwa: ifomu e-{n}", ws["outbox.waiting_one"])
	assert.Equal(t, "one", ws["zero"])
	assert.Equal(t, "ifomu: {r}", ws["outbox.form"])
	assert.Equal(t, "Umnakekeli", ws["respondent.caregiver"])

	res = b.get(childPage + "?ok=referral")
	require.Equal(t, http.StatusOK, res.status, excerpt(res.body))
	assert.True(t, contains(res.body, `<html lang="zu">`, `<title>Ingane `+childPlan+` · khula</title>`, `<main id="main" tabindex="-1">`,
		`<h1>Ingane <span class="id">`+childPlan+`</span></h1>`, "<h2>Umlando</h2>", `<title id="track-t">Isigaba: `,
		`<p class="flash" role="status">Ukudluliselwa kubuyekeziwe.</p>`), excerpt(res.body))
	assert.NotContains(t, res.body, "<h2>Timeline</h2>")
	for _, problem := range lint(res.body) {
		t.Errorf("the child's page in isiZulu: %s", problem)
	}
	// A flash without a message stays English, marked.
	res = b.get(childPage + "?ok=launched")
	assert.Contains(t, res.body, `<p class="flash" role="status" lang="en">The wave was launched.</p>`)

	res = b.get("/sites/johannesburg/referrals")
	require.Equal(t, http.StatusOK, res.status, excerpt(res.body))
	assert.True(t, contains(res.body, `<html lang="zu">`, `<main id="main" tabindex="-1">`, "<h1>City of Johannesburg: ukudluliselwa</h1>", "<h2>Okudlule isikhathi ("), excerpt(res.body))
	for _, problem := range lint(res.body) {
		t.Errorf("the referrals in isiZulu: %s", problem)
	}

	// The UI's own error in isiZulu.
	res = b.get(notFound)
	assert.Equal(t, http.StatusNotFound, res.status)
	assert.True(t, contains(res.body, `<html lang="zu">`, `<title>Akutholakalanga · khula</title>`, "<h1>Akutholakalanga</h1>", "<p>awukho lo mjikelezo wengane</p>",
		"Isimo 404.", "Iya ekhasini lakho lokuqala"), excerpt(res.body))
	res = b.get("/sites/moutse/referrals")
	assert.Equal(t, http.StatusForbidden, res.status)
	assert.True(t, contains(res.body, "<h1>Akusilo isayithi lakho</h1>", "<p>Awusebenzi kuleli sayithi.</p>"), excerpt(res.body))
	// An API problem's words stay English, marked.
	res = b.get("/cycles/johannesburg/2/ch-nobody")
	assert.Equal(t, http.StatusNotFound, res.status)
	assert.True(t, contains(res.body, `<html lang="zu">`, `<title lang="en">`, `<h1 lang="en">`, `<p lang="en">`, "Isimo 404."), excerpt(res.body))
}
