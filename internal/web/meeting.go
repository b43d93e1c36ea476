package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/khula-cop/khula/internal/api"
	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/uitext"
	"github.com/khula-cop/khula/sites"
)

type apiMeeting struct {
	ID     string             `json:"id"`
	Site   string             `json:"site"`
	School string             `json:"school"`
	Date   string             `json:"date"`
	Status string             `json:"status"`
	Agenda []cycle.AgendaItem `json:"agenda"`
	HeldAt *time.Time         `json:"held_at"`
	// Attendance is what the minutes recorded, by sector.
	Attendance map[string]int `json:"attendance,omitempty"`
	// OverdueActions details the agenda's overdue actions.
	OverdueActions []store.PlanActionRow `json:"overdue_actions,omitempty"`
}

// overdueAction is an agreed action past its due date, on the agenda.
type overdueAction struct {
	ID, CycleID, ChildID string
	Action               *store.PlanActionRow
}

type levelBadge struct{ Domain, Level, Reason string }

type selectOption struct {
	Value, Label string
	Selected     bool
}

type actionRow struct {
	Index                                            int
	Domains, Services                                []selectOption
	Note, Owner, Due                                 string
	DomainErr, ServiceErr, NoteErr, OwnerErr, DueErr string
}

// attendanceRow is one sector's count on the minutes form.
type attendanceRow struct {
	Sector, Label, Value, Err string
}

// completeRow is the "complete the assessment" action offered for a child
// whose baseline forms are missing.
type completeRow struct {
	Checked                bool
	Owner                  string
	Respondents            []selectOption
	Err, OwnerErr, RespErr string
}

type flagLine struct{ Code, Reason string }

type urgentLine struct{ Service, Status string }

type previousLine struct {
	Wave    int
	Outcome string
	AtRisk  []levelBadge
	Others  int
}

type agendaChild struct {
	Index   int
	CycleID string
	ChildID string
	Href    string
	// AtRisk are the moderate and high domains, Others the rest, each with
	// the reason of the rule that set its level.
	AtRisk, Others []levelBadge
	OthersReasons  bool
	Flags          []flagLine
	Urgent         []urgentLine
	Incomplete     string
	Previous       *previousLine
	Concern        bool
	ConcernText    string
	ConcernBy      string
	Rows           []actionRow
	Complete       *completeRow
	Error          string
}

type meetingView struct {
	Meeting    apiMeeting
	SchoolName string
	Children   []agendaChild
	Overdue    []cycle.AgendaItem
	// OverdueActions are agreed actions past their due date.
	OverdueActions []overdueAction
	Attendance     []attendanceRow
	// Attended is what the minutes recorded (held meetings).
	Attended  []attendanceRow
	CanRecord bool
	// CanClose lets field workers record an overdue action done; Back is
	// this page's path.
	CanClose bool
	Back     string
	Key      string
	Summary  []formError
	Problem  string
	Pending  bool
}

func meetingPath(site, school, date string) string {
	return fmt.Sprintf("%s/%s/%s", url.PathEscape(site), url.PathEscape(school), url.PathEscape(date))
}

// meeting shows an LLCoP meeting: the agenda of children at risk or added
// with a concern, with what the LLCoP needs to agree a plan (domain levels
// and their reasons, gaps in the assessment, red flags and their urgent
// referrals, the previous wave's result), and, while it awaits minutes, a
// plan form per child.
func (u *UI) meeting(c *gin.Context) {
	u.showMeeting(c, http.StatusOK, nil, "")
}

