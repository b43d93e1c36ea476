package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

func TestAddConcernPutsAChildOnTheNextAgenda(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	seedWave(t, f.store, store.WaveOpen)
	// c-0001 closed low risk; child-7f3a9 is still enrolling.
	require.NoError(t, f.store.RecordStage(ctx, cycle.StageRecord{CycleID: cycle.CycleID("johannesburg", 3, "c-0001"), WaveID: "wave/johannesburg/3",
		SiteID: "johannesburg", SchoolID: "meadowlands", ChildID: "c-0001", Seq: 4, Stage: cycle.StageClosed, Outcome: cycle.OutcomeLowRisk, At: now}))
	require.NoError(t, f.store.RecordStage(ctx, cycle.StageRecord{CycleID: cycle.CycleID("johannesburg", 3, "child-7f3a9"), WaveID: "wave/johannesburg/3",
		SiteID: "johannesburg", SchoolID: "meadowlands", ChildID: "child-7f3a9", Seq: 1, Stage: cycle.StageEnrol, At: now}))
	path := "/api/v1/cycles/johannesburg/3/c-0001/agenda"

	cases := []struct {
		name, path, body string
		want             int
		wantText         string
	}{
		{"too short a reason", path, `{"reason":"hm","added_by":"Grade 1 teacher"}`, http.StatusUnprocessableEntity, "reason"},
		{"no one raises it", path, `{"reason":"struggles to read and seems withdrawn"}`, http.StatusUnprocessableEntity, "added_by"},
		{"a low-risk child", path, `{"reason":"struggles to read and seems withdrawn","added_by":"Grade 1 teacher"}`, http.StatusCreated, "on the next agenda"},
		{"twice", path, `{"reason":"struggles to read and seems withdrawn","added_by":"Grade 1 teacher"}`, http.StatusConflict, "already on the next meeting's agenda"},
		{"not enrolled yet", "/api/v1/cycles/johannesburg/3/child-7f3a9/agenda", `{"reason":"worried about bruises","added_by":"teacher"}`, http.StatusConflict, "not enrolled with consent"},
		{"unknown child", "/api/v1/cycles/johannesburg/3/c-nobody/agenda", `{"reason":"worried about bruises","added_by":"teacher"}`, http.StatusNotFound, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(t, http.MethodPost, tc.path, tc.body)
			assert.Equal(t, tc.want, w.Code, w.Body.String())
			assert.True(t, strings.Contains(w.Body.String(), tc.wantText), w.Body.String())
		})
	}
	items, err := f.store.PendingAgenda(ctx, "johannesburg", "meadowlands")
	require.NoError(t, err)
	var concern *cycle.AgendaItem
	for i := range items {
		if items[i].CycleID == cycle.CycleID("johannesburg", 3, "c-0001") {
			concern = &items[i]
		}
	}
	require.NotNil(t, concern, "the low-risk child is not on the agenda: %+v", items)
	assert.Equal(t, cycle.AgendaConcern, concern.Reason)
	// The reason never leaves the sealed table through the agenda.
	assert.Empty(t, concern.Concern)
}
