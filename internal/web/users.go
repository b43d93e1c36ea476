package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/internal/api"
	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/cycle"
)

// userRoutes are the programme managers' pages for users and their scope
// (issue 18). The list and the change go through the API's own routes
// (GET /api/v1/users, PUT /api/v1/users/{username}/scope), which check
// the role, validate the scope and audit the change.
func (u *UI) userRoutes(r *gin.Engine) {
	r.GET("/users", u.page(auth.ProgrammeManager), u.usersPage)
	r.GET("/users/:username", u.page(auth.ProgrammeManager), u.userScopePage)
	r.POST("/users/:username/scope", u.page(auth.ProgrammeManager), u.setUserScope)
}

// userRow is one user on the users page, with the names of the sites and
// schools of their scope.
type userRow struct {
	api.UserView
	SiteNames, SchoolNames []string
}

type usersView struct {
	Users []userRow
	// Flash says whose scope was just changed, and to what.
	Flash string
}

func (u *UI) users(c *gin.Context) ([]api.UserView, bool) {
	var out struct {
		Items []api.UserView `json:"items"`
	}
	if !u.get(c, "/api/v1/users", &out) {
		return nil, false
	}
	return out.Items, true
}

func (u *UI) usersPage(c *gin.Context) {
	all, ok := u.users(c)
	if !ok {
		return
	}
	v := usersView{}
	for _, usr := range all {
		row := userRow{UserView: usr}
		for _, id := range usr.Sites {
			row.SiteNames = append(row.SiteNames, u.siteName(id))
		}
		for _, id := range usr.Schools {
			row.SchoolNames = append(row.SchoolNames, u.schoolName(usr.Sites, id))
		}
		v.Users = append(v.Users, row)
		// The flash names only a user on the list: the query string is the
		// browser's, and says nothing on its own.
		if c.Query("ok") == "scope" && c.Query("user") == usr.Username {
			v.Flash = "The scope of " + usr.Username + " was changed: they now see " + usr.Scope + "."
		}
	}
	u.render(c, http.StatusOK, "users", "Users", v)
}

func (u *UI) siteName(id string) string {
	if s, ok := u.o.Sites.Site(id); ok {
		return s.Name
	}
	return id
}

func (u *UI) schoolName(sites []string, id string) string {
	for _, sid := range sites {
		if s, ok := u.o.Sites.Site(sid); ok {
			if sc, ok := s.School(id); ok {
				return sc.Name
			}
		}
	}
	return id
}

// scopeView is the form that changes one user's scope.
type scopeView struct {
	User api.UserView
	// TakesSites and TakesSchools say which boxes the user's role has:
	// none for a programme manager or ops, sites for a site coordinator or
	// an advisor, sites and schools for a practitioner.
	TakesSites, TakesSchools bool
	// Rule says what the role needs, in words.
	Rule    string
	Sites   []siteChoice
	Errors  map[string]string
	Summary []formError
	Problem string
}

type siteChoice struct {
	ID, Name string
	Checked  bool
	Schools  []schoolChoice
}

type schoolChoice struct {
	ID, Name string
	Checked  bool
}

var scopeRules = map[auth.Role]string{
	auth.ProgrammeManager: "A programme manager works across all sites: there is no scope to set.",
	auth.Ops:              "Ops works across all sites and never sees children: there is no scope to set.",
	auth.SiteCoordinator:  "A site coordinator needs at least one site, and sees all its schools.",
	auth.Advisor:          "An advisor reads whole sites: tick the sites to narrow the advisor to, or none for every site.",
	auth.Practitioner:     "A practitioner works at one site: tick it and at least one of its schools.",
}

func (u *UI) userScopePage(c *gin.Context) {
	all, ok := u.users(c)
	if !ok {
		return
	}
	i := slices.IndexFunc(all, func(v api.UserView) bool { return v.Username == c.Param("username") })
	if i < 0 {
		u.fail(c, http.StatusNotFound, "No such user", "there is no user "+c.Param("username"))
		return
	}
	usr := all[i]
	u.showScope(c, http.StatusOK, usr, usr.Sites, usr.Schools, nil)
}

// showScope draws the form with the boxes given ticked (the user's scope,
// or what was sent) and a refused change's errors.
func (u *UI) showScope(c *gin.Context, status int, usr api.UserView, sites, schools []string, prob *api.Problem) {
	v := scopeView{User: usr, Rule: scopeRules[usr.Role], Errors: fieldErrors(prob)}
	switch usr.Role {
	case auth.SiteCoordinator, auth.Advisor:
		v.TakesSites = true
	case auth.Practitioner:
		v.TakesSites, v.TakesSchools = true, true
	}
	for _, s := range u.o.Sites.Sites() {
		ch := siteChoice{ID: s.ID, Name: s.Name, Checked: slices.Contains(sites, s.ID)}
		for _, sc := range s.Schools {
			ch.Schools = append(ch.Schools, schoolChoice{ID: sc.ID, Name: sc.Name, Checked: slices.Contains(schools, sc.ID)})
		}
		v.Sites = append(v.Sites, ch)
	}
	if prob != nil {
		v.Summary = summary(prob, func(fe cycle.FieldError) string { return "f-" + fe.Field })
		if len(prob.Errors) == 0 {
			v.Problem = strings.TrimSpace(prob.Title + ". " + prob.Detail)
		}
	}
	crumbs(c, navLink{Href: "/users", Label: "Users"})
	u.render(c, status, "userscope", "Scope of "+usr.Username, v)
}

func (u *UI) setUserScope(c *gin.Context) {
	username := c.Param("username")
	sites, schools := c.PostFormArray("site"), c.PostFormArray("school")
	if sites == nil {
		sites = []string{}
	}
	if schools == nil {
		schools = []string{}
	}
	res := u.send(c, http.MethodPut, "/api/v1/users/"+url.PathEscape(username)+"/scope", map[string][]string{"sites": sites, "schools": schools})
	if prob := res.problem(); prob != nil {
		if res.Status != http.StatusUnprocessableEntity {
			u.fail(c, res.Status, prob.Title, prob.Detail)
			return
		}
		all, ok := u.users(c)
		if !ok {
			return
		}
		i := slices.IndexFunc(all, func(v api.UserView) bool { return v.Username == username })
		if i < 0 {
			u.fail(c, http.StatusNotFound, "No such user", "there is no user "+username)
			return
		}
		u.showScope(c, res.Status, all[i], sites, schools, prob)
		return
	}
	c.Redirect(http.StatusSeeOther, "/users?ok=scope&user="+url.QueryEscape(username))
}
