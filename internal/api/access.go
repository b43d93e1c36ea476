package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/store"
)

const principalKey = "khula.principal"

// SessionCookie names the browser session cookie.
const SessionCookie = "khula_session"

// CSRFHeader carries a session's anti-forgery token on unsafe requests.
const CSRFHeader = "X-CSRF-Token"

// authenticate finds the caller from a bearer token or a session cookie;
// without either the request is 401. Requests authenticated by cookie that
// change state must carry the session's CSRF token.
func (s *Server) authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		p, err := s.principalOf(c)
		if errors.Is(err, errStoreDown) {
			// The credentials could not be checked: not the caller's fault.
			problem(c, http.StatusServiceUnavailable, "The database is unavailable", "try again shortly")
			return
		}
		if err != nil {
			c.Header("WWW-Authenticate", `Bearer realm="khula"`)
			problem(c, http.StatusUnauthorized, "Sign in required", err.Error())
			return
		}
		if p.Via == "session" && !safeMethod(c.Request.Method) {
			got := c.GetHeader(CSRFHeader)
			if got == "" {
				got = c.PostForm("_csrf")
			}
			if got == "" || !auth.HashMatches(auth.Hash(p.CSRF), got) {
				problem(c, http.StatusForbidden, "Missing or wrong CSRF token", "reload the page and try again")
				return
			}
		}
		c.Set(principalKey, p)
		c.Next()
	}
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

var (
	errNoCredentials = errors.New("send an API token (Authorization: Bearer khula_…) or sign in")
	errStoreDown     = errors.New("the database is unavailable")
)

func (s *Server) principalOf(c *gin.Context) (auth.Principal, error) {
	ctx := c.Request.Context()
	if h := c.GetHeader("Authorization"); h != "" {
		raw, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return auth.Principal{}, errors.New("the Authorization header must be Bearer <token>")
		}
		id, secret, err := auth.ParseToken(strings.TrimSpace(raw))
		if err != nil {
			return auth.Principal{}, errors.New("that is not a khula API token")
		}
		tok, u, err := s.Store.Token(ctx, id, s.now())
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return auth.Principal{}, errStoreDown
		}
		if err != nil || !auth.HashMatches(tok.SecretHash, secret) {
			return auth.Principal{}, errors.New("the token is unknown, revoked or expired")
		}
		s.touchToken(id, tok.LastUsedAt)
		p := principalFromUser(u)
		p.Via = "token"
		return p, nil
	}
	if cookie, err := c.Cookie(SessionCookie); err == nil && cookie != "" {
		sess, u, err := s.Store.SessionByHash(ctx, auth.Hash(cookie), s.now())
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return auth.Principal{}, errStoreDown
		}
		if err != nil {
			return auth.Principal{}, errors.New("the session has ended: sign in again")
		}
		p := principalFromUser(u)
		p.Via, p.CSRF = "session", sess.CSRF
		return p, nil
	}
	return auth.Principal{}, errNoCredentials
}

func principalFromUser(u store.User) auth.Principal {
	return auth.Principal{
		UserID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Role: auth.Role(u.Role), Practice: u.Practice,
		Sites: store.SplitList(u.Sites), Schools: store.SplitList(u.Schools), SeesNames: u.SeesNames,
	}
}

// principal returns the authenticated caller.
func principal(c *gin.Context) auth.Principal {
	v, _ := c.Get(principalKey)
	p, _ := v.(auth.Principal)
	return p
}

// roles lets only the given roles through.
func roles(allowed ...auth.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := principal(c)
		if !slices.Contains(allowed, p.Role) {
			c.Set(roleRefusedKey, true)
			problem(c, http.StatusForbidden, "Forbidden", "your role ("+string(p.Role)+") cannot use this")
			return
		}
		c.Next()
	}
}

// Role groups used by the routes.
var (
	anyRole      = []auth.Role{auth.ProgrammeManager, auth.SiteCoordinator, auth.Practitioner, auth.Ops, auth.Advisor}
	childViewers = []auth.Role{auth.ProgrammeManager, auth.SiteCoordinator, auth.Practitioner}
	fieldWorkers = []auth.Role{auth.SiteCoordinator, auth.Practitioner}
	planners     = []auth.Role{auth.ProgrammeManager, auth.SiteCoordinator}
	// evidenceReaders read a site's aggregates (reports, the CoP dashboard).
	evidenceReaders = []auth.Role{auth.ProgrammeManager, auth.SiteCoordinator, auth.Practitioner, auth.Advisor}
	// reviewers see the plans for children at high risk and their reviews.
	reviewers = []auth.Role{auth.ProgrammeManager, auth.SiteCoordinator, auth.Advisor}
)

