package activities_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/sites"
)

// cohort20 is children c01..c20; odd ones at meadowlands, even at malvern.
func cohort20() []cycle.CohortMember {
	out := make([]cycle.CohortMember, 0, 20)
	for i := 1; i <= 20; i++ {
		school := "meadowlands"
		if i%2 == 0 {
			school = "malvern"
		}
		out = append(out, cycle.CohortMember{ChildID: fmt.Sprintf("c%02d", i), SchoolID: school})
	}
	return out
}

func testWave() cycle.WaveInput {
	return cycle.WaveInput{
		SiteID:       "jhb",
		Number:       3,
		WindowOpen:   time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC),
		WindowClose:  time.Date(2026, 4, 13, 0, 0, 0, 0, time.UTC),
		Instrument:   cycle.InstrumentRef{ID: "cwtt-johannesburg", Version: "1.0.0"},
		Respondents:  []string{"caregiver", "teacher"},
		Timing:       cycle.Timing{ReminderEvery: 7 * 24 * time.Hour, PlanDeadline: 21 * 24 * time.Hour},
		ServiceTypes: []string{"clinic", "social_development"},
		PageSize:     18,
	}
}

func TestStartCyclePage(t *testing.T) {
	cases := []struct {
		name      string
		cursor    string
		pageSize  int
		existing  []string                    // cycles already running
		resume    *activities.StartPageOutput // heartbeat of an earlier attempt
		want      activities.StartPageOutput
		wantCalls []cohortCall
		// wantStarted are the children whose cycles this attempt starts or finds.
		wantStarted []string
		wantBeats   []activities.StartPageOutput
	}{
		{
			name: "first page of a longer cohort, two cycles already running", pageSize: 18, existing: []string{"c02", "c17"},
			want:        activities.StartPageOutput{Started: 16, Existing: 2, Cursor: "c18"},
			wantCalls:   []cohortCall{{Site: "jhb", After: "", Limit: 18}},
			wantStarted: ids(1, 18),
			// One heartbeat per chunk of 16: after c16, then after c18.
			wantBeats: []activities.StartPageOutput{{Started: 15, Existing: 1, Cursor: "c16"}, {Started: 16, Existing: 2, Cursor: "c18"}},
		},
		{
			name: "short last page is done", cursor: "c18", pageSize: 18,
			want:        activities.StartPageOutput{Started: 2, Cursor: "c20", Done: true},
			wantCalls:   []cohortCall{{Site: "jhb", After: "c18", Limit: 18}},
			wantStarted: ids(19, 20),
			wantBeats:   []activities.StartPageOutput{{Started: 2, Cursor: "c20", Done: true}},
		},
		{
			name: "exactly full page is not done", cursor: "c10", pageSize: 10,
			want:        activities.StartPageOutput{Started: 10, Cursor: "c20"},
			wantCalls:   []cohortCall{{Site: "jhb", After: "c10", Limit: 10}},
			wantStarted: ids(11, 20),
			wantBeats:   []activities.StartPageOutput{{Started: 10, Cursor: "c20"}},
		},
		{
			name: "empty page after the last child", cursor: "c20", pageSize: 18,
			want:      activities.StartPageOutput{Cursor: "c20", Done: true},
			wantCalls: []cohortCall{{Site: "jhb", After: "c20", Limit: 18}},
		},
		{
			name: "relaunch finds every cycle running", pageSize: 18, existing: ids(1, 20),
			want:        activities.StartPageOutput{Existing: 18, Cursor: "c18"},
			wantCalls:   []cohortCall{{Site: "jhb", After: "", Limit: 18}},
			wantStarted: ids(1, 18),
			wantBeats:   []activities.StartPageOutput{{Existing: 16, Cursor: "c16"}, {Existing: 18, Cursor: "c18"}},
		},
		{
			name: "retry resumes after the heartbeat and keeps its counts", pageSize: 18, existing: append(ids(1, 16), "c17"),
			resume:      &activities.StartPageOutput{Started: 15, Existing: 1, Cursor: "c16"},
			want:        activities.StartPageOutput{Started: 16, Existing: 2, Cursor: "c18"},
			wantCalls:   []cohortCall{{Site: "jhb", After: "c16", Limit: 2}},
			wantStarted: ids(17, 18),
			wantBeats:   []activities.StartPageOutput{{Started: 16, Existing: 2, Cursor: "c18"}},
		},
		{
			name: "retry whose heartbeat covers the whole page starts nothing", pageSize: 18, existing: ids(1, 18),
			resume: &activities.StartPageOutput{Started: 17, Existing: 1, Cursor: "c18"},
			want:   activities.StartPageOutput{Started: 17, Existing: 1, Cursor: "c18"},
		},
		{
			name: "retry of the short last page is done", cursor: "c16", pageSize: 18, existing: ids(17, 18),
			resume:      &activities.StartPageOutput{Started: 2, Cursor: "c18"},
			want:        activities.StartPageOutput{Started: 4, Cursor: "c20", Done: true},
			wantCalls:   []cohortCall{{Site: "jhb", After: "c18", Limit: 16}},
			wantStarted: ids(19, 20),
			wantBeats:   []activities.StartPageOutput{{Started: 4, Cursor: "c20", Done: true}},
		},
		{
			name: "heartbeat from before this page's cursor is ignored", cursor: "c18", pageSize: 18,
			resume:      &activities.StartPageOutput{Started: 5, Cursor: "c05"},
			want:        activities.StartPageOutput{Started: 2, Cursor: "c20", Done: true},
			wantCalls:   []cohortCall{{Site: "jhb", After: "c18", Limit: 18}},
			wantStarted: ids(19, 20),
			wantBeats:   []activities.StartPageOutput{{Started: 2, Cursor: "c20", Done: true}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs := &fakeRecords{cohort: cohort20()}
			st := &fakeStarter{existing: map[string]bool{}}
			for _, id := range tc.existing {
				st.existing[id] = true
			}
			a := &activities.Activities{Records: recs, Starter: st}
			hb := &heartbeats{}
			env := newEnv(a, hb)
			if tc.resume != nil {
				env.SetHeartbeatDetails(*tc.resume)
			}
			w := testWave()
			val, err := env.ExecuteActivity(a.StartCyclePage, activities.StartPageInput{Wave: w, Cursor: tc.cursor, PageSize: tc.pageSize})
			require.NoError(t, err)
			var out activities.StartPageOutput
			require.NoError(t, val.Get(&out))
			assert.Equal(t, tc.want, out)
			assert.Equal(t, tc.wantCalls, recs.cohortCalls)
			assert.Equal(t, tc.wantBeats, hb.list())

			got := st.children()
			assert.Len(t, st.got, len(tc.wantStarted), "StartCycle calls (each child once)")
			for _, child := range tc.wantStarted {
				in, ok := got[child]
				if !assert.True(t, ok, "no StartCycle for %s", child) {
					continue
				}
				school := "meadowlands"
				if n := child[len(child)-1] - '0'; n%2 == 0 {
					school = "malvern"
				}
				assert.Equal(t, cycle.CycleInput{
					SiteID: "jhb", WaveID: "wave/jhb/3", Wave: 3, ChildID: child, SchoolID: school,
					Instrument: w.Instrument, Respondents: w.Respondents, WindowClose: w.WindowClose,
					Timing: w.Timing, ServiceTypes: w.ServiceTypes,
				}, in)
			}
		})
	}
}

