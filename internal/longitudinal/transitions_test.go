package longitudinal

import (
	"reflect"
	"strconv"
	"testing"
)

// cohort is a small site: schools A and B, waves 1 and 2, three domains
// compared (material is in the data but not compared).
//
//	child  wave 1 school, protection/health/nutrition   wave 2 school, protection/health/nutrition
//	c1     A  moderate / high     / low                 A  high     / moderate / moderate
//	c2     A  low      / moderate / moderate            A  low      / moderate / low
//	c3     A  low      / low      / not_assessed        A  n_a      / high     / low
//	c4     A  high     / low      / low                 B  moderate / low      / moderate   (moved A → B)
//	c5     B  low      / high     / high                B  low      / high     / low
//	c6     B  low      / low      / low                 —                                   (left)
//	c7     B  (missing)/ moderate / low, material high  B  low      / low      / low
//	c8     —                                            B  low      / moderate / low        (joined)
//	c9     —                                            A  low      / n_a      / n_a        (joined)
func cohort() (from, to []ChildLevels) {
	c := func(id, school, protection, health, nutrition string) ChildLevels {
		d := map[string]string{}
		for k, v := range map[string]string{"protection": protection, "health": health, "nutrition": nutrition} {
			if v != "" {
				d[k] = v
			}
		}
		return ChildLevels{ChildID: id, SchoolID: school, Domains: d}
	}
	from = []ChildLevels{
		c("c1", "A", mo, hi, lo),
		c("c2", "A", lo, mo, mo),
		c("c3", "A", lo, lo, na),
		c("c4", "A", hi, lo, lo),
		c("c5", "B", lo, hi, hi),
		c("c6", "B", lo, lo, lo),
		c("c7", "B", "", mo, lo),
	}
	from[6].Domains["material"] = hi
	to = []ChildLevels{
		c("c9", "A", lo, na, na),
		c("c1", "A", hi, mo, mo),
		c("c2", "A", lo, mo, lo),
		c("c3", "A", na, hi, lo),
		c("c4", "B", mo, lo, mo),
		c("c5", "B", lo, hi, lo),
		c("c7", "B", lo, lo, lo),
		c("c8", "B", lo, mo, lo),
	}
	return from, to
}

// cell is one count of a transition matrix.
type cell struct {
	from, to string
	n        int
}

// matrix is a full 4×4 matrix, zeros included, with the given counts.
func matrix(cells ...cell) map[string]map[string]int {
	m := map[string]map[string]int{}
	for _, f := range Levels {
		m[f] = map[string]int{}
		for _, t := range Levels {
			m[f][t] = 0
		}
	}
	for _, c := range cells {
		m[c.from][c.to] += c.n
	}
	return m
}

func ds(m map[string]map[string]int, better, same, worse, nc, atRiskFrom, assessedFrom, atRiskTo, assessedTo int) *DomainSummary {
	return &DomainSummary{
		Transitions:  Transitions{Matrix: m, Better: better, Same: same, Worse: worse, NotComparable: nc},
		AtRiskFrom:   atRiskFrom,
		AssessedFrom: assessedFrom,
		AtRiskTo:     atRiskTo,
		AssessedTo:   assessedTo,
		ShareFrom:    share(atRiskFrom, assessedFrom),
		ShareTo:      share(atRiskTo, assessedTo),
	}
}

