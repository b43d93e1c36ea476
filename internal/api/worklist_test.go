package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/users"
)

// workPage is the answer of GET /work/children as a client reads it.
type workPage struct {
	Items     []store.WorkChild `json:"items"`
	Total     int               `json:"total"`
	Truncated bool              `json:"truncated"`
	Next      string            `json:"next"`
}

const wave4 = "wave/johannesburg/4"

// seedWorkList opens wave 4 of Johannesburg (window from ten days ago)
// with, at Meadowlands, Sipho Khumalo (grade R, forms due), Ayanda
// Khumalo (grade 2, awaiting a plan, education high) and Émile Nkosi
// (grade 4, in follow-up with an overdue urgent referral); at Alexandra,
// Lindiwe Khumalo (grade 2, awaiting a plan).
func seedWorkList(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	opened := now.AddDate(0, 0, -10)
	require.NoError(t, f.store.SaveWave(ctx, cycle.WaveRecord{WaveID: wave4, SiteID: "johannesburg", Number: 4,
		WindowOpen: opened, WindowClose: opened.AddDate(0, 0, 42), Status: cycle.WaveOpen, At: opened}))
	kids := []struct {
		id, school, given, family, grade string
		born                             time.Time
	}{
		{"wl-sipho", "meadowlands", "Sipho", "Khumalo", "R", time.Date(2020, 1, 15, 0, 0, 0, 0, time.UTC)},
		{"wl-ayanda", "meadowlands", "Ayanda", "Khumalo", "2", time.Date(2018, 6, 1, 0, 0, 0, 0, time.UTC)},
		{"wl-emile", "meadowlands", "Émile", "Nkosi", "4", time.Date(2016, 4, 4, 0, 0, 0, 0, time.UTC)},
		{"wl-lindiwe", "alexandra", "Lindiwe", "Khumalo", "2", time.Date(2018, 2, 2, 0, 0, 0, 0, time.UTC)},
	}
	for _, k := range kids {
		require.NoError(t, f.store.AddFamilies(ctx, []store.Family{{
			Caregiver: store.Caregiver{ID: "cg-" + k.id, SiteID: "johannesburg", GivenName: "Care", FamilyName: "Giver", Language: "zu", CreatedAt: now},
			Child: store.Child{ID: k.id, SiteID: "johannesburg", SchoolID: k.school, CaregiverID: "cg-" + k.id, GivenName: k.given, FamilyName: k.family,
				Sex: "female", BirthDate: k.born, Grade: k.grade, CreatedAt: now},
		}}))
	}
	stage := func(child, school, st string, seq int, awaiting []string) string {
		id := cycle.CycleID("johannesburg", 4, child)
		require.NoError(t, f.store.RecordStage(ctx, cycle.StageRecord{CycleID: id, WaveID: wave4, SiteID: "johannesburg", SchoolID: school, ChildID: child,
			Seq: seq, Stage: st, Awaiting: awaiting, At: opened.Add(time.Duration(seq) * time.Hour)}))
		return id
	}
	stage("wl-sipho", "meadowlands", cycle.StageAssess, 2, []string{"caregiver"})
	ayanda := stage("wl-ayanda", "meadowlands", cycle.StagePlan, 4, nil)
	require.NoError(t, f.store.SaveScore(ctx, cycle.ScoreRecord{CycleID: ayanda, WaveID: wave4, SiteID: "johannesburg", SchoolID: "meadowlands",
		Phase: cycle.PhaseBaseline, Instrument: joziRef, Domains: map[string]string{"education": "high"}, Result: []byte(`{}`), ComputedAt: opened}))
	emile := stage("wl-emile", "meadowlands", cycle.StageFollowUp, 6, nil)
	due := now.AddDate(0, 0, -1)
	require.NoError(t, f.store.SaveReferral(ctx, cycle.ReferralRecord{ReferralID: cycle.ReferralID("johannesburg", 4, "wl-emile", 0), CycleID: emile, WaveID: wave4,
		SiteID: "johannesburg", SchoolID: "meadowlands", Domain: "protection", ServiceType: "social_development", Urgent: true,
		Status: cycle.ReferralDispatched, At: opened, DueAt: &due}))
	stage("wl-lindiwe", "alexandra", cycle.StagePlan, 4, nil)
}

