// Package bench measures khula against the bare Temporal engine it runs on,
// in one process and one run: the engine's own rate for empty and
// seven-activity workflows (the baseline), then khula's wave launch, full
// cycles with simulated practitioners, API latency at a fixed request rate,
// dashboard queries at scale, memory and history length. Every figure is
// reported with its ratio to the matching baseline.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/khula-cop/khula/internal/app"
)

// Options choose the sizes.
type Options struct {
	// Launch sizes: children per wave launch measurement.
	Launch []int
	// Full sizes: children per full-cycle measurement.
	Full []int
	// Baseline is the number of workflows each baseline runs.
	Baseline int
	// Concurrency of the baseline starters and of the simulated practitioners.
	Concurrency int
	// APIRate (requests/s) and APIDuration of the assessment submission test.
	APIRate     int
	APIDuration time.Duration
	// DashboardChildren is the size of the database the dashboard queries
	// run on (and a child's record across three waves, the change between
	// waves and the duplicate check of a class list).
	DashboardChildren int
	// FollowUp is how many children a first and then a follow-up wave of
	// the same children launch (0: not measured).
	FollowUp int
	// DayLength compresses the cycle's durations in the full-cycle run.
	DayLength time.Duration
	// Dir holds the engine and database (default: a temporary directory, removed after).
	Dir      string
	SitesDir string
	Out      io.Writer
	// Progress receives progress lines (nil: none).
	Progress io.Writer
}

// Smoke is a tiny run for CI: it keeps the command working.
func Smoke() Options {
	return Options{Launch: []int{60}, Full: []int{30}, Baseline: 30, Concurrency: 8, APIRate: 20, APIDuration: 3 * time.Second, DashboardChildren: 2000, FollowUp: 60, DayLength: 20 * time.Millisecond}
}

// Default is the full benchmark of issue 7.
func Default() Options {
	return Options{Launch: []int{1000, 10000, 100000}, Full: []int{1000, 10000}, Baseline: 2000, Concurrency: 32, APIRate: 50, APIDuration: 20 * time.Second, DashboardChildren: 100000, FollowUp: 10000, DayLength: 20 * time.Millisecond}
}

