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
	"go.temporal.io/api/serviceerror"

	"github.com/khula-cop/khula/internal/api"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

const (
	waveClose  = "/api/v1/waves/johannesburg/3/close-window"
	cycleClose = "/api/v1/cycles/johannesburg/3/c-0001/close-window"
)

// expectClose expects one close-window signal to workflowID and returns what it carried.
func expectClose(f *fixture, workflowID string, err error) *cycle.CloseWindowSignal {
	got := &cycle.CloseWindowSignal{}
	f.temporal.On("SignalWorkflow", mock.Anything, workflowID, "", cycle.SignalCloseWindow, mock.Anything).
		Run(func(args mock.Arguments) { *got = args.Get(4).(cycle.CloseWindowSignal) }).
		Return(err).Once()
	return got
}

func TestCloseWaveWindow(t *testing.T) {
	f := newFixture(t)
	seedWave(t, f.store, store.WaveOpen)
	sent := expectClose(f, "wave/johannesburg/3", nil)

	rec := f.do(t, http.MethodPost, waveClose, `{"reason":"every form the schools will return is in"}`, "Idempotency-Key", "close-wave-3-a")
	wantJSON(t, rec, http.StatusAccepted, nil)
	assert.JSONEq(t, `{"wave_id":"wave/johannesburg/3","closing":true}`, rec.Body.String())
	assert.Equal(t, cycle.CloseWindowSignal{Phase: cycle.PhaseBaseline, By: "coord: every form the schools will return is in"}, *sent)

	// A retry with the same key is answered as the first was, without a
	// second signal, even once the wave is closing.
	require.NoError(t, f.store.SaveWave(context.Background(), cycle.WaveRecord{WaveID: "wave/johannesburg/3", SiteID: "johannesburg", Number: 3,
		Status: store.WaveClosing, CohortSize: 4, At: now}))
	rec = f.do(t, http.MethodPost, waveClose, `{"reason":"every form the schools will return is in"}`, "Idempotency-Key", "close-wave-3-a")
	wantJSON(t, rec, http.StatusAccepted, nil)
	assert.JSONEq(t, `{"wave_id":"wave/johannesburg/3","closing":true}`, rec.Body.String())
	assert.Equal(t, "true", rec.Header().Get("Idempotent-Replayed"))

	// The same key for another request is refused; a new request finds the window closed.
	rec = f.do(t, http.MethodPost, waveClose, `{"reason":"something else"}`, "Idempotency-Key", "close-wave-3-a")
	assert.Equal(t, "Idempotency-Key", fieldsOf(wantProblem(t, rec, http.StatusUnprocessableEntity))[0].Field)
	rec = f.do(t, http.MethodPost, waveClose, "")
	wantProblem(t, rec, http.StatusConflict)
}

func TestCloseWaveWindowRefusals(t *testing.T) {
	cases := []struct {
		name   string
		path   string
		body   string
		header []string
		status int
		field  string
	}{
		{name: "unknown wave", path: "/api/v1/waves/johannesburg/9/close-window", status: http.StatusNotFound},
		{name: "not a wave number", path: "/api/v1/waves/johannesburg/x/close-window", status: http.StatusNotFound},
		{name: "unknown site", path: "/api/v1/waves/atlantis/3/close-window", status: http.StatusNotFound},
		{name: "bad key", path: waveClose, header: []string{"Idempotency-Key", "no spaces allowed"}, status: http.StatusUnprocessableEntity, field: "Idempotency-Key"},
		{name: "reason too long", path: waveClose, body: `{"reason":"` + strings.Repeat("x", 501) + `"}`, status: http.StatusUnprocessableEntity, field: "reason"},
		{name: "unknown field", path: waveClose, body: `{"phase":"baseline"}`, status: http.StatusUnprocessableEntity, field: "phase"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			seedWave(t, f.store, store.WaveOpen)
			rec := f.do(t, http.MethodPost, tc.path, tc.body, tc.header...)
			p := wantProblem(t, rec, tc.status)
			if tc.field != "" {
				require.NotEmpty(t, p.Errors)
				assert.Equal(t, tc.field, p.Errors[0].Field)
			}
			f.noTemporalCalls(t)
		})
	}
	t.Run("closed wave", func(t *testing.T) {
		f := newFixture(t)
		seedWave(t, f.store, store.WaveClosed)
		wantProblem(t, f.do(t, http.MethodPost, waveClose, ""), http.StatusConflict)
		f.noTemporalCalls(t)
	})
	t.Run("engine down", func(t *testing.T) {
		f := newFixture(t)
		seedWave(t, f.store, store.WaveOpen)
		expectClose(f, "wave/johannesburg/3", serviceerror.NewUnavailable("engine down"))
		wantProblem(t, f.do(t, http.MethodPost, waveClose, ""), http.StatusServiceUnavailable)
	})
}

