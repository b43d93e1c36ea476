package growth

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The expected z-scores below were computed by hand from the LMS formula:
//
//	c1  boy 61 months: hfawho2007 L=1 M=110.2647 S=0.04164 → 0;
//	    wfawho2007 L=-0.2026 M=18.5057 S=0.12988 → 0;
//	    BMI 18.5057/1.102647² = 15.2206260835, bfawho2007 L=-0.7387
//	    M=15.2641 S=0.08390 → -0.0340 → "-0.03"
//	c4  girl 150 months: hfawho2007 L=1 M=154.0041 S=0.04483 → 0; WFA past
//	    120 months and BMI without weight → empty
//	c5  boy 100 months: hfawho2007 L=1 M=129.0466 S=0.04470, 130 cm → 0.1653;
//	    wfawho2007 L=-0.5799 M=26.2911 S=0.14608, 50.5486575719 kg (restricted)
//	    → 3.9427; BMI 29.9104482674, bfawho2007 L=-1.5252 M=15.8344
//	    S=0.09693 (restricted) → 5.0000, on the flag limit and not flagged
//	c7  boy 228 months: hfawho2007 L=1 M=176.5432 → 0; BMI 70/1.765432² =
//	    22.4592914757, bfawho2007 L=-0.8419 M=22.1883 S=0.12948 → 0.0933
func TestProcessCSV(t *testing.T) {
	refs := loadRefs(t)
	in := `id,Sex,AgeMons,Weight,Height,note
c1,1,61,18.5057,110.2647,median
c2,2,abc,20,110,bad age
c3,3,70,20,110,bad sex
c4,2,150,,154.0041,no weight
c5,1,100,50.5486575719,130,"two
lines"
c6,2,,12,80,no age
c7,1,228,70,176.5432,last
c8,1,61
c9,1,-2,10,80,negative age
c10,2,60.5,18,108,gap
`
	want := `id,Sex,AgeMons,Weight,Height,note,zhfa,zwfa,zbfa,fhfa,fwfa,fbfa
c1,1,61,18.5057,110.2647,median,0.00,0.00,-0.03,0,0,0
c2,2,abc,20,110,bad age,,,,,,
c3,3,70,20,110,bad sex,,,,,,
c4,2,150,,154.0041,no weight,0.00,,,0,,
c5,1,100,50.5486575719,130,"two
lines",0.17,3.94,5.00,0,0,0
c6,2,,12,80,no age,,,,,,
c7,1,228,70,176.5432,last,0.00,,0.09,0,,0
c8,1,61,,,,,,,,,
c9,1,-2,10,80,negative age,,,,,,
c10,2,60.5,18,108,gap,,,,,,
`
	var out strings.Builder
	rep, err := ProcessCSV(strings.NewReader(in), &out, refs)
	if err != nil {
		t.Fatalf("ProcessCSV: %v", err)
	}
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	wantRep := Report{
		Rows:           10,
		RowsWithErrors: 4,
		Errors: []RowError{
			{Line: 3, Reason: `agemons "abc" is not a number`},
			{Line: 4, Reason: `sex "3" must be 1 (male) or 2 (female)`},
			{Line: 10, Reason: "3 fields, header has 6"},
			{Line: 11, Reason: "age must not be negative"},
		},
	}
	if !reflect.DeepEqual(rep, wantRep) {
		t.Errorf("report = %+v\nwant     %+v", rep, wantRep)
	}
	if got := rep.Errors[0].Error(); got != `line 3: agemons "abc" is not a number` {
		t.Errorf("RowError.Error() = %q", got)
	}
}

