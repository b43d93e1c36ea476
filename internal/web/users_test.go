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

// TestUsersPageOnlyForProgrammeManagers: the nav link, the pages and the
// change are the programme manager's only.
func TestUsersPageOnlyForProgrammeManagers(t *testing.T) {
	f := newFixture(t, false)
	mgr := f.as("manager")
	waves := mgr.get("/waves")
	require.Equal(t, http.StatusOK, waves.status)
	assert.Contains(t, waves.body, `<a href="/users">Users</a>`, "the manager's nav links to the users page")
	users := mgr.get("/users")
	require.Equal(t, http.StatusOK, users.status)
	assert.Contains(t, users.body, `<a href="/users" aria-current="page">Users</a>`)

	for _, who := range []string{"coordinator", "social-worker", "ops"} {
		t.Run(who, func(t *testing.T) {
			b := f.as(who)
			home := b.get("/waves")
			if who == "ops" {
				home = b.get("/ops")
			}
			assert.NotContains(t, home.body, `href="/users"`, "no users link for %s", who)
			assert.Equal(t, http.StatusForbidden, b.get("/users").status)
			assert.Equal(t, http.StatusForbidden, b.get("/users/coordinator").status)
			res := b.submit("/users/coord-moutse/scope", url.Values{"site": {"moutse", "johannesburg"}})
			assert.Equal(t, http.StatusForbidden, res.status)
		})
	}
	u, err := f.store.UserByUsername(context.Background(), "coord-moutse")
	require.NoError(t, err)
	assert.Equal(t, "moutse", u.Sites, "nobody but a programme manager changed a scope")
}

func TestUsersPageListsScopes(t *testing.T) {
	f := newFixture(t, false)
	mgr := f.as("manager")
	page := mgr.get("/users")
	require.Equal(t, http.StatusOK, page.status)
	assert.Empty(t, lint(page.body), "accessibility")
	assert.True(t, contains(page.body, "coord-moutse", "Moutse", "social-worker", "Meadowlands", `href="/users/coordinator"`), page.body)
	assert.NotContains(t, page.body, `href="/users/manager"`, "a programme manager has no scope to change")
	assert.NotContains(t, page.body, "argon2", "no password hash")

	edit := mgr.get("/users/social-worker")
	require.Equal(t, http.StatusOK, edit.status)
	assert.Empty(t, lint(edit.body), "accessibility")
	assert.Regexp(t, `id="site-johannesburg" name="site" value="johannesburg" checked`, edit.body)
	assert.Regexp(t, `id="school-johannesburg-meadowlands" name="school" value="meadowlands" checked`, edit.body)
	assert.Regexp(t, `id="school-johannesburg-alexandra" name="school" value="alexandra">`, edit.body)
	assert.Regexp(t, `id="site-moutse" name="site" value="moutse">`, edit.body)

	coord := mgr.get("/users/coordinator")
	require.Equal(t, http.StatusOK, coord.status)
	assert.NotContains(t, coord.body, `name="school"`, "a coordinator's form has no school boxes")
	assert.Equal(t, http.StatusNotFound, mgr.get("/users/nobody").status)
}

// TestChangingAScopeInThePage: a coordinator refused a new site is given
// it on the page, and sees it on their next page; the change is audited.
func TestChangingAScopeInThePage(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	coord := f.as("coordinator")
	require.Equal(t, http.StatusForbidden, coord.get("/sites/moutse").status, "not yet their site")

	mgr := f.as("manager")
	res := mgr.submit("/users/coordinator/scope", url.Values{"site": {"johannesburg", "moutse"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Equal(t, "/users?ok=scope&user=coordinator", res.header.Get("Location"))
	done := mgr.get(res.header.Get("Location"))
	assert.Contains(t, done.body, `<p class="flash" role="status">The scope of coordinator was changed: they now see sites johannesburg, moutse (all their schools).</p>`)

	u, err := f.store.UserByUsername(ctx, "coordinator")
	require.NoError(t, err)
	assert.Equal(t, "johannesburg,moutse", u.Sites)
	assert.Equal(t, http.StatusOK, coord.get("/sites/moutse").status, "the same session sees the new site")
	assert.Contains(t, coord.get("/waves").body, `href="/sites/moutse"`, "and has it in the nav")

	var e store.AuditEntry
	require.NoError(t, f.store.DB(ctx).Where("action = ? AND what LIKE ?", store.AuditWrite, "scope of user coordinator:%").Take(&e).Error)
	assert.Equal(t, "manager", e.ActorName)
	assert.Equal(t, "", e.ChildID)

	// A made-up flash names nobody.
	assert.NotContains(t, mgr.get("/users?ok=scope&user=intruder").body, "intruder was changed")
}

func TestScopeFormShowsFieldErrors(t *testing.T) {
	tests := []struct {
		name, user string
		form       url.Values
		want       []string
	}{
		{"unknown school", "social-worker", url.Values{"site": {"johannesburg"}, "school": {"meadowlands", "hogwarts"}},
			[]string{`site johannesburg has no school &#34;hogwarts&#34;`, `<a href="#f-schools">`, `id="e-schools"`}},
		{"a school of a site not ticked", "social-worker", url.Values{"site": {"johannesburg"}, "school": {"moutse-primary"}},
			[]string{`site johannesburg has no school &#34;moutse-primary&#34;`}},
		{"coordinator with no site", "coordinator", url.Values{}, []string{"a site coordinator needs at least one site", `id="e-sites"`}},
		{"unknown site", "coordinator", url.Values{"site": {"atlantis"}}, []string{`no site &#34;atlantis&#34;`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, false)
			before, err := f.store.UserByUsername(context.Background(), tt.user)
			require.NoError(t, err)
			mgr := f.as("manager")
			res := mgr.submit("/users/"+tt.user+"/scope", tt.form)
			require.Equal(t, http.StatusUnprocessableEntity, res.status, res.body)
			assert.Contains(t, res.body, "The scope was not changed")
			for _, want := range tt.want {
				assert.Contains(t, res.body, want)
			}
			assert.Empty(t, lint(res.body), "accessibility")
			after, err := f.store.UserByUsername(context.Background(), tt.user)
			require.NoError(t, err)
			assert.Equal(t, before.Sites+"|"+before.Schools, after.Sites+"|"+after.Schools, "nothing changed")
		})
	}
}

func TestScopeFormNeedsTheCSRFToken(t *testing.T) {
	f := newFixture(t, false)
	mgr := f.as("manager")
	res := mgr.post("/users/coordinator/scope", url.Values{"site": {"moutse"}})
	assert.Equal(t, http.StatusForbidden, res.status)
	res = mgr.post("/users/coordinator/scope", url.Values{"site": {"moutse"}, "_csrf": {"forged"}})
	assert.Equal(t, http.StatusForbidden, res.status)
	u, err := f.store.UserByUsername(context.Background(), "coordinator")
	require.NoError(t, err)
	assert.Equal(t, "johannesburg", u.Sites)
	assert.False(t, strings.Contains(u.Sites, "moutse"))
}
