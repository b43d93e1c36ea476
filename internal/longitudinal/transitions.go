package longitudinal

import (
	"cmp"
	"slices"
)

// ChildLevels is one child's domain levels in one wave, and the school the
// child was in then.
type ChildLevels struct {
	ChildID  string            `json:"child_id"`
	SchoolID string            `json:"school_id"`
	Domains  map[string]string `json:"domains"`
}

// Transitions counts, for one domain, how the children seen in both waves
// moved between levels.
type Transitions struct {
	// Matrix counts children by earlier level (first key) and later level
	// (second key). Both keys range over all of [Levels], not_assessed
	// included (a missing domain or an unknown level counts as
	// not_assessed), and every one of the 16 cells is present, zeros too.
	Matrix map[string]map[string]int `json:"matrix"`
	// Better, Same, Worse and NotComparable count the same children by
	// direction (see [Compare]); they add up to the matrix total.
	Better        int `json:"better"`
	Same          int `json:"same"`
	Worse         int `json:"worse"`
	NotComparable int `json:"not_comparable"`
}

// DomainSummary is one domain of a [Summary].
type DomainSummary struct {
	Transitions
	// AtRiskFrom and AtRiskTo count the children at high or moderate risk
	// in the earlier and the later wave; AssessedFrom and AssessedTo those
	// with a level other than not_assessed. Each counts every child of that
	// wave in the scope, not only those seen in both, so the shares are each
	// wave's prevalence; the transitions are about children in both.
	AtRiskFrom   int `json:"at_risk_from"`
	AtRiskTo     int `json:"at_risk_to"`
	AssessedFrom int `json:"assessed_from"`
	AssessedTo   int `json:"assessed_to"`
	// ShareFrom and ShareTo are AtRisk / Assessed (0 to 1) of each wave; 0
	// when nobody was assessed.
	ShareFrom float64 `json:"share_from"`
	ShareTo   float64 `json:"share_to"`
}

// Worsened is a child, seen in both waves, whose level went up in at least
// one domain. It is a screen-only detail: [Report.WriteCSV] never writes it.
type Worsened struct {
	ChildID  string `json:"child_id"`
	SchoolID string `json:"school_id"`
	// Domains that got worse, sorted by name.
	Domains []string `json:"domains"`
}

// Summary is the comparison of two waves for the site or one school.
type Summary struct {
	// Name is "" for the site and the school ID for a school.
	Name string `json:"name"`
	// Both counts children seen in both waves, OnlyFrom those seen only in
	// the earlier wave and OnlyTo those seen only in the later one.
	Both     int `json:"both"`
	OnlyFrom int `json:"only_from"`
	OnlyTo   int `json:"only_to"`
	// Domains has an entry for every domain of the [Report].
	Domains map[string]*DomainSummary `json:"domains"`
	// Worsened lists the children who got worse in at least one domain,
	// sorted by school then child ID.
	Worsened []Worsened `json:"worsened,omitempty"`
}

// Report compares two waves of a site: the site as a whole and each school.
type Report struct {
	FromWave int `json:"from_wave"`
	ToWave   int `json:"to_wave"`
	// Domains gives the domains compared, in display order.
	Domains []string `json:"domains"`
	Site    Summary  `json:"site"`
	// Schools holds one summary per school, sorted by name.
	Schools []Summary `json:"schools"`
}

// counts accumulates one domain of one scope; arrays keep Build free of
// map writes in its inner loop.
type counts struct {
	matrix       [4][4]int // [from rank][to rank], see levelIndex
	dir          [4]int    // better, same, worse, not comparable
	atRiskFrom   int
	atRiskTo     int
	assessedFrom int
	assessedTo   int
}

type scope struct {
	name                   string
	both, onlyFrom, onlyTo int
	domains                []counts
	worsened               []Worsened
}

func dirSlot(d string) int {
	switch d {
	case DirBetter:
		return 0
	case DirSame:
		return 1
	case DirWorse:
		return 2
	}
	return 3
}

