package findings

import (
	"strconv"

	"github.com/khula-cop/khula/internal/longitudinal"
)

// Suppressed is written instead of a hidden value: a count hidden so that
// a small one cannot be recovered (secondary suppression), a percentage
// built on a hidden count, or a statistic over 1 to 4 values.
const Suppressed = "suppressed"

// hiding is whether a count cell is shown.
type hiding uint8

const (
	shown     hiding = iota
	small            // 1 to 4, written "<5"
	secondary        // hidden to protect a small cell, written Suppressed
)

func isSmall(n int) bool { return n >= 1 && n < longitudinal.SuppressBelow }

// Cells returns the table's rows as text, each starting with the row's
// label and then one cell per column after the first.
//
// Without suppress it gives the raw values, for the programme manager's
// screen. With suppress it gives what may be published: counts from 1 to
// 4 as "<5"; counts hidden by secondary suppression, percentages whose
// numerator or denominator is hidden, and statistics over 1 to 4 values as
// [Suppressed]. Percentages have one decimal and are empty when the
// denominator is 0; statistics are empty when there are no values. A table
// that did not come from [Build] has no secondary suppression.
func (t Table) Cells(suppress bool) [][]string {
	out := make([][]string, len(t.Rows))
	for i, row := range t.Rows {
		line := make([]string, 0, len(row.Values)+1)
		line = append(line, row.Label)
		for j := range row.Values {
			line = append(line, t.format(pos{i, j}, suppress))
		}
		out[i] = line
	}
	return out
}

// state says whether the count at p is shown.
func (t Table) state(p pos) hiding {
	if t.hidden != nil {
		return t.hidden[p.r][p.c]
	}
	if isSmall(t.Rows[p.r].Values[p.c].N) {
		return small
	}
	return shown
}

func (t Table) format(p pos, suppress bool) string {
	v := t.Rows[p.r].Values[p.c]
	switch v.Kind {
	case Count:
		if suppress {
			switch t.state(p) {
			case small:
				return longitudinal.Cell(v.N)
			case secondary:
				return Suppressed
			}
		}
		return strconv.Itoa(v.N)
	case Percent:
		num, den := t.Rows[v.numAt.r].Values[v.numAt.c].N, t.Rows[v.denAt.r].Values[v.denAt.c].N
		if den == 0 {
			return ""
		}
		if suppress && (t.state(v.numAt) != shown || t.state(v.denAt) != shown) {
			return Suppressed
		}
		return strconv.FormatFloat(100*float64(num)/float64(den), 'f', 1, 64)
	case Stat:
		if v.N == 0 {
			return ""
		}
		if suppress && isSmall(v.N) {
			return Suppressed
		}
		return strconv.FormatFloat(v.X, 'f', 1, 64)
	}
	return v.Text
}

// ref is a count cell of the report.
type ref struct{ scope, table, r, c int }

// equation is counts of the report that add up: parts to total.
type equation struct {
	parts      []ref
	total      ref
	totalFirst bool
}

// suppress works out which counts are hidden: the small ones, then, until
// nothing changes, for every equation with exactly one hidden cell, the
// smallest other non-zero shown part (ties: the first), or the total when
// the equation prefers it or no part qualifies. covered says, per source
// (see [source]), whether the site is the sum of its schools.
func (r *Report) suppress(covered map[string]bool) {
	for s := range r.Scopes {
		for ti := range r.Scopes[s].Tables {
			t := &r.Scopes[s].Tables[ti]
			t.hidden = make([][]hiding, len(t.Rows))
			for i, row := range t.Rows {
				t.hidden[i] = make([]hiding, len(row.Values))
				for j, v := range row.Values {
					if v.Kind == Count && isSmall(v.N) {
						t.hidden[i][j] = small
					}
				}
			}
		}
	}
	eqs := r.equations(covered)
	val := func(x ref) int { return r.Scopes[x.scope].Tables[x.table].Rows[x.r].Values[x.c].N }
	hid := func(x ref) *hiding { return &r.Scopes[x.scope].Tables[x.table].hidden[x.r][x.c] }
	for changed := true; changed; {
		changed = false
		for _, e := range eqs {
			n := 0
			if *hid(e.total) != shown {
				n++
			}
			for _, x := range e.parts {
				if *hid(x) != shown {
					n++
				}
			}
			if n != 1 {
				continue
			}
			candidate := func(x ref) bool { return *hid(x) == shown && val(x) > 0 }
			pick, ok := e.total, e.totalFirst && candidate(e.total)
			if !ok {
				for _, x := range e.parts {
					if candidate(x) && (!ok || val(x) < val(pick)) {
						pick, ok = x, true
					}
				}
			}
			if !ok {
				pick, ok = e.total, candidate(e.total)
			}
			if ok {
				*hid(pick) = secondary
				changed = true
			}
		}
	}
}

// equations lists the report's equations: each scope's groups in scope and
// table order, then the site as the sum of the schools.
func (r *Report) equations(covered map[string]bool) []equation {
	var eqs []equation
	for s, sc := range r.Scopes {
		index := map[string]int{}
		for ti, t := range sc.Tables {
			index[t.ID] = ti
		}
		at := func(ti int, l loc) ref {
			if l.table != "" {
				ti = index[l.table]
			}
			return ref{s, ti, l.p.r, l.p.c}
		}
		for ti, t := range sc.Tables {
			for _, g := range t.groups {
				e := equation{total: at(ti, g.total), totalFirst: g.totalFirst}
				for _, p := range g.parts {
					e.parts = append(e.parts, at(ti, p))
				}
				eqs = append(eqs, e)
			}
		}
	}
	if len(r.Scopes) < 2 {
		return eqs
	}
	for ti, t := range r.Scopes[0].Tables {
		for i, row := range t.Rows {
			if !covered[source(t.ID, row.Key)] {
				continue
			}
			for j, v := range row.Values {
				if v.Kind != Count {
					continue
				}
				e := equation{total: ref{0, ti, i, j}}
				for s := 1; s < len(r.Scopes); s++ {
					rows := r.Scopes[s].Tables[ti].Rows
					for k := range rows {
						if rows[k].Key == row.Key {
							e.parts = append(e.parts, ref{s, ti, k, j})
							break
						}
					}
				}
				eqs = append(eqs, e)
			}
		}
	}
	return eqs
}
