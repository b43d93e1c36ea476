package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"
	"go.temporal.io/sdk/temporal"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

// expectUpdate makes the next UpdateWorkflow capture its options and answer
// with get (the workflow's validator and handler).
func (f *fixture) expectUpdate(got *client.UpdateWorkflowOptions, get func(v any) error) {
	h := &mocks.WorkflowUpdateHandle{}
	h.On("Get", mock.Anything, mock.Anything).Return(func(_ context.Context, v any) error { return get(v) }).Once()
	f.temporal.On("UpdateWorkflow", mock.Anything, mock.Anything).
		Run(func(args mock.Arguments) { *got = args.Get(1).(client.UpdateWorkflowOptions) }).Return(h, nil).Once()
}

const nurseForm = "/cycles/johannesburg/2/" + childAssess + "/forms/nurse"

// TestAssessmentForm walks a nurse's form: skip logic redraws it, the
// validator's field errors show next to each field, and valid answers go
// to the cycle as the API's Update with the form's idempotency key.
func TestAssessmentForm(t *testing.T) {
	f := newFixture(t, false)
	b := f.as("social-worker")
	res := b.get(nurseForm + "?phase=baseline")
	require.Equal(t, http.StatusOK, res.status)
	assert.Contains(t, res.body, `name="a.rthb_seen"`)
	// Items the skip logic hides are drawn hidden, for the page's script
	// to show on the device as soon as an answer calls for them.
	assert.Contains(t, res.body, `data-item="imm_up_to_date" hidden`, "shown only once the booklet was seen")
	assert.Contains(t, res.body, `data-item="chronic_treated" hidden`)
	assert.NotContains(t, res.body, `data-item="rthb_seen" hidden`)

	// "Update the form" with the booklet seen and a chronic illness: both follow-up items appear, answers kept.
	form := url.Values{"phase": {"baseline"}, "lang": {"zu"}, "action": {"update"}, "a.rthb_seen": {"true"}, "a.chronic_illness": {"true"}, "a.weight_kg": {"20,5"}}
	res = b.submit(nurseForm, form)
	require.Equal(t, http.StatusOK, res.status)
	assert.True(t, contains(res.body, `data-item="imm_up_to_date">`, `data-item="chronic_treated">`, `data-item="rthb_last_visit">`))
	assert.Regexp(t, `id="i-rthb_seen" name="a.rthb_seen" value="true" checked`, res.body)
	assert.Contains(t, res.body, `value="20.5"`, "a decimal comma is read as a number")
	assert.Regexp(t, `<option value="zu" lang="zu" selected>isiZulu</option>`, res.body)

	// Submit: the validator rejects two answers; each message shows next to its field.
	var got client.UpdateWorkflowOptions
	f.expectUpdate(&got, func(any) error {
		return temporal.NewApplicationError("2 invalid answer(s)", cycle.ErrTypeInvalidInput, []cycle.FieldError{
			{Field: "answers.height_cm", Code: "required", Message: "height_cm is required"},
			{Field: "answers.weight_kg", Code: "out_of_range", Message: "weight_kg must be from 5 to 80 kg"},
		})
	})
	form.Set("action", "submit")
	form.Set("a.weight_kg", "500")
	form.Set("a.imm_up_to_date", "true")
	form.Set("a.chronic_treated", "false")
	form.Set("_key", "form-key-0001")
	res = b.submit(nurseForm, form)
	require.Equal(t, http.StatusUnprocessableEntity, res.status, excerpt(res.body))
	// The page names items by their label in the form's language, not by id.
	assert.Contains(t, res.body, `<p class="err" id="e-weight_kg">“Weight” must be from 5 to 80 kg</p>`)
	assert.Contains(t, res.body, `<p class="err" id="e-height_cm">“Height (standing)” is required</p>`)
	assert.Regexp(t, `id="i-weight_kg" name="a.weight_kg" value="500"[^>]*aria-invalid="true" aria-describedby="e-weight_kg"`, res.body)
	assert.Contains(t, res.body, `<a href="#i-height_cm">“Height (standing)” is required</a>`, "the summary links to the field")
	assert.Equal(t, "cycle/johannesburg/2/"+childAssess, got.WorkflowID)
	assert.Equal(t, "assessment/baseline/nurse/form-key-0001", got.UpdateID, "the form's key is the Update's")
	in := got.Args[0].(cycle.SubmitAssessmentInput)
	assert.Equal(t, "nurse", in.Respondent)
	assert.Equal(t, "Social worker (social-worker)", in.SubmittedBy)
	assert.Equal(t, cycle.Answers{"rthb_seen": true, "chronic_illness": true, "weight_kg": 500.0, "imm_up_to_date": true, "chronic_treated": false}, in.Answers)

	// The page shown again carries a new key: the corrected form is another
	// request, and a key is bound to the request it first came with.
	key := regexp.MustCompile(`name="_key" value="([^"]+)"`).FindStringSubmatch(res.body)
	require.Len(t, key, 2, "the form shown again has a key")
	assert.NotEqual(t, "form-key-0001", key[1])
	form.Set("_key", key[1])

	// Answers hidden by the skip logic are never sent.
	form.Set("a.rthb_seen", "false")
	form.Set("a.weight_kg", "20.5")
	form.Set("a.height_cm", "112")
	form.Set("a.vision", "pass")
	f.expectUpdate(&got, func(v any) error {
		*(v.(*cycle.SubmitAssessmentResult)) = cycle.SubmitAssessmentResult{Remaining: []string{"caregiver"}}
		return nil
	})
	res = b.submit(nurseForm, form)
	require.Equal(t, http.StatusSeeOther, res.status, excerpt(res.body))
	assert.Equal(t, "/cycles/johannesburg/2/"+childAssess+"?ok=form", res.header.Get("Location"))
	in = got.Args[0].(cycle.SubmitAssessmentInput)
	assert.Equal(t, cycle.Answers{"rthb_seen": false, "chronic_illness": true, "chronic_treated": false, "weight_kg": 20.5, "height_cm": 112.0, "vision": "pass"}, in.Answers)

	// A form already submitted (409) says so at the top.
	f.expectUpdate(&got, func(any) error {
		return temporal.NewApplicationError("the baseline nurse form was already submitted", cycle.ErrTypeConflict)
	})
	res = b.submit(nurseForm, form)
	assert.Equal(t, http.StatusConflict, res.status)
	assert.Contains(t, res.body, "already submitted")
}

