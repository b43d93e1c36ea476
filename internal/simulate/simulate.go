// Package simulate plays the practitioners of a wave against a running khula
// API: it launches a wave on compressed time, answers the forms as
// caregivers, children, teachers and nurses would, holds LLCoP meetings that
// agree plans, acknowledges and closes referrals as services, records
// follow-ups and reassessments, and prints progress by stage until the wave
// closes. Children's answers follow made-up personas; no real data is used.
//
// The wave is launched with hold_windows: no outcome is decided by a form
// racing a timer. The simulator closes the assessment window itself (and a
// cycle's reassessment wait, when a form will never come) once every form
// its personas will return is in and the window's simulated days have
// passed, so a slow or loaded machine plays the same wave to the same end.
package simulate

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/sites"
)

// Options configure a simulation.
type Options struct {
	Addr string
	// Token is the API token the simulator calls with (a site coordinator's).
	Token     string
	Site      string
	Wave      int
	DayLength time.Duration
	// Concurrency is how many practitioners submit at once.
	Concurrency int
	// Timeout gives up if the wave has not closed by then.
	Timeout time.Duration
	// RequestTimeout bounds each call to the API (default 30s).
	RequestTimeout time.Duration
	// SitesDir is where to read the site's instrument for plausible answers ("" = built in).
	SitesDir string
	Seed     uint64
	Out      io.Writer
	// EveryoneAnswers turns off the personas who never return a form (the
	// benchmark measures throughput, not the window closing).
	EveryoneAnswers bool
	// WindowClose, when set, is how long after launch the assessment window
	// is due to close (default: the site's window on compressed time).
	WindowClose time.Duration
	// Quiet prints only the final report.
	Quiet bool
	// Waves is how many consecutive waves to play on the same children
	// (default 1). Between two waves some children leave the study and
	// most lapsed consents are renewed, as a coordinator would; the last
	// wave's report is followed by how the children changed.
	Waves int
	// Intake is how many new children a class list adds before each wave
	// after the first.
	Intake int
	// LeaveShare is the share of a wave's children who leave the study
	// before the next (default 5%).
	LeaveShare float64
}

