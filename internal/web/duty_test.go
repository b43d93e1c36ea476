package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/khula-cop/khula/internal/cycle"
)

// The duty-of-care pages: the LLCoP's agenda in full, completing an
// assessment, concerns at a check-in, a child put on the agenda by hand,
// a declined PHQ-9 item 9, and the new outcomes and wave status.

const (
	dutyMeeting  = "/meetings/johannesburg/meadowlands/2026-03-03"
	concernText  = "Teacher saw bruises on both arms"
	concernAdder = "Grade R teacher"
)

// seedDutyMeeting opens a meeting whose agenda has a child at risk with an
// incomplete assessment, a red flag and its urgent referral and a previous
// wave's result, and a child added with a concern.
func seedDutyMeeting(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	plan, follow := cycle.CycleID("johannesburg", 2, childPlan), cycle.CycleID("johannesburg", 2, childFollow)
	urgent := cycle.ReferralID("johannesburg", 2, childPlan, 0)
	require.NoError(t, f.store.SaveReferral(ctx, cycle.ReferralRecord{ReferralID: urgent, CycleID: plan, WaveID: cycle.WaveID("johannesburg", 2),
		SiteID: "johannesburg", SchoolID: "meadowlands", Domain: "protection", ServiceType: "social_development", Urgent: true,
		Status: cycle.ReferralDispatched, At: now.Add(-2 * time.Hour)}))
	_, err := f.store.AddConcern(ctx, follow, concernText, concernAdder, now.Add(-time.Hour))
	require.NoError(t, err)
	require.NoError(t, f.store.SaveMeeting(ctx, cycle.MeetingRecord{MeetingID: cycle.MeetingID("johannesburg", "meadowlands", "2026-03-03"),
		SiteID: "johannesburg", SchoolID: "meadowlands", Date: "2026-03-03", Status: cycle.MeetingAwaitingMinutes, At: now, Agenda: []cycle.AgendaItem{
			{CycleID: plan, ChildID: childPlan, Reason: cycle.AgendaAwaitingPlan,
				Domains:    map[string]string{"education": "high", "protection": "high", "health": "not_assessed", "nutrition": "not_assessed", "caregiver": "low"},
				Reasons:    map[string]string{"education": "Reading not achieved", "protection": "red flag protection.disclosure: The child disclosed harm", "caregiver": "Caregiver depression not screened"},
				Flags:      []string{"protection.disclosure"},
				Urgent:     []string{urgent},
				Missing:    []string{"nurse"},
				Unassessed: []string{"health", "nutrition"},
				Previous:   &cycle.PreviousResult{Wave: 1, Outcome: cycle.OutcomePlanNotAgreed, Domains: map[string]string{"education": "moderate", "health": "low"}}},
			{CycleID: follow, ChildID: childFollow, Reason: cycle.AgendaConcern, Domains: map[string]string{"education": "moderate"}},
		}}))
}

// TestMeetingAgendaInFull checks what each role sees of the agenda: the
// reasons, the gaps, the red flags and their urgent referrals, the
// previous wave, and the concern's reason only to the LLCoP's field workers.
func TestMeetingAgendaInFull(t *testing.T) {
	f := newFixture(t, false)
	seedDutyMeeting(t, f)
	shared := []string{
		`<span class="badge high">Education: High</span> Reading not achieved`,
		`Incomplete assessment: no nurse form; health, nutrition not assessed`,
		`red flag: Protection.disclosure</span> The child disclosed harm`,
		`Urgent referral opened: Social development (Dispatched).`,
		`Previous wave (1): No plan agreed: carried to the next wave · <span class="badge moderate">Education: Moderate</span>`,
		`<li>Caregiver: Caregiver depression not screened</li>`,
		`Added with a concern`,
	}
	cases := []struct {
		who          string
		seesReason   bool
		canRecord    bool
		wantComplete bool
	}{
		{"social-worker", true, true, true},
		{"coordinator", true, true, true},
		{"manager", false, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.who, func(t *testing.T) {
			res := f.as(tc.who).get(dutyMeeting)
			require.Equal(t, http.StatusOK, res.status, excerpt(res.body))
			for _, want := range shared {
				assert.Contains(t, res.body, want)
			}
			assert.Equal(t, tc.seesReason, contains(res.body, "Added with a concern by "+concernAdder+": "+concernText), "the concern's reason")
			assert.Equal(t, tc.canRecord, contains(res.body, `name="p1.cycle" value="cycle/johannesburg/2/`+childFollow+`"`), "a plan form for the child added with a concern")
			assert.Equal(t, tc.wantComplete, contains(res.body, `name="p0.ca" value="on">`, `name="p0.ca.resp" value="nurse" checked>`), "complete the assessment")
			assert.NotContains(t, res.body, `name="p1.ca"`, "nothing to complete for a child with every form")
			assert.NotContains(t, res.body, secretName)
		})
	}
	trail, err := f.store.AuditTrail(context.Background(), childFollow, 50)
	require.NoError(t, err)
	var opened int
	for _, e := range trail {
		if regexp.MustCompile(`^reason for adding the child to the agenda`).MatchString(e.What) {
			opened++
		}
	}
	assert.Equal(t, 2, opened, "each reading of the sealed reason is audited")
}

