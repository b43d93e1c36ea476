package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// auditOutboxEntry is an audit entry of a write that has happened but
// could not be appended to the chain when it was made. It waits on disk,
// not in a process's memory, until DrainAuditOutbox appends it.
type auditOutboxEntry struct {
	ID        string `gorm:"primaryKey"`
	QueuedAt  time.Time
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
}

func (auditOutboxEntry) TableName() string { return "audit_outbox" }

// QueueAudit keeps an entry in the audit outbox. It is one plain insert,
// without the chain's head lock, so it succeeds when the append could not
// (the head busy, a slow transaction); the drain appends it later in the
// order queued.
func (s *Store) QueueAudit(ctx context.Context, e AuditEntry, now time.Time) error {
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("naming an audit outbox entry: %w", err)
	}
	row := auditOutboxEntry{
		ID: id.String(), QueuedAt: now.UTC().Truncate(time.Microsecond), At: e.At.UTC().Truncate(time.Microsecond),
		Actor: e.Actor, ActorName: e.ActorName, Role: e.Role, Action: e.Action, SiteID: e.SiteID, ChildID: e.ChildID,
		What: e.What, Why: e.Why, Outcome: e.Outcome,
	}
	if err := s.with(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("keeping an audit entry in the outbox: %w", err)
	}
	return nil
}

// DrainAuditOutbox appends up to limit queued entries to the chain, oldest
// first, and removes them from the outbox in the same transaction: each is
// appended exactly once, whichever process drains and whenever it dies.
// It returns how many it appended.
func (s *Store) DrainAuditOutbox(ctx context.Context, limit int) (int, error) {
	appended := 0
	err := s.with(ctx).Transaction(func(tx *gorm.DB) error {
		var queued []auditOutboxEntry
		if err := tx.Order("queued_at, id").Limit(limit).Find(&queued).Error; err != nil {
			return fmt.Errorf("reading the audit outbox: %w", err)
		}
		if len(queued) == 0 {
			return nil
		}
		entries := make([]AuditEntry, len(queued))
		ids := make([]string, len(queued))
		for i, q := range queued {
			entries[i] = AuditEntry{At: q.At, Actor: q.Actor, ActorName: q.ActorName, Role: q.Role, Action: q.Action,
				SiteID: q.SiteID, ChildID: q.ChildID, What: q.What, Why: q.Why, Outcome: q.Outcome}
			ids[i] = q.ID
		}
		if _, err := s.appendAudit(tx, entries); err != nil {
			return err
		}
		res := tx.Where("id IN ?", ids).Delete(&auditOutboxEntry{})
		if res.Error != nil {
			return fmt.Errorf("removing appended entries from the audit outbox: %w", res.Error)
		}
		if res.RowsAffected != int64(len(ids)) {
			// Another process drained some of them at the same moment:
			// roll back so none is appended twice.
			return fmt.Errorf("the audit outbox changed during the drain (%d of %d entries still there)", res.RowsAffected, len(ids))
		}
		appended = len(queued)
		return nil
	})
	return appended, err
}

// AuditOutboxLen counts the entries waiting in the outbox.
func (s *Store) AuditOutboxLen(ctx context.Context) (int64, error) {
	var n int64
	if err := s.with(ctx).Model(&auditOutboxEntry{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("counting the audit outbox: %w", err)
	}
	return n, nil
}
