package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/cycleupdate"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/workflows"
)

// updateTimeout bounds how long a request waits for a workflow to take an
// input; past it the caller gets 503 and may resubmit with the same
// Idempotency-Key, which Temporal deduplicates.
const updateTimeout = 20 * time.Second

var idempotencyPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{8,128}$`)

// keyClaimTimeout bounds the wait to bind an Idempotency-Key.
const keyClaimTimeout = 2 * time.Second

// replayedKey marks a request whose Idempotency-Key was seen before with the
// same request: its audit entry says replay, not a new write.
const replayedKey = "khula.replay"

// idempotencyKey returns the request's Idempotency-Key, or a fresh one. A
// key the caller chose is bound to a digest of the request (method, path,
// body) on its first use: the same key with another request answers 422
// instead of replaying the first request's answer under it, and a retry
// of the same request is marked as a replay for the audit log. A request
// refused with a 4xx releases its key (releaseRefusedKeys).
func (s *Server) idempotencyKey(c *gin.Context) (string, bool) {
	key := c.GetHeader("Idempotency-Key")
	if key == "" {
		return uuid.NewString(), true
	}
	if !idempotencyPattern.MatchString(key) {
		fe := fieldErrors{}
		fe.add("Idempotency-Key", "invalid", "Idempotency-Key must be 8-128 letters, digits, '.', '_', ':' or '-'")
		fe.reject(c, "request")
		return "", false
	}
	// Read no more than bind would take: a body past the limit is
	// refused here, before it is held in memory whole.
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		problem(c, http.StatusRequestEntityTooLarge, "The request body is too large", fmt.Sprintf("at most %d bytes", maxBody))
		return "", false
	}
	if err != nil {
		// Cut short: bind reports it as it would have.
		c.Request.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
		return key, true
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.New()
	fmt.Fprintf(sum, "%s\n%s\n", c.Request.Method, c.Request.URL.Path)
	sum.Write(body)
	// A database that does not answer at once does not hold a form up: the
	// engine still takes the key once, and a form (a red flag) must not
	// wait for the app database. Only the check of a reused key is lost.
	ctx, cancel := context.WithTimeout(c.Request.Context(), keyClaimTimeout)
	defer cancel()
	hash := hex.EncodeToString(sum.Sum(nil))
	replay, err := s.Store.ClaimIdempotencyKey(ctx, key, hash, principal(c).UserID, s.now())
	switch {
	case errors.Is(err, store.ErrKeyReused):
		fe := fieldErrors{}
		fe.add("Idempotency-Key", "reused", "this Idempotency-Key was used for a different request: nothing was recorded; send this one with a new key")
		fe.reject(c, "request")
		return "", false
	case err != nil:
		if s.Logger != nil {
			s.Logger.Warn("Idempotency-Key not checked: the database did not answer", "route", c.FullPath(), "error", err)
		}
		return key, true
	}
	if replay {
		c.Set(replayedKey, true)
	} else {
		c.Set(claimedKey, claim{key: key, hash: hash})
	}
	return key, true
}

// claimedKey holds the claim a request made on its Idempotency-Key.
const claimedKey = "khula.claimedKey"

type claim struct{ key, hash string }

// releaseRefusedKeys forgets the Idempotency-Key of a request refused with
// a 4xx (nothing was recorded), so a corrected request may use it again. A
// 5xx keeps it: the engine may still take the first request.
func (s *Server) releaseRefusedKeys() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		v, ok := c.Get(claimedKey)
		if !ok || c.Writer.Status() < 400 || c.Writer.Status() >= 500 {
			return
		}
		cl := v.(claim)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), keyClaimTimeout)
		defer cancel()
		if err := s.Store.ReleaseIdempotencyKey(ctx, cl.key, cl.hash); err != nil && s.Logger != nil {
			s.Logger.Warn("the Idempotency-Key of a refused request stays bound", "route", c.FullPath(), "error", err)
		}
	}
}

// errReader returns err once the bytes before it are read.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// update sends an Update and waits for its result; on failure it answers
// with the problem the error maps to.
func (s *Server) update(c *gin.Context, workflowID, name, updateID string, arg, result any) bool {
	if err := s.sendUpdate(c.Request.Context(), workflowID, name, updateID, arg, result); err != nil {
		s.temporalProblem(c, err, strings.ReplaceAll(name, "-", " "))
		return false
	}
	return true
}

// sendUpdate sends an Update and waits, at most updateTimeout, for its
// result (see cycleupdate.Send: the same ID is answered with its
// earlier outcome, and an input the workflow could not save is sent again).
func (s *Server) sendUpdate(ctx context.Context, workflowID, name, updateID string, arg, result any) error {
	ctx, cancel := context.WithTimeout(ctx, updateTimeout)
	defer cancel()
	return cycleupdate.Send(ctx, s.Temporal, workflowID, name, updateID, arg, result)
}

func (s *Server) cycleID(c *gin.Context) (string, bool) {
	site, ok := s.site(c, c.Param("site"))
	if !ok {
		return "", false
	}
	n, err := strconv.Atoi(c.Param("wave"))
	if err != nil || n < 1 {
		problem(c, http.StatusNotFound, "Not found", "the wave must be a positive number")
		return "", false
	}
	if !s.childInScope(c, site.ID, c.Param("child")) {
		return "", false
	}
	return cycle.CycleID(site.ID, n, c.Param("child")), true
}

func (s *Server) getCycle(c *gin.Context) {
	id, ok := s.cycleID(c)
	if !ok {
		return
	}
	d, err := s.Store.Cycle(c.Request.Context(), id)
	if err != nil {
		storeProblem(c, err, "cycle")
		return
	}
	if !s.audit(c, store.AuditRead, c.Param("site"), c.Param("child"), "cycle "+id, c.GetHeader("X-Khula-Reason")) {
		return
	}
	c.JSON(http.StatusOK, d)
}

func (s *Server) submitAssessment(c *gin.Context) {
	id, ok := s.cycleID(c)
	if !ok {
		return
	}
	key, ok := s.idempotencyKey(c)
	if !ok {
		return
	}
	var in cycle.SubmitAssessmentInput
	if !bind(c, &in) {
		return
	}
	var fe fieldErrors
	if in.Phase == "" {
		fe.add("phase", "required", "phase is required (%s or %s)", cycle.PhaseBaseline, cycle.PhaseReassessment)
	}
	if in.Respondent == "" {
		fe.add("respondent", "required", "respondent is required")
	}
	if in.Answers == nil {
		fe.add("answers", "required", "answers is required: an object of item IDs and values")
	}
	checkAnswerBounds(&fe, in.Answers)
	if fe.reject(c, "assessment") {
		return
	}
	var res cycle.SubmitAssessmentResult
	if err := s.sendUpdate(c.Request.Context(), id, cycle.UpdateSubmitAssessment, "assessment/"+in.Phase+"/"+in.Respondent+"/"+key, in, &res); err != nil {
		if s.cycleEnded(c, id, err) {
			return
		}
		s.temporalProblem(c, err, "submit assessment")
		return
	}
	c.Status(http.StatusOK)
	s.auditWrite(c, in.Phase+" "+in.Respondent+" form")
	c.JSON(http.StatusOK, res)
}

// cycleEnded answers a form sent to a cycle the engine no longer runs
// because the cycle has closed: 409 with the cycle's outcome, which a
// fieldworker's queued form shows, rather than the engine's "not found".
func (s *Server) cycleEnded(c *gin.Context, id string, err error) bool {
	var notFound *serviceerror.NotFound
	if !errors.As(err, &notFound) {
		return false
	}
	d, derr := s.Store.Cycle(c.Request.Context(), id)
	if derr != nil || d.Cycle.Status != store.CycleClosed {
		return false
	}
	detail := "this child's cycle has ended and takes no more forms; nothing was recorded"
	if d.Cycle.Outcome != "" {
		detail = fmt.Sprintf("this child's cycle has ended (%s) and takes no more forms; nothing was recorded", strings.ReplaceAll(d.Cycle.Outcome, "_", " "))
	}
	problem(c, http.StatusConflict, "The cycle has closed", detail)
	return true
}

func (s *Server) recordFollowUp(c *gin.Context) {
	id, ok := s.cycleID(c)
	if !ok {
		return
	}
	key, ok := s.idempotencyKey(c)
	if !ok {
		return
	}
	var in cycle.FollowUpInput
	if !bind(c, &in) {
		return
	}
	var res cycle.FollowUpResult
	if !s.update(c, id, cycle.UpdateRecordFollowUp, "follow-up/"+key, in, &res) {
		return
	}
	c.Status(http.StatusOK)
	s.auditWrite(c, "follow-up check-in")
	c.JSON(http.StatusOK, res)
}

var datePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(\.([2-9]|[1-9][0-9]))?$`)

