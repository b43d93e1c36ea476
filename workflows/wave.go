package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/cycle"
)

// Paging of the wave's fan-out. A page is one activity that starts its
// children's cycles through the client, so the wave's history holds one
// activity per page rather than one child workflow per child; the wave
// continues as new every maxPagesPerRun pages.
const (
	defaultPageSize = 250
	maxPagesPerRun  = 40
)

// Wave launches a wave: it starts one ChildCycleWorkflow per enrolled child
// (in pages, continuing as new so 100,000 children never sit in one
// history), keeps progress by stage for its query, waits for the assessment
// window to close and for every cycle to close, and writes the wave report.
func (w *Workflows) Wave(ctx workflow.Context, in cycle.WaveInput) (cycle.WaveReport, error) {
	waveID := cycle.WaveID(in.SiteID, in.Number)
	if in.PageSize <= 0 {
		in.PageSize = defaultPageSize
	}
	if in.Phase == "" {
		in.Phase = cycle.WavePhaseLaunch
	}
	progress := cycle.WaveProgress{Status: cycle.WaveLaunching, CohortSize: in.Started}
	if err := workflow.SetQueryHandler(ctx, cycle.QueryWaveProgress, func() (cycle.WaveProgress, error) {
		return progress, nil
	}); err != nil {
		return cycle.WaveReport{}, fmt.Errorf("registering query: %w", err)
	}
	record := func(status string) cycle.WaveRecord {
		return cycle.WaveRecord{
			WaveID: waveID, SiteID: in.SiteID, Number: in.Number, WindowOpen: in.WindowOpen, WindowClose: in.WindowClose,
			DayLength: in.DayLength, Status: status, CohortSize: in.Started, At: workflow.Now(ctx),
		}
	}
	save := func(status string) error {
		progress.Status = status
		return workflow.ExecuteActivity(recordCtx(ctx), a.SaveWave, record(status)).Get(ctx, nil)
	}
	refresh := func() error {
		var p cycle.WaveProgress
		if err := workflow.ExecuteActivity(recordCtx(ctx), a.WaveProgress, waveID).Get(ctx, &p); err != nil {
			return err
		}
		// Open is counted against the cycles this wave started, not the rows
		// written so far: a cycle that has not yet written its first row is open.
		p.Status, p.CohortSize = progress.Status, in.Started
		p.Open = max(in.Started-p.ByStage[cycle.StageClosed], 0)
		progress = p
		return nil
	}
	every := in.Timing.ProgressEvery
	if every <= 0 {
		every = 6 * time.Hour
	}

	if in.Phase == cycle.WavePhaseLaunch {
		if in.Cursor == "" && in.Started == 0 {
			if err := save(cycle.WaveLaunching); err != nil {
				return cycle.WaveReport{}, err
			}
		}
		pageCtx := workflow.WithActivityOptions(recordCtx(ctx), workflow.ActivityOptions{
			StartToCloseTimeout: 10 * time.Minute,
			HeartbeatTimeout:    time.Minute,
		})
		for pages := 0; ; pages++ {
			if pages >= maxPagesPerRun {
				return cycle.WaveReport{}, workflow.NewContinueAsNewError(ctx, WaveWorkflowName, in)
			}
			var out activities.StartPageOutput
			if err := workflow.ExecuteActivity(pageCtx, a.StartCyclePage, activities.StartPageInput{
				Wave: in, Cursor: in.Cursor, PageSize: in.PageSize,
			}).Get(ctx, &out); err != nil {
				return cycle.WaveReport{}, err
			}
			in.Cursor = out.Cursor
			in.Started += out.Started + out.Existing
			progress.CohortSize = in.Started
			if out.Done {
				break
			}
		}
		in.Phase = cycle.WavePhaseOpen
		if err := save(cycle.WaveOpen); err != nil {
			return cycle.WaveReport{}, err
		}
	}

	// Waves since the duty-of-care change take a close-window signal and
	// report on their due date; older ones replay as they ran.
	reportsOnDue := workflow.GetVersion(ctx, "report-on-due-date", workflow.DefaultVersion, 1) == 1
	var closeReq *cycle.CloseWindowSignal
	if reportsOnDue {
		closes := workflow.GetSignalChannel(ctx, cycle.SignalCloseWindow)
		workflow.Go(ctx, func(ctx workflow.Context) {
			for {
				var s cycle.CloseWindowSignal
				closes.Receive(ctx, &s)
				if closeReq == nil {
					closeReq = &s
				}
			}
		})
	}

	if in.Phase == cycle.WavePhaseOpen {
		progress.Status = cycle.WaveOpen
		for until(ctx, in.WindowClose) > 0 && closeReq == nil {
			if reportsOnDue {
				if _, err := workflow.AwaitWithTimeout(ctx, min(every, until(ctx, in.WindowClose)), func() bool { return closeReq != nil }); err != nil {
					return cycle.WaveReport{}, err
				}
			} else if err := workflow.Sleep(ctx, min(every, until(ctx, in.WindowClose))); err != nil {
				return cycle.WaveReport{}, err
			}
			if err := refresh(); err != nil {
				return cycle.WaveReport{}, err
			}
			if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
				return cycle.WaveReport{}, workflow.NewContinueAsNewError(ctx, WaveWorkflowName, in)
			}
		}
		in.Phase = cycle.WavePhaseClose
		if closeReq != nil {
			// Closed early: the window's end is now, for the report's date and the cycles.
			in.WindowClose = workflow.Now(ctx)
		}
		if err := save(cycle.WaveClosing); err != nil {
			return cycle.WaveReport{}, err
		}
		if closeReq != nil {
			var n int
			fctx := workflow.WithActivityOptions(recordCtx(ctx), workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Minute, HeartbeatTimeout: time.Minute})
			if err := workflow.ExecuteActivity(fctx, a.CloseCycleWindows, activities.CloseWindowsInput{
				WaveID: waveID, Phase: cycle.PhaseBaseline, By: closeReq.By,
			}).Get(ctx, &n); err != nil {
				return cycle.WaveReport{}, err
			}
		}
	}

	// Closing: the window has closed (cycles close their own assessment
	// waits); wait until every cycle has closed, then report.
	progress.Status = cycle.WaveClosing
	if reportsOnDue {
		return w.closeOnDueDate(ctx, in, waveID, &progress, refresh, record, every)
	}
	for {
		if err := refresh(); err != nil {
			return cycle.WaveReport{}, err
		}
		if progress.Open == 0 {
			break
		}
		if err := workflow.Sleep(ctx, every); err != nil {
			return cycle.WaveReport{}, err
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return cycle.WaveReport{}, workflow.NewContinueAsNewError(ctx, WaveWorkflowName, in)
		}
	}
	// Waves closed by earlier releases did not export: replay keeps them so.
	export := func() bool {
		return workflow.GetVersion(ctx, "export-wave-aggregates", workflow.DefaultVersion, 1) == 1
	}
	return closeWave(ctx, in, waveID, &progress, record, export)
}

