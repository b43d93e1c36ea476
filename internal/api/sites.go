package api

import (
	"github.com/khula-cop/khula/internal/auth"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/sites"
)

type siteSummary struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Setting      string            `json:"setting"`
	Languages    []string          `json:"languages"`
	Respondents  []string          `json:"respondents"`
	Schools      []schoolSummary   `json:"schools"`
	ServiceTypes []string          `json:"service_types"`
	Instrument   any               `json:"instrument,omitempty"`
	Durations    map[string]string `json:"durations,omitempty"`
	// SyncEvery is set for sites whose forms arrive in batches.
	SyncEvery string `json:"sync_every,omitempty"`
}

type schoolSummary struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Quintile int    `json:"quintile"`
}

func (s *Server) summary(site *sites.Site) siteSummary {
	out := siteSummary{ID: site.ID, Name: site.Name, Setting: site.Setting, Languages: site.Languages, Respondents: site.Respondents, ServiceTypes: site.ServiceTypes()}
	for _, sc := range site.Schools {
		out.Schools = append(out.Schools, schoolSummary{ID: sc.ID, Name: sc.Name, Quintile: sc.Quintile})
	}
	if ref, ok := s.Sites.Instrument(site.ID); ok {
		out.Instrument = ref
	}
	if site.Connectivity.Intermittent() {
		out.SyncEvery = site.Connectivity.SyncEvery.String()
	}
	d := site.Durations
	out.Durations = map[string]string{
		"assessment_window": d.AssessmentWindow.String(), "reminder_every": d.ReminderEvery.String(), "plan_deadline": d.PlanDeadline.String(),
		"urgent_referral_sla": d.UrgentReferralSLA.String(), "referral_ack_sla": d.ReferralAckSLA.String(), "referral_sla": d.ReferralSLA.String(),
		"follow_up_every": d.FollowUpEvery.String(), "reassess_after": d.ReassessAfter.String(), "reassessment_window": d.ReassessmentWindow.String(),
	}
	return out
}

func (s *Server) listSites(c *gin.Context) {
	all := s.Sites.Sites()
	out := make([]siteSummary, 0, len(all))
	p := principal(c)
	for _, site := range all {
		if p.Role == auth.Ops || p.InSite(site.ID) {
			out = append(out, s.summary(site))
		}
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
}

func (s *Server) site(c *gin.Context, id string) (*sites.Site, bool) {
	site, ok := s.Sites.Site(id)
	if !ok {
		problem(c, http.StatusNotFound, "Unknown site", "no site "+strconv.Quote(id)+" is configured")
		return nil, false
	}
	return site, true
}

func (s *Server) getSite(c *gin.Context) {
	site, ok := s.site(c, c.Param("site"))
	if !ok {
		return
	}
	if principal(c).Role != auth.Ops && !s.inSite(c, site.ID) {
		return
	}
	c.JSON(http.StatusOK, s.summary(site))
}

func limitParam(c *gin.Context, def, max int) (int, bool) {
	raw := c.Query("limit")
	if raw == "" {
		return def, true
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > max {
		fe := fieldErrors{}
		fe.add("limit", "out_of_range", "limit must be a whole number from 1 to %d", max)
		fe.reject(c, "query")
		return 0, false
	}
	return n, true
}