type startMeetingRequest struct {
	Site   string `json:"site"`
	School string `json:"school"`
	// Date is YYYY-MM-DD, with .2 to .99 for a further sitting that day.
	Date string `json:"date"`
	// MinutesWithin is how long the meeting waits for minutes (default 7 days; compressed only in demonstrations).
	MinutesWithin string `json:"minutes_within"`
}

func (s *Server) startMeeting(c *gin.Context) {
	var req startMeetingRequest
	if !bind(c, &req) {
		return
	}
	var fe fieldErrors
	site, siteOK := s.Sites.Site(req.Site)
	if !siteOK {
		fe.add("site", "unknown", "no site %q is configured", req.Site)
	} else if _, ok := site.School(req.School); !ok {
		fe.add("school", "unknown", "site %s has no school %q", req.Site, req.School)
	}
	if !datePattern.MatchString(req.Date) {
		fe.add("date", "invalid", "date must be YYYY-MM-DD (optionally .2 to .99 for a further sitting that day)")
	} else if _, err := time.Parse(time.DateOnly, req.Date[:10]); err != nil {
		fe.add("date", "invalid", "date %q is not a calendar date", req.Date)
	}
	within := 7 * realDay
	if req.MinutesWithin != "" {
		d, err := time.ParseDuration(req.MinutesWithin)
		switch {
		case err != nil:
			fe.add("minutes_within", "invalid", "minutes_within must be a duration such as 168h")
		case d < realDay && !s.AllowCompressedTime:
			fe.add("minutes_within", "out_of_range", "minutes_within must be at least 24h")
		case d < minDayLength || d > 60*realDay:
			fe.add("minutes_within", "out_of_range", "minutes_within must be between %s and 60 days", minDayLength)
		default:
			within = d
		}
	}
	if fe.reject(c, "meeting") {
		return
	}
	if !s.inSchool(c, site.ID, req.School) {
		return
	}
	id := cycle.MeetingID(site.ID, req.School, req.Date)
	in := cycle.MeetingInput{SiteID: site.ID, SchoolID: req.School, Date: req.Date, MinutesAfter: within, ServiceTypes: site.ServiceTypes()}
	_, err := s.Temporal.ExecuteWorkflow(c.Request.Context(), client.StartWorkflowOptions{
		ID: id, TaskQueue: site.TaskQueue(),
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
	}, workflows.MeetingWorkflowName, in)
	if err != nil {
		s.temporalProblem(c, err, "meeting")
		return
	}
	c.Header("Location", fmt.Sprintf("/api/v1/meetings/%s/%s/%s", site.ID, req.School, req.Date))
	c.JSON(http.StatusAccepted, gin.H{"meeting_id": id})
}

