package intake

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/khula-cop/khula/internal/instrument"
)

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

// The submissions of the recorded samples (testdata/central.json,
// central.csv, kobo.json, kobo.csv): the same four rows in each format.
const (
	idCaregiver = "uuid:6f1c2b7e-3d4a-4c8e-9b1f-2a7d5e8c0f13"
	idTeacher   = "uuid:0b9e4d2a-7c15-4f3e-8a6d-91c2b3e4f5a6"
	idOtherSite = "uuid:c3d8e1f0-5a2b-4e7c-b9d4-6f1a2c3b4d5e"
	idNurse     = "uuid:9a7b6c5d-4e3f-4a1b-8c2d-3e4f5a6b7c8d"
)

// sampleSubmissions are the three good rows, Row left 0.
func sampleSubmissions() []Submission {
	return []Submission{
		{
			InstanceID: idCaregiver, Site: "moutse", Wave: 1, Child: "ch-0bf35071b4",
			Phase: "baseline", Respondent: "caregiver",
			Answers: instrument.Answers{
				"hunger_bed": 1.0, "hunger_skip": 0.0, "csg_received": true, "birth_cert": true,
				"caregiver_id": false, "food_short": "sometimes", "water_safe": false, "shelter": "informal",
				"phq9_1": 1.0, "phq9_2": 2.0, "phq9_3": 1.0, "phq9_4": 2.0, "phq9_5": 0.0,
				"phq9_6": 1.0, "phq9_7": 1.0, "phq9_8": 0.0,
				"phq9_9":    2.0, // the red flag phq9.self_harm
				"cg_coping": "not_coping", "cg_support": true,
				"clinic_distance_km": 14.5, "water_source": "river_dam", // Moutse's own items
			},
		},
		{
			InstanceID: idTeacher, Site: "moutse", Wave: 1, Child: "ch-5a1c9e2f07",
			Phase: "baseline", Respondent: "teacher",
			Answers: instrument.Answers{
				"edu_number": "partly", "edu_reading": "not_achieved", "edu_days_absent": 7.0,
				"edu_support": false, "school_hungry": "often", "teacher_signs": false, "teacher_disclosure": false,
			},
		},
		{
			InstanceID: idNurse, Site: "moutse", Wave: 1, Child: "ch-0bf35071b4",
			Phase: "reassessment", Respondent: "nurse",
			Answers: instrument.Answers{
				"weight_kg": 19.4, "height_cm": 117.2, "oedema": false, "rthb_seen": true,
				"imm_up_to_date": true, "rthb_last_visit": "2024-02-14", "chronic_illness": false,
				"vision": "pass", "hearing": "refer", "speech": "pass", "dental": "decay",
				"nurse_injury": false, "nurse_neglect": false,
			},
		},
	}
}

const otherSiteReason = "cycle_ref names another site than moutse"

func TestSamplesParseAlike(t *testing.T) {
	in := moutse(t)
	for _, tc := range []struct {
		file     string
		format   Format
		rows     []int // Row of the three good submissions
		errorRow int   // Row of the other site's submission
	}{
		{"central.json", FormatCentralJSON, []int{1, 2, 4}, 3},
		{"central.csv", FormatCentralCSV, []int{2, 3, 5}, 4},
		{"kobo.json", FormatKoboJSON, []int{1, 2, 4}, 3},
		{"kobo.csv", FormatKoboCSV, []int{2, 3, 5}, 4},
	} {
		data, err := os.ReadFile("testdata/" + tc.file)
		if err != nil {
			t.Fatal(err)
		}
		for _, given := range []Format{FormatAuto, tc.format} {
			subs, sum, err := parseAll(t, string(data), in, Options{Site: "moutse", Format: given})
			if err != nil {
				t.Fatalf("%s (format %s): %v", tc.file, given, err)
			}
			if sum.Format != string(tc.format) || sum.Rows != 4 || sum.Parsed != 3 || sum.Duplicates != 0 || sum.Rejected != 0 {
				t.Errorf("%s (format %s): summary %+v", tc.file, given, sum)
			}
			wantErrs := []RowError{{Row: tc.errorRow, InstanceID: idOtherSite, Field: "cycle_ref", Reason: otherSiteReason}}
			if !reflect.DeepEqual(sum.Errors, wantErrs) {
				t.Errorf("%s (format %s): errors\n got %+v\nwant %+v", tc.file, given, sum.Errors, wantErrs)
			}
			var rows []int
			for i := range subs {
				rows = append(rows, subs[i].Row)
				subs[i].Row = 0
			}
			if !reflect.DeepEqual(rows, tc.rows) {
				t.Errorf("%s: rows %v, want %v", tc.file, rows, tc.rows)
			}
			if want := sampleSubmissions(); !reflect.DeepEqual(subs, want) {
				t.Errorf("%s (format %s): submissions\n got %+v\nwant %+v", tc.file, given, subs, want)
			}
		}
	}
}

