package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/users"
)

// Finding 6 of the penetration test (in part): API answers with child data
// lacked Cache-Control: no-store and nosniff, and HSTS was never sent
// behind TLS.
func TestAPIAnswersAreNotStoredOrSniffed(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/api/v1/me", "/api/v1/children/johannesburg/c-0001", "/api/v1/no-such-route"} {
		rec := f.do(t, http.MethodGet, path, "")
		assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"), path)
		assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"), path)
		assert.Empty(t, rec.Header().Get("Strict-Transport-Security"), "no HSTS over plain HTTP: %s", path)
	}
	rec := f.do(t, http.MethodGet, "/api/v1/me", "", "X-Forwarded-Proto", "https")
	assert.Equal(t, "max-age=31536000", rec.Header().Get("Strict-Transport-Security"), "HSTS behind a TLS proxy")
}

// Finding 6 of the penetration test (in part): a text/plain sign-in from a
// foreign page signed the victim's browser into the attacker's account.
func TestSignInRefusesCrossSiteForms(t *testing.T) {
	f := newFixture(t)
	_, err := users.Create(context.Background(), f.store, f.dir, users.Spec{Username: "sw", Role: auth.Practitioner, Practice: "social_worker",
		Sites: []string{"johannesburg"}, Schools: []string{"meadowlands"}, Password: "correct horse battery"})
	require.NoError(t, err)
	body := `{"username":"sw","password":"correct horse battery"}`
	send := func(contentType string, header ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "http://khula.example.org/api/v1/session", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, req)
		return rec
	}
	wantProblem(t, send("text/plain"), http.StatusUnsupportedMediaType)
	wantProblem(t, send("application/x-www-form-urlencoded"), http.StatusUnsupportedMediaType)
	rec := send("application/json", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	wantProblem(t, rec, http.StatusForbidden)
	assert.Empty(t, rec.Result().Cookies(), "no session cookie for a cross-site request")
	wantProblem(t, send("application/json", "Origin", "https://evil.example"), http.StatusForbidden)

	ok := send("application/json", "Origin", "http://khula.example.org", "Sec-Fetch-Site", "same-origin")
	assert.Equal(t, http.StatusOK, ok.Code, ok.Body.String())
	assert.Equal(t, http.StatusOK, send("application/json; charset=utf-8").Code, "an API client without browser headers signs in")
}
