package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"

	"go.temporal.io/sdk/client"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/messages"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/sites"
	"github.com/khula-cop/khula/workflows"
)

// Break-the-glass bounds.
const (
	minGrantReason = 20
	maxGrant       = 4 * time.Hour
	// grantApprovalWindow is how long a grant may wait for its approval.
	grantApprovalWindow = 24 * time.Hour
)

// privacyRoutes registers the audit trail, consent withdrawal and
// break-the-glass routes.
func (s *Server) privacyRoutes(v1 *gin.RouterGroup) {
	v1.GET("/children/:site/:child/audit", roles(childViewers...), s.childAudit)
	v1.POST("/children/:site/:child/consent/withdraw", roles(auth.SiteCoordinator, auth.Practitioner), s.withdrawConsent)
	v1.POST("/children/:site/:child/access", roles(auth.Practitioner), s.breakGlass)
	v1.GET("/access-grants", roles(planners...), s.listGrants)
	v1.POST("/sites/:site/access-grants/:id/approve", roles(planners...), s.approveGrant)
}

const grantKey = "khula.grant"

// audit appends to the hash-chained audit log who did what to a child's
// record. For reads it runs before the data leaves (and refuses the request
// if the log cannot be written: no unaudited access); for writes after.
func (s *Server) audit(c *gin.Context, action, site, child, what, why string) bool {
	p := principal(c)
	if g, ok := c.Get(grantKey); ok {
		why = strings.TrimSpace("break-the-glass: " + g.(string) + " " + why)
	}
	if why == "" {
		why = "in scope as " + string(p.Role)
	}
	if action == store.AuditWrite && c.GetBool(replayedKey) {
		action = store.AuditReplay
	}
	entry := store.AuditEntry{
		At: s.now(), Actor: p.UserID, ActorName: p.Username, Role: string(p.Role), Action: action,
		SiteID: site, ChildID: child, What: what, Why: why, Outcome: fmt.Sprint(c.Writer.Status()),
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 5*time.Second)
	defer cancel()
	_, err := s.Store.Audit(ctx, entry)
	if err == nil {
		return true
	}
	if s.Logger != nil {
		s.Logger.Error("audit log write failed", "action", action, "route", c.FullPath(), "error", err)
	}
	if action == store.AuditRead || action == store.AuditExport {
		// Nothing has been shown or sent yet: refuse rather than go unaudited.
		if !c.Writer.Written() {
			problem(c, http.StatusServiceUnavailable, "The access could not be audited", "nothing was shown; try again")
		}
		return false
	}
	// The write itself has happened: its entry must not be lost with the
	// request. It goes to the outbox on disk (one plain insert, which
	// succeeds where the chain's append timed out) and the drain appends it.
	qctx, qcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer qcancel()
	if err := s.Store.QueueAudit(qctx, entry, s.now()); err == nil {
		return false
	}
	// Not even the outbox takes it (the database is down or locked):
	// keep trying to queue it while the process runs.
	s.retryQueueAudit(entry, c.FullPath())
	return false
}

// AuditRetryFor is how long an audit entry of a write that has happened
// keeps being offered to the outbox when the database takes nothing.
const AuditRetryFor = 10 * time.Minute

// retryQueueAudit keeps offering an entry to the outbox in the background
// until it is taken, AuditRetryFor passes or the server stops (one last
// attempt then).
func (s *Server) retryQueueAudit(entry store.AuditEntry, route string) {
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		deadline := time.Now().Add(AuditRetryFor)
		stopping := false
		for wait := time.Second; time.Now().Before(deadline) && !stopping; wait = min(2*wait, 30*time.Second) {
			select {
			case <-time.After(wait):
			case <-s.stopping():
				stopping = true // one last attempt, then give up
			}
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			err := s.Store.QueueAudit(ctx, entry, s.now())
			cancel()
			if err == nil {
				if s.Logger != nil {
					s.Logger.Info("audit entry kept in the outbox on retry", "route", route)
				}
				return
			}
		}
		if s.Logger != nil {
			s.Logger.Error("audit entry lost: neither the log nor its outbox took it", "action", entry.Action, "route", route, "server_stopping", stopping)
		}
	}()
}

