package web

import (
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/khula-cop/khula/internal/api"
	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/longitudinal"
	"github.com/khula-cop/khula/internal/store"
)

// Pages that follow children across waves: a child's record over time,
// leaving the study and renewing consent, change between waves, and the
// likely duplicates a coordinator decides.

// trajectoryView is the child's record across waves.
type trajectoryView struct {
	Rec        store.ChildRecord
	SiteName   string
	SchoolName string
	Name       string
	// Rows is one table row per time point.
	Rows []trajectoryRow
	// Domains are the instrument's domains, for the table's columns.
	Domains []domainLabel
	Charts  []template.HTML
	// CanRecord: a coordinator or practitioner may record leaving or renew consent.
	CanRecord    bool
	LeaveReasons []string
	Key          string
	Problem      string
}

type trajectoryRow struct {
	Point  longitudinal.TimePoint
	Levels []levelCell
}

type levelCell struct {
	Level, Direction string
}

// scaleLabels names the key scales on the page.
var scaleLabels = map[string]string{
	"sdq.total": "SDQ total difficulties", "sdq.emotional": "SDQ emotional", "sdq.conduct": "SDQ conduct",
	"sdq.hyperactivity": "SDQ hyperactivity", "sdq.peer": "SDQ peer problems", "sdq.prosocial": "SDQ prosocial",
	"phq9.total": "Caregiver PHQ-9 total", "cyrm.total": "Resilience (CYRM-R) total", "cyrm.personal": "Resilience: personal",
	"cyrm.caregiver": "Resilience: caregiver",
}

var growthLabels = []struct{ ID, Label string }{
	{"hfa", "Height-for-age z"}, {"wfa", "Weight-for-age z"}, {"bfa", "BMI-for-age z"},
}

// trajectory shows a child's time points with a small chart per domain and
// per key scale.
func (u *UI) trajectory(c *gin.Context) {
	u.showTrajectory(c, http.StatusOK, nil)
}

func (u *UI) showTrajectory(c *gin.Context, status int, prob *api.Problem) {
	siteID, childID := c.Param("site"), c.Param("child")
	var rec store.ChildRecord
	if !u.get(c, "/api/v1/children/"+url.PathEscape(siteID)+"/"+url.PathEscape(childID), &rec) {
		return
	}
	site, _ := u.o.Sites.Site(siteID)
	p := me(c)
	v := trajectoryView{Rec: rec, SiteName: site.Name, Domains: u.domains(siteID), LeaveReasons: cycle.LeaveReasons,
		CanRecord: p.Role != auth.ProgrammeManager && rec.LeftAt == nil && !rec.Erased, Key: uuid.NewString()}
	if sc, ok := site.School(rec.SchoolID); ok {
		v.SchoolName = sc.Name
	}
	if prob != nil {
		v.Problem = problemText(prob)
		for _, fe := range prob.Errors {
			v.Problem += " " + fe.Message + "."
		}
	}
	if !rec.Erased {
		if !u.audit(c, siteID, childID, "record across waves (web): name") {
			return
		}
		if ch, err := u.childRecord(c.Request.Context(), childID); err == nil {
			v.Name = ch.GivenName + " " + ch.FamilyName
		}
	}
	for _, tp := range rec.TimePoints {
		row := trajectoryRow{Point: tp}
		for _, d := range v.Domains {
			row.Levels = append(row.Levels, levelCell{Level: tp.Domains[d.ID], Direction: tp.Change[d.ID].Direction})
		}
		v.Rows = append(v.Rows, row)
	}
	if len(rec.TimePoints) > 0 {
		for i, d := range v.Domains {
			v.Charts = append(v.Charts, longitudinal.LevelChart(fmt.Sprintf("lv%d", i), d.Label, rec.TimePoints, d.ID))
		}
		for i, id := range longitudinal.KeyScales {
			if !anyScale(rec.TimePoints, id) {
				continue
			}
			v.Charts = append(v.Charts, longitudinal.ScaleChart(fmt.Sprintf("sc%d", i), scaleLabels[id], rec.TimePoints, id))
		}
		for i, g := range growthLabels {
			if anyGrowth(rec.TimePoints, g.ID) {
				v.Charts = append(v.Charts, longitudinal.GrowthChart(fmt.Sprintf("gr%d", i), g.Label, rec.TimePoints, g.ID))
			}
		}
	}
	crumbs(c, navLink{Href: "/sites/" + siteID, Label: site.Name})
	u.render(c, status, "trajectory", "Child "+childID+" across waves", v)
}

