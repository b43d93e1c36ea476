package api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"
	"go.temporal.io/sdk/temporal"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/workflows"
)

// secret is an answer value no response may echo back.
const secret = "Thandi says her uncle hits her"

const assessmentPath = "/api/v1/cycles/johannesburg/3/c-0001/assessments"

var assessmentBody = `{"phase":"baseline","respondent":"caregiver","answers":{"hunger_bed":0,"note":"` + secret + `"},"submitted_by":"fieldworker-7"}`

// expectUpdate makes UpdateWorkflow capture its options and return a handle
// whose Get runs get (or UpdateWorkflow itself fails with startErr).
func expectUpdate(f *fixture, got *client.UpdateWorkflowOptions, startErr error, get func(ctx context.Context, v any) error) {
	call := f.temporal.On("UpdateWorkflow", mock.Anything, mock.Anything).
		Run(func(args mock.Arguments) { *got = args.Get(1).(client.UpdateWorkflowOptions) }).Once()
	if startErr != nil {
		call.Return(nil, startErr)
		return
	}
	h := &mocks.WorkflowUpdateHandle{}
	h.On("Get", mock.Anything, mock.Anything).Return(get).Once()
	call.Return(h, nil)
}

func TestSubmitAssessment(t *testing.T) {
	f := newFixture(t)
	var got client.UpdateWorkflowOptions
	expectUpdate(f, &got, nil, func(_ context.Context, v any) error {
		*(v.(*cycle.SubmitAssessmentResult)) = cycle.SubmitAssessmentResult{Remaining: []string{"child", "teacher", "nurse"}}
		return nil
	})
	rec := f.do(t, http.MethodPost, assessmentPath, assessmentBody, "Idempotency-Key", "tablet-42:form-0007")

	wantJSON(t, rec, http.StatusOK, nil)
	assert.JSONEq(t, `{"remaining":["child","teacher","nurse"]}`, rec.Body.String())
	assert.Equal(t, "cycle/johannesburg/3/c-0001", got.WorkflowID)
	assert.Equal(t, cycle.UpdateSubmitAssessment, got.UpdateName)
	assert.Equal(t, "submit-assessment", got.UpdateName)
	assert.Equal(t, "assessment/baseline/caregiver/tablet-42:form-0007", got.UpdateID)
	assert.Equal(t, client.WorkflowUpdateStageCompleted, got.WaitForStage)
	require.Len(t, got.Args, 1)
	assert.Equal(t, cycle.SubmitAssessmentInput{
		Phase: "baseline", Respondent: "caregiver", SubmittedBy: "fieldworker-7",
		Answers: cycle.Answers{"hunger_bed": 0.0, "note": secret},
	}, got.Args[0])
}

func TestSubmitAssessmentWithoutKeyGetsAFreshOne(t *testing.T) {
	f := newFixture(t)
	var first, second client.UpdateWorkflowOptions
	ok := func(context.Context, any) error { return nil }
	expectUpdate(f, &first, nil, ok)
	wantJSON(t, f.do(t, http.MethodPost, assessmentPath, assessmentBody), http.StatusOK, nil)
	expectUpdate(f, &second, nil, ok)
	wantJSON(t, f.do(t, http.MethodPost, assessmentPath, assessmentBody), http.StatusOK, nil)

	uuidID := regexp.MustCompile(`^assessment/baseline/caregiver/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	assert.Regexp(t, uuidID, first.UpdateID)
	assert.Regexp(t, uuidID, second.UpdateID)
	assert.NotEqual(t, first.UpdateID, second.UpdateID)
}

func TestSubmitAssessmentRejectedBeforeTheEngine(t *testing.T) {
	cases := []struct {
		name   string
		path   string
		body   string
		header []string
		status int
		want   []fe
	}{
		{name: "Idempotency-Key too short", body: assessmentBody, header: []string{"Idempotency-Key", "abc"},
			status: http.StatusUnprocessableEntity, want: []fe{{"Idempotency-Key", "invalid"}}},
		{name: "Idempotency-Key with a space", body: assessmentBody, header: []string{"Idempotency-Key", "form 0007 tablet"},
			status: http.StatusUnprocessableEntity, want: []fe{{"Idempotency-Key", "invalid"}}},
		{name: "Idempotency-Key with a slash", body: assessmentBody, header: []string{"Idempotency-Key", "tablet/form-0007"},
			status: http.StatusUnprocessableEntity, want: []fe{{"Idempotency-Key", "invalid"}}},
		{name: "Idempotency-Key too long", body: assessmentBody, header: []string{"Idempotency-Key", strings.Repeat("k", 129)},
			status: http.StatusUnprocessableEntity, want: []fe{{"Idempotency-Key", "invalid"}}},
		{name: "phase, respondent and answers missing", body: `{"submitted_by":"fieldworker-7"}`,
			status: http.StatusUnprocessableEntity, want: []fe{{"phase", "required"}, {"respondent", "required"}, {"answers", "required"}}},
		{name: "answers null", body: `{"phase":"baseline","respondent":"caregiver","answers":null}`,
			status: http.StatusUnprocessableEntity, want: []fe{{"answers", "required"}}},
		{name: "unknown field", body: `{"phase":"baseline","respondent":"caregiver","answers":{},"comment":"` + secret + `"}`,
			status: http.StatusUnprocessableEntity, want: []fe{{"comment", "unknown_field"}}},
		{name: "answers of the wrong type", body: `{"phase":"baseline","respondent":"caregiver","answers":"` + secret + `"}`,
			status: http.StatusUnprocessableEntity, want: []fe{{"answers", "wrong_type"}}},
		{name: "phase of the wrong type", body: `{"phase":1,"respondent":"caregiver","answers":{}}`,
			status: http.StatusUnprocessableEntity, want: []fe{{"phase", "wrong_type"}}},
		{name: "body is an array", body: `["` + secret + `"]`,
			status: http.StatusUnprocessableEntity, want: []fe{{"(body)", "wrong_type"}}},
		{name: "truncated JSON", body: `{"phase":"baseline","answers":{"note":"` + secret,
			status: http.StatusBadRequest},
		{name: "two JSON values", body: `{"phase":"baseline","respondent":"caregiver","answers":{}}{"note":"` + secret + `"}`,
			status: http.StatusBadRequest},
		{name: "unknown site", path: "/api/v1/cycles/durban/3/c-0001/assessments", body: assessmentBody, status: http.StatusNotFound},
		{name: "wave zero", path: "/api/v1/cycles/johannesburg/0/c-0001/assessments", body: assessmentBody, status: http.StatusNotFound},
		{name: "wave not a number", path: "/api/v1/cycles/johannesburg/three/c-0001/assessments", body: assessmentBody, status: http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			path := tc.path
			if path == "" {
				path = assessmentPath
			}
			rec := f.do(t, http.MethodPost, path, tc.body, tc.header...)
			p := wantProblem(t, rec, tc.status)
			assert.Equal(t, tc.want, fieldsOf(p))
			assert.NotContains(t, rec.Body.String(), secret, "the response echoes an answer")
			assert.NotContains(t, rec.Body.String(), "Thandi")
			f.noTemporalCalls(t)
		})
	}
}

