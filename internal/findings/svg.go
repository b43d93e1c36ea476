package findings

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Charts are SVG in the house style of internal/longitudinal: no script
// and no external resource; role="img" with a <title> and a <desc> that
// says the numbers in words; every piece of text escaped; output that does
// not depend on map order. The viewBox is 680 units wide, the A4 text
// width at 96 dpi.
//
// A chart is drawn from the table's published cells (Cells(true)) and
// nothing else, so it cannot show more than the table: a hidden count is
// a hatched marker of a fixed width, labelled like the table ("<5",
// "suppressed"), and the scale comes from shown numbers only. Fills differ
// in lightness and hidden or missing values use patterns, so the charts
// read in greyscale print; a legend names every fill.

const (
	chartW  = 680
	fontS   = 12
	markerW = 22 // width of a hidden segment or bar
)

func esc(s string) string { return template.HTMLEscapeString(s) }

// textW estimates the width of s at the label size.
func textW(s string) float64 { return 6.6 * float64(len([]rune(s))) }

// clip shortens s to n runes, ending with an ellipsis when cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// fill is a category's fill and the colour of text on it.
type fill struct{ label, bg, fg string }

var (
	riskFills = []fill{
		{"High", "#7f1d1d", "#fff"},
		{"Moderate", "#d97706", "#000"},
		{"Low", "#bbf7d0", "#000"},
		{"Not assessed", "dots", "#000"},
	}
	sdqFills = []fill{
		{"Normal", "#dbeafe", "#000"},
		{"Borderline", "#60a5fa", "#000"},
		{"Abnormal", "#1e3a8a", "#fff"},
		{"Not computed", "dots", "#000"},
	}
)

// Chart returns the SVG chart of a table of the scope with the given key
// ([Scope.Key]): risk_by_domain, sdq_bands (stacked bars of the scope's
// scored children), growth (prevalence) and referrals_by_sector
// (completion rate). It returns "" for any other table, or an unknown
// scope or table.
func (r Report) Chart(scope, tableID string) template.HTML {
	for i, s := range r.Scopes {
		if s.Key == scope {
			return s.chart(fmt.Sprintf("f%d-%s", i, tableID), tableID)
		}
	}
	return ""
}

func (s Scope) chart(id, tableID string) template.HTML {
	t, ok := s.Table(tableID)
	if !ok {
		return ""
	}
	title := t.Title + ": " + s.Name
	cells := t.Cells(true)
	scored := ""
	if c, ok := s.Table(TableCohort); ok {
		scored = c.Cells(true)[cohortScored.p.r][cohortScored.p.c+1]
	}
	switch tableID {
	case TableRiskByDomain:
		return stacked(id, title, "Scored children by risk level in each domain", cells, []int{1, 2, 3, 4}, riskFills, scored)
	case TableSDQBands:
		return stacked(id, title, "Scored children by SDQ band in each subscale", cells, []int{1, 2, 3, 5}, sdqFills, scored)
	case TableGrowth:
		return bars(id, title, "Prevalence, percent of children measured", cells, 3, 0)
	case TableReferralsBySector:
		return bars(id, title, "Completion rate, percent of referrals made", cells, 8, 100)
	}
	return ""
}

// open starts an SVG with its title, description and the patterns.
func open(b *strings.Builder, id, title, desc string, height int) {
	id = esc(id)
	fmt.Fprintf(b, `<svg class="chart" viewBox="0 0 %d %d" width="%d" role="img" aria-labelledby="%s-t %s-d" font-family="sans-serif" xmlns="http://www.w3.org/2000/svg">`, chartW, height, chartW, id, id)
	fmt.Fprintf(b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, esc(title), id, esc(desc))
	fmt.Fprintf(b, `<defs><pattern id="%s-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#6b7280" stroke-width="2.5"/></pattern>`, id)
	fmt.Fprintf(b, `<pattern id="%s-dots" width="5" height="5" patternUnits="userSpaceOnUse"><rect width="5" height="5" fill="#fff"/><circle cx="2.5" cy="2.5" r="1" fill="#4b5563"/></pattern></defs>`, id)
}

// paint turns a fill name into an SVG paint.
func paint(id, bg string) string {
	if bg == "dots" || bg == "hatch" {
		return "url(#" + esc(id) + "-" + bg + ")"
	}
	return bg
}

// marker draws a hidden value: a fixed-width box in the paint of its
// category (white when it has none), hatched.
func marker(b *strings.Builder, id string, x, y, h float64, base, tip string) {
	rect(b, x, y, markerW, h, base, tip)
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%d" height="%.1f" fill="%s"/>`, x, y, markerW, h, paint(id, "hatch"))
}

func label(b *strings.Builder, x, y float64, anchor, colour, s string) {
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="%d" text-anchor="%s" fill="%s">%s</text>`, x, y, fontS, anchor, colour, esc(s))
}

// rect draws a rectangle with a tooltip.
func rect(b *strings.Builder, x, y, w, h float64, fillPaint, tip string) {
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" stroke="#374151" stroke-width="0.5"><title>%s</title></rect>`, x, y, w, h, fillPaint, esc(tip))
}

// number reads a published cell: false for "<5", "suppressed" and "".
func number(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil && !math.IsNaN(v) && !math.IsInf(v, 0)
}

// hidden says whether a published cell hides a value.
func hidden(s string) bool { return s == Suppressed || strings.HasPrefix(s, "<") }

