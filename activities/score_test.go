package activities_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/cycle"
)

func TestScoreCycle(t *testing.T) {
	ref := cycle.InstrumentRef{ID: "cwtt-johannesburg", Version: "1.0.0"}
	assessedOn := time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)
	subject := cycle.Subject{Sex: "female", BirthDate: time.Date(2020, 1, 15, 0, 0, 0, 0, time.UTC)}
	answers := map[string]cycle.Answers{
		"caregiver": {"hunger_bed": 0.0, "phq9_9": 1.0},
		"teacher":   {"edu_number": "achieved"},
	}
	scored := activities.ScoreOutput{
		Domains: map[string]string{"health": "low", "education": "moderate", "caregiver": "high"},
		Flags:   []string{"phq9.self_harm"},
		Risk:    "high",
	}
	// The scorer compares every domain it sees; the activity must keep only
	// those the baseline named.
	allChanges := map[string]string{"health": "worse", "education": "improved", "caregiver": "unchanged"}

	cases := []struct {
		name        string
		phase       string
		baseline    map[string]string
		wantChanges map[string]string
	}{
		{name: "baseline: no comparison", phase: cycle.PhaseBaseline},
		{name: "reassessment: changes of the baseline's domains only", phase: cycle.PhaseReassessment,
			baseline:    map[string]string{"education": "high", "caregiver": "high"},
			wantChanges: map[string]string{"education": "improved", "caregiver": "unchanged"}},
		{name: "reassessment of one domain", phase: cycle.PhaseReassessment,
			baseline:    map[string]string{"health": "moderate"},
			wantChanges: map[string]string{"health": "worse"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs := &fakeRecords{
				answers: map[string]map[string]cycle.Answers{"cycle/jhb/3/c-0001/" + tc.phase: answers},
				subject: subject,
			}
			sc := &fakeScorer{out: scored, doc: []byte(`{"instrument":{"id":"cwtt-johannesburg"}}`), changes: allChanges}
			a := &activities.Activities{Records: recs, Scorer: sc, Now: func() time.Time { return fixedNow }}
			in := activities.ScoreInput{
				CycleID: "cycle/jhb/3/c-0001", WaveID: "wave/jhb/3", SiteID: "jhb", SchoolID: "meadowlands", ChildID: "c-0001",
				Phase: tc.phase, Instrument: ref, AssessedOn: assessedOn, Baseline: tc.baseline,
			}
			val, err := newEnv(a, nil).ExecuteActivity(a.ScoreCycle, in)
			require.NoError(t, err)
			var out activities.ScoreOutput
			require.NoError(t, val.Get(&out))

			want := scored
			want.Changes = tc.wantChanges
			assert.Equal(t, want, out)

			// The scorer got the saved answers and the child's subject.
			assert.Equal(t, ref, sc.gotRef)
			assert.Equal(t, subject, sc.gotSubject)
			assert.True(t, assessedOn.Equal(sc.gotAssessedOn), "assessed on %v, want %v", sc.gotAssessedOn, assessedOn)
			assert.Equal(t, answers, sc.gotAnswers)
			assert.Equal(t, []string{"c-0001"}, recs.subjectCalls)
			if tc.baseline != nil {
				assert.Equal(t, tc.baseline, sc.gotBaseline)
				assert.Equal(t, scored.Domains, sc.gotFollow)
			}

			require.Len(t, recs.scores, 1)
			assert.Equal(t, cycle.ScoreRecord{
				CycleID: "cycle/jhb/3/c-0001", WaveID: "wave/jhb/3", SiteID: "jhb", SchoolID: "meadowlands",
				Phase: tc.phase, Instrument: ref, Domains: scored.Domains, Changes: tc.wantChanges, Flags: []string{"phq9.self_harm"},
				Result: []byte(`{"instrument":{"id":"cwtt-johannesburg"}}`), ComputedAt: fixedNow,
			}, recs.scores[0])
		})
	}
}

func TestScoreCycleErrors(t *testing.T) {
	cases := []struct {
		name       string
		recs       *fakeRecords
		scorerErr  error
		wantType   string // "" means an ordinary, retryable error
		wantScored bool
	}{
		{name: "scorer rejects the answers", recs: &fakeRecords{}, scorerErr: errors.New("hunger_bed must be one of 0, 1, 2, 3"),
			wantType: activities.ErrTypeScoring, wantScored: true},
		{name: "database down loading answers", recs: &fakeRecords{answersErr: errors.New("database is locked")}},
		{name: "database down saving the score", recs: &fakeRecords{saveScoreErr: errors.New("disk I/O error")}, wantScored: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc := &fakeScorer{out: activities.ScoreOutput{Domains: map[string]string{"health": "low"}, Risk: "low"}, err: tc.scorerErr}
			a := &activities.Activities{Records: tc.recs, Scorer: sc, Now: func() time.Time { return fixedNow }}
			_, err := newEnv(a, nil).ExecuteActivity(a.ScoreCycle, activities.ScoreInput{
				CycleID: "cycle/jhb/3/c-0002", ChildID: "c-0002", Phase: cycle.PhaseBaseline, Instrument: cycle.InstrumentRef{ID: "cwtt", Version: "9.0.0"},
			})
			if tc.wantType == "" {
				wantRetryable(t, err)
			} else {
				wantAppError(t, err, tc.wantType, true)
			}
			assert.Equal(t, tc.wantScored, sc.scoreCalls == 1, "scorer calls = %d", sc.scoreCalls)
			assert.Empty(t, tc.recs.scores, "no score may be saved")
		})
	}
}

func TestBuildAgendaSavesTheMeeting(t *testing.T) {
	agenda := []cycle.AgendaItem{
		{CycleID: "cycle/jhb/3/c-0001", ChildID: "c-0001", Reason: cycle.AgendaAwaitingPlan, Domains: map[string]string{"education": "high"}},
		{CycleID: "cycle/jhb/3/c-0009", ChildID: "c-0009", Reason: cycle.AgendaOverdueReferral},
	}
	recs := &fakeRecords{agenda: agenda}
	site := testSite()
	site.Respondents = []string{"caregiver", "nurse"}
	a := &activities.Activities{Records: recs, Sites: fakeSites{"jhb": site}}
	at := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
	val, err := newEnv(a, nil).ExecuteActivity(a.BuildAgenda, activities.AgendaInput{
		MeetingID: "meeting/jhb/meadowlands/2026-03-05", SiteID: "jhb", SchoolID: "meadowlands", Date: "2026-03-05", At: at,
	})
	require.NoError(t, err)
	var got []cycle.AgendaItem
	require.NoError(t, val.Get(&got))
	// The details are asked for with the site's respondents.
	for i := range agenda {
		agenda[i].Missing = []string{"caregiver", "nurse"}
	}
	assert.Equal(t, agenda, got)
	require.Len(t, recs.meetings, 1)
	m := recs.meetings[0]
	assert.Equal(t, "meeting/jhb/meadowlands/2026-03-05", m.MeetingID)
	assert.Equal(t, cycle.MeetingAwaitingMinutes, m.Status)
	assert.Equal(t, agenda, m.Agenda)
	assert.True(t, at.Equal(m.At), "meeting at %v, want %v", m.At, at)
}
