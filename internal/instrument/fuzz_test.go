package instrument

import (
	"encoding/json"
	"sort"
	"testing"
	"time"
)

// FuzzScore feeds arbitrary answer sets (as JSON, the way forms arrive) to
// Validate, ValidateAll, Shown and Score, alone and laid over a complete
// assessment, and checks that nothing panics and that results are
// well-formed.
func FuzzScore(f *testing.F) {
	fine, _ := json.Marshal(fineAnswers())
	for _, seed := range []string{
		string(fine),
		`{}`,
		`{"sdq01": 1, "sdq02": "2", "sdq03": null, "phq9_9": 3, "weight_kg": 1e308}`,
		`{"chronic_illness": false, "chronic_treated": true, "rthb_seen": "yes"}`,
		`{"rthb_last_visit": "2020-02-30", "edu_days_absent": 2.5, "vision": ["pass"], "cg_coping": {"a": 1}}`,
		`{"child_disclosure": true, "teacher_signs": true, "oedema": true, "phq9_9": 1}`,
		`{"clinic_distance_km": -1, "water_source": "river_dam", "unknown": 1}`,
		`{"hunger_bed": 3, "hunger_skip": -0, "shelter": "none", "food_short": "often", "csg_received": false}`,
		`{"sdq03": 2, "sdq08": 2, "sdq13": 2, "cyrm01": 1, "cyrm05": 1, "height_cm": 60, "weight_kg": 80}`,
		`{"rthb_last_visit": "0001-01-01", "edu_days_absent": 100}`,
		`{"phq9_9": "declined", "phq9_1": "declined", "phq9_2": null, "vision": "not_done", "cg_conflict": "often"}`,
	} {
		f.Add([]byte(seed), uint8(0))
		f.Add([]byte(seed), uint8(7))
	}
	loadShipped(f)
	instruments := []*Instrument{cwttInst, moutse}
	growths := []*fakeGrowth{normalGrowth(), zs(z(-3.5), z(-4), z(-3.1)), zs(z(-7), z(6), z(5.5)), {}}
	f.Fuzz(func(t *testing.T, data []byte, pick uint8) {
		var raw map[string]any
		if err := json.Unmarshal(data, &raw); err != nil {
			return
		}
		in := instruments[int(pick)%len(instruments)]
		g := growths[int(pick/2)%len(growths)]
		subjects := []Subject{boy, {}, {Sex: "other", DOB: assessedOn, AssessedOn: dob}, {Sex: SexFemale, DOB: dob, AssessedOn: time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)}}
		s := subjects[int(pick/8)%len(subjects)]
		for _, a := range []Answers{Answers(raw), with(fineAnswers(), Answers(raw))} {
			for _, r := range in.Respondents() {
				_ = in.Validate(r, a)
			}
			_ = in.ValidateAll(a, nil)
			_ = in.ValidateAll(a, []string{"nurse", "child"})
			for id := range a {
				_, _ = in.Shown(id, a)
			}
			valid := in.ValidateAll(a, nil)
			res, err := in.Score(s, a, g)
			if err != nil {
				if valid == nil {
					t.Fatalf("valid answers failed to score: %v", err)
				}
				continue
			}
			checkResult(t, in, res)
		}
	})
}

// checkResult checks invariants every result keeps.
func checkResult(t *testing.T, in *Instrument, r *Result) {
	t.Helper()
	if len(r.Domains) != len(in.Domains()) || len(r.DomainReasons) != len(in.Domains()) {
		t.Fatalf("domains %v, reasons %v", r.Domains, r.DomainReasons)
	}
	for d, lv := range r.Domains {
		if levelRank(lv) == 0 && lv != LevelNotAssessed {
			t.Fatalf("domain %s has level %q", d, lv)
		}
		if r.DomainReasons[d] == "" {
			t.Fatalf("domain %s has no reason", d)
		}
	}
	if !sort.StringsAreSorted(r.Flags) {
		t.Fatalf("flags not sorted: %v", r.Flags)
	}
	for _, code := range r.Flags {
		for _, f := range in.flags {
			if f.Code == code && !f.NotifyOnly && r.Domains[f.Domain] != LevelHigh {
				t.Fatalf("flag %s but %s is %s", code, f.Domain, r.Domains[f.Domain])
			}
		}
	}
	for d, st := range r.DomainServices {
		if st == "" || levelRank(r.Domains[d]) == 0 {
			t.Fatalf("domain %s (%s) suggests service %q", d, r.Domains[d], st)
		}
	}
	for _, cs := range in.scales {
		s := r.Scales[cs.ID]
		if s.Computed && (s.Score < cs.lo || s.Score > cs.hi) {
			t.Fatalf("%s = %v outside %v..%v", cs.ID, s.Score, cs.lo, cs.hi)
		}
		if s.Computed && len(cs.Bands) > 0 && s.Band == "" {
			t.Fatalf("%s = %v has no band", cs.ID, s.Score)
		}
		if !s.Computed && s.Reason == "" {
			t.Fatalf("%s not computed without a reason", cs.ID)
		}
	}
	if len(r.Warnings) > 0 {
		t.Fatalf("warnings: %v", r.Warnings)
	}
}

// FuzzParse feeds arbitrary definitions to Parse and Load: problems are
// reported, never panics.
func FuzzParse(f *testing.F) {
	f.Add([]byte(miniBase))
	f.Add([]byte(miniVariant))
	f.Add([]byte("id: x\nitems: [{id: a, type: choice, choices: {}}]\nscales: [{id: s, sum_of: [s]}]\n"))
	f.Add([]byte("extends: mini@9\nid: y\nversion: 1.0.0\nlabels: {choice_sets: {three: {'7': {en: x}}}}\n"))
	f.Add([]byte("domains: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Parse("f.yaml", data)
		_, _ = variantLoad(t, string(data))
	})
}
