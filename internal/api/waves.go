package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/sites"
	"github.com/khula-cop/khula/workflows"
)

// Bounds of a compressed day.
const (
	minDayLength = 10 * time.Millisecond
	realDay      = 24 * time.Hour
)

// TimingFor scales a site's durations to a day of dayLength (0 or 24h: real time).
func TimingFor(site *sites.Site, dayLength time.Duration) cycle.Timing {
	scale := func(d sites.Duration) time.Duration {
		if dayLength <= 0 || dayLength == realDay {
			return d.D()
		}
		return time.Duration(float64(d.D()) * float64(dayLength) / float64(realDay))
	}
	d := site.Durations
	t := cycle.Timing{
		ReminderEvery:      scale(d.ReminderEvery),
		PlanDeadline:       scale(d.PlanDeadline),
		UrgentReferralSLA:  scale(d.UrgentReferralSLA),
		ReferralAckSLA:     scale(d.ReferralAckSLA),
		ReferralSLA:        scale(d.ReferralSLA),
		FollowUpEvery:      scale(d.FollowUpEvery),
		ReassessAfter:      scale(d.ReassessAfter),
		ReassessmentWindow: scale(d.ReassessmentWindow),
		MinutesDeadline:    scale(sites.Duration(7 * realDay)),
		PlanGiveUpAfter:    scale(d.PlanGiveUp()),
		ReportAfter:        scale(d.Report()),
		ReviewWithin:       scale(site.ALCoP.Review()),
		ProgressEvery:      6 * time.Hour,
	}
	if dayLength > 0 && dayLength < realDay {
		t.ProgressEvery = max(dayLength, 500*time.Millisecond)
	}
	// Where forms arrive in batches, a reminder between two syncs reaches
	// nobody: remind at most once per sync period.
	if site.Connectivity.Intermittent() {
		t.ReminderEvery = max(t.ReminderEvery, scale(site.Connectivity.SyncEvery))
	}
	return t
}

type launchWaveRequest struct {
	Site        string     `json:"site"`
	Number      int        `json:"number"`
	WindowOpen  *time.Time `json:"window_open"`
	WindowClose *time.Time `json:"window_close"`
	// DayLength compresses time for a demonstration, e.g. "250ms".
	DayLength string `json:"day_length"`
	PageSize  int    `json:"page_size"`
	// HoldWindows (simulated waves only, with day_length) leaves closing the
	// windows to the launcher: every deadline that decides an outcome gets a
	// backstop (holdDeadline), and the launcher closes the
	// assessment and reassessment windows through the close-window routes.
	HoldWindows bool `json:"hold_windows,omitempty"`
}

type launchWaveResponse struct {
	WaveID      string    `json:"wave_id"`
	Existing    bool      `json:"existing"`
	WindowOpen  time.Time `json:"window_open"`
	WindowClose time.Time `json:"window_close"`
	DayLength   string    `json:"day_length,omitempty"`
	// HoldWindows echoes the launch option; WindowDue is then when the
	// launcher is expected to close the window (WindowClose is the backstop).
	HoldWindows bool       `json:"hold_windows,omitempty"`
	WindowDue   *time.Time `json:"window_due,omitempty"`
	// Preview counts, as the launch began, the children who continue, the
	// new intake, those not assessed (lapsed consent), held duplicates and
	// leavers (absent for a wave launched before).
	Preview *PreviewCounts `json:"preview,omitempty"`
}

// HoldBackstop is how many times its length a deadline that decides an
// outcome runs in a wave launched with hold_windows, and HoldFloor the least
// it runs past its length in real time: long enough that the launcher, not a
// race against a timer, closes it, even on a loaded machine where starting
// the cycles alone takes minutes of a compressed window.
const (
	HoldBackstop = 4
	HoldFloor    = 10 * time.Minute
)

// holdDeadline is the backstop of a deadline d after its start.
func holdDeadline(d time.Duration) time.Duration {
	return max(HoldBackstop*d, d+HoldFloor)
}