// TestProcessCSVVariants covers age in days, the measure column, a re-run
// over an output file, header spelling and the choice between agedays and
// agemons. Expected values (hand-computed):
//
//	boy 700 days standing 86.2392 cm → 86.9392 cm, lenanthro L=1 M=86.9392 → 0;
//	  weianthro L=-0.0083 M=11.951 → 0; BMI 11.951/0.869392² = 15.8114961727,
//	  bmianthro L=-0.6328 M=15.7853 S=0.07786 → 0.0213
//	girl 1000 days recumbent 93.5178 cm → 92.8178 cm, lenanthro M=92.8178 → 0;
//	  weianthro M=13.256 → 0; BMI 15.3868583100, bmianthro L=-0.5684
//	  M=15.4604 S=0.08465 → -0.0564
//	boy at birth: lenanthro M=49.8842 → 0; weianthro M=3.3464 → 0;
//	  BMI 13.4478181616, bmianthro L=-0.3053 M=13.4069 S=0.0956 → 0.0319
func TestProcessCSVVariants(t *testing.T) {
	refs := loadRefs(t)
	cases := []struct {
		name    string
		in      string
		want    string
		errors  []RowError
		rows    int
		withErr int
	}{
		{
			name: "age in days, measure column, re-run over zhfa, BOM and upper case",
			in: "\ufeffSEX,AgeDays,WEIGHT,Height,Measure,zhfa\n" +
				"1,700,11.951,86.2392,h,9.99\n" +
				"2,1000,13.256,93.5178,L,\n" +
				"1,0,3.3464,49.8842,,\n" +
				"2,100,6,60,x,7\n",
			want: "SEX,AgeDays,WEIGHT,Height,Measure,zhfa,zwfa,zbfa,fhfa,fwfa,fbfa\n" +
				"1,700,11.951,86.2392,h,0.00,0.00,0.02,0,0,0\n" +
				"2,1000,13.256,93.5178,L,0.00,0.00,-0.06,0,0,0\n" +
				"1,0,3.3464,49.8842,,0.00,0.00,0.03,0,0,0\n" +
				"2,100,6,60,x,,,,,,\n",
			errors:  []RowError{{Line: 5, Reason: `measure "x" must be L (recumbent) or H (standing)`}},
			rows:    4,
			withErr: 1,
		},
		{
			// agedays 1000 wins over agemons 61: lenanthro sex 1 day 1000
			// M=93.9706 → 0. With agedays empty, agemons 61 is used:
			// hfawho2007 M=110.2647 → 0.
			name: "agedays wins over agemons",
			in: "sex,agemons,agedays,weight,height\n" +
				"1,61,1000,,93.9706\n" +
				"1,61,,,110.2647\n" +
				"1,61, ,0,110.2647\n" +
				"1,61,,12,-3\n" +
				"1,61,,twelve,\n",
			want: "sex,agemons,agedays,weight,height,zhfa,zwfa,zbfa,fhfa,fwfa,fbfa\n" +
				"1,61,1000,,93.9706,0.00,,,0,,\n" +
				"1,61,,,110.2647,0.00,,,0,,\n" +
				"1,61,\" \",0,110.2647,,,,,,\n" + // encoding/csv quotes a leading space
				"1,61,,12,-3,,,,,,\n" +
				"1,61,,twelve,,,,,,,\n",
			errors: []RowError{
				{Line: 4, Reason: "weight 0 must be positive"},
				{Line: 5, Reason: "height -3 must be positive"},
				{Line: 6, Reason: `weight "twelve" is not a number`},
			},
			rows:    5,
			withErr: 3,
		},
		{
			name: "several problems on one row, extra fields kept",
			in: "sex,agemons,weight,height\n" +
				"m,x,1e999,\n" +
				"1,61,18.5057,110.2647,extra\n",
			want: "sex,agemons,weight,height,zhfa,zwfa,zbfa,fhfa,fwfa,fbfa\n" +
				"m,x,1e999,,,,,,,\n" +
				"1,61,18.5057,110.2647,,,,,,,extra\n",
			errors: []RowError{
				{Line: 2, Reason: `sex "m" must be 1 (male) or 2 (female); agemons "x" is not a number; weight "1e999" is not a number`},
				{Line: 3, Reason: "5 fields, header has 4"},
			},
			rows:    2,
			withErr: 2,
		},
		{
			name: "header only",
			in:   "sex,agemons,weight,height\n",
			want: "sex,agemons,weight,height,zhfa,zwfa,zbfa,fhfa,fwfa,fbfa\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			rep, err := ProcessCSV(strings.NewReader(tc.in), &out, refs)
			if err != nil {
				t.Fatalf("ProcessCSV: %v", err)
			}
			if out.String() != tc.want {
				t.Errorf("output:\n%s\nwant:\n%s", out.String(), tc.want)
			}
			if rep.Rows != tc.rows || rep.RowsWithErrors != tc.withErr || !reflect.DeepEqual(rep.Errors, tc.errors) {
				t.Errorf("report = %+v, want rows %d, with errors %d, errors %+v", rep, tc.rows, tc.withErr, tc.errors)
			}
		})
	}
}

