package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/cophealth"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

// evidenceRoutes registers the pages about how the CoP works: the CoP
// dashboard, the ALCoP's review of high-risk plans, closing agreed
// actions, and the research export form. The printable report and pack
// are served by the API itself (the browser's session signs those GETs).
func (u *UI) evidenceRoutes(r *gin.Engine) {
	overseers := []auth.Role{auth.ProgrammeManager, auth.SiteCoordinator, auth.Advisor}
	r.GET("/sites/:site/cop", u.page(overseers...), u.copDashboard)
	r.GET("/sites/:site/reviews", u.page(overseers...), u.reviews)
	r.POST("/sites/:site/reviews", u.page(auth.ProgrammeManager, auth.Advisor), u.review)
	r.POST("/plan-actions/:id/close", u.page(auth.SiteCoordinator, auth.Practitioner), u.closeAction)
	r.GET("/exports/research", u.page(auth.ProgrammeManager), u.researchExport)
	r.GET("/advisors", u.page(auth.Advisor), u.advisorHome)
}

// advisorHome sends an advisor to the reviews of the first site they read.
func (u *UI) advisorHome(c *gin.Context) {
	p := me(c)
	for _, s := range u.o.Sites.Sites() {
		if p.InSite(s.ID) {
			c.Redirect(http.StatusSeeOther, "/sites/"+url.PathEscape(s.ID)+"/reviews")
			return
		}
	}
	u.failMsg(c, http.StatusNotFound, "error.no_site", "error.no_site_readable", nil)
}

type copDashboardAnswer struct {
	Site    string            `json:"site"`
	Schools map[string]string `json:"schools"`
	Sectors []string          `json:"sectors"`
	Every   float64           `json:"meetings_every_days"`
	Waves   []cophealth.WaveMeasures
}

type copView struct {
	Site, SiteName string
	Every          float64
	Sectors        []sectorLabel
	Waves          []copWaveView
}

type sectorLabel struct{ ID, Label string }

type copWaveView struct {
	Wave   int
	Open   string
	Until  string
	Scopes []copScopeView
}

type copScopeView struct {
	Name string
	M    cophealth.Measures
	// Attendance in sector order.
	Attendance []int
}

// copDashboard shows how well the CoP works at a site, wave over wave.
func (u *UI) copDashboard(c *gin.Context) {
	siteID := c.Param("site")
	var ans copDashboardAnswer
	if !u.get(c, "/api/v1/sites/"+url.PathEscape(siteID)+"/cop", &ans) {
		return
	}
	site, _ := u.o.Sites.Site(siteID)
	v := copView{Site: siteID, SiteName: site.Name, Every: ans.Every}
	for _, s := range ans.Sectors {
		v.Sectors = append(v.Sectors, sectorLabel{ID: s, Label: cycle.SectorLabels[s]})
	}
	for i := len(ans.Waves) - 1; i >= 0; i-- { // newest first
		w := ans.Waves[i]
		wv := copWaveView{Wave: w.Wave, Open: w.Open.UTC().Format("2 Jan 2006"), Until: w.Until.UTC().Format("2 Jan 2006")}
		for _, sc := range w.Scopes {
			name := "Whole site"
			if sc.School != "" {
				name = ans.Schools[sc.School]
				if name == "" {
					name = sc.School
				}
			}
			row := copScopeView{Name: name, M: sc}
			for _, s := range ans.Sectors {
				row.Attendance = append(row.Attendance, sc.Attendance[s])
			}
			wv.Scopes = append(wv.Scopes, row)
		}
		v.Waves = append(v.Waves, wv)
	}
	crumbs(c, navLink{Href: "/sites/" + siteID, Label: site.Name})
	u.render(c, http.StatusOK, "cop", "How the CoP works: "+site.Name, v)
}

type reviewsAnswer struct {
	Plans []reviewPlan `json:"plans"`
}

