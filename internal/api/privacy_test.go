package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/codec"
	"github.com/khula-cop/khula/internal/codec/codectest"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/messages"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/users"
	"github.com/khula-cop/khula/workflows"
)

func tokenFor(t *testing.T, f *fixture, spec users.Spec) string {
	t.Helper()
	ctx := context.Background()
	_, err := users.Create(ctx, f.store, f.dir, spec)
	require.NoError(t, err)
	tok, err := users.NewToken(ctx, f.store, spec.Username, "t", 0)
	require.NoError(t, err)
	return tok
}

func TestReadsAndWritesOfAChildAreAudited(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	openWave3(t, f)
	require.NoError(t, f.store.RecordStage(ctx, cycle.StageRecord{CycleID: "cycle/johannesburg/3/c-0001", WaveID: "wave/johannesburg/3", SiteID: "johannesburg",
		SchoolID: "meadowlands", ChildID: "c-0001", Seq: 1, Stage: cycle.StageAssess, At: now}))
	if rec := f.do(t, "GET", "/api/v1/cycles/johannesburg/3/c-0001", "", "X-Khula-Reason", "preparing the LLCoP meeting"); rec.Code != http.StatusOK {
		t.Fatalf("read: %d %s", rec.Code, rec.Body.String())
	}
	rec := f.do(t, "GET", "/api/v1/children/johannesburg/c-0001/audit", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var trail struct {
		Items []struct{ Who, Role, Action, What, Why string }
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &trail))
	require.Len(t, trail.Items, 1, "the trail is read before its own read is recorded")
	got := trail.Items[0]
	if got.Who != "coord" || got.Role != "site_coordinator" || got.Action != "read" || got.Why != "preparing the LLCoP meeting" {
		t.Errorf("entry = %+v", got)
	}
	// The two reads and, first, the entry recording the chain's key.
	if rep, err := f.store.VerifyAudit(ctx, nil, nil); err != nil || !rep.OK() || rep.Entries != 3 {
		t.Errorf("chain after a read and a trail read: %+v %v", rep, err)
	}
}

// nurseElsewhere is the Authorization header of a nurse at Alexandra, a
// school of the site other than child c-0001's.
func nurseElsewhere(t *testing.T, f *fixture) []string {
	t.Helper()
	nurse := tokenFor(t, f, users.Spec{Username: "nurse-alex", Role: auth.Practitioner, Practice: "nurse", Sites: []string{"johannesburg"}, Schools: []string{"alexandra"}})
	return []string{"Authorization", "Bearer " + nurse}
}

// childAtAssessAndNurseElsewhere opens wave 3 with c-0001 at the assess
// stage and returns nurseElsewhere's header.
func childAtAssessAndNurseElsewhere(t *testing.T, f *fixture) []string {
	t.Helper()
	openWave3(t, f)
	require.NoError(t, f.store.RecordStage(context.Background(), cycle.StageRecord{CycleID: "cycle/johannesburg/3/c-0001", WaveID: "wave/johannesburg/3", SiteID: "johannesburg",
		SchoolID: "meadowlands", ChildID: "c-0001", Seq: 1, Stage: cycle.StageAssess, At: now}))
	return nurseElsewhere(t, f)
}

