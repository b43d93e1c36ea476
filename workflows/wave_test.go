package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/cycle"
)

func waveInput() cycle.WaveInput {
	return cycle.WaveInput{
		SiteID: "johannesburg", Number: 3, WindowOpen: startTime, WindowClose: startTime.Add(42 * day),
		Instrument: cycle.InstrumentRef{ID: "cwtt", Version: "1.0.0"}, Respondents: respondents, Timing: testTiming, PageSize: 2,
	}
}

// pagedCohort serves a cohort of n children two at a time.
func pagedCohort(n int) func(context.Context, activities.StartPageInput) (activities.StartPageOutput, error) {
	return func(_ context.Context, in activities.StartPageInput) (activities.StartPageOutput, error) {
		start := 0
		if in.Cursor != "" {
			fmt.Sscanf(in.Cursor, "c-%d", &start)
		}
		out := activities.StartPageOutput{Cursor: in.Cursor}
		for i := start + 1; i <= n && i <= start+in.PageSize; i++ {
			out.Started++
			out.Cursor = fmt.Sprintf("c-%d", i)
		}
		out.Done = out.Started < in.PageSize
		return out, nil
	}
}

func TestWaveLaunchesEveryChildWaitsAndReports(t *testing.T) {
	f := newFixture(t)
	var statuses []string
	f.env.OnActivity(a.SaveWave, mock.Anything, mock.Anything).Return(func(_ context.Context, r cycle.WaveRecord) error {
		statuses = append(statuses, r.Status)
		return nil
	})
	f.env.OnActivity(a.StartCyclePage, mock.Anything, mock.Anything).Return(pagedCohort(5))
	// Cycles close gradually: all closed by day 50.
	f.env.OnActivity(a.WaveProgress, mock.Anything, mock.Anything).Return(func(context.Context, string) (cycle.WaveProgress, error) {
		closed := min(5, int(f.env.Now().Sub(startTime)/(10*day)))
		return cycle.WaveProgress{ByStage: map[string]int{cycle.StageClosed: closed, cycle.StageAssess: 5 - closed}}, nil
	})
	f.env.OnActivity(a.CloseWave, mock.Anything, mock.Anything).Return(cycle.WaveReport{CohortSize: 5, Outcomes: map[string]int{"low_risk": 5}}, nil)
	f.env.OnActivity(a.ExportWave, mock.Anything, mock.Anything).Return("pushed 3 aggregates", nil).Once()
	var mid cycle.WaveProgress
	f.env.RegisterDelayedCallback(func() {
		v, err := f.env.QueryWorkflow(cycle.QueryWaveProgress)
		if err == nil {
			err = v.Get(&mid)
		}
		if err != nil {
			t.Error(err)
		}
	}, 25*day)
	f.env.ExecuteWorkflow(WaveWorkflowName, waveInput())

	var rep cycle.WaveReport
	if err := f.env.GetWorkflowResult(&rep); err != nil {
		t.Fatal(err)
	}
	if rep.CohortSize != 5 {
		t.Errorf("report = %+v", rep)
	}
	if want := []string{"launching", "open", "closing"}; !slices.Equal(statuses, want) {
		t.Errorf("statuses = %v, want %v", statuses, want)
	}
	if mid.Status != cycle.WaveOpen || mid.CohortSize != 5 || mid.Open != 3 {
		t.Errorf("progress on day 25 = %+v, want open with 3 of 5 open", mid)
	}
	if got := f.env.Now().Sub(startTime); got < 50*day {
		t.Errorf("closed after %s, before the last cycle closed on day 50", got)
	}
	f.env.AssertExpectations(t)
}

func TestWaveContinuesAsNewDuringALargeLaunch(t *testing.T) {
	f := newFixture(t)
	f.env.OnActivity(a.SaveWave, mock.Anything, mock.Anything).Return(nil)
	f.env.OnActivity(a.StartCyclePage, mock.Anything, mock.Anything).Return(pagedCohort(2*maxPagesPerRun + 1))
	f.env.ExecuteWorkflow(WaveWorkflowName, waveInput())
	err := f.env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("err = %v, want continue-as-new", err)
	}
	var next cycle.WaveInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Cursor != fmt.Sprintf("c-%d", 2*maxPagesPerRun) || next.Started != 2*maxPagesPerRun || next.Phase != cycle.WavePhaseLaunch {
		t.Errorf("continued with %+v", next)
	}
}

