package scoring_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/growth"
	"github.com/khula-cop/khula/internal/instrument"
	"github.com/khula-cop/khula/internal/scoring"
	"github.com/khula-cop/khula/sites"
)

// The registry is what the workers hand the activities as their Scorer.
var _ activities.Scorer = (*scoring.Registry)(nil)

func TestNewLoadsTheShippedSites(t *testing.T) {
	r := registry(t)
	cases := []struct {
		site     string
		want     cycle.InstrumentRef
		wantOK   bool
		wantBase string
	}{
		{site: "johannesburg", want: joziRef, wantOK: true, wantBase: "cwtt@2.0.0"},
		{site: "moutse", want: moutseRef, wantOK: true, wantBase: "cwtt@2.0.0"},
		{site: "atlantis"},
		{site: ""},
	}
	for _, tc := range cases {
		t.Run(tc.site, func(t *testing.T) {
			ref, ok := r.SiteInstrument(tc.site)
			assert.Equal(t, tc.wantOK, ok)
			assert.Equal(t, tc.want, ref)
			if !tc.wantOK {
				return
			}
			in, ok := r.Instrument(ref)
			require.True(t, ok, "the site's instrument must be loaded")
			assert.Equal(t, ref, scoring.RefOf(in))
			require.NotNil(t, in.Ref().Base, "a site variant records its base")
			assert.Equal(t, tc.wantBase, in.Ref().Base.ID+"@"+in.Ref().Base.Version)
		})
	}
	_, ok := r.Instrument(cycle.InstrumentRef{ID: "cwtt-johannesburg", Version: "1.0.0"})
	assert.False(t, ok, "an unknown version is not loaded")
}

// variant is a minimal site variant of the base CWTT.
func variant(id, extra string) []byte {
	return []byte("extends: cwtt@2\nid: " + id + "\nversion: 1.0.0\ntitle: Test variant\n" + extra)
}

func TestNewReportsEachBrokenSite(t *testing.T) {
	jozi, err := os.ReadFile("../../sites/johannesburg/instrument.yaml")
	require.NoError(t, err)
	fsys := fstest.MapFS{
		"good/instrument.yaml":   {Data: jozi},
		"broken/instrument.yaml": {Data: []byte("extends: cwtt@7\nid: cwtt-broken\nversion: 1.0.0\ntitle: Broken\n")},
	}
	all := []*sites.Site{
		{ID: "good", Dir: "good", InstrumentFile: "instrument.yaml"},
		{ID: "broken", Dir: "broken", InstrumentFile: "instrument.yaml"},
		{ID: "missing", Dir: "missing", InstrumentFile: "instrument.yaml"},
	}
	r, err := scoring.New(all, fsys, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "site broken:")
	assert.Contains(t, err.Error(), "site missing:")
	assert.NotContains(t, err.Error(), "site good:")

	ref, ok := r.SiteInstrument("good")
	assert.True(t, ok, "a good site still loads next to broken ones")
	assert.Equal(t, joziRef, ref)
	for _, id := range []string{"broken", "missing"} {
		_, ok := r.SiteInstrument(id)
		assert.False(t, ok, "site %s must not get an instrument", id)
	}
}

func TestNewSharedInstrumentVersions(t *testing.T) {
	item := "items:\n  - {id: extra_item, respondent: caregiver, domain: material, type: yesno, label: {en: Extra}}\n"
	cases := []struct {
		name    string
		a, b    []byte
		wantErr bool
		bug     string
	}{
		{name: "same definition may be shared", a: variant("cwtt-x", ""), b: variant("cwtt-x", "")},
		{name: "different items under one version", a: variant("cwtt-x", ""), b: variant("cwtt-x", item), wantErr: true},
		{
			name: "different thresholds under one version", wantErr: true,
			a:   variant("cwtt-x", "parameters:\n  resilience_total_low: 34\n"),
			b:   variant("cwtt-x", "parameters:\n  resilience_total_low: 40\n"),
			bug: "scoring.New (sameDefinition, internal/scoring/scoring.go:57-61) compares only items and scale IDs, so two sites whose instrument has the same id and version but different parameters/rules/red flags load without error and the first site silently scores with the second site's thresholds",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{"a/instrument.yaml": {Data: tc.a}, "b/instrument.yaml": {Data: tc.b}}
			all := []*sites.Site{
				{ID: "a", Dir: "a", InstrumentFile: "instrument.yaml"},
				{ID: "b", Dir: "b", InstrumentFile: "instrument.yaml"},
			}
			_, err := scoring.New(all, fsys, nil)
			if tc.wantErr && err == nil && tc.bug != "" {
				t.Fatal("regression: " + tc.bug)
			}
			if tc.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "site b: instrument cwtt-x@1.0.0 differs")
				return
			}
			assert.NoError(t, err)
		})
	}
}

