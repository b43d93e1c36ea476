package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/mocks"

	"github.com/khula-cop/khula/internal/api"
	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/codec/codectest"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/demo"
	"github.com/khula-cop/khula/internal/scoring"
	"github.com/khula-cop/khula/internal/sitedir"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/users"
	"github.com/khula-cop/khula/internal/web"
)

// now is the clock of every handler test.
var now = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

const password = "correct horse battery staple"

// fixture is the API and the UI on one engine, over a real SQLite store
// (with a field cipher) and a mocked Temporal client that fails the test on
// any call it was not told to expect. The store holds a wave 1 (closed) and
// a wave 2 (open) of Johannesburg with cycles at every stage.
type fixture struct {
	t        *testing.T
	srv      *httptest.Server
	temporal *mocks.Client
	store    *store.Store
	dir      *sitedir.Directory
}

// people are the users of the fixture: one per role, plus scopes to refuse.
var people = map[string]users.Spec{
	"manager":       {Role: auth.ProgrammeManager, DisplayName: "Programme manager"},
	"coordinator":   {Role: auth.SiteCoordinator, Sites: []string{"johannesburg"}, DisplayName: "Site coordinator"},
	"coord-moutse":  {Role: auth.SiteCoordinator, Sites: []string{"moutse"}},
	"social-worker": {Role: auth.Practitioner, Practice: "social_worker", Sites: []string{"johannesburg"}, Schools: []string{"meadowlands"}, DisplayName: "Social worker"},
	"nurse-alex":    {Role: auth.Practitioner, Practice: "nurse", Sites: []string{"johannesburg"}, Schools: []string{"alexandra"}},
	"ops":           {Role: auth.Ops},
}

// fixtureOption changes what newFixture sets up.
type fixtureOption func(*fixtureConfig)

type fixtureConfig struct {
	apiInstruments bool
}

// withAPIInstruments gives the API the instruments too (the intake types
// each answer by the site's instrument).
func withAPIInstruments() fixtureOption {
	return func(c *fixtureConfig) { c.apiInstruments = true }
}

func newFixture(t *testing.T, compressed bool, opts ...fixtureOption) *fixture {
	t.Helper()
	var cfg fixtureConfig
	for _, o := range opts {
		o(&cfg)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "khula.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	st.SetFieldCipher(codectest.Keyring())
	_, err = st.Migrate(ctx)
	require.NoError(t, err)
	dir, err := sitedir.Load("../../sites")
	require.NoError(t, err)
	reg, err := scoring.New(dir.Sites(), dir.FS, nil)
	require.NoError(t, err)
	for _, s := range dir.Sites() {
		ref, ok := reg.SiteInstrument(s.ID)
		require.True(t, ok)
		dir.SetInstrument(s.ID, ref)
	}
	tc := &mocks.Client{}
	tc.Test(t)
	clock := func() time.Time { return now }
	ui := web.New(web.Options{Store: st, Sites: dir, Instruments: reg, SitesFS: dir.FS, AllowCompressedTime: compressed, Now: clock})
	srv := &api.Server{Temporal: tc, Store: st, Sites: dir, Now: clock, AllowCompressedTime: compressed, Mount: ui.Register}
	if cfg.apiInstruments {
		srv.Instruments = reg
	}
	f := &fixture{t: t, temporal: tc, store: st, dir: dir}
	f.srv = httptest.NewServer(srv.Handler())
	t.Cleanup(srv.Wait) // after the HTTP server closes, before the store does
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { tc.AssertExpectations(t) })
	for name, spec := range people {
		spec.Username, spec.Password = name, password
		_, err := users.Create(ctx, st, dir, spec)
		require.NoError(t, err)
	}
	seed(t, st, dir)
	return f
}

// Child IDs of the seeded cohort.
const (
	childAssess = "ch-assess01" // Meadowlands, wave 2, assess: caregiver and nurse forms due
	childPlan   = "ch-plan0001" // Meadowlands, wave 2, plan: on the meeting's agenda
	childFollow = "ch-follow01" // Meadowlands, wave 2, follow-up with an overdue referral
	childAlex   = "ch-alex0001" // Alexandra, wave 2, assess
)

// secretName is a child's name: it may appear on that child's page only.
const secretName = "Nosipho-Secret"

