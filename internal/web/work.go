package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/khula-cop/khula/internal/api"
	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/uitext"
	"github.com/khula-cop/khula/sites"
)

type workView struct {
	Site       *sites.Site
	School     string
	SchoolName string
	Schools    []calendarSchool
	Sites      []siteOption
	Work       store.Work
	Next       map[string]string
	CanCapture bool
	PlanTotal  int
	Key        string
	Today      string
	// Children lists the work list's children by name, for practitioners
	// and coordinators (nil for programme managers, and on the page kept
	// on the device, /work?device=1, which names no child).
	Children *childrenList
	// Names are the names the children list shows, by cycle ID, for the
	// other tables of the page (a child the list does not show stays an ID).
	Names map[string]string
	// Words are the outbox panel's words for khula.js in the page's
	// language (nil in English: the script has those).
	Words map[string]string
}

// outboxWords are the words khula.js draws the outbox panel with, in lang:
// a count's forms hold {n} ("_one" and "_other", and "zero" is "one" when
// a count of 0 takes the one form), a form's respondent {r}.
func outboxWords(lang string) map[string]string {
	ws := map[string]string{}
	for _, id := range []string{"outbox.offline", "outbox.queued", "outbox.refused", "outbox.again", "outbox.discard", "outbox.confirm", "outbox.send", "outbox.locked"} {
		ws[id] = uitext.T(lang, id)
	}
	ws["outbox.form"] = uitext.Data(lang, "outbox.form", map[string]any{"Form": "{r}"})
	for _, r := range []string{"caregiver", "child", "teacher", "nurse"} {
		ws["respondent."+r] = uitext.T(lang, "respondent."+r)
	}
	for _, id := range []string{"outbox.waiting", "outbox.sent"} {
		one := strings.Replace(uitext.T(lang, id, 1), "1", "{n}", 1)
		ws[id+"_one"] = one
		ws[id+"_other"] = strings.Replace(uitext.T(lang, id, countMark), strconv.Itoa(countMark), "{n}", 1)
		if id == "outbox.waiting" && uitext.T(lang, id, 0) == strings.Replace(one, "{n}", "0", 1) {
			ws["zero"] = "one"
		}
	}
	return ws
}

// childrenList is the "Children" section of the work page: a search form
// and a page of children, each listed through the API (an audited read).
type childrenList struct {
	Site, School string
	Q, Sort      string
	Filters      []workOption
	Sorts        []workOption
	Rows         []childRow
	Total        int
	Truncated    bool
	// Narrowed is set when a search, a filter, an order or a page was asked for.
	Narrowed bool
	// More links the next page of children ("" on the last).
	More string
	// Errors are the search's field errors; Problem says why no child is
	// listed. Both come from the API, in English, unless ProblemLang is "".
	Errors      map[string]string
	Problem     string
	ProblemLang string
}

type workOption struct {
	Value, Label, ID string
	Selected         bool
}

// childRow is one child of the list as drawn.
type childRow struct {
	ChildID, Name, Href     string
	Grade, Age, Sex, School string
	Stage                   string
	AtRisk, RedFlag         bool
	Overdue                 bool
	Forms                   []store.FormDue
}

// childrenPage is how many children the work page lists at a time: the
// page stays light on a phone, and each child listed is an audited read.
const childrenPage = 25

// workFilterLabels and workSortLabels label the work list's filters and
// orders with message ids (internal/uitext).
var workFilterLabels = []workOption{
	{Value: store.WorkFilterAtRisk, Label: "work.filter.at_risk"},
	{Value: store.WorkFilterRedFlag, Label: "work.filter.red_flag"},
	{Value: store.WorkFilterOverdue, Label: "work.filter.overdue"},
}

var workSortLabels = []workOption{
	{Value: store.WorkSortName, Label: "work.sort.name"},
	{Value: store.WorkSortClass, Label: "work.sort.grade"},
	{Value: store.WorkSortAge, Label: "work.sort.age"},
	{Value: store.WorkSortStage, Label: "work.sort.stage"},
}

