package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/khula-cop/khula/internal/api"
	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/demo"
	"github.com/khula-cop/khula/internal/scoring"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/users"
)

// The recorded samples of package intake: the same four Moutse rows as ODK
// Central's JSON feed and KoboToolbox's CSV export (row 3 of the JSON, line
// 4 of the CSV names another site).
const (
	centralSample = "../intake/testdata/central.json"
	koboSample    = "../intake/testdata/kobo.csv"
	// joziSample is a Central CSV of Johannesburg rows, one problem each
	// from line 4 on.
	joziSample = "testdata/intake-johannesburg.csv"
)

const (
	moutseIntake = "/api/v1/sites/moutse/intake"
	joziIntake   = "/api/v1/sites/johannesburg/intake"
)

// fakeEngine answers UpdateWorkflow as the cycles would: an Update ID seen
// before is not applied again. With save, an applied form is written to
// the database, as the worker's SaveAssessment does.
type fakeEngine struct {
	f       *fixture
	save    bool
	outcome func(client.UpdateWorkflowOptions) error

	mu      sync.Mutex
	calls   []client.UpdateWorkflowOptions
	applied map[string]bool
}

func (e *fakeEngine) update(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, o)
	var err error
	if e.outcome != nil {
		err = e.outcome(o)
	}
	if err == nil && !e.applied[o.UpdateID] {
		e.applied[o.UpdateID] = true
		if e.save {
			in := o.Args[0].(cycle.SubmitAssessmentInput)
			if serr := e.f.store.SaveAssessment(context.Background(), cycle.AssessmentRecord{CycleID: o.WorkflowID, Phase: in.Phase,
				Respondent: in.Respondent, Answers: in.Answers, SubmittedBy: in.SubmittedBy, SubmittedAt: now}); serr != nil {
				return nil, serr
			}
		}
	}
	return fakeHandle{o: o, err: err}, nil
}

// take returns the calls since the last take, by Update ID.
func (e *fakeEngine) take() []client.UpdateWorkflowOptions {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.calls
	e.calls = nil
	slices.SortFunc(out, func(a, b client.UpdateWorkflowOptions) int { return strings.Compare(a.UpdateID, b.UpdateID) })
	return out
}

type fakeHandle struct {
	o   client.UpdateWorkflowOptions
	err error
}

func (h fakeHandle) WorkflowID() string { return h.o.WorkflowID }
func (h fakeHandle) RunID() string      { return "run-1" }
func (h fakeHandle) UpdateID() string   { return h.o.UpdateID }
func (h fakeHandle) Get(_ context.Context, v any) error {
	if h.err != nil {
		return h.err
	}
	*(v.(*cycle.SubmitAssessmentResult)) = cycle.SubmitAssessmentResult{Remaining: []string{"child"}}
	return nil
}

// newIntakeFixture loads the sites' instruments and adds the children the
// samples name: the two Moutse children of the recorded samples, and at
// Johannesburg ch-a1 and ch-b2 at Meadowlands and ch-1f at Ivory Park.
func newIntakeFixture(t *testing.T) (*fixture, *fakeEngine) {
	t.Helper()
	f := newFixture(t)
	ctx := context.Background()
	reg, err := scoring.New(f.dir.Sites(), f.dir.FS, nil)
	require.NoError(t, err)
	f.srv.Instruments = reg
	for _, site := range []string{"johannesburg", "moutse"} {
		ref, ok := reg.SiteInstrument(site)
		require.True(t, ok)
		f.dir.SetInstrument(site, ref)
	}
	require.NoError(t, demo.EnsureSite(ctx, f.store, mustSite(t, f.dir, "moutse")))
	for _, c := range []struct{ site, school, id string }{
		{"moutse", "moutse-primary", "ch-0bf35071b4"}, {"moutse", "moutse-primary", "ch-5a1c9e2f07"},
		{"johannesburg", "meadowlands", "ch-a1"}, {"johannesburg", "meadowlands", "ch-b2"}, {"johannesburg", "ivory-park", "ch-1f"},
	} {
		require.NoError(t, f.store.AddFamilies(ctx, []store.Family{{
			Caregiver: store.Caregiver{ID: "cg-" + c.id, SiteID: c.site, GivenName: "Demo", FamilyName: "Caregiver", Language: "en", CreatedAt: now},
			Child: store.Child{ID: c.id, SiteID: c.site, SchoolID: c.school, CaregiverID: "cg-" + c.id, GivenName: "Demo", FamilyName: "Child",
				Sex: "female", BirthDate: now.AddDate(-6, 0, 0), Grade: "1", CreatedAt: now},
		}}))
	}
	// Moutse's wave 1 is open, both children at the assess stage.
	require.NoError(t, f.store.SaveWave(ctx, cycle.WaveRecord{WaveID: "wave/moutse/1", SiteID: "moutse", Number: 1, WindowOpen: now,
		WindowClose: now.AddDate(0, 1, 0), Status: cycle.WaveOpen, At: now}))
	for _, child := range []string{"ch-0bf35071b4", "ch-5a1c9e2f07"} {
		require.NoError(t, f.store.RecordStage(ctx, cycle.StageRecord{CycleID: "cycle/moutse/1/" + child, WaveID: "wave/moutse/1", SiteID: "moutse",
			SchoolID: "moutse-primary", ChildID: child, Seq: 2, Stage: cycle.StageAssess, At: now}))
	}
	e := &fakeEngine{f: f, applied: map[string]bool{}}
	f.temporal.On("UpdateWorkflow", mock.Anything, mock.Anything).Return(e.update).Maybe()
	// Wave 4 of joziOutcome does not exist at all: describing it finds nothing.
	expectDescribe(f, 0)
	return f, e
}

