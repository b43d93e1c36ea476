package activities

import (
	"context"
	"encoding/json"
	"fmt"

	"go.temporal.io/sdk/activity"

	"github.com/khula-cop/khula/internal/cycle"
)

// SaveWave mirrors a wave's state into the database.
func (a *Activities) SaveWave(ctx context.Context, r cycle.WaveRecord) error {
	if err := a.Records.SaveWave(ctx, r); err != nil {
		return fmt.Errorf("saving wave %s: %w", r.WaveID, err)
	}
	return nil
}

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
	cursor := in.Cursor
	var last string
	if activity.HasHeartbeatDetails(ctx) && activity.GetHeartbeatDetails(ctx, &last) == nil && last > cursor {
		cursor = last
	}
	members, err := a.Records.CohortPage(ctx, in.Wave.SiteID, cursor, in.PageSize)
	if err != nil {
		return StartPageOutput{}, fmt.Errorf("listing cohort of %s: %w", cycle.WaveID(in.Wave.SiteID, in.Wave.Number), err)
	}
	out := StartPageOutput{Cursor: cursor, Done: len(members) < in.PageSize}
	w := in.Wave
	for _, m := range members {
		started, err := a.Starter.StartCycle(ctx, cycle.CycleInput{
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
		if err != nil {
			return out, fmt.Errorf("starting cycle of %s: %w", m.ChildID, err)
		}
		if started {
			out.Started++
		} else {
			out.Existing++
		}
		out.Cursor = m.ChildID
		activity.RecordHeartbeat(ctx, out.Cursor)
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

// CloseWave writes the wave report and marks the wave closed.
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
	rec.Status = cycle.WaveClosed
	rec.Report = doc
	rec.CohortSize = rep.CohortSize
	rec.At = a.now()
	if err := a.Records.SaveWave(ctx, rec); err != nil {
		return cycle.WaveReport{}, fmt.Errorf("closing %s: %w", in.Wave.WaveID, err)
	}
	return rep, nil
}
