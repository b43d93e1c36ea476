package web

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/internal/api"
	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/uitext"
)

const principalKey = "khula.web.principal"

// loginCookie carries the sign-in form's anti-forgery token (double submit):
// there is no session yet to hold one.
const loginCookie = "khula_login"

// principal finds the signed-in user from the session cookie, the way the
// API does for browser sessions.
func (u *UI) principal(c *gin.Context) (auth.Principal, bool) {
	if p, ok := currentPrincipal(c); ok {
		return p, true
	}
	cookie, err := c.Cookie(api.SessionCookie)
	if err != nil || cookie == "" {
		return auth.Principal{}, false
	}
	sess, usr, err := u.o.Store.SessionByHash(c.Request.Context(), auth.Hash(cookie), u.now())
	if err != nil {
		return auth.Principal{}, false
	}
	p := auth.Principal{
		UserID: usr.ID, Username: usr.Username, DisplayName: usr.DisplayName, Role: auth.Role(usr.Role), Practice: usr.Practice,
		Sites: store.SplitList(usr.Sites), Schools: store.SplitList(usr.Schools), Via: "session", CSRF: sess.CSRF,
	}
	c.Set(principalKey, p)
	return p, true
}

func currentPrincipal(c *gin.Context) (auth.Principal, bool) {
	v, ok := c.Get(principalKey)
	if !ok {
		return auth.Principal{}, false
	}
	p, ok := v.(auth.Principal)
	return p, ok
}

func me(c *gin.Context) auth.Principal {
	p, _ := currentPrincipal(c)
	return p
}

// page requires a session (else it sends the browser to sign in), one of
// the roles (none given: any role), and, on a POST, the session's CSRF token.
func (u *UI) page(roles ...auth.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, ok := u.principal(c)
		if !ok {
			if c.Request.Method == http.MethodGet {
				c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
			} else {
				u.failMsg(c, http.StatusUnauthorized, "error.sign_in", "error.sign_in_detail", nil)
			}
			c.Abort()
			return
		}
		if len(roles) > 0 && !slices.Contains(roles, p.Role) {
			u.failMsg(c, http.StatusForbidden, "error.role", "error.role_detail", map[string]any{"Role": word(u.lang(c), "role.", string(p.Role))})
			return
		}
		if c.Request.Method == http.MethodPost {
			got := c.PostForm("_csrf")
			if got == "" || !auth.HashMatches(auth.Hash(p.CSRF), got) {
				u.failMsg(c, http.StatusForbidden, "error.expired", "error.expired_detail", nil)
				return
			}
		}
		c.Next()
	}
}

// inSite checks the signed-in user works at site; it renders 403 if not.
func (u *UI) inSite(c *gin.Context, site string) bool {
	if me(c).InSite(site) {
		return true
	}
	u.failMsg(c, http.StatusForbidden, "error.not_your_site", "error.not_your_site_detail", nil)
	return false
}

// inSchool checks the signed-in user may see the children of a school.
func (u *UI) inSchool(c *gin.Context, site, school string) bool {
	if me(c).InSchool(site, school) {
		return true
	}
	u.failMsg(c, http.StatusForbidden, "error.not_your_school", "error.not_your_school_detail", nil)
	return false
}

type loginView struct {
	// Error is a message id (internal/uitext).
	Next, Username, Token, Error string
}

func randomToken() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (u *UI) loginPage(c *gin.Context) {
	if p, ok := u.principal(c); ok {
		c.Redirect(http.StatusSeeOther, startPage(p))
		return
	}
	u.showLogin(c, http.StatusOK, loginView{Next: c.Query("next")})
}

func (u *UI) showLogin(c *gin.Context, status int, v loginView) {
	v.Token = randomToken()
	http.SetCookie(c.Writer, &http.Cookie{Name: loginCookie, Value: v.Token, Path: "/login", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: c.Request.TLS != nil || c.GetHeader("X-Forwarded-Proto") == "https", MaxAge: 3600})
	u.render(c, status, "login", uitext.T(u.lang(c), "login.title"), v)
}

// login signs in through the API's own sign-in route and passes its
// session cookie on.
func (u *UI) login(c *gin.Context) {
	v := loginView{Next: c.PostForm("next"), Username: strings.TrimSpace(c.PostForm("username"))}
	token, err := c.Cookie(loginCookie)
	if err != nil || token == "" || token != c.PostForm("_login") {
		v.Error = "login.expired"
		u.showLogin(c, http.StatusForbidden, v)
		return
	}
	body, _ := json.Marshal(map[string]string{"username": v.Username, "password": c.PostForm("password")})
	res := u.call(c, http.MethodPost, "/api/v1/session", body, "application/json", "", "")
	if res.Status != http.StatusOK {
		v.Error = "login.wrong"
		if res.Status >= 500 {
			v.Error = "login.unavailable"
		}
		u.showLogin(c, http.StatusUnauthorized, v)
		return
	}
	for _, sc := range res.Header.Values("Set-Cookie") {
		c.Writer.Header().Add("Set-Cookie", sc)
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: loginCookie, Value: "", Path: "/login", MaxAge: -1, HttpOnly: true})
	next := v.Next
	if !sameOriginPath(next) {
		next = "/"
	}
	c.Redirect(http.StatusSeeOther, next)
}

func (u *UI) logout(c *gin.Context) {
	res := u.call(c, http.MethodDelete, "/api/v1/session", nil, "", c.PostForm("_csrf"), "")
	for _, sc := range res.Header.Values("Set-Cookie") {
		c.Writer.Header().Add("Set-Cookie", sc)
	}
	c.Redirect(http.StatusSeeOther, "/login?ok=signed-out")
}
