package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/schoolpack"
	"github.com/khula-cop/khula/internal/store"
)

// evidenceRoutes registers the printable evidence: the LLCoP school pack,
// the wave findings report and the research dataset.
func (s *Server) evidenceRoutes(v1 *gin.RouterGroup) {
	v1.GET("/meetings/:site/:school/:date/pack.html", roles(childViewers...), s.getSchoolPack)
}

// domainLabels gives a site's domains in the instrument's order.
func (s *Server) domainLabels(siteID string) []schoolpack.Domain {
	if s.Instruments == nil {
		return nil
	}
	ref, ok := s.Sites.Instrument(siteID)
	if !ok {
		return nil
	}
	in, ok := s.Instruments.Instrument(ref)
	if !ok {
		return nil
	}
	var out []schoolpack.Domain
	for _, d := range in.Domains() {
		out = append(out, schoolpack.Domain{ID: d.ID, Label: d.Label.In("en", "en")})
	}
	return out
}

// getSchoolPack renders the printable pack of an LLCoP meeting: the
// children on its agenda (names, levels and reasons, missing forms, red
// flags and their referrals, the previous wave) with space for the plan,
// and the school's summary. Only people scoped to the school (or site)
// print it; each child on it is an audited read.
func (s *Server) getSchoolPack(c *gin.Context) {
	id, ok := s.meetingID(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	siteID, schoolID := c.Param("site"), c.Param("school")
	site, _ := s.Sites.Site(siteID)
	school, ok := site.School(schoolID)
	if !ok {
		problem(c, http.StatusNotFound, "Unknown school", "no such school at this site")
		return
	}
	m, err := s.Store.Meeting(ctx, id)
	if err != nil {
		storeProblem(c, err, "meeting")
		return
	}
	var agenda []cycle.AgendaItem
	if err := json.Unmarshal([]byte(m.Agenda), &agenda); err != nil && m.Agenda != "" {
		storeProblem(c, err, "meeting")
		return
	}
	domains := s.domainLabels(siteID)
	label := func(d string) string {
		for _, x := range domains {
			if x.ID == d {
				return x.Label
			}
		}
		return schoolpack.Human(d)
	}
	p := principal(c)
	pack := schoolpack.Pack{SiteName: site.Name, SchoolName: school.Name, MeetingDate: m.Date, PrintedAt: s.now(),
		PrintedBy: p.DisplayName, Domains: domains}
	var waveID string
	for _, it := range agenda {
		ref, err := cycle.ParseCycleID(it.CycleID)
		if err != nil {
			continue
		}
		if pack.Wave < ref.Wave {
			pack.Wave, waveID = ref.Wave, cycle.WaveID(siteID, ref.Wave)
		}
		switch it.Reason {
		case cycle.AgendaAwaitingPlan, cycle.AgendaConcern:
		case cycle.AgendaOverdueAction:
			if row, err := s.Store.PlanActionByID(ctx, it.ActionID); err == nil {
				what := row.Kind
				if what == "" {
					what = "note"
				}
				pack.OverdueActions = append(pack.OverdueActions, schoolpack.Action{ChildID: ref.Child, Domain: row.Domain, What: what, Owner: row.Owner, DueOn: row.DueOn})
			}
			continue
		default:
			continue
		}
		if !s.audit(c, store.AuditRead, siteID, ref.Child, "LLCoP pack of "+id, "printed") {
			return
		}
		ch := schoolpack.Child{ChildID: ref.Child, Reason: it.Reason, Missing: it.Missing, Unassessed: it.Unassessed}
		if name, err := s.childName(ctx, ref.Child); err == nil {
			ch.Name = name
		}
		if it.Reason == cycle.AgendaConcern {
			if cr, err := s.Store.AgendaConcernByID(ctx, it.CycleID); err == nil {
				ch.Concern = cr.Reason
			}
		}
		for _, d := range orderedDomains(domains, it.Domains) {
			ch.Levels = append(ch.Levels, schoolpack.Level{Domain: d, Label: label(d), Level: it.Domains[d], Reason: it.Reasons[d]})
		}
		flags, urgent, err := s.flagLines(ctx, it)
		if err != nil {
			storeProblem(c, err, "red flags")
			return
		}
		ch.Flags, ch.Urgent = flags, urgent
		if pr := it.Previous; pr != nil {
			prev := &schoolpack.Previous{Wave: pr.Wave, Outcome: pr.Outcome}
			for _, d := range orderedDomains(domains, pr.Domains) {
				if cycle.RiskRank(pr.Domains[d]) >= cycle.RiskRank(cycle.RiskModerate) {
					prev.AtRisk = append(prev.AtRisk, schoolpack.Level{Domain: d, Label: label(d), Level: pr.Domains[d]})
				}
			}
			ch.Previous = prev
		}
		pack.Children = append(pack.Children, ch)
	}
	if waveID == "" {
		if waves, err := s.Store.Waves(ctx, siteID); err == nil && len(waves) > 0 {
			waveID, pack.Wave = waves[0].ID, waves[0].Number
		}
	}
	if waveID != "" {
		sum, err := s.Store.SchoolSummary(ctx, waveID, schoolID, s.now())
		if err != nil {
			storeProblem(c, err, "school summary")
			return
		}
		pack.Summary = schoolpack.Summary{Levels: sum.Levels, Scored: sum.Scored, ReferralsOpen: sum.ReferralsOpen, ReferralsOverdue: sum.ReferralsOverdue}
	}
	var buf bytes.Buffer
	if err := schoolpack.Render(&buf, pack); err != nil {
		problem(c, http.StatusInternalServerError, "Internal error", "the pack could not be rendered")
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}

// orderedDomains orders the domains of levels as the instrument does, then
// any others by name.
func orderedDomains(domains []schoolpack.Domain, levels map[string]string) []string {
	var out []string
	for _, d := range domains {
		if _, ok := levels[d.ID]; ok {
			out = append(out, d.ID)
		}
	}
	var rest []string
	for d := range levels {
		if !slices.Contains(out, d) {
			rest = append(rest, d)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// flagLines gives an agenda item's red flags with their reasons, and the
// urgent referrals they opened.
func (s *Server) flagLines(ctx context.Context, it cycle.AgendaItem) ([]schoolpack.Flag, []schoolpack.Referral, error) {
	if len(it.Flags) == 0 && len(it.Urgent) == 0 {
		return nil, nil, nil
	}
	reasons, err := s.Store.FlagReasons(ctx, it.CycleID)
	if err != nil {
		return nil, nil, err
	}
	var flags []schoolpack.Flag
	for _, code := range it.Flags {
		flags = append(flags, schoolpack.Flag{Code: code, Reason: reasons[code]})
	}
	refs, err := s.Store.UrgentReferrals(ctx, it.CycleID)
	if err != nil {
		return nil, nil, err
	}
	var urgent []schoolpack.Referral
	for _, r := range refs {
		urgent = append(urgent, schoolpack.Referral{ServiceType: r.ServiceType, Status: r.Status})
	}
	return flags, urgent, nil
}