// seedCycle records c-0001's cycle of wave 3 at a stage.
func seedCycle(t *testing.T, f *fixture, stage string) {
	t.Helper()
	require.NoError(t, f.store.SaveWave(context.Background(), cycle.WaveRecord{WaveID: "wave/johannesburg/3", SiteID: "johannesburg", Number: 3,
		WindowOpen: now, WindowClose: now.Add(days(42)), Status: store.WaveOpen, CohortSize: 2, At: now}))
	require.NoError(t, f.store.RecordStage(context.Background(), cycle.StageRecord{
		CycleID: "cycle/johannesburg/3/c-0001", WaveID: "wave/johannesburg/3", SiteID: "johannesburg", SchoolID: "meadowlands",
		ChildID: "c-0001", Seq: 5, Stage: stage, At: now,
	}))
}

func TestCloseCycleWindow(t *testing.T) {
	f := newFixture(t)
	seedCycle(t, f, cycle.StageReassess)
	sent := expectClose(f, "cycle/johannesburg/3/c-0001", nil)

	rec := f.do(t, http.MethodPost, cycleClose, `{"phase":"reassessment"}`, "Idempotency-Key", "close-cycle-1")
	wantJSON(t, rec, http.StatusAccepted, nil)
	assert.JSONEq(t, `{"cycle_id":"cycle/johannesburg/3/c-0001","phase":"reassessment","closing":true}`, rec.Body.String())
	assert.Equal(t, cycle.CloseWindowSignal{Phase: cycle.PhaseReassessment, By: "coord"}, *sent)
	// Retried: the same answer, no second signal (the mock expects one).
	rec = f.do(t, http.MethodPost, cycleClose, `{"phase":"reassessment"}`, "Idempotency-Key", "close-cycle-1")
	wantJSON(t, rec, http.StatusAccepted, nil)
	assert.Equal(t, "true", rec.Header().Get("Idempotent-Replayed"))

	// The write is on the child's audit trail.
	trail, err := f.store.AuditTrail(context.Background(), "c-0001", 10)
	require.NoError(t, err)
	var writes []string
	for _, e := range trail {
		if e.Action == store.AuditWrite {
			writes = append(writes, e.What+" "+e.Outcome)
		}
	}
	assert.Equal(t, []string{"closed the reassessment forms window 202"}, writes)
}

func TestCloseCycleWindowRefusals(t *testing.T) {
	cases := []struct {
		name   string
		stage  string // "" seeds no cycle
		path   string
		body   string
		status int
		field  string
	}{
		{name: "no phase", stage: cycle.StageAssess, body: `{}`, status: http.StatusUnprocessableEntity, field: "phase"},
		{name: "bad phase", stage: cycle.StageAssess, body: `{"phase":"midline"}`, status: http.StatusUnprocessableEntity, field: "phase"},
		{name: "no body", stage: cycle.StageAssess, status: http.StatusBadRequest},
		{name: "no such cycle", body: `{"phase":"baseline"}`, status: http.StatusNotFound},
		{name: "closed cycle", stage: cycle.StageClosed, body: `{"phase":"baseline"}`, status: http.StatusConflict},
		{name: "child of another site", stage: cycle.StageAssess, path: "/api/v1/cycles/moutse/3/c-0001/close-window", body: `{"phase":"baseline"}`, status: http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.stage != "" {
				seedCycle(t, f, tc.stage)
			}
			path := tc.path
			if path == "" {
				path = cycleClose
			}
			p := wantProblem(t, f.do(t, http.MethodPost, path, tc.body), tc.status)
			if tc.field != "" {
				require.NotEmpty(t, p.Errors)
				assert.Equal(t, tc.field, p.Errors[0].Field)
			}
			f.noTemporalCalls(t)
		})
	}
	t.Run("the cycle closed meanwhile", func(t *testing.T) {
		f := newFixture(t)
		seedCycle(t, f, cycle.StageAssess)
		expectClose(f, "cycle/johannesburg/3/c-0001", serviceerror.NewNotFound("workflow execution already completed"))
		wantProblem(t, f.do(t, http.MethodPost, cycleClose, `{"phase":"baseline"}`), http.StatusNotFound)
	})
}

