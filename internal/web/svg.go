package web

import (
	"fmt"
	"html/template"
	"strings"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/uitext"
)

// Charts are SVG drawn on the server: no script, no external resource. Each
// is an image with a title and description for screen readers; the page
// shows the same numbers in a table next to it, so colour is never the
// only way to read them.

func esc(s string) string { return template.HTMLEscapeString(s) }

// stageColour gives each stage a fill and a text colour that contrasts with it (WCAG AA).
var stageColour = map[string][2]string{
	cycle.StageEnrol:    {"#6b7280", "#fff"},
	cycle.StageAssess:   {"#2563eb", "#fff"},
	cycle.StageScore:    {"#7c3aed", "#fff"},
	cycle.StagePlan:     {"#f59e0b", "#000"},
	cycle.StageRefer:    {"#be185d", "#fff"},
	cycle.StageFollowUp: {"#14b8a6", "#000"},
	cycle.StageReassess: {"#84cc16", "#000"},
	cycle.StageClosed:   {"#1f2937", "#fff"},
}

// riskColour is the fill and text colour of a risk level.
var riskColour = map[string][2]string{
	cycle.RiskHigh:        {"#9b1c1c", "#fff"},
	cycle.RiskModerate:    {"#f6ad55", "#000"},
	cycle.RiskLow:         {"#9ae6b4", "#000"},
	cycle.RiskNotAssessed: {"#e5e7eb", "#000"},
}

type barRow struct {
	Label  string
	Counts map[string]int
}

