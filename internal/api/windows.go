package api

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

// Closing a window early: a wave's assessment window, or one cycle's wait
// for a phase's forms. Both are signals (cycle.SignalCloseWindow) to the
// workflow that owns the wait; the workflow ignores a close that finds
// nothing open, so a repeated request changes nothing. A wave launched with
// hold_windows relies on these routes: its launcher closes the windows once
// the forms it expects are in, instead of racing a timer.

// closeWaveWindowRequest is the optional body of a wave's close-window.
type closeWaveWindowRequest struct {
	// Reason says why the window closes now (kept, encrypted, in the
	// workflow's history; never logged).
	Reason string `json:"reason,omitempty"`
}

type closeWaveWindowResponse struct {
	WaveID  string `json:"wave_id"`
	Closing bool   `json:"closing"`
}

// closeCycleWindowRequest names the phase whose wait for forms ends.
type closeCycleWindowRequest struct {
	Phase  string `json:"phase"`
	Reason string `json:"reason,omitempty"`
}

type closeCycleWindowResponse struct {
	CycleID string `json:"cycle_id"`
	Phase   string `json:"phase"`
	Closing bool   `json:"closing"`
}

const maxReason = 500

// windowRoutes registers the two close-window routes. They share a record
// of answered Idempotency-Keys, so a retry is answered as the first request
// was even after the window has closed.
func (s *Server) windowRoutes(v1 *gin.RouterGroup) {
	done := newReplays(4096, 24*time.Hour)
	v1.POST("/waves/:site/:wave/close-window", roles(planners...), func(c *gin.Context) { s.closeWaveWindow(c, done) })
	v1.POST("/cycles/:site/:wave/:child/close-window", roles(childViewers...), func(c *gin.Context) { s.closeCycleWindow(c, done) })
}

func (s *Server) closeWaveWindow(c *gin.Context, done *replays) {
	site, ok := s.site(c, c.Param("site"))
	if !ok || !s.inSite(c, site.ID) {
		return
	}
	n, err := strconv.Atoi(c.Param("wave"))
	if err != nil || n < 1 {
		problem(c, http.StatusNotFound, "Not found", fmt.Sprintf("wave %q is not a wave number", c.Param("wave")))
		return
	}
	var req closeWaveWindowRequest
	if c.Request.ContentLength != 0 && !bind(c, &req) {
		return
	}
	key, ok := done.key(c, req)
	if !ok {
		return
	}
	if len(req.Reason) > maxReason {
		fe := fieldErrors{}
		fe.add("reason", "too_long", "reason must be at most %d characters", maxReason)
		fe.reject(c, "close-window request")
		return
	}
	id := cycle.WaveID(site.ID, n)
	w, err := s.Store.Wave(c.Request.Context(), id)
	if err != nil {
		storeProblem(c, err, "wave")
		return
	}
	if w.Status == store.WaveClosing || w.Status == store.WaveClosed {
		problem(c, http.StatusConflict, "The window has closed", fmt.Sprintf("the wave is %s: its assessment window closed already", w.Status))
		return
	}
	if !s.signalClose(c, id, cycle.PhaseBaseline, req.Reason, "wave close-window") {
		return
	}
	done.answer(c, key, http.StatusAccepted, closeWaveWindowResponse{WaveID: id, Closing: true})
}

func (s *Server) closeCycleWindow(c *gin.Context, done *replays) {
	id, ok := s.cycleID(c)
	if !ok {
		return
	}
	var req closeCycleWindowRequest
	if !bind(c, &req) {
		return
	}
	key, ok := done.key(c, req)
	if !ok {
		return
	}
	var fe fieldErrors
	switch req.Phase {
	case cycle.PhaseBaseline, cycle.PhaseReassessment:
	case "":
		fe.add("phase", "required", "phase is required (%s or %s)", cycle.PhaseBaseline, cycle.PhaseReassessment)
	default:
		fe.add("phase", "invalid_choice", "phase must be %s or %s", cycle.PhaseBaseline, cycle.PhaseReassessment)
	}
	if len(req.Reason) > maxReason {
		fe.add("reason", "too_long", "reason must be at most %d characters", maxReason)
	}
	if fe.reject(c, "close-window request") {
		return
	}
	d, err := s.Store.Cycle(c.Request.Context(), id)
	if err != nil {
		storeProblem(c, err, "cycle")
		return
	}
	if d.Cycle.Status == store.CycleClosed {
		problem(c, http.StatusConflict, "The cycle has closed", "a closed cycle waits for no forms")
		return
	}
	if !s.signalClose(c, id, req.Phase, req.Reason, "cycle close-window") {
		return
	}
	c.Status(http.StatusAccepted)
	s.auditWrite(c, "closed the "+req.Phase+" forms window")
	done.answer(c, key, http.StatusAccepted, closeCycleWindowResponse{CycleID: id, Phase: req.Phase, Closing: true})
}

