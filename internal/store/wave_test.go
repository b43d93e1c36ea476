package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

func TestSaveWaveUpserts(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	id := cycle.WaveID(siteA, 1)
	rec := func(status string, cohort int, report string, at time.Time) cycle.WaveRecord {
		r := cycle.WaveRecord{WaveID: id, SiteID: siteA, Number: 1, WindowOpen: t0, WindowClose: t0.AddDate(0, 0, 14),
			DayLength: 200 * time.Millisecond, Status: status, CohortSize: cohort, At: at}
		if report != "" {
			r.Report = []byte(report)
		}
		return r
	}
	t1, t2, t3, t4 := t0, t0.Add(time.Hour), t0.AddDate(0, 0, 14), t0.AddDate(0, 0, 15)
	steps := []struct {
		name       string
		rec        cycle.WaveRecord
		wantStatus string
		wantCohort int
		wantClosed *time.Time
		wantReport string
	}{
		{name: "launching", rec: rec(cycle.WaveLaunching, 0, "", t1), wantStatus: store.WaveLaunching},
		{name: "open", rec: rec(cycle.WaveOpen, 12, "", t2), wantStatus: store.WaveOpen, wantCohort: 12},
		{name: "closing report is not kept", rec: rec(cycle.WaveClosing, 12, `{"draft":true}`, t3), wantStatus: store.WaveClosing, wantCohort: 12},
		{name: "closed", rec: rec(cycle.WaveClosed, 12, `{"cohort_size":12}`, t4), wantStatus: store.WaveClosed, wantCohort: 12,
			wantClosed: timePtr(t4), wantReport: `{"cohort_size":12}`},
	}
	for _, s := range steps {
		if err := st.SaveWave(ctx, s.rec); err != nil {
			t.Fatalf("%s: SaveWave: %v", s.name, err)
		}
		w, err := st.Wave(ctx, id)
		if err != nil {
			t.Fatalf("%s: Wave: %v", s.name, err)
		}
		if w.Status != s.wantStatus || w.CohortSize != s.wantCohort || !sameTime(w.ClosedAt, s.wantClosed) || w.Report != s.wantReport {
			t.Errorf("%s: wave status %q cohort %d closed %v report %q, want %q %d %v %q", s.name,
				w.Status, w.CohortSize, w.ClosedAt, w.Report, s.wantStatus, s.wantCohort, s.wantClosed, s.wantReport)
		}
		// Set at launch and never moved by later saves.
		if !w.LaunchedAt.Equal(t1) || w.Number != 1 || w.SiteID != siteA || !w.WindowOpen.Equal(t0) ||
			!w.WindowClose.Equal(t0.AddDate(0, 0, 14)) || w.DayLengthMS != 200 {
			t.Errorf("%s: wave = %+v, want launched %v, number 1, window %v..%v, day 200ms", s.name, w, t1, t0, t0.AddDate(0, 0, 14))
		}
	}
	if n := count(t, st, &store.Wave{}, ""); n != 1 {
		t.Errorf("%d wave rows, want 1", n)
	}
}

