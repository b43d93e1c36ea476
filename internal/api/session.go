package api

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/store"
)

// SessionTTL is how long a browser session lasts.
const SessionTTL = 12 * time.Hour

type signInRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// signIn checks a username and password and starts a browser session:
// an HttpOnly cookie plus a CSRF token the page sends back on changes.
func (s *Server) signIn(c *gin.Context) {
	// A form post (text/plain, urlencoded) from another site's page could
	// otherwise sign the victim's browser into the attacker's account.
	if !isJSON(c) {
		problem(c, http.StatusUnsupportedMediaType, "Sign in with JSON", "send application/json")
		return
	}
	var req signInRequest
	if !bind(c, &req) {
		return
	}
	p, csrf, ok := s.startSession(c, req.Username, req.Password)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, gin.H{"user": p.Username, "role": p.Role, "csrf": csrf})
}

// startSession checks credentials and sets the session cookie; it writes the
// problem response itself when they are wrong.
func (s *Server) startSession(c *gin.Context, username, password string) (auth.Principal, string, bool) {
	ctx := c.Request.Context()
	if wait := s.signIns.attempt(strings.ToLower(username), c.ClientIP(), s.now()); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		c.Header("Retry-After", strconv.Itoa(secs))
		problem(c, http.StatusTooManyRequests, "Too many sign-in attempts", fmt.Sprintf("wait %d seconds before trying again", secs))
		return auth.Principal{}, "", false
	}
	u, err := s.Store.UserByUsername(ctx, username)
	// The same answer, and a bcrypt comparison either way, whether or not
	// the user exists.
	if err != nil {
		auth.SpendPasswordCheck(password)
	}
	if err != nil || u.Disabled || !auth.PasswordMatches(u.PasswordHash, password) {
		problem(c, http.StatusUnauthorized, "Wrong username or password", "")
		return auth.Principal{}, "", false
	}
	s.signIns.succeeded(strings.ToLower(username))
	id, csrf, err := auth.NewSessionID()
	if err != nil {
		problem(c, http.StatusInternalServerError, "Could not start a session", "")
		return auth.Principal{}, "", false
	}
	now := s.now()
	if err := s.Store.CreateSession(ctx, store.Session{IDHash: auth.Hash(id), UserID: u.ID, CSRF: csrf, CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}); err != nil {
		storeProblem(c, err, "session")
		return auth.Principal{}, "", false
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: c.Request.TLS != nil || c.GetHeader("X-Forwarded-Proto") == "https", MaxAge: int(SessionTTL.Seconds()),
	})
	return principalFromUser(u), csrf, true
}

func (s *Server) signOut(c *gin.Context) {
	if cookie, err := c.Cookie(SessionCookie); err == nil {
		_ = s.Store.DeleteSession(c.Request.Context(), auth.Hash(cookie))
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	c.Status(http.StatusNoContent)
}

func (s *Server) me(c *gin.Context) {
	p := principal(c)
	c.JSON(http.StatusOK, gin.H{"user": p.Username, "name": p.DisplayName, "role": p.Role, "practice": p.Practice, "sites": p.Sites, "schools": p.Schools})
}
