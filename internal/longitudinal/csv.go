package longitudinal

import (
	"encoding/csv"
	"io"
	"strconv"
)

// SuppressBelow is the smallest count written as it is when suppressing:
// counts from 1 to SuppressBelow-1 are written as "<5". Zero is written as
// it is, since it discloses nobody.
const SuppressBelow = 5

// suppressed is written instead of a share whose numerator or denominator
// is a suppressed count.
const suppressed = "suppressed"

// Cell writes a count for a table that leaves the programme manager's
// screen: 0 as "0", 1 to 4 as "<5", anything else as the number.
func Cell(n int) string {
	if n >= 1 && n < SuppressBelow {
		return "<" + strconv.Itoa(SuppressBelow)
	}
	return strconv.Itoa(n)
}

func small(n int) bool { return n >= 1 && n < SuppressBelow }

// CSVHeader is the header row [Report.WriteCSV] writes.
var CSVHeader = []string{
	"from_wave", "to_wave", "scope", "school_id", "domain", "measure",
	"wave", "from_level", "to_level", "count", "at_risk", "assessed", "share_percent",
}

// Measures written by [Report.WriteCSV].
const (
	// MeasureChildrenBoth: count is the number of children in both waves.
	MeasureChildrenBoth = "children_both_waves"
	// MeasureChildrenOnlyFrom: count is the number seen only in the earlier wave.
	MeasureChildrenOnlyFrom = "children_only_earlier_wave"
	// MeasureChildrenOnlyTo: count is the number seen only in the later wave.
	MeasureChildrenOnlyTo = "children_only_later_wave"
	// MeasureTransition: count is the number of children in both waves at
	// from_level in the earlier wave and to_level in the later one.
	MeasureTransition = "transition"
	// MeasureAtRiskShare: at_risk, assessed and share_percent of one wave
	// (the wave column), counting every child of that wave.
	MeasureAtRiskShare = "at_risk_share"
)

// WriteCSV writes the report as one table, with the header [CSVHeader].
// Every row carries the report's waves (from_wave, to_wave) and its scope:
// "site" with an empty school_id, or "school" and the school's ID. Scopes
// come site first then schools in the report's order; each has three rows
// of children counts (measure children_*, no domain), then per domain, in
// the report's order, 16 transition rows (from_level × to_level over
// [Levels], zeros included) and two at_risk_share rows, one per wave.
// share_percent has one decimal and is empty when nobody was assessed.
//
// With suppress, every count is written by [Cell] (1 to 4 become "<5"),
// and a share whose at-risk or assessed count is 1 to 4 is written as
// "suppressed". Within one domain's sixteen transitions, a single small
// cell would be given away by the children-in-both total minus the
// others, so the smallest other non-zero cell is written "suppressed" too
// (secondary suppression). Shares and the other totals can still narrow a
// cell down in some tables; publish widely only after review.
//
// Child IDs are never written, with or without suppress: the
// [Summary.Worsened] list is a screen-only detail.
//
// Any cell that starts with =, +, -, @, a tab or a carriage return gets a
// leading apostrophe so that spreadsheets do not run it as a formula
// (school IDs and domain names are site-configured text).
func (r Report) WriteCSV(w io.Writer, suppress bool) error {
	cw := csv.NewWriter(w)
	from, to := strconv.Itoa(r.FromWave), strconv.Itoa(r.ToWave)
	count := strconv.Itoa
	if suppress {
		count = Cell
	}
	var row [13]string
	write := func(scopeKind, school, domain, measure, wave, fromLevel, toLevel, n, atRisk, assessed, share string) error {
		row = [13]string{from, to, scopeKind, school, domain, measure, wave, fromLevel, toLevel, n, atRisk, assessed, share}
		for i := range row {
			row[i] = neutralise(row[i])
		}
		return cw.Write(row[:])
	}
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	scope := func(kind string, s Summary) error {
		for _, c := range []struct {
			measure string
			n       int
		}{{MeasureChildrenBoth, s.Both}, {MeasureChildrenOnlyFrom, s.OnlyFrom}, {MeasureChildrenOnlyTo, s.OnlyTo}} {
			if err := write(kind, s.Name, "", c.measure, "", "", "", count(c.n), "", "", ""); err != nil {
				return err
			}
		}
		for _, d := range r.Domains {
			ds := s.Domains[d]
			if ds == nil {
				continue
			}
			hidden := [2]string{}
			if suppress {
				hidden = complementary(ds.Matrix)
			}
			for _, fl := range Levels {
				for _, tl := range Levels {
					n := count(ds.Matrix[fl][tl])
					if hidden == [2]string{fl, tl} {
						n = suppressed
					}
					if err := write(kind, s.Name, d, MeasureTransition, "", fl, tl, n, "", "", ""); err != nil {
						return err
					}
				}
			}
			for _, sh := range []struct {
				wave             string
				atRisk, assessed int
			}{{from, ds.AtRiskFrom, ds.AssessedFrom}, {to, ds.AtRiskTo, ds.AssessedTo}} {
				pct := ""
				switch {
				case suppress && (small(sh.atRisk) || small(sh.assessed)):
					pct = suppressed
				case sh.assessed > 0:
					pct = strconv.FormatFloat(100*float64(sh.atRisk)/float64(sh.assessed), 'f', 1, 64)
				}
				if err := write(kind, s.Name, d, MeasureAtRiskShare, sh.wave, "", "", "", count(sh.atRisk), count(sh.assessed), pct); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := scope("site", Summary{Both: r.Site.Both, OnlyFrom: r.Site.OnlyFrom, OnlyTo: r.Site.OnlyTo, Domains: r.Site.Domains}); err != nil {
		return err
	}
	for _, s := range r.Schools {
		if err := scope("school", s); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// neutralise defuses a cell a spreadsheet would read as a formula.
func neutralise(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// complementary returns the cell (from, to) to suppress beside a matrix's
// only small cell: the smallest other non-zero cell, so the total cannot
// give the small one away. It returns empty names when there is nothing
// to add (no small cell, or two or more already).
func complementary(m map[string]map[string]int) [2]string {
	smallCells := 0
	best, bestN := [2]string{}, 0
	for _, fl := range Levels {
		for _, tl := range Levels {
			n := m[fl][tl]
			switch {
			case small(n):
				smallCells++
			case n > 0 && (bestN == 0 || n < bestN):
				best, bestN = [2]string{fl, tl}, n
			}
		}
	}
	if smallCells != 1 {
		return [2]string{}
	}
	return best
}
