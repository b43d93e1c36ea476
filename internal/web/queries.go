package web

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

// Aggregates the API does not serve, read from the app database. Callers
// check the signed-in user's scope first.

// heatmapCounts counts a wave's children by baseline level, per domain and school.
func (u *UI) heatmapCounts(ctx context.Context, waveID string) (map[string]map[string]heatCell, error) {
	type row struct {
		Domain, School, Level string
		N                     int
	}
	var rows []row
	err := u.o.Store.DB(ctx).Model(&store.DomainRisk{}).Select("domain, school_id AS school, level, count(*) AS n").
		Where("wave_id = ? AND phase = ?", waveID, cycle.PhaseBaseline).Group("domain, school_id, level").Scan(&rows).Error
	out := map[string]map[string]heatCell{}
	for _, r := range rows {
		if out[r.Domain] == nil {
			out[r.Domain] = map[string]heatCell{}
		}
		c := out[r.Domain][r.School]
		switch r.Level {
		case cycle.RiskHigh:
			c.High += r.N
		case cycle.RiskModerate:
			c.Moderate += r.N
		case cycle.RiskLow:
			c.Low += r.N
		}
		out[r.Domain][r.School] = c
	}
	return out, err
}

// schoolCycles lists a school's cycles in a wave after an ID, in ID order,
// with each one's baseline levels by domain.
func (u *UI) schoolCycles(ctx context.Context, waveID, school, after string, limit int) ([]store.Cycle, map[string]map[string]string, error) {
	db := u.o.Store.DB(ctx)
	var cycles []store.Cycle
	if err := db.Where("wave_id = ? AND school_id = ? AND id > ?", waveID, school, after).Order("id").Limit(limit).Find(&cycles).Error; err != nil {
		return nil, nil, err
	}
	levels := map[string]map[string]string{}
	if len(cycles) == 0 {
		return cycles, levels, nil
	}
	ids := make([]string, len(cycles))
	for i, c := range cycles {
		ids[i] = c.ID
	}
	var risks []store.DomainRisk
	if err := db.Where("cycle_id IN ? AND phase = ?", ids, cycle.PhaseBaseline).Find(&risks).Error; err != nil {
		return nil, nil, err
	}
	for _, r := range risks {
		if levels[r.CycleID] == nil {
			levels[r.CycleID] = map[string]string{}
		}
		levels[r.CycleID][r.Domain] = r.Level
	}
	return cycles, levels, nil
}

// cycleRisks returns a cycle's domain levels by phase.
func (u *UI) cycleRisks(ctx context.Context, cycleID string) ([]store.DomainRisk, error) {
	var out []store.DomainRisk
	return out, u.o.Store.DB(ctx).Where("cycle_id = ?", cycleID).Order("phase, domain").Find(&out).Error
}

// submitted lists the forms received for a cycle (never their answers).
func (u *UI) submitted(ctx context.Context, cycleID string) ([]store.Assessment, error) {
	var out []store.Assessment
	return out, u.o.Store.DB(ctx).Select("id", "cycle_id", "phase", "respondent", "submitted_by", "submitted_at").
		Where("cycle_id = ?", cycleID).Order("submitted_at").Find(&out).Error
}

// child reads a child's record (names are opened by the store's field cipher).
func (u *UI) childRecord(ctx context.Context, id string) (store.Child, error) {
	var c store.Child
	return c, u.o.Store.DB(ctx).Where("id = ?", id).Take(&c).Error
}

// siteReferrals lists a site's open referrals (overdue first), limited to
// the given schools (nil: all).
func (u *UI) siteReferrals(ctx context.Context, siteID string, schools []string, overdueOnly bool, limit int) ([]store.Referral, error) {
	q := u.o.Store.DB(ctx).Where("site_id = ? AND closed_at IS NULL", siteID)
	if schools != nil {
		q = q.Where("school_id IN ?", append([]string{""}, schools...))
	}
	if overdueOnly {
		q = q.Where("overdue = ?", true)
	}
	var out []store.Referral
	return out, q.Order("overdue DESC, due_at, id").Limit(limit).Find(&out).Error
}

// siteMeetings lists a site's recent meetings, limited to the given schools (nil: all).
func (u *UI) siteMeetings(ctx context.Context, siteID string, schools []string, limit int) ([]store.Meeting, error) {
	q := u.o.Store.DB(ctx).Select("id", "site_id", "school_id", "date", "status", "created_at", "held_at").Where("site_id = ?", siteID)
	if schools != nil {
		q = q.Where("school_id IN ?", append([]string{""}, schools...))
	}
	var out []store.Meeting
	return out, q.Order("created_at DESC").Limit(limit).Find(&out).Error
}

// waveReport is a closed wave's stored report, or the live one of an open wave.
func (u *UI) waveReport(ctx context.Context, w store.Wave) (cycle.WaveReport, error) {
	if w.Report != "" {
		var rep cycle.WaveReport
		if err := json.Unmarshal([]byte(w.Report), &rep); err == nil {
			return rep, nil
		}
	}
	return u.o.Store.WaveReport(ctx, w.ID)
}

// planCount counts children awaiting a plan by school.
func (u *UI) planCount(ctx context.Context, siteID string) (map[string]int, error) {
	type row struct {
		School string
		N      int
	}
	var rows []row
	err := u.o.Store.DB(ctx).Model(&store.Cycle{}).Select("school_id AS school, count(*) AS n").
		Where("site_id = ? AND stage = ? AND status = ?", siteID, cycle.StagePlan, store.CycleOpen).Group("school_id").Scan(&rows).Error
	out := map[string]int{}
	for _, r := range rows {
		out[r.School] = r.N
	}
	return out, err
}

// audit records in the audit log that the signed-in user read a child's
// record through a page; when the log cannot be written it renders 503 and
// returns false, and the page shows nothing (no unaudited access).
func (u *UI) audit(c *gin.Context, site, child, what string) bool {
	p := me(c)
	_, err := u.o.Store.Audit(c.Request.Context(), store.AuditEntry{
		At: u.now(), Actor: p.UserID, ActorName: p.Username, Role: string(p.Role), Action: store.AuditRead,
		SiteID: site, ChildID: child, What: what, Why: "in scope as " + string(p.Role), Outcome: "200",
	})
	if err != nil {
		u.o.Logger.Error("audit log write failed", "route", c.FullPath(), "error", err)
		u.failMsg(c, http.StatusServiceUnavailable, "error.audit", "error.audit_detail", nil)
		return false
	}
	return true
}
