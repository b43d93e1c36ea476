package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/longitudinal"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/sites"
)

// followUpRoutes registers the routes that follow children across waves:
// a child's trajectory, leavers, consent renewal, a wave's launch preview,
// change over time, and likely duplicates.
func (s *Server) followUpRoutes(v1 *gin.RouterGroup) {
	v1.GET("/children/:site/:child", roles(childViewers...), s.getChild)
	v1.POST("/children/:site/:child/leave", roles(fieldWorkers...), s.leaveStudy)
	v1.POST("/children/:site/:child/consent/renew", roles(fieldWorkers...), s.renewConsent)
	v1.GET("/waves/:site/:wave/preview", roles(planners...), s.previewWave)
	v1.GET("/sites/:site/transitions", roles(planners...), s.getTransitions)
	v1.GET("/sites/:site/leavers", roles(planners...), s.listLeavers)
	v1.GET("/sites/:site/duplicates", roles(planners...), s.listDuplicates)
	v1.POST("/duplicates/:id/decision", roles(planners...), s.decideDuplicate)
}

// getChild answers a child's record across waves (opaque IDs, levels,
// scales and outcomes; never a name), audited as a read.
func (s *Server) getChild(c *gin.Context) {
	site, child := c.Param("site"), c.Param("child")
	if _, ok := s.site(c, site); !ok || !s.childInScope(c, site, child) {
		return
	}
	rec, err := s.Store.Trajectory(c.Request.Context(), site, child)
	if err != nil {
		storeProblem(c, err, "child")
		return
	}
	if !s.audit(c, store.AuditRead, site, child, "record across waves", "") {
		return
	}
	c.JSON(http.StatusOK, rec)
}

type leaveRequest struct {
	Reason     string `json:"reason"`
	RecordedBy string `json:"recorded_by"`
}

// leaveStudy records that a child left the study with a reason; later
// waves do not start them. A cycle in progress is not stopped (its
// referrals still matter); the answer lists it.
func (s *Server) leaveStudy(c *gin.Context) {
	site, child := c.Param("site"), c.Param("child")
	if _, ok := s.site(c, site); !ok || !s.childInScope(c, site, child) {
		return
	}
	var req leaveRequest
	if !bind(c, &req) {
		return
	}
	var fe fieldErrors
	if !slices.Contains(cycle.LeaveReasons, req.Reason) {
		fe.add("reason", "invalid_choice", "reason must be one of %s (consent withdrawal has its own route)", strings.Join(cycle.LeaveReasons, ", "))
	}
	checkRecordedBy(&fe, req.RecordedBy)
	if fe.reject(c, "leaver") {
		return
	}
	open, err := s.Store.LeaveStudy(c.Request.Context(), site, child, req.Reason, principal(c).Username, s.now())
	if errors.Is(err, store.ErrAlreadyLeft) {
		problem(c, http.StatusConflict, "The child has left the study already", "see the child's record for when and why")
		return
	}
	if err != nil {
		storeProblem(c, err, "child")
		return
	}
	s.audit(c, store.AuditWrite, site, child, "left the study: "+req.Reason, "recorded by "+req.RecordedBy)
	if open == nil {
		open = []string{}
	}
	c.JSON(http.StatusOK, leaveAnswer{ChildID: child, Left: true, Reason: req.Reason, OpenCycles: open,
		Note: "later waves will not start this child; a cycle in progress goes on until it closes"})
}

// leaveAnswer answers a recorded leaver.
type leaveAnswer struct {
	ChildID string `json:"child_id"`
	Left    bool   `json:"left"`
	Reason  string `json:"reason"`
	// OpenCycles lists the child's cycles still in progress (they go on).
	OpenCycles []string `json:"open_cycles"`
	Note       string   `json:"note"`
}

// renewAnswer answers a consent renewal.
type renewAnswer struct {
	ChildID   string    `json:"child_id"`
	Renewed   int64     `json:"renewed"`
	RenewedAt time.Time `json:"renewed_at"`
}