// work shows what practitioners have to do: forms to capture, meetings
// awaiting minutes, children awaiting a plan, referrals and follow-ups.
func (u *UI) work(c *gin.Context) {
	p := me(c)
	scope := u.sitesInScope(p)
	if len(scope) == 0 {
		u.failMsg(c, http.StatusForbidden, "error.no_site", "error.no_site_detail", nil)
		return
	}
	siteID := c.Query("site")
	if siteID == "" {
		siteID = scope[0].ID
	}
	site, ok := u.o.Sites.Site(siteID)
	if !ok {
		u.failMsg(c, http.StatusNotFound, "error.unknown_site", "error.no_such_site", nil)
		return
	}
	if !u.inSite(c, site.ID) {
		return
	}
	school := c.Query("school")
	v := workView{Site: site, CanCapture: p.Role != auth.ProgrammeManager, Key: uuid.NewString()}
	for _, s := range scope {
		v.Sites = append(v.Sites, siteOption{ID: s.ID, Name: s.Name, Selected: s.ID == site.ID})
	}
	for _, sc := range site.Schools {
		if p.InSchool(site.ID, sc.ID) {
			v.Schools = append(v.Schools, calendarSchool{ID: sc.ID, Name: sc.Name})
		}
	}
	if school == "" && p.Role == auth.Practitioner && len(v.Schools) > 0 {
		school = v.Schools[0].ID
	}
	v.School = school
	if sc, ok := site.School(school); ok {
		v.SchoolName = sc.Name
	}
	q := url.Values{"site": {site.ID}, "limit": {"50"}}
	if school != "" {
		q.Set("school", school)
	}
	var out struct {
		store.Work
		Next map[string]string `json:"next"`
	}
	if !u.get(c, "/api/v1/work?"+q.Encode(), &out) {
		return
	}
	v.Work, v.Next = out.Work, out.Next
	for _, n := range v.Work.PlanBySchool {
		v.PlanTotal += n
	}
	v.Today = u.now().Format("2006-01-02")
	if lang := u.lang(c); lang != "en" && v.CanCapture {
		v.Words = outboxWords(lang)
	}
	// The page the device keeps names no child; programme managers see no
	// names on the work list.
	if c.Query("device") != "1" && (p.Role == auth.Practitioner || p.Role == auth.SiteCoordinator) {
		v.Children, v.Names = u.childrenList(c, site, school)
	}
	u.render(c, http.StatusOK, "work", uitext.T(u.lang(c), "work.title"), v)
}

// childrenList reads a page of the work list's children through the API,
// which audits each child it returns, with the search, filters, order and
// page of the request.
func (u *UI) childrenList(c *gin.Context, site *sites.Site, school string) (*childrenList, map[string]string) {
	lang := u.lang(c)
	l := &childrenList{Site: site.ID, School: school, Q: c.Query("q"), Sort: c.DefaultQuery("sort", store.WorkSortName), Errors: map[string]string{}}
	if lang != "en" {
		l.ProblemLang = "en"
	}
	ticked := map[string]bool{}
	for _, f := range c.QueryArray("filter") {
		ticked[f] = true
	}
	q := url.Values{"site": {site.ID}, "limit": {strconv.Itoa(childrenPage)}, "sort": {l.Sort}}
	if school != "" {
		q.Set("school", school)
	}
	if l.Q != "" {
		q.Set("q", l.Q)
	}
	for i, f := range workFilterLabels {
		f.ID, f.Selected, f.Label = fmt.Sprintf("c-f%d", i), ticked[f.Value], uitext.T(lang, f.Label)
		if f.Selected {
			q.Add("filter", f.Value)
		}
		l.Filters = append(l.Filters, f)
	}
	for _, o := range workSortLabels {
		o.Selected, o.Label = o.Value == l.Sort, uitext.T(lang, o.Label)
		l.Sorts = append(l.Sorts, o)
	}
	if after := c.Query("after"); after != "" {
		q.Set("after", after)
		l.Narrowed = true
	}
	l.Narrowed = l.Narrowed || l.Q != "" || l.Sort != store.WorkSortName || len(ticked) > 0
	res := u.call(c, http.MethodGet, "/api/v1/work/children?"+q.Encode(), nil, "", "", "")
	if p := res.problem(); p != nil {
		l.Errors = fieldErrors(p)
		if len(p.Errors) == 0 {
			l.Problem = problemText(p)
		}
		return l, nil
	}
	var page struct {
		Items     []store.WorkChild `json:"items"`
		Total     int               `json:"total"`
		Truncated bool              `json:"truncated"`
		Next      string            `json:"next"`
	}
	if err := res.decode(&page); err != nil {
		l.Problem, l.ProblemLang = uitext.T(lang, "work.list_unread"), ""
		return l, nil
	}
	l.Total, l.Truncated = page.Total, page.Truncated
	if page.Next != "" {
		more := url.Values{"site": {site.ID}, "sort": {l.Sort}, "after": {page.Next}}
		if school != "" {
			more.Set("school", school)
		}
		if l.Q != "" {
			more.Set("q", l.Q)
		}
		for _, f := range l.Filters {
			if f.Selected {
				more.Add("filter", f.Value)
			}
		}
		l.More = "/work?" + more.Encode() + "#children"
	}
	names := map[string]string{}
	for _, ch := range page.Items {
		row := childRow{ChildID: ch.ChildID, Href: cycleHref(ch.CycleID), Grade: ch.Grade, Age: ageText(lang, ch.Age), Sex: word(lang, "sex.", ch.Sex),
			School: ch.SchoolID, Stage: word(lang, "stage.", ch.Stage), AtRisk: ch.AtRisk, RedFlag: ch.RedFlag, Overdue: ch.Overdue, Forms: ch.FormsDue}
		if sc, ok := site.School(ch.SchoolID); ok {
			row.School = sc.Name
		}
		row.Name = strings.TrimSpace(ch.GivenName + " " + ch.FamilyName)
		if ch.Erased || row.Name == "" {
			row.Name = uitext.T(lang, "work.name_erased")
		} else {
			names[ch.CycleID] = row.Name
			for _, f := range ch.FormsDue {
				names[f.CycleID] = row.Name
			}
		}
		l.Rows = append(l.Rows, row)
	}
	return l, names
}

