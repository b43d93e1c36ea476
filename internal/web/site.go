package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/khula-cop/khula/internal/api"
	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/sitecheck"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/uitext"
	"github.com/khula-cop/khula/sites"
)

// siteFor finds the site of the request and checks the user works there.
func (u *UI) siteFor(c *gin.Context) (*sites.Site, bool) {
	site, ok := u.o.Sites.Site(c.Param("site"))
	if !ok {
		u.failMsg(c, http.StatusNotFound, "error.unknown_site", "error.no_site_configured", nil)
		return nil, false
	}
	if !u.inSite(c, site.ID) {
		return nil, false
	}
	crumbs(c, navLink{Href: "/sites/" + site.ID, Label: site.Name})
	return site, true
}

// schoolsInScope lists the site's schools the user may see (nil: all of them).
func schoolsInScope(p auth.Principal, site *sites.Site) []string {
	if p.Role != auth.Practitioner {
		return nil
	}
	var out []string
	for _, sc := range site.Schools {
		if p.InSchool(site.ID, sc.ID) {
			out = append(out, sc.ID)
		}
	}
	return out
}

type overviewView struct {
	Site         *sites.Site
	Languages    []string
	Durations    [][2]string
	Waves        []store.Wave
	Plans        map[string]int
	PlanTotal    int
	Overdue      int
	Open         int
	IsPlanner    bool
	Instrument   string
	Connectivity string
}

// siteOverview shows a site: schools, languages, durations, waves and what is waiting.
func (u *UI) siteOverview(c *gin.Context) {
	site, ok := u.siteFor(c)
	if !ok {
		return
	}
	crumbs(c)
	ctx := c.Request.Context()
	p := me(c)
	v := overviewView{Site: site, IsPlanner: p.Role != auth.Practitioner}
	for _, l := range site.Languages {
		v.Languages = append(v.Languages, languageName(l))
	}
	d := site.Durations
	v.Durations = [][2]string{
		{"Assessment window", d.AssessmentWindow.String()}, {"Reminders every", d.ReminderEvery.String()},
		{"Plan deadline", d.PlanDeadline.String()}, {"Urgent referral", d.UrgentReferralSLA.String()},
		{"Referral acknowledged within", d.ReferralAckSLA.String()}, {"Referral outcome within", d.ReferralSLA.String()},
		{"Follow-up every", d.FollowUpEvery.String()}, {"Reassess after", d.ReassessAfter.String()},
	}
	v.Connectivity = "online"
	if site.Connectivity.Intermittent() {
		v.Connectivity = "intermittent: forms arrive in batches at least every " + site.Connectivity.SyncEvery.String()
	}
	if ref, ok := u.o.Sites.Instrument(site.ID); ok {
		v.Instrument = ref.ID + "@" + ref.Version
	}
	var err error
	if v.Waves, err = u.o.Store.Waves(ctx, site.ID); err != nil {
		u.failMsg(c, http.StatusServiceUnavailable, "error.db", "error.try_again", nil)
		return
	}
	if len(v.Waves) > 5 {
		v.Waves = v.Waves[:5]
	}
	v.Plans, _ = u.planCount(ctx, site.ID)
	for _, n := range v.Plans {
		v.PlanTotal += n
	}
	scope := schoolsInScope(p, site)
	overdue, _ := u.siteReferrals(ctx, site.ID, scope, true, 1000)
	open, _ := u.siteReferrals(ctx, site.ID, scope, false, 1000)
	v.Overdue, v.Open = len(overdue), len(open)
	u.render(c, http.StatusOK, "site", site.Name, v)
}

type servicesView struct {
	Site     *sites.Site
	Services []serviceRow
}

type serviceRow struct {
	sites.Service
	SchoolNames []string
}

// services lists the site's services directory.
func (u *UI) services(c *gin.Context) {
	site, ok := u.siteFor(c)
	if !ok {
		return
	}
	v := servicesView{Site: site}
	for _, svc := range site.Services {
		r := serviceRow{Service: svc}
		for _, id := range svc.Schools {
			if sc, ok := site.School(id); ok {
				r.SchoolNames = append(r.SchoolNames, sc.Name)
			}
		}
		v.Services = append(v.Services, r)
	}
	sort.SliceStable(v.Services, func(i, j int) bool { return v.Services[i].Type < v.Services[j].Type })
	u.render(c, http.StatusOK, "services", site.Name+": services", v)
}

type calendarView struct {
	Site     *sites.Site
	Cadence  string
	Next     []time.Time
	Schools  []calendarSchool
	Meetings []store.Meeting
	CanHold  bool
	Today    string
	Key      string
	Error    string
}

type calendarSchool struct {
	ID, Name string
	Awaiting int
}

// calendar shows the meeting calendar: the next dates of the site's
// cadence, meetings awaiting minutes and held, and a form to hold one now.
func (u *UI) calendar(c *gin.Context) {
	u.showCalendar(c, http.StatusOK, "")
}