// legend draws the fills in a row at the top.
func legend(b *strings.Builder, id string, fills []fill) {
	x := 4.0
	all := append(append([]fill(nil), fills...), fill{"Suppressed (hatched, not to scale)", "hatch", ""})
	for _, f := range all {
		bg := paint(id, f.bg)
		if f.bg == "hatch" {
			bg = "#fff"
		}
		fmt.Fprintf(b, `<rect class="key" x="%.1f" y="6" width="12" height="12" fill="%s" stroke="#374151" stroke-width="0.5"/>`, x, bg)
		if f.bg == "hatch" {
			fmt.Fprintf(b, `<rect class="key" x="%.1f" y="6" width="12" height="12" fill="%s"/>`, x, paint(id, f.bg))
		}
		label(b, x+16, 16, "start", "#111827", f.label)
		x += 16 + textW(f.label) + 14
	}
}

// stacked draws one bar per row from the count columns cols, one segment
// per column in fills order. When the scope's scored count is shown the
// bars are shares of it; otherwise they share a scale set by the largest
// shown bar. Hidden counts are fixed-width hatched markers.
func stacked(id, title, what string, cells [][]string, cols []int, fills []fill, scored string) template.HTML {
	const (
		top, rowH, barH = 30.0, 26.0, 18.0
		barX, barW      = 184.0, 380.0
	)
	den, denOK := number(scored)
	denOK = denOK && den > 0
	if !denOK {
		den = 0
		for _, row := range cells {
			sum := 0.0
			for _, c := range cols {
				if v, ok := number(row[c]); ok {
					sum += v
				}
			}
			den = max(den, sum)
		}
	}
	var desc strings.Builder
	desc.WriteString(what)
	if denOK {
		fmt.Fprintf(&desc, ", as shares of the %s scored children", scored)
	}
	desc.WriteString(".")
	for _, row := range cells {
		fmt.Fprintf(&desc, " %s:", row[0])
		for k, c := range cols {
			if k > 0 {
				desc.WriteString(",")
			}
			fmt.Fprintf(&desc, " %s %s", strings.ToLower(fills[k].label), row[c])
		}
		desc.WriteString(".")
	}
	desc.WriteString(" Hatched segments are suppressed counts, drawn at a fixed width.")

	height := int(top + rowH*float64(len(cells)) + 22)
	var b strings.Builder
	open(&b, id, title, desc.String(), height)
	legend(&b, id, fills)
	for i, row := range cells {
		y := top + rowH*float64(i)
		label(&b, barX-8, y+13, "end", "#111827", clip(row[0], 26))
		x := barX
		for k, c := range cols {
			f, s := fills[k], row[c]
			tip := row[0] + ", " + strings.ToLower(f.label) + ": " + s
			if hidden(s) {
				marker(&b, id, x, y, barH, paint(id, f.bg), tip)
				x += markerW
				continue
			}
			v, ok := number(s)
			if !ok || v <= 0 || den <= 0 {
				continue
			}
			w := barW * v / den
			rect(&b, x, y, w, barH, paint(id, f.bg), tip)
			if w >= textW(s)+6 {
				label(&b, x+w/2, y+13, "middle", f.fg, s)
			}
			x += w
		}
	}
	label(&b, 4, float64(height)-6, "start", "#374151", "Hatched: suppressed (fewer than 5, or hidden to protect a count under 5); not drawn to scale.")
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// bars draws one horizontal bar per row from the percentage in column
// col, on an axis from 0 to axis (0: the largest shown value rounded up to
// a multiple of 10). Hidden values are hatched markers, empty ones "no data".
func bars(id, title, what string, cells [][]string, col int, axis float64) template.HTML {
	const (
		top, rowH, barH = 12.0, 24.0, 16.0
		barX, barW      = 244.0, 340.0
	)
	if axis <= 0 {
		axis = 10
		for _, row := range cells {
			if v, ok := number(row[col]); ok {
				axis = max(axis, math.Min(100, math.Ceil(v/10)*10))
			}
		}
	}
	var desc strings.Builder
	fmt.Fprintf(&desc, "%s.", what)
	for _, row := range cells {
		s := row[col]
		switch {
		case s == "":
			s = "no data"
		case !hidden(s):
			s += "%"
		}
		fmt.Fprintf(&desc, " %s: %s.", row[0], s)
	}
	height := int(top + rowH*float64(len(cells)) + 40)
	axisY := top + rowH*float64(len(cells)) + 4
	var b strings.Builder
	open(&b, id, title, desc.String(), height)
	for _, t := range []float64{0, axis / 2, axis} {
		x := barX + barW*t/axis
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#d1d5db"/>`, x, top-4, x, axisY)
		label(&b, x, axisY+14, "middle", "#374151", strconv.FormatFloat(t, 'f', -1, 64)+"%")
	}
	for i, row := range cells {
		y := top + rowH*float64(i)
		s := row[col]
		label(&b, barX-8, y+12, "end", "#111827", clip(row[0], 34))
		tip := row[0] + ": " + s
		switch v, ok := number(s); {
		case hidden(s):
			marker(&b, id, barX, y, barH, "#fff", tip)
			label(&b, barX+markerW+6, y+12, "start", "#111827", s)
		case ok:
			rect(&b, barX, y, barW*math.Min(v, axis)/axis, barH, "#1e3a8a", tip+"%")
			label(&b, barX+barW*math.Min(v, axis)/axis+6, y+12, "start", "#111827", s+"%")
		default:
			label(&b, barX+6, y+12, "start", "#4b5563", "no data")
		}
	}
	label(&b, 4, float64(height)-4, "start", "#374151", "Hatched: suppressed, not drawn to scale.")
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
