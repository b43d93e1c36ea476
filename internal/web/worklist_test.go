package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

const childThemba = "ch-themba01" // Meadowlands, wave 2, follow-up with an urgent referral

// addThemba adds Themba Zulu (grade 3, born 2017) to Meadowlands, in
// follow-up with an urgent referral: a red flag.
func addThemba(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	addChild(t, f, childThemba, "meadowlands", "Themba", "Zulu", "3", time.Date(2017, 8, 8, 0, 0, 0, 0, time.UTC), cycle.StageFollowUp)
	require.NoError(t, f.store.SaveReferral(ctx, cycle.ReferralRecord{ReferralID: cycle.ReferralID("johannesburg", 2, childThemba, 0),
		CycleID: cycle.CycleID("johannesburg", 2, childThemba), WaveID: cycle.WaveID("johannesburg", 2), SiteID: "johannesburg", SchoolID: "meadowlands",
		Domain: "protection", ServiceType: "social_development", Urgent: true, Status: cycle.ReferralAcknowledged, At: now, DueAt: timePtr(now.AddDate(0, 0, 5))}))
}

func timePtr(t time.Time) *time.Time { return &t }

func addChild(t *testing.T, f *fixture, id, school, given, family, grade string, born time.Time, stage string) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, f.store.AddFamilies(ctx, []store.Family{{
		Caregiver: store.Caregiver{ID: "cg-" + id, SiteID: "johannesburg", GivenName: "Care", FamilyName: "Giver", Language: "zu", CreatedAt: now},
		Child: store.Child{ID: id, SiteID: "johannesburg", SchoolID: school, CaregiverID: "cg-" + id, GivenName: given, FamilyName: family,
			Sex: "male", BirthDate: born, Grade: grade, CreatedAt: now},
	}}))
	require.NoError(t, f.store.RecordStage(ctx, cycle.StageRecord{CycleID: cycle.CycleID("johannesburg", 2, id), WaveID: cycle.WaveID("johannesburg", 2),
		SiteID: "johannesburg", SchoolID: school, ChildID: id, Seq: 6, Stage: stage, At: now}))
}

// childrenTable is the Children section of the work page (up to the forms).
func childrenTable(t *testing.T, body string) string {
	t.Helper()
	start := strings.Index(body, `<h2 id="children">`)
	end := strings.Index(body, `<h2 id="forms">`)
	require.True(t, start >= 0 && end > start, "a Children section before the forms: %s", excerpt(body))
	return body[start:end]
}

var rowChild = regexp.MustCompile(`<th scope="row"><a href="/cycles/johannesburg/2/([^"]+)">`)

