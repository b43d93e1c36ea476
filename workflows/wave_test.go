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