// TestSamplesValidate checks the contract end to end: what Parse passes on
// is what the server's validation accepts.
func TestSamplesValidate(t *testing.T) {
	in := moutse(t)
	for _, s := range sampleSubmissions() {
		if err := in.Validate(s.Respondent, s.Answers); err != nil {
			t.Errorf("%s: %v", s.Respondent, err)
		}
	}
}

// kobo builds a KoboToolbox data document.
func kobo(rows ...map[string]any) string {
	list := make([]any, len(rows))
	for i, r := range rows {
		list[i] = r
	}
	b, err := json.Marshal(map[string]any{"count": len(rows), "next": nil, "previous": nil, "results": list})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// row is a Kobo row of a caregiver's baseline form, with changes applied
// (a nil value deletes the key).
func row(changes map[string]any) map[string]any {
	r := map[string]any{
		"_id": 1, "_uuid": strings.TrimPrefix(idCaregiver, "uuid:"), "meta/instanceID": idCaregiver,
		"cycle_ref": "moutse/1/ch-0bf35071b4", "phase": "baseline", "respondent": "caregiver",
		"_validation_status": map[string]any{},
	}
	for k, v := range changes {
		if v == nil {
			delete(r, k)
			continue
		}
		r[k] = v
	}
	return r
}

// secret is a value no error may repeat: it stands for personal data.
const secret = "Thandi"

func TestRowErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    *instrument.Instrument // moutse when nil
		input string
		want  []RowError
	}{
		{"missing instanceID", nil,
			kobo(row(map[string]any{"meta/instanceID": nil, "_uuid": nil})),
			[]RowError{{Row: 1, Field: "meta/instanceID", Reason: "missing instanceID"}}},
		{"instanceID not a uuid", nil,
			kobo(row(map[string]any{"meta/instanceID": "uuid:" + secret})),
			[]RowError{{Row: 1, Field: "meta/instanceID", Reason: `instanceID is not "uuid:" followed by a UUID`}}},
		{"instanceID without uuid:", nil,
			kobo(row(map[string]any{"meta/instanceID": strings.TrimPrefix(idCaregiver, "uuid:")})),
			[]RowError{{Row: 1, Field: "meta/instanceID", Reason: `instanceID is not "uuid:" followed by a UUID`}}},
		{"missing cycle_ref", nil,
			kobo(row(map[string]any{"cycle_ref": nil})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "cycle_ref", Reason: "missing cycle_ref"}}},
		{"cycle_ref not a pattern", nil,
			kobo(row(map[string]any{"cycle_ref": secret + "/1/ch-0bf35071b4"})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "cycle_ref", Reason: "cycle_ref is not <site>/<wave>/<child-id> (e.g. moutse/1/ch-0bf35071b4)"}}},
		{"cycle_ref wave 0", nil,
			kobo(row(map[string]any{"cycle_ref": "moutse/0/ch-0bf35071b4"})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "cycle_ref", Reason: "cycle_ref is not <site>/<wave>/<child-id> (e.g. moutse/1/ch-0bf35071b4)"}}},
		{"cycle_ref child not hex", nil,
			kobo(row(map[string]any{"cycle_ref": "moutse/1/ch-THANDI"})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "cycle_ref", Reason: "cycle_ref is not <site>/<wave>/<child-id> (e.g. moutse/1/ch-0bf35071b4)"}}},
		{"cycle_ref of another site", nil,
			kobo(row(map[string]any{"cycle_ref": "johannesburg/1/ch-0bf35071b4"})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "cycle_ref", Reason: otherSiteReason}}},
		{"missing phase", nil,
			kobo(row(map[string]any{"phase": nil})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "phase", Reason: "missing phase"}}},
		{"unknown phase", nil,
			kobo(row(map[string]any{"phase": secret})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "phase", Reason: "unknown phase (want baseline or reassessment)"}}},
		{"missing respondent", nil,
			kobo(row(map[string]any{"respondent": ""})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "respondent", Reason: "missing respondent"}}},
		{"unknown respondent", nil,
			kobo(row(map[string]any{"respondent": secret})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "respondent", Reason: "unknown respondent (want one of caregiver, child, teacher, nurse)"}}},
		{"answers in another group", nil,
			kobo(row(map[string]any{"caregiver/csg_received": "yes", "teacher/edu_number": "partly", "teacher/edu_reading": "partly"})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "teacher", Reason: "answers in the teacher group, but the respondent is caregiver"}}},
		{"yes/no", nil,
			kobo(row(map[string]any{"caregiver/csg_received": secret})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "csg_received", Reason: "csg_received takes yes or no"}}},
		{"yes/no given as a label", nil,
			kobo(row(map[string]any{"caregiver/csg_received": "Yes"})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "csg_received", Reason: "csg_received takes yes or no"}}},
		{"numeric choice", nil,
			kobo(row(map[string]any{"caregiver/hunger_bed": secret})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "hunger_bed", Reason: "hunger_bed takes one of the numeric choices 0, 1, 2, 3"}}},
		{"declinable numeric choice", nil,
			kobo(row(map[string]any{"caregiver/phq9_9": secret})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "phq9_9", Reason: "phq9_9 takes one of the numeric choices 0, 1, 2, 3, or declined"}}},
		{"number", nil,
			kobo(row(map[string]any{"caregiver/clinic_distance_km": secret})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "clinic_distance_km", Reason: "clinic_distance_km takes a number"}}},
		{"number not declinable", nil,
			kobo(row(map[string]any{"caregiver/clinic_distance_km": "declined"})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "clinic_distance_km", Reason: "clinic_distance_km takes a number"}}},
		{"measurement with a decimal comma", nil,
			kobo(row(map[string]any{"respondent": "nurse", "nurse/weight_kg": "19,4"})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "weight_kg", Reason: "weight_kg takes a number"}}},
		{"measurement NaN", nil,
			kobo(row(map[string]any{"respondent": "nurse", "nurse/height_cm": "NaN"})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "height_cm", Reason: "height_cm takes a number"}}},
		{"date", nil,
			kobo(row(map[string]any{"respondent": "nurse", "nurse/rthb_last_visit": "14/02/2024"})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "rthb_last_visit", Reason: "rthb_last_visit takes a date written YYYY-MM-DD"}}},
		{"datetime for a date", nil,
			kobo(row(map[string]any{"respondent": "nurse", "nurse/rthb_last_visit": "2024-02-14T00:00:00.000+02:00"})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "rthb_last_visit", Reason: "rthb_last_visit takes a date written YYYY-MM-DD"}}},
		{"choice code given an array", nil,
			kobo(row(map[string]any{"caregiver/water_source": []string{secret}})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "water_source", Reason: "water_source takes a choice code"}}},
		{"unknown field in the group", nil,
			kobo(row(map[string]any{"caregiver/notes": secret})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "caregiver/notes", Reason: "unknown field: the instrument has no caregiver item of that name"}}},
		{"another respondent's item in the group", nil,
			kobo(row(map[string]any{"caregiver/edu_number": "partly"})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "caregiver/edu_number", Reason: "edu_number is a teacher item, not in the caregiver group"}}},
		{"unknown top-level field", nil,
			kobo(row(map[string]any{"household_head": secret})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "household_head", Reason: "unknown field: the instrument has no such item"}}},
		{"nested group", nil,
			kobo(row(map[string]any{"caregiver/roster/name": secret})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "caregiver/roster/name", Reason: "unknown field: the instrument has no such item"}}},
		{"item of another instrument (Johannesburg has no water_source)", nil,
			kobo(row(map[string]any{"caregiver/water_sauce": "river_dam"})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "caregiver/water_sauce", Reason: "unknown field: the instrument has no caregiver item of that name"}}},
		{"answered in and out of its group", nil,
			kobo(row(map[string]any{"caregiver/csg_received": "yes", "csg_received": "no"})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "csg_received", Reason: "csg_received is answered twice"}}},
		{"companion of a non-declinable item", intaketest(t),
			kobo(row(map[string]any{"caregiver/hunger_bed_declined": "yes"})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "caregiver/hunger_bed_declined", Reason: "unknown field: the instrument has no caregiver item of that name"}}},
		{"companion yes with an answer", intaketest(t),
			kobo(row(map[string]any{"caregiver/household_income": "2500", "caregiver/household_income_declined": "yes"})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "household_income", Reason: "household_income_declined is yes but household_income has an answer"}}},
		{"companion neither yes nor no", intaketest(t),
			kobo(row(map[string]any{"caregiver/household_income_declined": secret})),
			[]RowError{{Row: 1, InstanceID: idCaregiver, Field: "household_income_declined", Reason: "household_income_declined takes yes or no"}}},
		{"not an object", nil,
			`{"count": 1, "next": null, "previous": null, "results": ["` + secret + `"]}`,
			[]RowError{{Row: 1, Reason: "not a JSON object"}}},
		{"every problem of a row, metadata first then by field", nil,
			kobo(row(map[string]any{"phase": secret, "caregiver/csg_received": secret, "caregiver/birth_cert": secret, "teacher/edu_number": "partly"})),
			[]RowError{
				{Row: 1, InstanceID: idCaregiver, Field: "phase", Reason: "unknown phase (want baseline or reassessment)"},
				{Row: 1, InstanceID: idCaregiver, Field: "birth_cert", Reason: "birth_cert takes yes or no"},
				{Row: 1, InstanceID: idCaregiver, Field: "csg_received", Reason: "csg_received takes yes or no"},
				{Row: 1, InstanceID: idCaregiver, Field: "teacher", Reason: "answers in the teacher group, but the respondent is caregiver"},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			if in == nil {
				in = moutse(t)
			}
			subs, sum, err := parseAll(t, tc.input, in, Options{Site: "moutse"})
			if err != nil {
				t.Fatal(err)
			}
			if len(subs) != 0 || sum.Parsed != 0 || sum.Rows != 1 {
				t.Errorf("passed on %d submission(s), summary %+v", len(subs), sum)
			}
			if !reflect.DeepEqual(sum.Errors, tc.want) {
				t.Errorf("errors\n got %+v\nwant %+v", sum.Errors, tc.want)
			}
			for _, e := range sum.Errors {
				if strings.Contains(e.String(), secret) {
					t.Errorf("error repeats the value: %s", e)
				}
			}
		})
	}
}

