package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/codec"
	"github.com/khula-cop/khula/internal/store"
)

// fillAudit appends n reads of two children: with the entry that records
// the chain's key, the chain holds n+1 entries.
func fillAudit(t *testing.T, st *store.Store, n int) {
	t.Helper()
	for i := range n {
		if _, err := st.Audit(context.Background(), store.AuditEntry{At: t0, Actor: "u1", ActorName: "sw", Role: "practitioner", Action: store.AuditRead,
			SiteID: siteA, ChildID: []string{"ch-1", "ch-2"}[i%2], What: "GET /api/v1/cycles/:site/:wave/:child", Outcome: "200"}); err != nil {
			t.Fatal(err)
		}
	}
}

// unkeyedHash is the chain's hash as an attacker without the keyring can
// compute it: SHA-256 over the fields, the way the chain was before it was
// keyed.
func unkeyedHash(e store.AuditEntry) string {
	fields := []string{strconv.FormatInt(e.Seq, 10), e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.ActorName, e.Role, e.Action,
		e.SiteID, e.ChildID, e.What, e.Why, e.Outcome, e.PrevHash}
	for i, f := range fields {
		fields[i] = strconv.Quote(f)
	}
	sum := sha256.Sum256([]byte(strings.Join(fields, "\n")))
	return hex.EncodeToString(sum[:])
}

// rewriteFrom edits entry seq with change and recomputes every hash from
// there to the head with hash, as an attacker who can write the database
// would.
func rewriteFrom(t *testing.T, st *store.Store, seq int64, change func(*store.AuditEntry), hash func(store.AuditEntry) string) {
	t.Helper()
	ctx := context.Background()
	var entries []store.AuditEntry
	if err := st.DB(ctx).Order("seq").Find(&entries).Error; err != nil {
		t.Fatal(err)
	}
	prev := ""
	for _, e := range entries {
		if e.Seq == seq {
			change(&e)
		}
		if e.Seq >= seq {
			e.PrevHash = prev
			e.Hash = hash(e)
			if err := st.DB(ctx).Save(&e).Error; err != nil {
				t.Fatal(err)
			}
		}
		prev = e.Hash
	}
	last := entries[len(entries)-1]
	if err := st.DB(ctx).Exec("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", last.Seq, prev).Error; err != nil {
		t.Fatal(err)
	}
}

func TestAuditChainDetectsTampering(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		tamper  string
		problem string
	}{
		{"intact", "", ""},
		{"a field changed", "UPDATE audit_log SET actor_name = 'someone else' WHERE seq = 3", "entry 3 was changed"},
		{"an entry deleted", "DELETE FROM audit_log WHERE seq = 2", "entries 2 to 2 are missing"},
		{"the last entry deleted", "DELETE FROM audit_log WHERE seq = 6", "entries at the end were deleted"},
		{"an entry rewritten with a fresh hash", "UPDATE audit_log SET why = 'x', hash = 'abc' WHERE seq = 4", "entry 4 was changed"},
		{"the signing key renamed", "UPDATE audit_log SET key_id = 'other' WHERE seq = 5", "no rotation to that key was recorded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			fillAudit(t, st, 5)
			if tc.tamper != "" {
				if err := st.DB(ctx).Exec(tc.tamper).Error; err != nil {
					t.Fatal(err)
				}
			}
			rep, err := st.VerifyAudit(ctx, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.problem == "" {
				if !rep.OK() || rep.Entries != 6 || rep.HeadSeq != 6 || rep.Unkeyed != 0 {
					t.Fatalf("intact chain reported %+v", rep)
				}
				return
			}
			if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "; "), tc.problem) {
				t.Fatalf("problems %v, want one mentioning %q", rep.Problems, tc.problem)
			}
		})
	}
	st := newStore(t)
	fillAudit(t, st, 5)
	trail, err := st.AuditTrail(ctx, "ch-1", 100)
	if err != nil || len(trail) != 3 || trail[0].Seq != 2 || trail[2].Seq != 6 {
		t.Fatalf("trail of ch-1 = %+v, %v", trail, err)
	}
}

