package api_test

import (
	"context"
	"database/sql"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

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
	rep, err := f.store.VerifyAudit(ctx, nil)
	require.NoError(t, err)
	require.True(t, rep.OK(), "%+v", rep)
}