func TestConversions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    *instrument.Instrument // moutse when nil
		input string
		want  instrument.Answers
	}{
		{"declined choice", nil,
			kobo(row(map[string]any{"caregiver/phq9_9": "declined", "caregiver/csg_received": "no"})),
			instrument.Answers{"phq9_9": instrument.Declined, "csg_received": false}},
		{"blank space trimmed, blank answer left out", nil,
			kobo(row(map[string]any{"caregiver/hunger_bed": " 3 ", "caregiver/food_short": " often", "caregiver/shelter": "  "})),
			instrument.Answers{"hunger_bed": 3.0, "food_short": "often"}},
		{"a numeric choice not offered is left to Validate", nil,
			kobo(row(map[string]any{"caregiver/hunger_bed": "7"})),
			instrument.Answers{"hunger_bed": 7.0}},
		{"a code not offered is left to Validate", nil,
			kobo(row(map[string]any{"caregiver/water_source": "well"})),
			instrument.Answers{"water_source": "well"}},
		{"JSON numbers", nil,
			`{"value": [{"__id": "` + idCaregiver + `", "cycle_ref": "moutse/2/ch-0bf35071b4", "phase": "reassessment", "respondent": "caregiver",
			  "caregiver": {"hunger_bed": 2, "clinic_distance_km": 12, "water_source": "borehole", "cg_support": null}}]}`,
			instrument.Answers{"hunger_bed": 2.0, "clinic_distance_km": 12.0, "water_source": "borehole"}},
		{"exponent and sign", nil,
			kobo(row(map[string]any{"caregiver/clinic_distance_km": "1.5e1", "caregiver/hunger_skip": "+0"})),
			instrument.Answers{"clinic_distance_km": 15.0, "hunger_skip": 0.0}},
		{"export without group names", nil,
			kobo(row(map[string]any{"csg_received": "yes", "phq9_9": "0"})),
			instrument.Answers{"csg_received": true, "phq9_9": 0.0}},
		{"companion yes: declined", intaketest(t),
			kobo(row(map[string]any{"caregiver/household_income_declined": "yes"})),
			instrument.Answers{"household_income": instrument.Declined}},
		{"companion no: the number", intaketest(t),
			kobo(row(map[string]any{"caregiver/household_income": "2500", "caregiver/household_income_declined": "no"})),
			instrument.Answers{"household_income": 2500.0}},
		{"companion of a date", intaketest(t),
			kobo(row(map[string]any{"caregiver/grant_paid_on_declined": "yes", "caregiver/household_income": "900", "caregiver/household_income_declined": "no"})),
			instrument.Answers{"grant_paid_on": instrument.Declined, "household_income": 900.0}},
		{"companion of a measurement, no group names", intaketest(t),
			kobo(row(map[string]any{"respondent": "nurse", "muac_cm_declined": "yes", "weight_kg": "20"})),
			instrument.Answers{"muac_cm": instrument.Declined, "weight_kg": 20.0}},
		{"a companion left at no in another group is no answer", intaketest(t),
			kobo(row(map[string]any{"nurse/muac_cm_declined": "no", "caregiver/birth_cert": "yes"})),
			instrument.Answers{"birth_cert": true}},
		{"metadata is not an answer", nil,
			kobo(row(map[string]any{"start": "2024-03-05T10:58:01.112+02:00", "formhub/uuid": "x", "__version__": "v1",
				"meta/deprecatedID": "uuid:x", "_attachments": []any{}, "_geolocation": []any{nil, nil}, "caregiver/birth_cert": "no"})),
			instrument.Answers{"birth_cert": false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			if in == nil {
				in = moutse(t)
			}
			subs, sum, err := parseAll(t, tc.input, in, Options{Site: "moutse"})
			if err != nil {
				t.Fatal(err)
			}
			if len(sum.Errors) > 0 || len(subs) != 1 {
				t.Fatalf("errors %+v, %d submissions", sum.Errors, len(subs))
			}
			if !reflect.DeepEqual(subs[0].Answers, tc.want) {
				t.Errorf("answers\n got %#v\nwant %#v", subs[0].Answers, tc.want)
			}
		})
	}
}

