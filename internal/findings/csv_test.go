package findings

import (
	"bytes"
	"encoding/csv"
	"errors"
	"strings"
	"testing"
)

func TestNeutralise(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"=cmd", "'=cmd"},
		{"+1", "'+1"},
		{"-2", "'-2"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"a=b", "a=b"},
		{"<5", "<5"},
		{"", ""},
	} {
		if got := neutralise(c.in); got != c.want {
			t.Errorf("neutralise(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestWriteTableCSV(t *testing.T) {
	r := Build(testInput())
	var b bytes.Buffer
	if err := r.WriteTableCSV(&b, "site", TableCSG); err != nil {
		t.Fatal(err)
	}
	want := `Child Support Grant,Children,% of scored
Received,9,52.9
"Not received: applied, awaiting",6,35.3
Not received: not applied,<5,suppressed
Not answered,<5,suppressed
All scored children,17,100.0
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}

	// Labels from the site's configuration are neutralised.
	in := testInput()
	in.Domains[1].Label = "=HYPERLINK(\"x\")"
	b.Reset()
	if err := Build(in).WriteTableCSV(&b, "school:=cmd", TableRiskByDomain); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := rows[2][0]; got != `'=HYPERLINK("x")` {
		t.Errorf("label written %q", got)
	}
	if got := rows[1]; strings.Join(got, ",") != "Health & <growth>,<5,0,<5,0,<5,<5,suppressed" {
		t.Errorf("row %q", got)
	}

	for _, c := range []struct{ scope, table string }{{"nowhere", TableCSG}, {"site", "nothing"}, {"=cmd", TableCSG}} {
		if err := r.WriteTableCSV(&b, c.scope, c.table); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s/%s: %v, want ErrNotFound", c.scope, c.table, err)
		}
	}
}

func TestWriteAllCSV(t *testing.T) {
	r := Build(testInput())
	var b bytes.Buffer
	if err := r.WriteAllCSV(&b); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "scope,school_id,table,row,column,value" {
		t.Errorf("header %q", rows[0])
	}
	cells := 0
	for _, s := range r.Scopes {
		for _, tb := range s.Tables {
			cells += len(tb.Rows) * (len(tb.Columns) - 1)
		}
	}
	if len(rows)-1 != cells {
		t.Errorf("%d rows, want %d", len(rows)-1, cells)
	}
	for _, want := range []string{
		"site,,cohort,in_cohort,children,22",
		"site,,food_insecurity,sometimes,children,suppressed",
		"site,,risk_by_domain,health,percent_at_risk,41.2",
		"school,sch-a,csg,received,children,suppressed",
		"school,'=cmd,cohort,in_cohort,children,<5",
		"school,'=cmd,referrals_by_sector,health,median_days,suppressed",
		"school,sch-c,plan_actions_by_sector,all,done_rate,",
	} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("no line %q", want)
		}
	}
	if strings.Contains(b.String(), ",=cmd") {
		t.Error("school ID written as a formula")
	}
}
