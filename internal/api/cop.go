package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/cophealth"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

// copRoutes registers how the CoP itself works: the actions meetings
// agreed (followed up until done) and the CoP dashboard.
func (s *Server) copRoutes(v1 *gin.RouterGroup) {
	v1.GET("/sites/:site/plan-actions", roles(childViewers...), s.listPlanActions)
	v1.POST("/plan-actions/:id/close", roles(fieldWorkers...), s.closePlanAction)
	v1.GET("/sites/:site/cop", roles(reviewers...), s.getCoPDashboard)
}

// listPlanActions lists a site's agreed actions (of one school with
// ?school=), ?status=open for open ones or overdue for open ones past
// their due date. A practitioner sees their schools' only.
func (s *Server) listPlanActions(c *gin.Context) {
	siteID := c.Param("site")
	if _, ok := s.site(c, siteID); !ok || !s.inSite(c, siteID) {
		return
	}
	f := store.ActionFilter{SiteID: siteID, SchoolID: c.Query("school"), Limit: 1000}
	var fe fieldErrors
	switch c.Query("status") {
	case "":
	case cycle.ActionOpen:
		f.OpenOnly = true
	case "overdue":
		f.OverdueOn = s.now().UTC().Format(time.DateOnly)
	default:
		fe.add("status", "invalid_choice", "status must be open or overdue (or absent for every action)")
	}
	if fe.reject(c, "plan actions") {
		return
	}
	p := principal(c)
	if f.SchoolID != "" && !s.inSchool(c, siteID, f.SchoolID) {
		return
	}
	rows, err := s.Store.PlanActions(c.Request.Context(), f)
	if err != nil {
		storeProblem(c, err, "plan actions")
		return
	}
	out := make([]store.PlanActionRow, 0, len(rows))
	for _, r := range rows {
		if p.InSchool(siteID, r.SchoolID) {
			out = append(out, r)
		}
	}
	c.JSON(http.StatusOK, gin.H{"site": siteID, "actions": out, "today": s.now().UTC().Format(time.DateOnly)})
}

type closeActionRequest struct {
	Status     string `json:"status"`
	RecordedBy string `json:"recorded_by"`
}

// closePlanAction records an agreed action done or dropped.
func (s *Server) closePlanAction(c *gin.Context) {
	ctx := c.Request.Context()
	row, err := s.Store.PlanActionByID(ctx, c.Param("id"))
	if err != nil {
		storeProblem(c, err, "plan action")
		return
	}
	ref, err := cycle.ParseCycleID(row.CycleID)
	if err != nil || !s.childInScope(c, row.SiteID, ref.Child) {
		if err != nil {
			problem(c, http.StatusNotFound, "Not found", "plan action not found")
		}
		return
	}
	var req closeActionRequest
	if !bind(c, &req) {
		return
	}
	var fe fieldErrors
	if req.Status != cycle.ActionDone && req.Status != cycle.ActionDropped {
		fe.add("status", "invalid_choice", "status must be done or dropped")
	}
	checkRecordedBy(&fe, req.RecordedBy)
	if fe.reject(c, "plan action") {
		return
	}
	row, err = s.Store.CloseAction(ctx, row.ID, req.Status, principal(c).Username, s.now())
	switch {
	case errors.Is(err, store.ErrActionClosed):
		problem(c, http.StatusConflict, "The action is already closed", "it was recorded done or dropped before")
		return
	case errors.Is(err, store.ErrActionReferred):
		problem(c, http.StatusConflict, "The action is a referral", err.Error())
		return
	case err != nil:
		storeProblem(c, err, "plan action")
		return
	}
	s.audit(c, store.AuditWrite, row.SiteID, ref.Child, "plan action "+row.ID+" "+req.Status, "recorded by "+req.RecordedBy)
	c.JSON(http.StatusOK, row)
}

// getCoPDashboard answers how well the CoP works at a site, wave over
// wave, for the site and each school (no child is named).
func (s *Server) getCoPDashboard(c *gin.Context) {
	siteID := c.Param("site")
	site, ok := s.site(c, siteID)
	if !ok || !s.inSite(c, siteID) {
		return
	}
	d, err := s.CoPDashboard(c.Request.Context(), siteID)
	if err != nil {
		storeProblem(c, err, "CoP dashboard")
		return
	}
	schools := make(map[string]string, len(site.Schools))
	for _, sc := range site.Schools {
		schools[sc.ID] = sc.Name
	}
	c.JSON(http.StatusOK, gin.H{"site": siteID, "schools": schools, "sectors": cycle.Sectors, "meetings_every_days": site.Meetings.Every.D().Hours() / 24,
		"waves": d.Waves})
}

// CoPDashboard computes a site's CoP dashboard.
func (s *Server) CoPDashboard(ctx context.Context, siteID string) (cophealth.Dashboard, error) {
	site, _ := s.Sites.Site(siteID)
	rows, err := s.Store.CoPData(ctx, siteID)
	if err != nil {
		return cophealth.Dashboard{}, err
	}
	now := s.now()
	in := cophealth.Input{Every: site.Meetings.Every.D(), Today: now}
	for _, sc := range site.Schools {
		in.Schools = append(in.Schools, sc.ID)
	}
	for i, w := range rows.Waves {
		until := now
		if i+1 < len(rows.Waves) {
			until = rows.Waves[i+1].WindowOpen
		}
		in.Waves = append(in.Waves, cophealth.WaveSpan{Number: w.Number, Open: w.WindowOpen, Until: until})
	}
	for _, m := range rows.Meetings {
		date, err := time.Parse(time.DateOnly, m.Date)
		if err != nil {
			continue
		}
		att, _ := store.MeetingAttendance(m)
		in.Meetings = append(in.Meetings, cophealth.Meeting{School: m.SchoolID, Date: date, Status: m.Status, Attendance: att})
	}
	for _, cy := range rows.Cycles {
		in.Cycles = append(in.Cycles, cophealth.Cycle{School: cy.SchoolID, Wave: cy.Wave, ScoredAt: cy.ScoredAt, PlanAt: cy.PlanAt,
			AtRisk: cy.Risk == cycle.RiskHigh || cy.Risk == cycle.RiskModerate})
	}
	for _, r := range rows.Referrals {
		in.Referrals = append(in.Referrals, cophealth.Referral{School: r.SchoolID, Sector: cycle.SectorOf(r.ServiceType), ServiceType: r.ServiceType,
			Wave: rows.WaveOf[r.WaveID], Status: r.Status, Urgent: r.Urgent, Overdue: r.Overdue, CreatedAt: r.CreatedAt,
			AcknowledgedAt: r.AcknowledgedAt, ClosedAt: r.ClosedAt})
	}
	for _, a := range rows.Actions {
		in.Actions = append(in.Actions, cophealth.Action{School: a.SchoolID, Wave: rows.WaveOf[a.WaveID], Status: a.Status, DueOn: a.DueOn})
	}
	return cophealth.Build(in), nil
}

// seesNames reports whether the caller may see children's names: every
// role that sees children, and an advisor granted them.
func seesNames(p auth.Principal) bool {
	if p.Role == auth.Advisor {
		return p.SeesNames
	}
	return p.SeesChildren()
}