func TestCheckAnswers(t *testing.T) {
	r := registry(t)
	teacher := cycle.Answers{"edu_number": "achieved", "edu_reading": "partly"}
	// secret is a value that must never be echoed in a message.
	const secret = "Thandi said her uncle hits her"

	type fe struct{ Field, Code string }
	cases := []struct {
		name       string
		ref        cycle.InstrumentRef
		respondent string
		answers    cycle.Answers
		want       []fe
	}{
		{name: "valid caregiver form", ref: joziRef, respondent: "caregiver", answers: caregiverForm()},
		{name: "grant not received, application answered", ref: joziRef, respondent: "caregiver",
			answers: with(caregiverForm(), "csg_received", false, "csg_applied", true)},
		{name: "valid teacher form", ref: joziRef, respondent: "teacher", answers: teacher},
		{name: "the child form has no required item", ref: joziRef, respondent: "child", answers: cycle.Answers{}},
		{name: "moutse's extra caregiver items", ref: moutseRef, respondent: "caregiver",
			answers: with(caregiverForm(), "clinic_distance_km", 12.5, "water_source", "borehole")},
		{name: "unknown item", ref: joziRef, respondent: "caregiver",
			answers: with(caregiverForm(), "favourite_colour", secret),
			want:    []fe{{"answers.favourite_colour", instrument.CodeUnknownItem}}},
		{name: "moutse's item is unknown in johannesburg", ref: joziRef, respondent: "caregiver",
			answers: with(caregiverForm(), "clinic_distance_km", 12.5),
			want:    []fe{{"answers.clinic_distance_km", instrument.CodeUnknownItem}}},
		{name: "number above its range", ref: joziRef, respondent: "teacher",
			answers: with(teacher, "edu_days_absent", 101.0),
			want:    []fe{{"answers.edu_days_absent", instrument.CodeOutOfRange}}},
		{name: "number below its range", ref: moutseRef, respondent: "caregiver",
			answers: with(caregiverForm(), "clinic_distance_km", -1.0),
			want:    []fe{{"answers.clinic_distance_km", instrument.CodeOutOfRange}}},
		{name: "whole number expected", ref: joziRef, respondent: "teacher",
			answers: with(teacher, "edu_days_absent", 2.5),
			want:    []fe{{"answers.edu_days_absent", instrument.CodeWrongType}}},
		{name: "choice not in the list", ref: joziRef, respondent: "caregiver",
			answers: with(caregiverForm(), "hunger_bed", 4.0),
			want:    []fe{{"answers.hunger_bed", instrument.CodeInvalidChoice}}},
		{name: "yes/no given as text", ref: joziRef, respondent: "caregiver",
			answers: with(caregiverForm(), "birth_cert", secret),
			want:    []fe{{"answers.birth_cert", instrument.CodeWrongType}}},
		{name: "required item missing", ref: joziRef, respondent: "caregiver",
			answers: with(caregiverForm(), "phq9_9", nil),
			want:    []fe{{"answers.phq9_9", instrument.CodeRequired}}},
		{name: "required item answered null", ref: joziRef, respondent: "caregiver",
			answers: with(caregiverForm(), "phq9_9", nil, "hunger_skip", nil),
			want:    []fe{{"answers.hunger_skip", instrument.CodeRequired}, {"answers.phq9_9", instrument.CodeRequired}}},
		{name: "question shown by an earlier answer is required", ref: joziRef, respondent: "caregiver",
			answers: with(caregiverForm(), "csg_received", false),
			want:    []fe{{"answers.csg_applied", instrument.CodeRequired}}},
		{name: "answer to a skipped question", ref: joziRef, respondent: "caregiver",
			answers: with(caregiverForm(), "csg_applied", false),
			want:    []fe{{"answers.csg_applied", instrument.CodeSkippedItemAnswered}}},
		{name: "another respondent's item", ref: joziRef, respondent: "caregiver",
			answers: with(caregiverForm(), "edu_number", "achieved"),
			want:    []fe{{"answers.edu_number", instrument.CodeWrongRespondent}}},
		{name: "every problem at once, unknown items first then form order", ref: joziRef, respondent: "caregiver",
			answers: with(caregiverForm(), "zz_unknown", 1.0, "hunger_bed", 9.0, "phq9_9", nil, "csg_applied", true),
			want: []fe{
				{"answers.zz_unknown", instrument.CodeUnknownItem},
				{"answers.hunger_bed", instrument.CodeInvalidChoice},
				{"answers.csg_applied", instrument.CodeSkippedItemAnswered},
				{"answers.phq9_9", instrument.CodeRequired},
			}},
		// Since cwtt 2, PHQ-9 items 1–8 may be left out (the total is
		// prorated); item 9 must be answered or declined.
		{name: "empty caregiver form lists every required item", ref: joziRef, respondent: "caregiver", answers: cycle.Answers{},
			want: []fe{
				{"answers.hunger_bed", instrument.CodeRequired}, {"answers.hunger_skip", instrument.CodeRequired},
				{"answers.csg_received", instrument.CodeRequired}, {"answers.birth_cert", instrument.CodeRequired},
				{"answers.phq9_9", instrument.CodeRequired},
			}},
		{name: "PHQ-9 items 1-8 may be left out", ref: joziRef, respondent: "caregiver",
			answers: with(caregiverForm(), "phq9_2", nil, "phq9_7", nil)},
		{name: "PHQ-9 item 9 declined", ref: joziRef, respondent: "caregiver",
			answers: with(caregiverForm(), "phq9_9", instrument.Declined)},
		{name: "only item 9 may be declined", ref: joziRef, respondent: "caregiver",
			answers: with(caregiverForm(), "phq9_1", instrument.Declined),
			want:    []fe{{"answers.phq9_1", instrument.CodeWrongType}}},
		{name: "unknown respondent", ref: joziRef, respondent: "grandparent", answers: caregiverForm(),
			want: []fe{{"answers", "invalid"}}},
		{name: "unknown instrument version", ref: cycle.InstrumentRef{ID: "cwtt-johannesburg", Version: "9.9.9"}, respondent: "caregiver", answers: caregiverForm(),
			want: []fe{{"instrument", "not_loaded"}}},
		{name: "zero instrument ref", respondent: "caregiver", answers: caregiverForm(),
			want: []fe{{"instrument", "not_loaded"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []cycle.FieldError
			require.NotPanics(t, func() { got = r.CheckAnswers(tc.ref, tc.respondent, nil, tc.answers) })
			if tc.want == nil {
				assert.Nil(t, got)
				return
			}
			var gotFE []fe
			for _, e := range got {
				gotFE = append(gotFE, fe{e.Field, e.Code})
				assert.NotEmpty(t, e.Message, "field %s has no message", e.Field)
				assert.NotContains(t, e.Message, secret, "field %s echoes the answer", e.Field)
			}
			assert.Equal(t, tc.want, gotFE)
		})
	}
}

func TestRespondentsFor(t *testing.T) {
	r := registry(t)
	cases := []struct {
		name    string
		ref     cycle.InstrumentRef
		domains []string
		want    []string
	}{
		{name: "education", ref: joziRef, domains: []string{"education"}, want: []string{"teacher"}},
		{name: "health in johannesburg", ref: joziRef, domains: []string{"health"}, want: []string{"nurse"}},
		{name: "health in moutse asks the caregiver too (clinic distance)", ref: moutseRef, domains: []string{"health"}, want: []string{"caregiver", "nurse"}},
		{name: "nutrition", ref: joziRef, domains: []string{"nutrition"}, want: []string{"caregiver", "teacher", "nurse"}},
		{name: "instrument order whatever the domain order", ref: joziRef, domains: []string{"education", "psychosocial"}, want: []string{"caregiver", "child", "teacher"}},
		{name: "protection needs everyone", ref: joziRef, domains: []string{"protection"}, want: []string{"caregiver", "child", "teacher", "nurse"}},
		{name: "caregiver and material", ref: joziRef, domains: []string{"caregiver", "material"}, want: []string{"caregiver"}},
		{name: "no domains", ref: joziRef, domains: nil, want: nil},
		{name: "unknown domain", ref: joziRef, domains: []string{"spirituality"}, want: nil},
		{name: "unknown instrument", ref: cycle.InstrumentRef{ID: "cwtt", Version: "0.1.0"}, domains: []string{"health"}, want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, r.RespondentsFor(tc.ref, tc.domains))
		})
	}
}

