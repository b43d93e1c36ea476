package longitudinal

import (
	"encoding/xml"
	"errors"
	"html/template"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// parsed is what a test reads back from a chart.
type parsed struct {
	title, desc string
	texts       []string
	width       float64
}

// parseSVG checks that a chart is well-formed XML with the accessible
// structure, and returns its title, description and text.
func parseSVG(t *testing.T, h template.HTML) parsed {
	t.Helper()
	s := string(h)
	dec := xml.NewDecoder(strings.NewReader(s))
	var p parsed
	var stack []string
	roots := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, s)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				roots++
				if el.Name.Local != "svg" {
					t.Fatalf("root %q", el.Name.Local)
				}
				attrs := map[string]string{}
				for _, a := range el.Attr {
					attrs[a.Name.Local] = a.Value
				}
				if attrs["role"] != "img" || attrs["class"] != "chart" || !strings.HasSuffix(attrs["aria-labelledby"], "-d") {
					t.Errorf("svg attributes %v", attrs)
				}
				vb := strings.Fields(attrs["viewBox"])
				if len(vb) != 4 {
					t.Fatalf("viewBox %q", attrs["viewBox"])
				}
				p.width, _ = strconv.ParseFloat(vb[2], 64)
			}
			stack = append(stack, el.Name.Local)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				continue
			}
			switch stack[len(stack)-1] {
			case "title":
				p.title += string(el)
			case "desc":
				p.desc += string(el)
			case "text":
				p.texts = append(p.texts, string(el))
			}
		}
	}
	if roots != 1 {
		t.Fatalf("%d root elements", roots)
	}
	if p.width < 320 || p.width > 360 {
		t.Errorf("viewBox width %v, want 320–360 for a phone", p.width)
	}
	for _, m := range regexp.MustCompile(`font-size="([0-9.]+)"`).FindAllStringSubmatch(s, -1) {
		if v, _ := strconv.ParseFloat(m[1], 64); v < 12 {
			t.Errorf("font-size %v < 12", v)
		}
	}
	if strings.Contains(s, "<script") || strings.Contains(s, `class="sm"`) {
		t.Errorf("script or small text in chart:\n%s", s)
	}
	return p
}

func hasText(p parsed, s string) bool {
	for _, x := range p.texts {
		if x == s {
			return true
		}
	}
	return false
}

func trajectory() []TimePoint {
	return []TimePoint{
		{Wave: 3, Domains: map[string]string{"health": lo},
			Scales: map[string]Scale{"sdq.total": {Score: 10, Band: "normal", Computed: true}},
			Growth: map[string]Z{"hfa": {Z: -2.34, Computed: true}}},
		{Wave: 1, Domains: map[string]string{"health": hi},
			Scales: map[string]Scale{"sdq.total": {Score: 18.5, Band: "high", Computed: true}},
			Growth: map[string]Z{"hfa": {Z: -1.2, Computed: true}}},
		{Wave: 2, Domains: map[string]string{"health": na},
			Scales: map[string]Scale{"sdq.total": {Computed: false}},
			Growth: map[string]Z{"hfa": {Z: 0, Computed: false}}},
		{Wave: 4, Domains: map[string]string{"health": mo},
			Scales: map[string]Scale{"sdq.total": {Score: 12, Computed: true}},
			Growth: map[string]Z{"hfa": {Z: 2.5, Computed: true}}},
	}
}

