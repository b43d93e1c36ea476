package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/evidence"
	"github.com/khula-cop/khula/internal/findings"
	"github.com/khula-cop/khula/internal/research"
	"github.com/khula-cop/khula/internal/schoolpack"
	"github.com/khula-cop/khula/internal/store"
)

// evidenceRoutes registers the printable evidence: the LLCoP school pack,
// the wave findings report and the research dataset.
func (s *Server) evidenceRoutes(v1 *gin.RouterGroup) {
	v1.GET("/meetings/:site/:school/:date/pack.html", roles(childViewers...), s.getSchoolPack)
	v1.GET("/waves/:site/:wave/report.html", roles(evidenceReaders...), s.getWaveReport)
	v1.GET("/waves/:site/:wave/report.csv", roles(evidenceReaders...), s.getWaveReportCSV)
	v1.GET("/exports/research", roles(auth.ProgrammeManager), s.exportResearch)
}

// domainLabels gives a site's domains in the instrument's order.
func (s *Server) domainLabels(siteID string) []schoolpack.Domain {
	in := s.siteInstrument(siteID)
	if in == nil {
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

// getWaveReport renders a wave's findings report as one printable page
// (every count under 5 suppressed), for the site's people and advisors.
func (s *Server) getWaveReport(c *gin.Context) {
	rep, ok := s.waveFindings(c)
	if !ok {
		return
	}
	base := "/api/v1/waves/" + url.PathEscape(rep.Site) + "/" + strconv.Itoa(rep.Wave) + "/report.csv"
	var buf bytes.Buffer
	err := rep.WriteHTML(&buf, findings.HTMLOptions{
		CSVLink: func(scope, table string) string {
			return base + "?scope=" + url.QueryEscape(scope) + "&table=" + url.QueryEscape(table)
		},
		AllCSVLink: base,
	})
	if err != nil {
		problem(c, http.StatusInternalServerError, "Internal error", "the report could not be rendered")
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}

// getWaveReportCSV answers one table of the report (?scope=&table=) or,
// without them, every table in one long CSV; always suppressed.
func (s *Server) getWaveReportCSV(c *gin.Context) {
	scope, table := c.Query("scope"), c.Query("table")
	var fe fieldErrors
	if (scope == "") != (table == "") {
		fe.add("scope", "required", "give both scope and table, or neither for every table")
	}
	if fe.reject(c, "report") {
		return
	}
	rep, ok := s.waveFindings(c)
	if !ok {
		return
	}
	var buf bytes.Buffer
	name := fmt.Sprintf("findings-%s-wave%d", rep.Site, rep.Wave)
	if scope == "" {
		if err := rep.WriteAllCSV(&buf); err != nil {
			problem(c, http.StatusInternalServerError, "Internal error", "the report could not be written")
			return
		}
	} else {
		if err := rep.WriteTableCSV(&buf, scope, table); err != nil {
			if errors.Is(err, findings.ErrNotFound) {
				problem(c, http.StatusNotFound, "Not found", "no such scope or table in the report",
					cycle.FieldError{Field: "table", Code: "invalid_choice", Message: "scope is site or school:<school ID>; table one of the report's tables"})
				return
			}
			problem(c, http.StatusInternalServerError, "Internal error", "the report could not be written")
			return
		}
		name += "-" + safeFileName(scope) + "-" + safeFileName(table)
	}
	c.Header("Cache-Control", "no-store")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	c.Data(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// safeFileName keeps letters, digits, '-' and '_'.
func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return -1
	}, s)
}

// waveFindings builds the findings report of the wave the path names.
func (s *Server) waveFindings(c *gin.Context) (findings.Report, bool) {
	siteID := c.Param("site")
	site, ok := s.site(c, siteID)
	if !ok || !s.inSite(c, siteID) {
		return findings.Report{}, false
	}
	n, err := strconv.Atoi(c.Param("wave"))
	if err != nil || n < 1 {
		problem(c, http.StatusBadRequest, "Bad wave number", "the wave is a number from 1",
			cycle.FieldError{Field: "wave", Code: "invalid", Message: "wave must be a whole number from 1"})
		return findings.Report{}, false
	}
	ctx := c.Request.Context()
	w, err := s.Store.Wave(ctx, cycle.WaveID(siteID, n))
	if err != nil {
		storeProblem(c, err, "wave")
		return findings.Report{}, false
	}
	var domains []findings.Domain
	for _, d := range s.domainLabels(siteID) {
		domains = append(domains, findings.Domain{ID: d.ID, Label: d.Label})
	}
	in, err := evidence.FindingsInput(ctx, s.Store, site, domains, w, s.now())
	if err != nil {
		if s.Logger != nil {
			s.Logger.Error("findings report", "site", siteID, "wave", n, "error", err)
		}
		storeProblem(c, err, "wave data")
		return findings.Report{}, false
	}
	return findings.Build(in), true
}

// minPurpose is the shortest purpose an export may be given.
const minPurpose = 10

// exportResearch streams a site's de-identified research dataset as a ZIP
// (data.csv, codebook.csv, README.txt), for programme managers, audited
// with the purpose given before the first byte goes out.
func (s *Server) exportResearch(c *gin.Context) {
	siteID, purpose := c.Query("site"), strings.TrimSpace(c.Query("purpose"))
	var fe fieldErrors
	if siteID == "" {
		fe.add("site", "required", "site is required")
	}
	switch {
	case len(purpose) < minPurpose:
		fe.add("purpose", "required", "say what the export is for, in at least %d characters (it is recorded in the audit log)", minPurpose)
	case len(purpose) > 300:
		fe.add("purpose", "too_long", "purpose must be at most 300 characters")
	case strings.IndexFunc(purpose, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		fe.add("purpose", "invalid", "purpose must not contain control characters")
	}
	if fe.reject(c, "export") {
		return
	}
	site, ok := s.site(c, siteID)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	if s.Instruments == nil {
		problem(c, http.StatusServiceUnavailable, "No instruments", "the server has no instrument registry")
		return
	}
	current, _ := s.Sites.Instrument(site.ID)
	schema, err := evidence.ResearchSchema(ctx, s.Store, s.Instruments, site.ID, current)
	if err != nil {
		problem(c, http.StatusConflict, "The dataset cannot be described", err.Error())
		return
	}
	key, err := s.Store.ResearchKeyFor(ctx, site.ID, research.NewKey)
	if err != nil {
		storeProblem(c, err, "research key")
		return
	}
	if !s.audit(c, store.AuditExport, site.ID, "", "research dataset of "+site.ID, "purpose: "+purpose) {
		return
	}
	now := s.now()
	c.Header("Cache-Control", "no-store")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Content-Type", "application/zip")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="research-%s-%s.zip"`, safeFileName(site.ID), now.UTC().Format("20060102")))
	c.Status(http.StatusOK)
	rows, err := evidence.WriteResearchZip(ctx, s.Store, schema, key, site.ID, now, c.Writer)
	if err != nil && s.Logger != nil {
		// The answer has started: the archive is cut short and will not open.
		s.Logger.Error("research export failed midway", "site", site.ID, "rows", rows, "error", err)
	}
}