func (s *Server) meetingID(c *gin.Context) (string, bool) {
	site, ok := s.site(c, c.Param("site"))
	if !ok || !s.inSchool(c, site.ID, c.Param("school")) {
		return "", false
	}
	return cycle.MeetingID(site.ID, c.Param("school"), c.Param("date")), true
}

func (s *Server) getMeeting(c *gin.Context) {
	id, ok := s.meetingID(c)
	if !ok {
		return
	}
	m, err := s.Store.Meeting(c.Request.Context(), id)
	if err != nil {
		storeProblem(c, err, "meeting")
		return
	}
	var agenda []cycle.AgendaItem
	_ = jsonUnmarshal(m.Agenda, &agenda)
	// An agenda shows each child's domain results: each is an audited read.
	for _, it := range agenda {
		if ref, err := cycle.ParseCycleID(it.CycleID); err == nil {
			if !s.audit(c, store.AuditRead, ref.Site, ref.Child, "agenda of "+id, "") {
				return
			}
		}
	}
	att, err := store.MeetingAttendance(m)
	if err != nil {
		storeProblem(c, err, "meeting")
		return
	}
	// The overdue actions on the agenda, with their owner and due date.
	actions := []store.PlanActionRow{}
	for _, it := range agenda {
		if it.Reason != cycle.AgendaOverdueAction {
			continue
		}
		row, err := s.Store.PlanActionByID(c.Request.Context(), it.ActionID)
		if err == nil {
			actions = append(actions, row)
		}
	}
	c.JSON(http.StatusOK, gin.H{"id": m.ID, "site": m.SiteID, "school": m.SchoolID, "date": m.Date, "status": m.Status, "agenda": agenda,
		"held_at": m.HeldAt, "attendance": att, "overdue_actions": actions})
}