func TestDuplicateInstanceID(t *testing.T) {
	in := moutse(t)
	teacher := row(map[string]any{"meta/instanceID": idTeacher, "respondent": "teacher", "teacher/edu_number": "achieved"})
	again := row(map[string]any{"caregiver/csg_received": "no"}) // an edited copy: still the same submission
	subs, sum, err := parseAll(t, kobo(row(nil), teacher, again, again), in, Options{Site: "moutse"})
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 2 || subs[0].InstanceID != idCaregiver || subs[1].InstanceID != idTeacher {
		t.Errorf("passed on %+v", subs)
	}
	want := []RowError{
		{Row: 3, InstanceID: idCaregiver, Field: "meta/instanceID", Reason: "duplicate instanceID: row 1 has the same submission"},
		{Row: 4, InstanceID: idCaregiver, Field: "meta/instanceID", Reason: "duplicate instanceID: row 1 has the same submission"},
	}
	if sum.Duplicates != 2 || sum.Rows != 4 || sum.Parsed != 2 || !reflect.DeepEqual(sum.Errors, want) {
		t.Errorf("summary %+v", sum)
	}

	// In a CSV, rows are line numbers.
	csv := "SubmissionDate,cycle_ref,phase,respondent,caregiver-csg_received,meta-instanceID,KEY,ReviewState\n" +
		"2024-03-05T09:12:44.512Z,moutse/1/ch-0bf35071b4,baseline,caregiver,yes," + idCaregiver + "," + idCaregiver + ",\n" +
		"2024-03-05T09:12:44.512Z,moutse/1/ch-0bf35071b4,baseline,caregiver,yes," + idCaregiver + "," + idCaregiver + ",\n"
	_, sum, err = parseAll(t, csv, in, Options{Site: "moutse"})
	if err != nil {
		t.Fatal(err)
	}
	want = []RowError{{Row: 3, InstanceID: idCaregiver, Field: "meta/instanceID", Reason: "duplicate instanceID: row 2 has the same submission"}}
	if sum.Duplicates != 1 || sum.Parsed != 1 || !reflect.DeepEqual(sum.Errors, want) {
		t.Errorf("CSV summary %+v", sum)
	}
}

