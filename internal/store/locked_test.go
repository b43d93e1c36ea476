package store_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
)

// TestReadsGoOnWhileAnotherProcessHoldsTheWriteLock holds SQLite's write
// lock from another connection (a backup tool, a second process) while
// writers queue for it: reads answer at once, as WAL allows, instead of
// queueing behind the writers for their connections; the writers fail once
// the busy timeout passes, and succeed after the lock is released.
func TestReadsGoOnWhileAnotherProcessHoldsTheWriteLock(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the busy timeout")
	}
	ctx := context.Background()
	st, path := newSQLiteStore(t)
	addSites(t, st)
	wave := cycle.WaveRecord{WaveID: "wave/alpha/1", SiteID: siteA, Number: 1, WindowOpen: t0, WindowClose: t0.Add(time.Hour), Status: cycle.WaveOpen, At: t0}
	if err := st.SaveWave(ctx, wave); err != nil {
		t.Fatal(err)
	}

	locker, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close()
	conn, err := locker.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}

	// More writers than the writer pool has connections, all waiting.
	var wg sync.WaitGroup
	writeErrs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := wave
			w.At = t0.Add(time.Duration(i+1) * time.Minute)
			writeErrs <- st.SaveWave(ctx, w)
		}()
	}
	time.Sleep(200 * time.Millisecond)

	readCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := st.Wave(readCtx, wave.WaveID); err != nil {
		t.Fatalf("a read while writers wait for the lock: %v", err)
	}
	if _, err := st.WaveProgress(readCtx, wave.WaveID); err != nil {
		t.Fatalf("a progress read while writers wait for the lock: %v", err)
	}

	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(writeErrs)
	for err := range writeErrs {
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Logf("a writer gave up while the lock was held: %v", err)
		}
	}
	if err := st.SaveWave(ctx, wave); err != nil {
		t.Fatalf("a write after the lock was released: %v", err)
	}
}
