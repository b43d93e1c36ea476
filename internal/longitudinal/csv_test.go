package longitudinal

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestCell(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{0, "0"}, {1, "<5"}, {2, "<5"}, {4, "<5"}, {5, "5"}, {6, "6"}, {123, "123"},
	}
	for _, tt := range tests {
		if got := Cell(tt.n); got != tt.want {
			t.Errorf("Cell(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// csvRows parses WriteCSV's output into rows keyed by
// scope|school|domain|measure|wave|from|to, checking the header and the
// width of every row.
func csvRows(t *testing.T, r Report, suppress bool) (map[string][]string, string) {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteCSV(&buf, suppress); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 || !reflect.DeepEqual(recs[0], CSVHeader) {
		t.Fatalf("header: %v", recs)
	}
	rows := map[string][]string{}
	for _, rec := range recs[1:] {
		if rec[0] != fmt.Sprint(r.FromWave) || rec[1] != fmt.Sprint(r.ToWave) {
			t.Errorf("row waves: %v", rec)
		}
		k := strings.Join(rec[2:9], "|")
		if _, dup := rows[k]; dup {
			t.Errorf("duplicate row %q", k)
		}
		rows[k] = rec[9:]
	}
	return rows, buf.String()
}

func TestWriteCSV(t *testing.T) {
	from, to := cohort()
	r := Build(1, 2, []string{"protection", "health", "nutrition"}, from, to)

	plain, plainText := csvRows(t, r, false)
	supp, suppText := csvRows(t, r, true)

	// 3 scopes × (3 children rows + 3 domains × (16 transitions + 2 shares)).
	if want := 3 * (3 + 3*18); len(plain) != want || len(supp) != want {
		t.Errorf("rows: %d and %d, want %d", len(plain), len(supp), want)
	}
	tests := []struct {
		key        string
		plain      []string // count, at_risk, assessed, share_percent
		suppressed []string
	}{
		{"site||health|transition||high|moderate", []string{"1", "", "", ""}, []string{"<5", "", "", ""}},
		{"site||health|transition||low|moderate", []string{"0", "", "", ""}, []string{"0", "", "", ""}},
		{"site||nutrition|transition||low|moderate", []string{"2", "", "", ""}, []string{"<5", "", "", ""}},
		{"site||protection|transition||not_assessed|low", []string{"1", "", "", ""}, []string{"<5", "", "", ""}},
		{"site|||children_both_waves|||", []string{"6", "", "", ""}, []string{"6", "", "", ""}},
		{"site|||children_only_earlier_wave|||", []string{"1", "", "", ""}, []string{"<5", "", "", ""}},
		{"site|||children_only_later_wave|||", []string{"2", "", "", ""}, []string{"<5", "", "", ""}},
		// 4 of 7 = 57.1%: the numerator is small, so suppressed.
		{"site||health|at_risk_share|1||", []string{"", "4", "7", "57.1"}, []string{"", "<5", "7", "suppressed"}},
		// 5 of 7 = 71.4%: neither is small.
		{"site||health|at_risk_share|2||", []string{"", "5", "7", "71.4"}, []string{"", "5", "7", "71.4"}},
		{"school|A|health|at_risk_share|2||", []string{"", "3", "3", "100.0"}, []string{"", "<5", "<5", "suppressed"}},
		{"school|B|protection|transition||high|moderate", []string{"1", "", "", ""}, []string{"<5", "", "", ""}},
		{"school|B|protection|at_risk_share|1||", []string{"", "1", "3", "33.3"}, []string{"", "<5", "<5", "suppressed"}},
	}
	for _, tt := range tests {
		if got := plain[tt.key]; !reflect.DeepEqual(got, tt.plain) {
			t.Errorf("plain %s = %q, want %q", tt.key, got, tt.plain)
		}
		if got := supp[tt.key]; !reflect.DeepEqual(got, tt.suppressed) {
			t.Errorf("suppressed %s = %q, want %q", tt.key, got, tt.suppressed)
		}
	}
	// No count from 1 to 4 survives suppression.
	for k, v := range supp {
		for _, c := range v[:3] {
			if c == "1" || c == "2" || c == "3" || c == "4" {
				t.Errorf("suppressed row %s has small count %q", k, c)
			}
		}
	}
	// No child ID is ever written: the worsened list is screen-only.
	for _, text := range []string{suppText, plainText} {
		for _, c := range append(from, to...) {
			if strings.Contains(text, c.ChildID+",") || strings.Contains(text, ","+c.ChildID) {
				t.Errorf("child ID %q written", c.ChildID)
			}
		}
	}
}

func TestWriteCSVNeutralisesFormulas(t *testing.T) {
	var from, to []ChildLevels
	// Twenty children in "=HYPERLINK(…)", all at high risk in both waves; one in each of the other schools.
	for i := range 20 {
		id := fmt.Sprintf("child-%02d", i)
		from = append(from, ChildLevels{ChildID: id, SchoolID: `=HYPERLINK("http://x")`, Domains: map[string]string{"+health": hi}})
		to = append(to, ChildLevels{ChildID: id, SchoolID: `=HYPERLINK("http://x")`, Domains: map[string]string{"+health": hi}})
	}
	for _, s := range []string{"+1", "-2", "@SUM(A1)", "\tx", "\rx", "plain"} {
		to = append(to, ChildLevels{ChildID: "c" + s, SchoolID: s, Domains: map[string]string{"+health": lo}})
	}
	r := Build(1, 2, []string{"+health"}, from, to)
	rows, text := csvRows(t, r, true)
	for _, k := range []string{
		`school|'=HYPERLINK("http://x")|'+health|at_risk_share|2||`,
		`school|'+1|'+health|at_risk_share|2||`,
		`school|'-2|'+health|at_risk_share|2||`,
		`school|'@SUM(A1)|'+health|at_risk_share|2||`,
		"school|'\tx|'+health|at_risk_share|2||",
		"school|'\rx|'+health|at_risk_share|2||",
		`school|plain|'+health|at_risk_share|2||`,
	} {
		if _, ok := rows[k]; !ok {
			t.Errorf("no row %q", k)
		}
	}
	// 20 of 20 is shown; 0 of 1 is suppressed on its denominator.
	if got := rows[`school|'=HYPERLINK("http://x")|'+health|at_risk_share|1||`]; !reflect.DeepEqual(got, []string{"", "20", "20", "100.0"}) {
		t.Errorf("big school share: %q", got)
	}
	if got := rows[`school|plain|'+health|at_risk_share|2||`]; !reflect.DeepEqual(got, []string{"", "0", "<5", "suppressed"}) {
		t.Errorf("small school share: %q", got)
	}
	// Nobody assessed in wave 1 in school "plain": the share is empty.
	if got := rows[`school|plain|'+health|at_risk_share|1||`]; !reflect.DeepEqual(got, []string{"", "0", "0", ""}) {
		t.Errorf("nobody assessed: %q", got)
	}
	for _, line := range strings.Split(text, "\n") {
		for _, cell := range strings.Split(line, ",") {
			cell = strings.Trim(cell, `"`)
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("formula-looking cell %q in line %q", cell, line)
			}
		}
	}
	if strings.Contains(text, "child-") {
		t.Error("child IDs written")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteCSVError(t *testing.T) {
	from, to := cohort()
	r := Build(1, 2, []string{"health"}, from, to)
	if err := r.WriteCSV(failWriter{}, true); err == nil {
		t.Error("no error from a failing writer")
	}
}

func TestComplementarySuppression(t *testing.T) {
	m := func(cells map[[2]string]int) map[string]map[string]int {
		out := map[string]map[string]int{}
		for _, f := range Levels {
			out[f] = map[string]int{}
			for _, to := range Levels {
				out[f][to] = cells[[2]string{f, to}]
			}
		}
		return out
	}
	cases := []struct {
		name  string
		cells map[[2]string]int
		want  [2]string
	}{
		// One small cell (2): the smallest other non-zero cell (7) goes too.
		{"one small cell", map[[2]string]int{{"high", "low"}: 2, {"low", "low"}: 30, {"moderate", "low"}: 7}, [2]string{"moderate", "low"}},
		// Two small cells already hide each other.
		{"two small cells", map[[2]string]int{{"high", "low"}: 2, {"low", "low"}: 30, {"moderate", "low"}: 3}, [2]string{}},
		{"no small cell", map[[2]string]int{{"low", "low"}: 30, {"moderate", "low"}: 7}, [2]string{}},
	}
	for _, tc := range cases {
		if got := complementary(m(tc.cells)); got != tc.want {
			t.Errorf("%s: complementary = %v, want %v", tc.name, got, tc.want)
		}
	}
}