func TestKnownDomain(t *testing.T) {
	r := registry(t)
	for _, d := range []string{"health", "nutrition", "material", "education", "protection", "psychosocial", "caregiver"} {
		t.Run(d, func(t *testing.T) {
			assert.True(t, r.KnownDomain(joziRef, d))
			assert.True(t, r.KnownDomain(moutseRef, d))
		})
	}
	cases := []struct {
		name   string
		ref    cycle.InstrumentRef
		domain string
	}{
		{name: "unknown domain", ref: joziRef, domain: "spirituality"},
		{name: "empty domain", ref: joziRef, domain: ""},
		{name: "domain IDs are case-sensitive", ref: joziRef, domain: "Health"},
		{name: "unknown instrument", ref: cycle.InstrumentRef{ID: "sdq", Version: "1.0.0"}, domain: "health"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.False(t, r.KnownDomain(tc.ref, tc.domain))
		})
	}
}

// scoreDoc is the part of the JSON score document the tests read.
type scoreDoc struct {
	Instrument struct {
		ID      string `json:"id"`
		Version string `json:"version"`
		Base    *struct {
			ID      string `json:"id"`
			Version string `json:"version"`
		} `json:"base"`
	} `json:"instrument"`
	Domains       map[string]string `json:"domains"`
	DomainReasons map[string]string `json:"domain_reasons"`
	Flags         []string          `json:"flags"`
	Growth        *struct {
		HFA, WFA, BFA struct {
			Z        float64 `json:"z"`
			Computed bool    `json:"computed"`
			Flagged  bool    `json:"flagged"`
			Reason   string  `json:"reason"`
		}
	} `json:"growth"`
}

func decodeDoc(t *testing.T, doc []byte) scoreDoc {
	t.Helper()
	var d scoreDoc
	require.NoError(t, json.Unmarshal(doc, &d), "score document: %s", doc)
	return d
}