// Figure is one measured value.
type Figure struct {
	Name     string  `json:"name"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	Baseline string  `json:"baseline,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"`
	Target   string  `json:"target,omitempty"`
	Met      *bool   `json:"met,omitempty"`
	Note     string  `json:"note,omitempty"`
}

// Report is a whole run.
type Report struct {
	Started  time.Time `json:"started"`
	Duration string    `json:"duration"`
	Machine  Machine   `json:"machine"`
	Options  Options   `json:"options"`
	Figures  []Figure  `json:"figures"`
}

// Machine describes where the run happened.
type Machine struct {
	CPUs   int    `json:"cpus"`
	GoOS   string `json:"goos"`
	GoArch string `json:"goarch"`
	Go     string `json:"go"`
	Model  string `json:"model,omitempty"`
	MemKB  int64  `json:"mem_kb,omitempty"`
}

func (r *Report) add(f Figure) { r.Figures = append(r.Figures, f) }

func met(ok bool) *bool { return &ok }

// Run starts its own engine and database and measures.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	rep := &Report{Started: time.Now().UTC(), Machine: machine(), Options: o}
	dir := o.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "khula-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	fmt.Fprintf(progress, "starting the engine and khula in %s\n", dir)
	d, err := app.StartDev(ctx, app.DevOptions{
		DataDir: dir, Addr: "127.0.0.1:0", TemporalPort: 0, SitesDir: o.SitesDir, DemoSite: "", Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	defer d.Stop(context.Background())
	b := &bench{o: o, d: d, rep: rep, progress: progress, dir: dir}

	// 1. Baseline: the bare engine with khula's worker tuning.
	w, err := startBaselineWorker(d.Client, app.WorkerOptions{}.SDKOptions())
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "baseline: %d empty workflows\n", o.Baseline)
	empty := runWorkflows(ctx, d.Client, "BenchEmpty", o.Baseline, o.Concurrency, "bench-empty")
	fmt.Fprintf(progress, "baseline: %d seven-activity workflows\n", o.Baseline)
	seven := runWorkflows(ctx, d.Client, "BenchSevenActivities", o.Baseline, o.Concurrency, "bench-seven")
	w.Stop()
	if b.sevenEvents, err = b.historyLength(ctx, "bench-seven-0"); err != nil {
		return rep, fmt.Errorf("reading a baseline history: %w", err)
	}
	rep.add(Figure{Name: "baseline: empty workflows started and completed", Value: empty.PerSec, Unit: "workflows/s", Ratio: 1, Note: fmt.Sprintf("%d workflows, %d failed", empty.N, empty.Failures)})
	rep.add(Figure{Name: "baseline: workflows of seven no-op activities", Value: seven.PerSec, Unit: "workflows/s", Ratio: 1, Note: fmt.Sprintf("%d workflows, %d failed", seven.N, seven.Failures)})

	// 2. Wave launch at growing sizes (the cycles stay open: memory is measured with them).
	if err := b.launches(ctx, empty.PerSec); err != nil {
		return rep, err
	}
	// 2b. A follow-up wave of the same children, at a site that renews consent each wave.
	if o.FollowUp > 0 {
		if err := b.followUpLaunch(ctx, o.FollowUp, empty.PerSec); err != nil {
			return rep, err
		}
	}
	// 4. API latency, against the cycles of the first launch.
	if err := b.api(ctx); err != nil {
		return rep, err
	}
	// 3. Full cycles with simulated practitioners.
	if err := b.fullCycles(ctx, seven.PerSec); err != nil {
		return rep, err
	}
	// 5. Dashboard queries at scale.
	if err := b.dashboard(ctx); err != nil {
		return rep, err
	}
	// 5b. What sealing with children's own keys costs.
	if err := b.codec(ctx); err != nil {
		return rep, err
	}
	// 6. Peak memory.
	if hwm, err := peakRSS(); err == nil {
		rep.add(Figure{Name: "peak resident memory of the process", Value: float64(hwm) / 1024, Unit: "MiB"})
	}
	rep.Duration = time.Since(rep.Started).Round(time.Second).String()
	return rep, nil
}

type bench struct {
	o        Options
	d        *app.Dev
	rep      *Report
	progress io.Writer
	dir      string
	// apiWave is a launched wave whose cycles wait for forms.
	apiWave int
	// sevenEvents is the history length of one seven-activity workflow.
	sevenEvents int
}

// Print writes the report as a table.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "khula bench: %d CPUs, %s/%s, %s; took %s\n\n", r.Machine.CPUs, r.Machine.GoOS, r.Machine.GoArch, r.Machine.Model, r.Duration)
	fmt.Fprintf(w, "%-58s %14s  %-12s %8s  %s\n", "figure", "value", "unit", "ratio", "target")
	for _, f := range r.Figures {
		ratio := ""
		if f.Ratio != 0 {
			ratio = fmt.Sprintf("%.2f", f.Ratio)
		}
		target := f.Target
		if f.Met != nil {
			if *f.Met {
				target += " (met)"
			} else {
				target += " (MISSED)"
			}
		}
		fmt.Fprintf(w, "%-58s %14s  %-12s %8s  %s\n", f.Name, strconv.FormatFloat(f.Value, 'f', 2, 64), f.Unit, ratio, target)
		if f.Note != "" {
			fmt.Fprintf(w, "%-58s %s\n", "", "  "+f.Note)
		}
	}
}

// WriteJSON writes the report to path.
func (r *Report) WriteJSON(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoOS: runtime.GOOS, GoArch: runtime.GOARCH, Go: runtime.Version()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "MemTotal:") {
				f := strings.Fields(line)
				if len(f) >= 2 {
					m.MemKB, _ = strconv.ParseInt(f[1], 10, 64)
				}
			}
		}
	}
	return m
}

// peakRSS reads the process's high-water resident set (KiB).
func peakRSS() (int64, error) { return procStatus("VmHWM:") }

// currentRSS reads the process's resident set (KiB).
func currentRSS() (int64, error) { return procStatus("VmRSS:") }

func procStatus(key string) (int64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, key) {
			f := strings.Fields(line)
			if len(f) >= 2 {
				return strconv.ParseInt(f[1], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("%s not in /proc/self/status", key)
}

// percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return sorted[i]
}

func sortDurations(d []time.Duration) { sort.Slice(d, func(i, j int) bool { return d[i] < d[j] }) }
