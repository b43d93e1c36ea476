package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/sitedir"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/workflows"
)

// joziServiceTypes are the distinct types of sites/johannesburg/services.yaml, sorted.
var joziServiceTypes = []string{"clinic", "family_strengthening", "food_relief", "home_affairs", "learning_support", "sassa", "school_support", "social_development"}

func TestLaunchWaveRejectsBadInput(t *testing.T) {
	cases := []struct {
		name       string
		compressed bool
		noRef      bool // the site's instrument is not loaded
		body       string
		want       []fe
		bug        string
	}{
		{
			name: "every field wrong at once",
			body: `{"number":0,"day_length":"250ms","window_open":"2026-01-01T00:00:00Z","window_close":"2026-02-01T00:00:00Z"}`,
			want: []fe{{"site", "required"}, {"number", "out_of_range"}, {"day_length", "not_allowed"}, {"window_close", "out_of_range"}},
			bug:  "launchWave (internal/api/waves.go:121-126) checks window_close only when the site is valid, so a past window_close is not reported next to a missing or unknown site",
		},
		{
			name: "every field but the site wrong at once",
			body: `{"site":"johannesburg","number":0,"day_length":"250ms","window_open":"2026-01-01T00:00:00Z","window_close":"2026-02-01T00:00:00Z","page_size":-1}`,
			want: []fe{{"number", "out_of_range"}, {"day_length", "not_allowed"}, {"page_size", "out_of_range"}, {"window_close", "out_of_range"}},
		},
		{name: "unknown site", body: `{"site":"durban","number":1}`, want: []fe{{"site", "unknown"}}},
		{name: "wave number too high", body: `{"site":"johannesburg","number":1001}`, want: []fe{{"number", "out_of_range"}}},
		{name: "page size too big", body: `{"site":"johannesburg","number":1,"page_size":2001}`, want: []fe{{"page_size", "out_of_range"}}},
		{name: "window closes before it opens", body: `{"site":"johannesburg","number":1,"window_open":"2026-05-01T00:00:00Z","window_close":"2026-04-01T00:00:00Z"}`,
			want: []fe{{"window_close", "out_of_range"}}},
		{name: "window closed an hour ago", body: `{"site":"johannesburg","number":1,"window_open":"2026-02-01T00:00:00Z","window_close":"2026-03-02T07:00:00Z"}`,
			want: []fe{{"window_close", "out_of_range"}}},
		{name: "compressed day unparsable", compressed: true, body: `{"site":"johannesburg","number":1,"day_length":"fast"}`, want: []fe{{"day_length", "invalid"}}},
		{name: "compressed day too short", compressed: true, body: `{"site":"johannesburg","number":1,"day_length":"1ms"}`, want: []fe{{"day_length", "out_of_range"}}},
		{name: "compressed day longer than a day", compressed: true, body: `{"site":"johannesburg","number":1,"day_length":"25h"}`, want: []fe{{"day_length", "out_of_range"}}},
		{name: "site without an instrument", noRef: true, body: `{"site":"moutse","number":1}`, want: []fe{{"site", "not_ready"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(f *fixture) {
				f.srv.AllowCompressedTime = tc.compressed
				if tc.noRef {
					f.srv.Sites = withoutInstrument{f.dir, "moutse"}
				}
			})
			rec := f.do(t, http.MethodPost, "/api/v1/waves", tc.body)
			p := wantProblem(t, rec, http.StatusUnprocessableEntity)
			f.noTemporalCalls(t)
			got := fieldsOf(p)
			if tc.bug != "" && !assert.ObjectsAreEqual(tc.want, got) {
				t.Fatalf("regression: %s (got %v)", tc.bug, got)
			}
			assert.Equal(t, tc.want, got)
			for _, e := range p.Errors {
				assert.NotEmpty(t, e.Message, "field %s", e.Field)
			}
		})
	}
}

// withoutInstrument hides one site's instrument, as on a worker where it failed to load.
type withoutInstrument struct {
	*sitedir.Directory
	site string
}

func (w withoutInstrument) Instrument(siteID string) (cycle.InstrumentRef, bool) {
	if siteID == w.site {
		return cycle.InstrumentRef{}, false
	}
	return w.Directory.Instrument(siteID)
}

// launched captures an ExecuteWorkflow call.
type launched struct {
	opts     client.StartWorkflowOptions
	workflow any
	args     []any
}

