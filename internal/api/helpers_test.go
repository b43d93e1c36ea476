package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/mocks"

	"github.com/khula-cop/khula/internal/api"
	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/codec/codectest"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/demo"
	"github.com/khula-cop/khula/internal/sitedir"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/users"
	"github.com/khula-cop/khula/sites"
)

// now is the API's clock in every test.
var now = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

var joziRef = cycle.InstrumentRef{ID: "cwtt-johannesburg", Version: "1.0.0"}

// fixture is an API server over the shipped sites, a real SQLite store in a
// temporary directory and a mocked Temporal client that fails the test on
// any call it was not told to expect.
type fixture struct {
	srv      *api.Server
	temporal *mocks.Client
	store    *store.Store
	dir      *sitedir.Directory
	handler  http.Handler
	// token is sent when a request names no Authorization: a site
	// coordinator of both sites, who may use every route but the role tests'.
	token string
	// raw sends only the headers given (doAs).
	raw bool
}

type option func(*fixture)

func compressedTime(f *fixture) { f.srv.AllowCompressedTime = true }

// fixtureStoreAndSites opens a migrated SQLite store with the test key and
// loads the shipped sites with pinned instrument versions.
func fixtureStoreAndSites(tb testing.TB) (*store.Store, *sitedir.Directory) {
	tb.Helper()
	st, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), "khula.db"))
	require.NoError(tb, err)
	st.SetFieldCipher(codectest.Keyring())
	tb.Cleanup(func() { _ = st.Close() })
	_, err = st.Migrate(context.Background())
	require.NoError(tb, err)

	dir, err := sitedir.Load("../../sites")
	require.NoError(tb, err)
	dir.SetInstrument("johannesburg", joziRef)
	dir.SetInstrument("moutse", cycle.InstrumentRef{ID: "cwtt-moutse", Version: "1.0.0"})
	return st, dir
}

func newFixture(t *testing.T, opts ...option) *fixture {
	t.Helper()
	ctx := context.Background()
	st, dir := fixtureStoreAndSites(t)
	tc := &mocks.Client{}
	tc.Test(t)
	f := &fixture{
		srv:      &api.Server{Temporal: tc, Store: st, Sites: dir, Now: func() time.Time { return now }},
		temporal: tc,
		store:    st,
		dir:      dir,
	}
	// Children the tests address, at Meadowlands.
	require.NoError(t, demo.EnsureSite(ctx, st, mustSite(t, dir, "johannesburg")))
	for _, id := range []string{"c-0001", "child-7f3a9"} {
		require.NoError(t, st.AddFamilies(ctx, []store.Family{{
			Caregiver: store.Caregiver{ID: "cg-" + id, SiteID: "johannesburg", GivenName: "Demo", FamilyName: "Caregiver", Language: "en", CreatedAt: now},
			Child:     store.Child{ID: id, SiteID: "johannesburg", SchoolID: "meadowlands", CaregiverID: "cg-" + id, GivenName: "Demo", FamilyName: "Child", Sex: "female", BirthDate: now.AddDate(-6, 0, 0), Grade: "1", CreatedAt: now},
		}}))
	}
	_, err := users.Create(ctx, st, dir, users.Spec{Username: "coord", Role: auth.SiteCoordinator, Sites: []string{"johannesburg", "moutse"}})
	require.NoError(t, err)
	f.token, err = users.NewToken(ctx, st, "coord", "test", 0)
	require.NoError(t, err)
	for _, o := range opts {
		o(f)
	}
	f.handler = f.srv.Handler()
	// The server's background work (the audit drain) stops before the
	// store closes and the temporary directory goes (cleanups run last
	// registered first).
	t.Cleanup(f.srv.Wait)
	t.Cleanup(func() { tc.AssertExpectations(t) })
	return f
}

// do sends a request with an optional body and header pairs.
func (f *fixture) do(t *testing.T, method, path, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	return f.doCtx(t, context.Background(), method, path, body, header...)
}

func (f *fixture) doCtx(t *testing.T, ctx context.Context, method, path, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader = http.NoBody
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequestWithContext(ctx, method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if !f.raw {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return rec
}

// noTemporalCalls checks that the request never reached the engine.
func (f *fixture) noTemporalCalls(t *testing.T) {
	t.Helper()
	assert.Empty(t, f.temporal.Calls, "the Temporal client must not be called")
}

// wantProblem checks an error response: its status, the problem+json
// media type (as sent on the wire), and a well-formed problem document.
func wantProblem(t *testing.T, rec *httptest.ResponseRecorder, status int) api.Problem {
	t.Helper()
	res := rec.Result()
	require.Equal(t, status, res.StatusCode, "status; body: %s", rec.Body.String())
	assert.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
	var p api.Problem
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p), "problem body: %s", rec.Body.String())
	assert.Equal(t, status, p.Status)
	assert.NotEmpty(t, p.Title)
	wantType := "https://khula.example.org/problems/" + strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "-")
	assert.Equal(t, wantType, p.Type)
	if status == http.StatusServiceUnavailable {
		assert.Equal(t, "5", res.Header.Get("Retry-After"))
	}
	return p
}

// fe is a field error without its message.
type fe struct{ Field, Code string }

func fieldsOf(p api.Problem) []fe {
	var out []fe
	for _, e := range p.Errors {
		out = append(out, fe{e.Field, e.Code})
	}
	return out
}

// wantJSON checks a success response's status and decodes its body.
func wantJSON(t *testing.T, rec *httptest.ResponseRecorder, status int, v any) {
	t.Helper()
	res := rec.Result()
	require.Equal(t, status, res.StatusCode, "status; body: %s", rec.Body.String())
	assert.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "application/json"), "content type %q", res.Header.Get("Content-Type"))
	if v != nil {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), v), "body: %s", rec.Body.String())
	}
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func mustSite(t *testing.T, dir *sitedir.Directory, id string) *sites.Site {
	t.Helper()
	s, ok := dir.Site(id)
	require.True(t, ok, "site %s", id)
	return s
}

// doAs sends a request with only the headers given: no default token.
func (f *fixture) doAs(t *testing.T, method, path, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	f.raw = true
	defer func() { f.raw = false }()
	return f.doCtx(t, context.Background(), method, path, body, header...)
}

func jsonDecode(data []byte, v any) error { return json.Unmarshal(data, v) }
