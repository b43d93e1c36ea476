package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"
	"go.temporal.io/sdk/temporal"

	"github.com/khula-cop/khula/internal/api"
	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/demo"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/users"
)

// fuzzRoutes are the POST routes taking a JSON body. nurse marks the one
// route only a practitioner may use: it is sent with the token of a nurse
// working at another school than the child's.
var fuzzRoutes = []struct {
	path  string
	nurse bool
}{
	{path: "/api/v1/waves"},
	{path: "/api/v1/cycles/johannesburg/3/c-0001/assessments"},
	{path: "/api/v1/cycles/johannesburg/3/c-0001/follow-ups"},
	{path: "/api/v1/meetings"},
	{path: "/api/v1/meetings/johannesburg/meadowlands/2026-03-05/minutes"},
	{path: "/api/v1/referrals/johannesburg/3/c-0001/1/acknowledge"},
	{path: "/api/v1/referrals/johannesburg/3/c-0001/1/outcome"},
	{path: "/api/v1/session"},
	{path: "/api/v1/children/johannesburg/c-0001/consent/withdraw"},
	{path: "/api/v1/children/johannesburg/c-0001/access", nurse: true},
	{path: "/api/v1/cycles/johannesburg/3/c-0001/agenda"},
	{path: "/api/v1/cycles/johannesburg/3/c-0001/close-window"},
	{path: "/api/v1/waves/johannesburg/3/close-window"},
	{path: "/api/v1/children/johannesburg/c-0001/leave"},
	{path: "/api/v1/children/johannesburg/c-0001/consent/renew"},
	{path: "/api/v1/plan-actions/pa-1/close"},
	{path: "/api/v1/duplicates/dup-1/decision"},
	{path: "/api/v1/reviews"},
	{path: "/api/v1/sites/johannesburg/access-grants/g-1/approve"},
}

// How the mocked engine answers, picked per input (mode modulo the count).
const (
	engineDown        = iota // errors.New("engine down"): 502
	engineUnavailable        // serviceerror.Unavailable: 503
	engineRejects            // the workflow's validator rejects the input: 422
	engineConflict           // the workflow is in another state: 409
	engineExists             // already started / no such workflow
	engineAccepts            // the call succeeds
	engineModes
)

// fuzzCompressedTime in the mode byte allows compressed days (khula dev).
const fuzzCompressedTime = 0x80

// fuzzEngine is the mocked engine's behaviour for the current input.
type fuzzEngine struct{ mode int }

func (e *fuzzEngine) err(notFound bool) error {
	switch e.mode {
	case engineUnavailable:
		return serviceerror.NewUnavailable("connection refused")
	case engineRejects:
		return temporal.NewApplicationError("invalid input", cycle.ErrTypeInvalidInput,
			[]cycle.FieldError{{Field: "answers.x", Code: "invalid", Message: "rejected by the workflow"}})
	case engineConflict:
		return temporal.NewApplicationError("not accepting input", cycle.ErrTypeConflict)
	case engineExists:
		if notFound {
			return serviceerror.NewNotFound("workflow not found")
		}
		return serviceerror.NewWorkflowExecutionAlreadyStarted("workflow execution already started", "req", "run")
	case engineAccepts:
		return nil
	}
	return errors.New("engine down")
}

// terminateErr is what TerminateWorkflow answers: only the engine's own
// errors, as no workflow code runs (a closed workflow is NotFound).
func (e *fuzzEngine) terminateErr() error {
	switch e.mode {
	case engineRejects, engineConflict, engineExists:
		return serviceerror.NewNotFound("workflow execution already completed")
	}
	return e.err(true)
}

// acceptedUpdate is the handle of an Update the mocked engine accepted: its
// result is the zero value of the route's result type.
type acceptedUpdate struct{ opts client.UpdateWorkflowOptions }