func (u *UI) showMeeting(c *gin.Context, status int, prob *api.Problem, sent string) {
	site, ok := u.o.Sites.Site(c.Param("site"))
	if !ok {
		u.failMsg(c, http.StatusNotFound, "error.unknown_site", "error.no_such_site", nil)
		return
	}
	school, ok := site.School(c.Param("school"))
	if !ok {
		u.failMsg(c, http.StatusNotFound, "error.unknown_school", "error.no_such_school", nil)
		return
	}
	crumbs(c, navLink{Href: "/sites/" + site.ID + "/meetings", Label: uitext.T(u.lang(c), "nav.meetings")})
	res := u.call(c, http.MethodGet, "/api/v1/meetings/"+meetingPath(site.ID, school.ID, c.Param("date")), nil, "", "", "")
	if res.Status == http.StatusNotFound && me(c).InSchool(site.ID, school.ID) {
		// Just opened: the workflow is still building the agenda.
		v := meetingView{Meeting: apiMeeting{Site: site.ID, School: school.ID, Date: c.Param("date")}, SchoolName: school.Name, Pending: true}
		u.render(c, http.StatusOK, "meeting", "Meeting "+c.Param("date"), v)
		return
	}
	if p := res.problem(); p != nil {
		u.fail(c, res.Status, p.Title, p.Detail)
		return
	}
	var m apiMeeting
	if err := res.decode(&m); err != nil {
		u.failMsg(c, http.StatusBadGateway, "error.unexpected", "error.meeting_unreadable", nil)
		return
	}
	p := me(c)
	v := meetingView{Meeting: m, SchoolName: school.Name, CanRecord: m.Status == cycle.MeetingAwaitingMinutes && (p.Role == auth.SiteCoordinator || p.Role == auth.Practitioner),
		Key: uuid.NewString(), CanClose: p.Role == auth.SiteCoordinator || p.Role == auth.Practitioner,
		Back: "/meetings/" + meetingPath(site.ID, school.ID, c.Param("date"))}
	ctx := c.Request.Context()
	var items []cycle.AgendaItem
	for _, it := range m.Agenda {
		if it.Reason == cycle.AgendaOverdueAction {
			oa := overdueAction{ID: it.ActionID, CycleID: it.CycleID, ChildID: it.ChildID}
			for i := range m.OverdueActions {
				if m.OverdueActions[i].ID == it.ActionID {
					oa.Action = &m.OverdueActions[i]
				}
			}
			v.OverdueActions = append(v.OverdueActions, oa)
			continue
		}
		if it.Reason != cycle.AgendaAwaitingPlan && it.Reason != cycle.AgendaConcern {
			v.Overdue = append(v.Overdue, it)
			continue
		}
		items = append(items, it)
	}
	urgent, err := u.urgentReferrals(ctx, items)
	if err != nil {
		u.failMsg(c, http.StatusServiceUnavailable, "error.db", "error.try_again", nil)
		return
	}
	concerns, ok := u.agendaConcerns(c, m, items)
	if !ok {
		return
	}
	in, _ := u.instrumentOf(site.ID)
	allDomains := u.domains(site.ID)
	for _, it := range items {
		i := len(v.Children)
		ac := agendaChild{Index: i, CycleID: it.CycleID, ChildID: it.ChildID, Href: cycleHref(it.CycleID), Concern: it.Reason == cycle.AgendaConcern}
		if ac.Concern {
			ac.ConcernText = it.Concern
			if cr, ok := concerns[it.CycleID]; ok && ac.ConcernText == "" {
				ac.ConcernText, ac.ConcernBy = cr.Reason, cr.AddedBy
			}
		}
		for _, f := range it.Flags {
			fl := flagLine{Code: f}
			if in != nil {
				if rf, ok := in.RedFlag(f); ok {
					fl.Reason = rf.Reason
				}
			}
			ac.Flags = append(ac.Flags, fl)
		}
		for _, id := range it.Urgent {
			if r, ok := urgent[id]; ok {
				ac.Urgent = append(ac.Urgent, urgentLine{Service: r.ServiceType, Status: r.Status})
			} else {
				ac.Urgent = append(ac.Urgent, urgentLine{Service: "urgent referral", Status: "being made"})
			}
		}
		ac.Incomplete = incompleteText(it.Missing, it.Unassessed)
		domains := rankedDomains(it.Domains)
		for _, d := range domains {
			b := levelBadge{Domain: d, Level: it.Domains[d], Reason: it.Reasons[d]}
			if cycle.RiskRank(b.Level) >= cycle.RiskRank(cycle.RiskModerate) {
				ac.AtRisk = append(ac.AtRisk, b)
			} else {
				ac.Others = append(ac.Others, b)
				ac.OthersReasons = ac.OthersReasons || b.Reason != ""
			}
		}
		if pr := it.Previous; pr != nil {
			pl := &previousLine{Wave: pr.Wave, Outcome: pr.Outcome}
			for _, d := range rankedDomains(pr.Domains) {
				if cycle.RiskRank(pr.Domains[d]) >= cycle.RiskRank(cycle.RiskModerate) {
					pl.AtRisk = append(pl.AtRisk, levelBadge{Domain: d, Level: pr.Domains[d]})
				} else {
					pl.Others++
				}
			}
			ac.Previous = pl
		}
		// A child added with a concern may have no scored domain yet: any
		// domain of the instrument can then carry an action.
		choices := domains
		if len(choices) == 0 {
			for _, d := range allDomains {
				choices = append(choices, d.ID)
			}
		}
		rows := min(max(len(ac.AtRisk)+1, 2), 4)
		for j := 0; j < rows; j++ {
			prefix := fmt.Sprintf("p%d.a%d.", i, j)
			domain := c.PostForm(prefix + "domain")
			if c.Request.Method == http.MethodGet && j < len(ac.AtRisk) {
				domain = ac.AtRisk[j].Domain
			}
			service := c.PostForm(prefix + "service")
			row := actionRow{Index: j, Note: c.PostForm(prefix + "note"), Owner: c.PostForm(prefix + "owner"), Due: c.PostForm(prefix + "due")}
			for _, d := range choices {
				row.Domains = append(row.Domains, selectOption{Value: d, Label: humanize(d), Selected: d == domain})
			}
			row.Services = append(row.Services, selectOption{Value: "", Label: "No referral", Selected: service == ""})
			for _, t := range site.ServiceTypes() {
				row.Services = append(row.Services, selectOption{Value: t, Label: humanize(t), Selected: t == service})
			}
			ac.Rows = append(ac.Rows, row)
		}
		if len(it.Missing) > 0 {
			ac.Complete = completeForm(c, i, it.Missing)
		}
		v.Children = append(v.Children, ac)
	}
	errs := map[string]string{}
	if prob != nil {
		errs = fieldErrors(prob)
	}
	for _, sector := range cycle.Sectors {
		row := attendanceRow{Sector: sector, Label: cycle.SectorLabels[sector], Value: c.PostForm("att." + sector), Err: errs["attendance."+sector]}
		v.Attendance = append(v.Attendance, row)
		if n, ok := m.Attendance[sector]; ok {
			v.Attended = append(v.Attended, attendanceRow{Sector: sector, Label: row.Label, Value: strconv.Itoa(n)})
		}
	}
	if prob != nil {
		mapMinutesErrors(&v, fieldErrors(prob), sent)
		v.Summary = summary(prob, nil)
		if len(prob.Errors) == 0 {
			v.Problem = prob.Title + ". " + prob.Detail
		}
	}
	u.render(c, status, "meeting", fmt.Sprintf("%s meeting %s", school.Name, m.Date), v)
}

