package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/khula-cop/khula/internal/api"
	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/uitext"
	"github.com/khula-cop/khula/sites"
)

// apiWave is a wave as the API answers it.
type apiWave struct {
	ID          string                    `json:"id"`
	Site        string                    `json:"site"`
	Number      int                       `json:"number"`
	Status      string                    `json:"status"`
	CohortSize  int                       `json:"cohort_size"`
	WindowOpen  time.Time                 `json:"window_open"`
	WindowClose time.Time                 `json:"window_close"`
	LaunchedAt  time.Time                 `json:"launched_at"`
	ClosedAt    *time.Time                `json:"closed_at"`
	Report      *cycle.WaveReport         `json:"report"`
	ByStage     map[string]int            `json:"by_stage"`
	BySchool    map[string]map[string]int `json:"by_school"`
	Open        int                       `json:"open"`
}

type siteOption struct {
	ID, Name   string
	NextNumber int
	Selected   bool
}

type launchForm struct {
	Site, Number, WindowClose, DayLength string
	Key                                  string
}

type wavesView struct {
	Waves      []apiWave
	Next       string
	CanLaunch  bool
	Compressed bool
	Sites      []siteOption
	Form       launchForm
	Errors     map[string]string
	Summary    []formError
	Problem    string
	// Preview says who the selected site's next wave would start.
	Preview *launchPreview
}

func (u *UI) sitesInScope(p auth.Principal) []*sites.Site {
	var out []*sites.Site
	for _, s := range u.o.Sites.Sites() {
		if p.InSite(s.ID) {
			out = append(out, s)
		}
	}
	return out
}

// waves lists waves (a page at a time) with the launch form for planners.
func (u *UI) waves(c *gin.Context) {
	u.showWaves(c, http.StatusOK, launchForm{}, nil)
}

func (u *UI) showWaves(c *gin.Context, status int, form launchForm, prob *api.Problem) {
	p := me(c)
	q := url.Values{"limit": {"25"}}
	if a := c.Query("after"); a != "" {
		q.Set("after", a)
	}
	var page struct {
		Items []apiWave `json:"items"`
		Next  string    `json:"next"`
	}
	if !u.get(c, "/api/v1/waves?"+q.Encode(), &page) {
		return
	}
	v := wavesView{Waves: page.Items, Next: page.Next, CanLaunch: p.Role == auth.ProgrammeManager || p.Role == auth.SiteCoordinator,
		Compressed: u.o.AllowCompressedTime, Form: form, Errors: fieldErrors(prob)}
	if prob != nil {
		v.Summary = summary(prob, func(fe cycle.FieldError) string { return "f-" + fe.Field })
		if len(prob.Errors) == 0 {
			v.Problem = prob.Title + ". " + prob.Detail
		}
	}
	if v.Form.Key == "" {
		v.Form.Key = uuid.NewString()
	}
	for _, s := range u.sitesInScope(p) {
		n, _ := u.o.Store.NextWaveNumber(c.Request.Context(), s.ID)
		v.Sites = append(v.Sites, siteOption{ID: s.ID, Name: s.Name, NextNumber: n, Selected: s.ID == form.Site})
	}
	if v.Form.Number == "" && len(v.Sites) > 0 {
		v.Form.Number = strconv.Itoa(v.Sites[0].NextNumber)
	}
	if v.CanLaunch {
		pick := form.Site
		if pick == "" {
			pick = c.Query("site")
		}
		for i, s := range v.Sites {
			if s.ID == pick || (pick == "" && i == 0) {
				v.Sites[i].Selected = true
				v.Preview = u.previewFor(c, s.ID, s.Name, s.NextNumber)
			}
		}
	}
	u.render(c, status, "waves", "Waves", v)
}

