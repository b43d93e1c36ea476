// Package web serves khula's web UI: server-rendered pages (html/template,
// embedded) for programme managers, site coordinators, practitioners and
// ops, mounted on the API's gin engine. Every change a page makes goes
// through the API's own handlers, dispatched in process with the caller's
// session and CSRF token, so the UI can do nothing the API would not let
// the same person do; reads check role and site/school scope with the same
// rules. Charts are SVG drawn on the server. Pages need no JavaScript.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/instrument"
	"github.com/khula-cop/khula/internal/sitecheck"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/uitext"
	"github.com/khula-cop/khula/sites"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/khula.css
var css []byte

// Directory finds sites and the instrument version each uses.
type Directory interface {
	Site(id string) (*sites.Site, bool)
	Sites() []*sites.Site
	Instrument(siteID string) (cycle.InstrumentRef, bool)
}

// Instruments finds a loaded instrument version.
type Instruments interface {
	Instrument(ref cycle.InstrumentRef) (*instrument.Instrument, bool)
}

// Options are the UI's dependencies.
type Options struct {
	Store       *store.Store
	Sites       Directory
	Instruments Instruments
	// SitesFS holds the site folders, for the configuration check.
	SitesFS fs.FS
	// PluginCheck, when set, is part of the configuration check.
	PluginCheck sitecheck.PluginCheck
	// AllowCompressedTime offers a compressed day when launching a wave
	// (khula dev); the API decides either way.
	AllowCompressedTime bool
	Logger              *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// UI is the web UI.
type UI struct {
	o       Options
	engine  http.Handler
	pages   map[string]*template.Template
	cssPath string
	jsPath  string
}

// New parses the templates; it panics only if an embedded template is
// broken, which the package's tests catch.
func New(o Options) *UI {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	sum := sha256.Sum256(css)
	u := &UI{o: o, pages: map[string]*template.Template{}, cssPath: "/static/khula." + hex.EncodeToString(sum[:6]) + ".css",
		jsPath: assetPath("khula", "js", script)}
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	entries, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		name := strings.TrimSuffix(strings.TrimPrefix(e, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		u.pages[name] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, e))
	}
	return u
}

func (u *UI) now() time.Time {
	if u.o.Now != nil {
		return u.o.Now().UTC()
	}
	return time.Now().UTC()
}