// rankedDomains orders a child's domains highest concern first.
func rankedDomains(levels map[string]string) []string {
	domains := make([]string, 0, len(levels))
	for d := range levels {
		domains = append(domains, d)
	}
	sort.Slice(domains, func(a, b int) bool {
		ra, rb := cycle.RiskRank(levels[domains[a]]), cycle.RiskRank(levels[domains[b]])
		if ra != rb {
			return ra > rb
		}
		return domains[a] < domains[b]
	})
	return domains
}

// incompleteText says what an incomplete assessment lacks, e.g. "no nurse
// form; health, nutrition not assessed" ("" when nothing is missing).
func incompleteText(missing, unassessed []string) string {
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "no "+orList(missing)+" form")
	}
	if len(unassessed) > 0 {
		names := make([]string, len(unassessed))
		for i, d := range unassessed {
			names[i] = strings.ReplaceAll(d, "_", " ")
		}
		parts = append(parts, strings.Join(names, ", ")+" not assessed")
	}
	return strings.Join(parts, "; ")
}

// orList joins words as "a", "a or b", "a, b or c".
func orList(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// completeForm draws the "complete the assessment" action of child i: on
// first sight unticked, with every missing respondent chosen.
func completeForm(c *gin.Context, i int, missing []string) *completeRow {
	prefix := fmt.Sprintf("p%d.ca", i)
	row := &completeRow{Checked: c.PostForm(prefix) == "on", Owner: c.PostForm(prefix + ".owner")}
	chosen := c.PostFormArray(prefix + ".resp")
	for _, r := range missing {
		row.Respondents = append(row.Respondents, selectOption{Value: r, Label: humanize(r),
			Selected: c.Request.Method == http.MethodGet || slices.Contains(chosen, r)})
	}
	return row
}

// urgentReferrals reads the urgent referrals the agenda's red flags opened,
// by ID (the API checked the meeting is in the user's scope).
func (u *UI) urgentReferrals(ctx context.Context, items []cycle.AgendaItem) (map[string]store.Referral, error) {
	var ids []string
	for _, it := range items {
		ids = append(ids, it.Urgent...)
	}
	out := map[string]store.Referral{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []store.Referral
	if err := u.o.Store.DB(ctx).Select("id", "service_type", "status").Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.ID] = r
	}
	return out, nil
}