func sample(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// upload posts an export with its media type and optional header pairs.
func (f *fixture) upload(t *testing.T, path, contentType, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	return f.do(t, http.MethodPost, path, body, append([]string{"Content-Type", contentType}, header...)...)
}

func wantIntake(t *testing.T, rec *httptest.ResponseRecorder) api.IntakeResult {
	t.Helper()
	var res api.IntakeResult
	wantJSON(t, rec, http.StatusOK, &res)
	return res
}

func updateIDs(calls []client.UpdateWorkflowOptions) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.UpdateID)
	}
	return out
}

// The Update IDs of the three good sample rows.
var sampleIDs = []string{
	"assessment/baseline/caregiver/odk:uuid:6f1c2b7e-3d4a-4c8e-9b1f-2a7d5e8c0f13",
	"assessment/baseline/teacher/odk:uuid:0b9e4d2a-7c15-4f3e-8a6d-91c2b3e4f5a6",
	"assessment/reassessment/nurse/odk:uuid:9a7b6c5d-4e3f-4a1b-8c2d-3e4f5a6b7c8d",
}

// TestIntakeReplaysAreSubmittedOnce uploads the recorded Central JSON and
// Kobo CSV samples again and again: every upload of the same submissions
// makes the same Updates (so the cycles take each once), and once the forms
// are recorded nothing is sent again, whichever format brings them.
func TestIntakeReplaysAreSubmittedOnce(t *testing.T) {
	f, engine := newIntakeFixture(t)
	central, kobo := sample(t, centralSample), sample(t, koboSample)

	res := wantIntake(t, f.upload(t, moutseIntake, "application/json", central))
	assert.Equal(t, "central-json", res.Format)
	assert.Equal(t, 4, res.Rows)
	assert.Equal(t, 3, res.Ready)
	assert.Equal(t, 3, res.Submitted)
	assert.Zero(t, res.Already)
	assert.Equal(t, 1, res.RedFlags, "the caregiver's PHQ-9 item 9 (phq9.self_harm)")
	assert.Equal(t, []api.IntakeRowError{{Row: 3, InstanceID: "uuid:c3d8e1f0-5a2b-4e7c-b9d4-6f1a2c3b4d5e", Field: "cycle_ref",
		Reason: "cycle_ref names another site than moutse"}}, res.Errors)
	first := engine.take()
	assert.Equal(t, sampleIDs, updateIDs(first))
	for _, c := range first {
		assert.Equal(t, cycle.UpdateSubmitAssessment, c.UpdateName)
		assert.Equal(t, client.WorkflowUpdateStageCompleted, c.WaitForStage)
		assert.LessOrEqual(t, len(c.UpdateID), 255, "within Temporal's ID limits")
	}
	assert.Equal(t, "cycle/moutse/1/ch-0bf35071b4", first[0].WorkflowID)
	caregiver := first[0].Args[0].(cycle.SubmitAssessmentInput)
	assert.Equal(t, "baseline", caregiver.Phase)
	assert.Equal(t, "caregiver", caregiver.Respondent)
	assert.Equal(t, "coord (coord), imported from submission uuid:6f1c2b7e-3d4a-4c8e-9b1f-2a7d5e8c0f13", caregiver.SubmittedBy)
	assert.Equal(t, 2.0, caregiver.Answers["phq9_9"])
	assert.Equal(t, true, caregiver.Answers["csg_received"])

	// The same file again: the same Updates, which the cycles answer with
	// their earlier outcome (applied once).
	wantIntake(t, f.upload(t, moutseIntake, "application/json", central))
	again := engine.take()
	assert.Equal(t, updateIDs(first), updateIDs(again))
	assert.Len(t, engine.applied, 3)

	// The Kobo CSV of the same submissions makes the same Updates, with the
	// same forms.
	res = wantIntake(t, f.upload(t, moutseIntake, "text/csv", kobo))
	assert.Equal(t, "kobo-csv", res.Format)
	assert.Equal(t, []api.IntakeRowError{{Row: 4, InstanceID: "uuid:c3d8e1f0-5a2b-4e7c-b9d4-6f1a2c3b4d5e", Field: "cycle_ref",
		Reason: "cycle_ref names another site than moutse"}}, res.Errors)
	fromKobo := engine.take()
	require.Equal(t, updateIDs(first), updateIDs(fromKobo))
	for i := range first {
		assert.Equal(t, first[i].WorkflowID, fromKobo[i].WorkflowID)
		assert.Equal(t, first[i].Args, fromKobo[i].Args, "%s: the same form from either export", first[i].UpdateID)
	}
	assert.Len(t, engine.applied, 3)
}

