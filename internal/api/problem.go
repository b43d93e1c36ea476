package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/cycleupdate"
	"github.com/khula-cop/khula/internal/store"
)

// Problem is an RFC 9457 problem document, with field-level errors.
type Problem struct {
	Type   string             `json:"type"`
	Title  string             `json:"title"`
	Status int                `json:"status"`
	Detail string             `json:"detail,omitempty"`
	Errors []cycle.FieldError `json:"errors,omitempty"`
}

// problem writes a problem+json response and stops the request.
func problem(c *gin.Context, status int, title, detail string, fields ...cycle.FieldError) {
	c.Header("Content-Type", "application/problem+json")
	if status == http.StatusServiceUnavailable {
		c.Header("Retry-After", "5")
	}
	c.AbortWithStatusJSON(status, Problem{
		Type:   "https://khula.example.org/problems/" + strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "-"),
		Title:  title,
		Status: status,
		Detail: detail,
		Errors: fields,
	})
	// gin sets application/json when rendering; set the problem type again.
	c.Writer.Header().Set("Content-Type", "application/problem+json")
}

func invalidBody(c *gin.Context, err error) {
	problem(c, http.StatusBadRequest, "The request body is not valid JSON for this endpoint", safeJSONError(err))
}

// safeJSONError describes a decoding error without echoing any of the input
// back: error texts from the decoder can quote the value they rejected.
func safeJSONError(err error) string {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Sprintf("the body is not valid JSON (at byte %d)", syntax.Offset)
	}
	var parse *time.ParseError
	if errors.As(err, &parse) {
		return "a date or time is not in RFC 3339 form, e.g. 2026-08-03T08:00:00Z"
	}
	return "a value does not have the type or form this endpoint expects"
}

// temporalProblem maps an error from a workflow call to a response: the
// caller's mistakes are 4xx with field errors; an unreachable engine is 503.
func (s *Server) temporalProblem(c *gin.Context, err error, what string) {
	p := s.temporalOutcome(c.Request.Context(), c.FullPath(), err, what)
	problem(c, p.Status, p.Title, p.Detail, p.Errors...)
}

// temporalOutcome is the problem an error from a workflow call maps to,
// without answering: a handler that makes several calls (an import) reports
// each one's outcome. ctx is the request's context (its end means the
// engine did not answer in time); route names the route in the log.
func (s *Server) temporalOutcome(ctx context.Context, route string, err error, what string) Problem {
	out := func(status int, title, detail string, fields ...cycle.FieldError) Problem {
		return Problem{Type: problemType(status), Title: title, Status: status, Detail: detail, Errors: fields}
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case cycle.ErrTypeInvalidInput:
			var fields []cycle.FieldError
			_ = appErr.Details(&fields)
			return out(http.StatusUnprocessableEntity, "The "+what+" was rejected: nothing was recorded", appErr.Message(), fields...)
		case cycle.ErrTypeConflict:
			return out(http.StatusConflict, "The "+what+" does not fit the current state", appErr.Message())
		}
	}
	if errors.Is(err, cycleupdate.ErrResubmitsExhausted) {
		return out(http.StatusServiceUnavailable, "The "+what+" could not be saved", "nothing was recorded: the database failed on every attempt; send it again with a new Idempotency-Key")
	}
	if errors.Is(err, cycleupdate.ErrClosed) {
		return out(http.StatusConflict, "Closed", "the "+what+" target has closed and accepts no more input")
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return out(http.StatusNotFound, "Not found", "no running "+what+" target with that ID: it may not exist or may have closed")
	}
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return out(http.StatusConflict, "Already exists", "a workflow with that ID exists")
	}
	if cycleupdate.IsTimeout(err) || ctx.Err() != nil {
		return out(http.StatusServiceUnavailable, "The engine did not answer in time", "try again; the request is idempotent")
	}
	var unavailable *serviceerror.Unavailable
	if errors.As(err, &unavailable) {
		return out(http.StatusServiceUnavailable, "The workflow engine is unavailable", "try again shortly")
	}
	if s.Logger != nil {
		// Engine errors name workflow IDs (opaque) and never carry answers:
		// payloads and failure messages are encrypted by the codec.
		s.Logger.Warn("workflow call failed", "what", what, "route", route, "error", err)
	}
	return out(http.StatusBadGateway, "The workflow engine failed the request", "see the server log")
}

func storeProblem(c *gin.Context, err error, what string) {
	if errors.Is(err, store.ErrNotFound) {
		problem(c, http.StatusNotFound, "Not found", what+" not found")
		return
	}
	if errors.Is(err, context.DeadlineExceeded) {
		problem(c, http.StatusServiceUnavailable, "The database did not answer in time", "try again")
		return
	}
	problem(c, http.StatusServiceUnavailable, "The database is unavailable", "try again shortly")
}