func TestBreakTheGlass(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	auth := childAtAssessAndNurseElsewhere(t, f)
	if rec := f.doAs(t, "GET", "/api/v1/cycles/johannesburg/3/c-0001", "", auth...); rec.Code != http.StatusForbidden {
		t.Fatalf("a nurse elsewhere read the child: %d", rec.Code)
	}
	if rec := f.doAs(t, "POST", "/api/v1/children/johannesburg/c-0001/access", `{"reason":"short","minutes":500}`, auth...); rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("a short reason and a long grant: %d", rec.Code)
	}
	reason := `{"reason":"child transferred to my clinic after an injury, need history","minutes":30}`
	var alert client.StartWorkflowOptions
	var alertIn activities.NotifyInput
	f.temporal.On("ExecuteWorkflow", mock.Anything, mock.Anything, workflows.AccessAlertWorkflowName, mock.Anything).
		Run(func(args mock.Arguments) {
			alert = args.Get(1).(client.StartWorkflowOptions)
			alertIn = args.Get(3).(activities.NotifyInput)
		}).Return(nil, nil).Once()
	if rec := f.doAs(t, "POST", "/api/v1/children/johannesburg/c-0001/access", reason, auth...); rec.Code != http.StatusCreated {
		t.Fatalf("grant: %d %s", rec.Code, rec.Body.String())
	}
	// The coordinator is told at once, once per grant.
	if !strings.HasPrefix(alert.ID, "access-alert/") || alert.TaskQueue != "khula-johannesburg" {
		t.Errorf("alert workflow %q on %q", alert.ID, alert.TaskQueue)
	}
	if alertIn.To != activities.ToCoordinator || alertIn.Template != messages.BreakGlassGranted || alertIn.Key != "break-glass/"+strings.TrimPrefix(alert.ID, "access-alert/") ||
		alertIn.Params["user"] != "nurse-alex" || alertIn.Params["child"] != "c-0001" || alertIn.Params["minutes"] != "30" || alertIn.Params["reason"] != "" {
		t.Errorf("alert = %+v", alertIn)
	}
	if rec := f.doAs(t, "GET", "/api/v1/cycles/johannesburg/3/c-0001", "", auth...); rec.Code != http.StatusOK {
		t.Fatalf("read with a grant: %d", rec.Code)
	}
	// The coordinator sees the grant.
	rec := f.do(t, "GET", "/api/v1/access-grants?site=johannesburg", "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "nurse-alex") || !strings.Contains(rec.Body.String(), "transferred") {
		t.Fatalf("grants: %d %s", rec.Code, rec.Body.String())
	}
	trail, err := f.store.AuditTrail(ctx, "c-0001", 10)
	require.NoError(t, err)
	var actions []string
	for _, e := range trail {
		actions = append(actions, e.Action+":"+e.Why)
	}
	joined := strings.Join(actions, " | ")
	if !strings.Contains(joined, "break_glass:child transferred") || !strings.Contains(joined, "read:break-the-glass") {
		t.Errorf("trail = %s", joined)
	}
}

// Finding 1 of the penetration test: a practitioner granted themselves
// access to a child elsewhere with a filler reason and then withdrew the
// child's consent, erasing the record. A grant now needs a reason in words
// and only lets its holder read.
func TestBreakTheGlassCannotErase(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	as := childAtAssessAndNurseElsewhere(t, f)
	access := "/api/v1/children/johannesburg/c-0001/access"
	for _, filler := range []string{"aaaaaaaaaaaaaaaaaaaa", "x x x x x x x x x x x x", "need need need need need"} {
		rec := f.doAs(t, "POST", access, `{"reason":"`+filler+`","minutes":30}`, as...)
		p := wantProblem(t, rec, http.StatusUnprocessableEntity)
		assert.Equal(t, []fe{{"reason", "not_a_reason"}}, fieldsOf(p), filler)
	}
	f.temporal.On("ExecuteWorkflow", mock.Anything, mock.Anything, workflows.AccessAlertWorkflowName, mock.Anything).Return(nil, nil).Once()
	rec := f.doAs(t, "POST", access, `{"reason":"child brought to my clinic injured, need history","minutes":30}`, as...)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())

	require.Equal(t, http.StatusOK, f.doAs(t, "GET", "/api/v1/cycles/johannesburg/3/c-0001", "", as...).Code, "the grant lets the nurse read")
	rec = f.doAs(t, "POST", "/api/v1/children/johannesburg/c-0001/consent/withdraw", `{"reason":"caregiver asked at the clinic","recorded_by":"nurse-alex"}`, as...)
	p := wantProblem(t, rec, http.StatusForbidden)
	assert.Equal(t, "Emergency access is read-only", p.Title)
	rec = f.doAs(t, "POST", assessmentPath, assessmentBody, as...)
	wantProblem(t, rec, http.StatusForbidden)
	f.temporal.AssertNotCalled(t, "TerminateWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything)
	f.temporal.AssertNotCalled(t, "UpdateWorkflow", mock.Anything, mock.Anything)

	var child store.Child
	require.NoError(t, f.store.DB(ctx).Where("id = ?", "c-0001").Take(&child).Error)
	assert.NotEmpty(t, child.GivenName, "the record was not erased")
	assert.Nil(t, child.ErasedAt)
}

