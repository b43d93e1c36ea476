package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// AuditEntry is one line of the audit log: who did what to whose record, when and why.
type AuditEntry struct {
	Seq       int64 `gorm:"primaryKey;autoIncrement:false"`
	At        time.Time
	Actor     string
	ActorName string
	Role      string
	Action    string
	SiteID    string
	ChildID   string
	What      string
	Why       string
	Outcome   string
	PrevHash  string
	Hash      string
	// KeyID names the keyring key whose derived audit key signed the entry
	// ("" for entries written before the chain was keyed).
	KeyID string
}

// TableName is the audit log's table.
func (AuditEntry) TableName() string { return "audit_log" }

type auditHead struct {
	ID    int `gorm:"primaryKey"`
	Seq   int64
	Hash  string
	KeyID string
}

func (auditHead) TableName() string { return "audit_head" }

// Audit actions.
const (
	AuditRead       = "read"
	AuditWrite      = "write"
	AuditConsent    = "consent"
	AuditErase      = "erase"
	AuditBreakGlass = "break_glass"
	// AuditReplay is a write request sent again under its Idempotency-Key:
	// the engine or store answered it with the first request's outcome.
	AuditReplay = "replay"
	// AuditDenied is a request for a child's record that was refused (403).
	AuditDenied = "denied"
	AuditDecode = "decode"
	// AuditExport: a dataset left khula (with its purpose).
	AuditExport = "export"
)

// AuditKeyer gives the keys that sign the audit chain: the active one for
// new entries and, by ID, those of entries signed before a rotation. The
// payload keyring (codec.Keyring) is one.
type AuditKeyer interface {
	AuditKey() (id string, key []byte)
	AuditKeyFor(id string) ([]byte, bool)
}

// ErrNoAuditKey reports an append or a check without the keyring: an
// unkeyed entry could be rewritten by anyone who can write the database.
var ErrNoAuditKey = errors.New("store: no audit key: the audit chain is signed with a key from the payload keyring (--payload-keys-file or $KHULA_PAYLOAD_KEYS)")

// AuditKeyRotated is the action of the entry that records, in the chain
// itself, that the entries after it are signed with another key.
const AuditKeyRotated = "audit_key"

// SetAuditKeys sets the keys that sign and check the audit chain (set by
// SetFieldCipher when the cipher is also an AuditKeyer).
func (s *Store) SetAuditKeys(k AuditKeyer) { s.auditKeys = k }

// auditHash chains an entry to the one before it. Every field is in it, so
// changing any field of any entry breaks the chain from there on. An entry
// with a key ID is signed: its hash is an HMAC-SHA256 under the audit key
// derived from that keyring key, which a database writer does not hold.
// Entries without one were written before the chain was keyed.
func auditHash(e AuditEntry, key []byte) string {
	fields := []string{
		strconv.FormatInt(e.Seq, 10), e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.ActorName, e.Role, e.Action,
		e.SiteID, e.ChildID, e.What, e.Why, e.Outcome, e.PrevHash,
	}
	if e.KeyID != "" {
		fields = append(fields, "keyed:"+e.KeyID)
	}
	for i, f := range fields {
		fields[i] = strconv.Quote(f)
	}
	msg := []byte(strings.Join(fields, "\n"))
	if e.KeyID == "" {
		sum := sha256.Sum256(msg)
		return hex.EncodeToString(sum[:])
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(msg)
	return hex.EncodeToString(mac.Sum(nil))
}

// Audit appends an entry to the hash chain (numbering and signing it).
func (s *Store) Audit(ctx context.Context, e AuditEntry) (AuditEntry, error) {
	var out []AuditEntry
	err := s.with(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		out, err = s.appendAudit(tx, []AuditEntry{e})
		return err
	})
	if err != nil {
		return AuditEntry{}, err
	}
	return out[len(out)-1], nil
}

// AuditAll appends entries to the hash chain in one transaction, in the
// order given, each numbered and signed as Audit does: all are written or
// none. A list that shows many children audits each read this way at the
// cost of one append.
func (s *Store) AuditAll(ctx context.Context, entries []AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	return s.with(ctx).Transaction(func(tx *gorm.DB) error {
		_, err := s.appendAudit(tx, entries)
		return err
	})
}

