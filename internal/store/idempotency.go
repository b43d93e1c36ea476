package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// IdempotencyKeyRetention is how long a key stays bound to its request.
const IdempotencyKeyRetention = 30 * 24 * time.Hour

// IdempotencyKey binds an Idempotency-Key to the request it first came with.
type IdempotencyKey struct {
	Key         string `gorm:"column:idem_key;primaryKey"`
	RequestHash string
	UserID      string
	CreatedAt   time.Time
}

// ErrKeyReused is returned when an Idempotency-Key comes with a request
// other than the one it was first used for.
var ErrKeyReused = errors.New("store: the Idempotency-Key was used for a different request")

// ClaimIdempotencyKey binds key to requestHash on its first use. A later
// use with the same hash is a replay (replay true); one with another hash
// is ErrKeyReused. Keys are global, not per user: the engine's Update IDs
// are made from them, so one key is one request whoever sends it.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, key, requestHash, userID string, at time.Time) (replay bool, err error) {
	row := IdempotencyKey{Key: key, RequestHash: requestHash, UserID: userID, CreatedAt: at.UTC()}
	res := s.with(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil {
		return false, res.Error
	}
	if res.RowsAffected == 1 {
		return false, nil
	}
	var prev IdempotencyKey
	if err := s.with(ctx).Where("idem_key = ?", key).Take(&prev).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			// Pruned between the insert and the read: take it as new.
			return false, nil
		}
		return false, err
	}
	if prev.RequestHash != requestHash {
		return false, ErrKeyReused
	}
	return true, nil
}

// PruneIdempotencyKeys forgets keys first used before the cut-off.
func (s *Store) PruneIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	res := s.with(ctx).Where("created_at < ?", before.UTC()).Delete(&IdempotencyKey{})
	return res.RowsAffected, res.Error
}

// ReleaseIdempotencyKey forgets a key bound to requestHash: its request was
// refused with nothing recorded, so the caller may correct it and send it
// again under the same key.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, key, requestHash string) error {
	return s.with(ctx).Where("idem_key = ? AND request_hash = ?", key, requestHash).Delete(&IdempotencyKey{}).Error
}
