// Package simulate plays the practitioners of a wave against a running khula
// API: it launches a wave on compressed time, answers the forms as
// caregivers, children, teachers and nurses would, holds LLCoP meetings that
// agree plans, acknowledges and closes referrals as services, records
// follow-ups and reassessments, and prints progress by stage until the wave
// closes. Children's answers follow made-up personas; no real data is used.
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
	// SitesDir is where to read the site's instrument for plausible answers ("" = built in).
	SitesDir string
	Seed     uint64
	Out      io.Writer
	// EveryoneAnswers turns off the personas who never return a form (the
	// benchmark measures throughput, not the window closing).
	EveryoneAnswers bool
	// WindowClose, when set, is how long after launch the assessment window
	// closes (default: the site's window on compressed time).
	WindowClose time.Duration
	// Quiet prints only the final report.
	Quiet bool
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
	ID           string   `json:"id"`
	SyncEvery    string   `json:"sync_every"`
	Respondents  []string `json:"respondents"`
	ServiceTypes []string `json:"service_types"`
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
	Forms []struct {
		CycleID     string   `json:"cycle_id"`
		SchoolID    string   `json:"school_id"`
		Phase       string   `json:"phase"`
		Respondents []string `json:"respondents"`
	} `json:"forms"`
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

	mu       sync.Mutex
	done     map[string]bool // actions already taken, by key
	firstSaw map[string]time.Time
	meetings map[string]time.Time // school -> last meeting started
	actions  map[string]int
}

// Run launches a wave and plays it to the end.
func Run(ctx context.Context, opts Options) error {
	_, err := RunSummary(ctx, opts)
	return err
}

// RunSummary is Run returning what happened.
func RunSummary(ctx context.Context, opts Options) (Summary, error) {
	opts.defaults()
	if opts.Addr == "" {
		return Summary{}, errors.New("simulate: --addr is required, e.g. http://127.0.0.1:8080")
	}
	s := &sim{
		opts: opts, api: &apiClient{base: opts.Addr, token: opts.Token, http: &http.Client{}},
		done: map[string]bool{}, firstSaw: map[string]time.Time{}, meetings: map[string]time.Time{}, actions: map[string]int{},
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	if err := s.api.do(ctx, http.MethodGet, "/api/v1/sites/"+opts.Site, "", nil, &s.site); err != nil {
		return Summary{}, fmt.Errorf("simulate: is khula dev running at %s? %w", opts.Addr, err)
	}
	if s.site.SyncEvery != "" {
		d, err := sites.ParseDuration(s.site.SyncEvery)
		if err != nil {
			return Summary{}, fmt.Errorf("simulate: site %s sync_every: %w", opts.Site, err)
		}
		s.syncDays = float64(d.D()) / float64(24*time.Hour)
	}
	var err error
	if s.answers, err = NewAnswerer(opts.SitesDir, opts.Site, opts.Seed); err != nil {
		return Summary{}, err
	}
	s.answers.everyoneAnswers = opts.EveryoneAnswers
	if err := s.launch(ctx); err != nil {
		return Summary{}, err
	}
	sum, err := s.loop(ctx)
	sum.Actions = s.actions
	return sum, err
}

func (s *sim) launch(ctx context.Context) error {
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
	body := map[string]any{"site": s.opts.Site, "number": s.wave, "day_length": s.opts.DayLength.String()}
	if s.opts.WindowClose > 0 {
		body["window_close"] = time.Now().Add(s.opts.WindowClose).UTC()
	}
	var resp struct {
		WaveID      string    `json:"wave_id"`
		Existing    bool      `json:"existing"`
		WindowClose time.Time `json:"window_close"`
	}
	if err := s.api.do(ctx, http.MethodPost, "/api/v1/waves", fmt.Sprintf("sim-wave-%s-%d", s.opts.Site, s.wave), body, &resp); err != nil {
		return fmt.Errorf("simulate: launching wave %d: %w", s.wave, err)
	}
	s.start = time.Now()
	verb := "launched"
	if resp.Existing {
		verb = "resumed"
	}
	fmt.Fprintf(s.opts.Out, "%s %s: one simulated day lasts %s; the assessment window closes at %s\n",
		verb, resp.WaveID, s.opts.DayLength, resp.WindowClose.Local().Format("15:04:05"))
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
	for {
		select {
		case <-ctx.Done():
			return Summary{WaveID: waveID, Duration: time.Since(s.start)}, fmt.Errorf("simulate: gave up waiting for %s to close: %w", waveID, ctx.Err())
		case <-tick.C:
		}
		var w waveView
		err := s.api.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/waves/%s/%d", s.opts.Site, s.wave), "", nil, &w)
		if statusOf(err) == http.StatusServiceUnavailable {
			continue // the database or engine is down for a moment: try again
		}
		if err != nil && statusOf(err) != http.StatusNotFound {
			return Summary{WaveID: waveID}, fmt.Errorf("simulate: reading progress: %w", err)
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
		if err := s.step(ctx); err != nil {
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
	fmt.Fprintf(out, "  practitioner actions: %s\n", formatCounts(s.actions))
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