// stageBars draws one stacked bar per row, a segment per stage in cycle order.
func stageBars(id, title string, rows []barRow) template.HTML {
	const (
		labelW = 170
		barW   = 310
		rowH   = 30
		top    = 8
	)
	legendY := top + len(rows)*rowH + 10
	height := legendY + 2*22
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" xmlns="http://www.w3.org/2000/svg">`, labelW+barW+10, height, id, id)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">`, id, esc(title), id)
	for _, r := range rows {
		var parts []string
		for _, st := range cycle.Stages {
			if n := r.Counts[st]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", stageName(st), n))
			}
		}
		fmt.Fprintf(&b, "%s: %s. ", esc(r.Label), esc(strings.Join(parts, ", ")))
	}
	b.WriteString(`</desc>`)
	for i, r := range rows {
		y := top + i*rowH
		total := 0
		for _, n := range r.Counts {
			total += n
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="lbl" text-anchor="end">%s</text>`, labelW-8, y+18, esc(clip(strings.TrimSuffix(r.Label, " (demo)"), 21)))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#f3f4f6"/>`, labelW, y+2, barW, rowH-6)
		if total == 0 {
			continue
		}
		x := float64(labelW)
		for _, st := range cycle.Stages {
			n := r.Counts[st]
			if n == 0 {
				continue
			}
			w := float64(barW) * float64(n) / float64(total)
			col := stageColour[st]
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`, x, y+2, w, rowH-6, col[0])
			if w >= 22 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="%s" text-anchor="middle" class="num">%d</text>`, x+w/2, y+19, col[1], n)
			}
			x += w
		}
	}
	// Legend: every stage, in order, two rows.
	for i, st := range cycle.Stages {
		col := stageColour[st]
		x := 10 + (i%4)*118
		y := legendY + (i/4)*22
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="14" height="14" fill="%s"/><text x="%d" y="%d" class="lbl">%s</text>`, x, y, col[0], x+19, y+12, stageName(st))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// heatCell counts children by risk level in one domain and school.
type heatCell struct {
	High, Moderate, Low int
}

func (h heatCell) assessed() int { return h.High + h.Moderate + h.Low }
func (h heatCell) atRisk() int   { return h.High + h.Moderate }

// heatFill shades the share of assessed children at moderate or high risk.
func heatFill(h heatCell) (fill, text string) {
	if h.assessed() == 0 {
		return "#ffffff", "#374151"
	}
	share := float64(h.atRisk()) / float64(h.assessed())
	switch {
	case share >= 0.6:
		return "#9b1c1c", "#fff"
	case share >= 0.4:
		return "#e35d4f", "#000"
	case share >= 0.2:
		return "#f4a582", "#000"
	case share > 0:
		return "#fde0d2", "#000"
	}
	return "#f3f4f6", "#000"
}

// heatmap draws domains (rows) by schools (columns): each cell the share
// of assessed children at moderate or high risk, with the counts.
func heatmap(id, title string, domains []string, schools []string, cells [][]heatCell) template.HTML {
	const (
		labelW = 170
		cellW  = 86
		cellH  = 40
		headH  = 44
	)
	width := labelW + cellW*max(len(schools), 1) + 4
	height := headH + cellH*len(domains) + 34
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart heat" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" xmlns="http://www.w3.org/2000/svg">`, width, height, id, id)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">Share of assessed children at moderate or high risk, per domain and school.`, id, esc(title), id)
	for i, d := range domains {
		for j, s := range schools {
			c := cells[i][j]
			fmt.Fprintf(&b, " %s, %s: %d of %d.", esc(d), esc(s), c.atRisk(), c.assessed())
		}
	}
	b.WriteString(`</desc>`)
	for j, s := range schools {
		x := labelW + j*cellW + cellW/2
		words := strings.Fields(strings.TrimSuffix(s, " (demo)"))
		line1, line2 := s, ""
		if len(words) > 1 {
			line1, line2 = words[0], strings.Join(words[1:], " ")
		}
		fmt.Fprintf(&b, `<text x="%d" y="18" class="lbl" text-anchor="middle">%s</text>`, x, esc(clip(line1, 13)))
		if line2 != "" {
			fmt.Fprintf(&b, `<text x="%d" y="34" class="lbl" text-anchor="middle">%s</text>`, x, esc(clip(line2, 13)))
		}
	}
	for i, d := range domains {
		y := headH + i*cellH
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="lbl" text-anchor="end">%s</text>`, labelW-8, y+cellH/2+5, esc(clip(d, 21)))
		for j := range schools {
			c := cells[i][j]
			x := labelW + j*cellW
			fill, text := heatFill(c)
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s" stroke="#fff" stroke-width="2"/>`, x, y, cellW, cellH, fill)
			if c.assessed() == 0 {
				fmt.Fprintf(&b, `<text x="%d" y="%d" fill="%s" text-anchor="middle" class="num">–</text>`, x+cellW/2, y+cellH/2+5, text)
				continue
			}
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="%s" text-anchor="middle" class="num">%d%%</text>`, x+cellW/2, y+17, text, 100*c.atRisk()/c.assessed())
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="%s" text-anchor="middle" class="sm">%d/%d</text>`, x+cellW/2, y+32, text, c.atRisk(), c.assessed())
		}
	}
	// Scale.
	y := headH + cellH*len(domains) + 10
	for i, step := range []struct {
		label string
		cell  heatCell
	}{{"0%", heatCell{Low: 1}}, {"<20%", heatCell{High: 1, Low: 9}}, {"20–39%", heatCell{High: 1, Low: 3}}, {"40–59%", heatCell{High: 1, Low: 1}}, {"60%+", heatCell{High: 1}}} {
		fill, _ := heatFill(step.cell)
		x := 10 + i*88
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="14" height="14" fill="%s" stroke="#9ca3af"/><text x="%d" y="%d" class="lbl">%s</text>`, x, y, fill, x+19, y+12, step.label)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// compareRow is one domain's risk levels in two waves.
type compareRow struct {
	Label string
	A, B  map[string]int
}

// compareBars draws, per domain, the two waves' shares of assessed children
// by level as two stacked bars.
func compareBars(id, title, labelA, labelB string, rows []compareRow) template.HTML {
	const (
		labelW = 170
		tagW   = 44
		barW   = 290
		pairH  = 50
		top    = 6
	)
	legendY := top + len(rows)*pairH + 8
	height := legendY + 22
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" xmlns="http://www.w3.org/2000/svg">`, labelW+tagW+barW+8, height, id, id)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">`, id, esc(title), id)
	levels := []string{cycle.RiskHigh, cycle.RiskModerate, cycle.RiskLow}
	for _, r := range rows {
		fmt.Fprintf(&b, "%s: %s high %d, moderate %d, low %d; %s high %d, moderate %d, low %d. ", esc(r.Label),
			esc(labelA), r.A[cycle.RiskHigh], r.A[cycle.RiskModerate], r.A[cycle.RiskLow],
			esc(labelB), r.B[cycle.RiskHigh], r.B[cycle.RiskModerate], r.B[cycle.RiskLow])
	}
	b.WriteString(`</desc>`)
	bar := func(y int, tag string, counts map[string]int) {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="sm" text-anchor="end">%s</text>`, labelW+tagW-6, y+14, esc(tag))
		total := 0
		for _, l := range levels {
			total += counts[l]
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="18" fill="#f3f4f6"/>`, labelW+tagW, y, barW)
		x := float64(labelW + tagW)
		for _, l := range levels {
			if counts[l] == 0 || total == 0 {
				continue
			}
			w := float64(barW) * float64(counts[l]) / float64(total)
			col := riskColour[l]
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="18" fill="%s"/>`, x, y, w, col[0])
			if w >= 30 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="%s" text-anchor="middle" class="sm">%.0f%%</text>`, x+w/2, y+14, col[1], 100*float64(counts[l])/float64(total))
			}
			x += w
		}
	}
	for i, r := range rows {
		y := top + i*pairH
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="lbl" text-anchor="end">%s</text>`, labelW-8, y+25, esc(clip(r.Label, 21)))
		bar(y, labelA, r.A)
		bar(y+21, labelB, r.B)
	}
	for i, l := range levels {
		col := riskColour[l]
		x := 10 + i*110
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="14" height="14" fill="%s" stroke="#9ca3af"/><text x="%d" y="%d" class="lbl">%s</text>`, x, legendY, col[0], x+19, legendY+12, humanize(l))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// stageTrack draws a child's way through the stages, the current one marked.
func stageTrack(id, current string, reached map[string]bool, lang string) template.HTML {
	stages := cycle.Stages
	const step = 58
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart track" viewBox="0 0 %d 52" role="img" aria-labelledby="%s-t" xmlns="http://www.w3.org/2000/svg">`, step*len(stages)+10, id)
	fmt.Fprintf(&b, `<title id="%s-t">%s: %s</title>`, id, esc(uitext.T(lang, "child.stage")), esc(word(lang, "stage.", current)))
	fmt.Fprintf(&b, `<line x1="%d" y1="16" x2="%d" y2="16" stroke="#9ca3af" stroke-width="2"/>`, 5+step/2, 5+step*len(stages)-step/2)
	for i, st := range stages {
		x := 5 + i*step + step/2
		fill, stroke, r := "#fff", "#6b7280", 7
		if reached[st] {
			fill = "#2563eb"
			stroke = "#2563eb"
		}
		if st == current {
			fill, stroke, r = "#1d4ed8", "#000", 10
		}
		fmt.Fprintf(&b, `<circle cx="%d" cy="16" r="%d" fill="%s" stroke="%s" stroke-width="2"/>`, x, r, fill, stroke)
		fmt.Fprintf(&b, `<text x="%d" y="46" class="sm" text-anchor="middle">%s</text>`, x, esc(word(lang, "stage.", st)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