func childIDs(p workPage) []string {
	out := []string{}
	for _, r := range p.Items {
		out = append(out, r.ChildID)
	}
	return out
}

func (f *fixture) workList(t *testing.T, token, query string) workPage {
	t.Helper()
	rec := f.do(t, "GET", "/api/v1/work/children?"+query, "", "Authorization", "Bearer "+token)
	var p workPage
	wantJSON(t, rec, http.StatusOK, &p)
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	return p
}

func TestWorkChildrenByRoleAndScope(t *testing.T) {
	f := newFixture(t)
	seedWorkList(t, f)
	sw := tokenFor(t, f, users.Spec{Username: "sw", Role: auth.Practitioner, Practice: "social_worker", Sites: []string{"johannesburg"}, Schools: []string{"meadowlands"}})
	nurse := tokenFor(t, f, users.Spec{Username: "nurse", Role: auth.Practitioner, Practice: "nurse", Sites: []string{"johannesburg"}, Schools: []string{"alexandra"}})
	both := tokenFor(t, f, users.Spec{Username: "both", Role: auth.Practitioner, Practice: "nurse", Sites: []string{"johannesburg"}, Schools: []string{"alexandra", "meadowlands"}})
	pm := tokenFor(t, f, users.Spec{Username: "pm", Role: auth.ProgrammeManager})
	ops := tokenFor(t, f, users.Spec{Username: "ops", Role: auth.Ops})
	adv := tokenFor(t, f, users.Spec{Username: "adv", Role: auth.Advisor, SeesNames: true})

	// A practitioner sees their school's children, by name.
	p := f.workList(t, sw, "site=johannesburg")
	assert.Equal(t, []string{"wl-ayanda", "wl-sipho", "wl-emile"}, childIDs(p))
	assert.Equal(t, "Ayanda", p.Items[0].GivenName)
	assert.Equal(t, "Khumalo", p.Items[0].FamilyName)
	// The nurse of another school gets none of them, not even by search.
	p = f.workList(t, nurse, "site=johannesburg")
	assert.Equal(t, []string{"wl-lindiwe"}, childIDs(p))
	p = f.workList(t, nurse, "site=johannesburg&q=Ayanda")
	assert.Empty(t, p.Items)
	rec := f.do(t, "GET", "/api/v1/work/children?site=johannesburg&school=meadowlands", "", "Authorization", "Bearer "+nurse)
	wantProblem(t, rec, http.StatusForbidden)
	assert.NotContains(t, rec.Body.String(), "Khumalo")
	// A practitioner of two schools names one.
	rec = f.do(t, "GET", "/api/v1/work/children?site=johannesburg", "", "Authorization", "Bearer "+both)
	assert.Equal(t, []fe{{"school", "required"}}, fieldsOf(wantProblem(t, rec, http.StatusUnprocessableEntity)))
	// A coordinator sees the whole site.
	p = f.workList(t, f.token, "site=johannesburg")
	assert.Equal(t, []string{"wl-ayanda", "wl-lindiwe", "wl-sipho", "wl-emile"}, childIDs(p))
	// Programme managers, ops and advisors never get the names.
	for who, tok := range map[string]string{"programme manager": pm, "ops": ops, "advisor": adv} {
		rec := f.do(t, "GET", "/api/v1/work/children?site=johannesburg&school=meadowlands", "", "Authorization", "Bearer "+tok)
		wantProblem(t, rec, http.StatusForbidden)
		assert.NotContains(t, rec.Body.String(), "Khumalo", who)
	}
	rec = f.do(t, "GET", "/api/v1/work/children?site=nowhere", "")
	wantProblem(t, rec, http.StatusNotFound)
}