// A grant nobody would hear of is no grant: when the coordinator's alert
// cannot be started, the request fails and the access is not given.
func TestBreakTheGlassWithoutAnAlertGrantsNothing(t *testing.T) {
	f := newFixture(t)
	as := nurseElsewhere(t, f)
	f.temporal.On("ExecuteWorkflow", mock.Anything, mock.Anything, workflows.AccessAlertWorkflowName, mock.Anything).
		Return(nil, serviceerror.NewUnavailable("engine restarting")).Once()
	rec := f.doAs(t, "POST", "/api/v1/children/johannesburg/c-0001/access", `{"reason":"child brought to my clinic injured, need history","minutes":30}`, as...)
	p := wantProblem(t, rec, http.StatusServiceUnavailable)
	assert.Contains(t, p.Detail, "no access was granted")
	var grants int64
	require.NoError(t, f.store.DB(context.Background()).Model(&store.AccessGrant{}).Count(&grants).Error)
	assert.Zero(t, grants)
	assert.Equal(t, http.StatusForbidden, f.doAs(t, "GET", "/api/v1/children/johannesburg/c-0001/audit", "", as...).Code)
}

// A site may require a second person: the grant opens the record only
// once the coordinator (or a programme manager) approves it, for the
// minutes asked from the approval, and only once.
func TestBreakTheGlassAwaitsASecondPerson(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	openWave3(t, f)
	require.NoError(t, f.store.RecordStage(ctx, cycle.StageRecord{CycleID: "cycle/johannesburg/3/c-0001", WaveID: "wave/johannesburg/3", SiteID: "johannesburg",
		SchoolID: "meadowlands", ChildID: "c-0001", Seq: 1, Stage: cycle.StageAssess, At: now}))
	mustSite(t, f.dir, "johannesburg").BreakGlass.Approval = true
	as := nurseElsewhere(t, f)
	var alertIn activities.NotifyInput
	f.temporal.On("ExecuteWorkflow", mock.Anything, mock.Anything, workflows.AccessAlertWorkflowName, mock.Anything).
		Run(func(args mock.Arguments) { alertIn = args.Get(3).(activities.NotifyInput) }).Return(nil, nil).Once()

	rec := f.doAs(t, "POST", "/api/v1/children/johannesburg/c-0001/access", `{"reason":"child brought to my clinic injured, need history","minutes":30}`, as...)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	var asked struct {
		GrantID string `json:"grant_id"`
		Status  string `json:"status"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &asked))
	assert.Equal(t, "awaiting_approval", asked.Status)
	assert.Equal(t, messages.BreakGlassRequested, alertIn.Template, "the coordinator is asked to approve")
	assert.Equal(t, http.StatusForbidden, f.doAs(t, "GET", "/api/v1/cycles/johannesburg/3/c-0001", "", as...).Code, "nothing opens before the approval")

	approve := "/api/v1/sites/johannesburg/access-grants/" + asked.GrantID + "/approve"
	assert.Equal(t, http.StatusForbidden, f.doAs(t, "POST", approve, "", as...).Code, "a practitioner cannot approve")
	wantProblem(t, f.do(t, "POST", "/api/v1/sites/johannesburg/access-grants/no-such-grant/approve", ""), http.StatusNotFound)
	rec = f.do(t, "POST", approve, "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), `"status":"granted"`)
	assert.Equal(t, http.StatusOK, f.doAs(t, "GET", "/api/v1/cycles/johannesburg/3/c-0001", "", as...).Code, "the approved grant opens the record")
	wantProblem(t, f.do(t, "POST", approve, ""), http.StatusConflict)

	g, err := f.store.Grant(ctx, "johannesburg", asked.GrantID)
	require.NoError(t, err)
	require.NotNil(t, g.ApprovedAt)
	assert.Equal(t, 30*time.Minute, g.ExpiresAt.Sub(*g.ApprovedAt), "the minutes count from the approval")
	trail, err := f.store.AuditTrail(ctx, "c-0001", 20)
	require.NoError(t, err)
	var what []string
	for _, e := range trail {
		what = append(what, e.What)
	}
	assert.Contains(t, strings.Join(what, " | "), "awaiting approval")
	assert.Contains(t, strings.Join(what, " | "), "approved grant "+asked.GrantID)
}

func TestConsentWithdrawalStopsCyclesAndErases(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	openWave3(t, f)
	require.NoError(t, f.store.RecordStage(ctx, cycle.StageRecord{CycleID: "cycle/johannesburg/3/c-0001", WaveID: "wave/johannesburg/3", SiteID: "johannesburg",
		SchoolID: "meadowlands", ChildID: "c-0001", Seq: 2, Stage: cycle.StagePlan, At: now}))
	f.temporal.On("TerminateWorkflow", mock.Anything, "cycle/johannesburg/3/c-0001", "", "consent withdrawn").Return(nil).Once()

	if rec := f.do(t, "POST", "/api/v1/children/johannesburg/c-0001/consent/withdraw", `{"reason":"no","recorded_by":""}`); rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("a bad withdrawal: %d", rec.Code)
	}
	rec := f.do(t, "POST", "/api/v1/children/johannesburg/c-0001/consent/withdraw", `{"reason":"caregiver withdrew at the meeting","recorded_by":"sw"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var child store.Child
	require.NoError(t, f.store.DB(ctx).Where("id = ?", "c-0001").Take(&child).Error)
	if child.GivenName != "" || child.ErasedAt == nil {
		t.Errorf("child not erased: %+v", child)
	}
	d, err := f.store.Cycle(ctx, "cycle/johannesburg/3/c-0001")
	require.NoError(t, err)
	if d.Cycle.Status != store.CycleClosed || d.Cycle.Outcome != store.OutcomeWithdrawn {
		t.Errorf("cycle after withdrawal = %+v", d.Cycle)
	}
	// A late record from the stopped workflow cannot reopen it.
	require.NoError(t, f.store.RecordStage(ctx, cycle.StageRecord{CycleID: "cycle/johannesburg/3/c-0001", WaveID: "wave/johannesburg/3", SiteID: "johannesburg",
		SchoolID: "meadowlands", ChildID: "c-0001", Seq: 3, Stage: cycle.StageRefer, At: now}))
	d, _ = f.store.Cycle(ctx, "cycle/johannesburg/3/c-0001")
	if d.Cycle.Stage != cycle.StageClosed {
		t.Errorf("a late stage record reopened the cycle: %s", d.Cycle.Stage)
	}
	trail, _ := f.store.AuditTrail(ctx, "c-0001", 10)
	var actions []string
	for _, e := range trail {
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, ",") != "consent,erase" {
		t.Errorf("audit actions = %v, want consent then erase", actions)
	}
}

func openWave3(t *testing.T, f *fixture) {
	t.Helper()
	require.NoError(t, f.store.SaveWave(context.Background(), cycle.WaveRecord{WaveID: "wave/johannesburg/3", SiteID: "johannesburg", Number: 3,
		WindowOpen: now, WindowClose: now, Status: cycle.WaveOpen, At: now}))
}

func TestCodecEndpointDecodesForProgrammeManagersOnly(t *testing.T) {
	f := newFixture(t, func(f *fixture) {
		f.srv.Codec = codec.New(codectest.Keyring())
		f.srv.CodecCORSOrigin = "https://temporal-ui.example.org"
	})
	sealed, err := codec.New(codectest.Keyring()).Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`{"sdq01":2}`)}})
	require.NoError(t, err)
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: sealed})
	require.NoError(t, err)
	pm := tokenFor(t, f, users.Spec{Username: "pm", Role: auth.ProgrammeManager})
	ops := tokenFor(t, f, users.Spec{Username: "ops", Role: auth.Ops})

	if rec := f.doAs(t, "POST", "/codec/decode", string(body), "Authorization", "Bearer "+ops); rec.Code != http.StatusForbidden {
		t.Fatalf("ops decoded payloads: %d", rec.Code)
	}
	rec := f.doAs(t, "POST", "/codec/decode", string(body), "Authorization", "Bearer "+pm, "Origin", "https://temporal-ui.example.org", "X-Namespace", "khula")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var out commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(rec.Body.Bytes(), &out))
	if got := string(out.GetPayloads()[0].GetData()); got != `{"sdq01":2}` {
		t.Fatalf("decoded %q", got)
	}
	if rec.Header().Get("Access-Control-Allow-Origin") != "https://temporal-ui.example.org" {
		t.Errorf("no CORS header for the Temporal UI")
	}
	if rep, _ := f.store.VerifyAudit(context.Background(), nil, nil); rep.Entries != 2 { // the decode and the key's entry
		t.Errorf("a decode was not audited: %d entries", rep.Entries)
	}
}