// agendaConcerns opens, for the LLCoP's field workers, the reasons
// children were added to this meeting's agenda with a concern (sealed in
// the database; each read is audited). Others see only that a concern was
// raised. A concern added after the meeting opened belongs to a later one.
// It renders the failure itself and returns false when the audit log
// cannot be written.
func (u *UI) agendaConcerns(c *gin.Context, m apiMeeting, items []cycle.AgendaItem) (map[string]store.AgendaConcern, bool) {
	out := map[string]store.AgendaConcern{}
	p := me(c)
	if p.Role != auth.SiteCoordinator && p.Role != auth.Practitioner {
		return out, true
	}
	var ids []string
	for _, it := range items {
		if it.Reason == cycle.AgendaConcern && it.Concern == "" {
			ids = append(ids, it.CycleID)
		}
	}
	if len(ids) == 0 {
		return out, true
	}
	ctx := c.Request.Context()
	row, err := u.o.Store.Meeting(ctx, m.ID)
	if err != nil {
		return out, true
	}
	var rows []store.AgendaConcern
	if err := u.o.Store.DB(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return out, true
	}
	for _, r := range rows {
		if r.AddedAt.After(row.CreatedAt) {
			continue
		}
		if !u.audit(c, r.SiteID, r.ChildID, "reason for adding the child to the agenda of "+m.ID+" (web)") {
			return nil, false
		}
		out[r.ID] = r
	}
	return out, true
}

var planField = regexp.MustCompile(`^plans\[(\d+)\](?:\.actions\[(\d+)\])?\.?(\w*)(?:\[\d+\])?$`)

// completeRowIndex marks, in the rows sent, the "complete the assessment" action.
const completeRowIndex = -1