func seed(t *testing.T, st *store.Store, dir *sitedir.Directory) {
	t.Helper()
	ctx := context.Background()
	site, _ := dir.Site("johannesburg")
	for _, s := range dir.Sites() {
		require.NoError(t, demo.EnsureSite(ctx, st, s))
	}
	var fams []store.Family
	for _, c := range []struct{ id, school string }{{childAssess, "meadowlands"}, {childPlan, "meadowlands"}, {childFollow, "meadowlands"}, {childAlex, "alexandra"}} {
		fams = append(fams, store.Family{
			Caregiver: store.Caregiver{ID: "cg-" + c.id, SiteID: site.ID, GivenName: "Caregiver", FamilyName: "Of " + c.id, Language: "zu", CreatedAt: now},
			Child: store.Child{ID: c.id, SiteID: site.ID, SchoolID: c.school, CaregiverID: "cg-" + c.id, GivenName: secretName, FamilyName: "Dlamini",
				Sex: "female", BirthDate: time.Date(2020, 5, 1, 0, 0, 0, 0, time.UTC), Grade: "R", CreatedAt: now},
			Consent: &store.Consent{ID: "consent-" + c.id, ChildID: c.id, CaregiverID: "cg-" + c.id, Relationship: "parent", Scope: "cop-cycle", GivenAt: now},
		})
	}
	require.NoError(t, st.AddFamilies(ctx, fams))

	w1 := cycle.WaveID(site.ID, 1)
	opened := now.AddDate(0, -8, 0)
	report, _ := json.Marshal(cycle.WaveReport{CohortSize: 3, Outcomes: map[string]int{"completed": 2, "low_risk": 1},
		Risk:      map[string]map[string]int{"education": {"high": 1, "moderate": 1, "low": 1}, "nutrition": {"low": 3}},
		Changes:   map[string]map[string]int{"education": {"improved": 1, "unchanged": 1}},
		Referrals: map[string]int{"completed": 2}, RedFlags: 0})
	require.NoError(t, st.SaveWave(ctx, cycle.WaveRecord{WaveID: w1, SiteID: site.ID, Number: 1, WindowOpen: opened, WindowClose: opened.AddDate(0, 0, 42),
		Status: cycle.WaveClosed, CohortSize: 3, At: opened}))
	require.NoError(t, st.SaveWave(ctx, cycle.WaveRecord{WaveID: w1, SiteID: site.ID, Number: 1, Status: cycle.WaveClosed, CohortSize: 3, Report: report, At: opened.AddDate(0, 3, 0)}))

	// Two of the children took part in wave 1: their record across waves
	// has two time points.
	for _, c := range []struct {
		id     string
		levels map[string]string
	}{
		{childPlan, map[string]string{"education": "moderate", "nutrition": "low", "health": "low", "material": "moderate", "protection": "low", "psychosocial": "low", "caregiver": "low"}},
		{childFollow, map[string]string{"education": "high", "nutrition": "low", "health": "low", "material": "low", "protection": "low", "psychosocial": "moderate", "caregiver": "low"}},
	} {
		id := cycle.CycleID(site.ID, 1, c.id)
		require.NoError(t, st.RecordStage(ctx, cycle.StageRecord{CycleID: id, WaveID: w1, SiteID: site.ID, SchoolID: "meadowlands", ChildID: c.id,
			Seq: 9, Stage: cycle.StageClosed, Outcome: cycle.OutcomeCompleted, At: opened.AddDate(0, 2, 0)}))
		require.NoError(t, st.SaveScore(ctx, cycle.ScoreRecord{CycleID: id, WaveID: w1, SiteID: site.ID, SchoolID: "meadowlands", Phase: cycle.PhaseBaseline,
			Instrument: cycle.InstrumentRef{ID: "cwtt-johannesburg", Version: "1.0.0"}, Domains: c.levels,
			Result:     []byte(`{"scales":{"sdq.total":{"score":18,"band":"borderline","computed":true},"phq9.total":{"score":7,"computed":true}},"growth":{"hfa":{"z":-1.6,"computed":true}}}`),
			ComputedAt: opened.AddDate(0, 0, 7)}))
	}
	require.NoError(t, st.DB(ctx).Create(&store.DuplicateHold{ID: "dup-fixture", SiteID: site.ID, ChildID: childAlex, KnownChildID: childAssess,
		KnownSiteID: site.ID, Score: 0.93, Evidence: "name_exact,birth_date_exact,caregiver_name_differs", Status: store.HoldPending, CreatedAt: now}).Error)

	w2 := cycle.WaveID(site.ID, 2)
	open2 := now.AddDate(0, 0, -10)
	require.NoError(t, st.SaveWave(ctx, cycle.WaveRecord{WaveID: w2, SiteID: site.ID, Number: 2, WindowOpen: open2, WindowClose: open2.AddDate(0, 0, 42),
		Status: cycle.WaveOpen, CohortSize: 4, At: open2}))
	stage := func(child, school, st2 string, seq int, awaiting []string, risk string, flags []string) {
		require.NoError(t, st.RecordStage(ctx, cycle.StageRecord{CycleID: cycle.CycleID(site.ID, 2, child), WaveID: w2, SiteID: site.ID, SchoolID: school,
			ChildID: child, Seq: seq, Stage: st2, Awaiting: awaiting, Risk: risk, Flags: flags, At: open2.Add(time.Duration(seq) * time.Hour)}))
	}
	stage(childAssess, "meadowlands", cycle.StageEnrol, 1, nil, "", nil)
	stage(childAssess, "meadowlands", cycle.StageAssess, 2, []string{"caregiver", "child", "teacher", "nurse"}, "", nil)
	stage(childAlex, "alexandra", cycle.StageAssess, 2, []string{"caregiver", "child", "teacher", "nurse"}, "", nil)
	for i, st2 := range []string{cycle.StageEnrol, cycle.StageAssess, cycle.StageScore, cycle.StagePlan} {
		stage(childPlan, "meadowlands", st2, i+1, nil, cycle.RiskHigh, nil)
	}
	for i, st2 := range []string{cycle.StageEnrol, cycle.StageAssess, cycle.StageScore, cycle.StagePlan, cycle.StageRefer, cycle.StageFollowUp} {
		stage(childFollow, "meadowlands", st2, i+1, nil, cycle.RiskModerate, nil)
	}
	// The children who answered: the teacher of childAssess too.
	require.NoError(t, st.SaveAssessment(ctx, cycle.AssessmentRecord{CycleID: cycle.CycleID(site.ID, 2, childAssess), Phase: cycle.PhaseBaseline,
		Respondent: "teacher", Answers: cycle.Answers{"edu_number": "achieved"}, SubmittedBy: "teacher", SubmittedAt: open2.Add(3 * time.Hour)}))
	require.NoError(t, st.SaveAssessment(ctx, cycle.AssessmentRecord{CycleID: cycle.CycleID(site.ID, 2, childAssess), Phase: cycle.PhaseBaseline,
		Respondent: "child", Answers: cycle.Answers{"cyrm01": 3.0}, SubmittedBy: "fieldworker", SubmittedAt: open2.Add(4 * time.Hour)}))
	score := func(child, school string, domains map[string]string) {
		require.NoError(t, st.SaveScore(ctx, cycle.ScoreRecord{CycleID: cycle.CycleID(site.ID, 2, child), WaveID: w2, SiteID: site.ID, SchoolID: school,
			Phase: cycle.PhaseBaseline, Instrument: cycle.InstrumentRef{ID: "cwtt-johannesburg", Version: "1.0.0"}, Domains: domains, Result: []byte(`{}`), ComputedAt: open2.Add(5 * time.Hour)}))
	}
	score(childPlan, "meadowlands", map[string]string{"education": "high", "nutrition": "moderate", "health": "low", "material": "low", "protection": "low", "psychosocial": "low", "caregiver": "low"})
	require.NoError(t, st.SaveScore(ctx, cycle.ScoreRecord{CycleID: cycle.CycleID(site.ID, 2, childPlan), WaveID: w2, SiteID: site.ID, SchoolID: "meadowlands",
		Phase: cycle.PhaseBaseline, Instrument: cycle.InstrumentRef{ID: "cwtt-johannesburg", Version: "1.0.0"},
		Domains:    map[string]string{"education": "high", "nutrition": "moderate", "health": "low", "material": "low", "protection": "low", "psychosocial": "low", "caregiver": "low"},
		Result:     []byte(`{"scales":{"sdq.total":{"score":14,"band":"normal","computed":true},"phq9.total":{"score":11,"computed":true}},"growth":{"hfa":{"z":-1.2,"computed":true}}}`),
		ComputedAt: open2.Add(5 * time.Hour)}))
	score(childFollow, "meadowlands", map[string]string{"education": "moderate", "nutrition": "low", "health": "low", "material": "low", "protection": "low", "psychosocial": "low", "caregiver": "low"})

	due := now.AddDate(0, 0, -2)
	require.NoError(t, st.SaveReferral(ctx, cycle.ReferralRecord{ReferralID: cycle.ReferralID(site.ID, 2, childFollow, 1), CycleID: cycle.CycleID(site.ID, 2, childFollow),
		WaveID: w2, SiteID: site.ID, SchoolID: "meadowlands", Domain: "education", ServiceType: "learning_support", Status: cycle.ReferralDispatched,
		Overdue: true, At: open2.Add(6 * time.Hour), DueAt: &due}))
	require.NoError(t, st.SavePlans(ctx, cycle.MeetingID(site.ID, "meadowlands", "2026-02-26"), []cycle.ChildPlan{{CycleID: cycle.CycleID(site.ID, 2, childFollow),
		Actions: []cycle.PlanAction{{Domain: "education", ServiceType: "learning_support", Note: "reading support twice a week"}}}}, open2.Add(6*time.Hour)))
	require.NoError(t, st.SaveMeeting(ctx, cycle.MeetingRecord{MeetingID: cycle.MeetingID(site.ID, "meadowlands", "2026-03-02"), SiteID: site.ID, SchoolID: "meadowlands",
		Date: "2026-03-02", Status: cycle.MeetingAwaitingMinutes, At: now, Agenda: []cycle.AgendaItem{
			{CycleID: cycle.CycleID(site.ID, 2, childPlan), ChildID: childPlan, Reason: cycle.AgendaAwaitingPlan,
				Domains: map[string]string{"education": "high", "nutrition": "moderate", "health": "low", "material": "low", "protection": "low", "psychosocial": "low", "caregiver": "low"},
				Reasons: map[string]string{"education": "Reading and numeracy both not achieved", "nutrition": "Household skips meals (hunger scale)",
					"health": "No health concern in the answers given", "caregiver": "Caregiver depression not screened (PHQ-9 has 3 or more items missing)"},
				Missing: []string{"nurse"}, Previous: &cycle.PreviousResult{Wave: 1, Outcome: cycle.OutcomeCompleted, Domains: map[string]string{"education": "moderate", "nutrition": "low"}}},
			{CycleID: cycle.CycleID(site.ID, 2, childFollow), ChildID: childFollow, Reason: cycle.AgendaOverdueReferral},
		}}))
}