// ageText writes an age as years and months ("7 y 9 m" in English), ""
// when unknown.
func ageText(lang string, a *store.ChildAge) string {
	if a == nil {
		return ""
	}
	return uitext.Data(lang, "work.age", map[string]any{"Years": a.Years, "Months": a.Months})
}

type childView struct {
	Detail     store.CycleDetail
	Child      store.Child
	Ref        cycle.CycleRef
	SiteName   string
	SchoolName string
	Track      template.HTML
	Domains    []domainRow
	Reassessed bool
	Plans      []planView
	Forms      []store.Assessment
	Due        []string
	Phase      string
	CanCapture bool
	Key        string
	// CheckIn is set when the cycle takes check-ins (the workflow decides).
	CheckIn *checkInForm
	Concern *concernForm
	Events  []store.StageEvent
}

// checkInForm is the check-in (follow-up) form: a note and the concerns seen
// at the visit, the instrument's red flags, each a safeguarding fast path.
type checkInForm struct {
	Note       string
	Concerns   []choiceOption
	Errors     map[string]string
	ConcernErr string
	Problem    string
}

// concernForm puts the child on the next LLCoP agenda of the school.
type concernForm struct {
	Reason, AddedBy string
	Errors          map[string]string
	Problem         string
}

type domainRow struct {
	Label, Baseline, Reassessment, Change string
}

type planView struct {
	Meeting  string
	AgreedAt string
	Actions  []cycle.PlanAction
}

// child shows a child's page: the name (to those in scope), stage, timeline,
// domain results, plans, referrals and forms.
func (u *UI) child(c *gin.Context) {
	u.showChild(c, http.StatusOK, "", nil)
}

// Forms of the child's page, to say which one an API problem belongs to.
const (
	formCheckIn = "check-in"
	formConcern = "concern"
)