func TestCharts(t *testing.T) {
	pts := trajectory()
	from, to := cohort()
	rep := Build(1, 2, []string{"protection", "health", "nutrition"}, from, to)
	tests := []struct {
		name     string
		draw     func(title string) template.HTML
		desc     []string // substrings of the description
		texts    []string // text elements
		noData   bool
		unsorted bool // check the input was left alone
	}{
		{
			name:  "level",
			draw:  func(title string) template.HTML { return LevelChart("lv", title, pts, "health") },
			desc:  []string{"W1 high; W2 not assessed; W3 low; W4 moderate (worse)."},
			texts: []string{"W1", "W2", "W3", "W4", "High", "Moderate", "Low", "Not assessed"},
		},
		{
			name:  "scale",
			draw:  func(title string) template.HTML { return ScaleChart("sc", title, pts, "sdq.total") },
			desc:  []string{"W1 18.5 (high); W2 not computed; W3 10 (normal); W4 12.", "left as gaps"},
			texts: []string{"W1", "W4", "18.5", "10", "12", "n/a"},
		},
		{
			name: "growth",
			draw: func(title string) template.HTML { return GrowthChart("gr", title, pts, "hfa") },
			desc: []string{"height-for-age z-score", "W1 -1.2; W2 not computed; W3 -2.3, below -2; W4 2.5, above +2.",
				"Reference lines at -2 and +2", "left as gaps"},
			texts: []string{"-2", "+2", "-1.2", "-2.3", "2.5"},
		},
		{
			name: "transition",
			draw: func(title string) template.HTML { return TransitionChart("tr", title, rep.Site, rep.Domains) },
			desc: []string{
				"Children in both waves 6, only in the earlier 1, only in the later 2.",
				"health: earlier 4 of 7 at risk (57%), later 5 of 7 at risk (71%); 2 better, 3 same, 1 worse, 0 not comparable.",
				"protection: earlier 2 of 6 at risk (33%), later 2 of 7 at risk (29%); 1 better, 2 same, 1 worse, 2 not comparable.",
			},
			texts: []string{"protection", "health", "nutrition", "Earlier", "Later", "57% (4/7)", "71% (5/7)"},
		},
		{
			name: "transition domain missing from summary",
			draw: func(title string) template.HTML {
				return TransitionChart("tr", title, rep.Site, []string{"health", "caregiver"})
			},
			desc:  []string{"caregiver: no data."},
			texts: []string{"caregiver", "none assessed"},
		},
		{
			name:   "level empty",
			draw:   func(title string) template.HTML { return LevelChart("e", title, nil, "health") },
			noData: true,
		},
		{
			name:   "scale empty",
			draw:   func(title string) template.HTML { return ScaleChart("e", title, nil, "sdq.total") },
			noData: true,
		},
		{
			name:   "scale never computed",
			draw:   func(title string) template.HTML { return ScaleChart("e", title, pts, "phq9.total") },
			desc:   []string{"W1 not computed; W2 not computed; W3 not computed; W4 not computed."},
			noData: true,
		},
		{
			name:   "growth empty",
			draw:   func(title string) template.HTML { return GrowthChart("e", title, []TimePoint{}, "wfa") },
			noData: true,
		},
		{
			name:   "growth never computed",
			draw:   func(title string) template.HTML { return GrowthChart("e", title, pts, "bfa") },
			desc:   []string{"BMI-for-age", "W1 not computed"},
			noData: true,
		},
		{
			name:   "transition empty",
			draw:   func(title string) template.HTML { return TransitionChart("e", title, Summary{}, []string{"health"}) },
			noData: true,
		},
		{
			name:   "transition no domains",
			draw:   func(title string) template.HTML { return TransitionChart("e", title, rep.Site, nil) },
			noData: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const title = `Health & <script>alert("x")</script>`
			h := tt.draw(title)
			if h != tt.draw(title) {
				t.Error("output is not deterministic")
			}
			if strings.Contains(string(h), "<script>") || !strings.Contains(string(h), "&lt;script&gt;") {
				t.Errorf("title not escaped:\n%s", h)
			}
			p := parseSVG(t, h)
			if p.title != title {
				t.Errorf("title %q, want %q", p.title, title)
			}
			for _, d := range tt.desc {
				if !strings.Contains(p.desc, d) {
					t.Errorf("desc %q lacks %q", p.desc, d)
				}
			}
			for _, x := range tt.texts {
				if !hasText(p, x) {
					t.Errorf("no text %q in %q", x, p.texts)
				}
			}
			if got := hasText(p, "No data"); got != tt.noData {
				t.Errorf("No data shown: %v, want %v (%q)", got, tt.noData, p.texts)
			}
		})
	}
	if pts[0].Wave != 3 {
		t.Error("charts reordered the caller's points")
	}
}

func TestChartEscapesEverything(t *testing.T) {
	evil := `"><script>x</script>`
	pts := []TimePoint{
		{Wave: 1, Domains: map[string]string{evil: hi}, Scales: map[string]Scale{evil: {Score: 3, Band: evil, Computed: true}}},
	}
	s := Summary{Domains: map[string]*DomainSummary{evil: {AtRiskFrom: 1, AssessedFrom: 2, ShareFrom: 0.5}}}
	for _, h := range []template.HTML{
		LevelChart(evil, evil, pts, evil),
		ScaleChart(evil, evil, pts, evil),
		GrowthChart(evil, evil, pts, evil),
		TransitionChart(evil, evil, s, []string{evil}),
	} {
		if strings.Contains(string(h), "<script") {
			t.Errorf("unescaped:\n%s", h)
		}
		p := parseSVG(t, h)
		if p.title != evil {
			t.Errorf("title %q", p.title)
		}
	}
}

func TestLevelChartOnePoint(t *testing.T) {
	p := parseSVG(t, LevelChart("one", "t", []TimePoint{{Wave: 1}}, "health"))
	if !strings.Contains(p.desc, "W1 not assessed.") {
		t.Errorf("desc %q", p.desc)
	}
}
