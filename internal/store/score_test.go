package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

func TestSaveAssessmentKeepsFirst(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "c1")
	addWave(t, st, siteA, 1)
	cycleID := stageAt(t, st, siteA, schoolA1, "c1", 2, cycle.StageAssess, nil)

	saves := []cycle.AssessmentRecord{
		{CycleID: cycleID, Phase: cycle.PhaseBaseline, Respondent: "caregiver", SubmittedBy: "fw-1", SubmittedAt: t0,
			Answers: cycle.Answers{"q1": 2, "q2": "yes", "q3": true, "q4": 1.5}},
		// A retry (or a second submission) of the same form is ignored.
		{CycleID: cycleID, Phase: cycle.PhaseBaseline, Respondent: "caregiver", SubmittedBy: "fw-2", SubmittedAt: t0.Add(time.Hour),
			Answers: cycle.Answers{"q1": 0}},
		{CycleID: cycleID, Phase: cycle.PhaseBaseline, Respondent: "teacher", SubmittedBy: "fw-3", SubmittedAt: t0,
			Answers: cycle.Answers{"q1": 1, "list": []any{1, "two"}}},
		{CycleID: cycleID, Phase: cycle.PhaseReassessment, Respondent: "caregiver", SubmittedBy: "fw-1", SubmittedAt: t0.AddDate(0, 3, 0),
			Answers: cycle.Answers{"q1": 0}},
	}
	for i, r := range saves {
		if err := st.SaveAssessment(ctx, r); err != nil {
			t.Fatalf("SaveAssessment %d: %v", i, err)
		}
	}
	if n := count(t, st, &store.Assessment{}, ""); n != 3 {
		t.Errorf("%d assessment rows, want 3", n)
	}
	var first store.Assessment
	if err := st.DB(ctx).Where("id = ?", store.AssessmentID(cycleID, cycle.PhaseBaseline, "caregiver")).Take(&first).Error; err != nil {
		t.Fatalf("reading the caregiver's baseline: %v", err)
	}
	if first.SubmittedBy != "fw-1" || !first.SubmittedAt.Equal(t0) {
		t.Errorf("kept submission by %q at %v, want fw-1 at %v", first.SubmittedBy, first.SubmittedAt, t0)
	}

	tests := []struct {
		name  string
		cycle string
		phase string
		want  map[string]cycle.Answers
	}{
		{name: "baseline", cycle: cycleID, phase: cycle.PhaseBaseline, want: map[string]cycle.Answers{
			// JSON numbers come back as float64.
			"caregiver": {"q1": float64(2), "q2": "yes", "q3": true, "q4": 1.5},
			"teacher":   {"q1": float64(1), "list": []any{float64(1), "two"}},
		}},
		{name: "reassessment", cycle: cycleID, phase: cycle.PhaseReassessment, want: map[string]cycle.Answers{
			"caregiver": {"q1": float64(0)},
		}},
		{name: "unknown cycle", cycle: "cycle/alpha/1/ghost", phase: cycle.PhaseBaseline, want: map[string]cycle.Answers{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.Assessments(ctx, tt.cycle, tt.phase)
			if err != nil {
				t.Fatalf("Assessments: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Assessments = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestAssessmentID(t *testing.T) {
	if got, want := store.AssessmentID("cycle/alpha/1/c1", "baseline", "caregiver"), "cycle/alpha/1/c1/baseline/caregiver"; got != want {
		t.Errorf("AssessmentID = %q, want %q", got, want)
	}
}

func TestSaveScoreReplaces(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "c1")
	addWave(t, st, siteA, 1)
	cycleID := stageAt(t, st, siteA, schoolA1, "c1", 3, cycle.StageScore, nil)

	base := func(domains, changes map[string]string, result string, at time.Time) cycle.ScoreRecord {
		return cycle.ScoreRecord{
			CycleID: cycleID, WaveID: cycle.WaveID(siteA, 1), SiteID: siteA, SchoolID: schoolA1, Phase: cycle.PhaseBaseline,
			Instrument: cycle.InstrumentRef{ID: "sdq", Version: "1"}, Domains: domains, Changes: changes, Result: []byte(result), ComputedAt: at,
		}
	}
	first := base(map[string]string{"health": cycle.RiskHigh, "learning": cycle.RiskLow}, nil, `{"total":12}`, t0)
	reassess := base(map[string]string{"health": cycle.RiskModerate, "learning": cycle.RiskLow, "social": cycle.RiskLow},
		map[string]string{"health": "improved", "learning": "unchanged"}, `{"total":8}`, t0.AddDate(0, 3, 0))
	reassess.Phase = cycle.PhaseReassessment
	reassess.Instrument.Version = "2"

	type risk struct{ phase, domain, level, change string }
	steps := []struct {
		name       string
		rec        cycle.ScoreRecord
		wantScores int64
		wantRisks  []risk
	}{
		{name: "first save", rec: first, wantScores: 1, wantRisks: []risk{
			{cycle.PhaseBaseline, "health", cycle.RiskHigh, ""},
			{cycle.PhaseBaseline, "learning", cycle.RiskLow, ""},
		}},
		{name: "retry writes no duplicate", rec: first, wantScores: 1, wantRisks: []risk{
			{cycle.PhaseBaseline, "health", cycle.RiskHigh, ""},
			{cycle.PhaseBaseline, "learning", cycle.RiskLow, ""},
		}},
		{name: "reassessment with changes", rec: reassess, wantScores: 2, wantRisks: []risk{
			{cycle.PhaseBaseline, "health", cycle.RiskHigh, ""},
			{cycle.PhaseBaseline, "learning", cycle.RiskLow, ""},
			{cycle.PhaseReassessment, "health", cycle.RiskModerate, "improved"},
			{cycle.PhaseReassessment, "learning", cycle.RiskLow, "unchanged"},
			{cycle.PhaseReassessment, "social", cycle.RiskLow, ""},
		}},
		{name: "reassessment saved again", rec: reassess, wantScores: 2, wantRisks: []risk{
			{cycle.PhaseBaseline, "health", cycle.RiskHigh, ""},
			{cycle.PhaseBaseline, "learning", cycle.RiskLow, ""},
			{cycle.PhaseReassessment, "health", cycle.RiskModerate, "improved"},
			{cycle.PhaseReassessment, "learning", cycle.RiskLow, "unchanged"},
			{cycle.PhaseReassessment, "social", cycle.RiskLow, ""},
		}},
	}
	for _, s := range steps {
		if err := st.SaveScore(ctx, s.rec); err != nil {
			t.Fatalf("%s: SaveScore: %v", s.name, err)
		}
		if n := count(t, st, &store.Score{}, ""); n != s.wantScores {
			t.Errorf("%s: %d score rows, want %d", s.name, n, s.wantScores)
		}
		var rows []store.DomainRisk
		if err := st.DB(ctx).Order("phase, domain").Find(&rows).Error; err != nil {
			t.Fatalf("%s: reading domain risks: %v", s.name, err)
		}
		got := make([]risk, len(rows))
		for i, r := range rows {
			got[i] = risk{r.Phase, r.Domain, r.Level, r.Change}
			if r.CycleID != cycleID || r.WaveID != cycle.WaveID(siteA, 1) || r.SiteID != siteA || r.SchoolID != schoolA1 {
				t.Errorf("%s: domain risk %d keys = %q %q %q %q", s.name, i, r.CycleID, r.WaveID, r.SiteID, r.SchoolID)
			}
		}
		if !reflect.DeepEqual(got, s.wantRisks) {
			t.Errorf("%s: domain risks = %v, want %v", s.name, got, s.wantRisks)
		}
	}

	// A second attempt that scored differently replaces the first's values.
	changed := first
	changed.Domains = map[string]string{"health": cycle.RiskModerate, "learning": cycle.RiskLow}
	changed.Result = []byte(`{"total":10}`)
	changed.ComputedAt = t0.Add(time.Minute)
	if err := st.SaveScore(ctx, changed); err != nil {
		t.Fatalf("SaveScore (changed): %v", err)
	}
	var dr store.DomainRisk
	if err := st.DB(ctx).Where("cycle_id = ? AND phase = ? AND domain = ?", cycleID, cycle.PhaseBaseline, "health").Take(&dr).Error; err != nil {
		t.Fatalf("reading health: %v", err)
	}
	if dr.Level != cycle.RiskModerate {
		t.Errorf("baseline health after replacing = %q, want %q", dr.Level, cycle.RiskModerate)
	}

	d, err := st.Cycle(ctx, cycleID)
	if err != nil {
		t.Fatalf("Cycle: %v", err)
	}
	wantScores := []struct{ id, phase, version, result string }{
		{cycleID + "/baseline", cycle.PhaseBaseline, "1", `{"total":10}`},
		{cycleID + "/reassessment", cycle.PhaseReassessment, "2", `{"total":8}`},
	}
	if len(d.Scores) != len(wantScores) {
		t.Fatalf("Cycle has %d scores, want %d", len(d.Scores), len(wantScores))
	}
	for i, w := range wantScores {
		sc := d.Scores[i]
		if sc.ID != w.id || sc.Phase != w.phase || sc.InstrumentID != "sdq" || sc.InstrumentVersion != w.version || sc.Result != w.result {
			t.Errorf("scores[%d] = %+v, want id %q phase %q sdq v%q result %s", i, sc, w.id, w.phase, w.version, w.result)
		}
	}
}

func TestSaveScoreWithoutDomains(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "c1")
	addWave(t, st, siteA, 1)
	cycleID := stageAt(t, st, siteA, schoolA1, "c1", 3, cycle.StageScore, nil)
	rec := cycle.ScoreRecord{CycleID: cycleID, WaveID: cycle.WaveID(siteA, 1), SiteID: siteA, SchoolID: schoolA1,
		Phase: cycle.PhaseBaseline, Instrument: cycle.InstrumentRef{ID: "sdq", Version: "1"}, Result: []byte(`{}`), ComputedAt: t0}
	if err := st.SaveScore(ctx, rec); err != nil {
		t.Fatalf("SaveScore: %v", err)
	}
	if n := count(t, st, &store.Score{}, ""); n != 1 {
		t.Errorf("%d score rows, want 1", n)
	}
	if n := count(t, st, &store.DomainRisk{}, ""); n != 0 {
		t.Errorf("%d domain risk rows, want 0", n)
	}
}

func TestWaveReport(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	addChildren(t, st, siteA, schoolA1, "c1", "c2", "c3")
	addChildren(t, st, siteA, schoolA2, "c4", "c5", "c6", "c7")
	addChildren(t, st, siteB, schoolB1, "b1")
	wave1 := addWave(t, st, siteA, 1)
	wave2 := addWave(t, st, siteA, 2)
	addWave(t, st, siteB, 1)

	type cyc struct {
		child, school, stage, outcome string
		flags                         []string
	}
	// Wave 1 of alpha: outcomes completed 2, low_risk 1, no_consent 1, open 2 (c5, c6); red flags c1 and c5.
	for _, c := range []cyc{
		{"c1", schoolA1, cycle.StageClosed, cycle.OutcomeCompleted, []string{"self_harm"}},
		{"c2", schoolA1, cycle.StageClosed, cycle.OutcomeLowRisk, nil},
		{"c3", schoolA1, cycle.StageClosed, cycle.OutcomeCompleted, nil},
		{"c4", schoolA2, cycle.StageClosed, cycle.OutcomeNoConsent, nil},
		{"c5", schoolA2, cycle.StagePlan, "", []string{"abuse", "neglect"}},
		{"c6", schoolA2, cycle.StageAssess, "", nil},
	} {
		stageAt(t, st, siteA, c.school, c.child, 7, c.stage, func(r *cycle.StageRecord) { r.Outcome, r.Flags = c.outcome, c.flags })
	}
	// Other waves, which the report must leave out.
	other2 := stageAt(t, st, siteA, schoolA2, "c7", 7, cycle.StageClosed, func(r *cycle.StageRecord) {
		r.CycleID, r.WaveID, r.Outcome, r.Flags = cycle.CycleID(siteA, 2, "c7"), wave2, cycle.OutcomeCompleted, []string{"self_harm"}
	})
	otherB := stageAt(t, st, siteB, schoolB1, "b1", 7, cycle.StageClosed, func(r *cycle.StageRecord) {
		r.Outcome, r.Flags = cycle.OutcomeCompleted, []string{"abuse"}
	})

	score := func(cycleID, waveID, school, phase string, domains, changes map[string]string) {
		t.Helper()
		if err := st.SaveScore(ctx, cycle.ScoreRecord{CycleID: cycleID, WaveID: waveID, SiteID: siteA, SchoolID: school, Phase: phase,
			Instrument: cycle.InstrumentRef{ID: "sdq", Version: "1"}, Domains: domains, Changes: changes, Result: []byte(`{}`), ComputedAt: t0}); err != nil {
			t.Fatalf("SaveScore %s %s: %v", cycleID, phase, err)
		}
	}
	id := func(child string) string { return cycle.CycleID(siteA, 1, child) }
	B, R := cycle.PhaseBaseline, cycle.PhaseReassessment
	score(id("c1"), wave1, schoolA1, B, map[string]string{"health": "high", "learning": "moderate"}, nil)
	score(id("c2"), wave1, schoolA1, B, map[string]string{"health": "low", "learning": "low"}, nil)
	score(id("c3"), wave1, schoolA1, B, map[string]string{"health": "high", "learning": "low"}, nil)
	score(id("c5"), wave1, schoolA2, B, map[string]string{"health": "moderate", "learning": "high"}, nil)
	score(id("c1"), wave1, schoolA1, R, map[string]string{"health": "moderate", "learning": "moderate"},
		map[string]string{"health": "improved", "learning": "unchanged"})
	score(id("c3"), wave1, schoolA1, R, map[string]string{"health": "high", "learning": "moderate", "social": "low"},
		map[string]string{"health": "unchanged", "learning": "worse"})
	score(other2, wave2, schoolA2, B, map[string]string{"health": "high"}, nil)
	score(other2, wave2, schoolA2, R, map[string]string{"health": "low"}, map[string]string{"health": "improved"})
	score(otherB, cycle.WaveID(siteB, 1), schoolB1, B, map[string]string{"health": "high"}, nil)

	referral := func(refID, cycleID, waveID, status string) {
		t.Helper()
		if err := st.SaveReferral(ctx, cycle.ReferralRecord{ReferralID: refID, CycleID: cycleID, WaveID: waveID, SiteID: siteA,
			SchoolID: schoolA1, Domain: "health", ServiceType: "clinic", Status: status, At: t0}); err != nil {
			t.Fatalf("SaveReferral %s: %v", refID, err)
		}
	}
	referral("r1", id("c1"), wave1, cycle.ReferralCompleted)
	referral("r2", id("c3"), wave1, cycle.ReferralCompleted)
	referral("r3", id("c3"), wave1, cycle.ReferralDeclined)
	referral("r4", id("c5"), wave1, cycle.ReferralDispatched)
	referral("r5", id("c5"), wave1, cycle.ReferralCreated)
	referral("r6", other2, wave2, cycle.ReferralCompleted)

	tests := []struct {
		name string
		wave string
		want cycle.WaveReport
	}{
		{name: "wave 1", wave: wave1, want: cycle.WaveReport{
			CohortSize: 6,
			Outcomes:   map[string]int{cycle.OutcomeCompleted: 2, cycle.OutcomeLowRisk: 1, cycle.OutcomeNoConsent: 1, "open": 2},
			Risk: map[string]map[string]int{
				"health":   {"high": 2, "low": 1, "moderate": 1},
				"learning": {"moderate": 1, "low": 2, "high": 1},
			},
			Changes: map[string]map[string]int{
				"health":   {"improved": 1, "unchanged": 1},
				"learning": {"unchanged": 1, "worse": 1},
			},
			Referrals: map[string]int{cycle.ReferralCompleted: 2, cycle.ReferralDeclined: 1, cycle.ReferralDispatched: 1, cycle.ReferralCreated: 1},
			RedFlags:  2,
		}},
		{name: "wave 2", wave: wave2, want: cycle.WaveReport{
			CohortSize: 1,
			Outcomes:   map[string]int{cycle.OutcomeCompleted: 1},
			Risk:       map[string]map[string]int{"health": {"high": 1}},
			Changes:    map[string]map[string]int{"health": {"improved": 1}},
			Referrals:  map[string]int{cycle.ReferralCompleted: 1},
			RedFlags:   1,
		}},
		{name: "unknown wave", wave: cycle.WaveID(siteA, 9), want: cycle.WaveReport{
			Outcomes: map[string]int{}, Risk: map[string]map[string]int{}, Changes: map[string]map[string]int{}, Referrals: map[string]int{},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.WaveReport(ctx, tt.wave)
			if err != nil {
				t.Fatalf("WaveReport: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("WaveReport(%s) =\n %+v\nwant\n %+v", tt.wave, got, tt.want)
			}
		})
	}
}
