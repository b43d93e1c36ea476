package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

const (
	childPage   = "/cycles/johannesburg/2/" + childPlan
	alexPage    = "/cycles/johannesburg/2/" + childAlex
	meetingPage = "/meetings/johannesburg/meadowlands/2026-03-02"
	formPage    = "/cycles/johannesburg/2/" + childAssess + "/forms/caregiver?phase=baseline"
)

// TestPagesByRole opens every page as every role: who may see it gets 200,
// a role or scope that may not gets 403, exactly as the API decides.
func TestPagesByRole(t *testing.T) {
	f := newFixture(t, true)
	everyone := []string{"manager", "coordinator", "coord-moutse", "social-worker", "nurse-alex", "ops"}
	pages := []struct {
		path  string
		allow []string
	}{
		{"/waves", []string{"manager", "coordinator", "coord-moutse", "social-worker", "nurse-alex"}},
		{"/waves/johannesburg/2", []string{"manager", "coordinator", "social-worker", "nurse-alex"}},
		{"/waves/johannesburg/2/schools/meadowlands", []string{"manager", "coordinator", "social-worker"}},
		{"/compare?site=johannesburg&a=1&b=2", []string{"manager", "coordinator", "social-worker", "nurse-alex"}},
		{"/sites/johannesburg", []string{"manager", "coordinator", "social-worker", "nurse-alex"}},
		{"/sites/johannesburg/services", []string{"manager", "coordinator", "social-worker", "nurse-alex"}},
		{"/sites/johannesburg/meetings", []string{"manager", "coordinator", "social-worker", "nurse-alex"}},
		{"/sites/johannesburg/referrals", []string{"manager", "coordinator", "social-worker", "nurse-alex"}},
		{"/sites/johannesburg/check", []string{"manager", "coordinator"}},
		{"/sites/johannesburg/cohort", []string{"manager", "coordinator"}},
		{"/sites/johannesburg/intake", []string{"coordinator", "social-worker", "nurse-alex"}},
		{"/sites/moutse", []string{"manager", "coord-moutse"}},
		{"/work?site=johannesburg", []string{"manager", "coordinator", "social-worker", "nurse-alex"}},
		{childPage, []string{"manager", "coordinator", "social-worker"}},
		{"/children/johannesburg/" + childPlan, []string{"manager", "coordinator", "social-worker"}},
		{"/children/johannesburg/" + childAlex, []string{"manager", "coordinator", "nurse-alex"}},
		{"/sites/johannesburg/duplicates", []string{"manager", "coordinator"}},
		{"/sites/johannesburg/changes.csv?from=1&to=2", []string{"manager", "coordinator"}},
		{alexPage, []string{"manager", "coordinator", "nurse-alex"}},
		{formPage, []string{"coordinator", "social-worker"}},
		{meetingPage, []string{"manager", "coordinator", "social-worker"}},
		{"/ops", []string{"manager", "ops"}},
	}
	browsers := map[string]*browser{}
	for _, who := range everyone {
		browsers[who] = f.as(who)
	}
	for _, pg := range pages {
		for _, who := range everyone {
			allowed := false
			for _, a := range pg.allow {
				allowed = allowed || a == who
			}
			res := browsers[who].get(pg.path)
			switch {
			case allowed && res.status != http.StatusOK:
				t.Errorf("%s GET %s = %d, want 200: %s", who, pg.path, res.status, excerpt(res.body))
			case !allowed && res.status != http.StatusForbidden:
				t.Errorf("%s GET %s = %d, want 403", who, pg.path, res.status)
			}
			if !allowed && strings.Contains(res.body, secretName) {
				t.Errorf("%s GET %s: a refusal shows a child's name", who, pg.path)
			}
		}
	}
	// Without a session every page sends the browser to sign in.
	anon := &browser{f: f, client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	for _, pg := range pages {
		res := anon.get(pg.path)
		if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/login?next=") {
			t.Errorf("anonymous GET %s = %d %s, want 303 to /login", pg.path, res.status, res.header.Get("Location"))
		}
	}
}