// TestIntakeAlreadyRecorded: once the worker has saved the forms, an upload
// of the same submissions (in any format) counts them as already submitted
// and sends nothing to the engine, even where the cycle has since closed.
func TestIntakeAlreadyRecorded(t *testing.T) {
	f, engine := newIntakeFixture(t)
	engine.save = true
	res := wantIntake(t, f.upload(t, moutseIntake, "application/json", sample(t, centralSample)))
	assert.Equal(t, 3, res.Submitted)
	assert.Len(t, engine.take(), 3)

	for _, up := range []struct{ file, media string }{{centralSample, "application/json"}, {koboSample, "text/csv"}} {
		res = wantIntake(t, f.upload(t, moutseIntake, up.media, sample(t, up.file)))
		assert.Zero(t, res.Submitted, up.file)
		assert.Equal(t, 3, res.Already, up.file)
		assert.Zero(t, res.RedFlags, "%s: flags are counted when a form is first submitted", up.file)
		assert.Len(t, res.Errors, 1, up.file)
		assert.Empty(t, engine.take(), "%s: nothing is sent again", up.file)
	}

	// Every submitted form is a write in its child's audit trail; the
	// import is one more entry. None holds an answer.
	ctx := context.Background()
	trail, err := f.store.AuditTrail(ctx, "ch-0bf35071b4", 100)
	require.NoError(t, err)
	var whats []string
	for _, e := range trail {
		assert.Equal(t, store.AuditWrite, e.Action)
		whats = append(whats, e.What)
	}
	assert.ElementsMatch(t, []string{
		"baseline caregiver form imported from submission uuid:6f1c2b7e-3d4a-4c8e-9b1f-2a7d5e8c0f13",
		"reassessment nurse form imported from submission uuid:9a7b6c5d-4e3f-4a1b-8c2d-3e4f5a6b7c8d",
	}, whats)
	var imports []store.AuditEntry
	require.NoError(t, f.store.DB(ctx).Where("child_id = '' AND what LIKE 'imported a %'").Order("seq").Find(&imports).Error)
	require.Len(t, imports, 3)
	assert.Equal(t, "imported a central-json export: 4 rows, 3 submitted, 0 already submitted, 0 rejected by the reviewer, 1 not submitted", imports[0].What)
	assert.Equal(t, "imported a kobo-csv export: 4 rows, 0 submitted, 3 already submitted, 0 rejected by the reviewer, 1 not submitted", imports[2].What)
	assert.Equal(t, "moutse", imports[0].SiteID)
	assert.Equal(t, "200", imports[0].Outcome)
}