func TestRequestBodyLimits(t *testing.T) {
	big := `{"site":"` + strings.Repeat("a", 1<<20) + `"}`
	cases := []struct {
		name   string
		path   string
		body   string
		status int
	}{
		{name: "empty wave launch", path: "/api/v1/waves", status: http.StatusBadRequest},
		{name: "empty assessment", path: assessmentPath, status: http.StatusBadRequest},
		{name: "empty meeting", path: "/api/v1/meetings", status: http.StatusBadRequest},
		{name: "wave launch over 1 MiB", path: "/api/v1/waves", body: big, status: http.StatusRequestEntityTooLarge},
		{name: "assessment over 1 MiB", path: assessmentPath, body: `{"answers":{"note":"` + strings.Repeat("x", 1<<20) + `"}}`, status: http.StatusRequestEntityTooLarge},
		{name: "wave launch with an unknown field", path: "/api/v1/waves", body: `{"site":"johannesburg","number":3,"wave_size":100}`, status: http.StatusUnprocessableEntity},
		{name: "wave launch with a number as text", path: "/api/v1/waves", body: `{"site":"johannesburg","number":"3"}`, status: http.StatusUnprocessableEntity},
		{name: "wave launch with a date that is not one", path: "/api/v1/waves", body: `{"site":"johannesburg","number":3,"window_close":"next month"}`, status: http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			rec := f.do(t, http.MethodPost, tc.path, tc.body)
			p := wantProblem(t, rec, tc.status)
			switch tc.status {
			case http.StatusUnprocessableEntity:
				require.Len(t, p.Errors, 1)
				assert.Contains(t, []string{"unknown_field", "wrong_type"}, p.Errors[0].Code)
			default:
				assert.Empty(t, p.Errors)
			}
			assert.Less(t, rec.Body.Len(), 1024, "a problem document stays small")
			f.noTemporalCalls(t)
		})
	}
}

func TestBindNamesTheField(t *testing.T) {
	cases := []struct {
		name string
		body string
		want fe
	}{
		{name: "unknown field", body: `{"site":"johannesburg","number":3,"wave_size":100}`, want: fe{"wave_size", "unknown_field"}},
		{name: "number as text", body: `{"site":"johannesburg","number":"3"}`, want: fe{"number", "wrong_type"}},
		{name: "site as a number", body: `{"site":7,"number":3}`, want: fe{"site", "wrong_type"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			p := wantProblem(t, f.do(t, http.MethodPost, "/api/v1/waves", tc.body), http.StatusUnprocessableEntity)
			assert.Equal(t, []fe{tc.want}, fieldsOf(p))
			f.noTemporalCalls(t)
		})
	}
}

