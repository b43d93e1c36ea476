package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/khula-cop/khula/internal/api"
	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/demo"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/users"
)

// scoreWave records child's cycle of wave n at Meadowlands, closed with the given levels.
func scoreWave(t *testing.T, f *fixture, child string, n int, levels map[string]string) {
	t.Helper()
	ctx := context.Background()
	wave := cycle.WaveID("johannesburg", n)
	require.NoError(t, f.store.SaveWave(ctx, cycle.WaveRecord{WaveID: wave, SiteID: "johannesburg", Number: n,
		WindowOpen: now.AddDate(n-4, 0, 0), WindowClose: now.AddDate(n-4, 0, 14), Status: cycle.WaveOpen, At: now.AddDate(n-4, 0, 0)}))
	id := cycle.CycleID("johannesburg", n, child)
	require.NoError(t, f.store.RecordStage(ctx, cycle.StageRecord{CycleID: id, WaveID: wave, SiteID: "johannesburg", SchoolID: "meadowlands",
		ChildID: child, Seq: 9, Stage: cycle.StageClosed, Outcome: cycle.OutcomeCompleted, At: now}))
	require.NoError(t, f.store.SaveScore(ctx, cycle.ScoreRecord{CycleID: id, WaveID: wave, SiteID: "johannesburg", SchoolID: "meadowlands",
		Phase: cycle.PhaseBaseline, Instrument: joziRef, Domains: levels,
		Result: []byte(`{"scales":{"phq9.total":{"score":12,"band":"moderate","computed":true}}}`), ComputedAt: now}))
}

func TestChildAcrossWaves(t *testing.T) {
	f := newFixture(t)
	scoreWave(t, f, "c-0001", 1, map[string]string{"health": "high"})
	scoreWave(t, f, "c-0001", 2, map[string]string{"health": "moderate"})
	scoreWave(t, f, "c-0001", 3, map[string]string{"health": "moderate"})

	rec := f.do(t, "GET", "/api/v1/children/johannesburg/c-0001", "")
	var out struct {
		ChildID    string `json:"child_id"`
		TimePoints []struct {
			Wave    int                          `json:"wave"`
			Outcome string                       `json:"outcome"`
			Domains map[string]string            `json:"domains"`
			Scales  map[string]map[string]any    `json:"scales"`
			Change  map[string]map[string]string `json:"change"`
		} `json:"time_points"`
	}
	wantJSON(t, rec, http.StatusOK, &out)
	require.Len(t, out.TimePoints, 3)
	assert.Equal(t, []int{1, 2, 3}, []int{out.TimePoints[0].Wave, out.TimePoints[1].Wave, out.TimePoints[2].Wave})
	assert.Equal(t, "better", out.TimePoints[1].Change["health"]["direction"])
	assert.Equal(t, "same", out.TimePoints[2].Change["health"]["direction"])
	assert.Equal(t, 12.0, out.TimePoints[0].Scales["phq9.total"]["score"])
	assert.NotContains(t, rec.Body.String(), "Demo", "no name in the record across waves")

	trail, err := f.store.AuditTrail(context.Background(), "c-0001", 10)
	require.NoError(t, err)
	require.NotEmpty(t, trail)
	assert.Equal(t, "record across waves", trail[0].What)

	assert.Equal(t, http.StatusNotFound, f.do(t, "GET", "/api/v1/children/johannesburg/nobody", "").Code)
	otherSchool := tokenFor(t, f, users.Spec{Username: "nurse-alex", Role: auth.Practitioner, Practice: "nurse", Sites: []string{"johannesburg"}, Schools: []string{"alexandra"}})
	wantProblem(t, f.do(t, "GET", "/api/v1/children/johannesburg/c-0001", "", "Authorization", "Bearer "+otherSchool), http.StatusForbidden)
	ops := tokenFor(t, f, users.Spec{Username: "ops", Role: auth.Ops})
	wantProblem(t, f.do(t, "GET", "/api/v1/children/johannesburg/c-0001", "", "Authorization", "Bearer "+ops), http.StatusForbidden)
}