func TestWorkChildrenSearchFilterSort(t *testing.T) {
	f := newFixture(t)
	seedWorkList(t, f)
	q := func(query string) []string {
		return childIDs(f.workList(t, f.token, "site=johannesburg&school=meadowlands&"+query))
	}
	assert.Equal(t, []string{"wl-ayanda", "wl-sipho"}, q("q=khum"))
	assert.Equal(t, []string{"wl-emile"}, q("q="+url.QueryEscape("emile nkosi")), "accents folded")
	assert.Equal(t, []string{"wl-sipho"}, q("q=R"), "a grade")
	assert.Equal(t, []string{"wl-ayanda"}, q("q="+url.QueryEscape("Grade 2")))
	assert.Equal(t, []string{"wl-ayanda"}, q("filter=at_risk"))
	assert.Equal(t, []string{"wl-emile"}, q("filter=red_flag"))
	// Sipho's caregiver form has been due for ten days: past the weekly reminder.
	assert.Equal(t, []string{"wl-sipho", "wl-emile"}, q("filter=overdue"))
	assert.Equal(t, []string{"wl-emile"}, q("filter=overdue&filter=red_flag"))
	assert.Equal(t, []string{"wl-emile"}, q("filter=overdue,red_flag"))
	assert.Equal(t, []string{"wl-sipho", "wl-ayanda", "wl-emile"}, q("sort=class"))
	assert.Equal(t, []string{"wl-sipho", "wl-ayanda", "wl-emile"}, q("sort=age"))
	assert.Equal(t, []string{"wl-sipho", "wl-ayanda", "wl-emile"}, q("sort=stage"))
	assert.Equal(t, []string{"wl-ayanda", "wl-sipho"}, q("wave=4&q=khumalo"))
	assert.Empty(t, q("wave=3"))

	p := f.workList(t, f.token, "site=johannesburg&school=meadowlands&limit=2")
	require.Equal(t, []string{"wl-ayanda", "wl-sipho"}, childIDs(p))
	assert.Equal(t, 3, p.Total)
	require.NotEmpty(t, p.Next)
	p = f.workList(t, f.token, "site=johannesburg&school=meadowlands&limit=2&after="+p.Next)
	assert.Equal(t, []string{"wl-emile"}, childIDs(p))
	assert.Empty(t, p.Next)

	sipho := f.workList(t, f.token, "site=johannesburg&school=meadowlands&q=sipho").Items[0]
	assert.Equal(t, []store.FormDue{{CycleID: cycle.CycleID("johannesburg", 4, "wl-sipho"), SchoolID: "meadowlands", Phase: cycle.PhaseBaseline, Respondents: []string{"caregiver"}}}, sipho.FormsDue)
	assert.Equal(t, &store.ChildAge{Years: 6, Months: 1}, sipho.Age)
	assert.Equal(t, []string{store.OverdueForms}, sipho.OverdueReasons)
}

func TestWorkChildrenRejectsBadQueries(t *testing.T) {
	f := newFixture(t)
	seedWorkList(t, f)
	before := auditCount(t, f)
	rec := f.do(t, "GET", "/api/v1/work/children?site=johannesburg&filter=bogus&sort=height&limit=0&after=zzz&wave=x&q="+strings.Repeat("a", 101), "")
	p := wantProblem(t, rec, http.StatusUnprocessableEntity)
	assert.ElementsMatch(t, []fe{{"q", "too_long"}, {"filter", "invalid_choice"}, {"sort", "invalid_choice"}, {"limit", "out_of_range"}, {"wave", "invalid"}, {"after", "invalid"}}, fieldsOf(p))
	// A cursor of another list is no position in this one.
	other := base64.RawURLEncoding.EncodeToString([]byte(`{"id":"cycle/johannesburg/4/wl-sipho"}`))
	rec = f.do(t, "GET", "/api/v1/work/children?site=johannesburg&after="+other, "")
	assert.Equal(t, []fe{{"after", "invalid"}}, fieldsOf(wantProblem(t, rec, http.StatusUnprocessableEntity)))
	rec = f.do(t, "GET", "/api/v1/work/children?site=johannesburg&limit=201", "")
	assert.Equal(t, []fe{{"limit", "out_of_range"}}, fieldsOf(wantProblem(t, rec, http.StatusUnprocessableEntity)))
	assert.Equal(t, before, auditCount(t, f), "nothing shown, nothing audited")
}

// auditCount counts the audit entries of accesses (not the entry that
// records the chain's signing key, written with the first of them).
func auditCount(t *testing.T, f *fixture) int64 {
	t.Helper()
	var n int64
	require.NoError(t, f.store.DB(context.Background()).Model(&store.AuditEntry{}).Where("action <> ?", store.AuditKeyRotated).Count(&n).Error)
	return n
}