func TestWaveLookups(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	save := func(site string, n int, at time.Time) {
		t.Helper()
		if err := st.SaveWave(ctx, cycle.WaveRecord{WaveID: cycle.WaveID(site, n), SiteID: site, Number: n, WindowOpen: at,
			WindowClose: at.AddDate(0, 0, 14), Status: cycle.WaveOpen, At: at}); err != nil {
			t.Fatalf("SaveWave: %v", err)
		}
	}

	if _, err := st.Wave(ctx, cycle.WaveID(siteA, 1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Wave of an empty store: error %v, want ErrNotFound", err)
	}
	nextTests := []struct {
		name  string
		setup func()
		site  string
		want  int
	}{
		{name: "no waves", setup: func() {}, site: siteA, want: 1},
		{name: "after wave 1", setup: func() { save(siteA, 1, t0) }, site: siteA, want: 2},
		{name: "after a gap to wave 3", setup: func() { save(siteA, 3, t0.AddDate(0, 6, 0)) }, site: siteA, want: 4},
		{name: "other site still first", setup: func() {}, site: siteB, want: 1},
		{name: "other site after its wave 1", setup: func() { save(siteB, 1, t0.AddDate(0, 1, 0)) }, site: siteB, want: 2},
	}
	for _, tt := range nextTests {
		t.Run("NextWaveNumber/"+tt.name, func(t *testing.T) {
			tt.setup()
			got, err := st.NextWaveNumber(ctx, tt.site)
			if err != nil {
				t.Fatalf("NextWaveNumber: %v", err)
			}
			if got != tt.want {
				t.Errorf("NextWaveNumber(%s) = %d, want %d", tt.site, got, tt.want)
			}
		})
	}

	// Newest launch first: alpha 3 (t0+6m), beta 1 (t0+1m), alpha 1 (t0).
	listTests := []struct {
		site string
		want []string
	}{
		{site: siteA, want: []string{cycle.WaveID(siteA, 3), cycle.WaveID(siteA, 1)}},
		{site: siteB, want: []string{cycle.WaveID(siteB, 1)}},
		{site: "", want: []string{cycle.WaveID(siteA, 3), cycle.WaveID(siteB, 1), cycle.WaveID(siteA, 1)}},
	}
	for _, tt := range listTests {
		t.Run("Waves/"+tt.site, func(t *testing.T) {
			waves, err := st.Waves(ctx, tt.site)
			if err != nil {
				t.Fatalf("Waves: %v", err)
			}
			got := make([]string, len(waves))
			for i, w := range waves {
				got[i] = w.ID
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Waves(%q) = %q, want %q", tt.site, got, tt.want)
			}
		})
	}
}

func TestCohortPage(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "k01", "k03", "k05")
	addChildren(t, st, siteA, schoolA2, "k02", "k04")
	addChildren(t, st, siteB, schoolB1, "k00", "k06")

	tests := []struct {
		name  string
		site  string
		after string
		limit int
		want  []cycle.CohortMember
	}{
		{name: "first page", site: siteA, after: "", limit: 2, want: []cycle.CohortMember{{ChildID: "k01", SchoolID: schoolA1}, {ChildID: "k02", SchoolID: schoolA2}}},
		{name: "second page", site: siteA, after: "k02", limit: 2, want: []cycle.CohortMember{{ChildID: "k03", SchoolID: schoolA1}, {ChildID: "k04", SchoolID: schoolA2}}},
		{name: "last short page", site: siteA, after: "k04", limit: 2, want: []cycle.CohortMember{{ChildID: "k05", SchoolID: schoolA1}}},
		{name: "past the end", site: siteA, after: "k05", limit: 2, want: []cycle.CohortMember{}},
		{name: "cursor between IDs", site: siteA, after: "k025", limit: 1, want: []cycle.CohortMember{{ChildID: "k03", SchoolID: schoolA1}}},
		{name: "other site", site: siteB, after: "", limit: 10, want: []cycle.CohortMember{{ChildID: "k00", SchoolID: schoolB1}, {ChildID: "k06", SchoolID: schoolB1}}},
		{name: "unknown site", site: "gamma", after: "", limit: 10, want: []cycle.CohortMember{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.CohortPage(ctx, tt.site, tt.after, tt.limit)
			if err != nil {
				t.Fatalf("CohortPage: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("CohortPage(%s, %q, %d) = %+v, want %+v", tt.site, tt.after, tt.limit, got, tt.want)
			}
		})
	}

	// Walking the pages with the last ID as cursor visits every child once.
	var all []string
	after := ""
	for range 10 {
		page, err := st.CohortPage(ctx, siteA, after, 2)
		if err != nil {
			t.Fatalf("CohortPage: %v", err)
		}
		if len(page) == 0 {
			break
		}
		for _, m := range page {
			all = append(all, m.ChildID)
		}
		after = page[len(page)-1].ChildID
	}
	if want := []string{"k01", "k02", "k03", "k04", "k05"}; !reflect.DeepEqual(all, want) {
		t.Errorf("paging visited %q, want %q", all, want)
	}
}

func TestWaveProgressAndStageBySchool(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "c1", "c2", "c3")
	addChildren(t, st, siteA, schoolA2, "c4", "c5", "c6")
	addChildren(t, st, siteB, schoolB1, "b1")
	wave1 := addWave(t, st, siteA, 1)
	wave2 := addWave(t, st, siteA, 2)
	addWave(t, st, siteB, 1)

	// Wave 1: assess 2 (c1, c4), plan 1 (c2), closed 2 (c3, c5).
	stageAt(t, st, siteA, schoolA1, "c1", 2, cycle.StageAssess, nil)
	stageAt(t, st, siteA, schoolA1, "c2", 4, cycle.StagePlan, nil)
	stageAt(t, st, siteA, schoolA1, "c3", 9, cycle.StageClosed, nil)
	stageAt(t, st, siteA, schoolA2, "c4", 2, cycle.StageAssess, nil)
	stageAt(t, st, siteA, schoolA2, "c5", 9, cycle.StageClosed, nil)
	// Other waves.
	stageAt(t, st, siteA, schoolA2, "c6", 2, cycle.StageAssess, func(r *cycle.StageRecord) {
		r.CycleID, r.WaveID = cycle.CycleID(siteA, 2, "c6"), wave2
	})
	stageAt(t, st, siteB, schoolB1, "b1", 2, cycle.StageAssess, nil)

	progressTests := []struct {
		name string
		wave string
		want cycle.WaveProgress
	}{
		{name: "wave 1", wave: wave1, want: cycle.WaveProgress{CohortSize: 5, Open: 3,
			ByStage: map[string]int{cycle.StageAssess: 2, cycle.StagePlan: 1, cycle.StageClosed: 2}}},
		{name: "wave 2", wave: wave2, want: cycle.WaveProgress{CohortSize: 1, Open: 1, ByStage: map[string]int{cycle.StageAssess: 1}}},
		{name: "unknown wave", wave: cycle.WaveID(siteA, 9), want: cycle.WaveProgress{ByStage: map[string]int{}}},
	}
	for _, tt := range progressTests {
		t.Run("WaveProgress/"+tt.name, func(t *testing.T) {
			got, err := st.WaveProgress(ctx, tt.wave)
			if err != nil {
				t.Fatalf("WaveProgress: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("WaveProgress(%s) = %+v, want %+v", tt.wave, got, tt.want)
			}
		})
	}

	got, err := st.StageBySchool(ctx, wave1)
	if err != nil {
		t.Fatalf("StageBySchool: %v", err)
	}
	want := map[string]map[string]int{
		schoolA1: {cycle.StageAssess: 1, cycle.StagePlan: 1, cycle.StageClosed: 1},
		schoolA2: {cycle.StageAssess: 1, cycle.StageClosed: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("StageBySchool(%s) = %v, want %v", wave1, got, want)
	}
}
