package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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
}

// TableName is the audit log's table.
func (AuditEntry) TableName() string { return "audit_log" }

type auditHead struct {
	ID   int `gorm:"primaryKey"`
	Seq  int64
	Hash string
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

// auditHash chains an entry to the one before it. Every field is in it, so
// changing any field of any entry breaks the chain from there on.
func auditHash(e AuditEntry) string {
	fields := []string{
		strconv.FormatInt(e.Seq, 10), e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.ActorName, e.Role, e.Action,
		e.SiteID, e.ChildID, e.What, e.Why, e.Outcome, e.PrevHash,
	}
	for i, f := range fields {
		fields[i] = strconv.Quote(f)
	}
	sum := sha256.Sum256([]byte(strings.Join(fields, "\n")))
	return hex.EncodeToString(sum[:])
}

// Audit appends an entry to the hash chain (numbering and hashing it).
func (s *Store) Audit(ctx context.Context, e AuditEntry) (AuditEntry, error) {
	e.At = e.At.UTC().Truncate(time.Microsecond)
	err := s.with(ctx).Transaction(func(tx *gorm.DB) error {
		var head auditHead
		q := tx
		if s.dialect == DialectPostgres {
			q = tx.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		if err := q.Where("id = 1").Take(&head).Error; err != nil {
			return fmt.Errorf("reading the audit head: %w", err)
		}
		e.Seq, e.PrevHash = head.Seq+1, head.Hash
		e.Hash = auditHash(e)
		if err := tx.Create(&e).Error; err != nil {
			return fmt.Errorf("appending to the audit log: %w", err)
		}
		res := tx.Model(&auditHead{}).Where("id = 1 AND seq = ?", head.Seq).Updates(map[string]any{"seq": e.Seq, "hash": e.Hash})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return errors.New("the audit head moved during the append")
		}
		return nil
	})
	return e, err
}

// AuditAll appends entries to the hash chain in one transaction, in the
// order given, each numbered and hashed as Audit does: all are written or
// none. A list that shows many children audits each read this way at the
// cost of one append.
func (s *Store) AuditAll(ctx context.Context, entries []AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	rows := make([]AuditEntry, len(entries))
	return s.with(ctx).Transaction(func(tx *gorm.DB) error {
		var head auditHead
		q := tx
		if s.dialect == DialectPostgres {
			q = tx.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		if err := q.Where("id = 1").Take(&head).Error; err != nil {
			return fmt.Errorf("reading the audit head: %w", err)
		}
		seq, prev := head.Seq, head.Hash
		for i, e := range entries {
			e.At = e.At.UTC().Truncate(time.Microsecond)
			seq++
			e.Seq, e.PrevHash = seq, prev
			e.Hash = auditHash(e)
			rows[i], prev = e, e.Hash
		}
		if err := tx.CreateInBatches(rows, 200).Error; err != nil {
			return fmt.Errorf("appending to the audit log: %w", err)
		}
		res := tx.Model(&auditHead{}).Where("id = 1 AND seq = ?", head.Seq).Updates(map[string]any{"seq": seq, "hash": prev})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return errors.New("the audit head moved during the append")
		}
		return nil
	})
}

// AuditTrail lists the entries about a child, oldest first.
func (s *Store) AuditTrail(ctx context.Context, childID string, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	return out, s.with(ctx).Where("child_id = ?", childID).Order("seq").Limit(limit).Find(&out).Error
}

// AuditReport is what verifying the chain found.
type AuditReport struct {
	Entries  int64
	HeadSeq  int64
	HeadHash string
	Problems []string
}

// OK reports an intact chain.
func (r AuditReport) OK() bool { return len(r.Problems) == 0 }

// VerifyAudit walks the whole chain: numbering without gaps, each entry's
// hash over its fields, each link to the previous hash, and the head
// matching the last entry. A changed, inserted or deleted entry shows.
func (s *Store) VerifyAudit(ctx context.Context, progress func(checked int64)) (AuditReport, error) {
	var rep AuditReport
	var head auditHead
	if err := s.with(ctx).Where("id = 1").Take(&head).Error; err != nil {
		return rep, fmt.Errorf("reading the audit head: %w", err)
	}
	rep.HeadSeq, rep.HeadHash = head.Seq, head.Hash
	prevSeq, prevHash := int64(0), ""
	const batch = 2000
	for {
		var entries []AuditEntry
		if err := s.with(ctx).Where("seq > ?", prevSeq).Order("seq").Limit(batch).Find(&entries).Error; err != nil {
			return rep, err
		}
		for _, e := range entries {
			rep.Entries++
			if e.Seq != prevSeq+1 {
				rep.Problems = append(rep.Problems, fmt.Sprintf("entries %d to %d are missing", prevSeq+1, e.Seq-1))
			}
			if e.PrevHash != prevHash {
				rep.Problems = append(rep.Problems, fmt.Sprintf("entry %d does not link to the entry before it", e.Seq))
			}
			if auditHash(e) != e.Hash {
				rep.Problems = append(rep.Problems, fmt.Sprintf("entry %d was changed after it was written", e.Seq))
			}
			prevSeq, prevHash = e.Seq, e.Hash
		}
		if progress != nil {
			progress(rep.Entries)
		}
		if len(entries) < batch {
			break
		}
	}
	if prevSeq != head.Seq || prevHash != head.Hash {
		rep.Problems = append(rep.Problems, fmt.Sprintf("the log ends at entry %d but its head says %d: entries at the end were deleted or added", prevSeq, head.Seq))
	}
	return rep, nil
}