func TestBuildCohort(t *testing.T) {
	from, to := cohort()
	domains := []string{"protection", "health", "nutrition"}
	got := Build(1, 2, domains, from, to)

	// Site. Both: c1 c2 c3 c4 c5 c7 (6); only wave 1: c6; only wave 2: c8 c9.
	//
	// health, children in both:
	//   c1 high→moderate better, c2 moderate→moderate same, c3 low→high worse,
	//   c4 low→low same, c5 high→high same, c7 moderate→low better
	//   → better 2, same 3, worse 1.
	// wave 1 (c1..c7): high, moderate, low, low, high, low, moderate → 4 at risk of 7 assessed.
	// wave 2 (c1..c5, c7, c8, c9): moderate, moderate, high, low, high, low, moderate, n_a
	//   → 5 at risk of 7 assessed.
	siteHealth := ds(matrix(cell{hi, mo, 1}, cell{mo, mo, 1}, cell{lo, hi, 1}, cell{lo, lo, 1}, cell{hi, hi, 1}, cell{mo, lo, 1}),
		2, 3, 1, 0, 4, 7, 5, 7)
	// nutrition, children in both:
	//   c1 low→moderate worse, c2 moderate→low better, c3 n_a→low not comparable,
	//   c4 low→moderate worse, c5 high→low better, c7 low→low same
	//   → better 2, same 1, worse 2, not comparable 1.
	// wave 1: low, moderate, n_a, low, high, low, low → 2 of 6.
	// wave 2: moderate, low, low, moderate, low, low, low, n_a → 2 of 7.
	siteNutrition := ds(matrix(cell{lo, mo, 2}, cell{mo, lo, 1}, cell{na, lo, 1}, cell{hi, lo, 1}, cell{lo, lo, 1}),
		2, 1, 2, 1, 2, 6, 2, 7)
	// protection, children in both:
	//   c1 moderate→high worse, c2 low→low same, c3 low→n_a not comparable,
	//   c4 high→moderate better, c5 low→low same, c7 missing(n_a)→low not comparable
	//   → better 1, same 2, worse 1, not comparable 2.
	// wave 1: moderate, low, low, high, low, low, missing → 2 of 6.
	// wave 2: high, low, n_a, moderate, low, low, low, low → 2 of 7.
	siteProtection := ds(matrix(cell{mo, hi, 1}, cell{lo, lo, 2}, cell{lo, na, 1}, cell{hi, mo, 1}, cell{na, lo, 1}),
		1, 2, 1, 2, 2, 6, 2, 7)

	// School A: c1 c2 c3 in both, c9 only in wave 2 (c4 moved to B).
	//   health: c1 high→moderate, c2 moderate→moderate, c3 low→high;
	//     wave 1 high, moderate, low → 2 of 3; wave 2 moderate, moderate, high, n_a → 3 of 3.
	//   nutrition: c1 low→moderate, c2 moderate→low, c3 n_a→low;
	//     wave 1 low, moderate, n_a → 1 of 2; wave 2 moderate, low, low, n_a → 1 of 3.
	//   protection: c1 moderate→high, c2 low→low, c3 low→n_a;
	//     wave 1 moderate, low, low → 1 of 3; wave 2 high, low, n_a, low → 1 of 3.
	schoolA := Summary{
		Name: "A", Both: 3, OnlyFrom: 0, OnlyTo: 1,
		Domains: map[string]*DomainSummary{
			"health":     ds(matrix(cell{hi, mo, 1}, cell{mo, mo, 1}, cell{lo, hi, 1}), 1, 1, 1, 0, 2, 3, 3, 3),
			"nutrition":  ds(matrix(cell{lo, mo, 1}, cell{mo, lo, 1}, cell{na, lo, 1}), 1, 0, 1, 1, 1, 2, 1, 3),
			"protection": ds(matrix(cell{mo, hi, 1}, cell{lo, lo, 1}, cell{lo, na, 1}), 0, 1, 1, 1, 1, 3, 1, 3),
		},
		Worsened: []Worsened{
			{ChildID: "c1", SchoolID: "A", Domains: []string{"nutrition", "protection"}}, // sorted by name, not list order
			{ChildID: "c3", SchoolID: "A", Domains: []string{"health"}},
		},
	}
	// School B: c4 (moved in, counted here for both waves), c5, c7 in both;
	// c6 only in wave 1; c8 only in wave 2.
	//   health: c4 low→low, c5 high→high, c7 moderate→low;
	//     wave 1 low, high, low(c6), moderate → 2 of 4; wave 2 low, high, low, moderate(c8) → 2 of 4.
	//   nutrition: c4 low→moderate, c5 high→low, c7 low→low;
	//     wave 1 low, high, low, low → 1 of 4; wave 2 moderate, low, low, low → 1 of 4.
	//   protection: c4 high→moderate, c5 low→low, c7 missing→low;
	//     wave 1 high, low, low, missing → 1 of 3; wave 2 moderate, low, low, low → 1 of 4.
	schoolB := Summary{
		Name: "B", Both: 3, OnlyFrom: 1, OnlyTo: 1,
		Domains: map[string]*DomainSummary{
			"health":     ds(matrix(cell{lo, lo, 1}, cell{hi, hi, 1}, cell{mo, lo, 1}), 1, 2, 0, 0, 2, 4, 2, 4),
			"nutrition":  ds(matrix(cell{lo, mo, 1}, cell{hi, lo, 1}, cell{lo, lo, 1}), 1, 1, 1, 0, 1, 4, 1, 4),
			"protection": ds(matrix(cell{hi, mo, 1}, cell{lo, lo, 1}, cell{na, lo, 1}), 1, 1, 0, 1, 1, 3, 1, 4),
		},
		Worsened: []Worsened{{ChildID: "c4", SchoolID: "B", Domains: []string{"nutrition"}}},
	}
	want := Report{
		FromWave: 1, ToWave: 2,
		Domains: []string{"protection", "health", "nutrition"},
		Site: Summary{
			Name: "", Both: 6, OnlyFrom: 1, OnlyTo: 2,
			Domains: map[string]*DomainSummary{"health": siteHealth, "nutrition": siteNutrition, "protection": siteProtection},
			// Sorted by school then child.
			Worsened: []Worsened{
				{ChildID: "c1", SchoolID: "A", Domains: []string{"nutrition", "protection"}},
				{ChildID: "c3", SchoolID: "A", Domains: []string{"health"}},
				{ChildID: "c4", SchoolID: "B", Domains: []string{"nutrition"}},
			},
		},
		Schools: []Summary{schoolA, schoolB},
	}
	if !reflect.DeepEqual(got.Site, want.Site) {
		t.Errorf("site:\n got %s\nwant %s", dump(got.Site), dump(want.Site))
	}
	if len(got.Schools) != 2 {
		t.Fatalf("schools: %d, want 2", len(got.Schools))
	}
	for i := range want.Schools {
		if !reflect.DeepEqual(got.Schools[i], want.Schools[i]) {
			t.Errorf("school %d:\n got %s\nwant %s", i, dump(got.Schools[i]), dump(want.Schools[i]))
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("report differs: got %+v", got)
	}
	// Hand-computed shares, spelled out.
	if s := got.Site.Domains["health"]; s.ShareFrom != 4.0/7 || s.ShareTo != 5.0/7 {
		t.Errorf("site health shares %v %v, want 4/7 5/7", s.ShareFrom, s.ShareTo)
	}
	if s := got.Schools[0].Domains["health"]; s.ShareTo != 1 {
		t.Errorf("school A health share to %v, want 1", s.ShareTo)
	}
	// Worsened domain lists do not share storage: appending to one leaves
	// the others alone.
	_ = append(got.Site.Worsened[0].Domains, "x")
	got.Site.Worsened[0].Domains = append(got.Site.Worsened[0].Domains, "y")
	if !reflect.DeepEqual(got.Site.Worsened[1].Domains, []string{"health"}) ||
		!reflect.DeepEqual(got.Schools[0].Worsened[0].Domains, []string{"nutrition", "protection"}) {
		t.Errorf("worsened lists alias: %+v %+v", got.Site.Worsened, got.Schools[0].Worsened)
	}
	if _, ok := got.Site.Domains["material"]; ok {
		t.Error("material is not in the domain list but was compared")
	}
}

func dump(s Summary) string {
	out := s.Name + ": " + itoa(s.Both) + "/" + itoa(s.OnlyFrom) + "/" + itoa(s.OnlyTo)
	for _, d := range []string{"protection", "health", "nutrition"} {
		if x := s.Domains[d]; x != nil {
			out += " " + d + "{"
			for _, f := range Levels {
				for _, t := range Levels {
					if n := x.Matrix[f][t]; n > 0 {
						out += f + ">" + t + ":" + itoa(n) + " "
					}
				}
			}
			out += "b" + itoa(x.Better) + " s" + itoa(x.Same) + " w" + itoa(x.Worse) + " nc" + itoa(x.NotComparable) +
				" from " + itoa(x.AtRiskFrom) + "/" + itoa(x.AssessedFrom) + " to " + itoa(x.AtRiskTo) + "/" + itoa(x.AssessedTo) + "}"
		}
	}
	for _, w := range s.Worsened {
		out += " worse:" + w.SchoolID + "/" + w.ChildID
		for _, d := range w.Domains {
			out += "," + d
		}
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestBuildEdges(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		r := Build(1, 2, []string{"health"}, nil, nil)
		if r.Site.Both+r.Site.OnlyFrom+r.Site.OnlyTo != 0 || len(r.Schools) != 0 || r.Schools == nil {
			t.Fatalf("empty report: %+v", r)
		}
		d := r.Site.Domains["health"]
		if d == nil || d.ShareFrom != 0 || d.ShareTo != 0 || d.Matrix[hi][lo] != 0 || len(d.Matrix) != 4 {
			t.Fatalf("empty domain: %+v", d)
		}
		if r.Site.Worsened != nil {
			t.Errorf("worsened: %+v", r.Site.Worsened)
		}
	})
	t.Run("no domains", func(t *testing.T) {
		from, to := cohort()
		r := Build(1, 2, nil, from, to)
		if r.Domains == nil || len(r.Domains) != 0 || len(r.Site.Domains) != 0 || r.Site.Both != 6 || r.Site.Worsened != nil {
			t.Fatalf("report: %+v", r)
		}
	})
	t.Run("duplicates, missing schools, repeated domain", func(t *testing.T) {
		from := []ChildLevels{
			{ChildID: "x", SchoolID: "S", Domains: map[string]string{"health": lo}},
			{ChildID: "x", SchoolID: "S", Domains: map[string]string{"health": hi}}, // last entry wins
			{ChildID: "y", SchoolID: "S", Domains: map[string]string{"health": lo}},
			{ChildID: "z", SchoolID: "", Domains: map[string]string{"health": lo}},
		}
		to := []ChildLevels{
			{ChildID: "x", SchoolID: "S", Domains: map[string]string{"health": lo}},
			{ChildID: "y", SchoolID: "", Domains: map[string]string{"health": hi}}, // later school empty: earlier school S
			{ChildID: "z", SchoolID: "", Domains: map[string]string{"health": mo}}, // no school at all: site only
		}
		r := Build(2, 3, []string{"health", "health"}, from, to)
		if !reflect.DeepEqual(r.Domains, []string{"health"}) {
			t.Errorf("domains %v", r.Domains)
		}
		// x high→low better; y low→high worse (school S); z low→moderate worse (no school).
		h := r.Site.Domains["health"]
		if r.Site.Both != 3 || h.Better != 1 || h.Worse != 2 || h.Matrix[hi][lo] != 1 || h.Matrix[lo][lo] != 0 {
			t.Errorf("site: %s", dump(r.Site))
		}
		if len(r.Schools) != 1 || r.Schools[0].Name != "S" || r.Schools[0].Both != 2 {
			t.Fatalf("schools: %+v", r.Schools)
		}
		wantWorse := []Worsened{{ChildID: "z", SchoolID: "", Domains: []string{"health"}}, {ChildID: "y", SchoolID: "S", Domains: []string{"health"}}}
		if !reflect.DeepEqual(r.Site.Worsened, wantWorse) {
			t.Errorf("site worsened %+v", r.Site.Worsened)
		}
		if !reflect.DeepEqual(r.Schools[0].Worsened, wantWorse[1:]) {
			t.Errorf("school worsened %+v", r.Schools[0].Worsened)
		}
	})
}