// signalClose sends the close-window signal, answering the request itself
// when the engine refuses it.
func (s *Server) signalClose(c *gin.Context, workflowID, phase, reason, what string) bool {
	ctx, cancel := context.WithTimeout(c.Request.Context(), updateTimeout)
	defer cancel()
	by := principal(c).Username
	if reason = strings.TrimSpace(reason); reason != "" {
		by += ": " + reason
	}
	err := s.Temporal.SignalWorkflow(ctx, workflowID, "", cycle.SignalCloseWindow, cycle.CloseWindowSignal{Phase: phase, By: by})
	if err != nil {
		s.temporalProblem(c, err, what)
		return false
	}
	return true
}

// replays remembers the answers to requests that carried an
// Idempotency-Key, per caller and route, for a while: a retry gets the same
// answer (with Idempotent-Replayed: true), a reuse of the key for another
// request a 422. It lives as long as the API process; the workflows ignore
// a close that finds nothing open, so a retry after a restart is harmless.
type replays struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	items map[string]replay
}

type replay struct {
	at     time.Time
	digest [32]byte
	status int
	body   []byte
}

func newReplays(max int, ttl time.Duration) *replays {
	return &replays{max: max, ttl: ttl, items: map[string]replay{}}
}

// replayKey identifies a request that carried an Idempotency-Key ("" id: none).
type replayKey struct {
	id     string
	digest [32]byte
}

// key validates the request's Idempotency-Key and, when the request was
// answered before, answers it again; ok is false when the request has been
// answered.
func (r *replays) key(c *gin.Context, req any) (replayKey, bool) {
	raw := c.GetHeader("Idempotency-Key")
	if raw == "" {
		return replayKey{}, true
	}
	if !idempotencyPattern.MatchString(raw) {
		fe := fieldErrors{}
		fe.add("Idempotency-Key", "invalid", "Idempotency-Key must be 8-128 letters, digits, '.', '_', ':' or '-'")
		fe.reject(c, "request")
		return replayKey{}, false
	}
	target := strings.Join([]string{c.Param("site"), c.Param("wave"), c.Param("child")}, "/")
	body, _ := json.Marshal(req)
	k := replayKey{id: principal(c).UserID + " " + c.FullPath() + " " + target + " " + raw, digest: sha256.Sum256(body)}
	r.mu.Lock()
	prev, found := r.items[k.id]
	if found && time.Since(prev.at) > r.ttl {
		delete(r.items, k.id)
		found = false
	}
	r.mu.Unlock()
	if !found {
		return k, true
	}
	if prev.digest != k.digest {
		problem(c, http.StatusUnprocessableEntity, "This Idempotency-Key was used for a different request", "use a new key for a new request",
			cycle.FieldError{Field: "Idempotency-Key", Code: "reused", Message: "the key was used for a request with another body"})
		return replayKey{}, false
	}
	c.Header("Idempotent-Replayed", "true")
	c.Data(prev.status, "application/json; charset=utf-8", prev.body)
	c.Abort()
	return replayKey{}, false
}

// answer writes the response and, when the request carried a key, keeps it.
func (r *replays) answer(c *gin.Context, k replayKey, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		problem(c, http.StatusInternalServerError, "Internal error", "the answer could not be encoded")
		return
	}
	if k.id != "" {
		r.keep(k.id, replay{at: time.Now(), digest: k.digest, status: status, body: body})
	}
	c.Data(status, "application/json; charset=utf-8", body)
}

func (r *replays) keep(id string, it replay) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.items[id]; !ok && len(r.items) >= r.max {
		oldest, at := "", time.Time{}
		for k, v := range r.items {
			if time.Since(v.at) > r.ttl {
				delete(r.items, k)
				continue
			}
			if oldest == "" || v.at.Before(at) {
				oldest, at = k, v.at
			}
		}
		if len(r.items) >= r.max {
			delete(r.items, oldest)
		}
	}
	r.items[id] = it
}
