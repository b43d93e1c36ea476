package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

// pageThrough follows next cursors from path and returns every item's id field.
func pageThrough(t *testing.T, f *fixture, path string, id func(map[string]any) string) ([]string, int) {
	t.Helper()
	var ids []string
	pages := 0
	next := ""
	for {
		p := path
		if next != "" {
			p += "&after=" + url.QueryEscape(next)
		}
		rec := f.do(t, http.MethodGet, p, "")
		var body struct {
			Items []map[string]any `json:"items"`
			Next  string           `json:"next"`
		}
		wantJSON(t, rec, http.StatusOK, &body)
		pages++
		for _, it := range body.Items {
			ids = append(ids, id(it))
		}
		if body.Next == "" {
			assert.Empty(t, rec.Header().Get("Link"))
			return ids, pages
		}
		assert.Contains(t, rec.Header().Get("Link"), `rel="next"`)
		next = body.Next
		require.Less(t, pages, 50)
	}
}

func TestWavesPage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	require.NoError(t, f.store.EnsureSite(ctx, store.Site{ID: "moutse", Name: "Moutse", Setting: "rural"}, nil))
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var want []string
	for i := 1; i <= 5; i++ {
		site := "johannesburg"
		if i == 3 {
			site = "moutse"
		}
		// Waves 4 and 5 launch in the same instant: the cursor breaks the tie by ID.
		launched := at.AddDate(0, 0, min(i, 4))
		require.NoError(t, f.store.SaveWave(ctx, cycle.WaveRecord{WaveID: cycle.WaveID(site, i), SiteID: site, Number: i,
			WindowOpen: launched, WindowClose: launched.AddDate(0, 1, 0), Status: cycle.WaveOpen, At: launched}))
	}
	want = []string{"wave/johannesburg/5", "wave/johannesburg/4", "wave/moutse/3", "wave/johannesburg/2", "wave/johannesburg/1"}
	id := func(m map[string]any) string { return m["id"].(string) }
	got, pages := pageThrough(t, f, "/api/v1/waves?limit=2", id)
	assert.Equal(t, want, got)
	assert.Equal(t, 3, pages)
	got, _ = pageThrough(t, f, "/api/v1/waves?site=johannesburg&limit=3", id)
	assert.Equal(t, []string{"wave/johannesburg/5", "wave/johannesburg/4", "wave/johannesburg/2", "wave/johannesburg/1"}, got)

	p := wantProblem(t, f.do(t, http.MethodGet, "/api/v1/waves?after=not-a-cursor", ""), http.StatusUnprocessableEntity)
	assert.Equal(t, "after", p.Errors[0].Field)
	p = wantProblem(t, f.do(t, http.MethodGet, "/api/v1/waves?limit=0", ""), http.StatusUnprocessableEntity)
	assert.Equal(t, "limit", p.Errors[0].Field)
}

func TestWorkPage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	seedWave(t, f.store, store.WaveOpen)
	at := time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)
	// Five more children awaiting a plan at Meadowlands.
	for i := 1; i <= 5; i++ {
		child := fmt.Sprintf("c-9%03d", i)
		require.NoError(t, f.store.AddFamilies(ctx, []store.Family{{
			Caregiver: store.Caregiver{ID: "cg-" + child, SiteID: "johannesburg", GivenName: "T", FamilyName: "C", Language: "zu"},
			Child: store.Child{ID: child, SiteID: "johannesburg", SchoolID: "meadowlands", CaregiverID: "cg-" + child, GivenName: "T", FamilyName: "C",
				Sex: "male", BirthDate: at.AddDate(-6, 0, 0), Grade: "1"},
		}}))
		require.NoError(t, f.store.RecordStage(ctx, cycle.StageRecord{CycleID: cycle.CycleID("johannesburg", 3, child), WaveID: "wave/johannesburg/3",
			SiteID: "johannesburg", SchoolID: "meadowlands", ChildID: child, Seq: 4, Stage: cycle.StagePlan, At: at}))
	}
	var sum struct {
		AwaitingPlan []string          `json:"awaiting_plan"`
		Next         map[string]string `json:"next"`
	}
	wantJSON(t, f.do(t, http.MethodGet, "/api/v1/work?site=johannesburg&limit=2", ""), http.StatusOK, &sum)
	assert.Len(t, sum.AwaitingPlan, 2)
	require.NotEmpty(t, sum.Next["awaiting_plan"], "more children await a plan")
	assert.Empty(t, sum.Next["meetings"])

	all := append([]string{}, sum.AwaitingPlan...)
	next := sum.Next["awaiting_plan"]
	for next != "" {
		var page struct {
			List  string   `json:"list"`
			Items []string `json:"items"`
			Next  string   `json:"next"`
		}
		wantJSON(t, f.do(t, http.MethodGet, "/api/v1/work?site=johannesburg&limit=2&list=awaiting_plan&after="+url.QueryEscape(next), ""), http.StatusOK, &page)
		assert.Equal(t, "awaiting_plan", page.List)
		all = append(all, page.Items...)
		next = page.Next
	}
	assert.Len(t, all, 6, "c-0002 and the five new children, each once")
	seen := map[string]bool{}
	for _, id := range all {
		assert.False(t, seen[id], "%s twice", id)
		seen[id] = true
	}
	p := wantProblem(t, f.do(t, http.MethodGet, "/api/v1/work?site=johannesburg&list=everything", ""), http.StatusUnprocessableEntity)
	assert.Equal(t, "list", p.Errors[0].Field)
	p = wantProblem(t, f.do(t, http.MethodGet, "/api/v1/work?site=johannesburg&after="+url.QueryEscape(next+"x"), ""), http.StatusUnprocessableEntity)
	assert.Equal(t, "list", p.Errors[0].Field)
}