func TestWorkChildrenAuditsEachChildShown(t *testing.T) {
	f := newFixture(t)
	seedWorkList(t, f)
	sw := tokenFor(t, f, users.Spec{Username: "sw", Role: auth.Practitioner, Practice: "social_worker", Sites: []string{"johannesburg"}, Schools: []string{"meadowlands"}})
	ctx := context.Background()
	var logs bytes.Buffer
	f.srv.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	defer func() { assert.NotContains(t, logs.String(), "Khumalo", "no name in the logs") }()
	before := auditCount(t, f)
	p := f.workList(t, sw, "site=johannesburg&q=khumalo")
	require.Equal(t, []string{"wl-ayanda", "wl-sipho"}, childIDs(p))
	assert.Equal(t, before+2, auditCount(t, f), "one entry per child shown")
	for _, id := range []string{"wl-ayanda", "wl-sipho"} {
		trail, err := f.store.AuditTrail(ctx, id, 10)
		require.NoError(t, err)
		require.Len(t, trail, 1, id)
		assert.Equal(t, store.AuditRead, trail[0].Action)
		assert.Equal(t, "work list", trail[0].What)
		assert.Equal(t, "sw", trail[0].ActorName)
		assert.Equal(t, "in scope as practitioner", trail[0].Why)
		assert.Equal(t, "johannesburg", trail[0].SiteID)
		assert.NotContains(t, trail[0].What+trail[0].Why, "Khumalo")
	}
	trail, err := f.store.AuditTrail(ctx, "wl-emile", 10)
	require.NoError(t, err)
	assert.Empty(t, trail, "a child not shown is not audited")
	// An empty answer audits nothing; the reason given is the entry's why.
	f.workList(t, sw, "site=johannesburg&q=nobody")
	assert.Equal(t, before+2, auditCount(t, f))
	rec := f.do(t, "GET", "/api/v1/work/children?site=johannesburg&q=emile", "", "Authorization", "Bearer "+sw, "X-Khula-Reason", "home visit today")
	require.Equal(t, http.StatusOK, rec.Code)
	trail, err = f.store.AuditTrail(ctx, "wl-emile", 10)
	require.NoError(t, err)
	require.Len(t, trail, 1)
	assert.Equal(t, "home visit today", trail[0].Why)
	rep, err := f.store.VerifyAudit(ctx, nil, nil)
	require.NoError(t, err)
	assert.True(t, rep.OK(), "%v", rep.Problems)
}

// TestWorkChildrenFiftyIsQuick lists 50 children (50 audit entries) and
// keeps the request under about 100 ms on SQLite (the best of three, and
// a loose bound so a busy machine does not fail it).
func TestWorkChildrenFiftyIsQuick(t *testing.T) {
	f := newFixture(t)
	seedWorkList(t, f)
	ctx := context.Background()
	for i := range 60 {
		id := fmt.Sprintf("many-%03d", i)
		require.NoError(t, f.store.AddFamilies(ctx, []store.Family{{
			Caregiver: store.Caregiver{ID: "cg-" + id, SiteID: "johannesburg", GivenName: "Care", FamilyName: "Giver", Language: "zu", CreatedAt: now},
			Child: store.Child{ID: id, SiteID: "johannesburg", SchoolID: "meadowlands", CaregiverID: "cg-" + id, GivenName: fmt.Sprintf("Child%03d", i), FamilyName: "Many",
				Sex: "male", BirthDate: time.Date(2018, 1, 1+i%28, 0, 0, 0, 0, time.UTC), Grade: "3", CreatedAt: now},
		}}))
		require.NoError(t, f.store.RecordStage(ctx, cycle.StageRecord{CycleID: cycle.CycleID("johannesburg", 4, id), WaveID: wave4, SiteID: "johannesburg",
			SchoolID: "meadowlands", ChildID: id, Seq: 4, Stage: cycle.StagePlan, At: now}))
	}
	sw := tokenFor(t, f, users.Spec{Username: "sw", Role: auth.Practitioner, Practice: "social_worker", Sites: []string{"johannesburg"}, Schools: []string{"meadowlands"}})
	best := time.Hour
	for range 3 {
		before := auditCount(t, f)
		start := time.Now()
		p := f.workList(t, sw, "site=johannesburg&limit=50")
		best = min(best, time.Since(start))
		require.Len(t, p.Items, 50)
		assert.Equal(t, 63, p.Total)
		assert.Equal(t, before+50, auditCount(t, f))
	}
	t.Logf("50 children listed and audited in %s (best of 3)", best)
	if best > 100*time.Millisecond {
		t.Errorf("listing 50 children took %s, want about 100 ms", best)
	}
}