// TestMinutesCompleteAssessment assigns completing the assessment and puts
// the validator's errors next to the fields they concern.
func TestMinutesCompleteAssessment(t *testing.T) {
	f := newFixture(t, false)
	seedDutyMeeting(t, f)
	b := f.as("social-worker")
	form := url.Values{"_key": {"minutes-key-2"}, "p0.cycle": {cycle.CycleID("johannesburg", 2, childPlan)},
		"p0.a0.domain": {"education"}, "p0.a0.service": {"learning_support"},
		"p0.ca": {"on"}, "p0.ca.owner": {" School nurse "}, "p0.ca.resp": {"nurse"},
		"p1.cycle": {cycle.CycleID("johannesburg", 2, childFollow)}, "p1.a0.domain": {"education"}, "p1.a0.note": {"talk with the caregiver"}}
	cases := []struct {
		name  string
		field string
		want  string
	}{
		{"respondent", "plans[0].actions[1].respondents[0]", `name="p0.ca.resp" value="nurse" checked> Nurse</label></div><p class="err">no such form</p>`},
		{"owner", "plans[0].actions[1].owner", `name="p0.ca.owner" value=" School nurse " maxlength="200" autocomplete="off" aria-invalid="true"><p class="err">no such form</p>`},
		{"kind", "plans[0].actions[1].kind", `Assign collecting the missing forms <span class="hint">[^<]*</span></label>\s*<p class="err">no such form</p>`},
		{"service row", "plans[0].actions[0].service_type", `name="p0.a0.service" aria-invalid="true">.*?</select><p class="err">no such form</p>`},
		{"concern child", "plans[1].actions[0].domain", `name="p1.a0.domain" aria-invalid="true">`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got client.UpdateWorkflowOptions
			f.expectUpdate(&got, func(any) error {
				return temporal.NewApplicationError("invalid", cycle.ErrTypeInvalidInput, []cycle.FieldError{{Field: tc.field, Code: "invalid_choice", Message: "no such form"}})
			})
			res := b.submit(dutyMeeting+"/minutes", form)
			require.Equal(t, http.StatusUnprocessableEntity, res.status, excerpt(res.body))
			assert.Regexp(t, tc.want, res.body)
			in := got.Args[0].(cycle.MinutesInput)
			require.Len(t, in.Plans, 2)
			assert.Equal(t, []cycle.PlanAction{{Domain: "education", ServiceType: "learning_support"},
				{Kind: cycle.ActionCompleteAssessment, Owner: "School nurse", Respondents: []string{"nurse"}}}, in.Plans[0].Actions)
			assert.Equal(t, []cycle.PlanAction{{Domain: "education", Note: "talk with the caregiver"}}, in.Plans[1].Actions)
		})
	}
}