func TestSubmitAssessmentEngineAnswers(t *testing.T) {
	invalid := temporal.NewApplicationError("2 invalid answer(s)", cycle.ErrTypeInvalidInput, []cycle.FieldError{
		{Field: "answers.hunger_bed", Code: "invalid_choice", Message: "hunger_bed must be one of 0, 1, 2, 3"},
		{Field: "answers.phq9_9", Code: "required", Message: "phq9_9 is required"},
	})
	cases := []struct {
		name     string
		startErr error // from UpdateWorkflow
		getErr   error // from the handle's Get
		// described is the workflow's status when the engine answers
		// NotFound (0: it has no such workflow either).
		described  enumspb.WorkflowExecutionStatus
		status     int
		want       []cycle.FieldError
		wantDetail string
	}{
		{name: "validator rejects the answers", getErr: invalid, status: http.StatusUnprocessableEntity,
			want: []cycle.FieldError{
				{Field: "answers.hunger_bed", Code: "invalid_choice", Message: "hunger_bed must be one of 0, 1, 2, 3"},
				{Field: "answers.phq9_9", Code: "required", Message: "phq9_9 is required"},
			}, wantDetail: "2 invalid answer(s)"},
		{name: "rejection wrapped by the client", getErr: errors.Join(errors.New("update failed"), invalid), status: http.StatusUnprocessableEntity,
			want: []cycle.FieldError{
				{Field: "answers.hunger_bed", Code: "invalid_choice", Message: "hunger_bed must be one of 0, 1, 2, 3"},
				{Field: "answers.phq9_9", Code: "required", Message: "phq9_9 is required"},
			}, wantDetail: "2 invalid answer(s)"},
		{name: "cycle not waiting for this form", getErr: temporal.NewApplicationError("the caregiver form was already submitted", cycle.ErrTypeConflict),
			status: http.StatusConflict, wantDetail: "the caregiver form was already submitted"},
		{name: "no such cycle", startErr: serviceerror.NewNotFound("workflow not found for ID: cycle/johannesburg/3/c-0001"), status: http.StatusNotFound},
		// The engine answers an update to a closed workflow with NotFound
		// too: describing the workflow tells the two apart.
		{name: "cycle closed", startErr: serviceerror.NewNotFound("workflow execution already completed"),
			described: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, status: http.StatusConflict},
		{name: "cycle terminated", startErr: serviceerror.NewNotFound("any text at all"),
			described: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, status: http.StatusConflict},
		{name: "the engine's update time-out", getErr: client.NewWorkflowUpdateServiceTimeoutOrCanceledError(errors.New("context deadline exceeded")),
			status: http.StatusServiceUnavailable},
		{name: "engine unavailable", startErr: serviceerror.NewUnavailable("connection refused"), status: http.StatusServiceUnavailable},
		{name: "an application error of another type", getErr: temporal.NewApplicationError("panic in handler", "PanicError"), status: http.StatusBadGateway},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			var got client.UpdateWorkflowOptions
			expectUpdate(f, &got, tc.startErr, func(context.Context, any) error { return tc.getErr })
			var notFound *serviceerror.NotFound
			if errors.As(tc.startErr, &notFound) {
				expectDescribe(f, tc.described)
			}
			rec := f.do(t, http.MethodPost, assessmentPath, assessmentBody, "Idempotency-Key", "tablet-42:form-0008")
			p := wantProblem(t, rec, tc.status)
			assert.Equal(t, tc.want, p.Errors)
			if tc.wantDetail != "" {
				assert.Equal(t, tc.wantDetail, p.Detail)
			}
			assert.NotContains(t, rec.Body.String(), "Thandi", "the response echoes an answer")
			assert.Equal(t, "cycle/johannesburg/3/c-0001", got.WorkflowID)
		})
	}
}

// expectDescribe makes the engine describe any workflow as having status
// (0: no such workflow), as cycleupdate asks after a NotFound.
func expectDescribe(f *fixture, status enumspb.WorkflowExecutionStatus) {
	describe := f.temporal.On("DescribeWorkflowExecution", mock.Anything, mock.Anything, "").Maybe()
	if status == 0 {
		describe.Return(nil, serviceerror.NewNotFound("workflow not found"))
		return
	}
	describe.Return(&workflowservice.DescribeWorkflowExecutionResponse{
		WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{Status: status}}, nil)
}

