package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// Dashboard is what CheckDashboard found in a Grafana dashboard.
type Dashboard struct {
	Panels  int
	Queries []DashboardQuery
}

// DashboardQuery is one Prometheus query of a panel.
type DashboardQuery struct {
	Panel int
	Title string
	RefID string
	Expr  string
}

type grafanaDashboard struct {
	UID           string          `json:"uid"`
	Title         string          `json:"title"`
	SchemaVersion int             `json:"schemaVersion"`
	Panels        []grafanaPanel  `json:"panels"`
	Templating    grafanaTemplate `json:"templating"`
}

type grafanaTemplate struct {
	List []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"list"`
}

type grafanaPanel struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource *grafanaDS      `json:"datasource"`
	GridPos    grafanaGridPos  `json:"gridPos"`
	Targets    []grafanaTarget `json:"targets"`
	Panels     []grafanaPanel  `json:"panels"`
}

type grafanaDS struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type grafanaGridPos struct {
	H, W, X, Y int
}

type grafanaTarget struct {
	RefID      string     `json:"refId"`
	Expr       string     `json:"expr"`
	Datasource *grafanaDS `json:"datasource"`
}

// Grafana's own variables, which every dashboard may use.
var grafanaBuiltins = map[string]string{
	"__rate_interval": "5m", "__interval": "1m", "__range": "1h", "__range_s": "3600", "__range_ms": "3600000", "__interval_ms": "60000",
}

var grafanaVar = regexp.MustCompile(`\$\{([a-zA-Z0-9_]+)(?::[a-z]+)?\}|\$([a-zA-Z0-9_]+)`)

// CheckDashboard checks a Grafana dashboard: it parses, panels have unique
// IDs and fit the 24-column grid without overlapping, every query names the
// dashboard's data source variable (never an installation's data source
// UID) and only defined variables, and (with known) uses only metrics khula
// exports.
func CheckDashboard(data []byte, known map[string]bool) (*Dashboard, []error) {
	var d grafanaDashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, []error{fmt.Errorf("not JSON: %w", err)}
	}
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if d.UID == "" || d.Title == "" {
		add("the dashboard needs a uid and a title")
	}
	if d.SchemaVersion < 36 {
		add("schemaVersion %d: write the dashboard for Grafana 9 or later (36+)", d.SchemaVersion)
	}
	vars := map[string]bool{}
	dsVar := ""
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		if v.Type == "datasource" {
			dsVar = v.Name
		}
	}
	if dsVar == "" {
		add("no data source variable: the dashboard would be tied to one Grafana's data source")
	}
	dsOK := func(ds *grafanaDS) bool {
		return ds != nil && (ds.UID == "${"+dsVar+"}" || ds.UID == "$"+dsVar)
	}
	out := &Dashboard{}
	ids := map[int]bool{}
	type rect struct {
		id         int
		x, y, w, h int
	}
	var rects []rect
	var walk func(ps []grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			out.Panels++
			pw := fmt.Sprintf("panel %d %q", p.ID, p.Title)
			if p.ID == 0 || ids[p.ID] {
				add("%s: panel IDs must be unique and non-zero", pw)
			}
			ids[p.ID] = true
			g := p.GridPos
			if g.W < 1 || g.H < 1 || g.X < 0 || g.Y < 0 || g.X+g.W > 24 {
				add("%s: gridPos %+v does not fit the 24-column grid", pw, g)
			}
			for _, r := range rects {
				if g.X < r.x+r.w && r.x < g.X+g.W && g.Y < r.y+r.h && r.y < g.Y+g.H {
					add("%s overlaps panel %d", pw, r.id)
				}
			}
			rects = append(rects, rect{p.ID, g.X, g.Y, g.W, g.H})
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			if p.Title == "" {
				add("%s: no title", pw)
			}
			if len(p.Targets) == 0 && p.Type != "text" {
				add("%s: no queries", pw)
			}
			if !dsOK(p.Datasource) && len(p.Targets) > 0 {
				add("%s: datasource must be the ${%s} variable", pw, dsVar)
			}
			refs := map[string]bool{}
			for _, t := range p.Targets {
				if t.RefID == "" || refs[t.RefID] {
					add("%s: query refIds must be unique and set", pw)
				}
				refs[t.RefID] = true
				if t.Datasource != nil && !dsOK(t.Datasource) {
					add("%s query %s: datasource must be the ${%s} variable", pw, t.RefID, dsVar)
				}
				if strings.TrimSpace(t.Expr) == "" {
					add("%s query %s: empty expression", pw, t.RefID)
					continue
				}
				for _, m := range grafanaVar.FindAllStringSubmatch(t.Expr, -1) {
					name := m[1] + m[2]
					if _, builtin := grafanaBuiltins[name]; !builtin && !vars[name] {
						add("%s query %s: variable $%s is not defined", pw, t.RefID, name)
					}
				}
				if known != nil {
					if bad := unknownMetrics(t.Expr, known); len(bad) > 0 {
						add("%s query %s: metrics khula does not export: %s", pw, t.RefID, strings.Join(bad, ", "))
					}
				}
				out.Queries = append(out.Queries, DashboardQuery{Panel: p.ID, Title: p.Title, RefID: t.RefID, Expr: t.Expr})
			}
		}
	}
	walk(d.Panels)
	sort.Slice(out.Queries, func(i, j int) bool {
		if out.Queries[i].Panel != out.Queries[j].Panel {
			return out.Queries[i].Panel < out.Queries[j].Panel
		}
		return out.Queries[i].RefID < out.Queries[j].RefID
	})
	return out, errs
}

// AsRuleGroups turns the queries into recording rules, with Grafana's
// variables replaced by values, so that promtool check rules parses each.
func (d *Dashboard) AsRuleGroups() []RuleGroup {
	g := RuleGroup{Name: "dashboard-queries"}
	for _, q := range d.Queries {
		expr := grafanaVar.ReplaceAllStringFunc(q.Expr, func(v string) string {
			m := grafanaVar.FindStringSubmatch(v)
			if val, ok := grafanaBuiltins[m[1]+m[2]]; ok {
				return val
			}
			return ".*" // a template variable stands in a regular expression matcher
		})
		g.Rules = append(g.Rules, Rule{
			Record: fmt.Sprintf("dashboard:panel_%d_%s", q.Panel, q.RefID),
			Expr:   intstr.FromString(expr),
		})
	}
	return []RuleGroup{g}
}