func expectStart(f *fixture, got *launched, err error) {
	f.temporal.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Run(func(args mock.Arguments) {
			got.opts = args.Get(1).(client.StartWorkflowOptions)
			got.workflow = args.Get(2)
			got.args = args[3:]
		}).
		Return(nil, err).Once()
}

func TestLaunchWave(t *testing.T) {
	realTiming := cycle.Timing{
		ReminderEvery: days(7), PlanDeadline: days(21), UrgentReferralSLA: time.Hour, ReferralAckSLA: days(5), ReferralSLA: days(30),
		FollowUpEvery: days(14), ReassessAfter: days(90), ReassessmentWindow: days(21), MinutesDeadline: days(7), ProgressEvery: 6 * time.Hour,
		PlanGiveUpAfter: days(63), ReportAfter: days(30),
	}
	// A 1h day divides every site duration by 24.
	hourTiming := cycle.Timing{
		ReminderEvery: 7 * time.Hour, PlanDeadline: 21 * time.Hour, UrgentReferralSLA: 150 * time.Second, ReferralAckSLA: 5 * time.Hour, ReferralSLA: 30 * time.Hour,
		FollowUpEvery: 14 * time.Hour, ReassessAfter: 90 * time.Hour, ReassessmentWindow: 21 * time.Hour, MinutesDeadline: 7 * time.Hour, ProgressEvery: time.Hour,
		PlanGiveUpAfter: 63 * time.Hour, ReportAfter: 30 * time.Hour,
	}
	cases := []struct {
		name       string
		compressed bool
		body       string
		wantID     string
		wantQueue  string
		want       cycle.WaveInput
		wantBody   string
	}{
		{
			name:      "defaults: opens now, closes after the site's 42-day window",
			body:      `{"site":"johannesburg","number":3}`,
			wantID:    "wave/johannesburg/3",
			wantQueue: "khula-johannesburg",
			want: cycle.WaveInput{
				SiteID: "johannesburg", Number: 3, WindowOpen: now, WindowClose: now.Add(days(42)), Instrument: joziRef,
				Respondents: []string{"caregiver", "child", "teacher", "nurse"}, Timing: realTiming, ServiceTypes: joziServiceTypes,
			},
			wantBody: `{"wave_id":"wave/johannesburg/3","existing":false,"window_open":"2026-03-02T08:00:00Z","window_close":"2026-04-13T08:00:00Z","preview":{"continuing":0,"new":0,"lapsed":2,"held":0,"left":0,"left_by_reason":{}}}`,
		},
		{
			name:      "explicit window in another zone is stored in UTC",
			body:      `{"site":"johannesburg","number":4,"window_open":"2026-03-09T00:00:00+02:00","window_close":"2026-04-30T17:00:00Z","page_size":250}`,
			wantID:    "wave/johannesburg/4",
			wantQueue: "khula-johannesburg",
			want: cycle.WaveInput{
				SiteID: "johannesburg", Number: 4, WindowOpen: time.Date(2026, 3, 8, 22, 0, 0, 0, time.UTC), WindowClose: time.Date(2026, 4, 30, 17, 0, 0, 0, time.UTC),
				Instrument: joziRef, Respondents: []string{"caregiver", "child", "teacher", "nurse"}, Timing: realTiming, ServiceTypes: joziServiceTypes, PageSize: 250,
			},
			wantBody: `{"wave_id":"wave/johannesburg/4","existing":false,"window_open":"2026-03-08T22:00:00Z","window_close":"2026-04-30T17:00:00Z","preview":{"continuing":0,"new":0,"lapsed":2,"held":0,"left":0,"left_by_reason":{}}}`,
		},
		{
			name:       "compressed time scales the window and every wait",
			compressed: true,
			body:       `{"site":"johannesburg","number":5,"day_length":"1h"}`,
			wantID:     "wave/johannesburg/5",
			wantQueue:  "khula-johannesburg",
			want: cycle.WaveInput{
				SiteID: "johannesburg", Number: 5, WindowOpen: now, WindowClose: now.Add(42 * time.Hour), Instrument: joziRef,
				Respondents: []string{"caregiver", "child", "teacher", "nurse"}, Timing: hourTiming, ServiceTypes: joziServiceTypes, DayLength: time.Hour,
			},
			wantBody: `{"wave_id":"wave/johannesburg/5","existing":false,"window_open":"2026-03-02T08:00:00Z","window_close":"2026-03-04T02:00:00Z","day_length":"1h0m0s","preview":{"continuing":0,"new":0,"lapsed":2,"held":0,"left":0,"left_by_reason":{}}}`,
		},
		{
			name:      "moutse runs on its own queue with its own window (63 days)",
			body:      `{"site":"moutse","number":1}`,
			wantID:    "wave/moutse/1",
			wantQueue: "khula-moutse",
			want: cycle.WaveInput{
				SiteID: "moutse", Number: 1, WindowOpen: now, WindowClose: now.Add(days(63)), Instrument: cycle.InstrumentRef{ID: "cwtt-moutse", Version: "1.0.0"},
				Respondents: []string{"caregiver", "child", "teacher", "nurse"},
				Timing: cycle.Timing{
					ReminderEvery: days(14), PlanDeadline: days(35), UrgentReferralSLA: 4 * time.Hour, ReferralAckSLA: days(10), ReferralSLA: days(60),
					FollowUpEvery: days(21), ReassessAfter: days(120), ReassessmentWindow: days(42), MinutesDeadline: days(7), ProgressEvery: 6 * time.Hour,
					PlanGiveUpAfter: days(105), ReportAfter: days(42),
				},
				ServiceTypes: []string{"clinic", "family_strengthening", "food_relief", "home_affairs", "outreach", "sassa", "school_support", "social_development"},
			},
			wantBody: `{"wave_id":"wave/moutse/1","existing":false,"window_open":"2026-03-02T08:00:00Z","window_close":"2026-05-04T08:00:00Z","preview":{"continuing":0,"new":0,"lapsed":0,"held":0,"left":0,"left_by_reason":{}}}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(f *fixture) { f.srv.AllowCompressedTime = tc.compressed })
			var got launched
			expectStart(f, &got, nil)
			rec := f.do(t, http.MethodPost, "/api/v1/waves", tc.body)

			wantJSON(t, rec, http.StatusAccepted, nil)
			assert.JSONEq(t, tc.wantBody, rec.Body.String())
			n := tc.wantID[strings.LastIndex(tc.wantID, "/")+1:]
			assert.Equal(t, "/api/v1/waves/"+tc.want.SiteID+"/"+n, rec.Header().Get("Location"))

			assert.Equal(t, tc.wantID, got.opts.ID)
			assert.Equal(t, tc.wantQueue, got.opts.TaskQueue)
			assert.Equal(t, enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, got.opts.WorkflowIDReusePolicy)
			assert.Equal(t, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL, got.opts.WorkflowIDConflictPolicy)
			site, ok := got.opts.TypedSearchAttributes.GetKeyword(cycle.SASite)
			assert.True(t, ok && site == tc.want.SiteID, "KhulaSite search attribute = %q", site)
			wave, ok := got.opts.TypedSearchAttributes.GetInt64(cycle.SAWave)
			assert.True(t, ok && wave == int64(tc.want.Number), "KhulaWave search attribute = %d", wave)
			assert.Equal(t, workflows.WaveWorkflowName, got.workflow)
			require.Len(t, got.args, 1)
			assert.Equal(t, tc.want, got.args[0])
		})
	}
}

func TestLaunchWaveTwiceIsIdempotent(t *testing.T) {
	already := serviceerror.NewWorkflowExecutionAlreadyStarted("workflow execution already started", "req-1", "run-1")

	t.Run("wave not yet mirrored: the request's window", func(t *testing.T) {
		f := newFixture(t)
		var got launched
		expectStart(f, &got, already)
		rec := f.do(t, http.MethodPost, "/api/v1/waves", `{"site":"johannesburg","number":3}`)
		wantJSON(t, rec, http.StatusOK, nil)
		assert.JSONEq(t, `{"wave_id":"wave/johannesburg/3","existing":true,"window_open":"2026-03-02T08:00:00Z","window_close":"2026-04-13T08:00:00Z"}`, rec.Body.String())
		assert.Empty(t, rec.Header().Get("Location"))
	})
	t.Run("wave mirrored: the first launch's window", func(t *testing.T) {
		f := newFixture(t)
		seedWave(t, f.store, store.WaveOpen)
		var got launched
		expectStart(f, &got, already)
		rec := f.do(t, http.MethodPost, "/api/v1/waves", `{"site":"johannesburg","number":3}`)
		wantJSON(t, rec, http.StatusOK, nil)
		assert.JSONEq(t, `{"wave_id":"wave/johannesburg/3","existing":true,"window_open":"2026-02-16T06:00:00Z","window_close":"2026-03-30T06:00:00Z"}`, rec.Body.String())
	})
}

func TestLaunchWaveEngineErrors(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		status int
	}{
		{name: "engine unavailable", err: serviceerror.NewUnavailable("connection refused"), status: http.StatusServiceUnavailable},
		{name: "engine timed out", err: context.DeadlineExceeded, status: http.StatusServiceUnavailable},
		{name: "anything else", err: serviceerror.NewInternal("boom"), status: http.StatusBadGateway},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			var got launched
			expectStart(f, &got, tc.err)
			wantProblem(t, f.do(t, http.MethodPost, "/api/v1/waves", `{"site":"johannesburg","number":3}`), tc.status)
		})
	}
}

// seedWave mirrors wave 3 of johannesburg with four children: at
// meadowlands one assessing (awaiting caregiver and teacher forms) and one
// awaiting a plan; at malvern one assessing (awaiting the nurse) and one closed.
func seedWave(t *testing.T, st *store.Store, status string) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, st.EnsureSite(ctx, store.Site{ID: "johannesburg", Name: "City of Johannesburg", Setting: "urban"}, []store.School{
		{ID: "meadowlands", SiteID: "johannesburg", Name: "Meadowlands Primary", Quintile: 1},
		{ID: "malvern", SiteID: "johannesburg", Name: "Malvern Primary", Quintile: 3},
	}))
	// c-0001 (Meadowlands) is already there: every fixture has it.
	children := []struct{ id, school string }{{"c-0002", "meadowlands"}, {"c-0003", "malvern"}, {"c-0004", "malvern"}}
	var fams []store.Family
	for _, c := range children {
		fams = append(fams, store.Family{
			Caregiver: store.Caregiver{ID: "cg-" + c.id, SiteID: "johannesburg", GivenName: "Test", FamilyName: "Caregiver", Language: "zu"},
			Child: store.Child{ID: c.id, SiteID: "johannesburg", SchoolID: c.school, CaregiverID: "cg-" + c.id, GivenName: "Test", FamilyName: "Child",
				Sex: "female", BirthDate: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Grade: "R"},
		})
	}
	require.NoError(t, st.AddFamilies(ctx, fams))
	opened := time.Date(2026, 2, 16, 6, 0, 0, 0, time.UTC)
	require.NoError(t, st.SaveWave(ctx, cycle.WaveRecord{
		WaveID: "wave/johannesburg/3", SiteID: "johannesburg", Number: 3, WindowOpen: opened, WindowClose: opened.Add(days(42)),
		Status: status, CohortSize: 4, At: opened,
	}))
	stages := []struct {
		child, school, stage string
		awaiting             []string
	}{
		{"c-0001", "meadowlands", cycle.StageAssess, []string{"caregiver", "teacher"}},
		{"c-0002", "meadowlands", cycle.StagePlan, []string{"plan"}},
		{"c-0003", "malvern", cycle.StageAssess, []string{"nurse"}},
		{"c-0004", "malvern", cycle.StageClosed, nil},
	}
	for i, s := range stages {
		require.NoError(t, st.RecordStage(ctx, cycle.StageRecord{
			CycleID: cycle.CycleID("johannesburg", 3, s.child), WaveID: "wave/johannesburg/3", SiteID: "johannesburg", SchoolID: s.school,
			ChildID: s.child, Seq: 1, Stage: s.stage, Awaiting: s.awaiting, At: opened.Add(time.Duration(i) * time.Hour),
		}))
	}
}

func TestGetWave(t *testing.T) {
	f := newFixture(t)
	seedWave(t, f.store, store.WaveOpen)
	rec := f.do(t, http.MethodGet, "/api/v1/waves/johannesburg/3", "")
	wantJSON(t, rec, http.StatusOK, nil)
	assert.JSONEq(t, `{
		"id": "wave/johannesburg/3", "site": "johannesburg", "number": 3, "status": "open", "cohort_size": 4,
		"window_open": "2026-02-16T06:00:00Z", "window_close": "2026-03-30T06:00:00Z", "launched_at": "2026-02-16T06:00:00Z",
		"by_stage": {"assess": 2, "plan": 1, "closed": 1},
		"by_school": {"meadowlands": {"assess": 1, "plan": 1}, "malvern": {"assess": 1, "closed": 1}},
		"open": 3
	}`, rec.Body.String())
	f.noTemporalCalls(t)
}

func TestGetWaveNotFound(t *testing.T) {
	cases := []struct{ name, path string }{
		{"wave not launched", "/api/v1/waves/johannesburg/4"},
		{"wave is not a number", "/api/v1/waves/johannesburg/three"},
		{"wave zero", "/api/v1/waves/johannesburg/0"},
		{"unknown site", "/api/v1/waves/durban/3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			seedWave(t, f.store, store.WaveOpen)
			wantProblem(t, f.do(t, http.MethodGet, tc.path, ""), http.StatusNotFound)
		})
	}
}

func TestListWaves(t *testing.T) {
	f := newFixture(t)
	seedWave(t, f.store, store.WaveOpen)
	cases := []struct {
		query   string
		status  int
		wantIDs []string
	}{
		{query: "", status: http.StatusOK, wantIDs: []string{"wave/johannesburg/3"}},
		{query: "?site=johannesburg", status: http.StatusOK, wantIDs: []string{"wave/johannesburg/3"}},
		{query: "?site=moutse", status: http.StatusOK, wantIDs: []string{}},
		{query: "?site=durban", status: http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			rec := f.do(t, http.MethodGet, "/api/v1/waves"+tc.query, "")
			if tc.status != http.StatusOK {
				wantProblem(t, rec, tc.status)
				return
			}
			var body struct {
				Items []struct {
					ID string `json:"id"`
				} `json:"items"`
			}
			wantJSON(t, rec, http.StatusOK, &body)
			ids := []string{}
			for _, w := range body.Items {
				ids = append(ids, w.ID)
			}
			assert.Equal(t, tc.wantIDs, ids)
		})
	}
}

func TestGetWork(t *testing.T) {
	f := newFixture(t)
	seedWave(t, f.store, store.WaveOpen)
	type form struct {
		CycleID     string   `json:"cycle_id"`
		SchoolID    string   `json:"school_id"`
		Phase       string   `json:"phase"`
		Respondents []string `json:"respondents"`
	}
	type work struct {
		Forms        []form         `json:"forms"`
		AwaitingPlan []string       `json:"awaiting_plan"`
		PlanBySchool map[string]int `json:"awaiting_plan_by_school"`
	}
	c1 := form{CycleID: "cycle/johannesburg/3/c-0001", SchoolID: "meadowlands", Phase: "baseline", Respondents: []string{"caregiver", "teacher"}}
	c3 := form{CycleID: "cycle/johannesburg/3/c-0003", SchoolID: "malvern", Phase: "baseline", Respondents: []string{"nurse"}}
	cases := []struct {
		name  string
		query string
		want  work
	}{
		{name: "whole site", query: "?site=johannesburg",
			want: work{Forms: []form{c1, c3}, AwaitingPlan: []string{"cycle/johannesburg/3/c-0002"}, PlanBySchool: map[string]int{"meadowlands": 1}}},
		{name: "one school", query: "?site=johannesburg&school=malvern",
			want: work{Forms: []form{c3}, PlanBySchool: map[string]int{}}},
		{name: "limit bounds each list", query: "?site=johannesburg&limit=1",
			want: work{Forms: []form{c1}, AwaitingPlan: []string{"cycle/johannesburg/3/c-0002"}, PlanBySchool: map[string]int{"meadowlands": 1}}},
		{name: "site with nothing to do", query: "?site=moutse", want: work{PlanBySchool: map[string]int{}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got work
			wantJSON(t, f.do(t, http.MethodGet, "/api/v1/work"+tc.query, ""), http.StatusOK, &got)
			// An empty list may be sent as [] or null.
			if len(got.Forms) == 0 {
				got.Forms = nil
			}
			if len(got.AwaitingPlan) == 0 {
				got.AwaitingPlan = nil
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestGetWorkValidatesQuery(t *testing.T) {
	cases := []struct {
		name   string
		query  string
		status int
		want   []fe
	}{
		{name: "no site", query: "", status: http.StatusNotFound},
		{name: "unknown site", query: "?site=durban", status: http.StatusNotFound},
		{name: "school of another site", query: "?site=johannesburg&school=moutse-primary", status: http.StatusNotFound},
		{name: "limit zero", query: "?site=johannesburg&limit=0", status: http.StatusUnprocessableEntity, want: []fe{{"limit", "out_of_range"}}},
		{name: "limit too high", query: "?site=johannesburg&limit=1001", status: http.StatusUnprocessableEntity, want: []fe{{"limit", "out_of_range"}}},
		{name: "limit not a number", query: "?site=johannesburg&limit=ten", status: http.StatusUnprocessableEntity, want: []fe{{"limit", "out_of_range"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			p := wantProblem(t, f.do(t, http.MethodGet, "/api/v1/work"+tc.query, ""), tc.status)
			assert.Equal(t, tc.want, fieldsOf(p))
		})
	}
}