func (s *Server) submitMinutes(c *gin.Context) {
	id, ok := s.meetingID(c)
	if !ok {
		return
	}
	key, ok := s.idempotencyKey(c)
	if !ok {
		return
	}
	var in cycle.MinutesInput
	if !bind(c, &in) {
		return
	}
	var res cycle.MinutesResult
	if !s.update(c, id, cycle.UpdateSubmitMinutes, "minutes/"+key, in, &res) {
		return
	}
	c.Status(http.StatusOK)
	for _, p := range in.Plans {
		if ref, err := cycle.ParseCycleID(p.CycleID); err == nil {
			s.audit(c, store.AuditWrite, ref.Site, ref.Child, "plan agreed at "+id, "")
		}
	}
	c.JSON(http.StatusOK, res)
}

func (s *Server) referralID(c *gin.Context) (string, bool) {
	site, ok := s.site(c, c.Param("site"))
	if !ok {
		return "", false
	}
	n, err1 := strconv.Atoi(c.Param("wave"))
	k, err2 := strconv.Atoi(c.Param("k"))
	if err1 != nil || err2 != nil || n < 1 || k < 0 {
		problem(c, http.StatusNotFound, "Not found", "wave and referral number must be numbers")
		return "", false
	}
	if !s.childInScope(c, site.ID, c.Param("child")) {
		return "", false
	}
	return cycle.ReferralID(site.ID, n, c.Param("child"), k), true
}

func (s *Server) acknowledgeReferral(c *gin.Context) {
	id, ok := s.referralID(c)
	if !ok {
		return
	}
	key, ok := s.idempotencyKey(c)
	if !ok {
		return
	}
	var in cycle.AcknowledgeInput
	if !bind(c, &in) {
		return
	}
	var res cycle.ReferralStatus
	if !s.update(c, id, cycle.UpdateAcknowledge, "ack/"+key, in, &res) {
		return
	}
	c.Status(http.StatusOK)
	s.auditWrite(c, "referral "+id+" acknowledged")
	c.JSON(http.StatusOK, res)
}

func (s *Server) referralOutcome(c *gin.Context) {
	id, ok := s.referralID(c)
	if !ok {
		return
	}
	key, ok := s.idempotencyKey(c)
	if !ok {
		return
	}
	var in cycle.ReferralOutcomeInput
	if !bind(c, &in) {
		return
	}
	var res cycle.ReferralStatus
	if !s.update(c, id, cycle.UpdateReferralOutcome, "outcome/"+key, in, &res) {
		return
	}
	c.Status(http.StatusOK)
	s.auditWrite(c, "referral "+id+" outcome "+in.Outcome)
	c.JSON(http.StatusOK, res)
}