func TestLeaveAndRenew(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	require.NoError(t, f.store.AddFamilies(ctx, []store.Family{{
		Caregiver: store.Caregiver{ID: "cg-c-0002", SiteID: "johannesburg", GivenName: "Demo", FamilyName: "Carer", Language: "en", CreatedAt: now},
		Child: store.Child{ID: "c-0002", SiteID: "johannesburg", SchoolID: "meadowlands", CaregiverID: "cg-c-0002", GivenName: "Demo", FamilyName: "Two",
			Sex: "male", BirthDate: now.AddDate(-7, 0, 0), Grade: "1", CreatedAt: now},
		Consent: &store.Consent{ID: "consent-c-0002", ChildID: "c-0002", CaregiverID: "cg-c-0002", Relationship: "parent", Scope: "cop-cycle", GivenAt: now.AddDate(-1, 0, 0)},
	}}))
	leave := "/api/v1/children/johannesburg/c-0001/leave"
	p := wantProblem(t, f.do(t, "POST", leave, `{"reason":"bored","recorded_by":""}`), http.StatusUnprocessableEntity)
	assert.ElementsMatch(t, []fe{{"reason", "invalid_choice"}, {"recorded_by", "required"}}, fieldsOf(p))
	pm := tokenFor(t, f, users.Spec{Username: "pm", Role: auth.ProgrammeManager})
	wantProblem(t, f.do(t, "POST", leave, `{"reason":"moved_school","recorded_by":"pm"}`, "Authorization", "Bearer "+pm), http.StatusForbidden)

	var res map[string]any
	wantJSON(t, f.do(t, "POST", leave, `{"reason":"moved_school","recorded_by":"Coordinator"}`), http.StatusOK, &res)
	assert.Equal(t, true, res["left"])
	wantProblem(t, f.do(t, "POST", leave, `{"reason":"left_area","recorded_by":"Coordinator"}`), http.StatusConflict)
	wantProblem(t, f.do(t, "POST", "/api/v1/children/johannesburg/c-0001/consent/renew", `{"recorded_by":"Coordinator"}`), http.StatusConflict)

	renew := "/api/v1/children/johannesburg/c-0002/consent/renew"
	wantProblem(t, f.do(t, "POST", renew, `{}`), http.StatusUnprocessableEntity)
	wantJSON(t, f.do(t, "POST", renew, `{"recorded_by":"Coordinator"}`), http.StatusOK, &res)
	assert.Equal(t, 1.0, res["renewed"])
	// child-7f3a9 has no consent on record.
	wantProblem(t, f.do(t, "POST", "/api/v1/children/johannesburg/child-7f3a9/consent/renew", `{"recorded_by":"Coordinator"}`), http.StatusConflict)

	var leavers struct {
		Items []store.ChildStatus `json:"items"`
	}
	wantJSON(t, f.do(t, "GET", "/api/v1/sites/johannesburg/leavers", ""), http.StatusOK, &leavers)
	require.Len(t, leavers.Items, 1)
	assert.Equal(t, cycle.LeftMovedSchool, leavers.Items[0].Reason)
}