// levels builds the seven domain levels, not_assessed unless given.
func levels(kv ...string) map[string]string {
	out := map[string]string{}
	for _, d := range []string{"health", "nutrition", "material", "education", "protection", "psychosocial", "caregiver"} {
		out[d] = cycle.RiskNotAssessed
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestScore(t *testing.T) {
	r := registry(t)
	assessed := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	girl := cycle.Subject{Sex: "female", BirthDate: time.Date(2020, 5, 14, 0, 0, 0, 0, time.UTC)}
	teacherOK := cycle.Answers{"edu_number": "achieved", "edu_reading": "achieved"}
	nurseNoBooklet := cycle.Answers{"rthb_seen": true, "imm_up_to_date": false, "chronic_illness": false}

	cases := []struct {
		name        string
		ref         cycle.InstrumentRef
		answers     map[string]cycle.Answers
		want        activities.ScoreOutput
		wantReasons map[string]string // some domains' reasons
		bug         string
	}{
		{
			name:    "an empty child form assesses nothing",
			ref:     joziRef,
			answers: map[string]cycle.Answers{"child": {}},
			want:    activities.ScoreOutput{Domains: levels(), Flags: []string{}, Risk: cycle.RiskNotAssessed},
			bug: "Registry.Score (internal/scoring/scoring.go:167) starts Risk at low, so a score whose every domain is not_assessed " +
				"reports risk low (mirrored to cycles.risk and KhulaRisk) instead of not_assessed; the child form has no required item, so {} is a valid submission",
		},
		{
			name:    "nothing of concern",
			ref:     joziRef,
			answers: map[string]cycle.Answers{"caregiver": caregiverForm(), "teacher": teacherOK},
			want: activities.ScoreOutput{
				Domains: levels("nutrition", "low", "material", "low", "education", "low", "caregiver", "low"),
				Flags:   []string{}, Risk: cycle.RiskLow,
			},
		},
		{
			name:    "PHQ-9 item 9 above 0 raises the self-harm flag",
			ref:     joziRef,
			answers: map[string]cycle.Answers{"caregiver": with(caregiverForm(), "phq9_9", 1.0)},
			want: activities.ScoreOutput{
				Domains: levels("nutrition", "low", "material", "low", "caregiver", "high"),
				Flags:   []string{"phq9.self_harm"}, Risk: cycle.RiskHigh,
				RedFlags: []cycle.RedFlag{{Code: "phq9.self_harm", Domain: "caregiver", ServiceType: "clinic",
					Reason: "Caregiver reports thoughts of self-harm (PHQ-9 item 9)"}},
			},
			wantReasons: map[string]string{"caregiver": "red flag phq9.self_harm: Caregiver reports thoughts of self-harm (PHQ-9 item 9)"},
		},
		{
			name:    "a disclosure to the teacher is a protection flag",
			ref:     joziRef,
			answers: map[string]cycle.Answers{"teacher": with(teacherOK, "teacher_disclosure", true)},
			want: activities.ScoreOutput{
				Domains: levels("education", "low", "protection", "high"),
				Flags:   []string{"protection.disclosure"}, Risk: cycle.RiskHigh,
				RedFlags: []cycle.RedFlag{{Code: "protection.disclosure", Domain: "protection", ServiceType: "social_development",
					Reason: "The child disclosed harm (to the fieldworker or the teacher)"}},
			},
			wantReasons: map[string]string{"protection": "red flag protection.disclosure: The child disclosed harm (to the fieldworker or the teacher)"},
		},
		{
			name: "respondents' answers are merged; risk is the highest level",
			ref:  joziRef,
			answers: map[string]cycle.Answers{
				"caregiver": with(caregiverForm(), "cg_coping", "not_coping"),
				"teacher":   with(teacherOK, "edu_days_absent", 6.0),
			},
			want: activities.ScoreOutput{
				Domains: levels("nutrition", "low", "material", "low", "education", "moderate", "caregiver", "moderate"),
				Flags:   []string{}, Risk: cycle.RiskModerate,
			},
			wantReasons: map[string]string{
				"education": "Absent from school on more days this term than the concern threshold",
				"caregiver": "Caregiver not coping with daily demands",
			},
		},
		{
			// 8 items × 2 = 16: moderately severe (15–19), without item 9.
			name:    "PHQ-9 total 16 is high without a flag",
			ref:     joziRef,
			answers: map[string]cycle.Answers{"caregiver": with(caregiverForm(), "phq9_1", 2.0, "phq9_2", 2.0, "phq9_3", 2.0, "phq9_4", 2.0, "phq9_5", 2.0, "phq9_6", 2.0, "phq9_7", 2.0, "phq9_8", 2.0)},
			want: activities.ScoreOutput{
				Domains: levels("nutrition", "low", "material", "low", "caregiver", "high"),
				Flags:   []string{}, Risk: cycle.RiskHigh,
			},
			wantReasons: map[string]string{"caregiver": "Caregiver depression moderately severe or severe (PHQ-9 15 or more)"},
		},
		{
			name:    "johannesburg: immunisations behind is moderate",
			ref:     joziRef,
			answers: map[string]cycle.Answers{"caregiver": caregiverForm(), "nurse": nurseNoBooklet},
			want: activities.ScoreOutput{
				Domains: levels("health", "moderate", "nutrition", "low", "material", "low", "caregiver", "low"),
				Flags:   []string{}, Risk: cycle.RiskModerate,
			},
		},
		{
			// A notify-only flag: routed nowhere, the caregiver domain left to its rules.
			name:    "PHQ-9 item 9 declined prompts the social worker",
			ref:     joziRef,
			answers: map[string]cycle.Answers{"caregiver": with(caregiverForm(), "phq9_9", instrument.Declined)},
			want: activities.ScoreOutput{
				Domains: levels("nutrition", "low", "material", "low", "caregiver", "moderate"),
				Flags:   []string{"phq9.self_harm_declined"}, Risk: cycle.RiskModerate,
				RedFlags: []cycle.RedFlag{{Code: "phq9.self_harm_declined", Domain: "caregiver",
					Reason: "Caregiver declined PHQ-9 item 9 (thoughts of self-harm); talk with the caregiver"}},
			},
			wantReasons: map[string]string{"caregiver": "Caregiver declined PHQ-9 item 9 (thoughts of self-harm); the social worker follows up"},
		},
		{
			// Moutse re-routes the health red flags to its outreach team; the
			// flags come in Flags' (sorted) order.
			name: "moutse: self-harm and oedema go to the outreach team, a disclosure to social development",
			ref:  moutseRef,
			answers: map[string]cycle.Answers{
				"caregiver": with(caregiverForm(), "phq9_9", 2.0),
				"teacher":   with(teacherOK, "teacher_disclosure", true),
				"nurse":     with(nurseNoBooklet, "oedema", true),
			},
			want: activities.ScoreOutput{
				Domains: levels("health", "moderate", "nutrition", "high", "material", "low", "education", "low", "protection", "high", "caregiver", "high"),
				Flags:   []string{"nutrition.oedema", "phq9.self_harm", "protection.disclosure"}, Risk: cycle.RiskHigh,
				RedFlags: []cycle.RedFlag{
					{Code: "nutrition.oedema", Domain: "nutrition", ServiceType: "outreach", Reason: "Bilateral pitting oedema (possible severe acute malnutrition)"},
					{Code: "phq9.self_harm", Domain: "caregiver", ServiceType: "outreach", Reason: "Caregiver reports thoughts of self-harm (PHQ-9 item 9)"},
					{Code: "protection.disclosure", Domain: "protection", ServiceType: "social_development", Reason: "The child disclosed harm (to the fieldworker or the teacher)"},
				},
			},
		},
		{
			name: "moutse: the same need far from a clinic is high; unsafe water is moderate",
			ref:  moutseRef,
			answers: map[string]cycle.Answers{
				"caregiver": with(caregiverForm(), "clinic_distance_km", 25.0, "water_source", "river_dam"),
				"nurse":     nurseNoBooklet,
			},
			want: activities.ScoreOutput{
				Domains: levels("health", "high", "nutrition", "low", "material", "moderate", "caregiver", "low"),
				Flags:   []string{}, Risk: cycle.RiskHigh,
			},
			wantReasons: map[string]string{
				"health":   "An unmet health need and the clinic is too far away; the ward-based outreach team should visit",
				"material": "Drinking water from a river, dam or tanker (unsafe or irregular)",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, doc, err := r.Score(tc.ref, girl, assessed, tc.answers)
			require.NoError(t, err)
			if tc.bug != "" && !assert.ObjectsAreEqual(tc.want, out) {
				t.Fatalf("regression: %s (got %+v)", tc.bug, out)
			}
			assert.Equal(t, tc.want, out)

			d := decodeDoc(t, doc)
			assert.Equal(t, tc.ref.ID, d.Instrument.ID)
			assert.Equal(t, tc.ref.Version, d.Instrument.Version)
			if assert.NotNil(t, d.Instrument.Base) {
				assert.Equal(t, "cwtt", d.Instrument.Base.ID)
				assert.Equal(t, "2.0.0", d.Instrument.Base.Version)
			}
			assert.Equal(t, tc.want.Domains, d.Domains, "the document holds the same levels")
			for dom, reason := range tc.wantReasons {
				assert.Equal(t, reason, d.DomainReasons[dom], "reason of %s", dom)
			}
		})
	}
}

// TestRedFlagRoutes: each flag code's declared route, per instrument version.
func TestRedFlagRoutes(t *testing.T) {
	r := registry(t)
	cases := []struct {
		name   string
		ref    cycle.InstrumentRef
		code   string
		want   cycle.RedFlag
		wantOK bool
	}{
		{name: "disclosure to social development", ref: joziRef, code: "protection.disclosure", wantOK: true,
			want: cycle.RedFlag{Code: "protection.disclosure", Domain: "protection", ServiceType: "social_development", Reason: "The child disclosed harm (to the fieldworker or the teacher)"}},
		{name: "self-harm to a clinic", ref: joziRef, code: "phq9.self_harm", wantOK: true,
			want: cycle.RedFlag{Code: "phq9.self_harm", Domain: "caregiver", ServiceType: "clinic", Reason: "Caregiver reports thoughts of self-harm (PHQ-9 item 9)"}},
		{name: "severe thinness to a clinic", ref: joziRef, code: "growth.severe_thinness", wantOK: true,
			want: cycle.RedFlag{Code: "growth.severe_thinness", Domain: "nutrition", ServiceType: "clinic", Reason: "Severe thinness (BMI-for-age z-score below −3)"}},
		{name: "declined item 9 is notify-only", ref: joziRef, code: "phq9.self_harm_declined", wantOK: true,
			want: cycle.RedFlag{Code: "phq9.self_harm_declined", Domain: "caregiver", Reason: "Caregiver declined PHQ-9 item 9 (thoughts of self-harm); talk with the caregiver"}},
		{name: "moutse re-routes self-harm to outreach", ref: moutseRef, code: "phq9.self_harm", wantOK: true,
			want: cycle.RedFlag{Code: "phq9.self_harm", Domain: "caregiver", ServiceType: "outreach", Reason: "Caregiver reports thoughts of self-harm (PHQ-9 item 9)"}},
		{name: "moutse keeps neglect with social development", ref: moutseRef, code: "protection.neglect", wantOK: true,
			want: cycle.RedFlag{Code: "protection.neglect", Domain: "protection", ServiceType: "social_development", Reason: "Signs of neglect seen by the nurse"}},
		{name: "unknown code", ref: joziRef, code: "protection.unknown"},
		{name: "unknown instrument", ref: cycle.InstrumentRef{ID: "cwtt-durban", Version: "1.0.0"}, code: "phq9.self_harm"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := r.RedFlag(tc.ref, tc.code)
			assert.Equal(t, tc.wantOK, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestScoreErrors(t *testing.T) {
	r := registry(t)
	cases := []struct {
		name           string
		ref            cycle.InstrumentRef
		answers        map[string]cycle.Answers
		wantMsg        string
		wantValidation bool
	}{
		// (An unknown version of a loaded instrument is scored with the
		// loaded one: TestCyclesOnAnEarlierVersionAreScoredWithTheCurrentOne.)
		{name: "unknown instrument", ref: cycle.InstrumentRef{ID: "cwtt-durban", Version: "1.0.0"},
			answers: map[string]cycle.Answers{"caregiver": caregiverForm()}, wantMsg: "cwtt-durban@1.0.0 is not loaded"},
		{name: "invalid saved answer", ref: joziRef,
			answers: map[string]cycle.Answers{"caregiver": with(caregiverForm(), "hunger_bed", 9.0)}, wantValidation: true},
		{name: "invalid choice in a teacher form", ref: joziRef,
			answers: map[string]cycle.Answers{"teacher": {"edu_number": "achieved", "edu_reading": "top marks"}}, wantValidation: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, doc, err := r.Score(tc.ref, cycle.Subject{}, time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), tc.answers)
			require.Error(t, err)
			assert.Nil(t, doc)
			assert.Equal(t, activities.ScoreOutput{}, out)
			if tc.wantMsg != "" {
				assert.Contains(t, err.Error(), tc.wantMsg)
			}
			var ve *instrument.ValidationError
			assert.Equal(t, tc.wantValidation, errors.As(err, &ve), "validation error: %v", err)
		})
	}
}

func TestCompare(t *testing.T) {
	r := registry(t)
	got := r.Compare(
		map[string]string{"education": "high", "caregiver": "moderate", "health": "moderate", "protection": "high"},
		map[string]string{"education": "moderate", "caregiver": "moderate", "health": "high", "protection": "not_assessed", "nutrition": "low"},
	)
	assert.Equal(t, map[string]string{
		"education":  instrument.Improved,
		"caregiver":  instrument.Unchanged,
		"health":     instrument.Worse,
		"protection": instrument.NotComparable,
		"nutrition":  instrument.NotComparable,
	}, got)
}

// A boy of exactly 64 months (1948 days = 64 × 30.4375) scores against the
// WHO 2007 row for month 64 without interpolation:
//
//	hfa: L=1 M=111.8636 S=0.04187    wfa: L=-0.2338 M=19.0340 S=0.13105
//	bfa: L=-0.8089 M=15.2605 S=0.08464
func TestScoreGrowth(t *testing.T) {
	r := growthRegistry(t)
	assessed := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	boy := cycle.Subject{Sex: "male", BirthDate: time.Date(2020, 10, 31, 0, 0, 0, 0, time.UTC)}
	nurse := func(weight, height float64) map[string]cycle.Answers {
		return map[string]cycle.Answers{"nurse": {"weight_kg": weight, "height_cm": height, "rthb_seen": true, "imm_up_to_date": true, "chronic_illness": false}}
	}
	cases := []struct {
		name       string
		subject    cycle.Subject
		answers    map[string]cycle.Answers
		want       activities.ScoreOutput
		wantReason string
		hfa, bfa   float64 // expected z-scores (when computed)
		computed   bool
	}{
		{
			// hfa = (96/111.8636 − 1)/0.04187 = −3.38696; BMI 14.0641/0.96² = 15.26053 ≈ M, so bfa ≈ 0.
			name: "severely stunted", subject: boy, answers: nurse(14.0641, 96),
			want:       activities.ScoreOutput{Domains: levels("health", "low", "nutrition", "high"), Flags: []string{}, Risk: cycle.RiskHigh},
			wantReason: "Severely stunted (height-for-age z-score below −3)",
			hfa:        -3.38696, bfa: 0.00002, computed: true,
		},
		{
			// BMI 14/1.1² = 11.57025, below SD−3 = M(1+L·S·(−3))^(1/L) = 12.11358 (SD−2 = 13.02170),
			// so the restricted bfa = −3 + (11.57025 − 12.11358)/(13.02170 − 12.11358) = −3.59830;
			// hfa = (110/111.8636 − 1)/0.04187 = −0.39789.
			name: "severe thinness is a red flag", subject: boy, answers: nurse(14, 110),
			want: activities.ScoreOutput{Domains: levels("health", "low", "nutrition", "high"), Flags: []string{"growth.severe_thinness"}, Risk: cycle.RiskHigh,
				RedFlags: []cycle.RedFlag{{Code: "growth.severe_thinness", Domain: "nutrition", ServiceType: "clinic", Reason: "Severe thinness (BMI-for-age z-score below −3)"}}},
			wantReason: "red flag growth.severe_thinness: Severe thinness (BMI-for-age z-score below −3)",
			hfa:        -0.39789, bfa: -3.59830, computed: true,
		},
		{
			name: "unknown birth date: growth not computed", subject: cycle.Subject{Sex: "male"}, answers: nurse(14.0641, 96),
			want:       activities.ScoreOutput{Domains: levels("health", "low", "nutrition", "low"), Flags: []string{}, Risk: cycle.RiskLow},
			wantReason: "No nutrition or growth concern found",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, doc, err := r.Score(joziRef, tc.subject, assessed, tc.answers)
			require.NoError(t, err)
			assert.Equal(t, tc.want, out)
			d := decodeDoc(t, doc)
			assert.Equal(t, tc.wantReason, d.DomainReasons["nutrition"])
			require.NotNil(t, d.Growth, "the document holds the growth result")
			assert.Equal(t, tc.computed, d.Growth.HFA.Computed, "hfa computed (reason %q)", d.Growth.HFA.Reason)
			assert.Equal(t, tc.computed, d.Growth.BFA.Computed, "bfa computed (reason %q)", d.Growth.BFA.Reason)
			if tc.computed {
				assert.InDelta(t, tc.hfa, d.Growth.HFA.Z, 5e-5)
				assert.InDelta(t, tc.bfa, d.Growth.BFA.Z, 5e-5)
				assert.False(t, d.Growth.HFA.Flagged || d.Growth.BFA.Flagged, "plausible values are not flagged")
			}
		})
	}
}

// The nurse's oedema answer reaches the growth calculation: with oedema the
// boy of 64 months (rows as in TestScoreGrowth) gets a height-for-age but no
// weight-for-age and no BMI-for-age, so BMI-for-age cannot raise severe
// thinness; the oedema red flag makes nutrition high instead. Hand values:
//
//	median boy, 19.0340 kg, 111.8636 cm: hfa = (111.8636/111.8636 − 1)/0.04187 = 0;
//	  wfa: y = M → 0; BMI 19.0340/1.118636² = 15.2108149, y/M = 0.9967442,
//	  (y/M)^L = 1.0026414, L·S = −0.0684653, bfa = (1.0026414 − 1)/−0.0684653 = −0.0385800
//	thin boy, 14 kg, 110 cm: hfa = (110/111.8636 − 1)/0.04187 = −0.3978881
//	  (bfa −3.59830 without oedema, see TestScoreGrowth)
func TestScoreGrowthOedema(t *testing.T) {
	r := growthRegistry(t)
	assessed := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	boy := cycle.Subject{Sex: "male", BirthDate: time.Date(2020, 10, 31, 0, 0, 0, 0, time.UTC)}
	nurse := func(weight, height float64, oedema any) map[string]cycle.Answers {
		a := cycle.Answers{"weight_kg": weight, "height_cm": height, "rthb_seen": true, "imm_up_to_date": true, "chronic_illness": false}
		if oedema != nil {
			a["oedema"] = oedema
		}
		return map[string]cycle.Answers{"nurse": a}
	}
	const oedemaReason = "red flag nutrition.oedema: Bilateral pitting oedema (possible severe acute malnutrition)"
	computed := func(z float64) *float64 { return &z }
	cases := []struct {
		name          string
		answers       map[string]cycle.Answers
		want          activities.ScoreOutput
		wantReason    string
		hfa, wfa, bfa *float64 // nil: not computed because of oedema
	}{
		{
			name: "oedema: only height-for-age", answers: nurse(19.0340, 111.8636, true),
			want: activities.ScoreOutput{Domains: levels("health", "low", "nutrition", "high"), Flags: []string{"nutrition.oedema"}, Risk: cycle.RiskHigh,
				RedFlags: []cycle.RedFlag{{Code: "nutrition.oedema", Domain: "nutrition", ServiceType: "clinic", Reason: "Bilateral pitting oedema (possible severe acute malnutrition)"}}},
			wantReason: oedemaReason,
			hfa:        computed(0),
		},
		{
			name: "oedema answered no", answers: nurse(19.0340, 111.8636, false),
			want:       activities.ScoreOutput{Domains: levels("health", "low", "nutrition", "low"), Flags: []string{}, Risk: cycle.RiskLow},
			wantReason: "No nutrition or growth concern found",
			hfa:        computed(0), wfa: computed(0), bfa: computed(-0.0385800),
		},
		{
			name: "oedema not answered", answers: nurse(19.0340, 111.8636, nil),
			want:       activities.ScoreOutput{Domains: levels("health", "low", "nutrition", "low"), Flags: []string{}, Risk: cycle.RiskLow},
			wantReason: "No nutrition or growth concern found",
			hfa:        computed(0), wfa: computed(0), bfa: computed(-0.0385800),
		},
		{
			name: "oedema hides the thinness the weight would show", answers: nurse(14, 110, true),
			want: activities.ScoreOutput{Domains: levels("health", "low", "nutrition", "high"), Flags: []string{"nutrition.oedema"}, Risk: cycle.RiskHigh,
				RedFlags: []cycle.RedFlag{{Code: "nutrition.oedema", Domain: "nutrition", ServiceType: "clinic", Reason: "Bilateral pitting oedema (possible severe acute malnutrition)"}}},
			wantReason: oedemaReason,
			hfa:        computed(-0.3978881),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, doc, err := r.Score(joziRef, boy, assessed, tc.answers)
			require.NoError(t, err)
			assert.Equal(t, tc.want, out)
			d := decodeDoc(t, doc)
			assert.Equal(t, tc.wantReason, d.DomainReasons["nutrition"])
			require.NotNil(t, d.Growth, "the document holds the growth result")
			for _, c := range []struct {
				name string
				want *float64
				z    float64
				ok   bool
				why  string
			}{
				{"hfa", tc.hfa, d.Growth.HFA.Z, d.Growth.HFA.Computed, d.Growth.HFA.Reason},
				{"wfa", tc.wfa, d.Growth.WFA.Z, d.Growth.WFA.Computed, d.Growth.WFA.Reason},
				{"bfa", tc.bfa, d.Growth.BFA.Z, d.Growth.BFA.Computed, d.Growth.BFA.Reason},
			} {
				if c.want == nil {
					assert.False(t, c.ok, "%s computed", c.name)
					assert.Equal(t, growth.ReasonOedema, c.why, c.name)
					continue
				}
				if assert.True(t, c.ok, "%s not computed: %q", c.name, c.why) {
					assert.InDelta(t, *c.want, c.z, 5e-7, c.name)
				}
			}
		})
	}
}

// TestGrowthCalculatorOedema checks the calculator the registry hands the
// instrument: it adds the nurse's oedema answer, and only a true answer
// counts. Rows as in TestScoreGrowth (boy, 64 months = 1948 days).
func TestGrowthCalculatorOedema(t *testing.T) {
	r := growthRegistry(t)
	m := growth.Measurement{Sex: growth.Male, AgeDays: 1948, WeightKg: 19.0340, HeightCm: 111.8636}
	cases := []struct {
		name    string
		answers instrument.Answers
		oedema  bool
	}{
		{"yes", instrument.Answers{scoring.OedemaItem: true}, true},
		{"no", instrument.Answers{scoring.OedemaItem: false}, false},
		{"not answered", instrument.Answers{}, false},
		{"nil answers", nil, false},
		{"null answer", instrument.Answers{scoring.OedemaItem: nil}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := r.GrowthCalculator(tc.answers).Compute(m)
			assert.True(t, res.HFA.Computed, "hfa: %q", res.HFA.Reason)
			assert.Equal(t, !tc.oedema, res.WFA.Computed, "wfa: %q", res.WFA.Reason)
			assert.Equal(t, !tc.oedema, res.BFA.Computed, "bfa: %q", res.BFA.Reason)
			if tc.oedema {
				assert.Equal(t, growth.ReasonOedema, res.WFA.Reason)
				assert.Equal(t, growth.ReasonOedema, res.BFA.Reason)
			}
		})
	}
}

// Without reference tables the same stunted child is not scored on growth:
// the document says why, and nutrition rests on the answers alone.
func TestScoreWithoutGrowthTables(t *testing.T) {
	r := registry(t)
	boy := cycle.Subject{Sex: "male", BirthDate: time.Date(2020, 10, 31, 0, 0, 0, 0, time.UTC)}
	out, doc, err := r.Score(joziRef, boy, time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), map[string]cycle.Answers{
		"nurse": {"weight_kg": 14.0641, "height_cm": 96.0, "rthb_seen": true, "imm_up_to_date": true, "chronic_illness": false},
	})
	require.NoError(t, err)
	assert.Equal(t, activities.ScoreOutput{Domains: levels("health", "low", "nutrition", "low"), Flags: []string{}, Risk: cycle.RiskLow}, out)
	d := decodeDoc(t, doc)
	require.NotNil(t, d.Growth)
	assert.False(t, d.Growth.HFA.Computed)
	assert.True(t, strings.HasPrefix(d.Growth.HFA.Reason, "not computed"), "reason %q", d.Growth.HFA.Reason)
}

