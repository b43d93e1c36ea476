package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/khula-cop/khula/internal/store"
)

func TestChildAcrossWavesPage(t *testing.T) {
	f := newFixture(t, true)
	sw := f.as("social-worker")
	res := sw.get("/children/johannesburg/" + childPlan)
	require.Equal(t, http.StatusOK, res.status, excerpt(res.body))
	assert.True(t, contains(res.body, "Wave 1", "Wave 2", secretName), "both time points and the child's name")
	// A chart per domain (7), the key scales answered (SDQ total, PHQ-9) and height-for-age.
	assert.Equal(t, 10, strings.Count(res.body, `<svg`), "charts on the page")
	assert.Contains(t, res.body, "Caregiver PHQ-9 total")
	assert.Contains(t, res.body, `title="worse"`, "education went from moderate to high")

	// Recording that the child left ends the forms to record it and says so.
	key := attr(res.body, "_key")
	left := sw.submit("/children/johannesburg/"+childPlan+"/leave", url.Values{"reason": {"moved_school"}, "_key": {key}})
	require.Equal(t, http.StatusSeeOther, left.status, excerpt(left.body))
	after := sw.get(left.header.Get("Location"))
	assert.Contains(t, after.body, "The child&#39;s leaving was recorded")
	assert.Contains(t, after.body, "Left the study on")
	assert.NotContains(t, after.body, `action="/children/johannesburg/`+childPlan+`/leave"`)

	// A bad reason comes back next to the form, not as an error page.
	bad := sw.submit("/children/johannesburg/"+childFollow+"/leave", url.Values{"reason": {"bored"}})
	assert.Equal(t, http.StatusUnprocessableEntity, bad.status)
	assert.Contains(t, bad.body, "reason must be one of")
}

func TestDuplicatesPage(t *testing.T) {
	f := newFixture(t, true)
	coord := f.as("coordinator")
	res := coord.get("/sites/johannesburg/duplicates")
	require.Equal(t, http.StatusOK, res.status, excerpt(res.body))
	assert.Contains(t, res.body, childAlex)
	assert.NotContains(t, res.body, secretName, "the list names no child")
	done := coord.submit("/sites/johannesburg/duplicates/dup-fixture", url.Values{"decision": {"different"}})
	require.Equal(t, http.StatusSeeOther, done.status, excerpt(done.body))
	h, err := f.store.DuplicateHold(context.Background(), "dup-fixture")
	require.NoError(t, err)
	assert.Equal(t, store.HoldDifferent, h.Status)
	again := coord.submit("/sites/johannesburg/duplicates/dup-fixture", url.Values{"decision": {"same"}})
	assert.Equal(t, http.StatusConflict, again.status)
	assert.Contains(t, again.body, "decided already")
}

func TestCompareShowsChangeAndWavesShowPreview(t *testing.T) {
	f := newFixture(t, true)
	m := f.as("manager")
	res := m.get("/compare?site=johannesburg&a=1&b=2")
	require.Equal(t, http.StatusOK, res.status)
	i := strings.Index(res.body, "How the same")
	require.GreaterOrEqual(t, i, 0, "no change section")
	assert.True(t, contains(res.body, "Children seen in both waves: 2", "Moderate → High: 1"), res.body[i:min(len(res.body), i+3000)])
	csv := m.get("/sites/johannesburg/changes.csv?from=1&to=2")
	require.Equal(t, http.StatusOK, csv.status)
	assert.Contains(t, csv.body, "<5")
	assert.NotContains(t, csv.body, childPlan)
	// A practitioner sees the comparison of shares but not who changed.
	sw := f.as("social-worker")
	assert.NotContains(t, sw.get("/compare?site=johannesburg&a=1&b=2").body, "How the same children changed")

	waves := m.get("/waves?site=johannesburg")
	assert.True(t, contains(waves.body, "Who wave 3 of", "continuing from earlier waves", "held as likely duplicates"), excerpt(waves.body))
}
