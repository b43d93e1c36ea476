package research

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/khula-cop/khula/internal/instrument"
)

// miniRows are three time points: a full baseline with v1, a reassessment
// with v2 of the same child (text fields a spreadsheet would run), and a
// child never assessed.
func miniRows() []Row {
	return []Row{
		{
			ChildID: "child-0001", School: "school-a", Wave: 1, Phase: PhaseBaseline, Sex: "female", Grade: "R",
			AgeMonths: intp(70), InstrumentID: "mini", InstrumentVersion: "1.0.0", AssessedOn: day(2024, 3, 15), Outcome: "completed",
			Answers: map[string]any{"q1": 2.0, "q2": "declined", "sad": true, "why": "-1+1", "seen": "2023-11-30", "kg": 20.5, "cm": 110.0},
			Scales:  map[string]ScaleValue{"mood.sum": {Score: 4, Computed: true, Band: "high", Prorated: true}},
			Growth: map[string]GrowthValue{
				HeightForAge: growthOK(-2.314), WeightForAge: growthOK(-0.004),
				BMIForAge: {Z: 5.456, Computed: true, Flag: GrowthFlagImplausible},
			},
			Domains:    map[string]string{"mood": "moderate", "body": "low"},
			RedFlags:   1,
			PlanAgreed: true,
			PlanActions: []Action{
				{Domain: "mood", ServiceType: "family_strengthening", Sector: "ngo", Done: true},
				{Domain: "body", Kind: "complete_assessment", Overdue: true},
				{Domain: "mood"},
			},
			Referrals: []Referral{
				{Domain: "mood", ServiceType: "family_strengthening", Sector: "ngo", Status: ReferralCompleted, DaysToService: floatp(3.5)},
				{Domain: "body", ServiceType: "clinic", Sector: "health", Status: "dispatched", Urgent: true, Overdue: true},
				{Domain: "mood", ServiceType: "clinic", Sector: "health", Status: ReferralDeclined, DaysToService: floatp(10)},
			},
		},
		{
			ChildID: "child-0001", School: `=HYPERLINK("http://evil.example","open")`, Wave: 2, Phase: PhaseReassessment, Sex: "F", Grade: "-1+1",
			InstrumentID: "mini", InstrumentVersion: "2.0.0", AssessedOn: day(2025, 1, 2),
			Answers: map[string]any{"q1": 3.0, "q2": nil, "q3": 1.0, "absent": 12.0, "why": `=HYPERLINK("http://x")`},
			Scales:  map[string]ScaleValue{"mood.sum": {Score: 4, Computed: true, Band: "high"}, "mood.mean": {Score: 1.5, Computed: true}},
			Domains: map[string]string{"mood": "moderate", "school": "not_assessed"},
		},
		{ChildID: "child-0002", School: "school-b", Wave: 1, Phase: PhaseBaseline, Sex: "M", Outcome: "no_consent"},
	}
}

// TestWriteReadBack writes the mini rows and checks every cell read back
// with encoding/csv.
func TestWriteReadBack(t *testing.T) {
	v1, v2 := minis(t)
	s := mustSchema(t, []*instrument.Instrument{v1, v2}, nil)
	header, rows := parse(t, writeRows(t, s, miniRows()...))
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	empty := func() map[string]string {
		m := map[string]string{}
		for _, c := range header {
			m[c] = ""
		}
		return m
	}
	with := func(m map[string]string, cells map[string]string) map[string]string {
		for k, v := range cells {
			if _, ok := m[k]; !ok {
				t.Fatalf("test expects a column %q that is not in the header", k)
			}
			m[k] = v
		}
		return m
	}
	zeroCounts := map[string]string{
		"red_flags": "0", "plan_agreed": "0", "plan_actions": "0", "plan_actions_done": "0", "plan_actions_overdue": "0",
		"referrals": "0", "referrals_urgent": "0", "referrals_completed": "0", "referrals_declined": "0",
		"referrals_unreachable": "0", "referrals_open": "0", "referrals_overdue": "0",
	}
	want := []map[string]string{
		with(empty(), map[string]string{
			"pseudonym": "Prcqw3ltn5umiw4bm", "school": "school-a", "wave": "1", "phase": "baseline", "sex": "F", "age_months": "70",
			"grade": "R", "instrument_id": "mini", "instrument_version": "1.0.0", "assessed_month": "2024-03", "outcome": "completed",
			"item_q1": "2", "item_q2": "declined", "item_sad": "1", "item_why": "'-1+1", "item_seen": "2023-11", "item_kg": "20.5", "item_cm": "110",
			"scale_mood_sum": "4", "scale_mood_sum_band": "high", "scale_mood_sum_prorated": "1",
			"z_hfa": "-2.31", "z_wfa": "0", "z_bfa": "5.46", "z_bfa_flag": "implausible",
			"level_mood": "moderate", "level_body": "low",
			"red_flags": "1", "plan_agreed": "1", "plan_actions": "3", "plan_actions_done": "1", "plan_actions_overdue": "1",
			"plan_action_list":        "mood:family_strengthening;body:complete_assessment;mood:note",
			"plan_action_sector_list": "ngo;;",
			"referrals":               "3", "referrals_urgent": "1", "referrals_completed": "1", "referrals_declined": "1",
			"referrals_unreachable": "0", "referrals_open": "1", "referrals_overdue": "1",
			"referral_median_days_to_service": "6.75",
			"referral_list":                   "mood:family_strengthening:completed;body:clinic:dispatched;mood:clinic:declined",
			"referral_sector_list":            "ngo;health;health",
		}),
		with(with(empty(), zeroCounts), map[string]string{
			"pseudonym": "Prcqw3ltn5umiw4bm", "school": `'=HYPERLINK("http://evil.example","open")`, "wave": "2", "phase": "reassessment",
			"sex": "F", "grade": "'-1+1", "instrument_id": "mini", "instrument_version": "2.0.0", "assessed_month": "2025-01",
			"item_q1": "3", "item_q3": "1", "item_absent": "12", "item_why": `'=HYPERLINK("http://x")`,
			"scale_mood_sum": "4", "scale_mood_sum_band": "high", "scale_mood_sum_prorated": "0", "scale_mood_mean": "1.5",
			"level_mood": "moderate", "level_school": "not_assessed",
		}),
		with(with(empty(), zeroCounts), map[string]string{
			"pseudonym": "Pe3md4ojtw5o6y5bg", "school": "school-b", "wave": "1", "phase": "baseline", "sex": "M", "outcome": "no_consent",
		}),
	}
	for i := range want {
		for _, c := range header {
			if got := rows[i][c]; got != want[i][c] {
				t.Errorf("row %d, %s = %q, want %q", i+1, c, got, want[i][c])
			}
		}
	}
}