// showChild draws the child's page; prob, when set, is the API's answer to
// the form named, shown next to it with what was typed.
func (u *UI) showChild(c *gin.Context, status int, form string, prob *api.Problem) {
	siteID, n, ok := waveParams(c)
	if !ok {
		u.failMsg(c, http.StatusNotFound, "error.not_found", "error.no_cycle", nil)
		return
	}
	childID := c.Param("child")
	var d store.CycleDetail
	if !u.get(c, fmt.Sprintf("/api/v1/cycles/%s/%d/%s", url.PathEscape(siteID), n, url.PathEscape(childID)), &d) {
		return
	}
	// The API let the user see this cycle: the child is in their scope.
	ctx := c.Request.Context()
	site, _ := u.o.Sites.Site(siteID)
	v := childView{Detail: d, Ref: cycle.CycleRef{Site: siteID, Wave: n, Child: childID}, SiteName: site.Name,
		CanCapture: me(c).Role != auth.ProgrammeManager, Key: uuid.NewString()}
	if sc, ok := site.School(d.Cycle.SchoolID); ok {
		v.SchoolName = sc.Name
	}
	if !u.audit(c, siteID, childID, fmt.Sprintf("child page of cycle %s (web): name, results, plans, forms received", d.Cycle.ID)) {
		return
	}
	ch, err := u.childRecord(ctx, childID)
	if err == nil {
		v.Child = ch
	}
	reached := map[string]bool{}
	for _, e := range d.Timeline {
		reached[e.Stage] = true
	}
	v.Events = append(v.Events, d.Timeline...)
	sort.SliceStable(v.Events, func(i, j int) bool { return v.Events[i].Seq > v.Events[j].Seq })
	lang := u.lang(c)
	v.Track = stageTrack("track", d.Cycle.Stage, reached, lang)
	risks, _ := u.cycleRisks(ctx, d.Cycle.ID)
	byDomain := map[string]*domainRow{}
	for _, dl := range u.domains(siteID) {
		byDomain[dl.ID] = &domainRow{Label: dl.Label}
	}
	for _, r := range risks {
		row := byDomain[r.Domain]
		if row == nil {
			continue
		}
		if r.Phase == cycle.PhaseBaseline {
			row.Baseline = r.Level
		} else {
			row.Reassessment, row.Change = r.Level, r.Change
			v.Reassessed = true
		}
	}
	for _, dl := range u.domains(siteID) {
		if row := byDomain[dl.ID]; row.Baseline != "" || row.Reassessment != "" {
			v.Domains = append(v.Domains, *row)
		}
	}
	for _, p := range d.Plans {
		pv := planView{Meeting: p.MeetingID, AgreedAt: p.AgreedAt.UTC().Format("2 Jan 2006")}
		_ = json.Unmarshal([]byte(p.Actions), &pv.Actions)
		v.Plans = append(v.Plans, pv)
	}
	v.Forms, _ = u.submitted(ctx, d.Cycle.ID)
	if d.Cycle.Status == store.CycleOpen && (d.Cycle.Stage == cycle.StageAssess || d.Cycle.Stage == cycle.StageReassess) {
		v.Phase = cycle.PhaseBaseline
		if d.Cycle.Stage == cycle.StageReassess {
			v.Phase = cycle.PhaseReassessment
		}
		got := map[string]bool{}
		for _, f := range v.Forms {
			if f.Phase == v.Phase {
				got[f.Respondent] = true
			}
		}
		for _, r := range store.SplitList(d.Cycle.Awaiting) {
			if !got[r] {
				v.Due = append(v.Due, r)
			}
		}
	}
	if v.CanCapture {
		v.CheckIn = u.checkIn(c, siteID, d, form, prob)
		v.Concern = concernFormOf(c, d, form, prob)
	}
	crumbs(c, navLink{Href: "/work", Label: uitext.T(lang, "work.title")})
	u.render(c, status, "child", uitext.Data(lang, "layout.crumb.child", map[string]any{"Child": childID}), v)
}

// takesCheckIns says whether to offer the check-in form: once the child is
// scored and until the cycle closes. The workflow has the last word (a
// cycle started before check-ins took concerns answers 409, shown by the form).
func takesCheckIns(d store.CycleDetail) bool {
	if d.Cycle.Status != store.CycleOpen {
		return false
	}
	switch d.Cycle.Stage {
	case cycle.StagePlan, cycle.StageRefer, cycle.StageFollowUp, cycle.StageReassess:
		return true
	case cycle.StageAssess, cycle.StageScore:
		return len(d.Scores) > 0
	}
	return false
}

// checkIn builds the check-in form (nil when the cycle takes none and no
// answer to one is being shown).
func (u *UI) checkIn(c *gin.Context, siteID string, d store.CycleDetail, form string, prob *api.Problem) *checkInForm {
	if !takesCheckIns(d) && form != formCheckIn {
		return nil
	}
	f := &checkInForm{Errors: map[string]string{}}
	ticked := map[string]bool{}
	if form == formCheckIn {
		f.Note = c.PostForm("note")
		for _, code := range c.PostFormArray("concerns") {
			ticked[code] = true
		}
		f.Errors = fieldErrors(prob)
		for _, fe := range prob.Errors {
			if strings.HasPrefix(fe.Field, "concerns") && f.ConcernErr == "" {
				f.ConcernErr = fe.Message
			}
		}
		if len(prob.Errors) == 0 {
			f.Problem = problemText(prob)
		}
	}
	if in, err := u.instrumentOf(siteID); err == nil {
		for k, rf := range in.RedFlags() {
			// A notify-only flag records a declined answer on a form: it
			// is not something seen at a visit.
			if rf.NotifyOnly {
				continue
			}
			f.Concerns = append(f.Concerns, choiceOption{Value: rf.Code, Label: rf.Reason, ID: fmt.Sprintf("concern-%d", k), Checked: ticked[rf.Code]})
		}
	}
	return f
}