// A page that fails part-way is retried from its last heartbeat: the
// children of the finished chunk are not started again and the totals
// still add up to the page.
func TestStartCyclePageCrashAndResume(t *testing.T) {
	recs := &fakeRecords{cohort: cohort20()}
	st := &fakeStarter{existing: map[string]bool{"c02": true, "c17": true}, failOn: "c18"}
	a := &activities.Activities{Records: recs, Starter: st}
	in := activities.StartPageInput{Wave: testWave(), PageSize: 20}

	hb := &heartbeats{}
	_, err := newEnv(a, hb).ExecuteActivity(a.StartCyclePage, in)
	wantRetryable(t, err)
	beats := hb.list()
	require.Equal(t, []activities.StartPageOutput{{Started: 15, Existing: 1, Cursor: "c16"}}, beats)
	firstCalls := len(st.got)
	assert.Equal(t, 20, firstCalls, "the first attempt tried the whole page")

	retry := newEnv(a, &heartbeats{})
	retry.SetHeartbeatDetails(beats[len(beats)-1])
	val, err := retry.ExecuteActivity(a.StartCyclePage, in)
	require.NoError(t, err)
	var out activities.StartPageOutput
	require.NoError(t, val.Get(&out))
	// c17 ran before, c19 and c20 were started by the failed attempt; only c18 is new.
	assert.Equal(t, activities.StartPageOutput{Started: 16, Existing: 4, Cursor: "c20"}, out)
	assert.Equal(t, 20, out.Started+out.Existing, "every child counted once")
	var retried []string
	for _, c := range st.got[firstCalls:] {
		retried = append(retried, c.ChildID)
	}
	assert.ElementsMatch(t, ids(17, 20), retried, "the retry starts only the unfinished chunk")
}