// holdTiming stretches the deadlines of t that decide a cycle's outcome to
// their backstops. Referral SLAs stay: a service's silence is its answer.
// The report waits for the longest a cycle can still run once the window
// has closed (plan, reassessment), so that no cycle is reported open.
func holdTiming(t cycle.Timing) cycle.Timing {
	t.ReportAfter = holdDeadline(t.ReportAfter + t.PlanGiveUpAfter + t.ReassessAfter + t.ReassessmentWindow)
	t.ReassessmentWindow = holdDeadline(t.ReassessmentWindow)
	t.PlanGiveUpAfter = holdDeadline(t.PlanGiveUpAfter)
	return t
}

func (s *Server) launchWave(c *gin.Context) {
	var req launchWaveRequest
	if !bind(c, &req) {
		return
	}
	var fe fieldErrors
	site, siteOK := s.Sites.Site(req.Site)
	if req.Site == "" {
		fe.add("site", "required", "site is required")
	} else if !siteOK {
		fe.add("site", "unknown", "no site %q is configured", req.Site)
	}
	if req.Number < 1 || req.Number > 1000 {
		fe.add("number", "out_of_range", "number must be a wave number from 1 to 1000")
	}
	var dayLength time.Duration
	if req.DayLength != "" {
		d, err := time.ParseDuration(req.DayLength)
		switch {
		case !s.AllowCompressedTime:
			fe.add("day_length", "not_allowed", "compressed time is only for demonstrations (khula dev)")
		case err != nil:
			fe.add("day_length", "invalid", "day_length must be a duration such as 250ms")
		case d < minDayLength || d > realDay:
			fe.add("day_length", "out_of_range", "day_length must be between %s and 24h", minDayLength)
		default:
			dayLength = d
		}
	}
	if req.HoldWindows && req.DayLength == "" {
		fe.add("hold_windows", "requires_day_length", "hold_windows is only for simulated waves: give day_length too")
	}
	if req.PageSize < 0 || req.PageSize > 2000 {
		fe.add("page_size", "out_of_range", "page_size must be from 1 to 2000")
	}
	now := s.now()
	open := now
	if req.WindowOpen != nil {
		open = req.WindowOpen.UTC()
	}
	var closeAt time.Time
	if siteOK {
		closeAt = open.Add(scaleDuration(site.Durations.AssessmentWindow.D(), dayLength))
	}
	if req.WindowOpen != nil && (open.Before(now.AddDate(-1, 0, 0)) || open.After(now.AddDate(1, 0, 0))) {
		fe.add("window_open", "out_of_range", "window_open must be within a year of today")
	}
	field := "window_open"
	if req.WindowClose != nil {
		closeAt, field = req.WindowClose.UTC(), "window_close"
	}
	if siteOK || req.WindowClose != nil {
		switch {
		case !closeAt.After(now):
			fe.add(field, "out_of_range", "the assessment window would close in the past (%s): nobody could answer", closeAt.Format(time.DateOnly))
		case !closeAt.After(open):
			fe.add("window_close", "out_of_range", "window_close must be after window_open")
		case closeAt.After(now.AddDate(2, 0, 0)):
			fe.add(field, "out_of_range", "the assessment window would close more than two years from now")
		}
	}
	ref, refOK := cycle.InstrumentRef{}, false
	if siteOK {
		if ref, refOK = s.Sites.Instrument(site.ID); !refOK {
			fe.add("site", "not_ready", "site %q has no instrument loaded", site.ID)
		}
	}
	if fe.reject(c, "wave launch") {
		return
	}
	if !s.inSite(c, site.ID) {
		return
	}
	timing, due := TimingFor(site, dayLength), closeAt
	if req.HoldWindows {
		timing = holdTiming(timing)
		closeAt = open.Add(holdDeadline(due.Sub(open)))
	}
	in := cycle.WaveInput{
		SiteID: site.ID, Number: req.Number, WindowOpen: open, WindowClose: closeAt, Instrument: ref,
		Respondents: site.Respondents, Timing: timing, ServiceTypes: site.ServiceTypes(),
		PageSize: req.PageSize, DayLength: dayLength,
	}
	id := cycle.WaveID(site.ID, req.Number)
	resp := launchWaveResponse{WaveID: id, WindowOpen: open, WindowClose: closeAt}
	if dayLength > 0 {
		resp.DayLength = dayLength.String()
	}
	if req.HoldWindows {
		resp.HoldWindows, resp.WindowDue = true, &due
	}
	resp.Preview = s.launchPreview(c.Request.Context(), site, req.Number, open)
	_, err := s.Temporal.ExecuteWorkflow(c.Request.Context(), client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                site.TaskQueue(),
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		TypedSearchAttributes:    waveSearchAttributes(in),
	}, workflows.WaveWorkflowName, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		// Launching the same wave twice launches it once.
		resp.Existing, resp.Preview = true, nil
		if w, err := s.Store.Wave(c.Request.Context(), id); err == nil {
			resp.WindowOpen, resp.WindowClose = w.WindowOpen, w.WindowClose
		}
		c.JSON(http.StatusOK, resp)
		return
	}
	if err != nil {
		s.temporalProblem(c, err, "wave launch")
		return
	}
	c.Header("Location", "/api/v1/waves/"+site.ID+"/"+strconv.Itoa(req.Number))
	c.JSON(http.StatusAccepted, resp)
}

