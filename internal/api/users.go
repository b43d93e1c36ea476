package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/users"
)

// userRoutes are the programme managers' user administration: who the
// users are and what each may see. Nothing here is about a child.
func (s *Server) userRoutes(v1 *gin.RouterGroup) {
	v1.GET("/users", roles(auth.ProgrammeManager), s.listUsers)
	v1.PUT("/users/:username/scope", roles(auth.ProgrammeManager), s.setUserScope)
}

// UserView is a user as the API shows it: never a password hash or a token.
type UserView struct {
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	Role        auth.Role `json:"role"`
	// Practice is a practitioner's (social_worker, teacher, nurse or fieldworker).
	Practice string `json:"practice,omitempty"`
	// Sites and Schools are the user's scope: none for a programme manager
	// or ops (every site), the sites of a site coordinator (all their
	// schools), one site and its schools for a practitioner, the sites an
	// advisor is narrowed to (none: every site).
	Sites   []string `json:"sites"`
	Schools []string `json:"schools"`
	// SeesNames is an advisor's grant to see children's names.
	SeesNames bool `json:"sees_names"`
	// Disabled users cannot sign in or use their tokens.
	Disabled bool `json:"disabled"`
	// Scope says in words what the user may see.
	Scope string `json:"scope"`
}

func userView(u store.User) UserView {
	sites, schools := store.SplitList(u.Sites), store.SplitList(u.Schools)
	if sites == nil {
		sites = []string{}
	}
	if schools == nil {
		schools = []string{}
	}
	return UserView{Username: u.Username, DisplayName: u.DisplayName, Role: auth.Role(u.Role), Practice: u.Practice,
		Sites: sites, Schools: schools, SeesNames: u.SeesNames, Disabled: u.Disabled, Scope: users.DescribeScope(u)}
}

func (s *Server) listUsers(c *gin.Context) {
	all, err := s.Store.Users(c.Request.Context())
	if err != nil {
		storeProblem(c, err, "users")
		return
	}
	out := make([]UserView, 0, len(all))
	for _, u := range all {
		out = append(out, userView(u))
	}
	c.JSON(http.StatusOK, itemsOf[UserView]{Items: out})
}

// scopeRequest is a user's whole new scope: the sites and schools given
// replace the ones the user had.
type scopeRequest struct {
	Sites   []string `json:"sites"`
	Schools []string `json:"schools"`
}

// setUserScope replaces what a user may see. It is a store write (no
// engine call), idempotent as a PUT is: sending the same scope again
// leaves the same scope, so it takes no Idempotency-Key. The change and
// its audit entry are written in one transaction.
func (s *Server) setUserScope(c *gin.Context) {
	var in scopeRequest
	if !bind(c, &in) {
		return
	}
	p := principal(c)
	why := strings.TrimSpace(c.GetHeader("X-Khula-Reason"))
	if why == "" {
		why = "user administration as " + string(p.Role)
	}
	by := users.Actor{ID: p.UserID, Name: p.Username, Role: string(p.Role), Why: why, At: s.now()}
	username := c.Param("username")
	u, err := users.SetScopeAs(c.Request.Context(), s.Store, s.Sites, by, username, in.Sites, in.Schools)
	var scopeErr *users.ScopeError
	switch {
	case errors.As(err, &scopeErr):
		var fe fieldErrors
		for _, pr := range scopeErr.Problems {
			fe.add(pr.Field, pr.Code, "%s", pr.Message)
		}
		fe.reject(c, "scope")
		return
	case errors.Is(err, store.ErrNotFound):
		problem(c, http.StatusNotFound, "Unknown user", "no user "+strconv.Quote(username))
		return
	case errors.Is(err, store.ErrNoAuditKey):
		if s.Logger != nil {
			s.Logger.Error("a scope change could not be audited", "error", err)
		}
		problem(c, http.StatusServiceUnavailable, "The change could not be audited", "nothing was changed: the audit log is not available")
		return
	case err != nil:
		if s.Logger != nil {
			s.Logger.Error("a scope change failed", "error", err)
		}
		storeProblem(c, err, "user")
		return
	}
	c.JSON(http.StatusOK, userView(u))
}
