package longitudinal

import (
	"cmp"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/khula-cop/khula/internal/cycle"
)

// Charts are SVG drawn on the server in the house style of internal/web:
// no script and no external resource; role="img" with a <title> and a
// <desc> that says the numbers in words; a viewBox 340 units wide, scaled
// to the page by the "chart" class, so that the 12 and 13 unit text stays
// readable on a phone. Output is deterministic: nothing depends on map
// order. Every piece of text is escaped. The page shows the same numbers
// in a table, so colour is never the only cue.

const (
	chartW = 340
	fontS  = 12 // labels
	fontN  = 13 // values
)

func esc(s string) string { return template.HTMLEscapeString(s) }

// riskColour is the fill and text colour of a risk level (as internal/web).
var riskColour = map[string][2]string{
	cycle.RiskHigh:        {"#9b1c1c", "#fff"},
	cycle.RiskModerate:    {"#f6ad55", "#000"},
	cycle.RiskLow:         {"#9ae6b4", "#000"},
	cycle.RiskNotAssessed: {"#e5e7eb", "#000"},
}

// open starts an SVG with its title and description (both plain text).
func open(b *strings.Builder, id, title, desc string, height int) {
	id = esc(id)
	fmt.Fprintf(b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" xmlns="http://www.w3.org/2000/svg">`, chartW, height, id, id)
	fmt.Fprintf(b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, esc(title), id, esc(desc))
}

// label writes a text element in the label style.
func label(b *strings.Builder, x, y float64, anchor, fill, s string) {
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" class="lbl" font-size="%d" text-anchor="%s" fill="%s">%s</text>`, x, y, fontS, anchor, fill, esc(s))
}

// value writes a text element in the value (number) style.
func value(b *strings.Builder, x, y float64, anchor, s string) {
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" class="num" font-size="%d" font-weight="600" text-anchor="%s" fill="#111827">%s</text>`, x, y, fontN, anchor, esc(s))
}

// noData is the chart drawn when there is nothing to draw.
func noData(id, title, desc string) template.HTML {
	var b strings.Builder
	if desc == "" {
		desc = "No data."
	}
	open(&b, id, title, desc, 60)
	fmt.Fprintf(&b, `<rect x="1" y="1" width="%d" height="58" fill="#f9fafb" stroke="#d1d5db"/>`, chartW-2)
	label(&b, chartW/2, 35, "middle", "#374151", "No data")
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// byWave returns the points sorted by wave, leaving the input alone.
func byWave(points []TimePoint) []TimePoint {
	pts := slices.Clone(points)
	slices.SortStableFunc(pts, func(a, b TimePoint) int { return cmp.Compare(a.Wave, b.Wave) })
	return pts
}

// slotX spreads n slots evenly between left and right.
func slotX(i, n int, left, right float64) float64 {
	if n <= 1 {
		return (left + right) / 2
	}
	return left + float64(i)*(right-left)/float64(n-1)
}

func waveLabel(w int) string { return "W" + strconv.Itoa(w) }

// num formats a value with at most one decimal.
func num(v float64) string {
	v = math.Round(v*10) / 10
	if v == 0 {
		v = 0 // no "-0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func levelName(level string) string {
	switch level {
	case cycle.RiskHigh:
		return "high"
	case cycle.RiskModerate:
		return "moderate"
	case cycle.RiskLow:
		return "low"
	}
	return "not assessed"
}

// LevelChart draws one domain's risk level at each time point: x is the
// wave (labelled W1, W2…), y the level with low at the bottom and high at
// the top; a time point where the domain was not assessed (or is missing,
// or not a risk level) is an open grey marker on a separate row below.
// Consecutive assessed points are joined by steps. Points are drawn in wave order; the input is
// not modified. The description names each wave's level and its change
// since the time point before.
func LevelChart(id, title string, points []TimePoint, domain string) template.HTML {
	pts := byWave(points)
	if len(pts) == 0 {
		return noData(id, title, fmt.Sprintf("No time points for %s.", domain))
	}
	const (
		left, right = 112.0, 322.0
		sepY        = 106.0
		naY         = 128.0
		axisY       = 162.0
		height      = 172
	)
	rowY := [4]float64{naY, 88, 58, 28} // by levelIndex

	var desc strings.Builder
	fmt.Fprintf(&desc, "Risk level in %s at each of %d time points: ", domain, len(pts))
	ranks := make([]int, len(pts))
	for i, p := range pts {
		ranks[i] = levelIndex(p.Domains[domain])
		if i > 0 {
			desc.WriteString("; ")
		}
		fmt.Fprintf(&desc, "%s %s", waveLabel(p.Wave), levelName(p.Domains[domain]))
		if i > 0 {
			switch d := direction(ranks[i-1], ranks[i]); d {
			case DirBetter, DirWorse:
				fmt.Fprintf(&desc, " (%s)", d)
			case DirSame:
				desc.WriteString(" (no change)")
			}
		}
	}
	desc.WriteString(".")

	var b strings.Builder
	open(&b, id, title, desc.String(), height)
	// Rows and their labels.
	for r := 3; r >= 0; r-- {
		y := rowY[r]
		dash := ""
		if r == 0 {
			dash = ` stroke-dasharray="4 3"`
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e7eb"%s/>`, left-10, y, right+10, y, dash)
		label(&b, left-16, y+4, "end", "#111827", strings.ToUpper(levelName(levelByIndex[r])[:1])+levelName(levelByIndex[r])[1:])
	}
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#9ca3af"/>`, 8.0, sepY, right+10, sepY)
	// Steps between consecutive assessed points.
	xs := make([]float64, len(pts))
	for i := range pts {
		xs[i] = slotX(i, len(pts), left, right)
	}
	for i := 1; i < len(pts); i++ {
		if ranks[i-1] == 0 || ranks[i] == 0 {
			continue
		}
		mid := (xs[i-1] + xs[i]) / 2
		fmt.Fprintf(&b, `<path d="M%.1f %.1fH%.1fV%.1fH%.1f" fill="none" stroke="#374151" stroke-width="2"/>`, xs[i-1], rowY[ranks[i-1]], mid, rowY[ranks[i]], xs[i])
	}
	// Markers and wave labels.
	for i, p := range pts {
		x, y := xs[i], rowY[ranks[i]]
		if ranks[i] == 0 {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="7" fill="#fff" stroke="#6b7280" stroke-width="2" stroke-dasharray="3 2"/>`, x, y)
		} else {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="8" fill="%s" stroke="#111827" stroke-width="1.5"/>`, x, y, riskColour[levelByIndex[ranks[i]]][0])
		}
		label(&b, x, axisY, "middle", "#111827", waveLabel(p.Wave))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// linePoint is one time point of a line chart.
type linePoint struct {
	wave int
	v    float64
	ok   bool
}

// lineChart draws values over waves: dots labelled with their value,
// joined where consecutive; a missing value leaves a gap marked "n/a".
// refs are dashed reference lines, always inside the y range.
func lineChart(id, title, desc string, pts []linePoint, refs []float64) template.HTML {
	mn, mx := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		if p.ok {
			mn, mx = min(mn, p.v), max(mx, p.v)
		}
	}
	if math.IsInf(mn, 1) {
		return noData(id, title, desc)
	}
	allNonNeg := mn >= 0
	for _, r := range refs {
		mn, mx = min(mn, r), max(mx, r)
	}
	pad := max((mx-mn)*0.1, 0.5)
	lo, hi := math.Floor(mn-pad), math.Ceil(mx+pad)
	if allNonNeg && len(refs) == 0 && lo < 0 {
		lo = 0
	}
	const (
		left, right = 62.0, 318.0
		top, bottom = 28.0, 146.0
		axisY       = 170.0
		height      = 180
	)
	y := func(v float64) float64 { return bottom - (v-lo)/(hi-lo)*(bottom-top) }

	var b strings.Builder
	open(&b, id, title, desc, height)
	// Axis bounds, then reference lines.
	for _, t := range []float64{lo, hi} {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#d1d5db"/>`, left-12, y(t), right+12, y(t))
		label(&b, left-16, y(t)+4, "end", "#374151", num(t))
	}
	for _, r := range refs {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#6b7280" stroke-dasharray="5 4"/>`, left-12, y(r), right+12, y(r))
		s := num(r)
		if r > 0 {
			s = "+" + s
		}
		label(&b, left-16, y(r)+4, "end", "#111827", s)
	}
	xs := make([]float64, len(pts))
	for i := range pts {
		xs[i] = slotX(i, len(pts), left+14, right-14)
	}
	// Lines between consecutive values.
	for i := 1; i < len(pts); i++ {
		if pts[i-1].ok && pts[i].ok {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#1e3a8a" stroke-width="2"/>`, xs[i-1], y(pts[i-1].v), xs[i], y(pts[i].v))
		}
	}
	for i, p := range pts {
		x := xs[i]
		if p.ok {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="5" fill="#1e3a8a"/>`, x, y(p.v))
			value(&b, x, y(p.v)-9, "middle", num(p.v))
		} else {
			label(&b, x, (top+bottom)/2+4, "middle", "#4b5563", "n/a")
		}
		label(&b, x, axisY, "middle", "#111827", waveLabel(p.wave))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// ScaleChart draws a key scale's score at each time point as dots joined
// by a line, each labelled with its value; the y axis runs from a little
// below the lowest score to a little above the highest (not below 0 when
// every score is 0 or more). A time point where the scale was not computed
// (or is absent) leaves a gap marked "n/a", and the description says so.
func ScaleChart(id, title string, points []TimePoint, scale string) template.HTML {
	pts := byWave(points)
	if len(pts) == 0 {
		return noData(id, title, fmt.Sprintf("No time points for %s.", scale))
	}
	lp, said, missing := series(pts, func(p TimePoint) (float64, bool, string) {
		sc, ok := p.Scales[scale]
		note := ""
		if sc.Band != "" {
			note = " (" + sc.Band + ")"
		}
		return sc.Score, ok && sc.Computed, note
	})
	desc := fmt.Sprintf("%s at each of %d time points: %s.", scale, len(pts), said)
	if missing > 0 {
		desc += " Time points not computed are left as gaps."
	}
	return lineChart(id, title, desc, lp, nil)
}

// series turns time points into a line chart's points and the words that
// describe them: value gives a point's number, whether it was computed,
// and what to say after the number. It also counts the points not computed.
func series(pts []TimePoint, value func(TimePoint) (float64, bool, string)) ([]linePoint, string, int) {
	lp := make([]linePoint, len(pts))
	parts := make([]string, len(pts))
	missing := 0
	for i, p := range pts {
		v, ok, note := value(p)
		ok = ok && finite(v)
		lp[i] = linePoint{wave: p.Wave, v: v, ok: ok}
		if !ok {
			missing++
			parts[i] = waveLabel(p.Wave) + " not computed"
			continue
		}
		parts[i] = waveLabel(p.Wave) + " " + num(v) + note
	}
	return lp, strings.Join(parts, "; "), missing
}

// growthNames says what a growth indicator measures.
var growthNames = map[string]string{
	"hfa": "height-for-age",
	"wfa": "weight-for-age",
	"bfa": "BMI-for-age",
}

// GrowthChart draws a growth z-score ("hfa", "wfa" or "bfa") at each time
// point like [ScaleChart], with dashed reference lines at -2 and +2; the
// description says which values fall outside them.
func GrowthChart(id, title string, points []TimePoint, indicator string) template.HTML {
	name := growthNames[indicator]
	if name == "" {
		name = indicator
	}
	pts := byWave(points)
	if len(pts) == 0 {
		return noData(id, title, fmt.Sprintf("No time points for the %s z-score.", name))
	}
	lp, said, missing := series(pts, func(p TimePoint) (float64, bool, string) {
		z, ok := p.Growth[indicator]
		note := ""
		switch {
		case z.Z < -2:
			note = ", below -2"
		case z.Z > 2:
			note = ", above +2"
		}
		return z.Z, ok && z.Computed, note
	})
	desc := fmt.Sprintf("%s z-score at each of %d time points: %s. Reference lines at -2 and +2.", name, len(pts), said)
	if missing > 0 {
		desc += " Time points not computed are left as gaps."
	}
	return lineChart(id, title, desc, lp, []float64{-2, 2})
}

// pct rounds a share (0 to 1) to a whole percent.
func pct(share float64) int { return int(math.Round(100 * share)) }

// TransitionChart draws, per domain in the order given, two bars: the
// share of assessed children at moderate or high risk in the earlier wave
// and in the later wave, each labelled with its percent and counts. The
// description gives those numbers and the children who got better, stayed
// the same, got worse or could not be compared. A domain the summary lacks
// is drawn empty and described as having no data.
func TransitionChart(id, title string, s Summary, domains []string) template.HTML {
	if len(domains) == 0 || len(s.Domains) == 0 {
		return noData(id, title, "No domains to compare.")
	}
	const (
		top    = 4
		blockH = 66
		tagX   = 62.0
		barX   = 68.0
		barW   = 140.0
		barH   = 17
	)
	var desc strings.Builder
	fmt.Fprintf(&desc, "Share of assessed children at moderate or high risk, earlier wave then later wave. Children in both waves %d, only in the earlier %d, only in the later %d.", s.Both, s.OnlyFrom, s.OnlyTo)
	for _, d := range domains {
		ds := s.Domains[d]
		if ds == nil {
			fmt.Fprintf(&desc, " %s: no data.", d)
			continue
		}
		fmt.Fprintf(&desc, " %s: earlier %s, later %s; %d better, %d same, %d worse, %d not comparable.", d,
			shareWords(ds.AtRiskFrom, ds.AssessedFrom, ds.ShareFrom), shareWords(ds.AtRiskTo, ds.AssessedTo, ds.ShareTo),
			ds.Better, ds.Same, ds.Worse, ds.NotComparable)
	}
	height := top + blockH*len(domains) + 4
	var b strings.Builder
	open(&b, id, title, desc.String(), height)
	bar := func(y float64, tag string, atRisk, assessed int, sh float64, colour string) {
		label(&b, tagX, y+13, "end", "#111827", tag)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="#f3f4f6"/>`, barX, y, barW, barH)
		if assessed == 0 {
			label(&b, barX+barW+6, y+13, "start", "#374151", "none assessed")
			return
		}
		if w := barW * sh; w > 0 {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s"/>`, barX, y, w, barH, colour)
		}
		value(&b, barX+barW+6, y+13, "start", fmt.Sprintf("%d%% (%d/%d)", pct(sh), atRisk, assessed))
	}
	for i, d := range domains {
		y := float64(top + i*blockH)
		label(&b, 4, y+14, "start", "#111827", clip(d, 40))
		ds := s.Domains[d]
		if ds == nil {
			ds = &DomainSummary{}
		}
		bar(y+20, "Earlier", ds.AtRiskFrom, ds.AssessedFrom, ds.ShareFrom, "#64748b")
		bar(y+41, "Later", ds.AtRiskTo, ds.AssessedTo, ds.ShareTo, "#1e3a8a")
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func shareWords(atRisk, assessed int, sh float64) string {
	if assessed == 0 {
		return "none assessed"
	}
	return fmt.Sprintf("%d of %d at risk (%d%%)", atRisk, assessed, pct(sh))
}

// clip shortens s to n runes, ending with an ellipsis when cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
