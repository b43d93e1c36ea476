package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/plugins"
)

// SaveWave mirrors a wave's state into the database.
func (a *Activities) SaveWave(ctx context.Context, r cycle.WaveRecord) error {
	if err := a.Records.SaveWave(ctx, r); err != nil {
		return fmt.Errorf("saving wave %s: %w", r.WaveID, err)
	}
	return nil
}

// startChunk is how many cycles StartCyclePage starts concurrently.
const startChunk = 16

// StartPageInput asks for the next page of a wave's cohort to be started.
type StartPageInput struct {
	Wave     cycle.WaveInput `json:"wave"`
	Cursor   string          `json:"cursor"`
	PageSize int             `json:"page_size"`
}

// StartPageOutput reports a page of started cycles.
type StartPageOutput struct {
	Started  int    `json:"started"`
	Existing int    `json:"existing"`
	Cursor   string `json:"cursor"`
	Done     bool   `json:"done"`
}

// StartCyclePage starts one ChildCycleWorkflow per child in the next page of
// the cohort, in child ID order after the cursor. Cycle IDs are
// deterministic, so a retried page or a relaunched wave finds the cycles
// already running and starts nothing twice. It heartbeats its progress so a
// retry resumes after the last child started.
func (a *Activities) StartCyclePage(ctx context.Context, in StartPageInput) (StartPageOutput, error) {
	// A retry resumes after the last chunk an earlier attempt finished,
	// keeping that attempt's counts.
	out := StartPageOutput{Cursor: in.Cursor}
	var prev StartPageOutput
	if activity.HasHeartbeatDetails(ctx) && activity.GetHeartbeatDetails(ctx, &prev) == nil && prev.Cursor > in.Cursor {
		out = prev
	}
	limit := in.PageSize - out.Started - out.Existing
	if limit <= 0 {
		return out, nil
	}
	members, err := a.Records.CohortPage(ctx, in.Wave.SiteID, out.Cursor, limit)
	if err != nil {
		return StartPageOutput{}, fmt.Errorf("listing cohort of %s: %w", cycle.WaveID(in.Wave.SiteID, in.Wave.Number), err)
	}
	out.Done = len(members) < limit
	w := in.Wave
	// Start a chunk of cycles at once, then heartbeat the chunk's last child:
	// a retry resumes after the last chunk that fully started.
	for lo := 0; lo < len(members); lo += startChunk {
		chunk := members[lo:min(lo+startChunk, len(members))]
		started := make([]bool, len(chunk))
		errs := make([]error, len(chunk))
		var wg sync.WaitGroup
		for i, m := range chunk {
			wg.Add(1)
			go func() {
				defer wg.Done()
				started[i], errs[i] = a.Starter.StartCycle(ctx, cycle.CycleInput{
					SiteID:       w.SiteID,
					WaveID:       cycle.WaveID(w.SiteID, w.Number),
					Wave:         w.Number,
					ChildID:      m.ChildID,
					SchoolID:     m.SchoolID,
					Instrument:   w.Instrument,
					Respondents:  w.Respondents,
					WindowClose:  w.WindowClose,
					Timing:       w.Timing,
					ServiceTypes: w.ServiceTypes,
				})
			}()
		}
		wg.Wait()
		for i, m := range chunk {
			if errs[i] != nil {
				return out, fmt.Errorf("starting cycle of %s: %w", m.ChildID, errs[i])
			}
			if started[i] {
				out.Started++
			} else {
				out.Existing++
			}
		}
		out.Cursor = chunk[len(chunk)-1].ChildID
		activity.RecordHeartbeat(ctx, out)
	}
	return out, nil
}

// WaveProgress counts a wave's cycles by stage.
func (a *Activities) WaveProgress(ctx context.Context, waveID string) (cycle.WaveProgress, error) {
	p, err := a.Records.WaveProgress(ctx, waveID)
	if err != nil {
		return cycle.WaveProgress{}, fmt.Errorf("progress of %s: %w", waveID, err)
	}
	p.UpdatedAt = a.now()
	return p, nil
}

// CloseWaveInput asks for a wave's report and closure.
type CloseWaveInput struct {
	Wave cycle.WaveRecord `json:"wave"`
}