func (u *UI) showCalendar(c *gin.Context, status int, errMsg string) {
	site, ok := u.siteFor(c)
	if !ok {
		return
	}
	p := me(c)
	ctx := c.Request.Context()
	v := calendarView{Site: site, CanHold: p.Role == auth.SiteCoordinator || p.Role == auth.Practitioner, Key: uuid.NewString(), Error: errMsg}
	m := site.Meetings
	v.Cadence = fmt.Sprintf("every %s on %s at %s (%s)", m.Every.String(), humanize(m.Weekday), m.Time, site.Timezone)
	var err error
	if v.Next, err = nextMeetings(site, u.now(), 4); err != nil {
		v.Cadence = err.Error()
	}
	loc, _ := time.LoadLocation(site.Timezone)
	if loc == nil {
		loc = time.UTC
	}
	v.Today = u.now().In(loc).Format(time.DateOnly)
	plans, _ := u.planCount(ctx, site.ID)
	scope := schoolsInScope(p, site)
	for _, sc := range site.Schools {
		if p.InSchool(site.ID, sc.ID) {
			v.Schools = append(v.Schools, calendarSchool{ID: sc.ID, Name: sc.Name, Awaiting: plans[sc.ID]})
		}
	}
	v.Meetings, _ = u.siteMeetings(ctx, site.ID, scope, 30)
	u.render(c, status, "calendar", site.Name+": meetings", v)
}

type referralsView struct {
	Site      *sites.Site
	Overdue   []store.Referral
	Open      []store.Referral
	CanRecord bool
	Key       string
	Now       time.Time
}

// referrals lists open referrals, overdue first.
func (u *UI) referrals(c *gin.Context) {
	site, ok := u.siteFor(c)
	if !ok {
		return
	}
	p := me(c)
	ctx := c.Request.Context()
	all, err := u.siteReferrals(ctx, site.ID, schoolsInScope(p, site), false, 500)
	if err != nil {
		u.failMsg(c, http.StatusServiceUnavailable, "error.db", "error.try_again", nil)
		return
	}
	v := referralsView{Site: site, CanRecord: p.Role != auth.ProgrammeManager, Key: uuid.NewString(), Now: u.now()}
	for _, r := range all {
		if r.Overdue {
			v.Overdue = append(v.Overdue, r)
		} else {
			v.Open = append(v.Open, r)
		}
	}
	u.render(c, http.StatusOK, "referrals", uitext.Data(u.lang(c), "referrals.title", map[string]any{"Site": site.Name}), v)
}

type checkView struct {
	Site   *sites.Site
	Report sitecheck.Report
}

// check runs the configuration checks of `khula site validate` on the site.
func (u *UI) check(c *gin.Context) {
	site, ok := u.siteFor(c)
	if !ok {
		return
	}
	var rep sitecheck.Report
	if u.o.SitesFS == nil {
		rep = sitecheck.Report{Site: site.ID, Problems: []string{"the site files are not available to this process"}}
	} else {
		rep = sitecheck.Check(u.o.SitesFS, site.Dir, u.o.PluginCheck)
	}
	u.render(c, http.StatusOK, "check", site.Name+": configuration check", checkView{Site: site, Report: rep})
}

type cohortView struct {
	Site     *sites.Site
	Columns  string
	Key      string
	Partial  bool
	Result   *api.CohortResult
	Problem  *api.CohortProblem
	Error    string
	Template string
}

func (u *UI) cohortPage(c *gin.Context) {
	site, ok := u.siteFor(c)
	if !ok {
		return
	}
	u.render(c, http.StatusOK, "cohort", site.Name+": import a class list", u.cohortView(site))
}

func (u *UI) cohortView(site *sites.Site) cohortView {
	ex := site.Schools[0].ID + ",Lerato,Example,female,2020-02-14,R,Nomsa,Example,+27 82 000 0000," + site.Languages[0] + ",caregiver,parent,2026-01-20"
	return cohortView{Site: site, Columns: strings.Join(api.CohortColumns, ","), Key: uuid.NewString(), Template: ex}
}

// importCohort sends an uploaded (or pasted) class list to the API's import.
func (u *UI) importCohort(c *gin.Context) {
	site, ok := u.siteFor(c)
	if !ok {
		return
	}
	v := u.cohortView(site)
	v.Partial = c.PostForm("partial") == "on"
	var data []byte
	if fh, err := c.FormFile("file"); err == nil && fh.Size > 0 {
		f, err := fh.Open()
		if err == nil {
			data, err = io.ReadAll(io.LimitReader(f, 6<<20))
			f.Close()
		}
		if err != nil {
			v.Error = "The file could not be read. Please choose it again."
		}
	} else {
		data = []byte(c.PostForm("csv"))
	}
	if v.Error == "" && len(strings.TrimSpace(string(data))) == 0 {
		v.Error = "Choose a CSV file or paste the class list."
	}
	if v.Error != "" {
		u.render(c, http.StatusUnprocessableEntity, "cohort", site.Name+": import a class list", v)
		return
	}
	path := "/api/v1/sites/" + url.PathEscape(site.ID) + "/cohort"
	if v.Partial {
		path += "?mode=partial"
	}
	res := u.call(c, http.MethodPost, path, data, "text/csv", c.PostForm("_csrf"), c.PostForm("_key"))
	status := res.Status
	switch {
	case res.Status < 300:
		var r api.CohortResult
		if err := json.Unmarshal(res.Body, &r); err == nil {
			v.Result = &r
		}
	case res.Status == http.StatusUnprocessableEntity:
		var p api.CohortProblem
		if err := json.Unmarshal(res.Body, &p); err == nil {
			v.Problem = &p
		}
	default:
		if p := res.problem(); p != nil {
			v.Error = p.Title + ". " + p.Detail
		}
	}
	u.render(c, status, "cohort", site.Name+": import a class list", v)
}
