package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

// TestConcurrentWrites runs retried activities at once, as a worker with many
// slots does: every write must succeed (no SQLITE_BUSY) and land once.
func TestConcurrentWrites(t *testing.T) {
	const (
		children = 8
		attempts = 3 // each stage record is delivered this many times at once
		seqs     = 3
	)
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	ids := make([]string, children)
	for i := range ids {
		ids[i] = fmt.Sprintf("cc%02d", i)
	}
	addChildren(t, st, siteA, schoolA1, ids...)
	addWave(t, st, siteA, 1)
	stages := []string{cycle.StageEnrol, cycle.StageAssess, cycle.StageScore}

	var wg sync.WaitGroup
	errs := make(chan error, children*attempts*seqs)
	for _, child := range ids {
		for seq := 1; seq <= seqs; seq++ {
			for range attempts {
				wg.Go(func() {
					errs <- st.RecordStage(ctx, cycle.StageRecord{
						CycleID: cycle.CycleID(siteA, 1, child), WaveID: cycle.WaveID(siteA, 1), SiteID: siteA, SchoolID: schoolA1,
						ChildID: child, Seq: seq, Stage: stages[seq-1], At: t0,
					})
				})
			}
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent write: %v", err)
		}
	}

	if n := count(t, st, &store.Cycle{}, ""); n != children {
		t.Errorf("%d cycles, want %d", n, children)
	}
	if n := count(t, st, &store.StageEvent{}, ""); n != children*seqs {
		t.Errorf("%d stage events, want %d", n, children*seqs)
	}
	// Whatever the arrival order, every cycle ends at the newest seq.
	if n := count(t, st, &store.Cycle{}, "stage_seq = ? AND stage = ?", seqs, cycle.StageScore); n != children {
		t.Errorf("%d cycles at seq %d (score), want %d", n, seqs, children)
	}
}