func TestFormLanguagesAndRespondents(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	// A Moutse child: the site's variant labels its own items in Sepedi and isiNdebele.
	require.NoError(t, f.store.AddFamilies(ctx, []store.Family{{
		Caregiver: store.Caregiver{ID: "cg-ch-moutse01", SiteID: "moutse", GivenName: "C", FamilyName: "G", Language: "nso", CreatedAt: now},
		Child: store.Child{ID: "ch-moutse01", SiteID: "moutse", SchoolID: "moutse-primary", CaregiverID: "cg-ch-moutse01", GivenName: "C", FamilyName: "M",
			Sex: "male", BirthDate: now.AddDate(-6, 0, 0), Grade: "1", CreatedAt: now},
	}}))
	require.NoError(t, f.store.SaveWave(ctx, cycle.WaveRecord{WaveID: "wave/moutse/1", SiteID: "moutse", Number: 1, WindowOpen: now, WindowClose: now.AddDate(0, 1, 0), Status: cycle.WaveOpen, At: now}))
	require.NoError(t, f.store.RecordStage(ctx, cycle.StageRecord{CycleID: "cycle/moutse/1/ch-moutse01", WaveID: "wave/moutse/1", SiteID: "moutse",
		SchoolID: "moutse-primary", ChildID: "ch-moutse01", Seq: 2, Stage: cycle.StageAssess, Awaiting: []string{"caregiver"}, At: now}))
	b := f.as("coord-moutse")
	res := b.get("/cycles/moutse/1/ch-moutse01/forms/caregiver?lang=nso")
	require.Equal(t, http.StatusOK, res.status, excerpt(res.body))
	assert.Contains(t, res.body, `<label for="i-clinic_distance_km" lang="nso">Bokgole go ya kliniking ye kgauswi`)
	assert.Contains(t, res.body, `<span lang="nso">Pompi ka ntlong</span>`, "choices in Sepedi too")
	assert.Contains(t, res.body, `<legend>SDQ item 1 (prosocial)</legend>`, "items without Sepedi wording fall back to English, marked as such")
	assert.Regexp(t, `<option value="nso" lang="nso" selected>Sepedi</option>`, res.body)
	// The form's own words follow the language too (internal/uitext).
	assert.Contains(t, res.body, `<button type="submit" name="action" value="submit" lang="nso">Romela foromo</button>`)
	assert.Contains(t, res.body, `<span lang="nso">Ee</span>`, "yes and no in Sepedi")
	// The offline script's words (saved, red flag alert) come in the form's language too.
	assert.Contains(t, res.body, `"offline.saved":"E bolokilwe sedirišweng se`)
	assert.Contains(t, res.body, `"errors_other":"Ga go selo seo se ngwadilwego: hle lokiša dikarabo tše {n}"`)
	// An unknown language falls back to the site's default (Sepedi at Moutse); English can be chosen.
	res = b.get("/cycles/moutse/1/ch-moutse01/forms/caregiver?lang=xx")
	assert.Regexp(t, `<option value="nso" lang="nso" selected>Sepedi</option>`, res.body)
	res = b.get("/cycles/moutse/1/ch-moutse01/forms/caregiver?lang=en")
	assert.Contains(t, res.body, `<label for="i-clinic_distance_km">Distance to the nearest clinic`)

	res = b.get("/cycles/moutse/1/ch-moutse01/forms/priest")
	assert.Equal(t, http.StatusNotFound, res.status)
}

