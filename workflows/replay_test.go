package workflows

import (
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/khula-cop/khula/internal/codec"
	"github.com/khula-cop/khula/internal/codec/codectest"
)

// TestReplayRecordedHistories replays histories recorded from real runs on
// the embedded engine (see internal/app's TestWaveEndToEndOnEmbeddedEngine
// with KHULA_RECORD_HISTORY=DIR). A change to workflow code that would break
// a running workflow fails here; guard such changes with workflow.GetVersion.
// Keep every older set: after a versioned change, record a new set and add
// it with the date in its names (cycle-at-risk-2026-11-23.json), so both
// the old and the new branch of each GetVersion stay covered.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata")
	}
	pc := codec.New(codectest.Keyring())
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
				DataConverter:    pc.DataConverter(),
				FailureConverter: pc.FailureConverter(),
			})
			if err != nil {
				t.Fatal(err)
			}
			wf := &Workflows{Forms: fakeForms{}}
			r.RegisterWorkflowWithOptions(wf.ChildCycle, workflow.RegisterOptions{Name: CycleWorkflowName})
			r.RegisterWorkflowWithOptions(wf.Referral, workflow.RegisterOptions{Name: ReferralWorkflowName})
			r.RegisterWorkflowWithOptions(wf.Meeting, workflow.RegisterOptions{Name: MeetingWorkflowName})
			r.RegisterWorkflowWithOptions(wf.Wave, workflow.RegisterOptions{Name: WaveWorkflowName})
			if _, err := os.Stat(f); err != nil {
				t.Fatal(err)
			}
			if err := r.ReplayWorkflowHistoryFromJSONFile(quietLogger{}, f); err != nil {
				t.Fatalf("replaying %s: %v", f, err)
			}
		})
	}
}