// An update the engine does not finish before the caller gives up is a 503
// the caller may retry with the same Idempotency-Key.
func TestSubmitAssessmentTimesOut(t *testing.T) {
	f := newFixture(t)
	var got client.UpdateWorkflowOptions
	expectUpdate(f, &got, nil, func(ctx context.Context, _ any) error {
		<-ctx.Done()
		return ctx.Err()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	rec := f.doCtx(t, ctx, http.MethodPost, assessmentPath, assessmentBody, "Idempotency-Key", "tablet-42:form-0009")
	p := wantProblem(t, rec, http.StatusServiceUnavailable)
	assert.NotEmpty(t, rec.Result().Header.Get("Retry-After"))
	assert.Contains(t, p.Detail, "idempotent")
	assert.Less(t, time.Since(start), 5*time.Second, "the request must end with its context")
	assert.Equal(t, "assessment/baseline/caregiver/tablet-42:form-0009", got.UpdateID)
}

// A form the cycle accepted but could not save (its database was locked or
// down) goes again under the next update ID of its key, because Temporal
// keeps the failed outcome under the first: a retry with the same key then
// walks past the failed attempts instead of getting the failure for ever.
func TestSubmitAssessmentNotSavedIsSentAgain(t *testing.T) {
	notSaved := temporal.NewApplicationError("the form could not be saved; nothing was recorded, please submit again", cycle.ErrTypeNotSaved)
	t.Run("a later attempt saves it", func(t *testing.T) {
		f := newFixture(t)
		var ids []string
		for i := range 3 {
			var got client.UpdateWorkflowOptions
			f.temporal.On("UpdateWorkflow", mock.Anything, mock.Anything).
				Run(func(args mock.Arguments) {
					got = args.Get(1).(client.UpdateWorkflowOptions)
					ids = append(ids, got.UpdateID)
				}).
				Return(func(context.Context, client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
					h := &mocks.WorkflowUpdateHandle{}
					h.On("Get", mock.Anything, mock.Anything).Return(func(_ context.Context, v any) error {
						if i < 2 {
							return notSaved
						}
						*(v.(*cycle.SubmitAssessmentResult)) = cycle.SubmitAssessmentResult{Remaining: []string{"teacher"}}
						return nil
					}).Once()
					return h, nil
				}).Once()
		}
		rec := f.do(t, http.MethodPost, assessmentPath, assessmentBody, "Idempotency-Key", "tablet-42:form-0010")
		wantJSON(t, rec, http.StatusOK, nil)
		assert.JSONEq(t, `{"remaining":["teacher"]}`, rec.Body.String())
		assert.Equal(t, []string{
			"assessment/baseline/caregiver/tablet-42:form-0010",
			"assessment/baseline/caregiver/tablet-42:form-0010#2",
			"assessment/baseline/caregiver/tablet-42:form-0010#3",
		}, ids)
	})
	t.Run("every attempt fails", func(t *testing.T) {
		f := newFixture(t)
		seen := map[string]bool{}
		f.temporal.On("UpdateWorkflow", mock.Anything, mock.Anything).
			Run(func(args mock.Arguments) { seen[args.Get(1).(client.UpdateWorkflowOptions).UpdateID] = true }).
			Return(func(context.Context, client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
				h := &mocks.WorkflowUpdateHandle{}
				h.On("Get", mock.Anything, mock.Anything).Return(notSaved).Once()
				return h, nil
			})
		rec := f.do(t, http.MethodPost, assessmentPath, assessmentBody, "Idempotency-Key", "tablet-42:form-0011")
		p := wantProblem(t, rec, http.StatusServiceUnavailable)
		assert.Contains(t, p.Detail, "new Idempotency-Key")
		assert.Len(t, seen, 20, "each attempt has its own update ID")
		assert.True(t, seen["assessment/baseline/caregiver/tablet-42:form-0011#20"])
	})
}

func TestOtherUpdates(t *testing.T) {
	cases := []struct {
		name       string
		path       string
		body       string
		result     any
		wantID     string
		wantUpdate string
		wantUpdID  string
		wantArg    any
		wantBody   string
	}{
		{
			name: "follow-up", path: "/api/v1/cycles/johannesburg/3/c-0001/follow-ups", body: `{"note":"visited the clinic","recorded_by":"sw-1"}`,
			result: &cycle.FollowUpResult{Count: 2}, wantID: "cycle/johannesburg/3/c-0001", wantUpdate: cycle.UpdateRecordFollowUp, wantUpdID: "follow-up/key-00000001",
			wantArg: cycle.FollowUpInput{Note: "visited the clinic", RecordedBy: "sw-1"}, wantBody: `{"count":2}`,
		},
		{
			name: "minutes", path: "/api/v1/meetings/johannesburg/meadowlands/2026-03-05/minutes",
			body:   `{"plans":[{"cycle_id":"cycle/johannesburg/3/c-0001","actions":[{"domain":"health","service_type":"clinic"}]}],"recorded_by":"sw-1"}`,
			result: &cycle.MinutesResult{Planned: 1, RolledOver: []string{}}, wantID: "meeting/johannesburg/meadowlands/2026-03-05", wantUpdate: cycle.UpdateSubmitMinutes, wantUpdID: "minutes/key-00000001",
			wantArg:  cycle.MinutesInput{Plans: []cycle.ChildPlan{{CycleID: "cycle/johannesburg/3/c-0001", Actions: []cycle.PlanAction{{Domain: "health", ServiceType: "clinic"}}}}, RecordedBy: "sw-1"},
			wantBody: `{"planned":1,"rolled_over":[]}`,
		},
		{
			name: "acknowledge referral", path: "/api/v1/referrals/johannesburg/3/c-0001/1/acknowledge", body: `{"by":"clinic-a"}`,
			result: &cycle.ReferralStatus{Status: "acknowledged"}, wantID: "referral/johannesburg/3/c-0001/1", wantUpdate: cycle.UpdateAcknowledge, wantUpdID: "ack/key-00000001",
			wantArg: cycle.AcknowledgeInput{By: "clinic-a"}, wantBody: `{"status":"acknowledged","overdue":false}`,
		},
		{
			name: "referral outcome, urgent referral 0", path: "/api/v1/referrals/johannesburg/3/c-0001/0/outcome", body: `{"outcome":"completed","by":"dsd"}`,
			result: &cycle.ReferralStatus{Status: "completed", Outcome: "completed"}, wantID: "referral/johannesburg/3/c-0001/0", wantUpdate: cycle.UpdateReferralOutcome, wantUpdID: "outcome/key-00000001",
			wantArg: cycle.ReferralOutcomeInput{Outcome: "completed", By: "dsd"}, wantBody: `{"status":"completed","overdue":false,"outcome":"completed"}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			var got client.UpdateWorkflowOptions
			expectUpdate(f, &got, nil, func(_ context.Context, v any) error {
				switch r := tc.result.(type) {
				case *cycle.FollowUpResult:
					*(v.(*cycle.FollowUpResult)) = *r
				case *cycle.MinutesResult:
					*(v.(*cycle.MinutesResult)) = *r
				case *cycle.ReferralStatus:
					*(v.(*cycle.ReferralStatus)) = *r
				}
				return nil
			})
			rec := f.do(t, http.MethodPost, tc.path, tc.body, "Idempotency-Key", "key-00000001")
			wantJSON(t, rec, http.StatusOK, nil)
			assert.JSONEq(t, tc.wantBody, rec.Body.String())
			assert.Equal(t, tc.wantID, got.WorkflowID)
			assert.Equal(t, tc.wantUpdate, got.UpdateName)
			assert.Equal(t, tc.wantUpdID, got.UpdateID)
			require.Len(t, got.Args, 1)
			assert.Equal(t, tc.wantArg, got.Args[0])
		})
	}
}

func TestReferralPathsAreChecked(t *testing.T) {
	for _, path := range []string{
		"/api/v1/referrals/johannesburg/3/c-0001/-1/acknowledge",
		"/api/v1/referrals/johannesburg/3/c-0001/first/acknowledge",
		"/api/v1/referrals/johannesburg/0/c-0001/1/outcome",
		"/api/v1/referrals/durban/3/c-0001/1/outcome",
	} {
		t.Run(path, func(t *testing.T) {
			f := newFixture(t)
			wantProblem(t, f.do(t, http.MethodPost, path, `{"by":"clinic-a"}`), http.StatusNotFound)
			f.noTemporalCalls(t)
		})
	}
}

func TestStartMeeting(t *testing.T) {
	cases := []struct {
		name      string
		body      string
		wantID    string
		wantQueue string
		want      cycle.MeetingInput
		wantLoc   string
	}{
		{
			name: "default minutes deadline of 7 days", body: `{"site":"johannesburg","school":"meadowlands","date":"2026-03-05"}`,
			wantID: "meeting/johannesburg/meadowlands/2026-03-05", wantQueue: "khula-johannesburg",
			want:    cycle.MeetingInput{SiteID: "johannesburg", SchoolID: "meadowlands", Date: "2026-03-05", MinutesAfter: days(7), ServiceTypes: joziServiceTypes},
			wantLoc: "/api/v1/meetings/johannesburg/meadowlands/2026-03-05",
		},
		{
			name: "second sitting that day, minutes within 2 days", body: `{"site":"johannesburg","school":"malvern","date":"2026-03-05.2","minutes_within":"48h"}`,
			wantID: "meeting/johannesburg/malvern/2026-03-05.2", wantQueue: "khula-johannesburg",
			want:    cycle.MeetingInput{SiteID: "johannesburg", SchoolID: "malvern", Date: "2026-03-05.2", MinutesAfter: 48 * time.Hour, ServiceTypes: joziServiceTypes},
			wantLoc: "/api/v1/meetings/johannesburg/malvern/2026-03-05.2",
		},
		{
			name: "moutse", body: `{"site":"moutse","school":"moutse-primary","date":"2026-03-10"}`,
			wantID: "meeting/moutse/moutse-primary/2026-03-10", wantQueue: "khula-moutse",
			want: cycle.MeetingInput{SiteID: "moutse", SchoolID: "moutse-primary", Date: "2026-03-10", MinutesAfter: days(7),
				ServiceTypes: []string{"clinic", "family_strengthening", "food_relief", "home_affairs", "outreach", "sassa", "school_support", "social_development"}},
			wantLoc: "/api/v1/meetings/moutse/moutse-primary/2026-03-10",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			var got launched
			expectStart(f, &got, nil)
			rec := f.do(t, http.MethodPost, "/api/v1/meetings", tc.body)
			wantJSON(t, rec, http.StatusAccepted, nil)
			assert.JSONEq(t, `{"meeting_id":"`+tc.wantID+`"}`, rec.Body.String())
			assert.Equal(t, tc.wantLoc, rec.Header().Get("Location"))
			assert.Equal(t, tc.wantID, got.opts.ID)
			assert.Equal(t, tc.wantQueue, got.opts.TaskQueue)
			assert.Equal(t, enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, got.opts.WorkflowIDReusePolicy)
			assert.Equal(t, workflows.MeetingWorkflowName, got.workflow)
			require.Len(t, got.args, 1)
			assert.Equal(t, tc.want, got.args[0])
		})
	}
}

func TestStartMeetingRejectsBadInput(t *testing.T) {
	cases := []struct {
		name       string
		compressed bool
		body       string
		want       []fe
		bug        string
	}{
		{name: "date not YYYY-MM-DD", body: `{"site":"johannesburg","school":"meadowlands","date":"05/03/2026"}`, want: []fe{{"date", "invalid"}}},
		{name: "no such month", body: `{"site":"johannesburg","school":"meadowlands","date":"2026-13-01"}`, want: []fe{{"date", "invalid"}}},
		{name: "no such day", body: `{"site":"johannesburg","school":"meadowlands","date":"2026-02-30"}`, want: []fe{{"date", "invalid"}}},
		{name: "sitting .1 is the first and is written without a suffix", body: `{"site":"johannesburg","school":"meadowlands","date":"2026-03-05.1"}`, want: []fe{{"date", "invalid"}},
			bug: "datePattern (internal/api/inputs.go:143) accepts .1 although the request doc and the error message say .2 to .99, so the first sitting can be started twice (meeting/.../2026-03-05 and meeting/.../2026-03-05.1)"},
		{name: "date missing", body: `{"site":"johannesburg","school":"meadowlands"}`, want: []fe{{"date", "invalid"}}},
		{name: "unknown site", body: `{"site":"durban","school":"meadowlands","date":"2026-03-05"}`, want: []fe{{"site", "unknown"}}},
		{name: "school of another site", body: `{"site":"johannesburg","school":"moutse-primary","date":"2026-03-05"}`, want: []fe{{"school", "unknown"}}},
		{name: "minutes deadline unparsable", body: `{"site":"johannesburg","school":"meadowlands","date":"2026-03-05","minutes_within":"a week"}`, want: []fe{{"minutes_within", "invalid"}}},
		{name: "minutes deadline under a day", body: `{"site":"johannesburg","school":"meadowlands","date":"2026-03-05","minutes_within":"1h"}`, want: []fe{{"minutes_within", "out_of_range"}}},
		{name: "minutes deadline over 60 days", body: `{"site":"johannesburg","school":"meadowlands","date":"2026-03-05","minutes_within":"1441h"}`, want: []fe{{"minutes_within", "out_of_range"}}},
		{name: "compressed minutes deadline too short", compressed: true, body: `{"site":"johannesburg","school":"meadowlands","date":"2026-03-05","minutes_within":"1ms"}`, want: []fe{{"minutes_within", "out_of_range"}}},
		{name: "everything at once", body: `{"site":"johannesburg","school":"atlantis","date":"tomorrow","minutes_within":"soon"}`,
			want: []fe{{"school", "unknown"}, {"date", "invalid"}, {"minutes_within", "invalid"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(f *fixture) { f.srv.AllowCompressedTime = tc.compressed })
			if tc.bug != "" {
				f.temporal.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(nil, nil).Maybe()
			}
			rec := f.do(t, http.MethodPost, "/api/v1/meetings", tc.body)
			if tc.bug != "" && rec.Code == http.StatusAccepted {
				t.Fatalf("regression: %s (got 202 %s)", tc.bug, rec.Body.String())
			}
			p := wantProblem(t, rec, http.StatusUnprocessableEntity)
			assert.Equal(t, tc.want, fieldsOf(p))
			f.noTemporalCalls(t)
		})
	}
}

func TestStartMeetingTwiceConflicts(t *testing.T) {
	f := newFixture(t)
	var got launched
	expectStart(f, &got, serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "req-1", "run-1"))
	wantProblem(t, f.do(t, http.MethodPost, "/api/v1/meetings", `{"site":"johannesburg","school":"meadowlands","date":"2026-03-05"}`), http.StatusConflict)
}

func TestStartMeetingCompressedDeadline(t *testing.T) {
	f := newFixture(t, compressedTime)
	var got launched
	expectStart(f, &got, nil)
	wantJSON(t, f.do(t, http.MethodPost, "/api/v1/meetings", `{"site":"johannesburg","school":"meadowlands","date":"2026-03-05","minutes_within":"2s"}`), http.StatusAccepted, nil)
	require.Len(t, got.args, 1)
	assert.Equal(t, 2*time.Second, got.args[0].(cycle.MeetingInput).MinutesAfter)
}

// Decoding errors describe what is wrong without repeating what was sent.
func TestDecodeErrorsDoNotEchoInput(t *testing.T) {
	cases := []struct {
		name   string
		path   string
		body   string
		secret string
		status int
		bug    string
	}{
		{name: "bare word inside answers", path: assessmentPath, body: `{"phase":"baseline","respondent":"caregiver","answers":{"note": Thandi-hurt}}`, secret: "Thandi-hurt"},
		{name: "truncated string", path: assessmentPath, body: `{"phase":"baseline","respondent":"caregiver","answers":{"note":"` + secret, secret: secret},
		{name: "answer value of a type Go cannot hold", path: assessmentPath, body: `{"phase":"baseline","respondent":"caregiver","answers":{"n":1e999}}`, secret: "1e999", status: http.StatusUnprocessableEntity},
		{
			name: "date that does not parse", path: "/api/v1/waves", body: `{"site":"johannesburg","number":3,"window_close":"Thandi-hurt"}`, secret: "Thandi-hurt",
			bug: "safeJSONError (internal/api/problem.go:48) only trims before a \"json: \" prefix; a time.Time field's *time.ParseError has none, so the problem detail repeats the value sent (up to 200 characters)",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			rec := f.do(t, http.MethodPost, tc.path, tc.body, "Idempotency-Key", "key-00000002")
			status := tc.status
			if status == 0 {
				status = http.StatusBadRequest
			}
			wantProblem(t, rec, status)
			f.noTemporalCalls(t)
			if tc.bug != "" && strings.Contains(rec.Body.String(), tc.secret) {
				t.Fatalf("regression: %s: %s", tc.bug, rec.Body.String())
			}
			assert.NotContains(t, rec.Body.String(), tc.secret)
		})
	}
}

// A form for a cycle that has closed (the engine no longer runs it) is a
// 409 naming the cycle's outcome, which a fieldworker's queued form shows,
// not the engine's "not found".
func TestSubmitAssessmentToAClosedCycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, f.store.SaveWave(ctx, cycle.WaveRecord{WaveID: cycle.WaveID("johannesburg", 3), SiteID: "johannesburg", Number: 3,
		WindowOpen: now, WindowClose: now.AddDate(0, 1, 0), Status: cycle.WaveOpen, At: now}))
	require.NoError(t, f.store.RecordStage(ctx, cycle.StageRecord{CycleID: "cycle/johannesburg/3/c-0001", WaveID: cycle.WaveID("johannesburg", 3),
		SiteID: "johannesburg", SchoolID: "meadowlands", ChildID: "c-0001", Seq: 9, Stage: cycle.StageClosed, Outcome: cycle.OutcomeNotAssessed, At: now}))
	var got client.UpdateWorkflowOptions
	expectUpdate(f, &got, serviceerror.NewNotFound("workflow not found for ID: cycle/johannesburg/3/c-0001"), nil)
	expectDescribe(f, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)
	rec := f.do(t, http.MethodPost, assessmentPath, assessmentBody, "Idempotency-Key", "tablet-42:form-0010")
	p := wantProblem(t, rec, http.StatusConflict)
	assert.Equal(t, "The cycle has closed", p.Title)
	assert.Contains(t, p.Detail, "not assessed")
}

// Finding 2 of the penetration test: a teacher form, then the same
// Idempotency-Key with teacher_disclosure true, got 200 with the first
// result: the disclosure (a red flag) was dropped silently. The key is now
// bound to its request; the retry of the same request is audited as a replay.
func TestIdempotencyKeyReusedWithADifferentBody(t *testing.T) {
	f := newFixture(t)
	openWave3(t, f)
	ok := func(_ context.Context, v any) error {
		*(v.(*cycle.SubmitAssessmentResult)) = cycle.SubmitAssessmentResult{Remaining: []string{"child"}}
		return nil
	}
	var first, again client.UpdateWorkflowOptions
	expectUpdate(f, &first, nil, ok)
	teacher := `{"phase":"baseline","respondent":"teacher","answers":{"teacher_disclosure":false},"submitted_by":"teacher-3"}`
	disclosure := `{"phase":"baseline","respondent":"teacher","answers":{"teacher_disclosure":true},"submitted_by":"teacher-3"}`
	wantJSON(t, f.do(t, http.MethodPost, assessmentPath, teacher, "Idempotency-Key", "tablet-9:form-0001"), http.StatusOK, nil)

	p := wantProblem(t, f.do(t, http.MethodPost, assessmentPath, disclosure, "Idempotency-Key", "tablet-9:form-0001"), http.StatusUnprocessableEntity)
	assert.Equal(t, []fe{{"Idempotency-Key", "reused"}}, fieldsOf(p))
	f.temporal.AssertNumberOfCalls(t, "UpdateWorkflow", 1)

	expectUpdate(f, &again, nil, ok)
	wantJSON(t, f.do(t, http.MethodPost, assessmentPath, teacher, "Idempotency-Key", "tablet-9:form-0001"), http.StatusOK, nil)
	assert.Equal(t, first.UpdateID, again.UpdateID, "the retry goes to the same Update")
	trail, err := f.store.AuditTrail(context.Background(), "c-0001", 10)
	require.NoError(t, err)
	var actions []string
	for _, e := range trail {
		actions = append(actions, e.Action)
	}
	assert.Equal(t, []string{"write", "replay"}, actions)
}

// Finding 3 of the penetration test: an answers object with 60,000 unknown
// keys (under the 1 MiB body limit) made a field-error list larger than the
// engine's payload limit and blocked the child's cycle. Answer sets are now
// bounded before they reach the workflow.
func TestAnswerSetsAreBoundedBeforeTheEngine(t *testing.T) {
	var many strings.Builder
	many.WriteString(`{"phase":"baseline","respondent":"caregiver","submitted_by":"fw-7","answers":{`)
	for i := range 60000 {
		if i > 0 {
			many.WriteByte(',')
		}
		fmt.Fprintf(&many, `"k%d":0`, i)
	}
	many.WriteString(`}}`)
	require.Less(t, many.Len(), 1<<20, "the attack stays under the body limit")
	long := `{"phase":"baseline","respondent":"caregiver","submitted_by":"fw-7","answers":{"note":"` + strings.Repeat("x", 5000) + `","hunger_bed":0}}`
	badKeys := `{"phase":"baseline","respondent":"caregiver","submitted_by":"fw-7","answers":{"Hunger Bed":0,"../etc":1,"hunger_bed":0}}`
	cases := []struct {
		name, body string
		want       []fe
	}{
		{"60,000 keys", many.String(), []fe{{"answers", "too_many"}}},
		{"a value too long", long, []fe{{"answers.note", "too_long"}}},
		{"keys that are not item IDs", badKeys, []fe{{"answers", "invalid_key"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			rec := f.do(t, http.MethodPost, assessmentPath, tc.body)
			p := wantProblem(t, rec, http.StatusUnprocessableEntity)
			assert.Equal(t, tc.want, fieldsOf(p))
			assert.Less(t, rec.Body.Len(), 4096, "the answer stays small")
			assert.NotContains(t, rec.Body.String(), "xxxx", "no value is echoed")
			f.noTemporalCalls(t)
		})
	}
}

// A request refused with nothing recorded (4xx) releases its key: the
// practitioner corrects the form on the same page and sends it again.
func TestARefusedRequestReleasesItsKey(t *testing.T) {
	f := newFixture(t)
	var first, second client.UpdateWorkflowOptions
	expectUpdate(f, &first, nil, func(context.Context, any) error {
		return temporal.NewApplicationError("1 field(s) invalid", cycle.ErrTypeInvalidInput, []cycle.FieldError{{Field: "answers.hunger_bed", Code: "required", Message: "hunger_bed is required"}})
	})
	wantProblem(t, f.do(t, http.MethodPost, assessmentPath, `{"phase":"baseline","respondent":"caregiver","answers":{},"submitted_by":"fw-7"}`, "Idempotency-Key", "page-key-0001"), http.StatusUnprocessableEntity)
	expectUpdate(f, &second, nil, func(context.Context, any) error { return nil })
	wantJSON(t, f.do(t, http.MethodPost, assessmentPath, `{"phase":"baseline","respondent":"caregiver","answers":{"hunger_bed":0},"submitted_by":"fw-7"}`, "Idempotency-Key", "page-key-0001"), http.StatusOK, nil)
	assert.Equal(t, cycle.Answers{"hunger_bed": 0.0}, second.Args[0].(cycle.SubmitAssessmentInput).Answers)
	// Once taken, the key is bound to the corrected request.
	p := wantProblem(t, f.do(t, http.MethodPost, assessmentPath, `{"phase":"baseline","respondent":"caregiver","answers":{"hunger_bed":3},"submitted_by":"fw-7"}`, "Idempotency-Key", "page-key-0001"), http.StatusUnprocessableEntity)
	assert.Equal(t, []fe{{"Idempotency-Key", "reused"}}, fieldsOf(p))
}

// countingReader counts what the server read of a request body.
type countingReader struct {
	n, limit int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.n >= r.limit {
		return 0, io.EOF
	}
	n := min(int64(len(p)), r.limit-r.n)
	for i := range p[:n] {
		p[i] = ' '
	}
	r.n += n
	return int(n), nil
}

// TestIdempotencyKeyBodyIsBounded: with an Idempotency-Key the body was
// read whole (to hash it) before the 1 MiB limit applied; a signed-in
// user could make the server hold any size in memory. It stops at the
// limit now.
func TestIdempotencyKeyBodyIsBounded(t *testing.T) {
	f := newFixture(t)
	body := &countingReader{limit: 48 << 20}
	req := httptest.NewRequest(http.MethodPost, assessmentPath, body)
	req.Header.Set("Authorization", "Bearer "+f.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "tablet-42:form-big1")
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	wantProblem(t, rec, http.StatusRequestEntityTooLarge)
	assert.LessOrEqual(t, body.n, int64(2<<20), "read %d bytes of a 48 MiB body", body.n)
}
