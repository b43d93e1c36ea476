package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

// Bounds of the work list's children query.
const (
	workChildrenLimit    = 50
	workChildrenMaxLimit = 200
	maxSearchRunes       = 100
	// WorkListRead is what the audit log says was read for each child a
	// work list shows (its name among the rest).
	WorkListRead = "work list"
)

// workChildrenPage is a page of the children of a work list, by name.
type workChildrenPage struct {
	Items []store.WorkChild `json:"items"`
	// Total counts the children matching (every page).
	Total int `json:"total"`
	// Truncated: the scope held more cycles than are read for one query
	// (store.WorkChildrenScanCap); narrow it to one school or one wave.
	Truncated bool   `json:"truncated,omitempty"`
	Next      string `json:"next,omitempty"`
}

// workChildren lists the children of the caller's work list, by name, for
// field workers in scope (practitioners their school, coordinators their
// sites): search, filters, order and pages. Every child listed is an
// audited read, written before the answer leaves.
func (s *Server) workChildren(c *gin.Context) {
	site, ok := s.site(c, c.Query("site"))
	if !ok {
		return
	}
	school, ok := s.workScope(c, site.ID)
	if !ok {
		return
	}
	q := store.WorkChildrenQuery{SiteID: site.ID, SchoolID: school, Now: s.now(), Limit: workChildrenLimit}
	var fe fieldErrors
	q.Q = strings.TrimSpace(c.Query("q"))
	if utf8.RuneCountInString(q.Q) > maxSearchRunes || !utf8.ValidString(q.Q) {
		fe.add("q", "too_long", "q must be at most %d characters", maxSearchRunes)
	}
	for _, raw := range c.QueryArray("filter") {
		for _, f := range strings.Split(raw, ",") {
			f = strings.TrimSpace(f)
			switch {
			case f == "":
			case !slices.Contains(store.WorkFilters, f):
				fe.add("filter", "invalid_choice", "filter must be one of %s", strings.Join(store.WorkFilters, ", "))
			case !slices.Contains(q.Filters, f):
				q.Filters = append(q.Filters, f)
			}
		}
	}
	q.Sort = c.DefaultQuery("sort", store.WorkSortName)
	if !slices.Contains(store.WorkSorts, q.Sort) {
		fe.add("sort", "invalid_choice", "sort must be one of %s", strings.Join(store.WorkSorts, ", "))
	}
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > workChildrenMaxLimit {
			fe.add("limit", "out_of_range", "limit must be a whole number from 1 to %d", workChildrenMaxLimit)
		}
		q.Limit = n
	}
	if raw := c.Query("wave"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			fe.add("wave", "invalid", "wave must be a positive wave number")
		}
		q.WaveID = cycle.WaveID(site.ID, n)
	}
	if raw := c.Query("after"); raw != "" {
		off, ok := offsetCursor(raw)
		if !ok {
			fe.add("after", "invalid", "after must be the next cursor of the previous page")
		}
		q.Offset = off
	}
	if fe.reject(c, "query") {
		return
	}
	q.FormsLateAfter = func(w store.Wave) time.Duration {
		return TimingFor(site, time.Duration(w.DayLengthMS)*time.Millisecond).ReminderEvery
	}
	res, err := s.Store.WorkChildren(c.Request.Context(), q)
	if err != nil {
		if s.Logger != nil {
			s.Logger.Warn("work list children failed", "route", c.FullPath(), "error", err)
		}
		storeProblem(c, err, "work list")
		return
	}
	if !s.auditReads(c, site.ID, res.Items) {
		return
	}
	out := workChildrenPage{Items: res.Items, Total: res.Total, Truncated: res.Truncated}
	if end := q.Offset + len(res.Items); len(res.Items) > 0 && end < res.Total {
		out.Next = encodeCursor(store.Cursor{ID: "o" + strconv.Itoa(end)})
	}
	setNext(c, out.Next, nil)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

// offsetCursor reads a cursor of workChildren: its position in the list.
func offsetCursor(raw string) (int, bool) {
	var cur store.Cursor
	doc, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || json.Unmarshal(doc, &cur) != nil {
		return 0, false
	}
	pos, ok := strings.CutPrefix(cur.ID, "o")
	n, err := strconv.Atoi(pos)
	if !ok || err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// auditReads writes one audit entry per child shown, all in one append,
// before anything is sent; when the log cannot take them the request is
// refused with 503 (no unaudited access).
func (s *Server) auditReads(c *gin.Context, site string, rows []store.WorkChild) bool {
	if len(rows) == 0 {
		return true
	}
	p := principal(c)
	why := c.GetHeader("X-Khula-Reason")
	if why == "" {
		why = "in scope as " + string(p.Role)
	}
	at := s.now()
	entries := make([]store.AuditEntry, len(rows))
	for i, r := range rows {
		entries[i] = store.AuditEntry{At: at, Actor: p.UserID, ActorName: p.Username, Role: string(p.Role), Action: store.AuditRead,
			SiteID: site, ChildID: r.ChildID, What: WorkListRead, Why: why, Outcome: strconv.Itoa(http.StatusOK)}
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 5*time.Second)
	defer cancel()
	if err := s.Store.AuditAll(ctx, entries); err != nil {
		if s.Logger != nil {
			s.Logger.Error("audit log write failed", "action", store.AuditRead, "route", c.FullPath(), "entries", len(entries), "error", err)
		}
		problem(c, http.StatusServiceUnavailable, "The access could not be audited", "nothing was shown; try again")
		return false
	}
	return true
}