// Register mounts the UI's routes on the API's engine; the UI dispatches
// its changes to the same engine.
func (u *UI) Register(r *gin.Engine) {
	u.engine = r
	r.GET(u.cssPath, u.serveCSS)
	r.GET(u.jsPath, u.serveJS)
	r.GET("/sw.js", u.serveSW)
	r.GET("/", u.home)
	r.GET("/login", u.loginPage)
	r.POST("/login", smallForm, u.login)
	r.POST("/logout", smallForm, u.page(), u.logout)
	r.POST("/language", smallForm, u.page(), u.setLanguage)

	r.GET("/waves", u.page(auth.ProgrammeManager, auth.SiteCoordinator, auth.Practitioner), u.waves)
	r.POST("/waves", u.page(auth.ProgrammeManager, auth.SiteCoordinator), u.launchWave)
	r.GET("/waves/:site/:wave", u.page(auth.ProgrammeManager, auth.SiteCoordinator, auth.Practitioner), u.wave)
	r.GET("/waves/:site/:wave/schools/:school", u.page(auth.ProgrammeManager, auth.SiteCoordinator, auth.Practitioner), u.waveSchool)
	r.GET("/compare", u.page(auth.ProgrammeManager, auth.SiteCoordinator, auth.Practitioner), u.compare)

	r.GET("/sites/:site", u.page(auth.ProgrammeManager, auth.SiteCoordinator, auth.Practitioner), u.siteOverview)
	r.GET("/sites/:site/services", u.page(auth.ProgrammeManager, auth.SiteCoordinator, auth.Practitioner), u.services)
	r.GET("/sites/:site/meetings", u.page(auth.ProgrammeManager, auth.SiteCoordinator, auth.Practitioner), u.calendar)
	r.GET("/sites/:site/referrals", u.page(auth.ProgrammeManager, auth.SiteCoordinator, auth.Practitioner), u.referrals)
	r.GET("/sites/:site/check", u.page(auth.ProgrammeManager, auth.SiteCoordinator), u.check)
	r.GET("/sites/:site/cohort", u.page(auth.ProgrammeManager, auth.SiteCoordinator), u.cohortPage)
	r.POST("/sites/:site/cohort", u.page(auth.ProgrammeManager, auth.SiteCoordinator), u.importCohort)
	r.GET("/sites/:site/intake", u.page(auth.SiteCoordinator, auth.Practitioner), u.intakePage)
	r.POST("/sites/:site/intake", u.page(auth.SiteCoordinator, auth.Practitioner), u.importSubmissions)

	r.GET("/children/:site/:child", u.page(auth.ProgrammeManager, auth.SiteCoordinator, auth.Practitioner), u.trajectory)
	r.POST("/children/:site/:child/leave", u.page(auth.SiteCoordinator, auth.Practitioner), u.leave)
	r.POST("/children/:site/:child/consent/renew", u.page(auth.SiteCoordinator, auth.Practitioner), u.renew)
	r.GET("/sites/:site/changes.csv", u.page(auth.ProgrammeManager, auth.SiteCoordinator), u.changesCSV)
	r.GET("/sites/:site/duplicates", u.page(auth.ProgrammeManager, auth.SiteCoordinator), u.duplicates)
	r.POST("/sites/:site/duplicates/:id", u.page(auth.ProgrammeManager, auth.SiteCoordinator), u.decideDuplicate)
	r.GET("/work", u.page(auth.ProgrammeManager, auth.SiteCoordinator, auth.Practitioner), u.work)
	r.GET("/cycles/:site/:wave/:child", u.page(auth.ProgrammeManager, auth.SiteCoordinator, auth.Practitioner), u.child)
	r.GET("/cycles/:site/:wave/:child/forms/:respondent", u.page(auth.SiteCoordinator, auth.Practitioner), u.formPage)
	r.POST("/cycles/:site/:wave/:child/forms/:respondent", u.page(auth.SiteCoordinator, auth.Practitioner), u.submitForm)
	r.POST("/cycles/:site/:wave/:child/follow-ups", u.page(auth.SiteCoordinator, auth.Practitioner), u.followUp)
	r.POST("/cycles/:site/:wave/:child/agenda", u.page(auth.SiteCoordinator, auth.Practitioner), u.addConcern)
	r.POST("/referrals/:site/:wave/:child/:k/:action", u.page(auth.SiteCoordinator, auth.Practitioner), u.referralAction)

	r.POST("/meetings", u.page(auth.SiteCoordinator, auth.Practitioner), u.holdMeeting)
	r.GET("/meetings/:site/:school/:date", u.page(auth.ProgrammeManager, auth.SiteCoordinator, auth.Practitioner), u.meeting)
	r.POST("/meetings/:site/:school/:date/minutes", u.page(auth.SiteCoordinator, auth.Practitioner), u.minutes)

	r.GET("/ops", u.page(auth.Ops, auth.ProgrammeManager), u.ops)
	u.evidenceRoutes(r)
	u.userRoutes(r)
}

func (u *UI) serveCSS(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=31536000, immutable")
	writeBody(c, http.StatusOK, "text/css; charset=utf-8", css)
}

// home sends each role to its start page.
func (u *UI) home(c *gin.Context) {
	p, ok := u.principal(c)
	if !ok {
		c.Redirect(http.StatusSeeOther, "/login")
		return
	}
	c.Redirect(http.StatusSeeOther, startPage(p))
}

func startPage(p auth.Principal) string {
	switch p.Role {
	case auth.ProgrammeManager:
		return "/waves"
	case auth.SiteCoordinator:
		if len(p.Sites) > 0 {
			return "/sites/" + p.Sites[0]
		}
		return "/waves"
	case auth.Practitioner:
		return "/work"
	case auth.Advisor:
		if len(p.Sites) > 0 {
			return "/sites/" + p.Sites[0] + "/reviews"
		}
		return "/advisors"
	}
	return "/ops"
}

// view is what every page template gets.
type view struct {
	Title string
	// Lang is the language of the page's own words (the user's choice,
	// see lang.go): the <html lang>.
	Lang string
	// MainLang is "en" when the page's main part is not translated yet and
	// Lang is another language ("" when the main part is in Lang).
	MainLang string
	// FlashLang is "en" when the flash has no message in Lang.
	FlashLang string
	// TitleLang is "en" when the page's title is in English and Lang is
	// another language (the untranslated pages, and errors from the API).
	TitleLang string
	// Languages are the languages the user may choose for the pages
	// (nil when there is only one); Back is where choosing one returns.
	Languages []langOption
	Back      string
	CSS       string
	// JS is the offline script, for the roles that capture forms.
	JS      string
	User    *auth.Principal
	CSRF    string
	Nav     []navLink
	Flash   string
	Error   string
	Crumbs  []navLink
	Path    string
	D       any
	Compact bool
}