// auditWrite records a successful write by the current route.
func (s *Server) auditWrite(c *gin.Context, what string) {
	s.audit(c, store.AuditWrite, c.Param("site"), c.Param("child"), what, c.GetHeader("X-Khula-Reason"))
}

// auditTrailResponse is a child's audit trail as the API shows it (and as
// the OpenAPI document describes it).
type auditTrailResponse struct {
	Child string            `json:"child"`
	Items []auditTrailEntry `json:"items"`
}

type auditTrailEntry struct {
	Seq     int64     `json:"seq"`
	At      time.Time `json:"at"`
	Who     string    `json:"who"`
	Role    string    `json:"role"`
	Action  string    `json:"action"`
	What    string    `json:"what"`
	Why     string    `json:"why"`
	Outcome string    `json:"outcome"`
}

func (s *Server) childAudit(c *gin.Context) {
	site, child := c.Param("site"), c.Param("child")
	if _, ok := s.site(c, site); !ok || !s.childInScope(c, site, child) {
		return
	}
	limit, ok := limitParam(c, 500, 5000)
	if !ok {
		return
	}
	trail, err := s.Store.AuditTrail(c.Request.Context(), child, limit)
	if err != nil {
		storeProblem(c, err, "audit trail")
		return
	}
	if !s.audit(c, store.AuditRead, site, child, "audit trail", "") {
		return
	}
	out := auditTrailResponse{Child: child, Items: make([]auditTrailEntry, 0, len(trail))}
	for _, e := range trail {
		out.Items = append(out.Items, auditTrailEntry{e.Seq, e.At, e.ActorName, e.Role, e.Action, e.What, e.Why, e.Outcome})
	}
	c.JSON(http.StatusOK, out)
}

type withdrawRequest struct {
	Reason     string `json:"reason"`
	RecordedBy string `json:"recorded_by"`
}

// withdrawConsent records a competent person's withdrawal of consent: the
// child's running cycles stop, the personal fields are erased, de-identified
// scores stay for aggregate statistics, and all of it is audited.
func (s *Server) withdrawConsent(c *gin.Context) {
	site, child := c.Param("site"), c.Param("child")
	if _, ok := s.site(c, site); !ok || !s.childInScope(c, site, child) {
		return
	}
	var req withdrawRequest
	if !bind(c, &req) {
		return
	}
	var fe fieldErrors
	if l := len(strings.TrimSpace(req.Reason)); l < 5 || l > 500 {
		fe.add("reason", "length", "reason must be 5 to 500 characters, with no personal details")
	}
	if strings.TrimSpace(req.RecordedBy) == "" {
		fe.add("recorded_by", "required", "recorded_by is required")
	}
	if fe.reject(c, "withdrawal") {
		return
	}
	ctx := c.Request.Context()
	now := s.now()
	// A record linked as a duplicate holds no consent: the child's consent
	// is on the record they are followed under.
	if same, err := s.Store.SameAs(ctx, child); err != nil {
		storeProblem(c, err, "child")
		return
	} else if same != "" {
		problem(c, http.StatusConflict, "This record was linked to another record of the same child",
			"withdraw consent on the child's record "+same)
		return
	}
	// Stop the running cycles first: if the engine cannot be reached,
	// nothing has changed and the request can simply be repeated.
	cycles, err := s.Store.OpenCyclesOf(ctx, child)
	if err != nil {
		storeProblem(c, err, "cycles")
		return
	}
	for _, cy := range cycles {
		err := s.Temporal.TerminateWorkflow(ctx, cy.ID, "", "consent withdrawn")
		var notFound *serviceerror.NotFound
		if err != nil && !errors.As(err, &notFound) {
			s.temporalProblem(c, err, "withdrawal")
			return
		}
	}
	// Then the database, each step idempotent, so a repeat finishes the job.
	newly, err := s.Store.WithdrawConsent(ctx, child, req.Reason, now)
	if err != nil {
		storeProblem(c, err, "consent")
		return
	}
	var stopped []string
	for _, cy := range cycles {
		if err := s.Store.CloseWithdrawn(ctx, cy.ID, now); err != nil {
			storeProblem(c, err, "cycle")
			return
		}
		stopped = append(stopped, cy.ID)
	}
	if err := s.Store.ErasePersonal(ctx, child, now); err != nil {
		storeProblem(c, err, "erasure")
		return
	}
	withdrawn := true
	s.audit(c, store.AuditConsent, site, child, "consent withdrawn; cycles stopped: "+strings.Join(stopped, ", "), req.Reason)
	s.audit(c, store.AuditErase, site, child, "personal fields erased; de-identified scores kept", req.Reason)
	c.JSON(http.StatusOK, gin.H{"withdrawn": withdrawn, "already_withdrawn": !newly, "cycles_stopped": stopped, "erased": true})
}