func TestRetentionWorkflowRunsTheActivity(t *testing.T) {
	f := newFixture(t)
	f.env.OnActivity(a.RunRetention, mock.Anything, "johannesburg").Return("3 children de-identified", nil).Once()
	f.env.ExecuteWorkflow(RetentionWorkflowName, "johannesburg")
	var res string
	if err := f.env.GetWorkflowResult(&res); err != nil || res != "3 children de-identified" {
		t.Fatalf("result %q, %v", res, err)
	}
	f.env.AssertExpectations(t)
}

func TestWaveReportsOnItsDueDateWhileACycleStaysOpen(t *testing.T) {
	f := newFixture(t)
	f.env.OnActivity(a.SaveWave, mock.Anything, mock.Anything).Return(nil)
	f.env.OnActivity(a.StartCyclePage, mock.Anything, mock.Anything).Return(pagedCohort(3))
	// Two cycles close by day 45; the third (a plan nobody agrees) on day 150.
	f.env.OnActivity(a.WaveProgress, mock.Anything, mock.Anything).Return(func(context.Context, string) (cycle.WaveProgress, error) {
		closed := 0
		if f.env.Now().Sub(startTime) >= 45*day {
			closed = 2
		}
		if f.env.Now().Sub(startTime) >= 150*day {
			closed = 3
		}
		return cycle.WaveProgress{ByStage: map[string]int{cycle.StageClosed: closed, cycle.StagePlan: 3 - closed}}, nil
	})
	type closeCall struct {
		status string
		day    float64
	}
	var calls []closeCall
	f.env.OnActivity(a.CloseWave, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.CloseWaveInput) (cycle.WaveReport, error) {
		calls = append(calls, closeCall{in.Wave.Status, f.env.Now().Sub(startTime).Hours() / 24})
		return cycle.WaveReport{CohortSize: 3}, nil
	})
	f.env.OnActivity(a.ExportWave, mock.Anything, mock.Anything).Return("pushed", nil).Once()
	in := waveInput()
	in.Timing.ReportAfter = 30 * day // window closes on day 42: report due on day 72
	f.env.ExecuteWorkflow(WaveWorkflowName, in)

	if err := f.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 {
		t.Fatalf("CloseWave calls = %+v, want the report on its date and the closing one", calls)
	}
	if calls[0].status != cycle.WaveReported || calls[0].day < 72 || calls[0].day > 73 {
		t.Errorf("first report = %+v, want reported on day 72", calls[0])
	}
	if calls[1].status != cycle.WaveClosed || calls[1].day < 150 {
		t.Errorf("last report = %+v, want closed once the last cycle closed", calls[1])
	}
}

func TestWaveCloseWindowSignalClosesItEarlyAndTellsTheCycles(t *testing.T) {
	f := newFixture(t)
	f.env.OnActivity(a.SaveWave, mock.Anything, mock.Anything).Return(nil)
	f.env.OnActivity(a.StartCyclePage, mock.Anything, mock.Anything).Return(pagedCohort(2))
	f.env.OnActivity(a.WaveProgress, mock.Anything, mock.Anything).Return(cycle.WaveProgress{ByStage: map[string]int{cycle.StageClosed: 2}}, nil)
	var forwarded activities.CloseWindowsInput
	var forwardedAt float64
	f.env.OnActivity(a.CloseCycleWindows, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.CloseWindowsInput) (int, error) {
		forwarded, forwardedAt = in, f.env.Now().Sub(startTime).Hours()/24
		return 2, nil
	}).Once()
	f.env.OnActivity(a.CloseWave, mock.Anything, mock.Anything).Return(cycle.WaveReport{CohortSize: 2}, nil)
	f.env.OnActivity(a.ExportWave, mock.Anything, mock.Anything).Return("pushed", nil)
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(cycle.SignalCloseWindow, cycle.CloseWindowSignal{By: "programme manager"})
	}, 10*day)
	f.env.ExecuteWorkflow(WaveWorkflowName, waveInput())

	if err := f.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if forwarded.Phase != cycle.PhaseBaseline || forwarded.WaveID != "wave/johannesburg/3" || forwardedAt > 11 {
		t.Errorf("forwarded %+v on day %.1f, want baseline on day 10", forwarded, forwardedAt)
	}
	f.env.AssertExpectations(t)
}