// TestWriteCWTT writes a scored cwtt assessment and a Moutse one through
// the union schema.
func TestWriteCWTT(t *testing.T) {
	base, variant := shipped(t)
	s := mustSchema(t, []*instrument.Instrument{base, variant}, nil)
	a := cwttAnswers()
	b := cwttAnswers()
	b["clinic_distance_km"] = 12.5
	b["water_source"] = "borehole"
	_, rows := parse(t, writeRows(t, s, scoredRow(t, base, "child-0001", a), scoredRow(t, variant, "child-0002", b)))
	for _, tc := range []struct {
		row        int
		col, value string
	}{
		{0, "instrument_id", "cwtt"}, {1, "instrument_id", "cwtt-moutse"},
		{0, "age_months", "68"}, {0, "assessed_month", "2024-03"},
		{0, "item_sdq02", "2"}, {0, "item_phq9_9", "declined"}, {0, "item_height_cm", "116.25"},
		{0, "item_rthb_last_visit", "2024-01"}, {0, "item_csg_received", "1"}, {0, "item_edu_reading", "partly"},
		{0, "item_clinic_distance_km", ""}, {1, "item_clinic_distance_km", "12.5"}, {1, "item_water_source", "borehole"},
		{0, "scale_phq9_total", "0"}, {0, "scale_phq9_total_band", "minimal"}, {0, "scale_phq9_total_prorated", "1"},
		{0, "scale_cyrm_total", "51"}, {0, "scale_cyrm_total_prorated", "0"},
		{0, "z_hfa", "-1.23"}, {0, "z_wfa", "-0.5"}, {0, "z_bfa", "0.12"},
		{0, "level_caregiver", "moderate"}, {0, "red_flags", "1"},
		{0, "plan_action_list", "caregiver:complete_assessment;caregiver:family_strengthening"},
		{0, "plan_action_sector_list", ";ngo"}, {0, "referral_median_days_to_service", "6"},
	} {
		if got := rows[tc.row][tc.col]; got != tc.value {
			t.Errorf("row %d, %s = %q, want %q", tc.row+1, tc.col, got, tc.value)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	v1, v2 := minis(t)
	s := mustSchema(t, []*instrument.Instrument{v1, v2}, nil)
	const secret = "child-secret-42"
	ok := func() Row {
		return Row{ChildID: secret, Wave: 1, Phase: PhaseBaseline, InstrumentID: "mini", InstrumentVersion: "1.0.0"}
	}
	for _, tc := range []struct {
		name   string
		change func(*Row)
		err    error
		says   string
	}{
		{"unknown item", func(r *Row) { r.Answers = map[string]any{"nope": 1.0} }, ErrNotInSchema, `item "nope"`},
		{"unknown item, unanswered", func(r *Row) { r.Answers = map[string]any{"nope": nil} }, ErrNotInSchema, `item "nope"`},
		{"item of another version", func(r *Row) { r.Answers = map[string]any{"q3": 1.0} }, ErrNotInSchema, `item "q3" is not in mini 1.0.0`},
		{"not a choice", func(r *Row) { r.Answers = map[string]any{"q1": 7.0} }, ErrInvalidValue, `item "q1"`},
		{"free text", func(r *Row) { r.Answers = map[string]any{"why": "told the teacher her uncle hits her"} }, ErrInvalidValue, `item "why"`},
		{"declined, not declinable", func(r *Row) { r.Answers = map[string]any{"q1": "declined"} }, ErrInvalidValue, "not declinable"},
		{"unknown instrument", func(r *Row) { r.InstrumentVersion = "9.0.0" }, ErrNotInSchema, `instrument "mini" version "9.0.0"`},
		{"answers without instrument", func(r *Row) { r.InstrumentID, r.InstrumentVersion = "", ""; r.Answers = map[string]any{"q1": 1.0} }, ErrInvalidValue, "without an instrument"},
		{"no child ID", func(r *Row) { r.ChildID = "" }, ErrNoChildID, ""},
		{"wave 0", func(r *Row) { r.Wave = 0 }, ErrInvalidValue, "wave"},
		{"unknown phase", func(r *Row) { r.Phase = "midline" }, ErrInvalidValue, "phase"},
		{"unknown sex", func(r *Row) { r.Sex = "x" }, ErrInvalidValue, "sex"},
		{"negative age", func(r *Row) { r.AgeMonths = intp(-1) }, ErrInvalidValue, "age_months"},
		{"outcome not a code", func(r *Row) { r.Outcome = "moved to Durban" }, ErrInvalidValue, "outcome"},
		{"unknown scale", func(r *Row) { r.Scales = map[string]ScaleValue{"sdq.total": {}} }, ErrNotInSchema, `scale "sdq.total"`},
		{"scale of another version", func(r *Row) { r.Scales = map[string]ScaleValue{"mood.mean": {}} }, ErrNotInSchema, `scale "mood.mean" is not in mini 1.0.0`},
		{"unknown band", func(r *Row) { r.Scales = map[string]ScaleValue{"mood.sum": {Computed: true, Band: "huge"}} }, ErrInvalidValue, "bands"},
		{"unknown growth indicator", func(r *Row) { r.Growth = map[string]GrowthValue{"hca": {}} }, ErrNotInSchema, `growth indicator "hca"`},
		{"unknown domain", func(r *Row) { r.Domains = map[string]string{"wealth": "low"} }, ErrNotInSchema, `domain "wealth"`},
		{"unknown level", func(r *Row) { r.Domains = map[string]string{"mood": "severe"} }, ErrInvalidValue, `domain "mood"`},
		{"negative red flags", func(r *Row) { r.RedFlags = -1 }, ErrInvalidValue, "red_flags"},
		{"separator in an action", func(r *Row) { r.PlanActions = []Action{{Domain: "mood", ServiceType: "a;b"}} }, ErrInvalidValue, "plan action 1"},
		{"referral without status", func(r *Row) { r.Referrals = []Referral{{Domain: "mood", ServiceType: "clinic"}} }, ErrInvalidValue, "referral 1"},
		{"negative days", func(r *Row) {
			r.Referrals = []Referral{{Domain: "mood", ServiceType: "clinic", Status: "completed", DaysToService: floatp(-1)}}
		}, ErrInvalidValue, "referral 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, s, testKey)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(ok()); err != nil {
				t.Fatalf("good row: %v", err)
			}
			r := ok()
			tc.change(&r)
			err = w.Write(r)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error = %v, want %v", err, tc.err)
			}
			if !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), "row 2") {
				t.Errorf("error %q does not say %q and row 2", err, tc.says)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "uncle") || strings.Contains(err.Error(), "Durban") {
				t.Errorf("error %q repeats the child's ID or the rejected text", err)
			}
			// The bad row wrote nothing; the next one goes on.
			if err := w.Write(ok()); err != nil {
				t.Fatalf("row after the bad one: %v", err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if _, rows := parse(t, buf.Bytes()); w.Rows() != 2 || len(rows) != 2 {
				t.Errorf("Rows() = %d, %d rows written, want 2", w.Rows(), len(rows))
			}
		})
	}
}

func TestWriteAfterClose(t *testing.T) {
	v1, _ := minis(t)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, mustSchema(t, []*instrument.Instrument{v1}, nil), testKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.Write(Row{ChildID: "c", Wave: 1, Phase: PhaseBaseline}); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}
}

// countingWriter counts the bytes that reached the destination.
type countingWriter struct{ n int }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

// TestWriterStreams checks that rows reach the destination as they are
// written, not when the writer is closed.
func TestWriterStreams(t *testing.T) {
	base, _ := shipped(t)
	s := mustSchema(t, []*instrument.Instrument{base}, nil)
	row := scoredRow(t, base, "child-0001", cwttAnswers())
	var dst countingWriter
	w, err := NewWriter(&dst, s, testKey)
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if err := w.Write(row); err != nil {
			t.Fatal(err)
		}
	}
	before := dst.n
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if before == 0 || dst.n-before > 4096 {
		t.Errorf("%d bytes written before Close, %d by Close: rows are held back", before, dst.n-before)
	}
}