// CloseWave writes the wave report and marks the wave closed, or, when the
// record's status is reported, writes the report of a wave whose report
// date came with cycles still open (counted under "open") and keeps it
// reported.
func (a *Activities) CloseWave(ctx context.Context, in CloseWaveInput) (cycle.WaveReport, error) {
	rep, err := a.Records.WaveReport(ctx, in.Wave.WaveID)
	if err != nil {
		return cycle.WaveReport{}, fmt.Errorf("report of %s: %w", in.Wave.WaveID, err)
	}
	doc, err := json.Marshal(rep)
	if err != nil {
		return cycle.WaveReport{}, fmt.Errorf("report of %s: %w", in.Wave.WaveID, err)
	}
	rec := in.Wave
	if rec.Status != cycle.WaveReported {
		rec.Status = cycle.WaveClosed
	}
	rec.Report = doc
	rec.CohortSize = rep.CohortSize
	rec.At = a.now()
	if err := a.Records.SaveWave(ctx, rec); err != nil {
		return cycle.WaveReport{}, fmt.Errorf("closing %s: %w", in.Wave.WaveID, err)
	}
	return rep, nil
}

// ExportInput asks for a closed wave's aggregates to be pushed to the site's export plugin.
type ExportInput struct {
	SiteID   string    `json:"site_id"`
	WaveID   string    `json:"wave_id"`
	Launched time.Time `json:"launched"`
}

// ExportWave pushes a closed wave's per-school aggregates (outcomes and
// baseline risk by domain) through the site's export plugin, once per wave
// however often it is retried. Sites without an export plugin skip it.
func (a *Activities) ExportWave(ctx context.Context, in ExportInput) (string, error) {
	site, err := a.site(in.SiteID)
	if err != nil {
		return "", err
	}
	if site.Plugins.Export.Builtin == "" && site.Plugins.Export.Path == "" {
		return "no export plugin configured", nil
	}
	aggs, err := a.Records.WaveAggregates(ctx, in.WaveID)
	if err != nil {
		return "", fmt.Errorf("aggregates of %s: %w", in.WaveID, err)
	}
	exp, err := a.Plugins.Exporter(in.SiteID)
	if err != nil {
		return "", fmt.Errorf("export plugin for %s: %w", in.SiteID, err)
	}
	batch := plugins.ExportBatch{IdempotencyKey: "export/" + in.WaveID, SiteID: in.SiteID}
	period := in.Launched.UTC().Format("200601")
	for _, ag := range aggs {
		batch.Aggregates = append(batch.Aggregates, plugins.ExportAggregate{SchoolID: ag.SchoolID, Period: period, Key: ag.Key, Value: fmt.Sprint(ag.Value)})
	}
	rec, err := exp.Push(ctx, batch)
	if err != nil {
		return "", pluginError("export", err)
	}
	return fmt.Sprintf("pushed %d aggregates (%s)", len(batch.Aggregates), rec.PushRef), nil
}

// CloseWindowsInput forwards a wave's early window close to its cycles.
type CloseWindowsInput struct {
	WaveID string `json:"wave_id"`
	Phase  string `json:"phase"`
	By     string `json:"by,omitempty"`
}

// CloseCycleWindows signals every open cycle of a wave to stop waiting for
// the phase's forms, a page at a time, heartbeating its place so a retry
// resumes there. A cycle that closed meanwhile is skipped.
func (a *Activities) CloseCycleWindows(ctx context.Context, in CloseWindowsInput) (int, error) {
	after := ""
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &after)
	}
	sent := 0
	for {
		ids, err := a.Records.OpenCycles(ctx, in.WaveID, after, 250)
		if err != nil {
			return sent, fmt.Errorf("listing open cycles of %s: %w", in.WaveID, err)
		}
		for _, id := range ids {
			ok, err := a.Starter.SignalCycle(ctx, id, cycle.SignalCloseWindow, cycle.CloseWindowSignal{Phase: in.Phase, By: in.By})
			if err != nil {
				return sent, err
			}
			if ok {
				sent++
			}
			after = id
		}
		activity.RecordHeartbeat(ctx, after)
		if len(ids) < 250 {
			return sent, nil
		}
	}
}