// maxRecordedBy bounds who recorded something (a name and a role).
const maxRecordedBy = 200

// checkRecordedBy checks a recorded_by field: present, short, printable.
func checkRecordedBy(fe *fieldErrors, v string) {
	switch {
	case strings.TrimSpace(v) == "":
		fe.add("recorded_by", "required", "recorded_by is required")
	case len(v) > maxRecordedBy:
		fe.add("recorded_by", "too_long", "recorded_by must be at most %d characters", maxRecordedBy)
	case strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		fe.add("recorded_by", "invalid", "recorded_by must not contain control characters")
	}
}

type renewRequest struct {
	RecordedBy string `json:"recorded_by"`
}

// renewConsent records that a competent person renewed the child's
// consent for the coming wave.
func (s *Server) renewConsent(c *gin.Context) {
	site, child := c.Param("site"), c.Param("child")
	if _, ok := s.site(c, site); !ok || !s.childInScope(c, site, child) {
		return
	}
	var req renewRequest
	if !bind(c, &req) {
		return
	}
	var fe fieldErrors
	checkRecordedBy(&fe, req.RecordedBy)
	if fe.reject(c, "consent renewal") {
		return
	}
	n, err := s.Store.RenewConsent(c.Request.Context(), site, child, s.now())
	switch {
	case errors.Is(err, store.ErrAlreadyLeft):
		problem(c, http.StatusConflict, "The child has left the study", "a child who left is not renewed; a class list that lists them again holds them as a likely duplicate of this record, and linking brings them back")
		return
	case errors.Is(err, store.ErrNoConsent):
		problem(c, http.StatusConflict, "There is no consent to renew", "record the consent of a competent person through the class list")
		return
	case err != nil:
		storeProblem(c, err, "consent")
		return
	}
	s.audit(c, store.AuditConsent, site, child, "consent renewed", "recorded by "+req.RecordedBy)
	c.JSON(http.StatusOK, renewAnswer{ChildID: child, Renewed: n, RenewedAt: s.now()})
}

// previewWave says who launching a wave would start: continuing children,
// new intake, lapsed consent (listed), held duplicates and leavers.
func (s *Server) previewWave(c *gin.Context) {
	site, ok := s.site(c, c.Param("site"))
	if !ok || !s.inSite(c, site.ID) {
		return
	}
	n, err := strconv.Atoi(c.Param("wave"))
	if err != nil || n < 1 || n > 1000 {
		problem(c, http.StatusNotFound, "Not found", fmt.Sprintf("wave %q is not a wave number", c.Param("wave")))
		return
	}
	limit, ok := limitParam(c, 200, 5000)
	if !ok {
		return
	}
	p, err := s.Store.CohortPreview(c.Request.Context(), site.ID, n, site.Consent.Policy(), time.Time{}, limit)
	if err != nil {
		storeProblem(c, err, "preview")
		return
	}
	c.JSON(http.StatusOK, p)
}

// PreviewCounts is the short form of a launch preview in a launch's answer.
type PreviewCounts struct {
	Continuing   int            `json:"continuing"`
	New          int            `json:"new"`
	Lapsed       int            `json:"lapsed"`
	Held         int            `json:"held"`
	Left         int            `json:"left"`
	LeftByReason map[string]int `json:"left_by_reason"`
}

// countsOf shortens a preview.
func countsOf(p store.CohortPreview) *PreviewCounts {
	return &PreviewCounts{Continuing: p.Continuing, New: p.New, Lapsed: p.LapsedTotal, Held: p.Held, Left: p.LeftTotal, LeftByReason: p.LeftByReason}
}

// launchPreview computes the preview of a launch whose window opens at
// open; a failure leaves the launch answer without it (the launch itself
// does not depend on it).
func (s *Server) launchPreview(ctx context.Context, site *sites.Site, n int, open time.Time) *PreviewCounts {
	p, err := s.Store.CohortPreview(ctx, site.ID, n, site.Consent.Policy(), open, 0)
	if err != nil {
		if s.Logger != nil {
			s.Logger.Warn("launch preview failed", "site", site.ID, "error", err)
		}
		return nil
	}
	return countsOf(p)
}