// joziOutcome is what the Johannesburg cycles answer: ch-b2's child form
// fails validation, ch-a1 takes no reassessment yet, wave 4 does not exist.
func joziOutcome(o client.UpdateWorkflowOptions) error {
	switch {
	case o.WorkflowID == "cycle/johannesburg/3/ch-b2":
		return temporal.NewApplicationError("1 field(s) invalid: cyrm02 is required", cycle.ErrTypeInvalidInput,
			[]cycle.FieldError{{Field: "answers.cyrm02", Code: "required", Message: "cyrm02 is required"}})
	case strings.HasPrefix(o.UpdateID, "assessment/reassessment/"):
		return temporal.NewApplicationError(`this cycle is at stage "assess" and is not accepting reassessment forms`, cycle.ErrTypeConflict)
	case o.WorkflowID == "cycle/johannesburg/4/ch-b2":
		return serviceerror.NewNotFound("workflow not found")
	}
	return nil
}

func joziID(n int) string { return "uuid:1a1a1a1a-0000-4000-8000-00000000000" + string(rune('0'+n)) }

// TestIntakeRowErrors: every row that is not submitted is listed by its
// line with why; the others are submitted.
func TestIntakeRowErrors(t *testing.T) {
	f, engine := newIntakeFixture(t)
	engine.outcome = joziOutcome
	rec := f.upload(t, joziIntake, "text/csv", sample(t, joziSample))
	res := wantIntake(t, rec)
	assert.Equal(t, "central-csv", res.Format)
	assert.Equal(t, 8, res.Rows)
	assert.Equal(t, 5, res.Ready)
	assert.Equal(t, 2, res.Submitted, "ch-a1's and ch-1f's teacher forms")
	assert.Equal(t, 1, res.Rejected)
	assert.Equal(t, 1, res.RedFlags, "ch-a1's teacher reports a disclosure")
	assert.Zero(t, res.Unfinished)
	want := []api.IntakeRowError{
		{Row: 4, InstanceID: joziID(3), Field: "phase"},
		{Row: 5, InstanceID: joziID(4), Reason: "1 field(s) invalid: cyrm02 is required", Status: 422,
			Errors: []cycle.FieldError{{Field: "answers.cyrm02", Code: "required", Message: "cyrm02 is required"}}},
		{Row: 6, InstanceID: joziID(5), Reason: "the reviewer rejected this submission in ODK Central or KoboToolbox: not submitted"},
		{Row: 7, InstanceID: joziID(6), Reason: `this cycle is at stage "assess" and is not accepting reassessment forms`, Status: 409},
		{Row: 8, InstanceID: joziID(7), Field: "cycle_ref", Reason: "no such child at this site", Status: 404},
		{Row: 9, InstanceID: joziID(8), Reason: "no running cycle for this child in wave 4: it may not exist or may have closed", Status: 404},
	}
	require.Len(t, res.Errors, len(want), "%+v", res.Errors)
	assert.NotEmpty(t, res.Errors[0].Reason)
	res.Errors[0].Reason = ""
	assert.Equal(t, want, res.Errors)
	assert.NotContains(t, rec.Body.String(), "midterm", "a reason repeats no value")
	assert.NotContains(t, rec.Body.String(), "Demo", "no names")
	assert.Equal(t, []string{
		"assessment/baseline/child/odk:" + joziID(4), "assessment/baseline/teacher/odk:" + joziID(1),
		"assessment/baseline/teacher/odk:" + joziID(2), "assessment/baseline/teacher/odk:" + joziID(8),
		"assessment/reassessment/nurse/odk:" + joziID(6),
	}, updateIDs(engine.take()), "rejected rows and rows out of scope never reach the engine")
}

