package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/khula-cop/khula/internal/codec"
)

// dataKey is a child's data key, wrapped by the payload keyring.
type dataKey struct {
	ID          string `gorm:"primaryKey"`
	Subject     string
	Wrapped     string
	CreatedAt   time.Time
	DestroyedAt *time.Time
}

func (dataKey) TableName() string { return "data_keys" }

// dataKeyColumn binds wrapped keys to their column (associated data).
const dataKeyColumn = "data_keys.wrapped"

var _ codec.DataKeyVault = (*Store)(nil)

// DataKey returns the subject's data key, making and storing one (wrapped
// by the keyring) on first use. A destroyed key is never replaced: the
// answer is codec.ErrDataKeyDestroyed.
func (s *Store) DataKey(ctx context.Context, subject string) (string, []byte, error) {
	if s.cipher == nil {
		return "", nil, ErrNoFieldCipher
	}
	for attempt := 0; attempt < 2; attempt++ {
		var k dataKey
		err := s.with(ctx).Where("subject = ?", subject).Take(&k).Error
		if err == nil {
			return s.unwrapDataKey(k)
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return "", nil, fmt.Errorf("reading a data key: %w", err)
		}
		raw := make([]byte, 32)
		idBytes := make([]byte, 16)
		if _, err := rand.Read(raw); err != nil {
			return "", nil, fmt.Errorf("making a data key: %w", err)
		}
		if _, err := rand.Read(idBytes); err != nil {
			return "", nil, fmt.Errorf("making a data key: %w", err)
		}
		wrapped, err := s.cipher.SealString(dataKeyColumn, base64.StdEncoding.EncodeToString(raw))
		if err != nil {
			return "", nil, fmt.Errorf("wrapping a data key: %w", err)
		}
		// Two processes may make the first key of a subject at once: the
		// unique subject keeps one, and both read it back.
		row := dataKey{ID: hex.EncodeToString(idBytes), Subject: subject, Wrapped: wrapped, CreatedAt: time.Now().UTC()}
		if err := s.with(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
			return "", nil, fmt.Errorf("storing a data key: %w", err)
		}
	}
	return "", nil, errors.New("store: a data key could not be made or read")
}

// OpenDataKey returns the data key with this ID.
func (s *Store) OpenDataKey(ctx context.Context, id string) ([]byte, error) {
	if s.cipher == nil {
		return nil, ErrNoFieldCipher
	}
	var k dataKey
	if err := s.with(ctx).Where("id = ?", id).Take(&k).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, fmt.Errorf("data key %s: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("reading data key %s: %w", id, err)
	}
	_, raw, err := s.unwrapDataKey(k)
	return raw, err
}

func (s *Store) unwrapDataKey(k dataKey) (string, []byte, error) {
	if k.DestroyedAt != nil || k.Wrapped == "" {
		return "", nil, codec.ErrDataKeyDestroyed
	}
	b64, err := s.cipher.OpenString(dataKeyColumn, k.Wrapped)
	if err != nil {
		return "", nil, fmt.Errorf("unwrapping data key %s: %w", k.ID, err)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", nil, fmt.Errorf("data key %s is damaged: %w", k.ID, err)
	}
	return k.ID, raw, nil
}

// destroyDataKeyTx destroys a subject's data key, or leaves a tombstone
// when none was made yet, so none is made later.
func destroyDataKeyTx(tx *gorm.DB, subject string, at time.Time) error {
	res := tx.Model(&dataKey{}).Where("subject = ? AND destroyed_at IS NULL", subject).
		Updates(map[string]any{"wrapped": "", "destroyed_at": at.UTC()})
	if res.Error != nil {
		return fmt.Errorf("destroying a data key: %w", res.Error)
	}
	if res.RowsAffected > 0 {
		return nil
	}
	idBytes := make([]byte, 16)
	if _, err := rand.Read(idBytes); err != nil {
		return fmt.Errorf("naming a data key tombstone: %w", err)
	}
	at = at.UTC()
	tomb := dataKey{ID: hex.EncodeToString(idBytes), Subject: subject, CreatedAt: at, DestroyedAt: &at}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&tomb).Error; err != nil {
		return fmt.Errorf("leaving a data key tombstone: %w", err)
	}
	return nil
}

// AfterErase registers fn to be told, after the transaction commits, of
// each child whose personal data (and data key) was erased: the process's
// data key cache forgets the key at once.
func (s *Store) AfterErase(fn func(childID string)) { s.afterErase = append(s.afterErase, fn) }
