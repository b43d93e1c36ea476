package research

import (
	"bytes"
	"encoding/csv"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/instrument"
)

// headColumns and tailColumns are the fixed columns, written out by hand.
var (
	headColumns = []string{"pseudonym", "school", "wave", "phase", "sex", "age_months", "grade",
		"instrument_id", "instrument_version", "assessed_month", "outcome"}
	tailColumns = []string{"red_flags", "plan_agreed", "plan_actions", "plan_actions_done", "plan_actions_overdue",
		"plan_action_list", "plan_action_sector_list", "referrals", "referrals_urgent", "referrals_completed",
		"referrals_declined", "referrals_unreachable", "referrals_open", "referrals_overdue",
		"referral_median_days_to_service", "referral_list", "referral_sector_list"}
)

func TestSchemaUnion(t *testing.T) {
	v1, v2 := minis(t)
	middle := []string{
		"item_q1", "item_q2", "item_q3", "item_sad", "item_why", "item_seen", "item_kg", "item_cm", "item_absent",
		"scale_mood_sum", "scale_mood_sum_band", "scale_mood_sum_prorated", "scale_mood_mean",
		"z_hfa", "z_wfa", "z_bfa", "z_hfa_flag", "z_wfa_flag", "z_bfa_flag",
	}
	for _, tc := range []struct {
		name    string
		ins     []*instrument.Instrument
		domains []string
		middle  []string
		levels  []string
	}{
		{"v1 then v2", []*instrument.Instrument{v1, v2}, nil, middle, []string{"level_mood", "level_body", "level_school"}},
		// sad, only in v1, follows q2 there.
		{"v2 then v1", []*instrument.Instrument{v2, v1}, nil, []string{
			"item_q1", "item_q2", "item_sad", "item_q3", "item_why", "item_seen", "item_kg", "item_cm", "item_absent",
			"scale_mood_sum", "scale_mood_sum_band", "scale_mood_sum_prorated", "scale_mood_mean",
			"z_hfa", "z_wfa", "z_bfa", "z_hfa_flag", "z_wfa_flag", "z_bfa_flag",
		}, []string{"level_mood", "level_body", "level_school"}},
		{"v1 alone", []*instrument.Instrument{v1}, nil, []string{
			"item_q1", "item_q2", "item_sad", "item_why", "item_seen", "item_kg", "item_cm",
			"scale_mood_sum", "scale_mood_sum_band", "scale_mood_sum_prorated",
			"z_hfa", "z_wfa", "z_bfa", "z_hfa_flag", "z_wfa_flag", "z_bfa_flag",
		}, []string{"level_mood", "level_body"}},
		{"v2 alone: no growth", []*instrument.Instrument{v2}, []string{"school", "mood"}, []string{
			"item_q1", "item_q2", "item_q3", "item_why", "item_seen", "item_kg", "item_cm", "item_absent",
			"scale_mood_sum", "scale_mood_sum_band", "scale_mood_sum_prorated", "scale_mood_mean",
		}, []string{"level_school", "level_mood"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSchema(t, tc.ins, tc.domains)
			want := slices.Concat(headColumns, tc.middle, tc.levels, tailColumns)
			if got := s.Columns(); !reflect.DeepEqual(got, want) {
				t.Errorf("columns:\n got %v\nwant %v", got, want)
			}
		})
	}
}