// TestNamesOnlyOnTheChildPageAndTheWorkList checks where children's names
// show: on the child's own page, and on the work list of a practitioner or
// coordinator for the children of their schools (each an audited read);
// never on the work list of a programme manager, never on the work list
// the device keeps (/work?device=1), never on any other page.
func TestNamesOnlyOnTheChildPageAndTheWorkList(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	// A child of Alexandra with a name of their own, awaiting a plan.
	const elsewhere = "Zodwa-Elsewhere"
	require.NoError(t, f.store.AddFamilies(ctx, []store.Family{{
		Caregiver: store.Caregiver{ID: "cg-ch-alex0002", SiteID: "johannesburg", GivenName: "Care", FamilyName: "Giver", Language: "zu", CreatedAt: now},
		Child: store.Child{ID: "ch-alex0002", SiteID: "johannesburg", SchoolID: "alexandra", CaregiverID: "cg-ch-alex0002", GivenName: elsewhere, FamilyName: "Mokoena",
			Sex: "male", BirthDate: time.Date(2019, 2, 2, 0, 0, 0, 0, time.UTC), Grade: "1", CreatedAt: now},
	}}))
	require.NoError(t, f.store.RecordStage(ctx, cycle.StageRecord{CycleID: cycle.CycleID("johannesburg", 2, "ch-alex0002"), WaveID: cycle.WaveID("johannesburg", 2),
		SiteID: "johannesburg", SchoolID: "alexandra", ChildID: "ch-alex0002", Seq: 4, Stage: cycle.StagePlan, At: now}))

	others := []string{"/waves", "/waves/johannesburg/2", "/waves/johannesburg/2/schools/meadowlands", "/waves/johannesburg/2/schools/alexandra",
		"/sites/johannesburg", "/sites/johannesburg/meetings", "/sites/johannesburg/referrals", meetingPage, "/work?device=1",
		// The copies of forms drawn for the device (kept offline) name no child.
		formPage + "&device=1"}
	cases := []struct {
		who string
		// names on the work list: what must show, what must not
		shows, hides []string
		// children of the work list (IDs) that must not show at all
		notListed []string
	}{
		{"coordinator", []string{secretName + " Dlamini", elsewhere + " Mokoena"}, nil, nil},
		{"social-worker", []string{secretName + " Dlamini"}, []string{elsewhere}, []string{"ch-alex0002", childAlex}},
		{"nurse-alex", []string{elsewhere + " Mokoena", secretName + " Dlamini"}, nil, []string{childPlan, childAssess, childFollow}},
		{"manager", nil, []string{secretName, elsewhere}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.who, func(t *testing.T) {
			b := f.as(tc.who)
			for _, path := range others {
				res := b.get(path)
				if res.status == http.StatusForbidden {
					continue
				}
				require.Equal(t, http.StatusOK, res.status, "%s: %s", path, excerpt(res.body))
				assert.NotContains(t, res.body, secretName, "%s shows a child's name", path)
				assert.NotContains(t, res.body, elsewhere, "%s shows a child's name", path)
			}
			res := b.get("/work?site=johannesburg")
			require.Equal(t, http.StatusOK, res.status, excerpt(res.body))
			for _, name := range tc.shows {
				assert.Contains(t, res.body, name, "the work list names the children in scope")
			}
			for _, name := range tc.hides {
				assert.NotContains(t, res.body, name, "the work list names a child out of scope")
			}
			for _, id := range tc.notListed {
				assert.NotContains(t, res.body, id, "the work list lists a child of another school")
			}
		})
	}
	// Every name the work list showed is an audited read by whom it was shown to.
	for child, readers := range map[string][]string{childPlan: {"coordinator", "social-worker"}, "ch-alex0002": {"coordinator", "nurse-alex"}} {
		trail, err := f.store.AuditTrail(ctx, child, 100)
		require.NoError(t, err)
		var got []string
		for _, e := range trail {
			if e.What == "work list" {
				got = append(got, e.ActorName)
			}
		}
		assert.ElementsMatch(t, readers, got, "work list reads of %s", child)
	}
	b := f.as("social-worker")
	res := b.get(childPage)
	require.Equal(t, http.StatusOK, res.status)
	assert.Contains(t, res.body, secretName+" Dlamini")
	assert.Contains(t, res.body, childPlan)
	// The form read online says who it is about (name, age, sex, grade),
	// an audited read.
	res = b.get(formPage)
	require.Equal(t, http.StatusOK, res.status)
	assert.Regexp(t, `<strong>`+secretName+` Dlamini</strong> · \d+ y \d+ m · Female · grade R · child`, res.body)
	trail, err := f.store.AuditTrail(ctx, childAssess, 100)
	require.NoError(t, err)
	formReads := 0
	for _, e := range trail {
		if strings.Contains(e.What, "caregiver form of cycle") && e.ActorName == "social-worker" {
			formReads++
		}
	}
	assert.Equal(t, 1, formReads, "the form's read of the child's name is audited once")
}