// browser is a cookie-keeping client signed in as one user.
type browser struct {
	f      *fixture
	client *http.Client
	csrf   string
}

// as signs in through the UI's sign-in form.
func (f *fixture) as(username string) *browser {
	f.t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{f: f, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	page := b.get("/login")
	require.Equal(f.t, http.StatusOK, page.status)
	token := attr(page.body, "_login")
	res := b.post("/login", url.Values{"_login": {token}, "username": {username}, "password": {password}, "next": {"/"}})
	require.Equal(f.t, http.StatusSeeOther, res.status, res.body)
	// The CSRF token is in every page's sign-out form.
	home := b.get("/ops")
	if home.status != http.StatusOK {
		home = b.get("/waves")
	}
	if home.status != http.StatusOK {
		home = b.get("/work")
	}
	b.csrf = attr(home.body, "_csrf")
	require.NotEmpty(f.t, b.csrf, "a CSRF token on the page")
	return b
}

type page struct {
	status int
	body   string
	header http.Header
}

func (b *browser) get(path string) page {
	b.f.t.Helper()
	res, err := b.client.Get(b.f.srv.URL + path)
	require.NoError(b.f.t, err)
	return read(b.f.t, res)
}

func (b *browser) post(path string, form url.Values) page {
	b.f.t.Helper()
	res, err := b.client.PostForm(b.f.srv.URL+path, form)
	require.NoError(b.f.t, err)
	return read(b.f.t, res)
}

// submit posts a form with the session's CSRF token.
func (b *browser) submit(path string, form url.Values) page {
	b.f.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("_csrf", b.csrf)
	return b.post(path, form)
}

func read(t *testing.T, res *http.Response) page {
	t.Helper()
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return page{status: res.StatusCode, body: string(body), header: res.Header}
}

// attr finds the value of the hidden input named name.
func attr(body, name string) string {
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func contains(body string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(body, p) {
			return false
		}
	}
	return true
}

func newJar() (http.CookieJar, error) { return cookiejar.New(nil) }
