package web_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Finding 6 of the penetration test (in part): after sign-in,
// next=/%09/evil.example answered Location: /\t/evil.example, which
// browsers read as //evil.example. Only a path on this server is followed.
func TestSignInGoesOnlyToAPathOfKhula(t *testing.T) {
	f := newFixture(t, false)
	for _, next := range []string{"/\t/evil.example", "//evil.example", "/\\evil.example", "https://evil.example/", "/ /evil.example", "javascript:alert(1)"} {
		t.Run(url.QueryEscape(next), func(t *testing.T) {
			jar, _ := cookiejar.New(nil)
			b := &browser{f: f, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
			page := b.get("/login")
			require.Equal(t, http.StatusOK, page.status)
			res := b.post("/login", url.Values{"_login": {attr(page.body, "_login")}, "username": {"social-worker"}, "password": {password}, "next": {next}})
			require.Equal(t, http.StatusSeeOther, res.status, res.body)
			assert.Equal(t, "/", res.header.Get("Location"))
		})
	}
	jar, _ := cookiejar.New(nil)
	b := &browser{f: f, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	page := b.get("/login")
	res := b.post("/login", url.Values{"_login": {attr(page.body, "_login")}, "username": {"social-worker"}, "password": {password}, "next": {"/work?school=meadowlands"}})
	assert.Equal(t, "/work?school=meadowlands", res.header.Get("Location"), "a path of khula is followed")
}
