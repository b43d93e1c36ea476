package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/store"
)

// Lists page with ?limit= and ?after=: after is the opaque cursor a page
// returns as next (absent on the last page); a Link header with rel="next"
// carries the next page's URL too.

// encodeCursor makes an opaque cursor.
func encodeCursor(cur store.Cursor) string {
	doc, _ := json.Marshal(cur)
	return base64.RawURLEncoding.EncodeToString(doc)
}

// afterParam reads ?after=; it writes a 422 and returns false when the cursor is not one khula made.
func afterParam(c *gin.Context) (*store.Cursor, bool) {
	raw := c.Query("after")
	if raw == "" {
		return nil, true
	}
	var cur store.Cursor
	doc, err := base64.RawURLEncoding.DecodeString(raw)
	if err == nil {
		err = json.Unmarshal(doc, &cur)
	}
	if err != nil || cur.ID == "" {
		fe := fieldErrors{}
		fe.add("after", "invalid", "after must be the next cursor of the previous page")
		fe.reject(c, "query")
		return nil, false
	}
	return &cur, true
}

// pageLimit reads ?limit= (1 to max, default def).
func pageLimit(c *gin.Context, def, max int) (int, bool) {
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

// setNext sets the Link header for the next page.
func setNext(c *gin.Context, next string, extra url.Values) {
	if next == "" {
		return
	}
	q := c.Request.URL.Query()
	for k, v := range extra {
		q[k] = v
	}
	q.Set("after", next)
	c.Header("Link", "<"+c.Request.URL.Path+"?"+q.Encode()+`>; rel="next"`)
}

type wavePage struct {
	Items []waveView `json:"items"`
	Next  string     `json:"next,omitempty"`
}

// listWavesPage lists the waves of the caller's sites, newest first, a page at a time.
func (s *Server) listWavesPage(c *gin.Context) {
	siteID := c.Query("site")
	p := principal(c)
	var scope []string
	switch {
	case siteID != "":
		if _, ok := s.site(c, siteID); !ok || !s.inSite(c, siteID) {
			return
		}
		scope = []string{siteID}
	case p.Role != auth.ProgrammeManager:
		scope = append([]string{}, p.Sites...)
	}
	limit, ok := pageLimit(c, 50, 200)
	if !ok {
		return
	}
	after, ok := afterParam(c)
	if !ok {
		return
	}
	waves, err := s.Store.WavesPage(c.Request.Context(), scope, after, limit+1)
	if err != nil {
		storeProblem(c, err, "waves")
		return
	}
	out := wavePage{Items: make([]waveView, 0, len(waves))}
	if len(waves) > limit {
		waves = waves[:limit]
		last := waves[limit-1]
		out.Next = encodeCursor(store.Cursor{At: last.LaunchedAt, ID: last.ID})
	}
	for _, w := range waves {
		if p.InSite(w.SiteID) {
			out.Items = append(out.Items, viewWave(w))
		}
	}
	setNext(c, out.Next, nil)
	c.JSON(http.StatusOK, out)
}

// workSummary is every work list's first page, with the cursor of each
// list that has more (page on with ?list=NAME&after=CURSOR).
type workSummary struct {
	store.Work
	Next map[string]string `json:"next"`
}

type workListPage struct {
	List  string `json:"list"`
	Items any    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// workScope finds the school a work list covers ("" for the whole site)
// and checks the caller may see it; it answers the request itself when not.
func (s *Server) workScope(c *gin.Context, siteID string) (string, bool) {
	site, _ := s.Sites.Site(siteID)
	school := c.Query("school")
	if school != "" {
		if _, ok := site.School(school); !ok {
			problem(c, http.StatusNotFound, "Unknown school", "site "+site.ID+" has no school "+strconv.Quote(school))
			return "", false
		}
		return school, s.inSchool(c, site.ID, school)
	}
	if p := principal(c); p.Role == auth.Practitioner {
		if len(p.Schools) != 1 {
			fe := fieldErrors{}
			fe.add("school", "required", "school is required: you work at several schools")
			fe.reject(c, "query")
			return "", false
		}
		return p.Schools[0], s.inSchool(c, site.ID, p.Schools[0])
	}
	return "", s.inSite(c, site.ID)
}

// getWorkPage answers what practitioners have to do: every list's first
// page (default), or with ?list= one list a page at a time.
func (s *Server) getWorkPage(c *gin.Context) {
	site, ok := s.site(c, c.Query("site"))
	if !ok {
		return
	}
	school, ok := s.workScope(c, site.ID)
	if !ok {
		return
	}
	limit, ok := pageLimit(c, 200, 1000)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	list := c.Query("list")
	if list == "" {
		if c.Query("after") != "" {
			fe := fieldErrors{}
			fe.add("list", "required", "after pages one list: name it with list (%s)", joinLists())
			fe.reject(c, "query")
			return
		}
		w, err := s.Store.OpenWork(ctx, site.ID, school, limit+1)
		if err != nil {
			storeProblem(c, err, "work")
			return
		}
		out := workSummary{Work: w, Next: map[string]string{}}
		if len(out.Forms) > limit {
			out.Forms = out.Forms[:limit]
			out.Next[store.WorkForms] = encodeCursor(store.Cursor{ID: out.Forms[limit-1].CycleID})
		}
		if len(out.AwaitingPlan) > limit {
			out.AwaitingPlan = out.AwaitingPlan[:limit]
			out.Next[store.WorkAwaitingPlan] = encodeCursor(store.Cursor{ID: out.AwaitingPlan[limit-1]})
		}
		if len(out.FollowUps) > limit {
			out.FollowUps = out.FollowUps[:limit]
			out.Next[store.WorkFollowUps] = encodeCursor(store.Cursor{ID: out.FollowUps[limit-1]})
		}
		if len(out.Meetings) > limit {
			out.Meetings = out.Meetings[:limit]
			out.Next[store.WorkMeetings] = encodeCursor(store.Cursor{ID: out.Meetings[limit-1].ID})
		}
		if len(out.Referrals) > limit {
			out.Referrals = out.Referrals[:limit]
			out.Next[store.WorkReferrals] = encodeCursor(store.Cursor{ID: out.Referrals[limit-1].ID})
		}
		c.JSON(http.StatusOK, out)
		return
	}
	if !slices.Contains(store.WorkLists, list) {
		fe := fieldErrors{}
		fe.add("list", "invalid_choice", "list must be one of %s", joinLists())
		fe.reject(c, "query")
		return
	}
	after, ok := afterParam(c)
	if !ok {
		return
	}
	afterID := ""
	if after != nil {
		afterID = after.ID
	}
	items, err := s.Store.WorkPage(ctx, site.ID, school, list, afterID, limit+1)
	if err != nil {
		storeProblem(c, err, "work")
		return
	}
	out := workListPage{List: list, Items: items}
	if v := reflect.ValueOf(items); v.Len() > limit {
		out.Items = v.Slice(0, limit).Interface()
		last := v.Index(limit - 1).Interface()
		var id string
		switch x := last.(type) {
		case store.FormDue:
			id = x.CycleID
		case string:
			id = x
		case store.Meeting:
			id = x.ID
		case store.Referral:
			id = x.ID
		}
		out.Next = encodeCursor(store.Cursor{ID: id})
	}
	setNext(c, out.Next, nil)
	c.JSON(http.StatusOK, out)
}

func joinLists() string {
	b := ""
	for i, l := range store.WorkLists {
		if i > 0 {
			b += ", "
		}
		b += l
	}
	return b
}