func (u acceptedUpdate) WorkflowID() string                   { return u.opts.WorkflowID }
func (u acceptedUpdate) RunID() string                        { return "run" }
func (u acceptedUpdate) UpdateID() string                     { return u.opts.UpdateID }
func (u acceptedUpdate) Get(ctx context.Context, _ any) error { return ctx.Err() }

// fuzzFixture builds the same server as newFixture once per fuzz target
// (newFixture takes a *testing.T, which a fuzz target only has per input):
// the shipped sites, a SQLite store with the test key, the Meadowlands
// children (with consent on record), the coordinator's token, plus a nurse
// at Alexandra, a user with a password, and an open cycle of c-0001 so a
// withdrawal reaches the engine.
// The Temporal mock answers every call the way engine.mode says.
func fuzzFixture(tb testing.TB, engine *fuzzEngine) (f *fixture, nurse string) {
	tb.Helper()
	ctx := context.Background()
	st, dir := fixtureStoreAndSites(tb)

	tc := &mocks.Client{}
	tc.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).Maybe().
		Return(func(context.Context, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
			return nil, engine.err(false)
		})
	tc.On("UpdateWorkflow", mock.Anything, mock.Anything).Maybe().
		Return(func(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
			if err := engine.err(true); err != nil {
				return nil, err
			}
			return acceptedUpdate{opts: o}, nil
		})
	tc.On("TerminateWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).Maybe().
		Return(func(context.Context, string, string, string, ...any) error { return engine.terminateErr() })
	// An update answered NotFound is told apart from a closed workflow by
	// describing it: here the workflow is closed.
	tc.On("DescribeWorkflowExecution", mock.Anything, mock.Anything, mock.Anything).Maybe().
		Return(&workflowservice.DescribeWorkflowExecutionResponse{
			WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{Status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED}}, nil)

	f = &fixture{
		srv:      &api.Server{Temporal: tc, Store: st, Sites: dir, Now: func() time.Time { return now }},
		temporal: tc,
		store:    st,
		dir:      dir,
	}
	site, ok := dir.Site("johannesburg")
	require.True(tb, ok)
	require.NoError(tb, demo.EnsureSite(ctx, st, site))
	for _, id := range []string{"c-0001", "child-7f3a9"} {
		require.NoError(tb, st.AddFamilies(ctx, []store.Family{{
			Caregiver: store.Caregiver{ID: "cg-" + id, SiteID: "johannesburg", GivenName: "Demo", FamilyName: "Caregiver", Language: "en", CreatedAt: now},
			Child:     store.Child{ID: id, SiteID: "johannesburg", SchoolID: "meadowlands", CaregiverID: "cg-" + id, GivenName: "Demo", FamilyName: "Child", Sex: "female", BirthDate: now.AddDate(-6, 0, 0), Grade: "1", CreatedAt: now},
			Consent:   &store.Consent{ID: "consent-" + id, ChildID: id, CaregiverID: "cg-" + id, Relationship: "mother", Scope: "cwtt", GivenAt: now},
		}}))
	}
	require.NoError(tb, st.SaveWave(ctx, cycle.WaveRecord{WaveID: "wave/johannesburg/3", SiteID: "johannesburg", Number: 3,
		WindowOpen: now, WindowClose: now.Add(days(42)), Status: cycle.WaveOpen, At: now}))
	require.NoError(tb, st.RecordStage(ctx, cycle.StageRecord{CycleID: "cycle/johannesburg/3/c-0001", WaveID: "wave/johannesburg/3", SiteID: "johannesburg",
		SchoolID: "meadowlands", ChildID: "c-0001", Seq: 1, Stage: cycle.StageAssess, At: now}))

	for _, spec := range []users.Spec{
		{Username: "coord", Role: auth.SiteCoordinator, Sites: []string{"johannesburg", "moutse"}},
		{Username: "nurse-alex", Role: auth.Practitioner, Practice: "nurse", Sites: []string{"johannesburg"}, Schools: []string{"alexandra"}},
		{Username: "sw-pw", Role: auth.Practitioner, Practice: "social_worker", Sites: []string{"johannesburg"}, Schools: []string{"meadowlands"}, Password: "correct horse battery"},
	} {
		_, err := users.Create(ctx, st, dir, spec)
		require.NoError(tb, err)
	}
	var err error
	f.token, err = users.NewToken(ctx, st, "coord", "fuzz", 0)
	require.NoError(tb, err)
	nurse, err = users.NewToken(ctx, st, "nurse-alex", "fuzz", 0)
	require.NoError(tb, err)
	f.handler = f.srv.Handler()
	tb.Cleanup(f.srv.Wait) // the audit drain stops before the store closes
	return f, nurse
}