func TestLaunchWaveHoldWindows(t *testing.T) {
	t.Run("only for a simulated wave", func(t *testing.T) {
		f := newFixture(t, compressedTime)
		rec := f.do(t, http.MethodPost, "/api/v1/waves", `{"site":"johannesburg","number":3,"hold_windows":true}`)
		p := wantProblem(t, rec, http.StatusUnprocessableEntity)
		assert.Contains(t, fieldsOf(p), fe{"hold_windows", "requires_day_length"})
		f.noTemporalCalls(t)
	})
	t.Run("every outcome deadline gets a backstop of four times its length", func(t *testing.T) {
		f := newFixture(t, compressedTime)
		var got launched
		expectStart(f, &got, nil)
		rec := f.do(t, http.MethodPost, "/api/v1/waves", `{"site":"johannesburg","number":3,"day_length":"1h","hold_windows":true}`)
		wantJSON(t, rec, http.StatusAccepted, nil)
		assert.JSONEq(t, `{"wave_id":"wave/johannesburg/3","existing":false,"window_open":"2026-03-02T08:00:00Z","window_close":"2026-03-09T08:00:00Z",`+
			`"day_length":"1h0m0s","hold_windows":true,"window_due":"2026-03-04T02:00:00Z",`+
			`"preview":{"continuing":0,"new":0,"lapsed":2,"held":0,"left":0,"left_by_reason":{}}}`, rec.Body.String())
		require.Len(t, got.args, 1)
		in := got.args[0].(cycle.WaveInput)
		site := mustSite(t, f.dir, "johannesburg")
		plain := api.TimingFor(site, time.Hour)
		assert.Equal(t, now.Add(4*42*time.Hour), in.WindowClose)
		assert.Equal(t, 4*plain.ReassessmentWindow, in.Timing.ReassessmentWindow)
		assert.Equal(t, 4*plain.PlanGiveUpAfter, in.Timing.PlanGiveUpAfter)
		assert.Greater(t, plain.PlanGiveUpAfter, time.Duration(0))
		assert.Greater(t, in.Timing.ReportAfter, in.Timing.PlanGiveUpAfter+plain.ReassessAfter+in.Timing.ReassessmentWindow,
			"the report waits for the longest a cycle can run after the window")
		// Referral SLAs and the rest are as the site says.
		for name, pair := range map[string][2]time.Duration{
			"referral ack SLA": {plain.ReferralAckSLA, in.Timing.ReferralAckSLA}, "referral SLA": {plain.ReferralSLA, in.Timing.ReferralSLA},
			"urgent SLA": {plain.UrgentReferralSLA, in.Timing.UrgentReferralSLA}, "reassess after": {plain.ReassessAfter, in.Timing.ReassessAfter},
			"plan deadline": {plain.PlanDeadline, in.Timing.PlanDeadline},
		} {
			assert.Equal(t, pair[0], pair[1], name)
		}
	})
	t.Run("on a short day the backstop is at least ten minutes past the deadline", func(t *testing.T) {
		f := newFixture(t, compressedTime)
		var got launched
		expectStart(f, &got, nil)
		rec := f.do(t, http.MethodPost, "/api/v1/waves", `{"site":"johannesburg","number":3,"day_length":"250ms","hold_windows":true}`)
		wantJSON(t, rec, http.StatusAccepted, nil)
		in := got.args[0].(cycle.WaveInput)
		plain := api.TimingFor(mustSite(t, f.dir, "johannesburg"), 250*time.Millisecond)
		window := 42 * 250 * time.Millisecond
		assert.Equal(t, now.Add(window+api.HoldFloor), in.WindowClose)
		assert.Contains(t, rec.Body.String(), `"window_due":"`+now.Add(window).Format(time.RFC3339Nano)+`"`)
		assert.Equal(t, plain.ReassessmentWindow+api.HoldFloor, in.Timing.ReassessmentWindow)
		assert.Equal(t, plain.PlanGiveUpAfter+api.HoldFloor, in.Timing.PlanGiveUpAfter)
	})
	t.Run("an explicit window close is stretched too", func(t *testing.T) {
		f := newFixture(t, compressedTime)
		var got launched
		expectStart(f, &got, nil)
		rec := f.do(t, http.MethodPost, "/api/v1/waves", `{"site":"johannesburg","number":3,"day_length":"1h","hold_windows":true,"window_close":"2026-03-02T18:00:00Z"}`)
		wantJSON(t, rec, http.StatusAccepted, nil)
		in := got.args[0].(cycle.WaveInput)
		assert.Equal(t, now.Add(40*time.Hour), in.WindowClose)
		assert.Contains(t, rec.Body.String(), `"window_due":"2026-03-02T18:00:00Z"`)
	})
}