func anyScale(points []longitudinal.TimePoint, id string) bool {
	return slices.ContainsFunc(points, func(p longitudinal.TimePoint) bool { return p.Scales[id].Computed })
}

func anyGrowth(points []longitudinal.TimePoint, id string) bool {
	return slices.ContainsFunc(points, func(p longitudinal.TimePoint) bool { return p.Growth[id].Computed })
}

// leave records, through the API, that the child left the study.
func (u *UI) leave(c *gin.Context) {
	siteID, childID := c.Param("site"), c.Param("child")
	res := u.send(c, http.MethodPost, "/api/v1/children/"+url.PathEscape(siteID)+"/"+url.PathEscape(childID)+"/leave",
		map[string]string{"reason": c.PostForm("reason"), "recorded_by": recordedBy(me(c))})
	if p := res.problem(); p != nil {
		u.showTrajectory(c, res.Status, p)
		return
	}
	c.Redirect(http.StatusSeeOther, "/children/"+url.PathEscape(siteID)+"/"+url.PathEscape(childID)+"?ok=left")
}

// renew records, through the API, that the child's consent was renewed.
func (u *UI) renew(c *gin.Context) {
	siteID, childID := c.Param("site"), c.Param("child")
	res := u.send(c, http.MethodPost, "/api/v1/children/"+url.PathEscape(siteID)+"/"+url.PathEscape(childID)+"/consent/renew",
		map[string]string{"recorded_by": recordedBy(me(c))})
	if p := res.problem(); p != nil {
		u.showTrajectory(c, res.Status, p)
		return
	}
	c.Redirect(http.StatusSeeOther, "/children/"+url.PathEscape(siteID)+"/"+url.PathEscape(childID)+"?ok=renewed")
}

// changeView is the change between two waves on the compare page.
type changeView struct {
	Chart   template.HTML
	Site    changeScope
	Schools []changeScope
	CSV     string
	From    int
	To      int
}

type changeScope struct {
	Name     string
	Both     int
	OnlyFrom int
	OnlyTo   int
	Rows     []changeRow
	// Worsened lists the first worsenedListed children who got worse;
	// MoreWorsened says how many more there are.
	Worsened     []longitudinal.Worsened
	MoreWorsened int
}

// worsenedListed bounds the children the compare page lists by ID.
const worsenedListed = 100

type changeRow struct {
	Label               string
	ShareFrom, ShareTo  string
	Better, Same, Worse int
	// Moves lists the non-zero level transitions, e.g. "high → moderate: 3".
	Moves []string
}

// changeBetween reads the transitions of two waves (planners only) for
// the compare page; nil when the user may not see them or they fail.
func (u *UI) changeBetween(c *gin.Context, siteID string, a, b int) *changeView {
	p := me(c)
	if p.Role != auth.ProgrammeManager && p.Role != auth.SiteCoordinator {
		return nil
	}
	path := fmt.Sprintf("/api/v1/sites/%s/transitions?from=%d&to=%d", url.PathEscape(siteID), a, b)
	res := u.call(c, http.MethodGet, path, nil, "", "", "")
	var rep longitudinal.Report
	if res.problem() != nil || res.decode(&rep) != nil {
		return nil
	}
	labels := map[string]string{}
	var order []string
	for _, d := range u.domains(siteID) {
		labels[d.ID] = d.Label
		order = append(order, d.ID)
	}
	rep.Domains = slices.DeleteFunc(order, func(d string) bool { return !slices.Contains(rep.Domains, d) })
	v := &changeView{From: a, To: b, CSV: fmt.Sprintf("/sites/%s/changes.csv?from=%d&to=%d", url.PathEscape(siteID), a, b)}
	v.Chart = longitudinal.TransitionChart("tr", fmt.Sprintf("Children at risk, wave %d and wave %d", a, b), rep.Site, rep.Domains)
	site, _ := u.o.Sites.Site(siteID)
	v.Site = scopeOf(rep.Site, rep.Domains, labels)
	v.Site.Name = site.Name
	for _, s := range rep.Schools {
		sc := scopeOf(s, rep.Domains, labels)
		if school, ok := site.School(s.Name); ok {
			sc.Name = school.Name
		}
		v.Schools = append(v.Schools, sc)
	}
	return v
}

