package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
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

// TestSignInFormBodyIsBounded: the sign-in form was parsed, whatever its
// size (multipart: memory, then temporary files), before its token was
// checked: anyone could make the server read 48 MiB. A body over 64 KiB is
// refused unread; a streamed one is cut off there.
func TestSignInFormBodyIsBounded(t *testing.T) {
	f := newFixture(t, false)
	big := strings.Repeat("x", 1<<20)
	res, err := http.Post(f.srv.URL+"/login", "application/x-www-form-urlencoded", strings.NewReader("next="+big))
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)

	// Without a length (chunked), the body is read up to the limit only and
	// the form fails its token check.
	pr, pw := io.Pipe()
	go func() {
		chunk := []byte(strings.Repeat("y", 32<<10))
		_, _ = pw.Write([]byte("next="))
		for range 64 { // 2 MiB in all
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/login", pr)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err = http.DefaultClient.Do(req)
	if err == nil {
		res.Body.Close()
		assert.Contains(t, []int{http.StatusForbidden, http.StatusRequestEntityTooLarge, http.StatusBadRequest}, res.StatusCode)
	}
	pr.CloseWithError(io.ErrClosedPipe)
}