// Build compares the children of an earlier wave (from) with those of a
// later one (to), for the site and for each school.
//
// Children are matched by ChildID; should an ID appear twice in one wave,
// its last entry is used. A child seen in both waves is counted in its
// school of the later wave (a child who moved is counted in the new
// school; the earlier school is used only when the later one is empty); a
// child seen in one wave only, in its school of that wave. A child with no
// school at all is counted in the site only. Only the domains listed are
// compared, in that order (a domain listed twice is compared once); a
// domain missing from a child's map, or whose level is not a risk level,
// counts as not_assessed.
func Build(fromWave, toWave int, domains []string, from, to []ChildLevels) Report {
	var doms []string
	for _, d := range domains {
		if !slices.Contains(doms, d) {
			doms = append(doms, d)
		}
	}
	nd := len(doms)

	site := &scope{domains: make([]counts, nd)}
	schools := map[string]*scope{}
	scopesOf := func(school string, buf []*scope) []*scope {
		buf = append(buf[:0], site)
		if school == "" {
			return buf
		}
		s := schools[school]
		if s == nil {
			s = &scope{name: school, domains: make([]counts, nd)}
			schools[school] = s
		}
		return append(buf, s)
	}

	// index maps each child to its last entry, and marks the entries a
	// later one supersedes.
	index := func(wave []ChildLevels) (map[string]int, []bool) {
		idx := make(map[string]int, len(wave))
		var superseded []bool
		for i := range wave {
			id := wave[i].ChildID
			if old, dup := idx[id]; dup {
				if superseded == nil {
					superseded = make([]bool, len(wave))
				}
				superseded[old] = true
			}
			idx[id] = i
		}
		return idx, superseded
	}
	fromIdx, fromDup := index(from)
	toIdx, toDup := index(to)

	fl := make([]int, nd)
	tl := make([]int, nd)
	var buf []*scope
	// names backs every Worsened.Domains: each is a capacity-limited window
	// of it, so appending to one can never write into another, and a
	// reallocation leaves earlier windows on the old array, still valid.
	var worse, names []string
	window := func() []string {
		names = append(names, worse...)
		return names[len(names)-len(worse) : len(names) : len(names)]
	}
	for i := range to {
		c := &to[i]
		if toDup != nil && toDup[i] {
			continue // a later entry of the same child wins
		}
		for d, name := range doms {
			tl[d] = levelIndex(c.Domains[name])
		}
		j, both := fromIdx[c.ChildID]
		school := c.SchoolID
		if both && school == "" {
			school = from[j].SchoolID
		}
		scopes := scopesOf(school, buf)
		buf = scopes
		worse = worse[:0]
		if both {
			for d, name := range doms {
				fl[d] = levelIndex(from[j].Domains[name])
				if direction(fl[d], tl[d]) == DirWorse {
					worse = append(worse, name)
				}
			}
			slices.Sort(worse)
		}
		for _, s := range scopes {
			for d := range doms {
				dc := &s.domains[d]
				t := tl[d]
				if t > 0 {
					dc.assessedTo++
					if t >= 2 {
						dc.atRiskTo++
					}
				}
				if !both {
					continue
				}
				f := fl[d]
				if f > 0 {
					dc.assessedFrom++
					if f >= 2 {
						dc.atRiskFrom++
					}
				}
				dc.matrix[f][t]++
				dc.dir[dirSlot(direction(f, t))]++
			}
			if !both {
				s.onlyTo++
				continue
			}
			s.both++
			if len(worse) > 0 {
				s.worsened = append(s.worsened, Worsened{ChildID: c.ChildID, SchoolID: school, Domains: window()})
			}
		}
	}
	for i := range from {
		c := &from[i]
		if fromDup != nil && fromDup[i] {
			continue
		}
		if _, both := toIdx[c.ChildID]; both {
			continue
		}
		for d, name := range doms {
			fl[d] = levelIndex(c.Domains[name])
		}
		scopes := scopesOf(c.SchoolID, buf)
		buf = scopes
		for _, s := range scopes {
			s.onlyFrom++
			for d := range doms {
				if f := fl[d]; f > 0 {
					s.domains[d].assessedFrom++
					if f >= 2 {
						s.domains[d].atRiskFrom++
					}
				}
			}
		}
	}

	r := Report{FromWave: fromWave, ToWave: toWave, Domains: doms, Site: site.summary(doms)}
	if r.Domains == nil {
		r.Domains = []string{}
	}
	schoolNames := make([]string, 0, len(schools))
	for n := range schools {
		schoolNames = append(schoolNames, n)
	}
	slices.Sort(schoolNames)
	r.Schools = make([]Summary, 0, len(schoolNames))
	for _, n := range schoolNames {
		r.Schools = append(r.Schools, schools[n].summary(doms))
	}
	return r
}

func (s *scope) summary(doms []string) Summary {
	out := Summary{Name: s.name, Both: s.both, OnlyFrom: s.onlyFrom, OnlyTo: s.onlyTo,
		Domains: make(map[string]*DomainSummary, len(doms))}
	for d, name := range doms {
		c := &s.domains[d]
		ds := &DomainSummary{
			Transitions: Transitions{
				Matrix:        make(map[string]map[string]int, 4),
				Better:        c.dir[0],
				Same:          c.dir[1],
				Worse:         c.dir[2],
				NotComparable: c.dir[3],
			},
			AtRiskFrom: c.atRiskFrom, AtRiskTo: c.atRiskTo,
			AssessedFrom: c.assessedFrom, AssessedTo: c.assessedTo,
			ShareFrom: share(c.atRiskFrom, c.assessedFrom),
			ShareTo:   share(c.atRiskTo, c.assessedTo),
		}
		for f := range 4 {
			row := make(map[string]int, 4)
			for t := range 4 {
				row[levelByIndex[t]] = c.matrix[f][t]
			}
			ds.Matrix[levelByIndex[f]] = row
		}
		out.Domains[name] = ds
	}
	slices.SortFunc(s.worsened, func(a, b Worsened) int {
		return cmp.Or(cmp.Compare(a.SchoolID, b.SchoolID), cmp.Compare(a.ChildID, b.ChildID))
	})
	out.Worsened = s.worsened
	return out
}

func share(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}
