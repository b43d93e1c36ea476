package findings

import (
	"fmt"
	"html/template"
	"io"
	"strconv"
)

// HTMLOptions are the links [Report.WriteHTML] puts in the document.
type HTMLOptions struct {
	// CSVLink returns the address of one table's CSV (scope is a
	// [Scope.Key]); nil leaves the tables without links.
	CSVLink func(scope, tableID string) string
	// AllCSVLink is the address of [Report.WriteAllCSV]'s CSV; empty: no link.
	AllCSVLink string
}

// Provisional reports whether the wave is still open to change: any status
// but closed or reported.
func (r Report) Provisional() bool {
	return r.WaveStatus != "closed" && r.WaveStatus != "reported"
}

// Title is the report's title: "Findings: <site name>, wave <n>".
func (r Report) Title() string {
	name := r.SiteName
	if name == "" {
		name = r.Site
	}
	return "Findings: " + name + ", wave " + strconv.Itoa(r.Wave)
}

type htmlPage struct {
	Title, Generated, Status string
	Provisional              bool
	AllCSV                   string
	Scopes                   []htmlScope
}

type htmlScope struct {
	Anchor, Heading string
	Tables          []htmlTable
}

type htmlTable struct {
	Anchor, Title, Note string
	Head                []string
	Rows                [][]string
	Wide, Keep          bool
	Chart               template.HTML
	CSV                 string
}

// WriteHTML writes the report as one standalone HTML5 document for print
// on A4 and for the screen: the title, the generation date and wave status
// (with a "Provisional" banner unless the wave is closed or reported), a
// method note, a contents list, then each scope on its own printed page
// with every table (suppressed, as published), its chart where it has one,
// and its CSV link. The CSS is embedded; there is no script and no
// external resource besides the CSV links.
func (r Report) WriteHTML(w io.Writer, opts HTMLOptions) error {
	p := htmlPage{Title: r.Title(), Status: r.WaveStatus, Provisional: r.Provisional(), AllCSV: opts.AllCSVLink}
	if p.Status == "" {
		p.Status = "unknown"
	}
	p.Generated = "unknown"
	if !r.GeneratedAt.IsZero() {
		p.Generated = r.GeneratedAt.Format("2 January 2006, 15:04 MST")
	}
	for i, s := range r.Scopes {
		hs := htmlScope{Anchor: "s" + strconv.Itoa(i), Heading: "Site: " + s.Name}
		if s.Kind == KindSchool {
			name := s.Name
			if name == "" {
				name = s.SchoolID
			}
			hs.Heading = "School: " + name
		}
		for _, t := range s.Tables {
			ht := htmlTable{
				Anchor: hs.Anchor + "-" + t.ID, Title: t.Title, Note: t.Note,
				Rows: t.Cells(true), Wide: len(t.Columns) >= 7, Keep: len(t.Rows) <= 15,
				Chart: s.chart("f"+strconv.Itoa(i)+"-"+t.ID, t.ID),
			}
			for _, c := range t.Columns {
				ht.Head = append(ht.Head, c.Label)
			}
			if opts.CSVLink != nil {
				ht.CSV = opts.CSVLink(s.Key, t.ID)
			}
			hs.Tables = append(hs.Tables, ht)
		}
		p.Scopes = append(p.Scopes, hs)
	}
	if err := page.Execute(w, p); err != nil {
		return fmt.Errorf("writing findings HTML for %s wave %d: %w", r.Site, r.Wave, err)
	}
	return nil
}

