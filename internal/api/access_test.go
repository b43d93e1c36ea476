package api_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/users"
)

// TestRoleRouteMatrix walks every route with every role and checks who is
// let in: 401 without credentials, 403 for a role or scope that may not,
// anything else for those who may (the engine is down in this test, so
// allowed calls that reach it answer 5xx).
func TestRoleRouteMatrix(t *testing.T) {
	f := newFixture(t, compressedTime)
	ctx := context.Background()
	f.temporal.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(nil, errors.New("engine down")).Maybe()
	f.temporal.On("UpdateWorkflow", mock.Anything, mock.Anything).Return(nil, errors.New("engine down")).Maybe()
	f.temporal.On("SignalWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(errors.New("engine down")).Maybe()

	people := map[string]users.Spec{
		"manager":       {Role: auth.ProgrammeManager},
		"coord-jhb":     {Role: auth.SiteCoordinator, Sites: []string{"johannesburg"}},
		"coord-moutse":  {Role: auth.SiteCoordinator, Sites: []string{"moutse"}},
		"sw-meadowland": {Role: auth.Practitioner, Practice: "social_worker", Sites: []string{"johannesburg"}, Schools: []string{"meadowlands"}},
		"nurse-alex":    {Role: auth.Practitioner, Practice: "nurse", Sites: []string{"johannesburg"}, Schools: []string{"alexandra"}},
		"ops":           {Role: auth.Ops},
		"advisor":       {Role: auth.Advisor},
	}
	tokens := map[string]string{"anonymous": ""}
	for name, spec := range people {
		spec.Username = name
		_, err := users.Create(ctx, f.store, f.dir, spec)
		require.NoError(t, err)
		tokens[name], err = users.NewToken(ctx, f.store, name, "matrix", 0)
		require.NoError(t, err)
	}

	const (
		child   = "/api/v1/cycles/johannesburg/3/c-0001"
		meeting = "/api/v1/meetings/johannesburg/meadowlands/2026-03-05"
		ref     = "/api/v1/referrals/johannesburg/3/c-0001/1"
	)
	// allow lists who gets in; everyone else gets 403 (anonymous 401).
	routes := []struct {
		method, path, body string
		allow              []string
	}{
		{"GET", "/api/v1/me", "", []string{"manager", "coord-jhb", "coord-moutse", "sw-meadowland", "nurse-alex", "ops", "advisor"}},
		{"GET", "/api/v1/sites", "", []string{"manager", "coord-jhb", "coord-moutse", "sw-meadowland", "nurse-alex", "ops", "advisor"}},
		{"GET", "/api/v1/sites/johannesburg", "", []string{"manager", "coord-jhb", "sw-meadowland", "nurse-alex", "ops", "advisor"}},
		{"GET", "/api/v1/work?site=johannesburg&school=meadowlands", "", []string{"manager", "coord-jhb", "sw-meadowland"}},
		{"GET", "/api/v1/work/children?site=johannesburg&school=meadowlands", "", []string{"coord-jhb", "sw-meadowland"}},
		{"GET", "/api/v1/work/children?site=johannesburg&school=alexandra", "", []string{"coord-jhb", "nurse-alex"}},
		{"POST", "/api/v1/waves", `{"site":"johannesburg","number":9,"day_length":"1s"}`, []string{"manager", "coord-jhb"}},
		{"GET", "/api/v1/waves?site=johannesburg", "", []string{"manager", "coord-jhb", "sw-meadowland", "nurse-alex"}},
		{"GET", "/api/v1/waves/johannesburg/3", "", []string{"manager", "coord-jhb", "sw-meadowland", "nurse-alex"}},
		{"POST", "/api/v1/waves/johannesburg/3/close-window", `{"reason":"r"}`, []string{"manager", "coord-jhb"}},
		{"GET", child, "", []string{"manager", "coord-jhb", "sw-meadowland"}},
		{"POST", "/api/v1/sites/johannesburg/intake", `{"value":[]}`, []string{"coord-jhb", "sw-meadowland", "nurse-alex"}},
		{"POST", child + "/assessments", `{"phase":"baseline","respondent":"caregiver","answers":{},"submitted_by":"x"}`, []string{"coord-jhb", "sw-meadowland"}},
		{"POST", child + "/close-window", `{"phase":"baseline"}`, []string{"manager", "coord-jhb", "sw-meadowland"}},
		{"POST", child + "/follow-ups", `{"note":"n","recorded_by":"x"}`, []string{"coord-jhb", "sw-meadowland"}},
		{"POST", child + "/agenda", `{"reason":"reading worries","added_by":"teacher"}`, []string{"coord-jhb", "sw-meadowland"}},
		{"POST", "/api/v1/meetings", `{"site":"johannesburg","school":"meadowlands","date":"2026-03-05"}`, []string{"coord-jhb", "sw-meadowland"}},
		{"GET", meeting, "", []string{"manager", "coord-jhb", "sw-meadowland"}},
		{"POST", meeting + "/minutes", `{"plans":[],"recorded_by":"x"}`, []string{"coord-jhb", "sw-meadowland"}},
		{"POST", ref + "/acknowledge", `{"by":"x"}`, []string{"coord-jhb", "sw-meadowland"}},
		{"POST", ref + "/outcome", `{"outcome":"completed","by":"x"}`, []string{"coord-jhb", "sw-meadowland"}},
		// Evidence for the CoP (issue 14).
		{"GET", meeting + "/pack.html", "", []string{"manager", "coord-jhb", "sw-meadowland"}},
		{"GET", "/api/v1/sites/johannesburg/plan-actions", "", []string{"manager", "coord-jhb", "sw-meadowland", "nurse-alex"}},
		{"POST", "/api/v1/plan-actions/pa-unknown/close", `{"status":"done","recorded_by":"x"}`, []string{"coord-jhb", "coord-moutse", "sw-meadowland", "nurse-alex"}},
		{"GET", "/api/v1/sites/johannesburg/cop", "", []string{"manager", "coord-jhb", "advisor"}},
		{"GET", "/api/v1/sites/johannesburg/reviews", "", []string{"manager", "coord-jhb", "advisor"}},
		{"POST", "/api/v1/reviews", `{"plan_id":"nope","verdict":"endorsed"}`, []string{"manager", "advisor"}},
		{"GET", "/api/v1/waves/johannesburg/3/report.html", "", []string{"manager", "coord-jhb", "sw-meadowland", "nurse-alex", "advisor"}},
		{"GET", "/api/v1/waves/johannesburg/3/report.csv", "", []string{"manager", "coord-jhb", "sw-meadowland", "nurse-alex", "advisor"}},
		{"GET", "/api/v1/exports/research?site=johannesburg&purpose=role+matrix+test", "", []string{"manager"}},
		// User administration (issue 18): programme managers only.
		{"GET", "/api/v1/users", "", []string{"manager"}},
		{"PUT", "/api/v1/users/coord-moutse/scope", `{"sites":["moutse"]}`, []string{"manager"}},
	}
	for _, rt := range routes {
		for who, tok := range tokens {
			t.Run(rt.method+" "+rt.path+" as "+who, func(t *testing.T) {
				header := []string{"Authorization", "Bearer " + tok}
				if tok == "" {
					header = []string{"Authorization", ""}
				}
				rec := f.doAs(t, rt.method, rt.path, rt.body, header...)
				allowed := false
				for _, a := range rt.allow {
					allowed = allowed || a == who
				}
				switch {
				case who == "anonymous":
					if rec.Code != http.StatusUnauthorized {
						t.Fatalf("anonymous got %d, want 401", rec.Code)
					}
				case allowed && (rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden):
					t.Fatalf("%s got %d, want through: %s", who, rec.Code, rec.Body.String())
				case !allowed && rec.Code != http.StatusForbidden:
					t.Fatalf("%s got %d, want 403: %s", who, rec.Code, rec.Body.String())
				}
				if !allowed && strings.Contains(rec.Body.String(), "Demo") {
					t.Fatalf("a refusal leaked data: %s", rec.Body.String())
				}
			})
		}
	}
}

func TestOpsNeverSeesChildren(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := users.Create(ctx, f.store, f.dir, users.Spec{Username: "ops", Role: auth.Ops})
	require.NoError(t, err)
	tok, err := users.NewToken(ctx, f.store, "ops", "t", 0)
	require.NoError(t, err)
	for _, path := range []string{"/api/v1/cycles/johannesburg/3/c-0001", "/api/v1/work?site=johannesburg", "/api/v1/waves"} {
		if rec := f.doAs(t, "GET", path, "", "Authorization", "Bearer "+tok); rec.Code != http.StatusForbidden {
			t.Errorf("ops GET %s = %d, want 403", path, rec.Code)
		}
	}
	if rec := f.doAs(t, "GET", "/healthz", ""); rec.Code != http.StatusOK {
		t.Errorf("healthz = %d", rec.Code)
	}
}

func TestTokensAndSessions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := users.Create(ctx, f.store, f.dir, users.Spec{Username: "sw", Role: auth.Practitioner, Practice: "social_worker",
		Sites: []string{"johannesburg"}, Schools: []string{"meadowlands"}, Password: "correct horse battery"})
	require.NoError(t, err)

	for name, header := range map[string]string{
		"not bearer":  "Basic abc",
		"not a token": "Bearer hello",
		"unknown":     "Bearer khula_nosuchid_aaaaaaaaaaaaaaaaaaaaaaaa",
	} {
		if rec := f.doAs(t, "GET", "/api/v1/me", "", "Authorization", header); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, rec.Code)
		}
	}
	tok, err := users.NewToken(ctx, f.store, "sw", "t", 0)
	require.NoError(t, err)
	forged := tok[:len(tok)-4] + "AAAA"
	if rec := f.doAs(t, "GET", "/api/v1/me", "", "Authorization", "Bearer "+forged); rec.Code != http.StatusUnauthorized {
		t.Errorf("a token with a wrong secret: %d, want 401", rec.Code)
	}

	if rec := f.doAs(t, "POST", "/api/v1/session", `{"username":"sw","password":"wrong password"}`); rec.Code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", rec.Code)
	}
	if rec := f.doAs(t, "POST", "/api/v1/session", `{"username":"nobody","password":"wrong password"}`); rec.Code != http.StatusUnauthorized {
		t.Fatalf("unknown user: %d", rec.Code)
	}
	rec := f.doAs(t, "POST", "/api/v1/session", `{"username":"sw","password":"correct horse battery"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	cookie := rec.Result().Cookies()[0]
	require.True(t, cookie.HttpOnly)
	var body struct{ CSRF string }
	require.NoError(t, jsonDecode(rec.Body.Bytes(), &body))

	if rec := f.doAs(t, "GET", "/api/v1/me", "", "Cookie", cookie.Name+"="+cookie.Value); rec.Code != http.StatusOK {
		t.Fatalf("session GET: %d", rec.Code)
	}
	// A change by cookie needs the CSRF token.
	post := `{"site":"johannesburg","school":"meadowlands","date":"bad"}`
	if rec := f.doAs(t, "POST", "/api/v1/meetings", post, "Cookie", cookie.Name+"="+cookie.Value); rec.Code != http.StatusForbidden {
		t.Fatalf("POST without CSRF: %d, want 403", rec.Code)
	}
	if rec := f.doAs(t, "POST", "/api/v1/meetings", post, "Cookie", cookie.Name+"="+cookie.Value, "X-CSRF-Token", body.CSRF); rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("POST with CSRF: %d, want 422 (through to validation)", rec.Code)
	}
	if rec := f.doAs(t, "DELETE", "/api/v1/session", "", "Cookie", cookie.Name+"="+cookie.Value, "X-CSRF-Token", body.CSRF); rec.Code != http.StatusNoContent {
		t.Fatalf("sign out: %d", rec.Code)
	}
	if rec := f.doAs(t, "GET", "/api/v1/me", "", "Cookie", cookie.Name+"="+cookie.Value); rec.Code != http.StatusUnauthorized {
		t.Fatalf("after sign out: %d", rec.Code)
	}
}

func TestOfflineKeyIsTheUsersAndOnlyForBrowserSessions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := users.Create(ctx, f.store, f.dir, users.Spec{Username: "fw", Role: auth.Practitioner, Practice: "social_worker",
		Sites: []string{"johannesburg"}, Schools: []string{"meadowlands"}, Password: "correct horse battery"})
	require.NoError(t, err)
	signIn := func() string {
		rec := f.doAs(t, "POST", "/api/v1/session", `{"username":"fw","password":"correct horse battery"}`)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		c := rec.Result().Cookies()[0]
		return c.Name + "=" + c.Value
	}
	keyOf := func(cookie string) string {
		rec := f.doAs(t, "GET", "/api/v1/session/offline-key", "", "Cookie", cookie)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		var body struct{ Key, Alg string }
		require.NoError(t, jsonDecode(rec.Body.Bytes(), &body))
		require.Equal(t, "A256GCM", body.Alg)
		raw, err := base64.RawURLEncoding.DecodeString(body.Key)
		require.NoError(t, err)
		require.Len(t, raw, 32)
		return body.Key
	}
	first := keyOf(signIn())
	// A later sign-in (the phone reopened) gets the same key, so what an
	// earlier session queued can be opened and sent.
	require.Equal(t, first, keyOf(signIn()), "the key is the user's, not the session's")

	tok, err := users.NewToken(ctx, f.store, "fw", "t", 0)
	require.NoError(t, err)
	rec := f.doAs(t, "GET", "/api/v1/session/offline-key", "", "Authorization", "Bearer "+tok)
	require.Equal(t, http.StatusForbidden, rec.Code, "a token client has no offline queue")
	rec = f.doAs(t, "GET", "/api/v1/session/offline-key", "")
	require.Equal(t, http.StatusUnauthorized, rec.Code)
}