// launchWave launches a wave through the API (POST /api/v1/waves).
func (u *UI) launchWave(c *gin.Context) {
	form := launchForm{Site: c.PostForm("site"), Number: c.PostForm("number"), WindowClose: c.PostForm("window_close"),
		DayLength: c.PostForm("day_length"), Key: c.PostForm("_key")}
	body := map[string]any{"site": form.Site}
	n, err := strconv.Atoi(form.Number)
	if err != nil {
		u.showWaves(c, http.StatusUnprocessableEntity, form, &api.Problem{Title: "The wave was not launched",
			Errors: []cycle.FieldError{{Field: "number", Code: "required", Message: "number must be a whole number, e.g. 3"}}})
		return
	}
	body["number"] = n
	if form.WindowClose != "" {
		site, _ := u.o.Sites.Site(form.Site)
		loc := time.UTC
		if site != nil {
			if l, err := time.LoadLocation(site.Timezone); err == nil {
				loc = l
			}
		}
		d, err := time.ParseInLocation(time.DateOnly, form.WindowClose, loc)
		if err != nil {
			u.showWaves(c, http.StatusUnprocessableEntity, form, &api.Problem{Title: "The wave was not launched",
				Errors: []cycle.FieldError{{Field: "window_close", Code: "invalid", Message: "window_close must be a date, e.g. 2026-09-30"}}})
			return
		}
		// The window closes at the end of that day, in the site's time zone.
		body["window_close"] = d.Add(24*time.Hour - time.Second).UTC().Format(time.RFC3339)
	}
	if form.DayLength != "" {
		body["day_length"] = form.DayLength
	}
	res := u.send(c, http.MethodPost, "/api/v1/waves", body)
	if prob := res.problem(); prob != nil {
		u.showWaves(c, res.Status, form, prob)
		return
	}
	var out struct {
		Existing bool `json:"existing"`
	}
	_ = res.decode(&out)
	flash := "launched"
	if out.Existing {
		flash = "existing"
	}
	u.awaitRecord(c, func() error {
		_, err := u.o.Store.Wave(c.Request.Context(), cycle.WaveID(form.Site, n))
		return err
	})
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/waves/%s/%d?ok=%s", url.PathEscape(form.Site), n, flash))
}

type schoolRow struct {
	ID, Name string
	Counts   map[string]int
	Total    int
	Href     string
}

type heatRow struct {
	Label string
	Cells []heatCell
}

type waveView struct {
	Wave       apiWave
	SiteName   string
	Stages     []string
	Schools    []schoolRow
	Progress   template.HTML
	Heatmap    template.HTML
	HeatRows   []heatRow
	HeatCols   []schoolRow
	Report     *cycle.WaveReport
	Domains    []domainLabel
	Previous   int
	Compressed bool
}

type domainLabel struct{ ID, Label string }

func (u *UI) domains(siteID string) []domainLabel {
	ref, ok := u.o.Sites.Instrument(siteID)
	if !ok {
		return nil
	}
	in, ok := u.o.Instruments.Instrument(ref)
	if !ok {
		return nil
	}
	var out []domainLabel
	for _, d := range in.Domains() {
		out = append(out, domainLabel{ID: d.ID, Label: d.Label.In("en", "en")})
	}
	return out
}

func waveParams(c *gin.Context) (string, int, bool) {
	n, err := strconv.Atoi(c.Param("wave"))
	return c.Param("site"), n, err == nil && n > 0
}

// wave shows a wave's progress by stage and school, the risk heatmap and the report.
func (u *UI) wave(c *gin.Context) {
	siteID, n, ok := waveParams(c)
	if !ok {
		u.failMsg(c, http.StatusNotFound, "error.not_found", "error.no_wave", nil)
		return
	}
	var w apiWave
	if !u.get(c, fmt.Sprintf("/api/v1/waves/%s/%d", url.PathEscape(siteID), n), &w) {
		return
	}
	site, _ := u.o.Sites.Site(siteID)
	v := waveView{Wave: w, SiteName: site.Name, Stages: cycle.Stages, Report: w.Report, Domains: u.domains(siteID), Previous: n - 1}
	rows := []barRow{{Label: "All schools", Counts: w.ByStage}}
	for _, sc := range site.Schools {
		counts := w.BySchool[sc.ID]
		total := 0
		for _, k := range counts {
			total += k
		}
		r := schoolRow{ID: sc.ID, Name: sc.Name, Counts: counts, Total: total}
		if me(c).InSchool(site.ID, sc.ID) {
			// Only schools the reader may open are links.
			r.Href = fmt.Sprintf("/waves/%s/%d/schools/%s", site.ID, n, sc.ID)
		}
		v.Schools = append(v.Schools, r)
		rows = append(rows, barRow{Label: sc.Name, Counts: counts})
	}
	v.Progress = stageBars("progress", fmt.Sprintf("Wave %d: children by stage", n), rows)
	ctx := c.Request.Context()
	counts, err := u.heatmapCounts(ctx, w.ID)
	if err != nil {
		u.failMsg(c, http.StatusServiceUnavailable, "error.db", "error.try_again", nil)
		return
	}
	var domainNames, schoolNames []string
	var cells [][]heatCell
	for _, d := range v.Domains {
		row := heatRow{Label: d.Label}
		for _, sc := range site.Schools {
			row.Cells = append(row.Cells, counts[d.ID][sc.ID])
		}
		v.HeatRows = append(v.HeatRows, row)
		domainNames = append(domainNames, d.Label)
		cells = append(cells, row.Cells)
	}
	for _, sc := range site.Schools {
		schoolNames = append(schoolNames, sc.Name)
	}
	v.HeatCols = v.Schools
	if len(counts) > 0 {
		v.Heatmap = heatmap("heat", fmt.Sprintf("Wave %d: risk by domain and school (baseline)", n), domainNames, schoolNames, cells)
	}
	if w.Report == nil && w.Status != store.WaveLaunching {
		if rep, err := u.o.Store.WaveReport(ctx, w.ID); err == nil {
			v.Report = &rep
		}
	}
	crumbs(c, navLink{Href: "/waves", Label: uitext.T(u.lang(c), "nav.waves")})
	u.render(c, http.StatusOK, "wave", fmt.Sprintf("%s wave %d", site.Name, n), v)
}