// appendAudit appends entries to the chain inside tx: it locks the head,
// records a key rotation first when the head was signed with another key
// (or not at all), numbers, links and signs each entry, and moves the head.
func (s *Store) appendAudit(tx *gorm.DB, entries []AuditEntry) ([]AuditEntry, error) {
	if s.auditKeys == nil {
		return nil, ErrNoAuditKey
	}
	keyID, key := s.auditKeys.AuditKey()
	var head auditHead
	q := tx
	if s.dialect == DialectPostgres {
		q = tx.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	if err := q.Where("id = 1").Take(&head).Error; err != nil {
		return nil, fmt.Errorf("reading the audit head: %w", err)
	}
	rows := make([]AuditEntry, 0, len(entries)+1)
	if head.KeyID != keyID {
		was := "no key (an unkeyed chain)"
		if head.KeyID != "" {
			was = "key " + head.KeyID
		}
		if head.Seq == 0 {
			was = "nothing (the chain starts here)"
		}
		rows = append(rows, AuditEntry{At: entries[0].At, Actor: "system", ActorName: "khula", Role: "system",
			Action: AuditKeyRotated, What: "entries from here on are signed with key " + keyID + "; before: " + was, Outcome: "ok"})
	}
	rows = append(rows, entries...)
	seq, prev := head.Seq, head.Hash
	for i := range rows {
		rows[i].At = rows[i].At.UTC().Truncate(time.Microsecond)
		seq++
		rows[i].Seq, rows[i].PrevHash, rows[i].KeyID = seq, prev, keyID
		rows[i].Hash = auditHash(rows[i], key)
		prev = rows[i].Hash
	}
	if err := tx.CreateInBatches(rows, 200).Error; err != nil {
		return nil, fmt.Errorf("appending to the audit log: %w", err)
	}
	res := tx.Model(&auditHead{}).Where("id = 1 AND seq = ?", head.Seq).Updates(map[string]any{"seq": seq, "hash": prev, "key_id": keyID})
	if res.Error != nil {
		return nil, fmt.Errorf("moving the audit head: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return nil, errors.New("the audit head moved during the append")
	}
	return rows, nil
}

// AuditHead is the chain's last entry: its number and hash. Recorded
// outside the database (the logs, the metrics, a ticket), it lets
// VerifyAudit notice a deleted tail, which the chain alone cannot show.
type AuditHead struct {
	Seq  int64
	Hash string
}

// String is the head as `khula audit verify --head` takes it: SEQ:HASH.
func (h AuditHead) String() string { return strconv.FormatInt(h.Seq, 10) + ":" + h.Hash }

// ParseAuditHead reads a head written as SEQ:HASH.
func ParseAuditHead(s string) (AuditHead, error) {
	seqText, hash, ok := strings.Cut(strings.TrimSpace(s), ":")
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if !ok || err != nil || seq < 1 {
		return AuditHead{}, fmt.Errorf("an audit head is written SEQ:HASH (the entry number, a colon and its 64 hex digits), got %q", s)
	}
	if _, err := hex.DecodeString(hash); err != nil || len(hash) != 64 {
		return AuditHead{}, fmt.Errorf("the hash of audit head %d must be 64 hex digits", seq)
	}
	return AuditHead{Seq: seq, Hash: strings.ToLower(hash)}, nil
}

// ReadAuditHead returns the chain's head as the database has it.
func (s *Store) ReadAuditHead(ctx context.Context) (AuditHead, error) {
	var head auditHead
	if err := s.with(ctx).Where("id = 1").Take(&head).Error; err != nil {
		return AuditHead{}, fmt.Errorf("reading the audit head: %w", err)
	}
	return AuditHead{Seq: head.Seq, Hash: head.Hash}, nil
}

// AuditTrail lists the entries about a child, oldest first.
func (s *Store) AuditTrail(ctx context.Context, childID string, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	return out, s.with(ctx).Where("child_id = ?", childID).Order("seq").Limit(limit).Find(&out).Error
}

// AuditReport is what verifying the chain found.
type AuditReport struct {
	Entries int64
	// Unkeyed counts entries written before the chain was keyed: their
	// hashes prove order, not authorship.
	Unkeyed  int64
	HeadSeq  int64
	HeadHash string
	// Queued counts write entries waiting in the outbox to be appended.
	Queued   int64
	Problems []string
}

// OK reports an intact chain.
func (r AuditReport) OK() bool { return len(r.Problems) == 0 }

// VerifyAudit walks the whole chain: numbering without gaps, each entry's
// signature over its fields with the key it names, each link to the
// previous hash, every change of key recorded by a rotation entry, no
// unkeyed entry after a keyed one, and the head matching the last entry. A
// changed, inserted or deleted entry shows. known lists heads recorded
// outside the database (logs, metrics, a ticket): each must still be in
// the chain, so a deleted tail with a moved head shows too.
func (s *Store) VerifyAudit(ctx context.Context, known []AuditHead, progress func(checked int64)) (AuditReport, error) {
	var rep AuditReport
	if s.auditKeys == nil {
		return rep, ErrNoAuditKey
	}
	var head auditHead
	if err := s.with(ctx).Where("id = 1").Take(&head).Error; err != nil {
		return rep, fmt.Errorf("reading the audit head: %w", err)
	}
	rep.HeadSeq, rep.HeadHash = head.Seq, head.Hash
	if err := s.with(ctx).Model(&auditOutboxEntry{}).Count(&rep.Queued).Error; err != nil {
		return rep, fmt.Errorf("counting the audit outbox: %w", err)
	}
	wanted := map[int64]string{}
	for _, h := range known {
		wanted[h.Seq] = h.Hash
	}
	problem := func(format string, args ...any) {
		if len(rep.Problems) < maxAuditProblems {
			rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
		} else if len(rep.Problems) == maxAuditProblems {
			rep.Problems = append(rep.Problems, "more problems follow; fix or restore the log and check again")
		}
	}
	missingKeys := map[string]bool{}
	prevSeq, prevHash, prevKey := int64(0), "", ""
	const batch = 2000
	for {
		var entries []AuditEntry
		if err := s.with(ctx).Where("seq > ?", prevSeq).Order("seq").Limit(batch).Find(&entries).Error; err != nil {
			return rep, fmt.Errorf("reading the audit log after entry %d: %w", prevSeq, err)
		}
		for _, e := range entries {
			rep.Entries++
			if e.Seq != prevSeq+1 {
				problem("entries %d to %d are missing", prevSeq+1, e.Seq-1)
			}
			if e.PrevHash != prevHash {
				problem("entry %d does not link to the entry before it", e.Seq)
			}
			switch {
			case e.KeyID == "" && prevKey != "":
				problem("entry %d is unsigned although the chain was signed before it: it was inserted or rewritten", e.Seq)
			case e.KeyID != prevKey && e.Action != AuditKeyRotated:
				problem("entry %d is signed with key %q but no rotation to that key was recorded before it", e.Seq, e.KeyID)
			}
			var key []byte
			if e.KeyID == "" {
				rep.Unkeyed++
			} else if k, ok := s.auditKeys.AuditKeyFor(e.KeyID); ok {
				key = k
			} else {
				if !missingKeys[e.KeyID] {
					problem("entries from %d on are signed with key %q, which is not in the keyring: they cannot be checked", e.Seq, e.KeyID)
				}
				missingKeys[e.KeyID] = true
			}
			if (e.KeyID == "" || key != nil) && !hmac.Equal([]byte(auditHash(e, key)), []byte(e.Hash)) {
				problem("entry %d was changed after it was written", e.Seq)
			}
			if h, ok := wanted[e.Seq]; ok {
				if h != e.Hash {
					problem("entry %d is not the entry recorded as head %d earlier: the log was rewritten from there", e.Seq, e.Seq)
				}
				delete(wanted, e.Seq)
			}
			prevSeq, prevHash, prevKey = e.Seq, e.Hash, e.KeyID
		}
		if progress != nil {
			progress(rep.Entries)
		}
		if len(entries) < batch {
			break
		}
	}
	if prevSeq != head.Seq || prevHash != head.Hash {
		problem("the log ends at entry %d but its head says %d: entries at the end were deleted or added", prevSeq, head.Seq)
	}
	for _, seq := range slices.Sorted(maps.Keys(wanted)) {
		problem("entry %d, recorded earlier as the head, is gone: entries at the end were deleted and the head moved back", seq)
	}
	return rep, nil
}

// maxAuditProblems caps the problems one check lists: a rewritten log
// would otherwise list every entry after the change.
const maxAuditProblems = 100