// Finding 6 of the penetration test (in part): refused (403) attempts on a
// child's record were not audited, so probing left no trace.
func TestRefusedAccessIsAudited(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	as := nurseElsewhere(t, f)
	wantProblem(t, f.doAs(t, "GET", "/api/v1/children/johannesburg/c-0001", "", as...), http.StatusForbidden)
	trail, err := f.store.AuditTrail(ctx, "c-0001", 10)
	require.NoError(t, err)
	require.Len(t, trail, 1)
	e := trail[0]
	assert.Equal(t, "denied", e.Action)
	assert.Equal(t, "nurse-alex", e.ActorName)
	assert.Equal(t, "403", e.Outcome)
	assert.Equal(t, "GET /api/v1/children/:site/:child", e.What)
	rep, err := f.store.VerifyAudit(ctx, nil, nil)
	require.NoError(t, err)
	assert.True(t, rep.OK(), "the entry is part of the chain")
}

// TestRefusedAccessIsAuditedForEveryCaller: the re-run of the penetration
// probes found only a practitioner of another school left a "denied" entry;
// another site's coordinator, ops and an advisor probing a child's record
// left none. Every 403 on a child's route is audited now, once.
func TestRefusedAccessIsAuditedForEveryCaller(t *testing.T) {
	tests := []struct {
		name string
		spec users.Spec
		why  string
	}{
		{"another site's coordinator", users.Spec{Username: "coord-moutse", Role: auth.SiteCoordinator, Sites: []string{"moutse"}}, "the child's site is not the caller's"},
		{"ops", users.Spec{Username: "ops-1", Role: auth.Ops}, "role (ops) cannot use this route"},
		{"an advisor", users.Spec{Username: "advisor-1", Role: auth.Advisor}, "role (advisor) cannot use this route"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			tok := tokenFor(t, f, tc.spec)
			wantProblem(t, f.doAs(t, "GET", "/api/v1/children/johannesburg/c-0001", "", "Authorization", "Bearer "+tok), http.StatusForbidden)
			trail, err := f.store.AuditTrail(ctx, "c-0001", 10)
			require.NoError(t, err)
			require.Len(t, trail, 1, "one entry per refusal")
			assert.Equal(t, store.AuditDenied, trail[0].Action)
			assert.Equal(t, tc.spec.Username, trail[0].ActorName)
			assert.Contains(t, trail[0].Why, tc.why)
		})
	}
}