// concernFormOf builds the "put on the next LLCoP agenda" form for a cycle
// past enrolment with consent (nil otherwise; the API decides either way).
func concernFormOf(c *gin.Context, d store.CycleDetail, form string, prob *api.Problem) *concernForm {
	switch {
	case form == formConcern:
	case d.Cycle.Stage == cycle.StageEnrol, d.Cycle.Stage == "",
		d.Cycle.Outcome == cycle.OutcomeNoConsent, d.Cycle.Outcome == cycle.OutcomeWithdrawn:
		return nil
	}
	f := &concernForm{AddedBy: recordedBy(me(c)), Errors: map[string]string{}}
	if form == formConcern {
		f.Reason, f.AddedBy = c.PostForm("reason"), c.PostForm("added_by")
		f.Errors = fieldErrors(prob)
		if len(prob.Errors) == 0 {
			f.Problem = problemText(prob)
		}
	}
	return f
}

// problemText is an API problem as one sentence or two.
func problemText(p *api.Problem) string {
	if p.Detail == "" {
		return p.Title + "."
	}
	return p.Title + ": " + p.Detail + "."
}

// followUp records a check-in through the API.
func (u *UI) followUp(c *gin.Context) {
	siteID, n, ok := waveParams(c)
	if !ok {
		u.failMsg(c, http.StatusNotFound, "error.not_found", "error.no_cycle", nil)
		return
	}
	path := fmt.Sprintf("/api/v1/cycles/%s/%d/%s/follow-ups", url.PathEscape(siteID), n, url.PathEscape(c.Param("child")))
	concerns := c.PostFormArray("concerns")
	res := u.send(c, http.MethodPost, path, cycle.FollowUpInput{Note: c.PostForm("note"), RecordedBy: recordedBy(me(c)), Concerns: concerns})
	if p := res.problem(); p != nil {
		u.showChild(c, res.Status, formCheckIn, p)
		return
	}
	flash := "follow-up"
	if len(concerns) > 0 {
		flash = "check-in"
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cycles/%s/%d/%s?ok=%s", siteID, n, url.PathEscape(c.Param("child")), flash))
}

// addConcern puts the child on the next LLCoP agenda of the school through
// the API (201); a refusal (409, 422) shows next to the form.
func (u *UI) addConcern(c *gin.Context) {
	siteID, n, ok := waveParams(c)
	if !ok {
		u.failMsg(c, http.StatusNotFound, "error.not_found", "error.no_cycle", nil)
		return
	}
	path := fmt.Sprintf("/api/v1/cycles/%s/%d/%s/agenda", url.PathEscape(siteID), n, url.PathEscape(c.Param("child")))
	res := u.send(c, http.MethodPost, path, map[string]string{"reason": c.PostForm("reason"), "added_by": c.PostForm("added_by")})
	if p := res.problem(); p != nil {
		u.showChild(c, res.Status, formConcern, p)
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cycles/%s/%d/%s?ok=concern", siteID, n, url.PathEscape(c.Param("child"))))
}

// referralAction acknowledges a referral or records its outcome through the API.
func (u *UI) referralAction(c *gin.Context) {
	siteID, n, ok := waveParams(c)
	k, err := strconv.Atoi(c.Param("k"))
	action := c.Param("action")
	if !ok || err != nil || (action != "acknowledge" && action != "outcome") {
		u.failMsg(c, http.StatusNotFound, "error.not_found", "error.no_referral_action", nil)
		return
	}
	path := fmt.Sprintf("/api/v1/referrals/%s/%d/%s/%d/%s", url.PathEscape(siteID), n, url.PathEscape(c.Param("child")), k, action)
	var body any = cycle.AcknowledgeInput{By: recordedBy(me(c))}
	if action == "outcome" {
		body = cycle.ReferralOutcomeInput{Outcome: c.PostForm("outcome"), By: recordedBy(me(c))}
	}
	res := u.send(c, http.MethodPost, path, body)
	if p := res.problem(); p != nil {
		msg := p.Title
		if p.Detail != "" {
			msg += ". " + p.Detail
		}
		for _, fe := range p.Errors {
			msg += " " + fe.Message + "."
		}
		u.failDetail(c, res.Status, "error.referral", msg)
		return
	}
	back := c.PostForm("back")
	if !sameOriginPath(back) {
		back = fmt.Sprintf("/cycles/%s/%d/%s", siteID, n, url.PathEscape(c.Param("child")))
	}
	c.Redirect(http.StatusSeeOther, back+"?ok=referral")
}

// recordedBy names who records an input: the user's display name and username.
func recordedBy(p auth.Principal) string {
	if p.DisplayName != "" {
		return p.DisplayName + " (" + p.Username + ")"
	}
	return p.Username
}

var errNoInstrument = errors.New("the site has no instrument loaded")
