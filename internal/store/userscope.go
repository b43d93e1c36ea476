package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// ScopeChange replaces the sites and schools a user may see.
type ScopeChange struct {
	Username string
	Sites    []string
	Schools  []string
	// Check, when set, vets the change against the user as stored, inside
	// the transaction (so the role it is checked for is the role written
	// with): an error from it changes nothing and is returned as it is.
	Check func(before User) error
	// Audit, when set, gives the audit entry of the change, appended to the
	// chain in the same transaction: the scope changes only if the change
	// is audited. It is given the user as stored before the change.
	Audit func(before User) AuditEntry
}

// SetUserScope replaces a user's sites and schools in one transaction,
// with its check and its audit entry, and returns the user as now stored.
// An unknown username is ErrNotFound. The user's sessions and tokens see
// the new scope on their next request (the scope is read with each one).
func (s *Store) SetUserScope(ctx context.Context, ch ScopeChange) (User, error) {
	var u User
	err := s.with(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Where("username = ?", ch.Username).Take(&u).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("user %q: %w", ch.Username, ErrNotFound)
		}
		if err != nil {
			return err
		}
		before := u
		if ch.Check != nil {
			if err := ch.Check(before); err != nil {
				return err
			}
		}
		u.Sites, u.Schools = JoinList(ch.Sites), JoinList(ch.Schools)
		res := tx.Model(&User{}).Where("id = ?", u.ID).Updates(map[string]any{"sites": u.Sites, "schools": u.Schools})
		if res.Error != nil {
			return fmt.Errorf("writing the scope of user %s: %w", ch.Username, res.Error)
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("user %q: %w", ch.Username, ErrNotFound)
		}
		if ch.Audit != nil {
			if _, err := s.appendAudit(tx, []AuditEntry{ch.Audit(before)}); err != nil {
				return fmt.Errorf("auditing the scope change (nothing was changed): %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}