// TestIntakeSchoolScope: a practitioner of Meadowlands uploads a file with
// an Ivory Park row: that row is refused, the others go on.
func TestIntakeSchoolScope(t *testing.T) {
	f, engine := newIntakeFixture(t)
	engine.outcome = joziOutcome
	tok := tokenFor(t, f, users.Spec{Username: "sw", Role: auth.Practitioner, Practice: "social_worker", DisplayName: "Social worker",
		Sites: []string{"johannesburg"}, Schools: []string{"meadowlands"}})
	res := wantIntake(t, f.upload(t, joziIntake, "text/csv", sample(t, joziSample), "Authorization", "Bearer "+tok))
	assert.Equal(t, 1, res.Submitted)
	assert.Equal(t, 4, res.Ready)
	var row3 *api.IntakeRowError
	for i := range res.Errors {
		if res.Errors[i].Row == 3 {
			row3 = &res.Errors[i]
		}
	}
	require.NotNil(t, row3, "%+v", res.Errors)
	assert.Equal(t, api.IntakeRowError{Row: 3, InstanceID: joziID(2), Field: "cycle_ref", Reason: "child not in your schools", Status: 403}, *row3)
	calls := engine.take()
	assert.NotContains(t, updateIDs(calls), "assessment/baseline/teacher/odk:"+joziID(2))
	for _, c := range calls {
		assert.True(t, strings.HasPrefix(c.Args[0].(cycle.SubmitAssessmentInput).SubmittedBy, "Social worker (sw), imported from submission uuid:"))
	}
}

// TestIntakeDryRun reads and checks the file and submits nothing.
func TestIntakeDryRun(t *testing.T) {
	f, engine := newIntakeFixture(t)
	res := wantIntake(t, f.upload(t, joziIntake+"?dry_run=true&format=central-csv", "text/csv", sample(t, joziSample)))
	assert.True(t, res.DryRun)
	assert.Equal(t, 5, res.Ready)
	assert.Zero(t, res.Submitted)
	var rows []int
	for _, e := range res.Errors {
		rows = append(rows, e.Row)
	}
	assert.Equal(t, []int{4, 6, 8}, rows, "the file's and the scope's problems only")
	assert.Empty(t, engine.take())

	// The same as a multipart upload (the field file).
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, err := mw.CreateFormFile("file", "submissions.csv")
	require.NoError(t, err)
	_, _ = w.Write([]byte(sample(t, joziSample)))
	require.NoError(t, mw.Close())
	res2 := wantIntake(t, f.upload(t, joziIntake+"?dry_run=1", mw.FormDataContentType(), body.String()))
	assert.Equal(t, res, res2)
	assert.Empty(t, engine.take())
	var audits int64
	require.NoError(t, f.store.DB(context.Background()).Model(&store.AuditEntry{}).Where("what LIKE 'imported%'").Count(&audits).Error)
	assert.Zero(t, audits, "a dry run writes nothing")
}

// TestIntakeEngineDown: after the engine fails, no further row is tried;
// those rows are counted as unfinished, to be sent again.
func TestIntakeEngineDown(t *testing.T) {
	f, engine := newIntakeFixture(t)
	engine.outcome = func(client.UpdateWorkflowOptions) error { return serviceerror.NewUnavailable("engine down") }
	res := wantIntake(t, f.upload(t, moutseIntake, "application/json", sample(t, centralSample)))
	assert.Zero(t, res.Submitted)
	calls := engine.take()
	assert.NotEmpty(t, calls)
	assert.Equal(t, 3-len(calls), res.Unfinished, "every row not tried is unfinished")
	for _, e := range res.Errors {
		if e.Row == 3 {
			continue
		}
		assert.True(t, strings.HasPrefix(e.Reason, "not submitted: "), e.Reason)
		assert.Contains(t, e.Reason, "send the same file again")
	}
	// The caregiver's and the nurse's forms are of one cycle, sent in row
	// order: the nurse's is never tried after the caregiver's failed.
	assert.NotContains(t, updateIDs(calls), sampleIDs[2])
}