// TransitionsFor computes the change between two waves of a site: the
// report the API, the CSV export and the web page share. Domains are in
// the given order; nil means every domain found, sorted.
func TransitionsFor(ctx context.Context, st *store.Store, siteID string, domains []string, from, to int) (longitudinal.Report, error) {
	a, err := st.WaveLevels(ctx, siteID, from)
	if err != nil {
		return longitudinal.Report{}, err
	}
	b, err := st.WaveLevels(ctx, siteID, to)
	if err != nil {
		return longitudinal.Report{}, err
	}
	if domains == nil {
		seen := map[string]bool{}
		for _, levels := range [][]longitudinal.ChildLevels{a, b} {
			for _, ch := range levels {
				for d := range ch.Domains {
					if !seen[d] {
						seen[d] = true
						domains = append(domains, d)
					}
				}
			}
		}
		slices.Sort(domains)
	}
	return longitudinal.Build(from, to, domains, a, b), nil
}

// getTransitions answers how a site's children changed between two waves,
// per domain and per school. ?format=csv is an export: counts from 1 to 4
// are written "<5" and no child ID leaves.
func (s *Server) getTransitions(c *gin.Context) {
	site, ok := s.site(c, c.Param("site"))
	if !ok || !s.inSite(c, site.ID) {
		return
	}
	var fe fieldErrors
	from, errFrom := strconv.Atoi(c.Query("from"))
	to, errTo := strconv.Atoi(c.Query("to"))
	if errFrom != nil || from < 1 {
		fe.add("from", "invalid", "from must be a wave number")
	}
	if errTo != nil || to < 1 {
		fe.add("to", "invalid", "to must be a wave number")
	}
	if errFrom == nil && errTo == nil && to <= from {
		fe.add("to", "out_of_range", "to must be a later wave than from")
	}
	format := c.DefaultQuery("format", "json")
	if format != "json" && format != "csv" {
		fe.add("format", "invalid_choice", "format must be json or csv")
	}
	if fe.reject(c, "comparison") {
		return
	}
	rep, err := TransitionsFor(c.Request.Context(), s.Store, site.ID, nil, from, to)
	if err != nil {
		storeProblem(c, err, "wave")
		return
	}
	if format == "csv" {
		var buf bytes.Buffer
		if err := rep.WriteCSV(&buf, true); err != nil {
			problem(c, http.StatusInternalServerError, "The export could not be written", "try again")
			return
		}
		s.audit(c, store.AuditRead, site.ID, "", fmt.Sprintf("exported change between waves %d and %d (small counts suppressed)", from, to), "")
		c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-waves-%d-%d.csv"`, site.ID, from, to))
		c.Data(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
		return
	}
	c.JSON(http.StatusOK, rep)
}

// listLeavers lists the children of a site who left the study.
func (s *Server) listLeavers(c *gin.Context) {
	site, ok := s.site(c, c.Param("site"))
	if !ok || !s.inSite(c, site.ID) {
		return
	}
	limit, ok := limitParam(c, 200, 5000)
	if !ok {
		return
	}
	out, err := s.Store.Leavers(c.Request.Context(), site.ID, limit)
	if err != nil {
		storeProblem(c, err, "leavers")
		return
	}
	c.JSON(http.StatusOK, itemsOf[store.ChildStatus]{Items: out})
}

// listDuplicates lists the likely duplicates that concern a site.
func (s *Server) listDuplicates(c *gin.Context) {
	site, ok := s.site(c, c.Param("site"))
	if !ok || !s.inSite(c, site.ID) {
		return
	}
	status := c.DefaultQuery("status", store.HoldPending)
	if status == "all" {
		status = ""
	} else if status != store.HoldPending && status != store.HoldLinked && status != store.HoldDifferent {
		var fe fieldErrors
		fe.add("status", "invalid_choice", "status must be pending, linked, different or all")
		fe.reject(c, "query")
		return
	}
	limit, ok := limitParam(c, 200, 5000)
	if !ok {
		return
	}
	holds, err := s.Store.DuplicateHolds(c.Request.Context(), site.ID, status, limit)
	if err != nil {
		storeProblem(c, err, "duplicates")
		return
	}
	if holds == nil {
		holds = []store.DuplicateHold{}
	}
	// A child of another site is not named to this one (the programme
	// manager, who may link across sites, sees both sides).
	if principal(c).Role != auth.ProgrammeManager {
		for i := range holds {
			if holds[i].KnownSiteID != holds[i].SiteID && holds[i].SiteID == site.ID {
				holds[i].KnownChildID = ""
			}
			if holds[i].SiteID != site.ID {
				holds[i].ChildID = ""
			}
		}
	}
	c.JSON(http.StatusOK, itemsOf[store.DuplicateHold]{Items: holds})
}

type decisionRequest struct {
	// Decision is "same" (link to the known child) or "different".
	Decision string `json:"decision"`
}

// Duplicate decisions as the API names them.
const (
	DecisionSame      = "same"
	DecisionDifferent = "different"
)

// decideDuplicate records a coordinator's decision on a likely duplicate:
// the same child (the held record is linked to the known child, who is
// followed from now on) or a different child (released into later waves).
// A link across sites moves a child's record between sites: only a
// programme manager may make it.
func (s *Server) decideDuplicate(c *gin.Context) {
	ctx := c.Request.Context()
	h, err := s.Store.DuplicateHold(ctx, c.Param("id"))
	if err != nil {
		storeProblem(c, err, "likely duplicate")
		return
	}
	p := principal(c)
	if !p.InSite(h.SiteID) {
		// Not found rather than forbidden: hold IDs are not probed across sites.
		problem(c, http.StatusNotFound, "Not found", "likely duplicate not found")
		return
	}
	var req decisionRequest
	if !bind(c, &req) {
		return
	}
	var fe fieldErrors
	decision := ""
	switch req.Decision {
	case DecisionSame:
		decision = store.HoldLinked
	case DecisionDifferent:
		decision = store.HoldDifferent
	default:
		fe.add("decision", "invalid_choice", "decision must be same or different")
	}
	if fe.reject(c, "decision") {
		return
	}
	acrossSites := p.Role == auth.ProgrammeManager
	h, err = s.Store.DecideDuplicate(ctx, h.ID, decision, p.Username, s.now(), acrossSites)
	switch {
	case errors.Is(err, store.ErrCrossSiteLink):
		problem(c, http.StatusForbidden, "Forbidden", "linking a child known at another site moves their record between sites: a programme manager decides it")
		return
	case errors.Is(err, store.ErrOpenElsewhere):
		problem(c, http.StatusConflict, "The known child has a cycle open at their site", "link them once that cycle has closed, so nobody loses sight of it")
		return
	case errors.Is(err, store.ErrHoldDecided):
		problem(c, http.StatusConflict, "This was decided already", "reload the list of likely duplicates")
		return
	case errors.Is(err, store.ErrCannotLink):
		problem(c, http.StatusConflict, "The known child cannot be linked",
			"their record was erased, or they left the study (deceased, consent withdrawn, or themselves a duplicate): decide different")
		return
	case err != nil:
		storeProblem(c, err, "likely duplicate")
		return
	}
	what := "confirmed a different child from " + h.KnownChildID
	if decision == store.HoldLinked {
		what = "confirmed the same child as " + h.KnownChildID + " (linked)"
	}
	s.audit(c, store.AuditWrite, h.SiteID, h.ChildID, what, "")
	if decision == store.HoldLinked {
		// The known child's record changed too (site, school, consents).
		s.audit(c, store.AuditWrite, h.KnownSiteID, h.KnownChildID, "linked to the record "+h.ChildID+" ("+h.ID+"); now followed at site "+h.SiteID, "")
	}
	c.JSON(http.StatusOK, h)
}