// TestProcessCSVOedema covers the oedema column: with oedema a row gets no
// zwfa and no zbfa, but its zhfa. Every row is a boy of 100 months, 26.2911
// kg, 130 cm (hand-computed):
//
//	hfawho2007 sex 1 month 100: L=1 M=129.0466 S=0.04470;
//	  z = (130/129.0466 - 1)/0.04470 = 0.1652802868 → "0.17"
//	wfawho2007 sex 1 month 100: L=-0.5799 M=26.2911 S=0.14608; y = M → "0.00"
//	bfawho2007 sex 1 month 100: L=-1.5252 M=15.8344 S=0.09693;
//	  BMI 26.2911/1.3² = 15.5568639053, y/M = 0.9824726,
//	  (y/M)^L = 1.0273368, L·S = -0.1478376,
//	  z = (1.0273368 - 1)/-0.1478376 = -0.1849112626 → "-0.18"
func TestProcessCSVOedema(t *testing.T) {
	refs := loadRefs(t)
	const (
		all     = "0.17,0.00,-0.18,0,0,0"
		hfaOnly = "0.17,,,0,,"
		none    = ",,,,,"
	)
	cases := []struct {
		oedema string
		want   string
		reason string // the row's error, if any
	}{
		{"y", hfaOnly, ""},
		{"Y", hfaOnly, ""},
		{"yes", hfaOnly, ""},
		{"YES", hfaOnly, ""},
		{"1", hfaOnly, ""},
		{"true", hfaOnly, ""},
		{"True", hfaOnly, ""},
		{" y ", hfaOnly, ""},
		{"n", all, ""},
		{"N", all, ""},
		{"no", all, ""},
		{"0", all, ""},
		{"false", all, ""},
		{"FALSE", all, ""},
		{"", all, ""}, // not recorded: no oedema, as in WHO's software
		{"2", none, `oedema "2" must be y/n, yes/no, 1/0 or true/false (empty: not recorded)`},
		{"maybe", none, `oedema "maybe" must be y/n, yes/no, 1/0 or true/false (empty: not recorded)`},
		{"yes?", none, `oedema "yes?" must be y/n, yes/no, 1/0 or true/false (empty: not recorded)`},
	}
	for _, tc := range cases {
		t.Run("oedema "+tc.oedema, func(t *testing.T) {
			// Line 3 is the row under test, after a row without oedema.
			in := "id,sex,agemons,weight,height,Oedema\n" +
				"a,1,100,26.2911,130,n\n" +
				"b,1,100,26.2911,130," + tc.oedema + "\n"
			cell := tc.oedema
			if cell == " y " {
				cell = `" y "` // encoding/csv quotes a leading space
			}
			want := "id,sex,agemons,weight,height,Oedema,zhfa,zwfa,zbfa,fhfa,fwfa,fbfa\n" +
				"a,1,100,26.2911,130,n," + all + "\n" +
				"b,1,100,26.2911,130," + cell + "," + tc.want + "\n"
			var out strings.Builder
			rep, err := ProcessCSV(strings.NewReader(in), &out, refs)
			if err != nil {
				t.Fatalf("ProcessCSV: %v", err)
			}
			if out.String() != want {
				t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
			}
			var wantErrs []RowError
			if tc.reason != "" {
				wantErrs = []RowError{{Line: 3, Reason: tc.reason}}
			}
			if rep.Rows != 2 || rep.RowsWithErrors != len(wantErrs) || !reflect.DeepEqual(rep.Errors, wantErrs) {
				t.Errorf("report = %+v, want errors %+v", rep, wantErrs)
			}
		})
	}
}