func (o *Options) defaults() {
	if o.Site == "" {
		o.Site = "johannesburg"
	}
	if o.DayLength == 0 {
		o.DayLength = 250 * time.Millisecond
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Minute
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 30 * time.Second
	}
	if o.Seed == 0 {
		o.Seed = 7
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	o.Addr = strings.TrimSuffix(o.Addr, "/")
}

// Summary is what a finished simulation reports.
type Summary struct {
	WaveID   string
	Duration time.Duration
	Report   *cycle.WaveReport
	Actions  map[string]int
}

type siteView struct {
	ID           string            `json:"id"`
	SyncEvery    string            `json:"sync_every"`
	Durations    map[string]string `json:"durations"`
	Respondents  []string          `json:"respondents"`
	ServiceTypes []string          `json:"service_types"`
	Schools      []struct {
		ID string `json:"id"`
	} `json:"schools"`
}

type waveView struct {
	ID         string            `json:"id"`
	Number     int               `json:"number"`
	Status     string            `json:"status"`
	CohortSize int               `json:"cohort_size"`
	ByStage    map[string]int    `json:"by_stage"`
	Open       int               `json:"open"`
	Report     *cycle.WaveReport `json:"report"`
}

type workView struct {
	Forms        []formDue      `json:"forms"`
	PlanBySchool map[string]int `json:"awaiting_plan_by_school"`
	Meetings     []struct {
		ID       string `json:"ID"`
		SchoolID string `json:"SchoolID"`
		Date     string `json:"Date"`
	} `json:"meetings"`
	Referrals []struct {
		ID     string `json:"ID"`
		Status string `json:"Status"`
		Domain string `json:"Domain"`
	} `json:"referrals"`
	FollowUps []string `json:"follow_ups"`
	// Next holds, per list, the cursor of its next page when it has more.
	Next map[string]string `json:"next"`
}

// formDue is one cycle's outstanding forms of a phase.
type formDue = struct {
	CycleID     string   `json:"cycle_id"`
	SchoolID    string   `json:"school_id"`
	Phase       string   `json:"phase"`
	Respondents []string `json:"respondents"`
}

// sim holds a running simulation's state.
type sim struct {
	opts    Options
	api     *apiClient
	site    siteView
	answers *Answerer
	wave    int
	start   time.Time
	// syncDays is the simulated days between syncs at a site whose forms
	// arrive in batches (0: online).
	syncDays float64
	// windowOpen is when the wave's assessment window opened; windowDays and
	// reassessDays are the windows' lengths in simulated days: the
	// simulator closes a window no earlier than that.
	windowOpen   time.Time
	windowDays   float64
	reassessDays float64
	// windowClosed is set once the wave's assessment window has closed
	// (the simulator closed it, or found it closing): no baseline form is
	// submitted after that.
	windowClosed bool

	// jobs are the actions running in the background, in pools of slots.
	jobs  sync.WaitGroup
	pools map[string]chan struct{}

	mu       sync.Mutex
	done     map[string]bool // actions already taken, by key
	firstSaw map[string]time.Time
	meetings map[string]time.Time // school -> last meeting started
	actions  map[string]int
	// busy counts the jobs queued or running per wait they belong to.
	busy map[string]int
	// err is the first hard error a job hit.
	err error
	// children are the children whose forms the wave asked for.
	children map[string]bool
}

// Run launches a wave and plays it to the end.
func Run(ctx context.Context, opts Options) error {
	_, err := RunSummary(ctx, opts)
	return err
}

// RunSummary is Run returning what happened (in the last wave played).
func RunSummary(ctx context.Context, opts Options) (Summary, error) {
	opts.defaults()
	if opts.Waves <= 1 {
		sum, _, err := runWave(ctx, opts)
		return sum, err
	}
	return runWaves(ctx, opts)
}

// runWave launches one wave and plays it to the end; it returns the
// children it saw.
func runWave(ctx context.Context, opts Options) (Summary, []string, error) {
	sum, s, err := playWave(ctx, opts)
	if s == nil {
		return sum, nil, err
	}
	return sum, s.seenChildren(), err
}

func playWave(ctx context.Context, opts Options) (Summary, *sim, error) {
	if opts.Addr == "" {
		return Summary{}, nil, errors.New("simulate: --addr is required, e.g. http://127.0.0.1:8080")
	}
	s := &sim{
		opts: opts, api: &apiClient{base: opts.Addr, token: opts.Token, timeout: opts.RequestTimeout, http: &http.Client{Timeout: opts.RequestTimeout + 5*time.Second}},
		done: map[string]bool{}, firstSaw: map[string]time.Time{}, meetings: map[string]time.Time{}, actions: map[string]int{},
		busy: map[string]int{}, children: map[string]bool{}, pools: map[string]chan struct{}{formPool: make(chan struct{}, opts.Concurrency), otherPool: make(chan struct{}, opts.Concurrency)},
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	// Whatever ends the simulation, no action outlives it.
	defer s.jobs.Wait()
	defer cancel()
	if err := s.api.do(ctx, http.MethodGet, "/api/v1/sites/"+opts.Site, "", nil, &s.site); err != nil {
		return Summary{}, nil, fmt.Errorf("simulate: is khula dev running at %s? %w", opts.Addr, err)
	}
	if s.site.SyncEvery != "" {
		d, err := sites.ParseDuration(s.site.SyncEvery)
		if err != nil {
			return Summary{}, nil, fmt.Errorf("simulate: site %s sync_every: %w", opts.Site, err)
		}
		s.syncDays = float64(d.D()) / float64(24*time.Hour)
	}
	var err error
	if s.windowDays, err = s.siteDays("assessment_window"); err != nil {
		return Summary{}, nil, err
	}
	if s.reassessDays, err = s.siteDays("reassessment_window"); err != nil {
		return Summary{}, nil, err
	}
	if s.answers, err = NewAnswerer(opts.SitesDir, opts.Site, opts.Seed); err != nil {
		return Summary{}, nil, err
	}
	s.answers.everyoneAnswers = opts.EveryoneAnswers
	if err := s.launchWave(ctx); err != nil {
		return Summary{}, nil, err
	}
	s.answers.wave = s.wave
	sum, err := s.loop(ctx)
	sum.Actions = s.counts()
	return sum, s, err
}

// siteDays reads one of the site's durations in days.
func (s *sim) siteDays(name string) (float64, error) {
	raw, ok := s.site.Durations[name]
	if !ok {
		return 0, fmt.Errorf("simulate: site %s does not say its %s", s.opts.Site, name)
	}
	d, err := sites.ParseDuration(raw)
	if err != nil {
		return 0, fmt.Errorf("simulate: site %s %s: %w", s.opts.Site, name, err)
	}
	return float64(d.D()) / float64(24*time.Hour), nil
}

func (s *sim) launchWave(ctx context.Context) error {
	s.wave = s.opts.Wave
	if s.wave == 0 {
		var list struct {
			Items []waveView `json:"items"`
		}
		if err := s.api.do(ctx, http.MethodGet, "/api/v1/waves?site="+s.opts.Site, "", nil, &list); err != nil {
			return fmt.Errorf("simulate: listing waves: %w", err)
		}
		for _, w := range list.Items {
			s.wave = max(s.wave, w.Number)
		}
		s.wave++
	}
	// hold_windows: the windows are the simulator's to close, once the forms
	// it will return are in, not a timer's (the timers are backstops).
	body := map[string]any{"site": s.opts.Site, "number": s.wave, "day_length": s.opts.DayLength.String(), "hold_windows": true}
	if s.opts.WindowClose > 0 {
		body["window_close"] = time.Now().Add(s.opts.WindowClose).UTC()
		s.windowDays = s.simDays(s.opts.WindowClose)
	}
	var resp struct {
		WaveID      string    `json:"wave_id"`
		Existing    bool      `json:"existing"`
		WindowOpen  time.Time `json:"window_open"`
		WindowClose time.Time `json:"window_close"`
	}
	if err := s.api.do(ctx, http.MethodPost, "/api/v1/waves", fmt.Sprintf("sim-wave-%s-%d", s.opts.Site, s.wave), body, &resp); err != nil {
		return fmt.Errorf("simulate: launching wave %d: %w", s.wave, err)
	}
	s.start, s.windowOpen = time.Now(), resp.WindowOpen
	if s.windowOpen.IsZero() || s.windowOpen.After(s.start) {
		s.windowOpen = s.start
	}
	verb := "launched"
	if resp.Existing {
		verb = "resumed"
	}
	fmt.Fprintf(s.opts.Out, "%s %s: one simulated day lasts %s; the simulator closes the assessment window after %.0f days, once every form it will return is in\n",
		verb, resp.WaveID, s.opts.DayLength, s.windowDays)
	fmt.Fprintf(s.opts.Out, "playing caregivers, children, teachers, nurses, LLCoP meetings and services...\n")
	if s.syncDays > 0 {
		fmt.Fprintf(s.opts.Out, "forms are captured offline and arrive in batches every %.0f simulated days\n", s.syncDays)
	}
	return nil
}

// simDays converts real elapsed time to simulated days.
func (s *sim) simDays(d time.Duration) float64 { return float64(d) / float64(s.opts.DayLength) }

func (s *sim) loop(ctx context.Context) (Summary, error) {
	waveID := cycle.WaveID(s.opts.Site, s.wave)
	tick := time.NewTicker(max(s.opts.DayLength/2, 100*time.Millisecond))
	defer tick.Stop()
	lastPrint := time.Time{}
	gaveUp := func() (Summary, error) {
		return Summary{WaveID: waveID, Duration: time.Since(s.start)}, fmt.Errorf("simulate: gave up waiting for %s to close: %w", waveID, ctx.Err())
	}
	for {
		select {
		case <-ctx.Done():
			return gaveUp()
		case <-tick.C:
		}
		var w waveView
		err := s.api.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/waves/%s/%d", s.opts.Site, s.wave), "", nil, &w)
		if ctx.Err() != nil {
			return gaveUp()
		}
		if statusOf(err) == http.StatusServiceUnavailable || isTransient(err) {
			continue // the database or engine is down for a moment: try again
		}
		if err != nil && statusOf(err) != http.StatusNotFound {
			return Summary{WaveID: waveID}, fmt.Errorf("simulate: reading progress: %w", err)
		}
		if err := s.failed(); err != nil {
			return Summary{WaveID: waveID}, err
		}
		if !s.opts.Quiet && (time.Since(lastPrint) >= time.Second || w.Status == "closed") {
			s.printProgress(w)
			lastPrint = time.Now()
		}
		if w.Status == "closed" {
			sum := Summary{WaveID: waveID, Duration: time.Since(s.start), Report: w.Report}
			s.printReport(sum)
			return sum, nil
		}
		if err := s.step(ctx, w); err != nil {
			if ctx.Err() != nil {
				return gaveUp()
			}
			return Summary{WaveID: waveID}, err
		}
	}
}

func (s *sim) printProgress(w waveView) {
	var parts []string
	for _, st := range cycle.Stages {
		if st == cycle.StageClosed {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d", strings.ReplaceAll(st, "_", "-"), w.ByStage[st]))
	}
	status := w.Status
	if status == "" {
		status = "launching"
	}
	fmt.Fprintf(s.opts.Out, "[%5.1fs day %3.0f] %-9s %s | closed %d/%d\n", time.Since(s.start).Seconds(), s.simDays(time.Since(s.start)),
		status, strings.Join(parts, " · "), w.ByStage[cycle.StageClosed], w.CohortSize)
}

func (s *sim) printReport(sum Summary) {
	out := s.opts.Out
	fmt.Fprintf(out, "%s closed after %s (%.0f simulated days)\n", sum.WaveID, sum.Duration.Round(100*time.Millisecond), s.simDays(sum.Duration))
	if sum.Report == nil {
		return
	}
	r := sum.Report
	fmt.Fprintf(out, "  outcomes:  %s\n", formatCounts(r.Outcomes))
	fmt.Fprintf(out, "  referrals: %s\n", formatCounts(r.Referrals))
	fmt.Fprintf(out, "  red flags: %d (safeguarding fast path)\n", r.RedFlags)
	domains := make([]string, 0, len(r.Risk))
	for d := range r.Risk {
		domains = append(domains, d)
	}
	sort.Strings(domains)
	for _, d := range domains {
		line := fmt.Sprintf("  %-13s risk %s", d, formatCounts(r.Risk[d]))
		if ch := r.Changes[d]; len(ch) > 0 {
			line += "; at reassessment " + formatCounts(ch)
		}
		fmt.Fprintln(out, line)
	}
	fmt.Fprintf(out, "  practitioner actions: %s\n", formatCounts(s.counts()))
}

func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// hash01 maps a key to [0,1) deterministically: personas follow the child, not chance.
func hash01(key string) float64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	return float64(h.Sum64()%10000) / 10000
}