// listed is the children of the Children table, in order.
func listed(section string) []string {
	out := []string{}
	for _, m := range rowChild.FindAllStringSubmatch(section, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestWorkListSearchAndFilters searches the work list by name and by
// grade, filters it, orders it, and checks each child shown was an
// audited read and the forms stay linked for the device.
func TestWorkListSearchAndFilters(t *testing.T) {
	f := newFixture(t, false)
	addThemba(t, f)
	b := f.as("social-worker")

	res := b.get("/work")
	require.Equal(t, http.StatusOK, res.status, excerpt(res.body))
	sec := childrenTable(t, res.body)
	assert.Contains(t, sec, "Children (4)")
	assert.Equal(t, []string{childAssess, childFollow, childPlan, childThemba}, listed(sec), "by family name: Dlamini, then Zulu (ties by ID)")
	assert.Contains(t, sec, `<label for="c-q">Name or grade</label>`)
	assert.Contains(t, sec, `<th scope="col">Age</th>`)
	assert.Contains(t, sec, `<a href="/cycles/johannesburg/2/ch-assess01/forms/caregiver?phase=baseline">Caregiver</a>`, "the forms due, linked")
	// The forms table names the children the list shows, and keeps its
	// links for the offline script.
	assert.Contains(t, res.body, `<a class="id" href="/cycles/johannesburg/2/ch-assess01">ch-assess01</a> `+secretName+` Dlamini`)
	assert.Contains(t, res.body, `<a data-offline href="/cycles/johannesburg/2/ch-assess01/forms/caregiver?phase=baseline">Caregiver</a>`)

	// By part of the family name, any case.
	res = b.get("/work?q=" + url.QueryEscape("zul"))
	sec = childrenTable(t, res.body)
	assert.Equal(t, []string{childThemba}, listed(sec))
	assert.Contains(t, sec, `>Themba Zulu</a>`)
	assert.Contains(t, sec, `value="zul"`, "the search is kept in the box")
	assert.NotContains(t, res.body, secretName, "a child the search leaves out is not named anywhere on the page")
	assert.Contains(t, sec, `<td>3</td><td>8 y 6 m</td><td>Male</td><td>Meadowlands Primary (demo)</td><td>Follow up</td>`)
	assert.Contains(t, sec, `<span class="badge flag">Red flag</span>`)
	// By grade.
	res = b.get("/work?q=" + url.QueryEscape("grade 3"))
	assert.Equal(t, []string{childThemba}, listed(childrenTable(t, res.body)))
	res = b.get("/work?q=nobody")
	sec = childrenTable(t, res.body)
	assert.Empty(t, listed(sec))
	assert.Contains(t, sec, "No child matches.")

	// Filters, kept ticked.
	res = b.get("/work?filter=at_risk")
	sec = childrenTable(t, res.body)
	assert.Equal(t, []string{childPlan}, listed(sec))
	assert.Contains(t, sec, `name="filter" value="at_risk" checked>`)
	assert.Contains(t, sec, `<span class="badge high">At risk</span>`)
	res = b.get("/work?filter=red_flag")
	assert.Equal(t, []string{childThemba}, listed(childrenTable(t, res.body)))
	// Overdue: forms due ten days (past the weekly reminder), a referral past due.
	res = b.get("/work?filter=overdue")
	sec = childrenTable(t, res.body)
	assert.Equal(t, []string{childAssess, childFollow}, listed(sec))
	assert.Contains(t, sec, `<span class="badge moderate">Overdue</span>`)
	res = b.get("/work?filter=overdue&filter=at_risk")
	assert.Empty(t, listed(childrenTable(t, res.body)))

	// Orders.
	res = b.get("/work?sort=age")
	sec = childrenTable(t, res.body)
	assert.Equal(t, []string{childAssess, childFollow, childPlan, childThemba}, listed(sec), "youngest first, ties by name")
	assert.Contains(t, sec, `<option value="age" selected>`)
	res = b.get("/work?sort=stage")
	assert.Equal(t, []string{childAssess, childPlan, childFollow, childThemba}, listed(childrenTable(t, res.body)))
	res = b.get("/work?sort=class")
	assert.Equal(t, []string{childAssess, childFollow, childPlan, childThemba}, listed(childrenTable(t, res.body)))
	// A bad order is said next to the select, and lists no one.
	res = b.get("/work?sort=height")
	require.Equal(t, http.StatusOK, res.status)
	sec = childrenTable(t, res.body)
	assert.Contains(t, html.UnescapeString(sec), "sort must be one of name, class, age, stage")
	assert.Contains(t, sec, `aria-invalid="true"`)
	assert.Empty(t, listed(sec))

	// Each child shown was audited as read, by this user, on the work list.
	trail, err := f.store.AuditTrail(context.Background(), childThemba, 100)
	require.NoError(t, err)
	reads := 0
	for _, e := range trail {
		if e.What == "work list" && e.ActorName == "social-worker" && e.Action == store.AuditRead {
			reads++
		}
	}
	// Shown by /work, q=zul, grade 3, red_flag, and the three orders.
	assert.Equal(t, 7, reads)
}

// TestWorkListKeptOnTheDeviceNamesNoOne: the page the service worker keeps
// has no Children section, no name, and audits nothing; its forms keep
// their offline links.
func TestWorkListKeptOnTheDeviceNamesNoOne(t *testing.T) {
	f := newFixture(t, false)
	b := f.as("social-worker")
	var before int64
	require.NoError(t, f.store.DB(context.Background()).Model(&store.AuditEntry{}).Count(&before).Error)
	res := b.get("/work?device=1")
	require.Equal(t, http.StatusOK, res.status)
	assert.NotContains(t, res.body, secretName)
	assert.NotContains(t, res.body, `id="children"`)
	assert.Contains(t, res.body, `<a data-offline href="/cycles/johannesburg/2/ch-assess01/forms/caregiver?phase=baseline">Caregiver</a>`)
	var after int64
	require.NoError(t, f.store.DB(context.Background()).Model(&store.AuditEntry{}).Count(&after).Error)
	assert.Equal(t, before, after)
	// Programme managers see the work, never the children by name.
	res = f.as("manager").get("/work?site=johannesburg")
	require.Equal(t, http.StatusOK, res.status)
	assert.NotContains(t, res.body, `id="children"`)
	assert.NotContains(t, res.body, secretName)
}

// TestWorkListPages: past 25 children the list links the next page, with
// the search and order kept.
func TestWorkListPages(t *testing.T) {
	f := newFixture(t, false)
	for i := range 24 {
		addChild(t, f, fmt.Sprintf("ch-many%03d", i), "meadowlands", fmt.Sprintf("Child%03d", i), "Many", "2", time.Date(2018, 3, 1, 0, 0, 0, 0, time.UTC), cycle.StagePlan)
	}
	b := f.as("social-worker")
	res := b.get("/work?sort=name")
	sec := childrenTable(t, res.body)
	assert.Contains(t, sec, "Children (27)")
	require.Len(t, listed(sec), 25)
	m := regexp.MustCompile(`<p class="pager"><a href="([^"]+)">More children</a>`).FindStringSubmatch(sec)
	require.NotNil(t, m, "a link to the next page")
	next := html.UnescapeString(m[1])
	assert.Contains(t, next, "sort=name")
	res = b.get(next)
	require.Equal(t, http.StatusOK, res.status, excerpt(res.body))
	sec = childrenTable(t, res.body)
	assert.Len(t, listed(sec), 2)
	assert.NotContains(t, sec, "More children")
}

// TestReassessmentFormAsksTheDomainsAtRisk: the cycle recorded that its
// reassessment asks education; the teacher's form asks the education items
// and, always, the safeguarding questions, and nothing else.
func TestReassessmentFormAsksTheDomainsAtRisk(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	require.NoError(t, f.store.RecordStage(ctx, cycle.StageRecord{CycleID: cycle.CycleID("johannesburg", 2, childFollow), WaveID: cycle.WaveID("johannesburg", 2),
		SiteID: "johannesburg", SchoolID: "meadowlands", ChildID: childFollow, Seq: 50, Stage: cycle.StageReassess,
		Awaiting: []string{"teacher"}, Detail: cycle.ReassessDetail([]string{"education"}), At: now}))
	b := f.as("social-worker")
	res := b.get("/cycles/johannesburg/2/" + childFollow + "/forms/teacher?phase=reassessment")
	require.Equal(t, http.StatusOK, res.status, excerpt(res.body))
	assert.Contains(t, res.body, "This reassessment asks the domains found at risk (Education")
	for _, id := range []string{"edu_number", "edu_reading", "teacher_signs", "teacher_disclosure"} {
		assert.Contains(t, res.body, `data-item="`+id+`"`, "the form asks %s", id)
	}
	assert.NotContains(t, res.body, `data-item="school_hungry"`, "a domain not at risk is not asked again")
}