func TestPreviewAndTransitions(t *testing.T) {
	f := newFixture(t)
	// Six children in wave 1 and 2: five went from high to moderate, one from low to high.
	ctx := context.Background()
	var ids []string
	for i := range 6 {
		id := fmt.Sprintf("t-%04d", i)
		ids = append(ids, id)
		require.NoError(t, f.store.AddFamilies(ctx, []store.Family{{
			Caregiver: store.Caregiver{ID: "cg-" + id, SiteID: "johannesburg", GivenName: "Demo", FamilyName: fmt.Sprintf("Carer%d", i), Language: "en", CreatedAt: now},
			Child: store.Child{ID: id, SiteID: "johannesburg", SchoolID: "meadowlands", CaregiverID: "cg-" + id, GivenName: "Demo", FamilyName: fmt.Sprintf("Kid%d", i),
				Sex: "male", BirthDate: now.AddDate(-7, 0, -i), Grade: "1", CreatedAt: now},
			Consent: &store.Consent{ID: "consent-" + id, ChildID: id, CaregiverID: "cg-" + id, Relationship: "parent", Scope: "cop-cycle", GivenAt: now.AddDate(-1, 0, 0)},
		}}))
	}
	for i, id := range ids {
		if i < 5 {
			scoreWave(t, f, id, 1, map[string]string{"health": "high"})
			scoreWave(t, f, id, 2, map[string]string{"health": "moderate"})
		} else {
			scoreWave(t, f, id, 1, map[string]string{"health": "low"})
			scoreWave(t, f, id, 2, map[string]string{"health": "high"})
		}
	}
	var rep struct {
		Site struct {
			Both    int `json:"both"`
			Domains map[string]struct {
				Matrix map[string]map[string]int `json:"matrix"`
				Worse  int                       `json:"worse"`
			} `json:"domains"`
			Worsened []struct {
				ChildID string `json:"child_id"`
			} `json:"worsened"`
		} `json:"site"`
	}
	wantJSON(t, f.do(t, "GET", "/api/v1/sites/johannesburg/transitions?from=1&to=2", ""), http.StatusOK, &rep)
	assert.Equal(t, 6, rep.Site.Both)
	assert.Equal(t, 5, rep.Site.Domains["health"].Matrix["high"]["moderate"])
	assert.Equal(t, 1, rep.Site.Domains["health"].Worse)
	require.Len(t, rep.Site.Worsened, 1)
	assert.Equal(t, "t-0005", rep.Site.Worsened[0].ChildID)

	csv := f.do(t, "GET", "/api/v1/sites/johannesburg/transitions?from=1&to=2&format=csv", "")
	require.Equal(t, http.StatusOK, csv.Code, csv.Body.String())
	assert.Contains(t, csv.Body.String(), "<5", "the one child who got worse is a small count")
	assert.NotContains(t, csv.Body.String(), "t-0005", "no child leaves in an export")
	// Five is not small, but it is the only other child of the domain: the
	// total (6) minus five would give the small cell away.
	assert.Regexp(t, `high,moderate,suppressed,`, csv.Body.String(), "secondary suppression")

	p := wantProblem(t, f.do(t, "GET", "/api/v1/sites/johannesburg/transitions?from=2&to=1", ""), http.StatusUnprocessableEntity)
	assert.Equal(t, []fe{{"to", "out_of_range"}}, fieldsOf(p))
	wantProblem(t, f.do(t, "GET", "/api/v1/sites/johannesburg/transitions?from=1&to=9", ""), http.StatusNotFound)

	var prev store.CohortPreview
	wantJSON(t, f.do(t, "GET", "/api/v1/waves/johannesburg/3/preview", ""), http.StatusOK, &prev)
	// The six took part before; c-0001 and child-7f3a9 are new and have no consent.
	assert.Equal(t, 6, prev.Continuing)
	assert.Equal(t, 0, prev.New)
	assert.Len(t, prev.Lapsed, 2)
	assert.Equal(t, 2, prev.PreviousWave)

	nurse := tokenFor(t, f, users.Spec{Username: "nurse-m", Role: auth.Practitioner, Practice: "nurse", Sites: []string{"johannesburg"}, Schools: []string{"meadowlands"}})
	for _, path := range []string{"/api/v1/waves/johannesburg/3/preview", "/api/v1/sites/johannesburg/transitions?from=1&to=2", "/api/v1/sites/johannesburg/duplicates", "/api/v1/sites/johannesburg/leavers"} {
		wantProblem(t, f.do(t, "GET", path, "", "Authorization", "Bearer "+nurse), http.StatusForbidden)
	}
	moutseOnly := tokenFor(t, f, users.Spec{Username: "coord-m", Role: auth.SiteCoordinator, Sites: []string{"moutse"}})
	wantProblem(t, f.do(t, "GET", "/api/v1/sites/johannesburg/transitions?from=1&to=2", "", "Authorization", "Bearer "+moutseOnly), http.StatusForbidden)
}

// A class list line for the cohort import.
func cohortLine(school, given, family, born, cgGiven, cgFamily, phone string) string {
	return strings.Join([]string{school, given, family, "female", born, "1", cgGiven, cgFamily, phone, "zu", "caregiver", "parent", "2026-01-20"}, ",") + "\n"
}