func TestStartCyclePageCohortError(t *testing.T) {
	recs := &fakeRecords{cohort: cohort20(), cohortErr: errors.New("database is locked")}
	st := &fakeStarter{}
	a := &activities.Activities{Records: recs, Starter: st}
	_, err := newEnv(a, nil).ExecuteActivity(a.StartCyclePage, activities.StartPageInput{Wave: testWave(), PageSize: 18})
	wantRetryable(t, err)
	assert.Empty(t, st.got)
}

// ids returns child IDs c<lo>..c<hi>.
func ids(lo, hi int) []string {
	var out []string
	for i := lo; i <= hi; i++ {
		out = append(out, fmt.Sprintf("c%02d", i))
	}
	return out
}

func TestCloseWave(t *testing.T) {
	wave := cycle.WaveRecord{
		WaveID: "wave/jhb/3", SiteID: "jhb", Number: 3,
		WindowOpen:  time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC),
		WindowClose: time.Date(2026, 4, 13, 0, 0, 0, 0, time.UTC),
		DayLength:   250 * time.Millisecond,
		Status:      cycle.WaveClosing,
		At:          time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC),
	}
	report := cycle.WaveReport{
		CohortSize: 4,
		Outcomes:   map[string]int{"completed": 2, "low_risk": 1, "no_consent": 1},
		Risk:       map[string]map[string]int{"education": {"high": 1, "low": 2}},
		Changes:    map[string]map[string]int{"education": {"improved": 1}},
		Referrals:  map[string]int{"completed": 1},
		RedFlags:   1,
	}
	const wantJSON = `{"cohort_size":4,"outcomes":{"completed":2,"low_risk":1,"no_consent":1},` +
		`"risk":{"education":{"high":1,"low":2}},"changes":{"education":{"improved":1}},"referrals":{"completed":1},"red_flags":1}`

	t.Run("writes the report and closes", func(t *testing.T) {
		recs := &fakeRecords{report: report}
		a := &activities.Activities{Records: recs, Now: func() time.Time { return fixedNow }}
		val, err := newEnv(a, nil).ExecuteActivity(a.CloseWave, activities.CloseWaveInput{Wave: wave})
		require.NoError(t, err)
		var got cycle.WaveReport
		require.NoError(t, val.Get(&got))
		assert.Equal(t, report, got)

		require.Len(t, recs.waves, 1)
		saved := recs.waves[0]
		assert.JSONEq(t, wantJSON, string(saved.Report))
		want := wave
		want.Status = cycle.WaveClosed
		want.CohortSize = 4
		want.Report = saved.Report
		want.At = fixedNow
		assert.Equal(t, want, saved)
	})
	t.Run("report query fails: nothing closed", func(t *testing.T) {
		recs := &fakeRecords{reportErr: errors.New("database is locked")}
		a := &activities.Activities{Records: recs, Now: func() time.Time { return fixedNow }}
		_, err := newEnv(a, nil).ExecuteActivity(a.CloseWave, activities.CloseWaveInput{Wave: wave})
		wantRetryable(t, err)
		assert.Empty(t, recs.waves)
	})
	t.Run("save fails: retryable", func(t *testing.T) {
		recs := &fakeRecords{report: report, saveWaveErr: errors.New("disk full")}
		a := &activities.Activities{Records: recs, Now: func() time.Time { return fixedNow }}
		_, err := newEnv(a, nil).ExecuteActivity(a.CloseWave, activities.CloseWaveInput{Wave: wave})
		wantRetryable(t, err)
	})
}