func TestLaunchWaveForm(t *testing.T) {
	f := newFixture(t, true)
	b := f.as("manager")
	res := b.get("/waves")
	require.Equal(t, http.StatusOK, res.status)
	assert.Contains(t, res.body, `id="f-day_length"`, "compressed time is offered when the server allows it")
	assert.Contains(t, res.body, `value="3"`, "the next wave number is suggested")

	// A bad day length: the API's field error next to the field, nothing started.
	res = b.submit("/waves", url.Values{"site": {"johannesburg"}, "number": {"3"}, "day_length": {"fast"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	assert.Regexp(t, `<p class="err" id="e-day_length">day_length must be a duration`, res.body)

	var opts client.StartWorkflowOptions
	var in cycle.WaveInput
	f.temporal.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Run(func(args mock.Arguments) {
			opts = args.Get(1).(client.StartWorkflowOptions)
			in = args.Get(3).(cycle.WaveInput)
			// The wave workflow records itself.
			require.NoError(t, f.store.SaveWave(context.Background(), cycle.WaveRecord{WaveID: opts.ID, SiteID: in.SiteID, Number: in.Number,
				WindowOpen: in.WindowOpen, WindowClose: in.WindowClose, Status: cycle.WaveLaunching, At: now}))
		}).Return(nil, nil).Once()
	res = b.submit("/waves", url.Values{"site": {"johannesburg"}, "number": {"3"}, "day_length": {"2s"}, "window_close": {"2026-03-20"}})
	require.Equal(t, http.StatusSeeOther, res.status, excerpt(res.body))
	assert.Equal(t, "/waves/johannesburg/3?ok=launched", res.header.Get("Location"))
	assert.Equal(t, "wave/johannesburg/3", opts.ID)
	assert.Equal(t, "2026-03-20T21:59:59Z", in.WindowClose.Format("2006-01-02T15:04:05Z07:00"), "the end of the day in Johannesburg")
	assert.Equal(t, "2s", in.DayLength.String())

	// Practitioners cannot launch.
	sw := f.as("social-worker")
	assert.Equal(t, http.StatusForbidden, sw.submit("/waves", url.Values{"site": {"johannesburg"}, "number": {"4"}}).status)
}

func TestWaveDashboard(t *testing.T) {
	f := newFixture(t, false)
	b := f.as("manager")
	res := b.get("/waves/johannesburg/2")
	require.Equal(t, http.StatusOK, res.status)
	assert.True(t, contains(res.body, `<svg class="chart"`, `aria-labelledby="progress-t progress-d"`, `<svg class="chart heat"`,
		"Education and learning", `href="/waves/johannesburg/2/schools/meadowlands"`))
	// Meadowlands: the child awaiting a plan is high in education, the child in follow-up moderate: 2 of 2.
	assert.Contains(t, res.body, "Education and learning, Meadowlands Primary (demo): 2 of 2.")
	res = b.get("/compare?site=johannesburg&a=1&b=2")
	require.Equal(t, http.StatusOK, res.status)
	assert.True(t, contains(res.body, `id="compare-t"`, "Wave 1", "Wave 2"))
	// Education: wave 1 two of three at risk (67%), wave 2 two of two (100%).
	assert.Regexp(t, `Education and learning</th><td class="n">67%</td><td class="n">100%</td><td class="n worse">(\+|&#43;)33 points</td>`, res.body)

	res = b.get("/waves/johannesburg/2/schools/meadowlands")
	require.Equal(t, http.StatusOK, res.status)
	assert.True(t, contains(res.body, childPlan, childFollow, childAssess, `<span class="badge high">H</span>`))
	trail, err := f.store.AuditTrail(context.Background(), childPlan, 10)
	require.NoError(t, err)
	require.NotEmpty(t, trail, "the drill-down's domain results are an audited read")
}

// TestMeetingMinutes records a plan per child through the meeting page.
func TestMeetingMinutes(t *testing.T) {
	f := newFixture(t, false)
	b := f.as("social-worker")
	res := b.get(meetingPage)
	require.Equal(t, http.StatusOK, res.status)
	assert.True(t, contains(res.body, childPlan, `<span class="badge high">Education: High</span>`, `<span class="badge moderate">Nutrition: Moderate</span>`,
		`name="p0.cycle" value="cycle/johannesburg/2/`+childPlan+`"`, "Overdue referrals to discuss"))
	// The first action rows start on the child's at-risk domains.
	assert.Regexp(t, `name="p0.a0.domain"><option value="education" selected>`, res.body)

	// The validator rejects the service type; the message shows on that row.
	var got client.UpdateWorkflowOptions
	f.expectUpdate(&got, func(any) error {
		return temporal.NewApplicationError("invalid", cycle.ErrTypeInvalidInput, []cycle.FieldError{
			{Field: "plans[0].actions[1].service_type", Code: "invalid_choice", Message: "service type is not in the directory"}})
	})
	form := url.Values{"_key": {"minutes-key-1"}, "p0.cycle": {cycle.CycleID("johannesburg", 2, childPlan)},
		"p0.a0.domain": {"education"}, "p0.a0.service": {""}, "p0.a0.note": {""},
		"p0.a1.domain": {"education"}, "p0.a1.service": {"learning_support"}, "p0.a1.note": {"reading twice a week"},
		"p0.a2.domain": {"nutrition"}, "p0.a2.service": {"food_relief"}}
	res = b.submit(meetingPage+"/minutes", form)
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	// Row a0 had no service and no note: not an action. So plans[0].actions[1] is row a2.
	assert.Regexp(t, `name="p0.a2.service" aria-invalid="true">.*?</select><p class="err">service type is not in the directory</p>`, res.body)
	in := got.Args[0].(cycle.MinutesInput)
	assert.Equal(t, []cycle.ChildPlan{{CycleID: cycle.CycleID("johannesburg", 2, childPlan), Actions: []cycle.PlanAction{
		{Domain: "education", ServiceType: "learning_support", Note: "reading twice a week"}, {Domain: "nutrition", ServiceType: "food_relief"}}}}, in.Plans)
	assert.Equal(t, "Social worker (social-worker)", in.RecordedBy)
	assert.Equal(t, "meeting/johannesburg/meadowlands/2026-03-02", got.WorkflowID)
	assert.Equal(t, "minutes/minutes-key-1", got.UpdateID)

	f.expectUpdate(&got, func(v any) error {
		*(v.(*cycle.MinutesResult)) = cycle.MinutesResult{Planned: 1}
		return nil
	})
	res = b.submit(meetingPage+"/minutes", form)
	require.Equal(t, http.StatusSeeOther, res.status)
	assert.Equal(t, meetingPage+"?ok=minutes", res.header.Get("Location"))
}

func TestHoldMeeting(t *testing.T) {
	f := newFixture(t, false)
	b := f.as("social-worker")
	// The first sitting that day exists and its minutes are recorded: the UI holds a second sitting.
	require.NoError(t, f.store.SaveMeeting(context.Background(), cycle.MeetingRecord{MeetingID: cycle.MeetingID("johannesburg", "meadowlands", "2026-03-05"),
		SiteID: "johannesburg", SchoolID: "meadowlands", Date: "2026-03-05", Status: cycle.MeetingHeld, At: now}))
	var ids []string
	f.temporal.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Run(func(args mock.Arguments) { ids = append(ids, args.Get(1).(client.StartWorkflowOptions).ID) }).
		Return(nil, serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "req-1", "run-1")).Once()
	f.temporal.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Run(func(args mock.Arguments) {
			ids = append(ids, args.Get(1).(client.StartWorkflowOptions).ID)
			// The workflow records its agenda.
			_ = f.store.SaveMeeting(context.Background(), cycle.MeetingRecord{MeetingID: cycle.MeetingID("johannesburg", "meadowlands", "2026-03-05.2"),
				SiteID: "johannesburg", SchoolID: "meadowlands", Date: "2026-03-05.2", Status: cycle.MeetingAwaitingMinutes, At: now})
		}).Return(nil, nil).Once()
	res := b.submit("/meetings", url.Values{"site": {"johannesburg"}, "school": {"meadowlands"}, "date": {"2026-03-05"}})
	if res.status == http.StatusSeeOther {
		assert.Equal(t, "/meetings/johannesburg/meadowlands/2026-03-05.2?ok=meeting", res.header.Get("Location"))
	} else {
		t.Fatalf("hold meeting: %d %s", res.status, excerpt(res.body))
	}
	assert.Equal(t, []string{"meeting/johannesburg/meadowlands/2026-03-05", "meeting/johannesburg/meadowlands/2026-03-05.2"}, ids)
	// Another school's meeting is refused before the engine.
	res = b.submit("/meetings", url.Values{"site": {"johannesburg"}, "school": {"alexandra"}})
	assert.Equal(t, http.StatusForbidden, res.status)
}

func TestCohortImportPage(t *testing.T) {
	f := newFixture(t, false)
	b := f.as("coordinator")
	csv := "school,child_given_name,child_family_name,sex,birth_date,grade,caregiver_given_name,caregiver_family_name,caregiver_phone,caregiver_language,consent_given_by,consent_relationship,consent_date\n" +
		"meadowlands,Lwazi,Example,male,2020-04-04,R,Zodwa,Example,,zu,caregiver,parent,2026-02-01\n" +
		"nowhere,Bad,Line,male,2020-04-04,R,Zodwa,Example,,zu,caregiver,parent,2026-02-01\n"
	res := b.submit("/sites/johannesburg/cohort", url.Values{"csv": {csv}, "_key": {"ui-import-0001"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	assert.Contains(t, res.body, "line 3: school must be one of")
	res = b.submit("/sites/johannesburg/cohort", url.Values{"csv": {csv}, "partial": {"on"}, "_key": {"ui-import-0002"}})
	require.Equal(t, http.StatusCreated, res.status, excerpt(res.body))
	assert.Contains(t, res.body, "Imported 1 of 2 children")
	assert.Regexp(t, regexp.MustCompile(`<td class="id">ch-[0-9a-f]{16}</td>`), res.body)
	assert.NotContains(t, res.body, "Lwazi")

	// The same child on another school's list, the surname typed another way:
	// imported, held for the coordinator, never merged.
	again := "school,child_given_name,child_family_name,sex,birth_date,grade,caregiver_given_name,caregiver_family_name,caregiver_phone,caregiver_language,consent_given_by,consent_relationship,consent_date\n" +
		"malvern,Lwazi,Exampel,male,2020-04-04,R,Zodwa,Example,,zu,caregiver,parent,2026-02-01\n"
	res = b.submit("/sites/johannesburg/cohort", url.Values{"csv": {again}, "_key": {"ui-import-0003"}})
	require.Equal(t, http.StatusCreated, res.status, excerpt(res.body))
	assert.Contains(t, res.body, "Held as likely duplicates")
	assert.NotContains(t, res.body, "Lwazi")
}

func TestFollowUpAndReferralOutcome(t *testing.T) {
	f := newFixture(t, false)
	b := f.as("social-worker")
	page := "/cycles/johannesburg/2/" + childFollow
	res := b.get(page)
	require.Equal(t, http.StatusOK, res.status)
	assert.True(t, contains(res.body, "Record a check-in", "reading support twice a week", `badge high">overdue`))

	var got client.UpdateWorkflowOptions
	f.expectUpdate(&got, func(any) error {
		return temporal.NewApplicationError("invalid", cycle.ErrTypeInvalidInput, []cycle.FieldError{{Field: "note", Code: "required", Message: "note is required"}})
	})
	res = b.submit(page+"/follow-ups", url.Values{"note": {" "}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	assert.Contains(t, res.body, `<p class="err" id="e-note">note is required</p>`)

	f.expectUpdate(&got, func(v any) error {
		*(v.(*cycle.ReferralStatus)) = cycle.ReferralStatus{Status: "completed"}
		return nil
	})
	res = b.submit("/referrals/johannesburg/2/"+childFollow+"/1/outcome", url.Values{"outcome": {"completed"}})
	require.Equal(t, http.StatusSeeOther, res.status, excerpt(res.body))
	assert.Equal(t, "referral/johannesburg/2/"+childFollow+"/1", got.WorkflowID)
	assert.Equal(t, cycle.ReferralOutcomeInput{Outcome: "completed", By: "Social worker (social-worker)"}, got.Args[0])
}

func TestCalendarAndCheck(t *testing.T) {
	f := newFixture(t, false)
	b := f.as("coordinator")
	res := b.get("/sites/johannesburg/meetings")
	require.Equal(t, http.StatusOK, res.status)
	// Every 14 days on Thursday at 14:00: 2026-03-02 is a Monday, so the next is Thursday 5 or 12 March.
	assert.Regexp(t, `Thursday (5|12) March 2026, 14:00`, res.body)
	res = b.get("/sites/johannesburg/check")
	require.Equal(t, http.StatusOK, res.status)
	assert.Contains(t, res.body, "No problems: 5 school(s)")
	res = b.get("/sites/johannesburg/referrals")
	require.Equal(t, http.StatusOK, res.status)
	assert.True(t, contains(res.body, "Overdue (1)", childFollow))
	assert.Equal(t, 1, strings.Count(res.body, `action="/referrals/johannesburg/2/`+childFollow+`/1/outcome"`))
	var n int64
	f.store.DB(context.Background()).Model(&store.Referral{}).Count(&n)
	assert.Equal(t, int64(1), n)
}