type cycleRow struct {
	Cycle  store.Cycle
	Levels []string
}

type waveSchoolView struct {
	Wave     apiWave
	School   sites.School
	SiteID   string
	Counts   map[string]int
	Stages   []string
	Progress template.HTML
	Domains  []domainLabel
	Rows     []cycleRow
	Next     string
}

// waveSchool drills down to one school: its stages and every child's cycle
// (opaque IDs, never names) with the baseline level per domain.
func (u *UI) waveSchool(c *gin.Context) {
	siteID, n, ok := waveParams(c)
	if !ok {
		u.failMsg(c, http.StatusNotFound, "error.not_found", "error.no_wave", nil)
		return
	}
	site, ok := u.o.Sites.Site(siteID)
	if !ok {
		u.failMsg(c, http.StatusNotFound, "error.unknown_site", "error.no_such_site", nil)
		return
	}
	school, ok := site.School(c.Param("school"))
	if !ok {
		u.failMsg(c, http.StatusNotFound, "error.unknown_school", "error.no_school_at_site", nil)
		return
	}
	if !u.inSchool(c, site.ID, school.ID) {
		return
	}
	var w apiWave
	if !u.get(c, fmt.Sprintf("/api/v1/waves/%s/%d", site.ID, n), &w) {
		return
	}
	const pageSize = 100
	cycles, levels, err := u.schoolCycles(c.Request.Context(), w.ID, school.ID, c.Query("after"), pageSize+1)
	if err != nil {
		u.failMsg(c, http.StatusServiceUnavailable, "error.db", "error.try_again", nil)
		return
	}
	v := waveSchoolView{Wave: w, School: school, SiteID: site.ID, Counts: w.BySchool[school.ID], Stages: cycle.Stages, Domains: u.domains(site.ID)}
	if len(cycles) > pageSize {
		cycles = cycles[:pageSize]
		v.Next = cycles[pageSize-1].ID
	}
	for _, cy := range cycles {
		if !u.audit(c, site.ID, cy.ChildID, fmt.Sprintf("domain results in the list of %s, wave %d (web)", school.ID, n)) {
			return
		}
		r := cycleRow{Cycle: cy}
		for _, d := range v.Domains {
			r.Levels = append(r.Levels, levels[cy.ID][d.ID])
		}
		v.Rows = append(v.Rows, r)
	}
	v.Progress = stageBars("progress", school.Name+": children by stage", []barRow{{Label: school.Name, Counts: v.Counts}})
	crumbs(c, navLink{Href: "/waves", Label: uitext.T(u.lang(c), "nav.waves")},
		navLink{Href: fmt.Sprintf("/waves/%s/%d", site.ID, n), Label: uitext.Data(u.lang(c), "layout.crumb.wave", map[string]any{"Site": site.Name, "Wave": n})})
	u.render(c, http.StatusOK, "school", fmt.Sprintf("%s, wave %d", school.Name, n), v)
}

type compareView struct {
	Sites     []siteOption
	Site      string
	A, B      int
	Numbers   []int
	Chart     template.HTML
	Rows      []compareTableRow
	Outcomes  []countPair
	Referrals []countPair
	RedFlags  [2]int
	Cohort    [2]int
	Ready     bool
	Note      string
	LabelA    string
	LabelB    string
	// Change is how the children seen in both waves moved (planners only).
	Change *changeView
}

type compareTableRow struct {
	Label       string
	A, B        map[string]int
	ShareA      string
	ShareB      string
	Change      string
	ChangeClass string
}

type countPair struct {
	Label string
	A, B  int
}

