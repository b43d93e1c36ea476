package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/app"
	"github.com/khula-cop/khula/internal/codec/codectest"
	"github.com/khula-cop/khula/internal/store"
)

// TestAuditVerifyTakesAKnownHead: `khula audit verify` checks the signed
// chain with the keyring, and with --head also that a head recorded
// earlier is still there: a tail deleted with the head moved back passes
// the chain check alone but not this.
func TestAuditVerifyTakesAKnownHead(t *testing.T) {
	ctx := context.Background()
	t.Setenv(app.EnvPayloadKeys, codectest.Spec)
	dsn := filepath.Join(t.TempDir(), "khula.db")
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.SetFieldCipher(codectest.Keyring())
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for range 4 {
		if _, err := st.Audit(ctx, store.AuditEntry{At: at, Actor: "u1", ActorName: "sw", Role: "practitioner", Action: store.AuditRead, ChildID: "ch-1", What: "read"}); err != nil {
			t.Fatal(err)
		}
	}
	head, err := st.ReadAuditHead(ctx)
	if err != nil {
		t.Fatal(err)
	}

	code, out, stderr := run(t, "", "audit", "verify", "--db", dsn, "--head", head.String())
	if code != 0 || !strings.Contains(out, "the audit log is intact") || !strings.Contains(out, "the 1 head(s) you gave are in the chain") {
		t.Fatalf("intact log: exit %d\n%s%s", code, out, stderr)
	}

	var fourth store.AuditEntry
	if err := st.DB(ctx).Where("seq = 4").Take(&fourth).Error; err != nil {
		t.Fatal(err)
	}
	if err := st.DB(ctx).Exec("DELETE FROM audit_log WHERE seq = 5").Error; err != nil {
		t.Fatal(err)
	}
	if err := st.DB(ctx).Exec("UPDATE audit_head SET seq = 4, hash = ? WHERE id = 1", fourth.Hash).Error; err != nil {
		t.Fatal(err)
	}
	if code, out, _ := run(t, "", "audit", "verify", "--db", dsn); code != 0 {
		t.Fatalf("without a known head the shortened chain is consistent (exit %d):\n%s", code, out)
	}
	code, out, _ = run(t, "", "audit", "verify", "--db", dsn, "--head", head.String())
	if code != 1 || !strings.Contains(out, "PROBLEM: entry 5, recorded earlier as the head, is gone") {
		t.Fatalf("deleted tail with --head: exit %d\n%s", code, out)
	}

	if code, _, stderr := run(t, "", "audit", "verify", "--db", dsn, "--head", "5"); code != 2 || !strings.Contains(stderr, "SEQ:HASH") {
		t.Fatalf("a malformed --head: exit %d %s", code, stderr)
	}
	t.Setenv(app.EnvPayloadKeys, "")
	if code, _, stderr := run(t, "", "audit", "verify", "--db", dsn); code != 2 || !strings.Contains(stderr, "no payload keys") {
		t.Fatalf("without the keyring: exit %d %s", code, stderr)
	}
}