type accessRequest struct {
	Reason  string `json:"reason"`
	Minutes int    `json:"minutes"`
}

// breakGlass gives a practitioner time-limited access to a child outside
// their schools, for a stated reason; it is audited and listed for the
// site's coordinator.
func (s *Server) breakGlass(c *gin.Context) {
	site, child := c.Param("site"), c.Param("child")
	siteCfg, ok := s.site(c, site)
	if !ok || !s.inSite(c, site) {
		return
	}
	var req accessRequest
	if !bind(c, &req) {
		return
	}
	var fe fieldErrors
	if why := reasonProblem(req.Reason, minGrantReason); why != "" {
		fe.add("reason", "not_a_reason", "%s", why)
	}
	if req.Minutes < 5 || req.Minutes > int(maxGrant/time.Minute) {
		fe.add("minutes", "out_of_range", "minutes must be from 5 to %d", int(maxGrant.Minutes()))
	}
	if fe.reject(c, "access request") {
		return
	}
	ctx := c.Request.Context()
	childSite, school, err := s.Store.ChildSchool(ctx, child)
	if errors.Is(err, store.ErrNotFound) || (err == nil && childSite != site) {
		problem(c, http.StatusNotFound, "Not found", "no such child at this site")
		return
	}
	if err != nil {
		storeProblem(c, err, "child")
		return
	}
	p := principal(c)
	if p.InSchool(site, school) {
		problem(c, http.StatusConflict, "Not needed", "this child is at one of your schools already")
		return
	}
	now := s.now()
	g := store.AccessGrant{ID: uuid.NewString(), UserID: p.UserID, SiteID: site, ChildID: child, Reason: req.Reason,
		GrantedAt: now, Minutes: req.Minutes}
	if siteCfg.BreakGlass.Approval {
		// Nothing opens until a second person approves, within a day.
		g.ExpiresAt = now.Add(grantApprovalWindow)
	} else {
		g.ApprovedAt, g.ExpiresAt = &now, now.Add(time.Duration(req.Minutes)*time.Minute)
	}
	if err := s.Store.CreateGrant(ctx, g); err != nil {
		storeProblem(c, err, "grant")
		return
	}
	// The coordinator hears of it at once; a grant whose alert cannot be
	// started is taken back, so no access goes unannounced.
	if err := s.alertCoordinator(ctx, siteCfg, g, school, p.Username, req.Minutes); err != nil {
		if derr := s.Store.DeleteGrant(context.WithoutCancel(ctx), g.ID); derr != nil && s.Logger != nil {
			s.Logger.Error("a break-the-glass grant whose alert failed could not be taken back", "grant", g.ID, "error", derr)
		}
		if s.Logger != nil {
			s.Logger.Warn("break-the-glass alert not started", "grant", g.ID, "error", err)
		}
		problem(c, http.StatusServiceUnavailable, "The coordinator could not be told", "no access was granted; try again shortly")
		return
	}
	if g.ApprovedAt == nil {
		s.audit(c, store.AuditBreakGlass, site, child, fmt.Sprintf("access for %d minutes requested, awaiting approval (grant %s)", req.Minutes, g.ID), req.Reason)
		c.JSON(http.StatusAccepted, gin.H{"grant_id": g.ID, "status": "awaiting_approval", "approve_by": g.ExpiresAt})
		return
	}
	s.audit(c, store.AuditBreakGlass, site, child, fmt.Sprintf("access granted for %d minutes", req.Minutes), req.Reason)
	c.JSON(http.StatusCreated, gin.H{"grant_id": g.ID, "status": "granted", "expires_at": g.ExpiresAt})
}