// The A4 text width is 180 mm (about 680 CSS px): tables take the full
// width with a fixed layout, and headers and cells wrap, so ten columns fit
// at the print size; charts scale down to it.
const css = `*{box-sizing:border-box}
html{font-family:Arial,"Liberation Sans",Helvetica,sans-serif;color:#111827;background:#fff;line-height:1.35}
body{margin:0 auto;padding:1rem;max-width:60rem;font-size:15px}
h1{font-size:1.6rem;margin:.2rem 0 .4rem}
h2{font-size:1.3rem;margin:1.4rem 0 .5rem;break-after:avoid}
.meta{color:#374151;margin:.2rem 0}
.banner{border:2px solid #92400e;background:#fef3c7;color:#000;padding:.5rem .75rem;font-weight:600}
.method{font-size:.9em}
.method li{margin:.2rem 0}
nav ol{padding-left:1.4rem}
nav ol ol{font-size:.9em;columns:14rem;column-gap:1.5rem}
.tbl{margin:1rem 0 1.6rem}
table{width:100%;max-width:100%;table-layout:fixed;border-collapse:collapse;font-size:.85rem}
caption{text-align:left;font-weight:600;padding-bottom:.3rem}
caption .note{display:block;font-weight:400;font-size:.9em;color:#374151}
th,td{border:1px solid #9ca3af;padding:.2rem .3rem;overflow-wrap:anywhere;hyphens:auto;vertical-align:top}
thead{display:table-header-group}
thead th{background:#f3f4f6;text-align:right;font-weight:600}
thead th.lab,tbody th{text-align:left}
tbody th{font-weight:400}
th.lab{width:32%}
table.wide{font-size:.78rem}
table.wide th.lab{width:13%}
table.wide th,table.wide td{padding:.15rem .2rem}
table.wide thead th{font-size:.9em}
td{text-align:right;font-variant-numeric:tabular-nums}
svg.chart{display:block;width:100%;max-width:680px;height:auto;margin:.6rem 0;break-inside:avoid}
.csv{font-size:.85rem;margin:.3rem 0}
main,section,div,p,ul,ol,svg,table{max-width:100%}
@page{size:A4;margin:15mm}
@media print{
body{max-width:none;padding:0;font-size:9pt}
.scope+.scope{break-before:page}
table{font-size:8.5pt}
table.wide{font-size:7.5pt}
table.keep,caption{break-inside:avoid}
tr{break-inside:avoid}
.banner{background:none}
a{color:inherit}
}`

var page = template.Must(template.New("findings").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>` + css + `</style>
</head>
<body>
<header>
<h1>{{.Title}}</h1>
<p class="meta">Generated {{.Generated}}. Wave status: <strong>{{.Status}}</strong>.</p>
{{if .Provisional}}<p class="banner" role="note">Provisional: the wave is not closed. These numbers may change until it is.</p>
{{end}}</header>
<section class="method" aria-labelledby="method">
<h2 id="method">Method</h2>
<ul>
<li>Small numbers are suppressed to protect children and families. A count from 1 to 4 is shown as "&lt;5"; 0 is shown as 0. A percentage whose numerator or denominator is under 5, and a mean, median, minimum or maximum over fewer than 5, is shown as "suppressed". Where a count under 5 could be worked out from a total, from other cells or from the site and its other schools, another count is shown as "suppressed" too (secondary suppression). Charts draw suppressed values as hatched markers, not to scale.</li>
<li>Percentages have one decimal and are empty when there is nobody to count. Each table says what its percentages are of. Child tables count scored (assessed) children only.</li>
<li>Growth uses WHO z-scores with strict cut-offs: stunted, height-for-age (HAZ) below -2; severely stunted, below -3; underweight, weight-for-age (WAZ) below -2; thin or wasted, BMI-for-age (BAZ) below -2; severely thin, below -3; overweight, BAZ above +1; obese, above +2. A severely stunted child is also counted as stunted, a severely thin child as thin, and an obese child as overweight. Implausible z-scores are left out.</li>
<li>Caregiver depression uses the PHQ-9 total score: minimal 0-4, mild 5-9, moderate 10-14, moderately severe 15-19, severe 20-27; "moderate or worse" is a score of 10 or more.</li>
<li>SDQ subscales are banded normal, borderline or abnormal by the instrument's cut-offs; for the prosocial subscale, abnormal means few prosocial strengths.</li>
<li>Resilience is the CYRM-R total of 17 items (17 to 51; higher is more resilient).</li>
</ul>
</section>
<nav aria-labelledby="contents">
<h2 id="contents">Contents</h2>
<ol>
{{range .Scopes}}<li><a href="#{{.Anchor}}">{{.Heading}}</a>
<ol>{{range .Tables}}<li><a href="#{{.Anchor}}">{{.Title}}</a></li>{{end}}</ol></li>
{{end}}</ol>
{{with .AllCSV}}<p class="csv"><a href="{{.}}">All tables as one CSV file</a></p>{{end}}
</nav>
<main>
{{range .Scopes}}<section class="scope" id="{{.Anchor}}">
<h2>{{.Heading}}</h2>
{{range .Tables}}<div class="tbl" id="{{.Anchor}}">
<table class="{{if .Wide}}wide{{end}}{{if .Keep}} keep{{end}}">
<caption>{{.Title}}<span class="note">{{.Note}}</span></caption>
<thead><tr>{{range $i, $h := .Head}}<th scope="col"{{if eq $i 0}} class="lab"{{end}}>{{$h}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr>{{range $i, $c := .}}{{if eq $i 0}}<th scope="row">{{$c}}</th>{{else}}<td>{{$c}}</td>{{end}}{{end}}</tr>
{{end}}</tbody>
</table>
{{.Chart}}
{{with .CSV}}<p class="csv"><a href="{{.}}">Download this table (CSV)</a></p>{{end}}
</div>
{{end}}</section>
{{end}}</main>
</body>
</html>
`))