type navLink struct {
	Href, Label string
	Current     bool
}

// nav lists a role's main pages.
func (u *UI) nav(p auth.Principal, path, lang string) []navLink {
	var links []navLink
	add := func(href, label string) {
		cur := path == href || (href != "/" && strings.HasPrefix(path, href+"/"))
		links = append(links, navLink{Href: href, Label: label, Current: cur})
	}
	t := func(id string) string { return uitext.T(lang, id) }
	switch p.Role {
	case auth.ProgrammeManager:
		add("/waves", t("nav.waves"))
		for _, s := range u.o.Sites.Sites() {
			add("/sites/"+s.ID, s.Name)
		}
		add("/ops", t("nav.health"))
	case auth.SiteCoordinator:
		for _, id := range p.Sites {
			if s, ok := u.o.Sites.Site(id); ok {
				add("/sites/"+id, s.Name)
			}
		}
		add("/waves", t("nav.waves"))
		add("/work", t("nav.work"))
	case auth.Practitioner:
		add("/work", t("nav.today"))
		if len(p.Sites) > 0 {
			add("/sites/"+p.Sites[0]+"/meetings", t("nav.meetings"))
			add("/sites/"+p.Sites[0]+"/referrals", t("nav.referrals"))
		}
		add("/waves", t("nav.waves"))
	case auth.Ops:
		add("/ops", t("nav.health"))
	case auth.Advisor:
		for _, s := range u.o.Sites.Sites() {
			if p.InSite(s.ID) {
				add("/sites/"+s.ID+"/reviews", t("nav.reviews")+": "+s.Name)
				add("/sites/"+s.ID+"/cop", t("nav.cop")+": "+s.Name)
			}
		}
	}
	return links
}

var flashes = map[string]string{
	"launched":    "The wave was launched.",
	"existing":    "That wave was launched before: nothing new was started.",
	"form":        "The form was recorded.",
	"minutes":     "The minutes were recorded and the plans sent to each child's cycle.",
	"meeting":     "The meeting was opened: its agenda is below.",
	"follow-up":   "The follow-up was recorded.",
	"referral":    "The referral was updated.",
	"signed-out":  "You signed out.",
	"review":      "The review was recorded; the LLCoP sees it with the plan.",
	"action":      "The action was recorded.",
	"imported":    "The class list was imported.",
	"no-plan-yet": "No plan was recorded.",
	"check-in":    "The check-in was recorded. The concerns ticked went to the safeguarding fast path: the social worker is being told now.",
	"concern":     "The child was put on the next LLCoP agenda of the school.",
	"left":        "The child's leaving was recorded: later waves will not start them.",
	"renewed":     "The renewed consent was recorded.",
	"decided":     "Your decision was recorded.",
}

// render writes a page.
func (u *UI) render(c *gin.Context, status int, name, title string, data any) {
	t, ok := u.pages[name]
	if !ok {
		c.String(http.StatusInternalServerError, "no page "+name)
		return
	}
	lang := u.lang(c)
	v := view{Title: title, Lang: lang, CSS: u.cssPath, Path: c.Request.URL.Path, D: data}
	if !translatedPages[name] && lang != "en" {
		v.MainLang = "en"
	}
	v.TitleLang = v.MainLang
	if e, ok := data.(errorPage); ok {
		v.TitleLang = e.TitleLang
	}
	if key := c.Query("ok"); flashes[key] != "" {
		if id, ok := flashIDs[key]; ok {
			v.Flash = uitext.T(lang, id)
		} else {
			v.Flash = flashes[key]
			if lang != "en" {
				v.FlashLang = "en"
			}
		}
	}
	if p, ok := currentPrincipal(c); ok {
		v.User = &p
		v.CSRF = p.CSRF
		if p.Role == auth.Practitioner || p.Role == auth.SiteCoordinator {
			v.JS = u.jsPath
		}
		v.Nav = u.nav(p, c.Request.URL.Path, lang)
		v.Languages, v.Back = u.languageChoice(c, p, lang)
	}
	if cr, ok := c.Get(crumbsKey); ok {
		v.Crumbs, _ = cr.([]navLink)
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		u.o.Logger.Error("rendering a page", "page", name, "error", err)
		c.String(http.StatusInternalServerError, "the page could not be drawn")
		return
	}
	securityHeaders(c)
	writeBody(c, status, "text/html; charset=utf-8", []byte(b.String()))
}