// mapMinutesErrors puts the API's errors on plans[i].actions[j] next to the
// rows they came from; sent maps the submitted plans and actions back to
// children and rows ("plan=child:row,row;...", row "c" for completing the
// assessment).
func mapMinutesErrors(v *meetingView, errs map[string]string, sent string) {
	planToChild := map[int]int{}
	actionToRow := map[[2]int]int{}
	for _, part := range strings.Split(sent, ";") {
		// "plan=child:row,row,..."
		head, rows, _ := strings.Cut(part, ":")
		pi, ci, ok := strings.Cut(head, "=")
		if !ok {
			continue
		}
		p, _ := strconv.Atoi(pi)
		ch, _ := strconv.Atoi(ci)
		planToChild[p] = ch
		for a, r := range strings.Split(rows, ",") {
			if r == "c" {
				actionToRow[[2]int{p, a}] = completeRowIndex
			} else if n, err := strconv.Atoi(r); err == nil {
				actionToRow[[2]int{p, a}] = n
			}
		}
	}
	for field, msg := range errs {
		m := planField.FindStringSubmatch(field)
		if m == nil {
			continue
		}
		p, _ := strconv.Atoi(m[1])
		ci, ok := planToChild[p]
		if !ok || ci >= len(v.Children) {
			continue
		}
		ch := &v.Children[ci]
		if m[2] == "" {
			ch.Error = msg
			continue
		}
		a, _ := strconv.Atoi(m[2])
		ri, ok := actionToRow[[2]int{p, a}]
		if ok && ri == completeRowIndex && ch.Complete != nil {
			switch m[3] {
			case "owner":
				ch.Complete.OwnerErr = msg
			case "respondents":
				ch.Complete.RespErr = msg
			default:
				ch.Complete.Err = msg
			}
			continue
		}
		if !ok || ri < 0 || ri >= len(ch.Rows) {
			ch.Error = msg
			continue
		}
		switch m[3] {
		case "domain":
			ch.Rows[ri].DomainErr = msg
		case "service_type":
			ch.Rows[ri].ServiceErr = msg
		case "owner":
			ch.Rows[ri].OwnerErr = msg
		case "due":
			ch.Rows[ri].DueErr = msg
		default:
			ch.Rows[ri].NoteErr = msg
		}
	}
}

// minutes records the meeting's plans through the API's minutes route.
func (u *UI) minutes(c *gin.Context) {
	var in cycle.MinutesInput
	var sent []string
	for i := 0; ; i++ {
		cycleID := c.PostForm(fmt.Sprintf("p%d.cycle", i))
		if cycleID == "" {
			break
		}
		plan := cycle.ChildPlan{CycleID: cycleID}
		var rows []string
		for j := 0; j < 8; j++ {
			prefix := fmt.Sprintf("p%d.a%d.", i, j)
			domain := c.PostForm(prefix + "domain")
			service := c.PostForm(prefix + "service")
			note := strings.TrimSpace(c.PostForm(prefix + "note"))
			if domain == "" || (service == "" && note == "") {
				continue
			}
			plan.Actions = append(plan.Actions, cycle.PlanAction{Domain: domain, ServiceType: service, Note: note,
				Owner: strings.TrimSpace(c.PostForm(prefix + "owner")), Due: strings.TrimSpace(c.PostForm(prefix + "due"))})
			rows = append(rows, strconv.Itoa(j))
		}
		if prefix := fmt.Sprintf("p%d.ca", i); c.PostForm(prefix) == "on" {
			plan.Actions = append(plan.Actions, cycle.PlanAction{Kind: cycle.ActionCompleteAssessment,
				Owner: strings.TrimSpace(c.PostForm(prefix + ".owner")), Respondents: c.PostFormArray(prefix + ".resp")})
			rows = append(rows, "c")
		}
		if len(plan.Actions) > 0 {
			sent = append(sent, fmt.Sprintf("%d=%d:%s", len(in.Plans), i, strings.Join(rows, ",")))
			in.Plans = append(in.Plans, plan)
		}
	}
	in.RecordedBy = recordedBy(me(c))
	for _, sector := range cycle.Sectors {
		raw := strings.TrimSpace(c.PostForm("att." + sector))
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil {
			n = -1 // the API names the field and the range
		}
		if in.Attendance == nil {
			in.Attendance = map[string]int{}
		}
		in.Attendance[sector] = n
	}
	if in.Plans == nil {
		in.Plans = []cycle.ChildPlan{}
	}
	res := u.send(c, http.MethodPost, "/api/v1/meetings/"+meetingPath(c.Param("site"), c.Param("school"), c.Param("date"))+"/minutes", in)
	if prob := res.problem(); prob != nil {
		if len(in.Plans) == 0 && len(prob.Errors) > 0 {
			prob.Errors = []cycle.FieldError{{Field: "plans", Code: "required", Message: "Record at least one action (a referral, a note or completing the assessment) for at least one child."}}
		}
		u.showMeeting(c, res.Status, prob, strings.Join(sent, ";"))
		return
	}
	c.Redirect(http.StatusSeeOther, "/meetings/"+meetingPath(c.Param("site"), c.Param("school"), c.Param("date"))+"?ok=minutes")
}