func TestMaxRows(t *testing.T) {
	in := moutse(t)
	for _, file := range []string{"central.json", "central.csv", "kobo.json", "kobo.csv"} {
		data, err := os.ReadFile("testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		subs, sum, err := parseAll(t, string(data), in, Options{Site: "moutse", MaxRows: 2})
		if !errors.Is(err, ErrTooManyRows) {
			t.Errorf("%s: err %v, want ErrTooManyRows", file, err)
		}
		if sum.Rows != 2 || len(subs) != 2 {
			t.Errorf("%s: %d rows read, %d passed on; want 2 and 2", file, sum.Rows, len(subs))
		}
		if _, _, err := parseAll(t, string(data), in, Options{Site: "moutse", MaxRows: 4}); err != nil {
			t.Errorf("%s: MaxRows 4: %v", file, err)
		}
	}
	// The default is DefaultMaxRows.
	var b strings.Builder
	b.WriteString("_uuid,cycle_ref\n")
	for range DefaultMaxRows + 1 {
		b.WriteString("x,\n")
	}
	_, sum, err := parseAll(t, b.String(), in, Options{Site: "moutse"})
	if !errors.Is(err, ErrTooManyRows) || sum.Rows != DefaultMaxRows {
		t.Errorf("default limit: err %v after %d rows", err, sum.Rows)
	}
}

func TestKoboCSVSeparators(t *testing.T) {
	in := moutse(t)
	data, err := os.ReadFile("testdata/kobo.csv")
	if err != nil {
		t.Fatal(err)
	}
	semicolon := string(data)
	comma := strings.ReplaceAll(semicolon, `";"`, `","`)
	unquoted := strings.ReplaceAll(comma, `"`, "")
	if strings.Count(comma, ";") != 0 {
		t.Fatal("the sample holds a ; inside a value")
	}
	want, sum, err := parseAll(t, semicolon, in, Options{Site: "moutse"})
	if err != nil || len(want) != 3 || sum.Format != "kobo-csv" {
		t.Fatalf("semicolon: %v, %d submissions, %+v", err, len(want), sum)
	}
	for name, input := range map[string]string{"comma": comma, "unquoted comma": unquoted} {
		got, sum2, err := parseAll(t, input, in, Options{Site: "moutse"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(sum2, sum) {
			t.Errorf("%s: differs from the semicolon export\n got %+v %+v\nwant %+v %+v", name, got, sum2, want, sum)
		}
	}
}

func TestKoboCSVWithoutInstanceIDColumn(t *testing.T) {
	// Without meta/instanceID, _uuid is the instance ID; the label of the
	// validation status marks a rejected submission.
	input := "cycle_ref;phase;respondent;caregiver/csg_received;_id;_uuid;_submission_time;_validation_status;_index\n" +
		"moutse/1/ch-0bf35071b4;baseline;caregiver;yes;231874501;6f1c2b7e-3d4a-4c8e-9b1f-2a7d5e8c0f13;2024-03-05T09:12:44;Not Approved;1\n"
	subs, sum, err := parseAll(t, input, moutse(t), Options{Site: "moutse"})
	if err != nil || len(subs) != 1 {
		t.Fatalf("%v: %+v", err, sum)
	}
	if subs[0].InstanceID != idCaregiver || !subs[0].Rejected || sum.Rejected != 1 {
		t.Errorf("got %+v", subs[0])
	}
}

func TestRejected(t *testing.T) {
	in := moutse(t)
	for _, tc := range []struct {
		name, input string
	}{
		{"central json", `{"@odata.context": "x", "value": [{"__id": "` + idCaregiver + `", "__system": {"reviewState": "rejected"},
			"meta": {"instanceID": "` + idCaregiver + `"}, "cycle_ref": "moutse/1/ch-0bf35071b4", "phase": "baseline", "respondent": "caregiver"}]}`},
		{"central csv", "SubmissionDate,cycle_ref,phase,respondent,meta-instanceID,KEY,ReviewState\n" +
			"2024-03-05T09:12:44.512Z,moutse/1/ch-0bf35071b4,baseline,caregiver," + idCaregiver + "," + idCaregiver + ",rejected\n"},
		{"kobo json", kobo(row(map[string]any{"_validation_status": map[string]any{"uid": "validation_status_not_approved", "label": "Not Approved"}}))},
		{"kobo csv", "cycle_ref;phase;respondent;meta/instanceID;_uuid;_validation_status\n" +
			"moutse/1/ch-0bf35071b4;baseline;caregiver;" + idCaregiver + ";x;validation_status_not_approved\n"},
	} {
		subs, sum, err := parseAll(t, tc.input, in, Options{Site: "moutse"})
		if err != nil || len(subs) != 1 {
			t.Fatalf("%s: %v, %+v", tc.name, err, sum)
		}
		if !subs[0].Rejected || sum.Rejected != 1 || sum.Parsed != 1 {
			t.Errorf("%s: not rejected: %+v", tc.name, sum)
		}
	}
	// Other review states are not rejections.
	subs, _, err := parseAll(t, kobo(row(map[string]any{"_validation_status": map[string]any{"uid": "validation_status_on_hold"}})), in, Options{Site: "moutse"})
	if err != nil || len(subs) != 1 || subs[0].Rejected {
		t.Errorf("on hold: %v %+v", err, subs)
	}
}

func TestMalformedCSV(t *testing.T) {
	in := moutse(t)
	header := "SubmissionDate,cycle_ref,phase,respondent,caregiver-csg_received,caregiver-food_short,meta-instanceID,KEY\n"
	line := func(id, food string) string {
		return "2024-03-05T09:12:44.512Z,moutse/1/ch-0bf35071b4,baseline,caregiver,yes," + food + "," + id + "," + id + "\n"
	}
	input := header +
		line(idCaregiver, "never") + // line 2
		"2024-03-05T09:12:44.512Z,moutse/1/ch-0bf35071b4,baseline\n" + // line 3: too few fields
		"2024-03-05T09:12:44.512Z,moutse/1/ch-0bf35071b4,baseline,caregiver,yes,so\"me\"times," + idTeacher + "," + idTeacher + "\n" + // line 4: bare quote
		",,,,,,,\n" + // line 5: blank, skipped
		line(idNurse, "\"often\nor sometimes\"") + // lines 6-7: a quoted line break
		line(idOtherSite, "often") // line 8
	subs, sum, err := parseAll(t, input, in, Options{Site: "moutse"})
	if err != nil {
		t.Fatal(err)
	}
	want := []RowError{
		{Row: 3, Reason: "malformed CSV line: wrong number of fields (the header has 8)"},
		{Row: 4, Reason: `malformed CSV line: a quote (") inside a field that is not quoted`},
	}
	if !reflect.DeepEqual(sum.Errors, want) {
		t.Errorf("errors\n got %+v\nwant %+v", sum.Errors, want)
	}
	var rows []int
	for _, s := range subs {
		rows = append(rows, s.Row)
	}
	if !reflect.DeepEqual(rows, []int{2, 6, 8}) || sum.Rows != 5 {
		t.Errorf("rows %v, summary %+v", rows, sum)
	}

	// An unclosed quote swallows the rest of the file: one error.
	_, sum, err = parseAll(t, header+line(idCaregiver, "never")+line(idTeacher, "\"often")+line(idNurse, "never"), in, Options{Site: "moutse"})
	if err != nil {
		t.Fatal(err)
	}
	want = []RowError{{Row: 3, Reason: "malformed CSV line: a quoted field is not closed, or a quote follows it"}}
	if sum.Parsed != 1 || !reflect.DeepEqual(sum.Errors, want) {
		t.Errorf("unclosed quote: %+v", sum)
	}
}

func TestUnrecognisedInput(t *testing.T) {
	in := moutse(t)
	for _, tc := range []struct {
		name   string
		format Format
		input  string
	}{
		{"empty", FormatAuto, ""},
		{"blank", FormatAuto, " \n\t"},
		{"json without submissions", FormatAuto, `{"detail": "Not found."}`},
		{"json array", FormatAuto, `[{"cycle_ref": "moutse/1/ch-0bf35071b4"}]`},
		{"kobo given as central", FormatCentralJSON, kobo(row(nil))},
		{"central given as kobo", FormatKoboJSON, `{"value": []}`},
		{"csv of something else", FormatAuto, "name,age\nThandi,34\n"},
		{"csv given as json", FormatKoboJSON, "_uuid;cycle_ref\n"},
	} {
		_, sum, err := parseAll(t, tc.input, in, Options{Site: "moutse", Format: tc.format})
		if !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("%s: err %v, want ErrUnknownFormat", tc.name, err)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error repeats the input: %v", tc.name, err)
		}
		if sum.Rows != 0 {
			t.Errorf("%s: %d rows", tc.name, sum.Rows)
		}
	}
}

func TestParseStops(t *testing.T) {
	in := moutse(t)
	data, err := os.ReadFile("testdata/central.json")
	if err != nil {
		t.Fatal(err)
	}
	// each's error stops the parse and is returned.
	stop := errors.New("store unavailable")
	calls := 0
	sum, err := Parse(strings.NewReader(string(data)), in, Options{Site: "moutse"}, func(Submission) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 || sum.Parsed != 1 || sum.Rows != 1 {
		t.Errorf("err %v after %d calls, %+v", err, calls, sum)
	}
	// A truncated download is an error, after the rows read.
	cut := string(data[:len(data)*2/3])
	subs, sum, err := parseAll(t, cut, in, Options{Site: "moutse"})
	if err == nil || errors.Is(err, ErrUnknownFormat) || len(subs) != 2 || sum.Rows != 3 {
		t.Errorf("truncated: err %v, %d submissions, %+v", err, len(subs), sum)
	}
	// A dry run (each nil) counts.
	sum, err = Parse(strings.NewReader(string(data)), in, Options{Site: "moutse"}, nil)
	if err != nil || sum.Parsed != 3 {
		t.Errorf("dry run: %v %+v", err, sum)
	}
	// Options are checked.
	if _, err := Parse(strings.NewReader(string(data)), in, Options{}, nil); err == nil {
		t.Error("no site: no error")
	}
	if _, err := Parse(strings.NewReader(string(data)), in, Options{Site: "moutse", Format: "xlsx"}, nil); err == nil {
		t.Error("unknown format: no error")
	}
	if _, err := Parse(strings.NewReader(string(data)), nil, Options{Site: "moutse"}, nil); err == nil {
		t.Error("no instrument: no error")
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": FormatAuto, "auto": FormatAuto, " Kobo-CSV ": FormatKoboCSV,
		"central-json": FormatCentralJSON, "central-csv": FormatCentralCSV, "kobo-json": FormatKoboJSON} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseFormat("odk"); err == nil {
		t.Error("ParseFormat(odk): no error")
	}
}

func TestCentralZip(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range map[string]string{
		"khula_cwtt_moutse.csv":        string(readSample(t, "central.csv")),
		"khula_cwtt_moutse-roster.csv": "SubmissionDate,name,PARENT_KEY,KEY\n",
		"media/scan.csv":               "not this one\n",
		"media/photo.jpg":              "\xff\xd8\xff",
	} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(w, body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	archive := buf.Bytes()

	// Parse says what to do with the archive itself.
	if _, _, err := parseAll(t, string(archive), moutse(t), Options{Site: "moutse"}); !errors.Is(err, ErrUnknownFormat) || !strings.Contains(err.Error(), "CentralZipCSV") {
		t.Errorf("parsing the archive: %v", err)
	}
	rc, name, err := CentralZipCSV(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	sum, err := Parse(rc, moutse(t), Options{Site: "moutse"}, nil)
	if name != "khula_cwtt_moutse.csv" || err != nil || sum.Parsed != 3 || sum.Format != "central-csv" {
		t.Errorf("%s: %v %+v", name, err, sum)
	}

	buf.Reset()
	zw = zip.NewWriter(&buf)
	if _, err := zw.Create("media/photo.jpg"); err != nil {
		t.Fatal(err)
	}
	_ = zw.Close()
	if _, _, err := CentralZipCSV(bytes.NewReader(buf.Bytes()), int64(buf.Len())); err == nil {
		t.Error("an archive without a CSV: no error")
	}
}

func TestEncryptedWithoutData(t *testing.T) {
	const reason = "the server exported the submission without its data (an encrypted form): export it decrypted"
	for name, input := range map[string]string{
		"central csv": "SubmissionDate,cycle_ref,phase,respondent,caregiver-csg_received,meta-instanceID,KEY,Status,ReviewState\n" +
			"2024-03-05T09:12:44.512Z,,,,,," + idCaregiver + ",missing encrypted form data,\n",
		"central json": `{"value": [{"__id": "` + idCaregiver + `", "__system": {"status": "missingEncryptedFormData", "reviewState": null}}]}`,
	} {
		_, sum, err := parseAll(t, input, moutse(t), Options{Site: "moutse"})
		want := []RowError{{Row: map[bool]int{true: 1, false: 2}[strings.HasSuffix(name, "json")], InstanceID: idCaregiver, Reason: reason}}
		if err != nil || !reflect.DeepEqual(sum.Errors, want) {
			t.Errorf("%s: %v\n got %+v\nwant %+v", name, err, sum.Errors, want)
		}
	}
}