// TestCyclesOnAnEarlierVersionAreScoredWithTheCurrentOne: cycles live for
// months; one started under a version this release no longer ships must
// still be checked and scored (the score records the version that did it).
func TestCyclesOnAnEarlierVersionAreScoredWithTheCurrentOne(t *testing.T) {
	r := registry(t)
	current, ok := r.SiteInstrument("johannesburg")
	if !ok {
		t.Fatal("johannesburg has no instrument")
	}
	old := cycle.InstrumentRef{ID: current.ID, Version: "1.0.0"}
	if current.Version == old.Version {
		t.Fatalf("the current version is %s: pick another old one", current.Version)
	}
	if errs := r.CheckAnswers(old, "caregiver", nil, caregiverForm()); len(errs) != 0 {
		t.Errorf("CheckAnswers on %s@%s: %v", old.ID, old.Version, errs)
	}
	_, doc, err := r.Score(old, cycle.Subject{Sex: "female", BirthDate: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)},
		time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), map[string]cycle.Answers{"caregiver": caregiverForm()})
	if err != nil {
		t.Fatalf("Score on %s@%s: %v", old.ID, old.Version, err)
	}
	if !strings.Contains(string(doc), `"version":"`+current.Version+`"`) {
		t.Errorf("the score does not record the version that produced it (%s): %.200s", current.Version, doc)
	}
	if _, ok := r.RedFlag(cycle.InstrumentRef{ID: "no-such-instrument", Version: "1.0.0"}, "phq9.self_harm"); ok {
		t.Error("an unknown instrument routed a flag")
	}
	if errs := r.CheckAnswers(cycle.InstrumentRef{ID: current.ID, Version: "99.0.0"}, "caregiver", nil, caregiverForm()); len(errs) == 0 {
		t.Error("a version newer than the loaded one was accepted")
	}
}