func scaleDuration(d, dayLength time.Duration) time.Duration {
	if dayLength <= 0 || dayLength == realDay {
		return d
	}
	return time.Duration(float64(d) * float64(dayLength) / float64(realDay))
}

type waveView struct {
	ID          string            `json:"id"`
	Site        string            `json:"site"`
	Number      int               `json:"number"`
	Status      string            `json:"status"`
	CohortSize  int               `json:"cohort_size"`
	WindowOpen  time.Time         `json:"window_open"`
	WindowClose time.Time         `json:"window_close"`
	LaunchedAt  time.Time         `json:"launched_at"`
	ClosedAt    *time.Time        `json:"closed_at,omitempty"`
	Report      *cycle.WaveReport `json:"report,omitempty"`
}

func viewWave(w store.Wave) waveView {
	v := waveView{ID: w.ID, Site: w.SiteID, Number: w.Number, Status: w.Status, CohortSize: w.CohortSize,
		WindowOpen: w.WindowOpen, WindowClose: w.WindowClose, LaunchedAt: w.LaunchedAt, ClosedAt: w.ClosedAt}
	if w.Report != "" {
		var rep cycle.WaveReport
		if err := jsonUnmarshal(w.Report, &rep); err == nil {
			v.Report = &rep
		}
	}
	return v
}

type waveDetail struct {
	waveView
	ByStage  map[string]int            `json:"by_stage"`
	BySchool map[string]map[string]int `json:"by_school"`
	Open     int                       `json:"open"`
}

func (s *Server) getWave(c *gin.Context) {
	site, ok := s.site(c, c.Param("site"))
	if !ok || !s.inSite(c, site.ID) {
		return
	}
	n, err := strconv.Atoi(c.Param("wave"))
	if err != nil || n < 1 {
		problem(c, http.StatusNotFound, "Not found", fmt.Sprintf("wave %q is not a wave number", c.Param("wave")))
		return
	}
	id := cycle.WaveID(site.ID, n)
	ctx := c.Request.Context()
	w, err := s.Store.Wave(ctx, id)
	if err != nil {
		storeProblem(c, err, "wave")
		return
	}
	p, err := s.Store.WaveProgress(ctx, id)
	if err != nil {
		storeProblem(c, err, "wave")
		return
	}
	by, err := s.Store.StageBySchool(ctx, id)
	if err != nil {
		storeProblem(c, err, "wave")
		return
	}
	c.JSON(http.StatusOK, waveDetail{waveView: viewWave(w), ByStage: p.ByStage, BySchool: by, Open: p.Open})
}