// TestCheckInConcerns offers the check-in from scoring until the cycle
// closes, sends the concerns ticked, and shows the workflow's refusals.
func TestCheckInConcerns(t *testing.T) {
	f := newFixture(t, false)
	b := f.as("social-worker")
	for _, tc := range []struct {
		child string
		want  bool
	}{{childAssess, false}, {childPlan, true}, {childFollow, true}} {
		res := b.get("/cycles/johannesburg/2/" + tc.child)
		require.Equal(t, http.StatusOK, res.status)
		assert.Equal(t, tc.want, contains(res.body, "Record a check-in"), tc.child)
	}
	page := "/cycles/johannesburg/2/" + childPlan
	res := b.get(page)
	assert.True(t, contains(res.body, "<legend>Concerns seen at this visit</legend>", "A ticked concern starts the safeguarding fast path at once",
		`name="concerns" value="protection.disclosure"> The child disclosed harm`))
	assert.NotContains(t, res.body, `value="phq9.self_harm_declined"`, "a declined answer is not seen at a visit")

	cases := []struct {
		name   string
		answer func(v any) error
		status int
		want   []string
	}{
		{"recorded", func(v any) error { *(v.(*cycle.FollowUpResult)) = cycle.FollowUpResult{Count: 1}; return nil },
			http.StatusSeeOther, nil},
		{"not taken now", func(any) error {
			return temporal.NewApplicationError("this cycle is at stage \"closed\": check-ins are recorded once the child is scored and until the cycle closes", cycle.ErrTypeConflict)
		}, http.StatusConflict, []string{`<div class="problem" role="alert"><p>`, "check-ins are recorded once the child is scored"}},
		{"unknown concern", func(any) error {
			return temporal.NewApplicationError("invalid", cycle.ErrTypeInvalidInput, []cycle.FieldError{{Field: "concerns[1]", Code: "invalid_choice", Message: "concern is not a red flag of this child's instrument"}})
		}, http.StatusUnprocessableEntity, []string{`<p class="err" id="e-concerns">concern is not a red flag`, `value="protection.neglect" checked>`, "Saw the child at home"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got client.UpdateWorkflowOptions
			f.expectUpdate(&got, tc.answer)
			res := b.submit(page+"/follow-ups", url.Values{"_key": {"check-in-1"}, "note": {"Saw the child at home"}, "concerns": {"protection.disclosure", "protection.neglect"}})
			require.Equal(t, tc.status, res.status, excerpt(res.body))
			in := got.Args[0].(cycle.FollowUpInput)
			assert.Equal(t, []string{"protection.disclosure", "protection.neglect"}, in.Concerns)
			if tc.status == http.StatusSeeOther {
				assert.Equal(t, page+"?ok=check-in", res.header.Get("Location"))
				assert.Contains(t, b.get(page+"?ok=check-in").body, "safeguarding fast path")
			}
			for _, want := range tc.want {
				assert.Contains(t, res.body, want)
			}
		})
	}
}

// TestPutOnTheAgenda puts a child on the next LLCoP agenda from the child's page.
func TestPutOnTheAgenda(t *testing.T) {
	f := newFixture(t, false)
	b := f.as("social-worker")
	page := "/cycles/johannesburg/2/" + childAssess
	res := b.get(page)
	require.Equal(t, http.StatusOK, res.status)
	assert.True(t, contains(res.body, "Put on the next LLCoP agenda", `action="`+page+`/agenda"`, `name="added_by" value="Social worker (social-worker)"`))
	assert.NotContains(t, f.as("manager").get(page).body, "Put on the next LLCoP agenda", "a programme manager raises no concern")

	cases := []struct {
		name   string
		reason string
		status int
		want   []string
	}{
		{"too short", "sad", http.StatusUnprocessableEntity, []string{`<p class="err" id="e-reason">reason must be 5 to 1000 characters`, `aria-invalid="true" aria-describedby="e-reason">sad</textarea>`}},
		{"added", concernText, http.StatusSeeOther, nil},
		{"already on the agenda", concernText, http.StatusConflict, []string{`<h2 id="agenda">`, `<div class="problem" role="alert"><p>Already on the agenda: the child is already on the next meeting&#39;s agenda with a concern.</p></div>`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := b.submit(page+"/agenda", url.Values{"reason": {tc.reason}, "added_by": {concernAdder}})
			require.Equal(t, tc.status, res.status, excerpt(res.body))
			for _, want := range tc.want {
				assert.Contains(t, res.body, want)
			}
			if tc.status == http.StatusSeeOther {
				assert.Equal(t, page+"?ok=concern", res.header.Get("Location"))
				assert.Contains(t, b.get(res.header.Get("Location")).body, "The child was put on the next LLCoP agenda")
			} else {
				assert.Contains(t, res.body, `value="`+concernAdder+`"`, "what was typed is kept")
			}
		})
	}
	agenda, err := f.store.PendingAgenda(context.Background(), "johannesburg", "meadowlands")
	require.NoError(t, err)
	var found bool
	for _, it := range agenda {
		found = found || (it.ChildID == childAssess && it.Reason == cycle.AgendaConcern)
	}
	assert.True(t, found, "the child is on the school's next agenda")
}