// dbState counts the rows of every table, and the rows a withdrawal or an
// erasure changes in place, so a test can see whether a request wrote.
func dbState(tb testing.TB, st *store.Store) map[string]int64 {
	tb.Helper()
	db := st.DB(context.Background())
	var tables []string
	require.NoError(tb, db.Raw(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version' ORDER BY name`).Scan(&tables).Error)
	parts := []string{
		`SELECT 'consents withdrawn' AS name, COUNT(*) AS n FROM consents WHERE withdrawn_at IS NOT NULL`,
		`SELECT 'children erased', COUNT(*) FROM children WHERE erased_at IS NOT NULL`,
		`SELECT 'cycles open', COUNT(*) FROM cycles WHERE status = 'open'`,
	}
	for _, t := range tables {
		switch t {
		case "idempotency_keys":
			// A key is bound to the request it came with even when that
			// request is refused: bookkeeping of the key, not a record.
			continue
		case "audit_log", "audit_head":
			// A refused access to a child is audited (denied) by design.
			parts = append(parts, `SELECT '`+t+` (not denied)', COUNT(*) FROM audit_log WHERE action <> 'denied'`)
			continue
		}
		parts = append(parts, `SELECT '`+t+`', COUNT(*) FROM "`+t+`"`)
	}
	var rows []struct {
		Name string
		N    int64
	}
	require.NoError(tb, db.Raw(strings.Join(parts, " UNION ALL ")).Scan(&rows).Error)
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Name] = r.N
	}
	return out
}