// writeBody sends a body, gzipped when the browser takes it: pages travel
// over slow mobile connections, and HTML shrinks to a fifth.
func writeBody(c *gin.Context, status int, contentType string, body []byte) {
	c.Header("Vary", "Accept-Encoding")
	if len(body) < 1024 || !strings.Contains(c.GetHeader("Accept-Encoding"), "gzip") {
		c.Data(status, contentType, body)
		return
	}
	var gz bytes.Buffer
	w, _ := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
	_, _ = w.Write(body)
	_ = w.Close()
	c.Header("Content-Encoding", "gzip")
	c.Data(status, contentType, gz.Bytes())
}

const crumbsKey = "khula.web.crumbs"

func crumbs(c *gin.Context, links ...navLink) { c.Set(crumbsKey, links) }

func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; connect-src 'self'; worker-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	// Pages carry children's data: never keep them in a shared cache.
	h.Set("Cache-Control", "no-store")
}

// fail renders an error page whose title and detail are in English (an
// API problem's, or other words not in internal/uitext): marked lang="en"
// on a page in another language.
func (u *UI) fail(c *gin.Context, status int, title, detail string) {
	e := errorPage{Status: status, Title: title, Detail: detail}
	if u.lang(c) != "en" {
		e.TitleLang, e.DetailLang = "en", "en"
	}
	u.render(c, status, "error", title, e)
	c.Abort()
}

// failMsg renders an error page in the user's language: titleID and
// detailID are messages (internal/uitext), filled with data.
func (u *UI) failMsg(c *gin.Context, status int, titleID, detailID string, data map[string]any) {
	lang := u.lang(c)
	title := uitext.T(lang, titleID)
	u.render(c, status, "error", title, errorPage{Status: status, Title: title, Detail: uitext.Data(lang, detailID, data)})
	c.Abort()
}

// failDetail renders an error page with a title in the user's language
// (message titleID) and a detail in English (an API problem's).
func (u *UI) failDetail(c *gin.Context, status int, titleID, detail string) {
	lang := u.lang(c)
	title := uitext.T(lang, titleID)
	e := errorPage{Status: status, Title: title, Detail: detail}
	if lang != "en" {
		e.DetailLang = "en"
	}
	u.render(c, status, "error", title, e)
	c.Abort()
}

type errorPage struct {
	Status        int
	Title, Detail string
	// TitleLang and DetailLang are "en" when the title or the detail is
	// in English on a page in another language.
	TitleLang, DetailLang string
}

// languageNames names the languages sites use, in their own words.
var languageNames = map[string]string{
	"en": "English", "zu": "isiZulu", "xh": "isiXhosa", "st": "Sesotho", "tn": "Setswana", "nso": "Sepedi",
	"nr": "isiNdebele", "ts": "Xitsonga", "ss": "siSwati", "ve": "Tshivenḓa", "af": "Afrikaans",
}

func languageName(code string) string {
	if n, ok := languageNames[code]; ok {
		return n
	}
	return code
}

var stageNames = map[string]string{
	cycle.StageEnrol: "Enrol", cycle.StageAssess: "Assess", cycle.StageScore: "Score", cycle.StagePlan: "Plan",
	cycle.StageRefer: "Refer", cycle.StageFollowUp: "Follow up", cycle.StageReassess: "Reassess", cycle.StageClosed: "Closed",
}

func stageName(s string) string {
	if n, ok := stageNames[s]; ok {
		return n
	}
	return s
}

// outcomeNames and waveStatusNames say what an outcome or a wave status
// means where a word or two would mislead; the rest read as humanize makes them.
var outcomeNames = map[string]string{
	cycle.OutcomeIncomplete:    "incomplete assessment",
	cycle.OutcomePlanNotAgreed: "no plan agreed: carried to the next wave",
}

var waveStatusNames = map[string]string{
	cycle.WaveReported: "reported, cycles still open",
}