func TestIntakeRefusals(t *testing.T) {
	f, engine := newIntakeFixture(t)
	ctx := context.Background()
	tokens := map[string]string{}
	for name, spec := range map[string]users.Spec{
		"manager":      {Role: auth.ProgrammeManager},
		"ops":          {Role: auth.Ops},
		"advisor":      {Role: auth.Advisor},
		"coord-moutse": {Role: auth.SiteCoordinator, Sites: []string{"moutse"}},
	} {
		spec.Username = name
		_, err := users.Create(ctx, f.store, f.dir, spec)
		require.NoError(t, err)
		tokens[name], err = users.NewToken(ctx, f.store, name, "t", 0)
		require.NoError(t, err)
	}
	jozi := sample(t, joziSample)
	for who, tok := range tokens {
		if who == "coord-moutse" {
			continue
		}
		p := wantProblem(t, f.upload(t, joziIntake, "text/csv", jozi, "Authorization", "Bearer "+tok), http.StatusForbidden)
		assert.Contains(t, p.Detail, "cannot use this", who)
	}
	p := wantProblem(t, f.upload(t, joziIntake, "text/csv", jozi, "Authorization", "Bearer "+tokens["coord-moutse"]), http.StatusForbidden)
	assert.Equal(t, "you do not work at this site", p.Detail)

	big := `{"value":[` + strings.Repeat(" ", api.MaxIntakeBody) + `]}`
	wantProblem(t, f.upload(t, joziIntake, "application/json", big), http.StatusRequestEntityTooLarge)
	wantProblem(t, f.upload(t, joziIntake, "application/xml", jozi), http.StatusUnsupportedMediaType)
	wantProblem(t, f.upload(t, "/api/v1/sites/durban/intake", "text/csv", jozi), http.StatusNotFound)
	p = wantProblem(t, f.upload(t, joziIntake+"?format=xlsx", "text/csv", jozi), http.StatusUnprocessableEntity)
	assert.Equal(t, []fe{{"format", "invalid_choice"}}, fieldsOf(p))
	p = wantProblem(t, f.upload(t, joziIntake+"?dry_run=maybe", "text/csv", jozi), http.StatusUnprocessableEntity)
	assert.Equal(t, []fe{{"dry_run", "invalid"}}, fieldsOf(p))
	p = wantProblem(t, f.upload(t, joziIntake, "text/csv", "name,age\nThandi,6\n"), http.StatusUnprocessableEntity)
	assert.Equal(t, []fe{{"file", "unknown_format"}}, fieldsOf(p))
	assert.NotContains(t, p.Detail, "Thandi")
	// A JSON feed cut short: nothing of it is submitted.
	central := sample(t, centralSample)
	wantProblem(t, f.upload(t, moutseIntake, "application/json", central[:len(central)/2]), http.StatusUnprocessableEntity)
	var bigPart bytes.Buffer
	bw := multipart.NewWriter(&bigPart)
	w, err := bw.CreateFormFile("file", "submissions.json")
	require.NoError(t, err)
	_, _ = w.Write([]byte(big))
	require.NoError(t, bw.Close())
	wantProblem(t, f.upload(t, joziIntake, bw.FormDataContentType(), bigPart.String()), http.StatusRequestEntityTooLarge)
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	require.NoError(t, mw.WriteField("other", "x"))
	require.NoError(t, mw.Close())
	p = wantProblem(t, f.upload(t, joziIntake, mw.FormDataContentType(), mp.String()), http.StatusUnprocessableEntity)
	assert.Equal(t, []fe{{"file", "required"}}, fieldsOf(p))
	assert.Empty(t, engine.take())

	// Without the instruments loaded the import cannot type the answers.
	f.srv.Instruments = nil
	wantProblem(t, f.upload(t, joziIntake, "text/csv", jozi), http.StatusServiceUnavailable)
}

// TestIntakeCentralZip reads ODK Central's submissions.csv.zip as it is
// downloaded: the form's CSV inside it.
func TestIntakeCentralZip(t *testing.T) {
	f, engine := newIntakeFixture(t)
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	for name, file := range map[string]string{"khula_moutse.csv": "../intake/testdata/central.csv", "khula_moutse-repeat.csv": koboSample} {
		w, err := zw.Create(name)
		require.NoError(t, err)
		_, _ = w.Write([]byte(sample(t, file)))
	}
	require.NoError(t, zw.Close())
	res := wantIntake(t, f.upload(t, moutseIntake+"?dry_run=true", "application/zip", zipped.String()))
	assert.Equal(t, "central-csv", res.Format)
	assert.Equal(t, 3, res.Ready)
	assert.Empty(t, engine.take())
	res = wantIntake(t, f.upload(t, moutseIntake, "application/zip", zipped.String()))
	assert.Equal(t, 3, res.Submitted)
	assert.Equal(t, sampleIDs, updateIDs(engine.take()))
	wantProblem(t, f.upload(t, moutseIntake, "application/zip", "PK\x03\x04 not a zip"), http.StatusUnprocessableEntity)
}