// TestReasonHeaderIsChecked: X-Khula-Reason becomes an audit entry's why;
// the probes stored a zero-width space, a right-to-left override and a
// 64 KB reason. Each is refused (422) before anything is read or written.
func TestReasonHeaderIsChecked(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	openWave3(t, f)
	require.NoError(t, f.store.RecordStage(ctx, cycle.StageRecord{CycleID: "cycle/johannesburg/3/c-0001", WaveID: "wave/johannesburg/3", SiteID: "johannesburg",
		SchoolID: "meadowlands", ChildID: "c-0001", Seq: 1, Stage: cycle.StageAssess, At: now}))
	for _, why := range []string{"preparing the meeting\u200b", "preparing \u202eteem eht", strings.Repeat("a", 501)} {
		p := wantProblem(t, f.do(t, "GET", "/api/v1/cycles/johannesburg/3/c-0001", "", "X-Khula-Reason", why), http.StatusUnprocessableEntity)
		require.Len(t, p.Errors, 1)
		assert.Equal(t, "X-Khula-Reason", p.Errors[0].Field)
	}
	trail, err := f.store.AuditTrail(ctx, "c-0001", 10)
	require.NoError(t, err)
	assert.Empty(t, trail, "nothing was read, nothing audited")
	rec := f.do(t, "GET", "/api/v1/cycles/johannesburg/3/c-0001", "", "X-Khula-Reason", "preparing the LLCoP meeting")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}
