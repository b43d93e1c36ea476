package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

// reviewRoutes registers the Advisory Level CoP's review of plans for
// children at high risk.
func (s *Server) reviewRoutes(v1 *gin.RouterGroup) {
	v1.GET("/sites/:site/reviews", roles(reviewers...), s.listReviews)
	v1.POST("/reviews", roles(auth.Advisor, auth.ProgrammeManager), s.reviewPlan)
}

// reviewPlanView is one plan for a child at high risk, as a reviewer sees
// it: opaque IDs, levels and the rules' reasons, the actions (notes only
// for those who see names), the reviews so far.
type reviewPlanView struct {
	PlanID   string             `json:"plan_id"`
	CycleID  string             `json:"cycle_id"`
	ChildID  string             `json:"child_id"`
	Name     string             `json:"name,omitempty"`
	SchoolID string             `json:"school_id"`
	AgreedAt time.Time          `json:"agreed_at"`
	Levels   map[string]string  `json:"levels"`
	Reasons  map[string]string  `json:"reasons"`
	Actions  []cycle.PlanAction `json:"actions"`
	Reviews  []store.PlanReview `json:"reviews"`
	Awaiting bool               `json:"awaiting_review"`
}

// listReviews lists a site's plans for children at high risk (?pending=true:
// those not yet reviewed), newest first.
func (s *Server) listReviews(c *gin.Context) {
	siteID := c.Param("site")
	if _, ok := s.site(c, siteID); !ok || !s.inSite(c, siteID) {
		return
	}
	pending := c.Query("pending") == "true"
	ctx := c.Request.Context()
	plans, err := s.Store.HighRiskPlans(ctx, siteID, pending, 200)
	if err != nil {
		storeProblem(c, err, "plans")
		return
	}
	p := principal(c)
	names := seesNames(p)
	out := make([]reviewPlanView, 0, len(plans))
	for _, h := range plans {
		v := reviewPlanView{PlanID: h.Plan.ID, CycleID: h.Plan.CycleID, ChildID: h.Cycle.ChildID, SchoolID: h.Cycle.SchoolID,
			AgreedAt: h.Plan.AgreedAt, Levels: h.Levels, Reasons: h.Reasons, Reviews: h.Reviews, Awaiting: h.Awaiting}
		if v.Reviews == nil {
			v.Reviews = []store.PlanReview{}
		}
		for _, a := range h.Actions {
			if !names {
				a.Note = "" // free text may name the family
			}
			v.Actions = append(v.Actions, a)
		}
		if names {
			if name, err := s.childName(ctx, h.Cycle.ChildID); err == nil && name != "" {
				if !s.audit(c, store.AuditRead, siteID, h.Cycle.ChildID, "name on the plans for review", "") {
					return
				}
				v.Name = name
			}
		}
		out = append(out, v)
	}
	c.JSON(http.StatusOK, gin.H{"site": siteID, "plans": out})
}

func (s *Server) childName(ctx context.Context, childID string) (string, error) {
	var ch store.Child
	if err := s.Store.DB(ctx).Where("id = ? AND erased_at IS NULL", childID).Take(&ch).Error; err != nil {
		return "", err
	}
	return strings.TrimSpace(ch.GivenName + " " + ch.FamilyName), nil
}

type reviewRequest struct {
	PlanID  string `json:"plan_id"`
	Verdict string `json:"verdict"`
	Comment string `json:"comment"`
}

// maxReviewComment bounds a review's comment.
const maxReviewComment = 4000

// reviewPlan records an advisor's review of a plan for a child at high
// risk and, when the child's referrals wait for it, lets them start.
func (s *Server) reviewPlan(c *gin.Context) {
	var req reviewRequest
	if !bind(c, &req) {
		return
	}
	var fe fieldErrors
	if req.PlanID == "" {
		fe.add("plan_id", "required", "plan_id is required")
	}
	if req.Verdict != cycle.ReviewEndorsed && req.Verdict != cycle.ReviewChangesSuggested {
		fe.add("verdict", "invalid_choice", "verdict must be %s or %s", cycle.ReviewEndorsed, cycle.ReviewChangesSuggested)
	}
	switch {
	case req.Verdict == cycle.ReviewChangesSuggested && strings.TrimSpace(req.Comment) == "":
		fe.add("comment", "required", "say which changes you suggest")
	case len(req.Comment) > maxReviewComment:
		fe.add("comment", "too_long", "comment must be at most %d characters", maxReviewComment)
	case strings.ContainsRune(req.Comment, 0):
		fe.add("comment", "invalid", "comment must not contain NUL characters")
	}
	if fe.reject(c, "review") {
		return
	}
	ctx := c.Request.Context()
	plan, cy, err := s.Store.PlanByID(ctx, req.PlanID)
	if err != nil {
		storeProblem(c, err, "plan")
		return
	}
	if !s.inSite(c, cy.SiteID) {
		return
	}
	high, err := s.Store.HighRiskPlans(ctx, cy.SiteID, false, 0)
	if err != nil {
		storeProblem(c, err, "plan")
		return
	}
	found := false
	for _, h := range high {
		found = found || h.Plan.ID == plan.ID
	}
	if !found {
		problem(c, http.StatusConflict, "Not a plan for review", "only plans for children at high risk in some domain are reviewed")
		return
	}
	p := principal(c)
	rev := store.PlanReview{ID: uuid.NewString(), PlanID: plan.ID, CycleID: plan.CycleID, SiteID: cy.SiteID, SchoolID: cy.SchoolID,
		Reviewer: p.Username, Verdict: req.Verdict, Comment: req.Comment, ReviewedAt: s.now()}
	if err := s.Store.SaveReview(ctx, rev); err != nil {
		storeProblem(c, err, "review")
		return
	}
	s.audit(c, store.AuditWrite, cy.SiteID, cy.ChildID, "review of plan "+plan.ID+": "+req.Verdict, "")
	released := false
	if cy.Status == store.CycleOpen {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		err := s.Temporal.SignalWorkflow(sctx, plan.CycleID, "", cycle.SignalPlanReviewed, cycle.PlanReviewSignal{ReviewID: rev.ID, Verdict: rev.Verdict})
		var nf *serviceerror.NotFound
		switch {
		case err == nil:
			released = true
		case errors.As(err, &nf):
			// The cycle's run has ended: the review is kept.
		default:
			if s.Logger != nil {
				s.Logger.Warn("review saved but the cycle was not told", "error", err)
			}
			problem(c, http.StatusServiceUnavailable, "The review was saved but the cycle could not be told",
				"send the review again to let the referrals start (review "+strconv.Quote(rev.ID)+" is kept)")
			return
		}
	}
	c.JSON(http.StatusCreated, gin.H{"review": rev, "cycle_told": released})
}