// TestAuditChainRewriteDetected is finding 5 of the penetration test: an
// entry edited and every hash after it recomputed, head included, used to
// pass `khula audit verify`. The chain is signed with a key from the
// keyring now: recomputing without it (the old unkeyed way, or with a key
// of one's own) is caught; so is a deleted tail with the head moved back,
// given a head recorded outside the database.
func TestAuditChainRewriteDetected(t *testing.T) {
	ctx := context.Background()
	attackerKey := []byte("an attacker's own key, 32 bytes!")
	tests := []struct {
		name    string
		rewrite func(t *testing.T, st *store.Store)
		known   func(head store.AuditHead) []store.AuditHead
		problem string
	}{
		{
			name: "an entry edited, hashes recomputed without a key",
			rewrite: func(t *testing.T, st *store.Store) {
				rewriteFrom(t, st, 3, func(e *store.AuditEntry) { e.ActorName = "someone else"; e.KeyID = "" }, unkeyedHash)
			},
			problem: "entry 3 is unsigned although the chain was signed before it",
		},
		{
			name: "an entry edited, hashes recomputed with the attacker's own key",
			rewrite: func(t *testing.T, st *store.Store) {
				rewriteFrom(t, st, 3, func(e *store.AuditEntry) { e.Why = "routine" }, func(e store.AuditEntry) string {
					return hmacHex(attackerKey, e)
				})
			},
			problem: "entry 3 was changed after it was written",
		},
		{
			name: "the newest entries deleted and the head moved back",
			rewrite: func(t *testing.T, st *store.Store) {
				var e store.AuditEntry
				if err := st.DB(ctx).Where("seq = 4").Take(&e).Error; err != nil {
					t.Fatal(err)
				}
				if err := st.DB(ctx).Exec("DELETE FROM audit_log WHERE seq > 4").Error; err != nil {
					t.Fatal(err)
				}
				if err := st.DB(ctx).Exec("UPDATE audit_head SET seq = 4, hash = ? WHERE id = 1", e.Hash).Error; err != nil {
					t.Fatal(err)
				}
			},
			known:   func(head store.AuditHead) []store.AuditHead { return []store.AuditHead{head} },
			problem: "entry 6, recorded earlier as the head, is gone",
		},
		{
			name: "the whole log replaced by an unkeyed one from the first entry",
			rewrite: func(t *testing.T, st *store.Store) {
				rewriteFrom(t, st, 1, func(e *store.AuditEntry) { e.KeyID = "" }, unkeyedHash)
				if err := st.DB(ctx).Exec("UPDATE audit_log SET key_id = ''").Error; err != nil {
					t.Fatal(err)
				}
			},
			known:   func(head store.AuditHead) []store.AuditHead { return []store.AuditHead{head} },
			problem: "is not the entry recorded as head 6 earlier",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			fillAudit(t, st, 5)
			head, err := st.ReadAuditHead(ctx)
			if err != nil || head.Seq != 6 {
				t.Fatalf("head = %+v, %v", head, err)
			}
			tc.rewrite(t, st)
			var known []store.AuditHead
			if tc.known != nil {
				known = tc.known(head)
			}
			rep, err := st.VerifyAudit(ctx, known, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "; "), tc.problem) {
				t.Fatalf("problems %v, want one mentioning %q", rep.Problems, tc.problem)
			}
		})
	}
}

func hmacHex(key []byte, e store.AuditEntry) string {
	return store.AuditHashForTest(e, key)
}

// keyring builds a keyring of named 32-byte keys, the first active.
func keyring(t *testing.T, active string, ids ...string) *codec.Keyring {
	t.Helper()
	spec := "ACTIVE=" + active
	for _, id := range ids {
		spec += ";" + id + ":" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat(id[:1], 32)))
	}
	k, err := codec.ParseKeyring(spec)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestAuditKeyRotationIsRecordedInTheChain: entries signed before a
// rotation stay checkable with the old key kept in the keyring; the
// rotation itself is an entry of the chain; without the old key those
// entries are reported as not checkable, never as intact.
func TestAuditKeyRotationIsRecordedInTheChain(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	st.SetFieldCipher(keyring(t, "k1", "k1"))
	fillAudit(t, st, 2) // 1 (keyed with k1), 2, 3
	st.SetFieldCipher(keyring(t, "k2", "k1", "k2"))
	fillAudit(t, st, 2) // 4 (rotation to k2), 5, 6

	rep, err := st.VerifyAudit(ctx, nil, nil)
	if err != nil || !rep.OK() || rep.Entries != 6 {
		t.Fatalf("after a rotation: %+v, %v", rep, err)
	}
	var rotation store.AuditEntry
	if err := st.DB(ctx).Where("seq = 4").Take(&rotation).Error; err != nil {
		t.Fatal(err)
	}
	if rotation.Action != store.AuditKeyRotated || rotation.KeyID != "k2" || !strings.Contains(rotation.What, "signed with key k2; before: key k1") {
		t.Fatalf("entry 4 = %+v, want the rotation from k1 to k2", rotation)
	}

	st.SetFieldCipher(keyring(t, "k2", "k2"))
	rep, err = st.VerifyAudit(ctx, nil, nil)
	if err != nil || rep.OK() || !strings.Contains(strings.Join(rep.Problems, "; "), `entries from 1 on are signed with key "k1", which is not in the keyring`) {
		t.Fatalf("without the old key: %+v, %v", rep, err)
	}
}

