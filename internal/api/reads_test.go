package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

func TestGetSite(t *testing.T) {
	f := newFixture(t)
	var got struct {
		ID           string              `json:"id"`
		Setting      string              `json:"setting"`
		Respondents  []string            `json:"respondents"`
		ServiceTypes []string            `json:"service_types"`
		Instrument   cycle.InstrumentRef `json:"instrument"`
		Durations    map[string]string   `json:"durations"`
		Schools      []struct {
			ID       string `json:"id"`
			Quintile int    `json:"quintile"`
		} `json:"schools"`
	}
	wantJSON(t, f.do(t, http.MethodGet, "/api/v1/sites/johannesburg", ""), http.StatusOK, &got)
	assert.Equal(t, "johannesburg", got.ID)
	assert.Equal(t, "urban", got.Setting)
	assert.Equal(t, []string{"caregiver", "child", "teacher", "nurse"}, got.Respondents)
	assert.Equal(t, joziServiceTypes, got.ServiceTypes)
	assert.Equal(t, joziRef, got.Instrument)
	// site.yaml's durations, written in their largest whole unit.
	assert.Equal(t, map[string]string{
		"assessment_window": "6w", "reminder_every": "1w", "plan_deadline": "3w", "urgent_referral_sla": "1h",
		"referral_ack_sla": "5d", "referral_sla": "30d", "follow_up_every": "2w", "reassess_after": "90d", "reassessment_window": "3w",
	}, got.Durations)
	var schools []string
	for _, s := range got.Schools {
		schools = append(schools, s.ID)
	}
	assert.Equal(t, []string{"meadowlands", "ivory-park", "doornkop", "malvern", "alexandra"}, schools)

	wantProblem(t, f.do(t, http.MethodGet, "/api/v1/sites/durban", ""), http.StatusNotFound)
}

func TestListSites(t *testing.T) {
	f := newFixture(t)
	var got struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	wantJSON(t, f.do(t, http.MethodGet, "/api/v1/sites", ""), http.StatusOK, &got)
	var ids []string
	for _, s := range got.Items {
		ids = append(ids, s.ID)
	}
	assert.Equal(t, []string{"johannesburg", "moutse"}, ids)
}

func TestGetCycle(t *testing.T) {
	f := newFixture(t)
	seedWave(t, f.store, store.WaveOpen)
	var got struct {
		Cycle struct {
			ID, Stage, SchoolID, Awaiting string
		}
		Timeline []struct {
			Seq   int
			Stage string
		}
	}
	wantJSON(t, f.do(t, http.MethodGet, "/api/v1/cycles/johannesburg/3/c-0001", ""), http.StatusOK, &got)
	assert.Equal(t, "cycle/johannesburg/3/c-0001", got.Cycle.ID)
	assert.Equal(t, cycle.StageAssess, got.Cycle.Stage)
	assert.Equal(t, "meadowlands", got.Cycle.SchoolID)
	assert.Equal(t, "caregiver,teacher", got.Cycle.Awaiting)
	require.Len(t, got.Timeline, 1)
	assert.Equal(t, 1, got.Timeline[0].Seq)

	for _, path := range []string{
		"/api/v1/cycles/johannesburg/3/c-9999",
		"/api/v1/cycles/johannesburg/4/c-0001",
		"/api/v1/cycles/johannesburg/x/c-0001",
		"/api/v1/cycles/durban/3/c-0001",
	} {
		t.Run(path, func(t *testing.T) {
			wantProblem(t, f.do(t, http.MethodGet, path, ""), http.StatusNotFound)
		})
	}
	f.noTemporalCalls(t)
}

func TestGetMeeting(t *testing.T) {
	f := newFixture(t)
	seedWave(t, f.store, store.WaveOpen)
	require.NoError(t, f.store.SaveMeeting(context.Background(), cycle.MeetingRecord{
		MeetingID: "meeting/johannesburg/meadowlands/2026-03-05", SiteID: "johannesburg", SchoolID: "meadowlands", Date: "2026-03-05",
		Status: cycle.MeetingAwaitingMinutes, At: time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC),
		Agenda: []cycle.AgendaItem{{CycleID: "cycle/johannesburg/3/c-0002", ChildID: "c-0002", Reason: cycle.AgendaAwaitingPlan, Domains: map[string]string{"education": "high"}}},
	}))
	rec := f.do(t, http.MethodGet, "/api/v1/meetings/johannesburg/meadowlands/2026-03-05", "")
	wantJSON(t, rec, http.StatusOK, nil)
	assert.JSONEq(t, `{
		"id": "meeting/johannesburg/meadowlands/2026-03-05", "site": "johannesburg", "school": "meadowlands", "date": "2026-03-05",
		"status": "awaiting_minutes", "held_at": null, "attendance": null, "overdue_actions": [],
		"agenda": [{"cycle_id": "cycle/johannesburg/3/c-0002", "child_id": "c-0002", "reason": "awaiting_plan", "domains": {"education": "high"}}]
	}`, rec.Body.String())

	wantProblem(t, f.do(t, http.MethodGet, "/api/v1/meetings/johannesburg/meadowlands/2026-03-06", ""), http.StatusNotFound)
	wantProblem(t, f.do(t, http.MethodGet, "/api/v1/meetings/durban/meadowlands/2026-03-05", ""), http.StatusNotFound)
}