// FuzzJSONBodies sends fuzzed JSON bodies (and Idempotency-Keys) to every
// POST route through the real gin handler, with the engine answering in
// each of the ways it can. A request may fail, but never with a 500; every
// 4xx is a problem document; and a rejected request writes nothing.
func FuzzJSONBodies(f *testing.F) {
	seeds := []struct {
		route int
		mode  int
		key   string
		body  string
	}{
		{0, engineDown, "", `{"site":"johannesburg","number":9}`},
		{0, engineAccepts, "", `{"site":"johannesburg","number":4,"window_open":"2026-03-09T00:00:00+02:00","window_close":"2026-04-30T17:00:00Z","page_size":250}`},
		{0, engineAccepts | fuzzCompressedTime, "", `{"site":"moutse","number":1,"day_length":"250ms"}`},
		{0, engineExists, "", `{"site":"johannesburg","number":3}`},
		{0, engineRejects, "", `{"number":0,"day_length":"250ms","window_open":"2026-01-01T00:00:00Z","window_close":"2026-02-01T00:00:00Z","page_size":-1}`},
		{0, engineDown, "", `{"site":"johannesburg","number":"9"}`},
		{0, engineDown, "", `{"site":"johannesburg","number":9,"window_open":"2026-13-01T00:00:00Z"}`},
		{1, engineDown, "", `{"phase":"baseline","respondent":"caregiver","answers":{"hunger_bed":0},"submitted_by":"fieldworker-7"}`},
		{1, engineAccepts, "form-0001-key", `{"phase":"baseline","respondent":"teacher","answers":{"edu_number":"achieved","phq9_9":null},"submitted_by":"t"}`},
		{1, engineRejects, "", `{"phase":"","respondent":"","answers":null}`},
		{1, engineDown, "bad key!", `{"phase":"baseline"}`},
		{1, engineDown, "", `{"phase":"baseline","respondent":"caregiver","answers":{"a":1},"secret":"x"}`},
		{2, engineConflict, "", `{"note":"visited the clinic with the caregiver","recorded_by":"sw"}`},
		{2, engineAccepts, "", `{"note":"","recorded_by":""}`},
		{3, engineAccepts, "", `{"site":"johannesburg","school":"meadowlands","date":"2026-03-05"}`},
		{3, engineDown | fuzzCompressedTime, "", `{"site":"johannesburg","school":"meadowlands","date":"2026-02-30.2","minutes_within":"1s"}`},
		{3, engineExists, "", `{"site":"moutse","school":"meadowlands","date":"2026-03-05","minutes_within":"1000h"}`},
		{4, engineAccepts, "", `{"plans":[{"cycle_id":"cycle/johannesburg/3/c-0001","actions":[{"domain":"nutrition","service_type":"clinic"}]}],"recorded_by":"sw"}`},
		{4, engineRejects, "", `{"plans":[{"cycle_id":"cycle/moutse/1/nobody","actions":null}],"recorded_by":""}`},
		{5, engineExists, "", `{"by":"clinic nurse"}`},
		{5, engineAccepts, "", `{"by":"clinic nurse"}`},
		{6, engineAccepts, "", `{"outcome":"completed","by":"clinic"}`},
		{6, engineUnavailable, "", `{"outcome":"lost","by":7}`},
		{7, engineDown, "", `{"username":"coord","password":"wrong"}`},
		{7, engineDown, "", `{"username":"sw-pw","password":"correct horse battery"}`},
		{8, engineDown, "", `{"reason":"caregiver moved away","recorded_by":"sw"}`},
		{8, engineAccepts, "", `{"reason":"caregiver withdrew consent in writing","recorded_by":"coordinator"}`},
		{8, engineDown, "", `{"reason":"no","recorded_by":" "}`},
		{9, engineDown, "", `{"reason":"child transferred to my clinic after an injury, need history","minutes":30}`},
		{9, engineDown, "", `{"reason":"short","minutes":500}`},
		{9, engineDown, "", `{"reason":"child transferred to my clinic after an injury, need history","minutes":9223372036854775807}`},
		{9, engineDown, "", `{"reason":"child transferred to my clinic after an injury, need history","minutes":153722868}`},
		{0, engineAccepts, "", `{"site":"johannesburg","number":12,"window_open":"2001-01-01T00:00:00Z"}`},
		{0, engineAccepts, "", `{"site":"johannesburg","number":13,"window_open":"9999-12-01T00:00:00Z"}`},
		{0, engineDown, "", ``},
		{0, engineDown, "", `{} {}`},
		{0, engineDown, "", `[]`},
		{3, engineDown, "", `{"site":"johannesburg","site":"moutse"}`},
		{4, engineDown, "", `{"plans":[` + strings.Repeat(`{"actions":[{}]},`, 50) + `{}]}`},
	}
	for _, s := range seeds {
		f.Add(uint8(s.route), uint8(s.mode), s.key, []byte(s.body))
	}

	engine := &fuzzEngine{}
	fx, nurse := fuzzFixture(f, engine)
	f.Fuzz(func(t *testing.T, route, mode uint8, key string, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		engine.mode = int(mode&^fuzzCompressedTime) % engineModes
		fx.srv.AllowCompressedTime = mode&fuzzCompressedTime != 0
		fx.temporal.Calls = nil // the mock keeps every call; nothing reads them here

		header := []string{"Idempotency-Key", key}
		if r.nurse {
			header = append(header, "Authorization", "Bearer "+nurse)
		}
		before := dbState(t, fx.store)
		rec := fx.do(t, http.MethodPost, r.path, string(body), header...)
		res := rec.Result()
		ctype := res.Header.Get("Content-Type")
		what := fmt.Sprintf("POST %s (engine mode %d, Idempotency-Key %q) with %q: %d %s", r.path, engine.mode, key, body, rec.Code, rec.Body.String())

		t.Log(what)
		switch {
		case rec.Code == http.StatusInternalServerError:
			t.Fatalf("500: %s", what)
		case rec.Code >= 500 && rec.Code != http.StatusBadGateway && rec.Code != http.StatusServiceUnavailable:
			t.Fatalf("unexpected server error: %s", what)
		case rec.Code >= 400:
			if ctype != "application/problem+json" {
				t.Fatalf("error with content type %q: %s", ctype, what)
			}
			var p api.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code || p.Title == "" || p.Type == "" {
				t.Fatalf("not a problem document (%v): %s", err, what)
			}
			if rec.Code < 500 {
				if after := dbState(t, fx.store); !equalCounts(before, after) {
					t.Fatalf("a rejected request wrote to the database: %v -> %v: %s", before, after, what)
				}
			}
		case rec.Code >= 200 && rec.Code < 300:
			checkAccepted(t, r.path, body, rec.Code, rec.Body.Bytes(), what)
			if !strings.HasPrefix(ctype, "application/json") || !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("success without a JSON body (content type %q): %s", ctype, what)
			}
		default:
			t.Fatalf("unexpected status: %s", what)
		}
	})
}

