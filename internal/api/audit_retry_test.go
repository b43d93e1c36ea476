package api_test

import (
	"context"
	"database/sql"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/khula-cop/khula/internal/api"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

// TestWriteAuditOutlivesALockedDatabase takes a write (a follow-up the
// engine accepts) while another process holds the database's write lock:
// the write has happened, so its audit entry, which cannot be appended in
// time, is kept and retried in the background, and lands once the lock is
// released. A read in the same state is refused instead (see audit).
func TestWriteAuditOutlivesALockedDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the audit write's time-out")
	}
	f := newFixture(t)
	ctx := context.Background()
	var got client.UpdateWorkflowOptions
	expectUpdate(f, &got, nil, func(_ context.Context, v any) error {
		*(v.(*cycle.FollowUpResult)) = cycle.FollowUpResult{Count: 1}
		return nil
	})
	var files []struct {
		Seq        int
		Name, File string
	}
	require.NoError(t, f.store.DB(ctx).Raw("PRAGMA database_list").Scan(&files).Error)
	require.NotEmpty(t, files)

	locker, err := sql.Open("sqlite", "file:"+files[0].File)
	require.NoError(t, err)
	defer locker.Close()
	conn, err := locker.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(ctx, "BEGIN EXCLUSIVE")
	require.NoError(t, err)

	rec := f.do(t, http.MethodPost, "/api/v1/cycles/johannesburg/3/c-0001/follow-ups", `{"note":"visited the clinic","recorded_by":"sw-1"}`,
		"Idempotency-Key", "key-00000001")
	wantJSON(t, rec, http.StatusOK, nil)
	writes := func() int {
		trail, err := f.store.AuditTrail(ctx, "c-0001", 10)
		require.NoError(t, err, "the trail is readable while the lock is held")
		n := 0
		for _, e := range trail {
			if e.Action == store.AuditWrite {
				n++
			}
		}
		return n
	}
	require.Equal(t, 0, writes(), "the entry cannot have landed while the lock is held")

	_, err = conn.ExecContext(ctx, "ROLLBACK")
	require.NoError(t, err)
	f.srv.Wait() // the last attempt, now that the lock is free
	require.Equal(t, 1, writes(), "the write's audit entry was retried until it landed")
	rep, err := f.store.VerifyAudit(ctx, nil, nil)
	require.NoError(t, err)
	require.True(t, rep.OK(), "%+v", rep)
}

// TestWriteAuditOutboxSurvivesAProcessDeath is the second half of finding
// 5: write-audit retries lived in memory and died with the process. A
// write whose entry the chain cannot take (its head table gone for a
// moment) leaves the entry in the outbox table; another server process,
// started later over the same database, appends it.
func TestWriteAuditOutboxSurvivesAProcessDeath(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var got client.UpdateWorkflowOptions
	expectUpdate(f, &got, nil, func(_ context.Context, v any) error {
		*(v.(*cycle.FollowUpResult)) = cycle.FollowUpResult{Count: 1}
		return nil
	})
	db := f.store.DB(ctx)
	require.NoError(t, db.Exec("ALTER TABLE audit_head RENAME TO audit_head_away").Error)
	rec := f.do(t, http.MethodPost, "/api/v1/cycles/johannesburg/3/c-0001/follow-ups", `{"note":"visited the clinic","recorded_by":"sw-1"}`,
		"Idempotency-Key", "key-00000002")
	wantJSON(t, rec, http.StatusOK, nil)
	queued, err := f.store.AuditOutboxLen(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, queued, "the write's entry waits on disk")

	// The first process is gone; its memory with it. The table comes back
	// and the next process drains the outbox.
	require.NoError(t, db.Exec("ALTER TABLE audit_head_away RENAME TO audit_head").Error)
	next := &api.Server{Store: f.store, Sites: f.dir}
	next.Wait()

	trail, err := f.store.AuditTrail(ctx, "c-0001", 10)
	require.NoError(t, err)
	var writes []store.AuditEntry
	for _, e := range trail {
		if e.Action == store.AuditWrite {
			writes = append(writes, e)
		}
	}
	require.Len(t, writes, 1, "the queued entry was appended once")
	require.Equal(t, "coord", writes[0].ActorName)
	queued, err = f.store.AuditOutboxLen(ctx)
	require.NoError(t, err)
	require.Zero(t, queued)
	rep, err := f.store.VerifyAudit(ctx, nil, nil)
	require.NoError(t, err)
	require.True(t, rep.OK(), "%+v", rep)
}