// approveGrant is the second person's approval of a break-the-glass grant
// at a site that requires one: the access opens now for the minutes asked.
func (s *Server) approveGrant(c *gin.Context) {
	site, ok := s.site(c, c.Param("site"))
	if !ok || !s.inSite(c, site.ID) {
		return
	}
	// X-Khula-Reason, the approval's why, was checked with every request's
	// (checkReasonHeader).
	ctx := c.Request.Context()
	g, err := s.Store.Grant(ctx, site.ID, c.Param("id"))
	if err != nil {
		storeProblem(c, err, "grant")
		return
	}
	p := principal(c)
	if g.UserID == p.UserID {
		problem(c, http.StatusForbidden, "Approval needs a second person", "you cannot approve your own grant")
		return
	}
	g, err = s.Store.ApproveGrant(ctx, site.ID, g.ID, p.UserID, s.now())
	if errors.Is(err, store.ErrGrantNotPending) {
		problem(c, http.StatusConflict, "Not awaiting approval", "the grant was approved already, or its day to be approved has passed: the practitioner may ask again")
		return
	}
	if err != nil {
		storeProblem(c, err, "grant")
		return
	}
	s.audit(c, store.AuditBreakGlass, site.ID, g.ChildID, fmt.Sprintf("approved grant %s: access for %d minutes", g.ID, g.Minutes), c.GetHeader("X-Khula-Reason"))
	c.JSON(http.StatusOK, gin.H{"grant_id": g.ID, "status": "granted", "expires_at": g.ExpiresAt})
}

// alertCoordinator starts the workflow that tells the site's coordinator
// of a break-the-glass grant. Its ID is the grant's, so a retry never
// sends a second message. The message names the user, the opaque child ID
// and the time, not the reason (free text may hold personal details):
// the coordinator reads that in khula, where the reading is audited.
func (s *Server) alertCoordinator(ctx context.Context, site *sites.Site, g store.AccessGrant, school, username string, minutes int) error {
	template := messages.BreakGlassGranted
	if g.ApprovedAt == nil {
		template = messages.BreakGlassRequested
	}
	until := g.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")
	if loc, err := time.LoadLocation(site.Timezone); err == nil {
		until = g.ExpiresAt.In(loc).Format("2006-01-02 15:04 MST")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	in := activities.NotifyInput{
		Key: "break-glass/" + g.ID, SiteID: g.SiteID, SchoolID: school, To: activities.ToCoordinator, Template: template,
		Params: map[string]string{"user": username, "child": g.ChildID, "school": school, "minutes": strconv.Itoa(minutes),
			"until": until},
	}
	_, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: "access-alert/" + g.ID, TaskQueue: sites.TaskQueue(g.SiteID),
	}, workflows.AccessAlertWorkflowName, in)
	return err
}

func (s *Server) listGrants(c *gin.Context) {
	site, ok := s.site(c, c.Query("site"))
	if !ok || !s.inSite(c, site.ID) {
		return
	}
	limit, ok := limitParam(c, 100, 1000)
	if !ok {
		return
	}
	grants, err := s.Store.Grants(c.Request.Context(), site.ID, s.now().AddDate(0, 0, -90), limit)
	if err != nil {
		storeProblem(c, err, "grants")
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": grants})
}
