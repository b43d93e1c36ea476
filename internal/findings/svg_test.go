package findings

import (
	"encoding/xml"
	"errors"
	"html/template"
	"io"
	"slices"
	"strings"
	"testing"
)

// svgDoc is what a test reads back from a chart.
type svgDoc struct {
	title, desc string
	texts       []string // every text node, title and desc included
	hatched     []string // widths of the hatched rectangles
	widths      map[string][]string
}

// parseSVG checks that a chart is well-formed XML with the accessible
// structure, no script and no external reference, and returns its text.
func parseSVG(t *testing.T, h template.HTML) svgDoc {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(string(h)))
	d := svgDoc{widths: map[string][]string{}}
	var stack []string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, h)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			attrs := map[string]string{}
			for _, a := range el.Attr {
				attrs[a.Name.Local] = a.Value
				if a.Name.Local != "xmlns" && (strings.Contains(a.Value, "http") || strings.Contains(a.Value, "url(") && !strings.HasPrefix(a.Value, "url(#")) {
					t.Errorf("external reference %s=%q", a.Name.Local, a.Value)
				}
			}
			switch {
			case len(stack) == 0 && (el.Name.Local != "svg" || attrs["role"] != "img" || attrs["viewBox"] != "0 0 680 "+attrs["viewBox"][len("0 0 680 "):]):
				t.Errorf("root %s %v", el.Name.Local, attrs)
			case el.Name.Local == "script" || el.Name.Local == "foreignObject" || el.Name.Local == "image":
				t.Errorf("element %s", el.Name.Local)
			case el.Name.Local == "rect" && attrs["class"] == "key":
			case el.Name.Local == "rect" && strings.HasSuffix(attrs["fill"], "-hatch)"):
				d.hatched = append(d.hatched, attrs["width"])
			case el.Name.Local == "rect":
				d.widths[attrs["fill"]] = append(d.widths[attrs["fill"]], attrs["width"])
			}
			stack = append(stack, el.Name.Local)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			s := string(el)
			switch {
			case len(stack) == 2 && stack[1] == "title":
				d.title = s
			case len(stack) == 2 && stack[1] == "desc":
				d.desc = s
			}
			if strings.TrimSpace(s) != "" {
				d.texts = append(d.texts, s)
			}
		}
	}
	if d.title == "" || d.desc == "" {
		t.Errorf("no title or desc:\n%s", h)
	}
	return d
}

var charted = []string{TableRiskByDomain, TableSDQBands, TableGrowth, TableReferralsBySector}

func TestChartsWellFormed(t *testing.T) {
	r := Build(testInput())
	for _, s := range r.Scopes {
		for _, id := range TableIDs {
			h := r.Chart(s.Key, id)
			if !contains(charted, id) {
				if h != "" {
					t.Errorf("%s/%s has a chart", s.Key, id)
				}
				continue
			}
			d := parseSVG(t, h)
			if !strings.Contains(d.title, s.Name) {
				t.Errorf("%s/%s title %q", s.Key, id, d.title)
			}
		}
	}
	if r.Chart("nowhere", TableGrowth) != "" {
		t.Error("chart for an unknown scope")
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func TestChartEscapesText(t *testing.T) {
	r := Build(testInput())
	h := string(r.Chart("school:=cmd", TableRiskByDomain))
	if !strings.Contains(h, "Health &amp; &lt;growth&gt;") || !strings.Contains(h, "Beta &lt;School&gt;") || strings.Contains(h, "<growth>") {
		t.Errorf("text not escaped:\n%s", h)
	}
	d := parseSVG(t, template.HTML(h))
	if !contains(d.texts, "Health & <growth>") {
		t.Errorf("label not read back: %q", d.texts)
	}
}

// TestChartScale checks shown values are drawn to scale: site health,
// high 7 of 17 scored children on a 380 wide bar: 156.5.
func TestChartScale(t *testing.T) {
	r := Build(testInput())
	d := parseSVG(t, r.Chart("site", TableRiskByDomain))
	if !contains(d.widths["#7f1d1d"], "156.5") {
		t.Errorf("high widths %v", d.widths["#7f1d1d"])
	}
	// Growth: axis to 60 (largest shown value 55.6 at A), stunted 55.6%
	// of 340: 315.1.
	d = parseSVG(t, r.Chart("school:sch-a", TableGrowth))
	if !contains(d.widths["#1e3a8a"], "315.1") || len(d.widths["#1e3a8a"]) != 1 {
		t.Errorf("growth bars %v", d.widths["#1e3a8a"])
	}
}

// TestChartHidesSmallCounts checks a chart cannot give away a suppressed
// count: every hidden value is a marker of one width, no text says a
// count, and two cohorts with the same published cells draw the same charts.
func TestChartHidesSmallCounts(t *testing.T) {
	r := Build(testInput())
	for _, id := range charted {
		d := parseSVG(t, r.Chart("school:=cmd", id))
		if len(d.hatched) == 0 {
			t.Errorf("%s: no hidden marker", id)
		}
		for _, w := range d.hatched {
			if w != "22" {
				t.Errorf("%s: marker width %s", id, w)
			}
		}
		if id != TableRiskByDomain && id != TableSDQBands {
			continue // their labels have digits (HAZ < -2) and an axis
		}
		for _, s := range d.texts {
			if strings.ContainsAny(strings.ReplaceAll(s, "<5", ""), "1234") {
				t.Errorf("%s: text %q may give a count away", id, s)
			}
		}
	}

	// B's true counts change, its published cells do not: b2 moves from
	// low to high risk in health (high 1 -> 2, low 2 -> 1), from normal
	// to borderline emotional symptoms (1 -> 2) and becomes stunted
	// (1 -> 2); B gets a second completed health referral (1 -> 2).
	in := testInput()
	b2 := &in.Children[17]
	b2.Domains["health"] = "high"
	b2.SDQBands["sdq.emotional"] = "borderline"
	b2.HAZ = fp(-2.6)
	in.Referrals = append(in.Referrals, Referral{School: "=cmd", Sector: "health", Status: "completed", CreatedAt: t0, AcknowledgedAt: day(9)})
	r2 := Build(in)
	for _, id := range charted {
		s1, _ := r.Scope("school:=cmd")
		s2, _ := r2.Scope("school:=cmd")
		t1, _ := s1.Table(id)
		t2, _ := s2.Table(id)
		if slicesEqual(t1.Cells(false), t2.Cells(false)) {
			t.Errorf("%s: the raw cells should differ", id)
		}
		if !slicesEqual(t1.Cells(true), t2.Cells(true)) {
			t.Errorf("%s: the published cells should not differ", id)
		}
		if a, b := r.Chart("school:=cmd", id), r2.Chart("school:=cmd", id); a != b {
			t.Errorf("%s: charts differ:\n%s\n%s", id, a, b)
		}
	}
}

func slicesEqual(a, b [][]string) bool { return slices.EqualFunc(a, b, slices.Equal) }