func scopeOf(s longitudinal.Summary, domains []string, labels map[string]string) changeScope {
	out := changeScope{Name: s.Name, Both: s.Both, OnlyFrom: s.OnlyFrom, OnlyTo: s.OnlyTo, Worsened: s.Worsened}
	if len(out.Worsened) > worsenedListed {
		out.MoreWorsened = len(out.Worsened) - worsenedListed
		out.Worsened = out.Worsened[:worsenedListed]
	}
	for _, d := range domains {
		ds := s.Domains[d]
		if ds == nil {
			continue
		}
		row := changeRow{Label: labels[d], ShareFrom: percent(ds.ShareFrom, ds.AssessedFrom), ShareTo: percent(ds.ShareTo, ds.AssessedTo),
			Better: ds.Better, Same: ds.Same, Worse: ds.Worse}
		if row.Label == "" {
			row.Label = humanize(d)
		}
		for _, from := range longitudinal.Levels {
			for _, to := range longitudinal.Levels {
				if n := ds.Matrix[from][to]; n > 0 && from != to {
					row.Moves = append(row.Moves, fmt.Sprintf("%s → %s: %d", humanize(from), humanize(to), n))
				}
			}
		}
		out.Rows = append(out.Rows, row)
	}
	return out
}

func percent(share float64, assessed int) string {
	if assessed == 0 {
		return "–"
	}
	return strconv.Itoa(int(math.Round(share*100))) + "%"
}

// changesCSV downloads the change between two waves through the API: an
// export, so counts from 1 to 4 read "<5" and no child ID is in it.
func (u *UI) changesCSV(c *gin.Context) {
	q := url.Values{"from": {c.Query("from")}, "to": {c.Query("to")}, "format": {"csv"}}
	res := u.call(c, http.MethodGet, "/api/v1/sites/"+url.PathEscape(c.Param("site"))+"/transitions?"+q.Encode(), nil, "", "", "")
	if p := res.problem(); p != nil {
		u.fail(c, res.Status, p.Title, p.Detail)
		return
	}
	c.Header("Content-Disposition", res.Header.Get("Content-Disposition"))
	c.Data(http.StatusOK, "text/csv; charset=utf-8", res.Body)
}

// duplicatesView lists the likely duplicates of a site.
type duplicatesView struct {
	Site     string
	SiteName string
	Items    []store.DuplicateHold
	Key      string
	Problem  string
	// CanLinkAcross: a programme manager may link children across sites.
	CanLinkAcross bool
}

// duplicates lists the likely duplicates awaiting a decision.
func (u *UI) duplicates(c *gin.Context) {
	u.showDuplicates(c, http.StatusOK, nil)
}

func (u *UI) showDuplicates(c *gin.Context, status int, prob *api.Problem) {
	siteID := c.Param("site")
	var page struct {
		Items []store.DuplicateHold `json:"items"`
	}
	if !u.get(c, "/api/v1/sites/"+url.PathEscape(siteID)+"/duplicates", &page) {
		return
	}
	site, _ := u.o.Sites.Site(siteID)
	v := duplicatesView{Site: siteID, SiteName: site.Name, Items: page.Items, Key: uuid.NewString(), CanLinkAcross: me(c).Role == auth.ProgrammeManager}
	if prob != nil {
		v.Problem = problemText(prob)
	}
	crumbs(c, navLink{Href: "/sites/" + siteID, Label: site.Name})
	u.render(c, status, "duplicates", "Likely duplicates", v)
}

// decideDuplicate sends a coordinator's decision to the API.
func (u *UI) decideDuplicate(c *gin.Context) {
	siteID := c.Param("site")
	res := u.send(c, http.MethodPost, "/api/v1/duplicates/"+url.PathEscape(c.Param("id"))+"/decision",
		map[string]string{"decision": c.PostForm("decision")})
	if p := res.problem(); p != nil {
		u.showDuplicates(c, res.Status, p)
		return
	}
	c.Redirect(http.StatusSeeOther, "/sites/"+url.PathEscape(siteID)+"/duplicates?ok=decided")
}

// launchPreview is the launch form's "who would start" for one site.
type launchPreview struct {
	SiteName string
	P        store.CohortPreview
	// Lapsed counts the children not assessed; P.Lapsed keeps the first
	// previewListed of them and More says how many are not listed.
	Lapsed, More int
}

// previewListed bounds the children the launch form lists.
const previewListed = 50

// previewFor reads the launch preview of a site's next wave (nil on failure).
func (u *UI) previewFor(c *gin.Context, siteID, siteName string, n int) *launchPreview {
	res := u.call(c, http.MethodGet, fmt.Sprintf("/api/v1/waves/%s/%d/preview?limit=%d", url.PathEscape(siteID), n, previewListed), nil, "", "", "")
	var p store.CohortPreview
	if res.problem() != nil || res.decode(&p) != nil {
		return nil
	}
	return &launchPreview{SiteName: siteName, P: p, Lapsed: p.LapsedTotal, More: p.LapsedTotal - len(p.Lapsed)}
}