// outcomeName labels a cycle's outcome (or a report's outcome key).
func outcomeName(s string) string {
	if n, ok := outcomeNames[s]; ok {
		return humanize(n)
	}
	return humanize(s)
}

// waveStatusName labels a wave's status.
func waveStatusName(s string) string {
	if n, ok := waveStatusNames[s]; ok {
		return humanize(n)
	}
	return humanize(s)
}

func humanize(s string) string {
	s = strings.ReplaceAll(s, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

var funcs = template.FuncMap{
	// tr is the UI's own words in a language (see internal/uitext).
	"tr":         uitext.T,
	"stage":      stageName,
	"human":      humanize,
	"outcome":    outcomeName,
	"waveStatus": waveStatusName,
	"language":   languageName,
	// word is a value's label in a language: the message prefix+value,
	// else the value humanized ("stage." "follow_up" → "Follow up").
	"word": word,
	"date": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return ""
			}
			return v.UTC().Format("2 Jan 2006")
		case *time.Time:
			if v == nil || v.IsZero() {
				return ""
			}
			return v.UTC().Format("2 Jan 2006")
		}
		return ""
	},
	"datetime": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return ""
			}
			return v.UTC().Format("2 Jan 2006 15:04 UTC")
		case *time.Time:
			if v == nil || v.IsZero() {
				return ""
			}
			return v.UTC().Format("2 Jan 2006 15:04 UTC")
		}
		return ""
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"pct": func(n, of int) string {
		if of == 0 {
			return "–"
		}
		return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(of))
	},
	"childOf": func(cycleID string) string {
		if ref, err := cycle.ParseCycleID(cycleID); err == nil {
			return ref.Child
		}
		return cycleID
	},
	"cycleHref": cycleHref,
	"refHref":   refHref,
	"rows": func(lang string, rows []store.Referral, canRecord bool, csrf, key, back string) refTable {
		return refTable{Lang: lang, Rows: rows, CanRecord: canRecord, CSRF: csrf, Key: key, Back: back}
	},
	"inc":  func(i int) int { return i + 1 },
	"join": strings.Join,
	// trd is a message filled with data given as name, value pairs:
	// {{trd $l "child.grade" "Grade" .Grade}}.
	"trd": func(lang, id string, pairs ...any) string {
		data := map[string]any{}
		for i := 0; i+1 < len(pairs); i += 2 {
			if k, ok := pairs[i].(string); ok {
				data[k] = pairs[i+1]
			}
		}
		return uitext.Data(lang, id, data)
	},
	// resp names respondents within a sentence: their codes in English
	// ("caregiver, child"), their labels in another language.
	"resp": respondentsIn,
}

// respondentsIn names respondents within a sentence, joined by ", ": the
// codes in English (the wording the pages always had), the labels
// (respondent.*) in another language.
func respondentsIn(lang string, v any) string {
	var rs []string
	switch r := v.(type) {
	case string:
		rs = []string{r}
	case []string:
		rs = r
	}
	if lang == "en" {
		return strings.Join(rs, ", ")
	}
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = word(lang, "respondent.", r)
	}
	return strings.Join(out, ", ")
}

// refTable is what the referrals table template gets.
type refTable struct {
	Lang            string
	Rows            []store.Referral
	CanRecord       bool
	CSRF, Key, Back string
}

// refHref is the UI path of a referral (referral/SITE/WAVE/CHILD/K).
func refHref(referralID string) string {
	return "/referrals/" + strings.TrimPrefix(referralID, "referral/")
}

// cycleHref links a cycle ID (cycle/SITE/WAVE/CHILD) to the child's page.
func cycleHref(cycleID string) string {
	ref, err := cycle.ParseCycleID(cycleID)
	if err != nil {
		return "/"
	}
	return fmt.Sprintf("/cycles/%s/%d/%s", ref.Site, ref.Wave, ref.Child)
}

// maxSmallForm bounds the body of the forms anyone may post before
// signing in (sign-in, language, sign-out): a few fields each.
const maxSmallForm = 64 << 10

// smallForm refuses a body larger than maxSmallForm before the form is
// parsed: without it, a multipart body of any size would be read (in
// memory, then temporary files) before the sign-in form's token is checked.
func smallForm(c *gin.Context) {
	if c.Request.ContentLength > maxSmallForm {
		c.AbortWithStatus(http.StatusRequestEntityTooLarge)
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxSmallForm)
	c.Next()
}