// closeWave writes the final report, marks the wave closed and, where
// export says so, pushes its aggregates to the site's export plugin.
func closeWave(ctx workflow.Context, in cycle.WaveInput, waveID string, progress *cycle.WaveProgress,
	record func(string) cycle.WaveRecord, export func() bool) (cycle.WaveReport, error) {
	var report cycle.WaveReport
	if err := workflow.ExecuteActivity(recordCtx(ctx), a.CloseWave, activities.CloseWaveInput{Wave: record(cycle.WaveClosed)}).Get(ctx, &report); err != nil {
		return cycle.WaveReport{}, err
	}
	progress.Status = cycle.WaveClosed
	if export() {
		var res string
		ectx := workflow.WithScheduleToCloseTimeout(pluginCtx(ctx), 24*time.Hour)
		if err := workflow.ExecuteActivity(ectx, a.ExportWave, activities.ExportInput{SiteID: in.SiteID, WaveID: waveID, Launched: in.WindowOpen}).Get(ctx, &res); err != nil {
			// An export that keeps failing is reported, not a reason to fail the wave.
			workflow.GetLogger(ctx).Warn("wave export failed", "wave", waveID, "error", err)
		}
	}
	return report, nil
}

// closeOnDueDate writes the wave report on its due date (ReportAfter past
// the window's close) whatever is still open, the open cycles counted as
// open, and rewrites it as they close; the wave closes when the last cycle
// has. Every cycle's waits end, so the wave does too.
func (w *Workflows) closeOnDueDate(ctx workflow.Context, in cycle.WaveInput, waveID string, progress *cycle.WaveProgress,
	refresh func() error, record func(string) cycle.WaveRecord, every time.Duration) (cycle.WaveReport, error) {
	after := in.Timing.ReportAfter
	if after <= 0 {
		after = 30 * 24 * time.Hour
	}
	due := in.WindowClose.Add(after)
	reported, lastOpen := false, -1
	for {
		if err := refresh(); err != nil {
			return cycle.WaveReport{}, err
		}
		if progress.Open == 0 {
			break
		}
		if !reported && until(ctx, due) <= 0 {
			reported = true
		}
		if reported && progress.Open != lastOpen {
			// The report on its date, and again whenever a cycle has closed since.
			lastOpen = progress.Open
			var rep cycle.WaveReport
			if err := workflow.ExecuteActivity(recordCtx(ctx), a.CloseWave, activities.CloseWaveInput{Wave: record(cycle.WaveReported)}).Get(ctx, &rep); err != nil {
				return cycle.WaveReport{}, err
			}
			progress.Status = cycle.WaveReported
		}
		wait := every
		if !reported {
			wait = min(every, max(until(ctx, due), time.Millisecond))
		}
		if err := workflow.Sleep(ctx, wait); err != nil {
			return cycle.WaveReport{}, err
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return cycle.WaveReport{}, workflow.NewContinueAsNewError(ctx, WaveWorkflowName, in)
		}
	}
	// Waves that report on their due date always export.
	return closeWave(ctx, in, waveID, progress, record, func() bool { return true })
}
