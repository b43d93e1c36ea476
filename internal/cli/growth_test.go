package cli

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/khula-cop/khula/internal/growth"
)

// builtInTables makes the commands under test use the tables built into
// the binary, whatever $KHULA_WHO_GROWTH_DIR says in the caller's shell.
func builtInTables(t *testing.T) {
	t.Setenv(growth.EnvDir, "")
}

// writeCSV writes text to a file in a new temporary directory.
func writeCSV(t *testing.T, text string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestGrowthCSVContract(t *testing.T) {
	builtInTables(t)
	out := filepath.Join(t.TempDir(), "out.csv")
	code, _, stderr := run(t, "", "growth", "--csv", "testdata/growth.csv", "--out", out)
	if code != 2 {
		t.Fatalf("exit %d, want 2 for a file with bad rows; stderr %s", code, stderr)
	}
	for _, want := range []string{"testdata/growth.csv:4:", "testdata/growth.csv:5:"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks the bad row %q:\n%s", want, stderr)
		}
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"id", "sex", "agemons", "weight", "height", "note", "zhfa", "zwfa", "zbfa", "fhfa", "fwfa", "fbfa"}
	if !slices.Equal(rows[0], wantHeader) {
		t.Fatalf("header = %v, want %v", rows[0], wantHeader)
	}
	if len(rows) != 5 {
		t.Fatalf("%d rows, want the header and 4 data rows (bad rows kept)", len(rows))
	}
	a := rows[1]
	for i := 6; i <= 8; i++ {
		if a[i] == "" || strings.Count(a[i], ".") != 1 || len(a[i][strings.Index(a[i], ".")+1:]) != 2 {
			t.Errorf("row a column %s = %q, want a z-score with 2 decimals", wantHeader[i], a[i])
		}
	}
	if a[9] != "0" || a[10] != "0" || a[11] != "0" {
		t.Errorf("row a flags = %v, want 0 0 0", a[9:])
	}
	b := rows[2]
	if b[6] == "" || b[7] != "" || b[8] != "" || b[10] != "" {
		t.Errorf("row b without weight: zhfa %q zwfa %q zbfa %q fwfa %q; want only height-for-age", b[6], b[7], b[8], b[10])
	}
	for _, bad := range rows[3:] {
		if bad[6] != "" || bad[7] != "" || bad[8] != "" {
			t.Errorf("bad row %s has z-scores %v", bad[0], bad[6:9])
		}
	}
}