// TestCaregiverDeclines offers "declined to answer" on PHQ-9 item 9 and sends it.
func TestCaregiverDeclines(t *testing.T) {
	f := newFixture(t, false)
	b := f.as("social-worker")
	res := b.get(formPage)
	require.Equal(t, http.StatusOK, res.status)
	assert.Regexp(t, `<label><input type="radio" id="i-phq9_9-\d+" name="a.phq9_9" value="declined"> <span>Declined to answer</span></label>`, res.body)
	assert.Regexp(t, `PHQ-9 item 9[^<]*<span class="hint" lang="en">required</span></legend>\s*<p class="hint">[^<]*social worker follows up`, res.body)

	var got client.UpdateWorkflowOptions
	f.expectUpdate(&got, func(any) error {
		return temporal.NewApplicationError("invalid", cycle.ErrTypeInvalidInput, []cycle.FieldError{{Field: "answers.phq9_1", Code: "required", Message: "phq9_1 is required"}})
	})
	res = b.submit("/cycles/johannesburg/2/"+childAssess+"/forms/caregiver", url.Values{"phase": {"baseline"}, "action": {"submit"}, "_key": {"form-key-0002"},
		"a.phq9_9": {"declined"}, "a.phq9_8": {"1"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	in := got.Args[0].(cycle.SubmitAssessmentInput)
	assert.Equal(t, "declined", in.Answers["phq9_9"])
	assert.Equal(t, 1.0, in.Answers["phq9_8"])
	assert.Regexp(t, `name="a.phq9_9" value="declined" checked>`, res.body, "the choice is kept")
}

// TestOutcomeAndStatusLabels shows the new outcomes and the reported wave
// status in words wherever they appear.
func TestOutcomeAndStatusLabels(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	report, _ := json.Marshal(cycle.WaveReport{CohortSize: 4, Outcomes: map[string]int{"incomplete_assessment": 1, "plan_not_agreed": 1, "open": 2}})
	require.NoError(t, f.store.SaveWave(ctx, cycle.WaveRecord{WaveID: cycle.WaveID("johannesburg", 2), SiteID: "johannesburg", Number: 2,
		Status: cycle.WaveReported, CohortSize: 4, Report: report, At: now}))
	require.NoError(t, f.store.RecordStage(ctx, cycle.StageRecord{CycleID: cycle.CycleID("johannesburg", 2, childAssess), WaveID: cycle.WaveID("johannesburg", 2),
		SiteID: "johannesburg", SchoolID: "meadowlands", ChildID: childAssess, Seq: 9, Stage: cycle.StageClosed, Outcome: cycle.OutcomeIncomplete, At: now}))
	b := f.as("coordinator")
	cases := []struct {
		path string
		want []string
	}{
		{"/waves", []string{"<td>Reported, cycles still open</td>"}},
		{"/sites/johannesburg", []string{"Wave 2</a>: Reported, cycles still open"}},
		{"/waves/johannesburg/2", []string{`<span class="badge not_assessed">Reported, cycles still open</span>`, "Wave report (updated as open cycles close)",
			`<th scope="row">Incomplete assessment</th>`, `<th scope="row">No plan agreed: carried to the next wave</th>`}},
		{"/waves/johannesburg/2/schools/meadowlands", []string{"Closed (Incomplete assessment)"}},
		{"/compare?site=johannesburg&a=1&b=2", []string{"Outcome: Incomplete assessment", "Outcome: No plan agreed: carried to the next wave"}},
		{"/cycles/johannesburg/2/" + childAssess, []string{"outcome Incomplete assessment"}},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			res := b.get(tc.path)
			require.Equal(t, http.StatusOK, res.status, excerpt(res.body))
			for _, want := range tc.want {
				assert.Contains(t, res.body, want)
			}
			assert.NotContains(t, res.body, "Plan not agreed")
			assert.NotContains(t, res.body, ">Reported<")
		})
	}
}