// inSite checks the caller works at site, answering 403 if not.
func (s *Server) inSite(c *gin.Context, site string) bool {
	if principal(c).InSite(site) {
		return true
	}
	problem(c, http.StatusForbidden, "Forbidden", "you do not work at this site")
	return false
}

// inSchool checks the caller may see the children of a school.
func (s *Server) inSchool(c *gin.Context, site, school string) bool {
	if principal(c).InSchool(site, school) {
		return true
	}
	problem(c, http.StatusForbidden, "Forbidden", "you do not work at this school")
	return false
}

// childInScope checks the caller may see a child of site: the child must
// belong to the site and one of the caller's schools. An unknown child is
// 404 for those who may see the site, so IDs cannot be probed across sites.
func (s *Server) childInScope(c *gin.Context, site, child string) bool {
	if !s.inSite(c, site) {
		return false
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 5e9)
	defer cancel()
	childSite, school, err := s.Store.ChildSchool(ctx, child)
	if errors.Is(err, store.ErrNotFound) || (err == nil && childSite != site) {
		problem(c, http.StatusNotFound, "Not found", "no such child at this site")
		return false
	}
	if err != nil {
		storeProblem(c, err, "child")
		return false
	}
	p := principal(c)
	if p.InSchool(site, school) {
		return true
	}
	// A practitioner elsewhere may hold a time-limited break-the-glass
	// grant, which lets them read the record and nothing more: no form, no
	// check-in, no withdrawal (which would erase the child's data).
	if p.Role == auth.Practitioner && p.InSite(site) {
		if ok, err := s.Store.HasGrant(ctx, p.UserID, child, s.now()); err == nil && ok {
			if !readOnlyMethod(c.Request.Method) {
				problem(c, http.StatusForbidden, "Emergency access is read-only",
					"your break-the-glass grant lets you read this child's record; ask a practitioner of the child's school or the site coordinator to record anything")
				s.auditDenied(c, site, child, "a write with a read-only break-the-glass grant")
				return false
			}
			c.Set(grantKey, "granted access")
			return true
		}
	}
	if !s.inSchool(c, site, school) {
		s.auditDenied(c, site, child, "the child is not at the caller's schools")
		return false
	}
	return true
}

// auditDenied records a refused request for a child's record, so probing
// shows in the child's trail. The answer (403) is already written; an entry
// that cannot be appended is logged, not retried.
func (s *Server) auditDenied(c *gin.Context, site, child, why string) {
	c.Set(deniedAuditedKey, true)
	p := principal(c)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), 2*time.Second)
	defer cancel()
	_, err := s.Store.Audit(ctx, store.AuditEntry{
		At: s.now(), Actor: p.UserID, ActorName: p.Username, Role: string(p.Role), Action: store.AuditDenied,
		SiteID: site, ChildID: child, What: c.Request.Method + " " + c.FullPath(), Why: why, Outcome: fmt.Sprint(c.Writer.Status()),
	})
	if err != nil && s.Logger != nil {
		s.Logger.Warn("a refused access could not be audited", "route", c.FullPath(), "error", err)
	}
}

const (
	deniedAuditedKey = "khula.denied-audited"
	// roleRefusedKey marks a request roles() refused.
	roleRefusedKey = "khula.role-refused"
)

// auditChildDenials audits every refused (403) request for a child's
// record that no handler audited itself: a role that may not use the
// route, a caller of another site. Probing children's IDs leaves a trace
// whoever does it.
func (s *Server) auditChildDenials() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		child := c.Param("child")
		if child == "" || c.Writer.Status() != http.StatusForbidden || c.GetBool(deniedAuditedKey) {
			return
		}
		s.auditDenied(c, c.Param("site"), child, "refused: "+deniedReason(c))
	}
}

// deniedReason says why a request was refused, from the caller's role and
// scope (no child data).
func deniedReason(c *gin.Context) string {
	p := principal(c)
	if c.GetBool(roleRefusedKey) {
		return "the caller's role (" + string(p.Role) + ") cannot use this route"
	}
	if site := c.Param("site"); site != "" && !p.InSite(site) {
		return "the child's site is not the caller's"
	}
	return "outside the caller's scope"
}

// touchToken records a token's last use at most once a minute, in the
// background: the write needs SQLite's write lock, and a request that only
// reads must not wait for it (nor fail because it is held elsewhere).
func (s *Server) touchToken(id string, last *time.Time) {
	now := s.now()
	if last != nil && now.Sub(*last) < time.Minute {
		return
	}
	if prev, ok := s.touched.Load(id); ok && now.Sub(prev.(time.Time)) < time.Minute {
		return
	}
	s.touched.Store(id, now)
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := s.Store.TouchToken(ctx, id, now); err != nil && s.Logger != nil {
			s.Logger.Warn("recording a token's last use failed", "error", err)
		}
	}()
}

// readOnlyMethod reports an HTTP method that changes nothing.
func readOnlyMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead
}
