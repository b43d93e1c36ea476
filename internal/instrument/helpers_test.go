package instrument

import (
	"os"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/khula-cop/khula/instruments"
	"github.com/khula-cop/khula/internal/growth"
)

// fakeGrowth returns fixed z-scores and records the measurement it was given,
// so scoring tests depend neither on WHO's tables nor on package growth.
type fakeGrowth struct {
	res  growth.Result
	got  growth.Measurement
	seen bool
}

func (f *fakeGrowth) Compute(m growth.Measurement) growth.Result {
	f.got, f.seen = m, true
	return f.res
}

// z builds a computed, plausible z-score.
func z(v float64) growth.ZScore { return growth.ZScore{Z: v, Computed: true} }

// zs builds a growth result with the three z-scores.
func zs(hfa, wfa, bfa growth.ZScore) *fakeGrowth {
	hfa.Indicator, wfa.Indicator, bfa.Indicator = growth.HeightForAge, growth.WeightForAge, growth.BMIForAge
	return &fakeGrowth{res: growth.Result{HFA: hfa, WFA: wfa, BFA: bfa}}
}

// normalGrowth is a child growing along the median.
func normalGrowth() *fakeGrowth { return zs(z(0), z(0), z(0)) }

var (
	loadOnce               sync.Once
	cwttInst, moutse, jozi *Instrument
	loadErr                error
)

func loadShipped(t testing.TB) {
	t.Helper()
	loadOnce.Do(func() {
		cwttInst, loadErr = Load(instruments.FS, "cwtt.yaml", instruments.FS)
		if loadErr != nil {
			return
		}
		sites := fstest.MapFS{}
		for _, site := range []string{"moutse", "johannesburg"} {
			data, err := os.ReadFile("../../sites/" + site + "/instrument.yaml")
			if err != nil {
				loadErr = err
				return
			}
			sites[site+"/instrument.yaml"] = &fstest.MapFile{Data: data}
		}
		if moutse, loadErr = Load(sites, "moutse/instrument.yaml", instruments.FS); loadErr != nil {
			return
		}
		jozi, loadErr = Load(sites, "johannesburg/instrument.yaml", instruments.FS)
	})
	if loadErr != nil {
		t.Fatalf("loading shipped instruments: %v", loadErr)
	}
}

// cwtt returns the shipped base instrument.
func cwtt(t testing.TB) *Instrument {
	loadShipped(t)
	return cwttInst
}

var (
	dob        = time.Date(2014, 5, 10, 0, 0, 0, 0, time.UTC)
	assessedOn = time.Date(2020, 11, 2, 0, 0, 0, 0, time.UTC)
	boy        = Subject{Sex: SexMale, DOB: dob, AssessedOn: assessedOn}
)

// sdqReverse are the reverse-scored SDQ items: raw 2 scores 0.
var sdqReverse = map[int]bool{7: true, 11: true, 14: true, 21: true, 25: true}

// sdqProsocial are the prosocial items: raw 2 is the strength.
var sdqProsocial = map[int]bool{1: true, 4: true, 9: true, 17: true, 20: true}

// fineAnswers is a complete assessment of a child doing well in every
// domain: every scale computed, every domain low, no flag.
func fineAnswers() Answers {
	a := Answers{}
	for n := 1; n <= 25; n++ {
		v := 0.0
		if sdqReverse[n] || sdqProsocial[n] {
			v = 2 // reverse items at 2 score 0; prosocial at 2 is a strength
		}
		a[sdqID(n)] = v
	}
	for n := 1; n <= 9; n++ {
		a[phqID(n)] = 0.0
	}
	for n := 1; n <= 17; n++ {
		a[cyrmID(n)] = 3.0
	}
	for k, v := range map[string]any{
		// caregiver
		"hunger_bed": 0.0, "hunger_skip": 0.0,
		"csg_received": true, "birth_cert": true, "caregiver_id": true,
		"food_short": "never", "water_safe": true, "electricity": true, "shelter": "formal",
		"supervision_gap": "never",
		"cg_coping":       "well", "cg_support": true, "cg_parenting": "never", "cg_conflict": "never", "cg_engagement": "often",
		// child
		"child_feels_safe": "yes", "child_violence": "never", "child_disclosure": false,
		// teacher
		"edu_number": "achieved", "edu_reading": "achieved", "edu_days_absent": 1.0, "edu_support": false,
		"school_hungry": "never", "teacher_signs": false, "teacher_disclosure": false,
		// nurse
		"weight_kg": 20.5, "height_cm": 116.0, "oedema": false,
		"rthb_seen": true, "imm_up_to_date": true, "rthb_last_visit": "2020-06-01",
		"chronic_illness": false, "vision": "pass", "hearing": "pass", "speech": "pass", "dental": "healthy",
		"nurse_injury": false, "nurse_neglect": false,
	} {
		a[k] = v
	}
	return a
}

func sdqID(n int) string  { return "sdq" + pad2(n) }
func cyrmID(n int) string { return "cyrm" + pad2(n) }
func phqID(n int) string  { return "phq9_" + string(rune('0'+n)) }
func pad2(n int) string   { return string([]rune{rune('0' + n/10), rune('0' + n%10)}) }

// with returns a copy of a with changes applied; a nil value deletes.
func with(a Answers, changes Answers) Answers {
	out := Answers{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

// only keeps the answers of one respondent.
func only(in *Instrument, a Answers, respondent string) Answers {
	out := Answers{}
	for k, v := range a {
		if it, ok := in.Item(k); ok && it.Respondent == respondent {
			out[k] = v
		}
	}
	return out
}

// score scores and fails the test on error or warnings.
func score(t *testing.T, in *Instrument, s Subject, a Answers, g GrowthCalculator) *Result {
	t.Helper()
	if g == nil {
		g = normalGrowth()
	}
	r, err := in.Score(s, a, g)
	if err != nil {
		t.Fatalf("Score: %v", err)
	}
	if len(r.Warnings) > 0 {
		t.Fatalf("Score warnings: %v", r.Warnings)
	}
	return r
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func loadOnceForBench(b *testing.B) {
	if _, err := Load(instruments.FS, "cwtt.yaml", instruments.FS); err != nil {
		b.Fatal(err)
	}
}