// TestAuditChainKeepsEntriesFromBeforeItWasKeyed: a database whose chain
// was written unkeyed (before this version) checks as it did, and the
// first keyed entry records the change.
func TestAuditChainKeepsEntriesFromBeforeItWasKeyed(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	prev := ""
	for seq := int64(1); seq <= 3; seq++ {
		e := store.AuditEntry{Seq: seq, At: t0, Actor: "u1", ActorName: "sw", Role: "practitioner", Action: store.AuditRead, SiteID: siteA, ChildID: "ch-1", What: "old read", Outcome: "200", PrevHash: prev}
		e.Hash = unkeyedHash(e)
		if err := st.DB(ctx).Create(&e).Error; err != nil {
			t.Fatal(err)
		}
		prev = e.Hash
	}
	if err := st.DB(ctx).Exec("UPDATE audit_head SET seq = 3, hash = ? WHERE id = 1", prev).Error; err != nil {
		t.Fatal(err)
	}
	fillAudit(t, st, 1) // 4 records the key, 5
	rep, err := st.VerifyAudit(ctx, nil, nil)
	if err != nil || !rep.OK() || rep.Entries != 5 || rep.Unkeyed != 3 {
		t.Fatalf("legacy then keyed: %+v, %v", rep, err)
	}
	trail, _ := st.AuditTrail(ctx, "", 10)
	if len(trail) != 1 || trail[0].Action != store.AuditKeyRotated || !strings.Contains(trail[0].What, "before: no key") {
		t.Fatalf("the change to a keyed chain is not recorded: %+v", trail)
	}
}

func TestAuditNeedsTheKeyring(t *testing.T) {
	st := newStore(t)
	st.SetAuditKeys(nil)
	if _, err := st.Audit(context.Background(), store.AuditEntry{At: t0, Actor: "u1", Action: store.AuditRead, What: "x"}); err != store.ErrNoAuditKey {
		t.Fatalf("Audit without keys = %v, want ErrNoAuditKey", err)
	}
}

func TestParseAuditHead(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	tests := []struct {
		in   string
		want store.AuditHead
		err  string
	}{
		{"41:" + hash, store.AuditHead{Seq: 41, Hash: hash}, ""},
		{" 41:" + strings.ToUpper(hash) + "\n", store.AuditHead{Seq: 41, Hash: hash}, ""},
		{hash, store.AuditHead{}, "SEQ:HASH"},
		{"0:" + hash, store.AuditHead{}, "SEQ:HASH"},
		{"41:abc", store.AuditHead{}, "64 hex digits"},
		{"41:" + strings.Repeat("zz", 32), store.AuditHead{}, "64 hex digits"},
	}
	for _, tc := range tests {
		got, err := store.ParseAuditHead(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseAuditHead(%q) = %v, want an error mentioning %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseAuditHead(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if got.String() != strconv.FormatInt(tc.want.Seq, 10)+":"+tc.want.Hash {
			t.Errorf("String() = %q", got.String())
		}
	}
}

// TestAuditOutboxDrainsOnceInOrder: entries queued while the chain could
// not take them are appended in the order queued, exactly once, and the
// outbox is empty after.
func TestAuditOutboxDrainsOnceInOrder(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	fillAudit(t, st, 1) // 1, 2
	for i, what := range []string{"first", "second", "third"} {
		if err := st.QueueAudit(ctx, store.AuditEntry{At: t0, Actor: "u1", Role: "practitioner", Action: store.AuditWrite, SiteID: siteA, ChildID: "ch-9", What: what, Outcome: "200"},
			t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := st.AuditOutboxLen(ctx); err != nil || n != 3 {
		t.Fatalf("outbox = %d, %v; want 3", n, err)
	}
	n, err := st.DrainAuditOutbox(ctx, 2)
	if err != nil || n != 2 {
		t.Fatalf("first drain = %d, %v; want 2", n, err)
	}
	if n, err = st.DrainAuditOutbox(ctx, 2); err != nil || n != 1 {
		t.Fatalf("second drain = %d, %v; want 1", n, err)
	}
	if n, err = st.DrainAuditOutbox(ctx, 2); err != nil || n != 0 {
		t.Fatalf("third drain = %d, %v; want 0", n, err)
	}
	trail, err := st.AuditTrail(ctx, "ch-9", 10)
	if err != nil || len(trail) != 3 {
		t.Fatalf("trail = %+v, %v", trail, err)
	}
	for i, want := range []string{"first", "second", "third"} {
		if trail[i].What != want || trail[i].Seq != int64(3+i) {
			t.Errorf("entry %d = %d %q, want %d %q", i, trail[i].Seq, trail[i].What, 3+i, want)
		}
	}
	rep, err := st.VerifyAudit(ctx, nil, nil)
	if err != nil || !rep.OK() || rep.Queued != 0 {
		t.Fatalf("after the drain: %+v, %v", rep, err)
	}
}