func TestImportHoldsLikelyDuplicates(t *testing.T) {
	f := newFixture(t)
	first := cohortHeader + cohortLine("meadowlands", "Thandiwe", "Nkosi", "2019-03-04", "Zanele", "Nkosi", "082 123 4567")
	var res api.CohortResult
	wantJSON(t, f.postCSV(t, cohortPath, first), http.StatusCreated, &res)
	require.Empty(t, res.Held)
	known := res.Children[0].ChildID

	// The same child again, at another school, with the surname spelt
	// another way and the day and month swapped; and a different child.
	second := cohortHeader + cohortLine("malvern", "Thandiwe", "Nkosie", "2019-04-03", "Zanele", "Nkosi", "+27821234567") +
		cohortLine("malvern", "Karabo", "Mahlangu", "2019-07-07", "Dineo", "Mahlangu", "0614443333")
	wantJSON(t, f.postCSV(t, cohortPath, second), http.StatusCreated, &res)
	require.Equal(t, 2, res.Imported, "a likely duplicate is imported and held, never dropped")
	require.Len(t, res.Held, 1)
	held := res.Held[0]
	assert.Equal(t, 2, held.Line)
	assert.Equal(t, known, held.KnownChildID)
	assert.False(t, held.OtherSite)
	assert.Contains(t, held.Evidence, "birth_date_day_month_swapped")

	var list struct {
		Items []store.DuplicateHold `json:"items"`
	}
	wantJSON(t, f.do(t, "GET", "/api/v1/sites/johannesburg/duplicates", ""), http.StatusOK, &list)
	require.Len(t, list.Items, 1)
	assert.Equal(t, held.HoldID, list.Items[0].ID)

	decide := "/api/v1/duplicates/" + held.HoldID + "/decision"
	p := wantProblem(t, f.do(t, "POST", decide, `{"decision":"maybe"}`), http.StatusUnprocessableEntity)
	assert.Equal(t, []fe{{"decision", "invalid_choice"}}, fieldsOf(p))
	nurse := tokenFor(t, f, users.Spec{Username: "nurse-m", Role: auth.Practitioner, Practice: "nurse", Sites: []string{"johannesburg"}, Schools: []string{"meadowlands"}})
	wantProblem(t, f.do(t, "POST", decide, `{"decision":"same"}`, "Authorization", "Bearer "+nurse), http.StatusForbidden)
	moutseOnly := tokenFor(t, f, users.Spec{Username: "coord-m", Role: auth.SiteCoordinator, Sites: []string{"moutse"}})
	wantProblem(t, f.do(t, "POST", decide, `{"decision":"same"}`, "Authorization", "Bearer "+moutseOnly), http.StatusNotFound)

	var h store.DuplicateHold
	wantJSON(t, f.do(t, "POST", decide, `{"decision":"same"}`), http.StatusOK, &h)
	assert.Equal(t, store.HoldLinked, h.Status)
	wantProblem(t, f.do(t, "POST", decide, `{"decision":"different"}`), http.StatusConflict)
	site, school, err := f.store.ChildSchool(context.Background(), known)
	require.NoError(t, err)
	assert.Equal(t, "johannesburg/malvern", site+"/"+school, "the known child is followed at the new school")

	// Consent is withdrawn on the record the child is followed under.
	p = wantProblem(t, f.do(t, "POST", "/api/v1/children/johannesburg/"+held.ChildID+"/consent/withdraw", `{"reason":"caregiver asked","recorded_by":"Coordinator"}`), http.StatusConflict)
	assert.Contains(t, p.Detail, known)
	trail, err := f.store.AuditTrail(context.Background(), known, 10)
	require.NoError(t, err)
	linked := false
	for _, e := range trail {
		linked = linked || strings.Contains(e.What, "linked to the record")
	}
	assert.True(t, linked, "the link is in the known child's audit trail")
}

func TestLinkAcrossSitesNeedsTheProgrammeManager(t *testing.T) {
	f := newFixture(t)
	var res api.CohortResult
	wantJSON(t, f.postCSV(t, cohortPath, cohortHeader+cohortLine("meadowlands", "Lerato", "Mokoena", "2019-01-09", "Palesa", "Mokoena", "0725556666")), http.StatusCreated, &res)
	require.NoError(t, demo.EnsureSite(context.Background(), f.store, mustSite(t, f.dir, "moutse")))
	moutseSchool := mustSite(t, f.dir, "moutse").Schools[0].ID
	wantJSON(t, f.postCSV(t, "/api/v1/sites/moutse/cohort", cohortHeader+strings.Replace(cohortLine(moutseSchool, "Lerato", "Mokwena", "2019-01-09", "Palesa", "Mokwena", "072 555 6666"), ",zu,", ",nso,", 1)), http.StatusCreated, &res)
	require.Len(t, res.Held, 1)
	held := res.Held[0]
	assert.True(t, held.OtherSite)
	assert.Empty(t, held.KnownChildID, "a child of another site is not named to this site")

	var list struct {
		Items []store.DuplicateHold `json:"items"`
	}
	wantJSON(t, f.do(t, "GET", "/api/v1/sites/moutse/duplicates", ""), http.StatusOK, &list)
	require.Len(t, list.Items, 1)
	assert.Empty(t, list.Items[0].KnownChildID, "a coordinator is not told another site's child ID")

	decide := "/api/v1/duplicates/" + held.HoldID + "/decision"
	wantProblem(t, f.do(t, "POST", decide, `{"decision":"same"}`), http.StatusForbidden)
	pm := tokenFor(t, f, users.Spec{Username: "pm", Role: auth.ProgrammeManager})
	var h store.DuplicateHold
	wantJSON(t, f.do(t, "POST", decide, `{"decision":"same"}`, "Authorization", "Bearer "+pm), http.StatusOK, &h)
	assert.Equal(t, store.HoldLinked, h.Status)
}
