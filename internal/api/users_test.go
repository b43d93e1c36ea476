package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/khula-cop/khula/internal/api"
	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/users"
)

// userFixture adds a programme manager, a Johannesburg coordinator and a
// Meadowlands nurse, and returns their tokens.
func userFixture(t *testing.T) (*fixture, map[string]string) {
	t.Helper()
	f := newFixture(t)
	ctx := context.Background()
	tokens := map[string]string{}
	for _, s := range []users.Spec{
		{Username: "pm", DisplayName: "Programme Manager", Role: auth.ProgrammeManager, Password: "a long password here"},
		{Username: "coord-jhb", Role: auth.SiteCoordinator, Sites: []string{"johannesburg"}},
		{Username: "nurse", Role: auth.Practitioner, Practice: "nurse", Sites: []string{"johannesburg"}, Schools: []string{"meadowlands"}},
	} {
		_, err := users.Create(ctx, f.store, f.dir, s)
		require.NoError(t, err)
		tokens[s.Username], err = users.NewToken(ctx, f.store, s.Username, "test", 0)
		require.NoError(t, err)
	}
	return f, tokens
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

func TestListUsers(t *testing.T) {
	f, tok := userFixture(t)
	rec := f.doAs(t, "GET", "/api/v1/users", "", bearer(tok["pm"])...)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var out struct{ Items []api.UserView }
	require.NoError(t, jsonDecode(rec.Body.Bytes(), &out))
	byName := map[string]api.UserView{}
	for _, u := range out.Items {
		byName[u.Username] = u
	}
	require.Len(t, byName, 4, "coord (the fixture's), coord-jhb, nurse, pm")
	assert.Equal(t, api.UserView{Username: "nurse", DisplayName: "nurse", Role: auth.Practitioner, Practice: "nurse",
		Sites: []string{"johannesburg"}, Schools: []string{"meadowlands"}, Scope: "site johannesburg, school meadowlands"}, byName["nurse"])
	assert.Equal(t, "Programme Manager", byName["pm"].DisplayName)
	assert.Equal(t, []string{}, byName["pm"].Sites, "an empty scope is a list, not null")
	body := strings.ToLower(rec.Body.String())
	for _, secret := range []string{"password", "hash", "token", "$argon2", "khula_"} {
		assert.NotContains(t, body, secret, "the list shows no secret")
	}
}

// TestScopeChangeTakesEffect: what a user may see follows the new scope
// from the next request: 403 before, through after.
func TestScopeChangeTakesEffect(t *testing.T) {
	tests := []struct {
		name, user, path, body string
	}{
		{"a coordinator given the new site", "coord-jhb", "/api/v1/sites/moutse", `{"sites":["johannesburg","moutse"]}`},
		{"a coordinator's work list at the new site", "coord-jhb", "/api/v1/work?site=moutse", `{"sites":["johannesburg","moutse"]}`},
		{"a practitioner given another school", "nurse", "/api/v1/work/children?site=johannesburg&school=alexandra",
			`{"sites":["johannesburg"],"schools":["meadowlands","alexandra"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, tok := userFixture(t)
			rec := f.doAs(t, "GET", tt.path, "", bearer(tok[tt.user])...)
			require.Equal(t, http.StatusForbidden, rec.Code, "before the change: %s", rec.Body.String())

			rec = f.doAs(t, "PUT", "/api/v1/users/"+tt.user+"/scope", tt.body, append(bearer(tok["pm"]), "X-Khula-Reason", "new site opened")...)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			var got api.UserView
			require.NoError(t, jsonDecode(rec.Body.Bytes(), &got))
			assert.Equal(t, tt.user, got.Username)

			rec = f.doAs(t, "GET", tt.path, "", bearer(tok[tt.user])...)
			assert.Equal(t, http.StatusOK, rec.Code, "after the change, with the same token: %s", rec.Body.String())
		})
	}
}

func TestSetUserScope(t *testing.T) {
	tests := []struct {
		name, user, body string
		status           int
		wantFields       []string // field errors, in order
		wantDetail       string   // part of the response
		wantSites        string   // stored after
		wantSchools      string
	}{
		{name: "coordinator given a second site", user: "coord-jhb", body: `{"sites":["johannesburg","moutse"],"schools":[]}`, status: 200,
			wantSites: "johannesburg,moutse"},
		{name: "schools left out", user: "coord-jhb", body: `{"sites":["moutse"]}`, status: 200, wantSites: "moutse"},
		{name: "unknown site", user: "coord-jhb", body: `{"sites":["johannesburg","atlantis"]}`, status: 422,
			wantFields: []string{"sites"}, wantDetail: `no site \"atlantis\"`, wantSites: "johannesburg"},
		{name: "unknown school", user: "nurse", body: `{"sites":["johannesburg"],"schools":["meadowlands","hogwarts"]}`, status: 422,
			wantFields: []string{"schools"}, wantDetail: `site johannesburg has no school \"hogwarts\"`, wantSites: "johannesburg", wantSchools: "meadowlands"},
		{name: "a school of another site", user: "nurse", body: `{"sites":["johannesburg"],"schools":["moutse-primary"]}`, status: 422,
			wantFields: []string{"schools"}, wantDetail: "moutse-primary", wantSites: "johannesburg", wantSchools: "meadowlands"},
		{name: "coordinator without a site", user: "coord-jhb", body: `{"sites":[]}`, status: 422,
			wantFields: []string{"sites"}, wantDetail: "needs at least one site", wantSites: "johannesburg"},
		{name: "coordinator with a school", user: "coord-jhb", body: `{"sites":["johannesburg"],"schools":["meadowlands"]}`, status: 422,
			wantFields: []string{"schools"}, wantSites: "johannesburg"},
		{name: "programme manager with a site", user: "pm", body: `{"sites":["moutse"]}`, status: 422, wantFields: []string{"sites"}},
		{name: "several problems at once", user: "nurse", body: `{"sites":["johannesburg","narnia"],"schools":["hogwarts"]}`, status: 422,
			wantFields: []string{"sites", "schools", "sites"}, wantDetail: "narnia", wantSites: "johannesburg", wantSchools: "meadowlands"},
		{name: "unknown user", user: "nobody", body: `{"sites":["moutse"]}`, status: 404, wantDetail: `no user \"nobody\"`},
		{name: "wrong type", user: "coord-jhb", body: `{"sites":"moutse"}`, status: 422, wantFields: []string{"sites"}, wantSites: "johannesburg"},
		{name: "unknown field", user: "coord-jhb", body: `{"sites":["moutse"],"role":"programme_manager"}`, status: 422, wantFields: []string{"role"}, wantSites: "johannesburg"},
		{name: "no body", user: "coord-jhb", body: ``, status: 400, wantSites: "johannesburg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, tok := userFixture(t)
			rec := f.doAs(t, "PUT", "/api/v1/users/"+tt.user+"/scope", tt.body, bearer(tok["pm"])...)
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			if tt.wantDetail != "" {
				assert.Contains(t, rec.Body.String(), tt.wantDetail)
			}
			if tt.status >= 400 {
				assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
				var p api.Problem
				require.NoError(t, jsonDecode(rec.Body.Bytes(), &p))
				var fields []string
				for _, fe := range p.Errors {
					fields = append(fields, fe.Field)
				}
				assert.Equal(t, tt.wantFields, fields)
			}
			if tt.user == "nobody" {
				return
			}
			u, err := f.store.UserByUsername(context.Background(), tt.user)
			require.NoError(t, err)
			assert.Equal(t, tt.wantSites, u.Sites, "stored sites")
			assert.Equal(t, tt.wantSchools, u.Schools, "stored schools")
			var n int64
			require.NoError(t, f.store.DB(context.Background()).Model(&store.AuditEntry{}).Where("action = ?", store.AuditWrite).Count(&n).Error)
			if tt.status == 200 {
				assert.EqualValues(t, 1, n, "the change is audited once")
			} else {
				assert.EqualValues(t, 0, n, "a refused change is not audited as a write")
			}
		})
	}
}

func TestScopeChangeIsAudited(t *testing.T) {
	f, tok := userFixture(t)
	ctx := context.Background()
	pm, err := f.store.UserByUsername(ctx, "pm")
	require.NoError(t, err)
	rec := f.doAs(t, "PUT", "/api/v1/users/coord-jhb/scope", `{"sites":["johannesburg","moutse"]}`,
		append(bearer(tok["pm"]), "X-Khula-Reason", "Moutse joined the programme")...)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var e store.AuditEntry
	require.NoError(t, f.store.DB(ctx).Where("action = ?", store.AuditWrite).Take(&e).Error)
	assert.Equal(t, "scope of user coord-jhb: sites [johannesburg moutse] schools [] (was: sites [johannesburg] schools [])", e.What)
	assert.Equal(t, "", e.ChildID)
	assert.Equal(t, pm.ID, e.Actor)
	assert.Equal(t, "pm", e.ActorName)
	assert.Equal(t, "programme_manager", e.Role)
	assert.Equal(t, "Moutse joined the programme", e.Why)
	assert.True(t, e.At.Equal(now), "at the API's clock: %s", e.At)
	rep, err := f.store.VerifyAudit(ctx, nil, nil)
	require.NoError(t, err)
	assert.Empty(t, rep.Problems)
}

// TestScopeByBrowserSessionNeedsCSRF: a PUT by session cookie is refused
// without the session's CSRF token and taken with it.
func TestScopeByBrowserSessionNeedsCSRF(t *testing.T) {
	f, _ := userFixture(t)
	rec := f.doAs(t, "POST", "/api/v1/session", `{"username":"pm","password":"a long password here"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	cookie := rec.Result().Cookies()[0]
	var sess struct{ CSRF string }
	require.NoError(t, jsonDecode(rec.Body.Bytes(), &sess))
	body := `{"sites":["moutse"]}`
	rec = f.doAs(t, "PUT", "/api/v1/users/coord-jhb/scope", body, "Cookie", cookie.Name+"="+cookie.Value)
	require.Equal(t, http.StatusForbidden, rec.Code, rec.Body.String())
	rec = f.doAs(t, "PUT", "/api/v1/users/coord-jhb/scope", body, "Cookie", cookie.Name+"="+cookie.Value, "X-CSRF-Token", sess.CSRF)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}
