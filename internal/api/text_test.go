package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.temporal.io/sdk/client"

	"github.com/khula-cop/khula/internal/cycle"
)

// Finding 6 of the penetration test (in part): NUL bytes, zero-width and
// ANSI control characters were accepted in reasons and submitted_by. Every
// JSON body is now checked, field by field, before anything else.
func TestHiddenCharactersAreRefused(t *testing.T) {
	cases := []struct {
		name, path, body string
		want             []fe
	}{
		{"NUL in submitted_by", assessmentPath, `{"phase":"baseline","respondent":"caregiver","answers":{"hunger_bed":0},"submitted_by":"fw-7\u0000admin"}`,
			[]fe{{"submitted_by", "hidden_characters"}}},
		{"a direction mark in an answer", assessmentPath, `{"phase":"baseline","respondent":"caregiver","answers":{"hunger_bed":0,"note":"ok \u202e"},"submitted_by":"fw-7"}`,
			[]fe{{"answers.note", "hidden_characters"}}},
		{"an ANSI escape in a withdrawal reason", "/api/v1/children/johannesburg/c-0001/consent/withdraw", `{"reason":"caregiver asked \u001b[2J","recorded_by":"sw"}`,
			[]fe{{"reason", "hidden_characters"}}},
		{"a zero-width space in recorded_by", "/api/v1/children/johannesburg/c-0001/consent/withdraw", `{"reason":"caregiver asked at the meeting","recorded_by":"s\u200bw"}`,
			[]fe{{"recorded_by", "hidden_characters"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			p := wantProblem(t, f.do(t, http.MethodPost, tc.path, tc.body), http.StatusUnprocessableEntity)
			assert.Equal(t, tc.want, fieldsOf(p))
			f.noTemporalCalls(t)
		})
	}
	t.Run("line breaks and tabs are text", func(t *testing.T) {
		f := newFixture(t)
		var got client.UpdateWorkflowOptions
		expectUpdate(f, &got, nil, func(context.Context, any) error { return nil })
		rec := f.do(t, http.MethodPost, assessmentPath, `{"phase":"baseline","respondent":"caregiver","answers":{"hunger_bed":0,"note":"line one\nline two\tend"},"submitted_by":"fw-7"}`)
		assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.Equal(t, "line one\nline two\tend", got.Args[0].(cycle.SubmitAssessmentInput).Answers["note"])
	})
}