func TestSignInAndOut(t *testing.T) {
	f := newFixture(t, false)
	b := &browser{f: f}
	b.client = f.as("social-worker").client
	res := b.get("/")
	assert.Equal(t, http.StatusSeeOther, res.status)
	assert.Equal(t, "/work", res.header.Get("Location"), "a practitioner starts at today's work")

	// Wrong password: the form again, with a message and no session.
	anon := f.as("manager")
	anon.client.Jar, _ = newJar()
	login := anon.get("/login")
	res = anon.post("/login", url.Values{"_login": {attr(login.body, "_login")}, "username": {"manager"}, "password": {"wrong password!"}})
	assert.Equal(t, http.StatusUnauthorized, res.status)
	assert.Contains(t, res.body, "Wrong username or password")
	// A sign-in without the form's token is refused (login CSRF).
	res = anon.post("/login", url.Values{"username": {"manager"}, "password": {password}})
	assert.Equal(t, http.StatusForbidden, res.status)
	// An absolute next is not followed.
	login = anon.get("/login")
	res = anon.post("/login", url.Values{"_login": {attr(login.body, "_login")}, "username": {"manager"}, "password": {password}, "next": {"//evil.example/x"}})
	assert.Equal(t, http.StatusSeeOther, res.status)
	assert.Equal(t, "/", res.header.Get("Location"))

	// Sign-out needs the CSRF token, then ends the session.
	sw := f.as("social-worker")
	res = sw.post("/logout", url.Values{})
	assert.Equal(t, http.StatusForbidden, res.status)
	res = sw.submit("/logout", nil)
	assert.Equal(t, http.StatusSeeOther, res.status)
	res = sw.get("/work")
	assert.Equal(t, http.StatusSeeOther, res.status, "signed out")
}

func TestPostsNeedTheCSRFToken(t *testing.T) {
	f := newFixture(t, true)
	b := f.as("coordinator")
	for _, path := range []string{"/waves", "/meetings", meetingPage + "/minutes", "/cycles/johannesburg/2/" + childAssess + "/forms/caregiver",
		"/sites/johannesburg/cohort", "/sites/johannesburg/intake", "/cycles/johannesburg/2/" + childFollow + "/follow-ups"} {
		res := b.post(path, url.Values{"_csrf": {"forged"}, "site": {"johannesburg"}, "number": {"3"}})
		assert.Equal(t, http.StatusForbidden, res.status, path)
	}
}

func excerpt(s string) string {
	if i := strings.Index(s, "<main"); i >= 0 {
		s = s[i:]
	}
	if len(s) > 400 {
		s = s[:400]
	}
	return s
}