type reviewPlan struct {
	PlanID   string             `json:"plan_id"`
	CycleID  string             `json:"cycle_id"`
	ChildID  string             `json:"child_id"`
	Name     string             `json:"name"`
	SchoolID string             `json:"school_id"`
	Levels   map[string]string  `json:"levels"`
	Reasons  map[string]string  `json:"reasons"`
	Actions  []cycle.PlanAction `json:"actions"`
	Reviews  []store.PlanReview `json:"reviews"`
	Awaiting bool               `json:"awaiting_review"`
	High     []levelBadge       `json:"-"`
	Errors   map[string]string  `json:"-"`
}

type reviewsView struct {
	Site, SiteName string
	Plans          []reviewPlan
	CanReview      bool
	Pending        bool
	Key            string
	Problem        string
}

// reviews lists the site's plans for children at high risk with their
// reviews; advisors and programme managers review them.
func (u *UI) reviews(c *gin.Context) {
	u.showReviews(c, http.StatusOK, "", nil)
}

func (u *UI) showReviews(c *gin.Context, status int, planID string, errs map[string]string) {
	siteID := c.Param("site")
	pending := c.Query("pending") == "true"
	path := "/api/v1/sites/" + url.PathEscape(siteID) + "/reviews"
	if pending {
		path += "?pending=true"
	}
	var ans reviewsAnswer
	if !u.get(c, path, &ans) {
		return
	}
	site, _ := u.o.Sites.Site(siteID)
	p := me(c)
	v := reviewsView{Site: siteID, SiteName: site.Name, CanReview: p.Role == auth.Advisor || p.Role == auth.ProgrammeManager,
		Pending: pending, Key: uuid.NewString()}
	for _, pl := range ans.Plans {
		for _, d := range rankedDomains(pl.Levels) {
			if pl.Levels[d] == cycle.RiskHigh || pl.Levels[d] == cycle.RiskModerate {
				pl.High = append(pl.High, levelBadge{Domain: d, Level: pl.Levels[d], Reason: pl.Reasons[d]})
			}
		}
		if pl.PlanID == planID {
			pl.Errors = errs
		}
		v.Plans = append(v.Plans, pl)
	}
	crumbs(c, navLink{Href: "/sites/" + siteID, Label: site.Name})
	u.render(c, status, "reviews", "Plans for review: "+site.Name, v)
}

// review records a review through the API.
func (u *UI) review(c *gin.Context) {
	in := map[string]string{"plan_id": c.PostForm("plan"), "verdict": c.PostForm("verdict"), "comment": strings.TrimSpace(c.PostForm("comment"))}
	res := u.send(c, http.MethodPost, "/api/v1/reviews", in)
	if p := res.problem(); p != nil {
		errs := fieldErrors(p)
		if len(errs) == 0 {
			errs = map[string]string{"": p.Title + ". " + p.Detail}
		}
		u.showReviews(c, res.Status, in["plan_id"], errs)
		return
	}
	c.Redirect(http.StatusSeeOther, "/sites/"+url.PathEscape(c.Param("site"))+"/reviews?ok=review")
}

// closeAction records an agreed action done or dropped, then goes back.
func (u *UI) closeAction(c *gin.Context) {
	in := map[string]string{"status": c.PostForm("status"), "recorded_by": recordedBy(me(c))}
	res := u.send(c, http.MethodPost, "/api/v1/plan-actions/"+url.PathEscape(c.Param("id"))+"/close", in)
	if p := res.problem(); p != nil {
		u.fail(c, res.Status, p.Title, p.Detail)
		return
	}
	back := c.PostForm("back")
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") || strings.ContainsAny(back, "\\\t\r\n") {
		back = "/work"
	}
	c.Redirect(http.StatusSeeOther, back+"?ok=action")
}

type researchView struct {
	Sites   []sectorLabel
	Purpose string
}

// researchExport shows the research export form: the download itself is
// the API's (streamed, audited with the purpose given).
func (u *UI) researchExport(c *gin.Context) {
	var v researchView
	for _, s := range u.o.Sites.Sites() {
		v.Sites = append(v.Sites, sectorLabel{ID: s.ID, Label: s.Name})
	}
	slices.SortFunc(v.Sites, func(a, b sectorLabel) int { return strings.Compare(a.Label, b.Label) })
	u.render(c, http.StatusOK, "research", "Research dataset", v)
}