func TestWaveProgressStampsTheTime(t *testing.T) {
	recs := &fakeRecords{progress: cycle.WaveProgress{CohortSize: 3, ByStage: map[string]int{"assess": 2, "closed": 1}, Open: 2}}
	a := &activities.Activities{Records: recs, Now: func() time.Time { return fixedNow.In(time.FixedZone("SAST", 2*60*60)) }}
	val, err := newEnv(a, nil).ExecuteActivity(a.WaveProgress, "wave/jhb/3")
	require.NoError(t, err)
	var got cycle.WaveProgress
	require.NoError(t, val.Get(&got))
	assert.Equal(t, cycle.WaveProgress{CohortSize: 3, ByStage: map[string]int{"assess": 2, "closed": 1}, Open: 2, UpdatedAt: fixedNow}, got)
}

func TestExportWavePushesAggregatesOnce(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	site := testSite()
	site.Plugins.Export = sites.PluginRef{Builtin: "csv"}
	exp := &fakeExporter{}
	recs := &fakeRecords{aggregates: []cycle.Aggregate{{SchoolID: "meadowlands", Key: "outcome.completed", Value: 3}, {SchoolID: "meadowlands", Key: "risk.material.high", Value: 1}}}
	acts := &activities.Activities{Records: recs, Sites: fakeSites{site.ID: site}, Plugins: &fakePlugins{exporter: exp}}
	env.RegisterActivity(acts)
	v, err := env.ExecuteActivity(acts.ExportWave, activities.ExportInput{SiteID: site.ID, WaveID: "wave/" + site.ID + "/2", Launched: time.Date(2026, 8, 3, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var res string
	_ = v.Get(&res)
	if len(exp.got) != 1 {
		t.Fatalf("pushed %d batches", len(exp.got))
	}
	b := exp.got[0]
	if b.IdempotencyKey != "export/wave/"+site.ID+"/2" || len(b.Aggregates) != 2 || b.Aggregates[0].Period != "202608" || b.Aggregates[0].Value != "3" {
		t.Errorf("batch = %+v", b)
	}
	// A site without an export plugin skips it.
	site.Plugins.Export = sites.PluginRef{}
	if _, err := env.ExecuteActivity(acts.ExportWave, activities.ExportInput{SiteID: site.ID, WaveID: "w"}); err != nil || len(exp.got) != 1 {
		t.Errorf("no export plugin: err %v, %d pushes", err, len(exp.got))
	}
}

func TestCloseCycleWindowsSignalsEveryOpenCycleInPages(t *testing.T) {
	var open []string
	for i := 1; i <= 260; i++ {
		open = append(open, fmt.Sprintf("cycle/johannesburg/1/c-%04d", i))
	}
	recs := &fakeRecords{openCycles: open}
	st := &fakeStarter{}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(&activities.Activities{Records: recs, Starter: st})
	val, err := env.ExecuteActivity((&activities.Activities{}).CloseCycleWindows, activities.CloseWindowsInput{WaveID: "wave/johannesburg/1", Phase: cycle.PhaseBaseline, By: "pm"})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := val.Get(&n); err != nil {
		t.Fatal(err)
	}
	if n != 260 || len(st.signalled) != 260 {
		t.Fatalf("signalled %d (%d calls), want 260 across two pages", n, len(st.signalled))
	}
	if want := "cycle/johannesburg/1/c-0260 " + cycle.SignalCloseWindow + " baseline"; st.signalled[259] != want {
		t.Errorf("last signal = %q, want %q", st.signalled[259], want)
	}
}