// TestCodebookUnion checks the codebook rows of the two mini versions.
func TestCodebookUnion(t *testing.T) {
	v1, v2 := minis(t)
	s := mustSchema(t, []*instrument.Instrument{v1, v2}, nil)
	vars := map[string]Variable{}
	for _, v := range s.Codebook() {
		vars[v.Name] = v
	}
	both, one, two := "mini 1.0.0; mini 2.0.0", "mini 1.0.0", "mini 2.0.0"
	for _, tc := range []struct {
		name                         string
		label, typ, allowed, version string
		notes                        []string
	}{
		{"pseudonym", "Child pseudonym", TypeString, "", both, []string{"HMAC-SHA256"}},
		{"phase", "Phase of the wave", TypeCategory, "baseline=assessment at the start of the wave; reassessment=assessment after the plan", both, nil},
		{"sex", "Sex of the child", TypeCategory, "F=female; M=male", both, nil},
		{"instrument_id", "Instrument the time point was scored with", TypeCategory, "mini", both, nil},
		{"assessed_month", "Month of the assessment", TypeDateMonth, "", both, []string{"the day is not written"}},
		{"item_q1", "Q1", TypeCategory, "0=Never; 1=Sometimes; 2=Often", both,
			[]string{"missing when not answered or not shown", "in mini 2.0.0: category 0=Never; 1=Rarely; 2=Sometimes; 3=Often", "answered by the caregiver", "domain: mood"}},
		{"item_q2", "Q2", TypeCategory, "0=Never; 1=Sometimes; 2=Often", both, []string{"declined = the respondent declined to answer"}},
		{"item_q3", "Q3", TypeCategory, "0=Never; 1=Sometimes; 2=Often", two, nil},
		{"item_sad", "Sad", TypeBoolean, "1=yes; 0=no", one, nil},
		{"item_why", "Why", TypeCategory, "-1+1=Minus; =HYPERLINK(\"http://x\")=Link; plain=Plain", both, nil},
		{"item_seen", "Last visit", TypeDateMonth, "", both, []string{"the day is not written", "answered by the nurse"}},
		{"item_kg", "Weight", TypeNumber, "1..50", both, []string{"unit: kg"}},
		{"item_absent", "Days absent", TypeInteger, "0..100", two, []string{"unit: days", "answered by the teacher", "domain: school"}},
		{"scale_mood_sum", "Mood sum", TypeInteger, "0..4", both,
			[]string{"sum of items q1, q2, prorated when 1 item is missing", "in mini 2.0.0: sum of items q1, q2, q3, prorated when 1 item is missing, 0..7"}},
		{"scale_mood_sum_band", "Mood sum: band", TypeCategory, "low=0..1; high=2..4", both, []string{"in mini 2.0.0: low=0..2; high=3..7"}},
		{"scale_mood_sum_prorated", "Mood sum: prorated", TypeBoolean, "1=yes; 0=no", both, nil},
		{"scale_mood_mean", "Mood mean", TypeNumber, "0..2", two, []string{"mean of items q2, q3"}},
		{"z_hfa", "Height-for-age z-score (WHO)", TypeNumber, "", one, []string{"from items kg and cm", "rounded to 2 decimals"}},
		{"z_bfa_flag", "BMI-for-age z-score (WHO): flag", TypeCategory, "implausible=WHO considers the z-score biologically implausible: exclude it from analysis", one, nil},
		{"level_mood", "Risk level: Mood", TypeCategory, "high; moderate; low; not_assessed", both, nil},
		{"level_school", "Risk level: School", TypeCategory, "high; moderate; low; not_assessed", two, nil},
		{"plan_agreed", "A plan was agreed for the child", TypeBoolean, "1=yes; 0=no", both, nil},
		{"referral_median_days_to_service", "Median days from referral to service", TypeNumber, "", both, []string{"rounded to 2 decimals"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := vars[tc.name]
			if !ok {
				t.Fatal("no such variable")
			}
			if v.Label != tc.label || v.Type != tc.typ || v.AllowedValues != tc.allowed || v.InstrumentVersions != tc.version {
				t.Errorf("got label %q, type %q, allowed %q, versions %q\nwant label %q, type %q, allowed %q, versions %q",
					v.Label, v.Type, v.AllowedValues, v.InstrumentVersions, tc.label, tc.typ, tc.allowed, tc.version)
			}
			for _, n := range tc.notes {
				if !strings.Contains(v.Notes, n) {
					t.Errorf("notes %q lack %q", v.Notes, n)
				}
			}
		})
	}
}

// TestCodebookMatchesHeader checks that every column has exactly one
// codebook row, in column order, for the shipped instruments and the mini
// versions, and that the written codebook reads back the same.
func TestCodebookMatchesHeader(t *testing.T) {
	base, variant := shipped(t)
	v1, v2 := minis(t)
	types := map[string]bool{TypeString: true, TypeInteger: true, TypeNumber: true, TypeBoolean: true, TypeCategory: true, TypeDateMonth: true}
	for _, tc := range []struct {
		name string
		ins  []*instrument.Instrument
	}{
		{"cwtt", []*instrument.Instrument{base}},
		{"cwtt then cwtt-moutse", []*instrument.Instrument{base, variant}},
		{"mini versions", []*instrument.Instrument{v1, v2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSchema(t, tc.ins, nil)
			data := writeRows(t, s)
			header, rows := parse(t, data)
			if len(rows) != 0 {
				t.Fatalf("%d rows in an empty dataset", len(rows))
			}
			vars := s.Codebook()
			if len(vars) != len(header) {
				t.Fatalf("%d codebook rows for %d columns", len(vars), len(header))
			}
			seen := map[string]bool{}
			for i, v := range vars {
				if v.Name != header[i] {
					t.Errorf("codebook row %d is %q, column %d is %q", i, v.Name, i, header[i])
				}
				if seen[v.Name] {
					t.Errorf("variable %q twice", v.Name)
				}
				seen[v.Name] = true
				if !types[v.Type] || v.Label == "" || v.InstrumentVersions == "" {
					t.Errorf("variable %q: type %q, label %q, versions %q", v.Name, v.Type, v.Label, v.InstrumentVersions)
				}
				if (v.Type == TypeBoolean || v.Type == TypeCategory) && v.AllowedValues == "" {
					t.Errorf("variable %q: a %s without allowed values", v.Name, v.Type)
				}
			}
			var buf bytes.Buffer
			if err := WriteCodebook(&buf, vars); err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(&buf).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(recs[0], CodebookHeader) || len(recs) != len(header)+1 {
				t.Fatalf("codebook header %v and %d rows", recs[0], len(recs)-1)
			}
			for i, rec := range recs[1:] {
				if rec[0] != header[i] {
					t.Errorf("written codebook row %d is %q, column is %q", i, rec[0], header[i])
				}
			}
		})
	}
}

