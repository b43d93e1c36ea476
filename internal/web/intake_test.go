package web_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

// newIntakeFixture is newFixture with the API given the instruments (the
// intake types each answer by the site's instrument), and two children
// whose IDs fit the form contract: ch-0a1 at Meadowlands and ch-0a2 at
// Alexandra, both in wave 2.
func newIntakeFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, false, withAPIInstruments())
	ctx := context.Background()
	for _, c := range []struct{ id, school string }{{"ch-0a1", "meadowlands"}, {"ch-0a2", "alexandra"}} {
		require.NoError(t, f.store.AddFamilies(ctx, []store.Family{{
			Caregiver: store.Caregiver{ID: "cg-" + c.id, SiteID: "johannesburg", GivenName: "Caregiver", FamilyName: "Of " + c.id, Language: "zu", CreatedAt: now},
			Child: store.Child{ID: c.id, SiteID: "johannesburg", SchoolID: c.school, CaregiverID: "cg-" + c.id, GivenName: secretName, FamilyName: "Dlamini",
				Sex: "female", BirthDate: time.Date(2020, 5, 1, 0, 0, 0, 0, time.UTC), Grade: "R", CreatedAt: now},
		}}))
	}
	return f
}

// A Central CSV export: a teacher's form for ch-0a1 (with a disclosure),
// one for ch-0a2 at Alexandra, and a row with an unknown phase.
const intakeExport = "SubmissionDate,cycle_ref,phase,respondent,teacher-edu_number,teacher-edu_reading,teacher-teacher_disclosure,meta-instanceID,KEY\n" +
	"2026-02-20T08:01:00.000Z,johannesburg/2/ch-0a1,baseline,teacher,partly,achieved,yes,uuid:2b2b2b2b-0000-4000-8000-000000000001,uuid:2b2b2b2b-0000-4000-8000-000000000001\n" +
	"2026-02-20T08:02:00.000Z,johannesburg/2/ch-0a2,baseline,teacher,achieved,achieved,no,uuid:2b2b2b2b-0000-4000-8000-000000000002,uuid:2b2b2b2b-0000-4000-8000-000000000002\n" +
	"2026-02-20T08:03:00.000Z,johannesburg/2/ch-0a1,midterm,teacher,achieved,achieved,no,uuid:2b2b2b2b-0000-4000-8000-000000000003,uuid:2b2b2b2b-0000-4000-8000-000000000003\n"

// upload posts the intake form with a file, as the browser does.
func (b *browser) upload(path, fileName, content string, fields map[string]string) page {
	b.f.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	require.NoError(b.f.t, mw.WriteField("_csrf", b.csrf))
	for k, v := range fields {
		require.NoError(b.f.t, mw.WriteField(k, v))
	}
	w, err := mw.CreateFormFile("file", fileName)
	require.NoError(b.f.t, err)
	_, _ = w.Write([]byte(content))
	require.NoError(b.f.t, mw.Close())
	res, err := b.client.Post(b.f.srv.URL+path, mw.FormDataContentType(), &body)
	require.NoError(b.f.t, err)
	return read(b.f.t, res)
}

// TestIntakePage: a practitioner of Meadowlands uploads an export; the form
// in scope goes to its cycle as the API's Update, and the page lists the
// rows that did not, by row, with why.
func TestIntakePage(t *testing.T) {
	f := newIntakeFixture(t)
	b := f.as("social-worker")
	res := b.get("/sites/johannesburg")
	require.Equal(t, http.StatusOK, res.status)
	assert.Contains(t, res.body, `<a href="/sites/johannesburg/intake">`, "the site overview links to the page")
	res = b.get("/sites/johannesburg/intake")
	require.Equal(t, http.StatusOK, res.status)
	assert.True(t, contains(res.body, `enctype="multipart/form-data"`, `name="_csrf" value="`+b.csrf+`"`, `<option value="kobo-csv">`, `name="dry_run"`,
		"khula instrument xlsform --site johannesburg"))

	// A check first: nothing reaches the engine.
	res = b.upload("/sites/johannesburg/intake", "submissions.csv", intakeExport, map[string]string{"format": "auto", "dry_run": "on"})
	require.Equal(t, http.StatusOK, res.status, excerpt(res.body))
	assert.Contains(t, res.body, "Checked 3 rows: 1 ready to submit")
	assert.Empty(t, f.temporal.Calls)

	var got client.UpdateWorkflowOptions
	f.expectUpdate(&got, func(v any) error {
		*(v.(*cycle.SubmitAssessmentResult)) = cycle.SubmitAssessmentResult{Remaining: []string{"caregiver"}}
		return nil
	})
	res = b.upload("/sites/johannesburg/intake", "submissions.csv", intakeExport, map[string]string{"format": "central-csv"})
	require.Equal(t, http.StatusOK, res.status, excerpt(res.body))
	assert.Equal(t, "cycle/johannesburg/2/ch-0a1", got.WorkflowID)
	assert.Equal(t, "assessment/baseline/teacher/odk:uuid:2b2b2b2b-0000-4000-8000-000000000001", got.UpdateID)
	in := got.Args[0].(cycle.SubmitAssessmentInput)
	assert.Equal(t, cycle.Answers{"edu_number": "partly", "edu_reading": "achieved", "teacher_disclosure": true}, in.Answers)
	assert.Equal(t, "Social worker (social-worker), imported from submission uuid:2b2b2b2b-0000-4000-8000-000000000001", in.SubmittedBy)

	assert.Contains(t, res.body, "Submitted 1 of 3 rows")
	assert.Contains(t, res.body, "<strong>1 red flag(s)</strong>")
	assert.Regexp(t, `<tr><td class="n">3</td><td class="id">uuid:2b2b2b2b-0000-4000-8000-000000000002</td><td><code>cycle_ref</code>: child not in your schools</td></tr>`, res.body)
	assert.Regexp(t, `<tr><td class="n">4</td><td class="id">uuid:2b2b2b2b-0000-4000-8000-000000000003</td><td><code>phase</code>: [^<]+</td></tr>`, res.body)
	assert.NotContains(t, res.body, "midterm", "no answer is repeated")
	assert.NotContains(t, res.body, secretName)
	assert.Regexp(t, `<option value="central-csv" selected>`, res.body, "the choices are kept")

	// No file, or a file that is no export: said on the page.
	res = b.upload("/sites/johannesburg/intake", "empty.csv", "", nil)
	assert.Equal(t, http.StatusUnprocessableEntity, res.status)
	assert.Contains(t, res.body, "Choose the export file")
	res = b.upload("/sites/johannesburg/intake", "list.csv", "name,age\nsomeone,6\n", nil)
	assert.Equal(t, http.StatusUnprocessableEntity, res.status)
	assert.Contains(t, res.body, "The file is not an ODK Central or KoboToolbox export")

	// A forged token is refused before anything is read.
	b.csrf = "forged"
	res = b.upload("/sites/johannesburg/intake", "submissions.csv", intakeExport, nil)
	assert.Equal(t, http.StatusForbidden, res.status)
	assert.Len(t, f.temporal.Calls, 1)
}
