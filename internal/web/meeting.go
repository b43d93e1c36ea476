package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
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
}

type levelBadge struct{ Domain, Level string }

type selectOption struct {
	Value, Label string
	Selected     bool
}

type actionRow struct {
	Index                          int
	Domains, Services              []selectOption
	Note                           string
	DomainErr, ServiceErr, NoteErr string
}

type agendaChild struct {
	Index   int
	CycleID string
	ChildID string
	Href    string
	Levels  []levelBadge
	Flags   []string
	Rows    []actionRow
	Error   string
}

type meetingView struct {
	Meeting    apiMeeting
	SchoolName string
	Children   []agendaChild
	Overdue    []cycle.AgendaItem
	CanRecord  bool
	Key        string
	Summary    []formError
	Problem    string
	Pending    bool
}

func meetingPath(site, school, date string) string {
	return fmt.Sprintf("%s/%s/%s", url.PathEscape(site), url.PathEscape(school), url.PathEscape(date))
}

// meeting shows an LLCoP meeting: the agenda of children at risk with their
// domain results, and, while it awaits minutes, a plan form per child.
func (u *UI) meeting(c *gin.Context) {
	u.showMeeting(c, http.StatusOK, nil, "")
}

func (u *UI) showMeeting(c *gin.Context, status int, prob *api.Problem, sent string) {
	site, ok := u.o.Sites.Site(c.Param("site"))
	if !ok {
		u.fail(c, http.StatusNotFound, "Unknown site", "no such site")
		return
	}
	school, ok := site.School(c.Param("school"))
	if !ok {
		u.fail(c, http.StatusNotFound, "Unknown school", "no such school")
		return
	}
	crumbs(c, navLink{Href: "/sites/" + site.ID + "/meetings", Label: "Meetings"})
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
		u.fail(c, http.StatusBadGateway, "Unexpected answer", "the meeting could not be read")
		return
	}
	p := me(c)
	v := meetingView{Meeting: m, SchoolName: school.Name, CanRecord: m.Status == cycle.MeetingAwaitingMinutes && (p.Role == auth.SiteCoordinator || p.Role == auth.Practitioner),
		Key: uuid.NewString()}
	errs := fieldErrors(prob)
	for _, it := range m.Agenda {
		if it.Reason != cycle.AgendaAwaitingPlan {
			v.Overdue = append(v.Overdue, it)
			continue
		}
		i := len(v.Children)
		ac := agendaChild{Index: i, CycleID: it.CycleID, ChildID: it.ChildID, Href: cycleHref(it.CycleID), Flags: it.Flags}
		var domains []string
		for d := range it.Domains {
			domains = append(domains, d)
		}
		// Highest concern first.
		sort.Slice(domains, func(a, b int) bool {
			ra, rb := cycle.RiskRank(it.Domains[domains[a]]), cycle.RiskRank(it.Domains[domains[b]])
			if ra != rb {
				return ra > rb
			}
			return domains[a] < domains[b]
		})
		var atRisk []string
		for _, d := range domains {
			ac.Levels = append(ac.Levels, levelBadge{Domain: d, Level: it.Domains[d]})
			if cycle.RiskRank(it.Domains[d]) >= cycle.RiskRank(cycle.RiskModerate) {
				atRisk = append(atRisk, d)
			}
		}
		rows := min(max(len(atRisk)+1, 2), 4)
		for j := 0; j < rows; j++ {
			prefix := fmt.Sprintf("p%d.a%d.", i, j)
			domain := c.PostForm(prefix + "domain")
			if c.Request.Method == http.MethodGet && j < len(atRisk) {
				domain = atRisk[j]
			}
			service := c.PostForm(prefix + "service")
			row := actionRow{Index: j, Note: c.PostForm(prefix + "note")}
			for _, d := range domains {
				row.Domains = append(row.Domains, selectOption{Value: d, Label: humanize(d), Selected: d == domain})
			}
			row.Services = append(row.Services, selectOption{Value: "", Label: "No referral", Selected: service == ""})
			for _, t := range site.ServiceTypes() {
				row.Services = append(row.Services, selectOption{Value: t, Label: humanize(t), Selected: t == service})
			}
			ac.Rows = append(ac.Rows, row)
		}
		v.Children = append(v.Children, ac)
	}
	if prob != nil {
		mapMinutesErrors(&v, errs, sent)
		v.Summary = summary(prob, nil)
		if len(prob.Errors) == 0 {
			v.Problem = prob.Title + ". " + prob.Detail
		}
	}
	u.render(c, status, "meeting", fmt.Sprintf("%s meeting %s", school.Name, m.Date), v)
}

var planField = regexp.MustCompile(`^plans\[(\d+)\](?:\.actions\[(\d+)\])?\.?(\w*)$`)

// mapMinutesErrors puts the API's errors on plans[i].actions[j] next to the
// rows they came from; sent maps the submitted plans and actions back to
// children and rows ("plan=child:row,row;...").
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
			if n, err := strconv.Atoi(r); err == nil {
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
		if !ok || ri >= len(ch.Rows) {
			ch.Error = msg
			continue
		}
		switch m[3] {
		case "domain":
			ch.Rows[ri].DomainErr = msg
		case "service_type":
			ch.Rows[ri].ServiceErr = msg
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
			plan.Actions = append(plan.Actions, cycle.PlanAction{Domain: domain, ServiceType: service, Note: note})
			rows = append(rows, strconv.Itoa(j))
		}
		if len(plan.Actions) > 0 {
			sent = append(sent, fmt.Sprintf("%d=%d:%s", len(in.Plans), i, strings.Join(rows, ",")))
			in.Plans = append(in.Plans, plan)
		}
	}
	in.RecordedBy = recordedBy(me(c))
	if in.Plans == nil {
		in.Plans = []cycle.ChildPlan{}
	}
	res := u.send(c, http.MethodPost, "/api/v1/meetings/"+meetingPath(c.Param("site"), c.Param("school"), c.Param("date"))+"/minutes", in)
	if prob := res.problem(); prob != nil {
		if len(in.Plans) == 0 && len(prob.Errors) > 0 {
			prob.Errors = []cycle.FieldError{{Field: "plans", Code: "required", Message: "Record at least one action (a referral or a note) for at least one child."}}
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
		u.fail(c, http.StatusNotFound, "Unknown site", "no such site")
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