// TestCWTTColumns pins the shipped instrument's columns where the brief
// names them and the variant's added items.
func TestCWTTColumns(t *testing.T) {
	base, variant := shipped(t)
	cols := mustSchema(t, []*instrument.Instrument{base}, nil).Columns()
	first := slices.Concat(headColumns, []string{"item_sdq01", "item_sdq02", "item_sdq03", "item_sdq04"})
	if got := cols[:len(first)]; !reflect.DeepEqual(got, first) {
		t.Errorf("first columns %v, want %v", got, first)
	}
	for _, c := range []string{"scale_sdq_total", "scale_sdq_total_band", "scale_sdq_total_prorated", "scale_phq9_total_band",
		"scale_cyrm_total", "scale_cyrm_total_prorated", "z_hfa", "z_bfa_flag", "level_health", "level_caregiver"} {
		if !slices.Contains(cols, c) {
			t.Errorf("no column %s", c)
		}
	}
	for _, c := range []string{"scale_cyrm_total_band", "item_clinic_distance_km"} {
		if slices.Contains(cols, c) {
			t.Errorf("unexpected column %s", c)
		}
	}
	if got := cols[len(cols)-len(tailColumns):]; !reflect.DeepEqual(got, tailColumns) {
		t.Errorf("last columns %v, want %v", got, tailColumns)
	}
	union := mustSchema(t, []*instrument.Instrument{base, variant}, nil)
	vars := map[string]Variable{}
	for _, v := range union.Codebook() {
		vars[v.Name] = v
	}
	if v := vars["item_clinic_distance_km"]; v.InstrumentVersions != "cwtt-moutse 2.0.0" || v.AllowedValues != "0..150" || v.Type != TypeNumber {
		t.Errorf("item_clinic_distance_km: %+v", v)
	}
	if v := vars["item_sdq01"]; v.InstrumentVersions != "cwtt 2.0.0; cwtt-moutse 2.0.0" || v.AllowedValues != "0=Not true; 1=Somewhat true; 2=Certainly true" {
		t.Errorf("item_sdq01: %+v", v)
	}
	if v := vars["instrument_id"]; v.AllowedValues != "cwtt; cwtt-moutse" || !strings.HasPrefix(v.Notes, "cwtt-moutse 2.0.0 extends cwtt 2.0.0; ") {
		t.Errorf("instrument_id: %+v", v)
	}
	if v := vars["item_phq9_9"]; !strings.Contains(v.Notes, "declined = the respondent declined to answer") {
		t.Errorf("item_phq9_9 notes: %q", v.Notes)
	}
	t.Logf("cwtt: %d columns; first 15: %v", len(cols), cols[:15])
	t.Logf("cwtt: last 20: %v", cols[len(cols)-20:])
}

func TestNewSchemaErrors(t *testing.T) {
	v1, v2 := minis(t)
	clash := loadText(t, strings.Replace(miniV1, "domain_rules:", "  - {id: mood.sum.band, items: [q1]}\ndomain_rules:", 1))
	for _, tc := range []struct {
		name    string
		ins     []*instrument.Instrument
		domains []string
		want    string
	}{
		{"no instrument", nil, nil, "no instrument"},
		{"nil instrument", []*instrument.Instrument{v1, nil}, nil, "instrument 1 is nil"},
		{"same version twice", []*instrument.Instrument{v1, v2, v1}, nil, "mini 1.0.0 given twice"},
		{"domain twice", []*instrument.Instrument{v1}, []string{"mood", "mood"}, `domain "mood" given twice`},
		{"domain not a code", []*instrument.Instrument{v1}, []string{"Mood"}, `domain "Mood" is not a lowercase identifier`},
		{"column twice", []*instrument.Instrument{clash}, nil, `two variables are named "scale_mood_sum_band"`},
		{"domains of no instrument are allowed", []*instrument.Instrument{v1}, []string{"mood", "extra"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSchema(tc.ins, tc.domains)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestCodesMatchCycle ties the codes this package restates (it does not
// import package cycle, which would bring the Temporal SDK into a pure
// package) to cycle's.
func TestCodesMatchCycle(t *testing.T) {
	for _, tc := range [][2]string{
		{PhaseBaseline, cycle.PhaseBaseline},
		{PhaseReassessment, cycle.PhaseReassessment},
		{ReferralCompleted, cycle.ReferralCompleted},
		{ReferralDeclined, cycle.ReferralDeclined},
		{ReferralUnreachable, cycle.ReferralUnreachable},
	} {
		if tc[0] != tc[1] {
			t.Errorf("research uses %q, cycle %q", tc[0], tc[1])
		}
	}
	for _, c := range []string{cycle.ReferralCreated, cycle.ReferralDispatched, cycle.ReferralAcknowledged, cycle.ActionCompleteAssessment} {
		if !isCode(c) {
			t.Errorf("cycle code %q would be rejected", c)
		}
	}
	for _, c := range cycle.Sectors {
		if !isCode(c) {
			t.Errorf("sector %q would be rejected", c)
		}
	}
}