// TestGrowthOedemaAndAgeRule runs the command on the built-in tables with an
// oedema column and ages at WHO's edges. Hand-computed (z = ((y/M)^L − 1)/(L·S)):
//
//	a, b  boy 100 months, 26.2911 kg, 130 cm:
//	      hfawho2007 L=1 M=129.0466 S=0.04470 → (130/129.0466 − 1)/0.04470 = 0.1653 → 0.17
//	      wfawho2007 L=−0.5799 M=26.2911 S=0.14608, y = M → 0.00
//	      BMI 26.2911/1.3² = 15.5568639; bfawho2007 L=−1.5252 M=15.8344 S=0.09693:
//	      (0.9824726^−1.5252 − 1)/(−1.5252·0.09693) = (1.0273368 − 1)/−0.1478376 = −0.1849 → −0.18
//	      b has oedema: zwfa and zbfa empty, zhfa kept
//	c     boy 120.66 months (120 whole), 35 kg: wfawho2007 month 120 L=−0.6764
//	      M=31.1586 S=0.16305: (1.1232854^−0.6764 − 1)/(−0.6764·0.16305) =
//	      (0.9243756 − 1)/−0.1102870 = 0.6857 → 0.69
//	d     boy 121 months: no weight-for-age, no height → nothing
//	e     girl 228.59 months (228 whole), 52 kg, 160 cm: hfawho2007 month 228 L=1
//	      M=163.1548 S=0.04009: (160/163.1548 − 1)/0.04009 = −0.4823 → −0.48;
//	      BMI 20.3125, bfawho2007 month 228 L=−0.7496 M=21.4269 S=0.14441:
//	      (0.9479906^−0.7496 − 1)/(−0.7496·0.14441) = (1.0408489 − 1)/−0.1082497 = −0.3774 → −0.38
//	f     girl 229 months: out of range
func TestGrowthOedemaAndAgeRule(t *testing.T) {
	builtInTables(t)
	in := writeCSV(t, "id,sex,agemons,weight,height,oedema\n"+
		"a,1,100,26.2911,130,n\n"+
		"b,1,100,26.2911,130,y\n"+
		"c,1,120.66,35,,\n"+
		"d,1,121,35,,no\n"+
		"e,2,228.59,52,160,\n"+
		"f,2,229,52,160,0\n")
	want := "id,sex,agemons,weight,height,oedema,zhfa,zwfa,zbfa,fhfa,fwfa,fbfa\n" +
		"a,1,100,26.2911,130,n,0.17,0.00,-0.18,0,0,0\n" +
		"b,1,100,26.2911,130,y,0.17,,,0,,\n" +
		"c,1,120.66,35,,,,0.69,,,0,\n" +
		"d,1,121,35,,no,,,,,,\n" +
		"e,2,228.59,52,160,,-0.48,,-0.38,0,,0\n" +
		"f,2,229,52,160,0,,,,,,\n"
	code, out, stderr := run(t, "", "growth", "--csv", in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	if !strings.Contains(stderr, "6 row(s) scored, 0 with errors") {
		t.Errorf("stderr = %q", stderr)
	}
}

// TestGrowthOedemaBadValueNamesLine checks that an oedema value the command
// does not know is reported with the file's line, and the row left unscored.
func TestGrowthOedemaBadValueNamesLine(t *testing.T) {
	builtInTables(t)
	in := writeCSV(t, "id,sex,agemons,weight,height,oedema\n"+
		"a,1,100,26.2911,130,yes\n"+
		"b,1,100,26.2911,130,maybe\n"+
		"c,1,100,26.2911,130,2\n")
	code, out, stderr := run(t, "", "growth", "--csv", in)
	if code != 2 {
		t.Fatalf("exit %d, want 2 for a file with a bad row; stderr %s", code, stderr)
	}
	for _, want := range []string{
		in + `:3: oedema "maybe" must be y/n, yes/no, 1/0 or true/false (empty: not recorded)`,
		in + `:4: oedema "2" must be y/n, yes/no, 1/0 or true/false (empty: not recorded)`,
		"3 row(s) scored, 2 with errors",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(out, "b,1,100,26.2911,130,maybe,,,,,,\n") {
		t.Errorf("the bad row is not written back unscored:\n%s", out)
	}
}

// TestGrowthTablesOverride checks --reference and $KHULA_WHO_GROWTH_DIR: a
// directory asked for but without the tables is an error that says so, never
// replaced by the built-in tables; a good one gives the same z-scores.
func TestGrowthTablesOverride(t *testing.T) {
	empty := t.TempDir()
	t.Run("--reference without tables", func(t *testing.T) {
		builtInTables(t)
		code, _, stderr := run(t, "", "growth", "--reference", empty, "--csv", "testdata/growth.csv")
		if code != 1 || !strings.Contains(stderr, "no reference tables") || !strings.Contains(stderr, "anthro") || !strings.Contains(stderr, empty) {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("$KHULA_WHO_GROWTH_DIR without tables", func(t *testing.T) {
		t.Setenv(growth.EnvDir, empty)
		code, _, stderr := run(t, "", "growth", "--csv", "testdata/growth.csv")
		if code != 1 || !strings.Contains(stderr, "no reference tables") || !strings.Contains(stderr, empty) {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("score --growth-dir without tables", func(t *testing.T) {
		builtInTables(t)
		code, _, stderr := run(t, "", "score", "--site", "johannesburg", "--sites-dir", sitesDir, "--growth-dir", empty, "testdata/caregiver.json")
		if code != 1 || !strings.Contains(stderr, "no reference tables") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("--reference with WHO's files", func(t *testing.T) {
		builtInTables(t)
		dir := filepath.Join("..", "..", "..", "shared", "data", "who-growth")
		if _, err := os.Stat(filepath.Join(dir, growth.FileLengthForAge2006)); err != nil {
			t.Skipf("no copy of WHO's tables beside the checkout: %v", err)
		}
		_, builtIn, _ := run(t, "", "growth", "--csv", "testdata/growth.csv")
		code, fromDir, stderr := run(t, "", "growth", "--reference", dir, "--csv", "testdata/growth.csv")
		if code != 2 || fromDir != builtIn {
			t.Errorf("exit %d (%s); output from %s:\n%s\nbuilt in:\n%s", code, stderr, dir, fromDir, builtIn)
		}
	})
}

// TestScoreNurseOedema scores a nurse's form with `khula score`: the oedema
// answer reaches the growth calculation. A boy of 64 months (2020-10-31 to
// 2026-03-02, 1948 days) on the median of hfawho2007 month 64 (L=1
// M=111.8636) has height-for-age (111.8636/111.8636 − 1)/0.04187 = 0 with or
// without oedema; weight-for-age (wfawho2007 M=19.0340, y = M → 0) and
// BMI-for-age only without.
func TestScoreNurseOedema(t *testing.T) {
	builtInTables(t)
	form := func(oedema string) string {
		return `{"child": {"sex": "male", "dob": "2020-10-31"}, "assessed_on": "2026-03-02", "answers": {` +
			`"weight_kg": 19.034, "height_cm": 111.8636, "rthb_seen": false, "chronic_illness": false` + oedema + `}}`
	}
	cases := []struct {
		name   string
		oedema string
		wfa    string // reason; "" when computed
	}{
		{"oedema", `, "oedema": true`, growth.ReasonOedema},
		{"no oedema", `, "oedema": false`, ""},
		{"oedema not recorded", ``, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := run(t, form(tc.oedema), "score", "--site", "johannesburg", "--sites-dir", sitesDir, "--respondent", "nurse", "-")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var res struct {
				Growth *struct{ HFA, WFA, BFA growth.ZScore } `json:"growth"`
				Flags  []string                               `json:"flags"`
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil || res.Growth == nil {
				t.Fatalf("no growth in the output (%v):\n%s", err, out)
			}
			if g := res.Growth.HFA; !g.Computed || g.Z != 0 {
				t.Errorf("hfa = %+v, want computed 0", g)
			}
			for _, z := range []growth.ZScore{res.Growth.WFA, res.Growth.BFA} {
				if z.Computed != (tc.wfa == "") || z.Reason != tc.wfa {
					t.Errorf("%s: computed %v reason %q, want reason %q", z.Indicator, z.Computed, z.Reason, tc.wfa)
				}
			}
			if got := slices.Contains(res.Flags, "nutrition.oedema"); got != (tc.wfa != "") {
				t.Errorf("flags = %v", res.Flags)
			}
		})
	}
}
