package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/internal/store"
)

// concernRoutes registers adding a child to the school's next LLCoP agenda.
func (s *Server) concernRoutes(v1 *gin.RouterGroup) {
	v1.POST("/cycles/:site/:wave/:child/agenda", roles(fieldWorkers...), s.addConcern)
}

// addConcernRequest puts a child on the next agenda of the child's school.
type addConcernRequest struct {
	// Reason says why the LLCoP should discuss the child (sealed at rest).
	Reason string `json:"reason"`
	// AddedBy names who raises it (a role or job title).
	AddedBy string `json:"added_by"`
}

// addConcernResponse confirms the concern.
type addConcernResponse struct {
	CycleID  string `json:"cycle_id"`
	SchoolID string `json:"school_id"`
	Status   string `json:"status"`
}

// addConcern lets a practitioner put any consenting child of their school on
// the next LLCoP agenda with a reason, whatever the child's risk. The meeting
// then agrees a plan: the child's cycle acts on it, or, if the cycle has
// closed, the meeting makes the plan's referrals itself.
func (s *Server) addConcern(c *gin.Context) {
	id, ok := s.cycleID(c)
	if !ok {
		return
	}
	var req addConcernRequest
	if !bind(c, &req) {
		return
	}
	var fe fieldErrors
	if l := len(strings.TrimSpace(req.Reason)); l < 5 || l > 1000 {
		fe.add("reason", "length", "reason must be 5 to 1000 characters: what the LLCoP should discuss")
	}
	if l := len(strings.TrimSpace(req.AddedBy)); l == 0 || l > 200 {
		fe.add("added_by", "required", "added_by is required (at most 200 characters): who raises the concern")
	}
	if fe.reject(c, "concern") {
		return
	}
	got, err := s.Store.AddConcern(c.Request.Context(), id, strings.TrimSpace(req.Reason), strings.TrimSpace(req.AddedBy), s.now())
	switch {
	case errors.Is(err, store.ErrCycleNotOpen):
		problem(c, http.StatusConflict, "The child cannot be put on the agenda", "this wave's cycle of the child is not enrolled with consent (or was withdrawn)")
		return
	case errors.Is(err, store.ErrConcernPending):
		problem(c, http.StatusConflict, "Already on the agenda", "the child is already on the next meeting's agenda with a concern")
		return
	case err != nil:
		storeProblem(c, err, "concern")
		return
	}
	c.Status(http.StatusCreated)
	s.auditWrite(c, "added to the LLCoP agenda with a concern")
	c.JSON(http.StatusCreated, addConcernResponse{CycleID: got.ID, SchoolID: got.SchoolID, Status: "on the next agenda"})
}