// holdMeeting opens a meeting now through the API. If that day's meeting
// exists it opens it when it still awaits minutes, or holds a further sitting.
func (u *UI) holdMeeting(c *gin.Context) {
	siteID, school := c.PostForm("site"), c.PostForm("school")
	site, ok := u.o.Sites.Site(siteID)
	if !ok {
		u.failMsg(c, http.StatusNotFound, "error.unknown_site", "error.no_such_site", nil)
		return
	}
	c.Params = append(c.Params, gin.Param{Key: "site", Value: site.ID})
	date := c.PostForm("date")
	if date == "" {
		loc, err := time.LoadLocation(site.Timezone)
		if err != nil {
			loc = time.UTC
		}
		date = u.now().In(loc).Format(time.DateOnly)
	}
	ctx := c.Request.Context()
	for sitting := 1; sitting <= 9; sitting++ {
		d := date
		if sitting > 1 {
			d = fmt.Sprintf("%s.%d", date, sitting)
		}
		res := u.send(c, http.MethodPost, "/api/v1/meetings", map[string]string{"site": site.ID, "school": school, "date": d})
		if res.Status == http.StatusConflict {
			if m, err := u.o.Store.Meeting(ctx, cycle.MeetingID(site.ID, school, d)); err == nil && m.Status == cycle.MeetingAwaitingMinutes {
				c.Redirect(http.StatusSeeOther, "/meetings/"+meetingPath(site.ID, school, d))
				return
			}
			continue
		}
		if p := res.problem(); p != nil {
			msg := p.Title
			for _, fe := range p.Errors {
				msg += ". " + fe.Message
			}
			u.showCalendar(c, res.Status, msg)
			return
		}
		u.awaitRecord(c, func() error {
			_, err := u.o.Store.Meeting(ctx, cycle.MeetingID(site.ID, school, d))
			return err
		})
		c.Redirect(http.StatusSeeOther, "/meetings/"+meetingPath(site.ID, school, d)+"?ok=meeting")
		return
	}
	u.showCalendar(c, http.StatusConflict, "Nine meetings were held at this school that day already.")
}

// awaitRecord waits briefly for a workflow just started to record itself
// (find returns store.ErrNotFound until then), so the page it opens shows it.
func (u *UI) awaitRecord(c *gin.Context, find func() error) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if err := find(); err == nil || !errors.Is(err, store.ErrNotFound) {
			return
		}
		select {
		case <-c.Request.Context().Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type opsView struct {
	Ready  bool
	Detail string
	Sites  []*sites.Site
}

// ops shows health for ops staff: readiness and where the metrics are.
// It shows nothing about any child.
func (u *UI) ops(c *gin.Context) {
	res := u.call(c, http.MethodGet, "/readyz", nil, "", "", "")
	v := opsView{Ready: res.Status == http.StatusOK, Sites: u.o.Sites.Sites()}
	if p := res.problem(); p != nil {
		v.Detail = p.Detail
	}
	u.render(c, http.StatusOK, "ops", "Health", v)
}