// compare sets two waves' reports side by side: risk by domain, outcomes and referrals.
func (u *UI) compare(c *gin.Context) {
	p := me(c)
	v := compareView{Site: c.Query("site")}
	for _, s := range u.sitesInScope(p) {
		v.Sites = append(v.Sites, siteOption{ID: s.ID, Name: s.Name, Selected: s.ID == v.Site})
	}
	if v.Site == "" && len(v.Sites) > 0 {
		v.Site = v.Sites[0].ID
		v.Sites[0].Selected = true
	}
	site, ok := u.o.Sites.Site(v.Site)
	if !ok {
		u.failMsg(c, http.StatusNotFound, "error.unknown_site", "error.no_such_site", nil)
		return
	}
	if !u.inSite(c, site.ID) {
		return
	}
	ctx := c.Request.Context()
	all, err := u.o.Store.Waves(ctx, site.ID)
	if err != nil {
		u.failMsg(c, http.StatusServiceUnavailable, "error.db", "error.try_again", nil)
		return
	}
	byNumber := map[int]store.Wave{}
	for _, w := range all {
		byNumber[w.Number] = w
		v.Numbers = append(v.Numbers, w.Number)
	}
	sort.Ints(v.Numbers)
	v.A, _ = strconv.Atoi(c.Query("a"))
	v.B, _ = strconv.Atoi(c.Query("b"))
	if v.A == 0 && v.B == 0 && len(v.Numbers) >= 2 {
		v.A, v.B = v.Numbers[len(v.Numbers)-2], v.Numbers[len(v.Numbers)-1]
	}
	wa, okA := byNumber[v.A]
	wb, okB := byNumber[v.B]
	crumbs(c, navLink{Href: "/waves", Label: uitext.T(u.lang(c), "nav.waves")})
	if !okA || !okB || v.A == v.B {
		if len(v.Numbers) < 2 {
			v.Note = "This site has fewer than two waves: there is nothing to compare yet."
		} else {
			v.Note = "Choose two different waves."
		}
		u.render(c, http.StatusOK, "compare", "Compare waves", v)
		return
	}
	ra, errA := u.waveReport(ctx, wa)
	rb, errB := u.waveReport(ctx, wb)
	if err := errors.Join(errA, errB); err != nil {
		u.failMsg(c, http.StatusServiceUnavailable, "error.db", "error.try_again", nil)
		return
	}
	v.Ready = true
	v.LabelA, v.LabelB = fmt.Sprintf("Wave %d", v.A), fmt.Sprintf("Wave %d", v.B)
	var rows []compareRow
	for _, d := range u.domains(site.ID) {
		a, b := ra.Risk[d.ID], rb.Risk[d.ID]
		rows = append(rows, compareRow{Label: d.Label, A: a, B: b})
		sa, sb := riskShare(a), riskShare(b)
		tr := compareTableRow{Label: d.Label, A: a, B: b, ShareA: fmtShare(sa), ShareB: fmtShare(sb)}
		if sa >= 0 && sb >= 0 {
			delta := 100 * (sb - sa)
			tr.Change = fmt.Sprintf("%+.0f points", delta)
			switch {
			case delta <= -1:
				tr.ChangeClass = "better"
			case delta >= 1:
				tr.ChangeClass = "worse"
			}
		}
		v.Rows = append(v.Rows, tr)
	}
	v.Chart = compareBars("compare", fmt.Sprintf("Risk by domain: wave %d and wave %d (share of assessed children)", v.A, v.B), v.LabelA, v.LabelB, rows)
	v.Outcomes = pairs(ra.Outcomes, rb.Outcomes, outcomeName)
	v.Referrals = pairs(ra.Referrals, rb.Referrals, humanize)
	v.RedFlags = [2]int{ra.RedFlags, rb.RedFlags}
	v.Cohort = [2]int{ra.CohortSize, rb.CohortSize}
	if v.A < v.B {
		v.Change = u.changeBetween(c, site.ID, v.A, v.B)
	}
	u.render(c, http.StatusOK, "compare", "Compare waves", v)
}

// riskShare is the share of assessed children at moderate or high risk (-1: none assessed).
func riskShare(m map[string]int) float64 {
	assessed := m[cycle.RiskHigh] + m[cycle.RiskModerate] + m[cycle.RiskLow]
	if assessed == 0 {
		return -1
	}
	return float64(m[cycle.RiskHigh]+m[cycle.RiskModerate]) / float64(assessed)
}

func fmtShare(s float64) string {
	if s < 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*s)
}

func pairs(a, b map[string]int, label func(string) string) []countPair {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var out []countPair
	for k := range keys {
		out = append(out, countPair{Label: label(k), A: a[k], B: b[k]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out
}
