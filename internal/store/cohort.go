package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// CohortImport is the stored outcome of one cohort import, kept under the
// request's Idempotency-Key: a retry with the same key and request is
// answered with Status and Result and imports nothing again.
type CohortImport struct {
	Key         string `gorm:"primaryKey;column:idem_key"`
	SiteID      string
	RequestHash string
	Status      int
	Imported    int
	// Result is the response body (JSON): lines and opaque child IDs, no names.
	Result    string
	CreatedBy string
	CreatedAt time.Time
}

// TableName names the table.
func (CohortImport) TableName() string { return "cohort_imports" }

// ChildKey identifies a child for duplicate checks: the same school, names
// and birth date (YYYY-MM-DD). Names compare without case or surrounding space.
type ChildKey struct {
	SchoolID   string
	GivenName  string
	FamilyName string
	BirthDate  string
}

// Normal returns the key as it is compared.
func (k ChildKey) Normal() ChildKey {
	norm := func(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }
	return ChildKey{SchoolID: k.SchoolID, GivenName: norm(k.GivenName), FamilyName: norm(k.FamilyName), BirthDate: k.BirthDate}
}

// KeyOf is the duplicate-check key of a child.
func KeyOf(c Child) ChildKey {
	return ChildKey{SchoolID: c.SchoolID, GivenName: c.GivenName, FamilyName: c.FamilyName, BirthDate: c.BirthDate.UTC().Format(time.DateOnly)}.Normal()
}

// ErrChildExists reports an import whose child is already in the site's
// cohort; it wraps the first such child's ID.
var ErrChildExists = errors.New("store: child already in the cohort")

// CohortImportByKey returns the import recorded under key.
func (s *Store) CohortImportByKey(ctx context.Context, key string) (CohortImport, error) {
	var rec CohortImport
	err := s.with(ctx).Where("idem_key = ?", key).Take(&rec).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return rec, fmt.Errorf("cohort import: %w", ErrNotFound)
	}
	return rec, err
}

// ExistingChildren returns, for each key that matches a child already in
// the site's cohort, that child's ID.
func (s *Store) ExistingChildren(ctx context.Context, siteID string, keys []ChildKey) (map[ChildKey]string, error) {
	return existingChildren(s.with(ctx), siteID, keys)
}

func existingChildren(db *gorm.DB, siteID string, keys []ChildKey) (map[ChildKey]string, error) {
	out := map[ChildKey]string{}
	if len(keys) == 0 {
		return out, nil
	}
	want := map[ChildKey]bool{}
	schools := map[string]bool{}
	for _, k := range keys {
		want[k.Normal()] = true
		schools[k.SchoolID] = true
	}
	ids := make([]string, 0, len(schools))
	for id := range schools {
		ids = append(ids, id)
	}
	var rows []Child
	err := db.Select("id", "school_id", "given_name", "family_name", "birth_date").
		Where("site_id = ? AND school_id IN ?", siteID, ids).FindInBatches(&rows, 1000, func(tx *gorm.DB, _ int) error {
		for _, c := range rows {
			if k := KeyOf(c); want[k] {
				if _, dup := out[k]; !dup {
					out[k] = c.ID
				}
			}
		}
		return nil
	}).Error
	return out, err
}

// ImportCohort adds families to a site's cohort and records the import
// under rec.Key, in one transaction: all or nothing. When rec.Key was
// recorded before, nothing is added and the earlier record is returned with
// replayed true. A family whose child is already in the cohort (a
// concurrent import) fails the whole import with ErrChildExists. An empty
// key records nothing about the request.
func (s *Store) ImportCohort(ctx context.Context, rec CohortImport, families []Family) (CohortImport, bool, error) {
	var out CohortImport
	replayed := false
	err := s.with(ctx).Transaction(func(tx *gorm.DB) error {
		if rec.Key != "" {
			err := tx.Where("idem_key = ?", rec.Key).Take(&out).Error
			if err == nil {
				replayed = true
				return nil
			}
			if !errors.Is(err, gorm.ErrRecordNotFound) {
				return err
			}
		}
		keys := make([]ChildKey, 0, len(families))
		for _, f := range families {
			keys = append(keys, KeyOf(f.Child))
		}
		existing, err := existingChildren(tx, rec.SiteID, keys)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if id, ok := existing[k]; ok {
				return fmt.Errorf("%w: %s", ErrChildExists, id)
			}
		}
		for _, f := range families {
			if err := tx.Create(&f.Caregiver).Error; err != nil {
				return fmt.Errorf("caregiver: %w", err)
			}
			if err := tx.Create(&f.Child).Error; err != nil {
				return fmt.Errorf("child: %w", err)
			}
			if f.Consent != nil {
				if err := tx.Create(f.Consent).Error; err != nil {
					return fmt.Errorf("consent: %w", err)
				}
			}
		}
		out = rec
		out.CreatedAt = rec.CreatedAt.UTC()
		if rec.Key == "" {
			return nil
		}
		if err := tx.Create(&out).Error; err != nil {
			return fmt.Errorf("recording the import: %w", err)
		}
		return nil
	})
	if err != nil {
		return CohortImport{}, false, err
	}
	return out, replayed, nil
}

// RecordCohortImport stores the outcome of an import that added nothing
// (every row rejected), so a retry with the same key is answered the same.
// A key recorded before is left as it was and returned.
func (s *Store) RecordCohortImport(ctx context.Context, rec CohortImport) (CohortImport, bool, error) {
	return s.ImportCohort(ctx, rec, nil)
}