func TestProcessCSVHeaderErrors(t *testing.T) {
	cases := []struct {
		name     string
		in       string
		missing  bool // wraps ErrMissingColumn
		mentions []string
	}{
		{"no height, no age", "sex,age,weight\n1,2,3\n", true, []string{"height", "agemons (or agedays)"}},
		{"no sex", "Weight,Height,AGEDAYS\n", true, []string{"sex"}},
		{"all missing", "a,b\n", true, []string{"sex", "weight", "height", "agemons"}},
		{"empty input", "", false, []string{"empty input"}},
		{"broken header quote", "sex,\"age\"x,weight,height\n", false, []string{"line 1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			_, err := ProcessCSV(strings.NewReader(tc.in), &out, nil)
			if err == nil {
				t.Fatal("ProcessCSV succeeded, want an error")
			}
			if errors.Is(err, ErrMissingColumn) != tc.missing {
				t.Errorf("errors.Is(err, ErrMissingColumn) = %v, want %v (err %v)", !tc.missing, tc.missing, err)
			}
			for _, m := range tc.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			if out.Len() != 0 {
				t.Errorf("wrote %q on a header error", out.String())
			}
		})
	}
}

func TestProcessCSVNilReferences(t *testing.T) {
	in := "sex,agemons,weight,height\n1,61,18.5,110\n2,20,,\n"
	want := "sex,agemons,weight,height,zhfa,zwfa,zbfa,fhfa,fwfa,fbfa\n" +
		"1,61,18.5,110,,,,,,\n" +
		"2,20,,,,,,,,\n"
	var out strings.Builder
	rep, err := ProcessCSV(strings.NewReader(in), &out, nil)
	if err != nil {
		t.Fatalf("ProcessCSV: %v", err)
	}
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if rep.Rows != 2 || rep.RowsWithErrors != 0 || len(rep.Errors) != 0 {
		t.Errorf("report = %+v", rep)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestProcessCSVFatalErrors(t *testing.T) {
	cases := []struct {
		name     string
		in       string
		w        interface{ Write([]byte) (int, error) }
		mentions []string
		rows     int
	}{
		{"bad quote in a row", "sex,agemons,weight,height\n1,61,18,110\n1,\"6\"1,18,110\n", &strings.Builder{}, []string{"line 3"}, 1},
		{"write failure", "sex,agemons,weight,height\n1,61,18,110\n", failingWriter{}, []string{"writing CSV", "disk full"}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := ProcessCSV(strings.NewReader(tc.in), tc.w, nil)
			if err == nil {
				t.Fatal("ProcessCSV succeeded, want an error")
			}
			for _, m := range tc.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			if rep.Rows != tc.rows {
				t.Errorf("rows = %d, want %d", rep.Rows, tc.rows)
			}
		})
	}
}

func TestFormatZ(t *testing.T) {
	cases := []struct {
		z    float64
		want string
	}{
		{0, "0.00"},
		{-0.004, "0.00"}, // never "-0.00"
		{-0.005, "-0.01"},
		{1.234, "1.23"},
		{-3.4768375981, "-3.48"},
		{4.9999999999953495, "5.00"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			if got := formatZ(tc.z); got != tc.want {
				t.Errorf("formatZ(%v) = %q, want %q", tc.z, got, tc.want)
			}
		})
	}
}