// checkAccepted checks what a request that succeeded promised: a wave
// window that is still open, a break-the-glass grant of 5 minutes to 4 hours.
// Inputs that hit a known bug are skipped with its description (the seeds
// keep one of each, so the bug stays visible in go test -v).
func checkAccepted(t *testing.T, path string, body []byte, status int, resp []byte, what string) {
	t.Helper()
	switch {
	case path == "/api/v1/waves":
		var req struct {
			WindowOpen  *time.Time `json:"window_open"`
			WindowClose *time.Time `json:"window_close"`
		}
		_ = json.Unmarshal(body, &req)
		var got struct {
			WindowOpen  time.Time `json:"window_open"`
			WindowClose time.Time `json:"window_close"`
		}
		err := json.Unmarshal(resp, &got)
		if err == nil && got.WindowClose.After(now) && got.WindowClose.After(got.WindowOpen) {
			return
		}
		if req.WindowOpen != nil && req.WindowClose == nil {
			t.Fatalf("regression: launchWave (internal/api/waves.go:113-126) checks window_close only when the request gives one; "+
				"the close it derives from window_open (open + assessment_window) is never checked, so a window_open in the "+
				"past launches a wave that is already closed, and one in year 9999 launches a wave closing after year 9999 "+
				"whose 202 response cannot be encoded and goes out with an empty body: %s", what)
		}
		t.Fatalf("launched a wave whose window is not open (%v): %s", err, what)
	case strings.HasSuffix(path, "/access") && status == http.StatusCreated:
		var req struct {
			Minutes int `json:"minutes"`
		}
		_ = json.Unmarshal(body, &req)
		var got struct {
			ExpiresAt time.Time `json:"expires_at"`
		}
		err := json.Unmarshal(resp, &got)
		if req.Minutes < 5 || req.Minutes > 240 {
			t.Fatalf("regression: breakGlass (internal/api/privacy.go:187) bounds time.Duration(minutes)*time.Minute, which "+
				"overflows for minutes above about 153 million, so such a request is granted (201), stored and audited "+
				"as \"access granted for <minutes> minutes\" with an expiry wrapped into the past or into the first 4 hours: %s", what)
		}
		if want := now.Add(time.Duration(req.Minutes) * time.Minute); err != nil || !got.ExpiresAt.Equal(want) {
			t.Fatalf("grant expires at %v, want %v (%v): %s", got.ExpiresAt, want, err, what)
		}
	}
}

func equalCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
