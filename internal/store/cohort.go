package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/khula-cop/khula/internal/dedupe"
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
	return s.existingChildren(s.with(ctx), siteID, keys)
}

// existingChildren finds children by their blind-index tokens (birth date
// and name skeleton), then opens only those candidates to compare keys:
// no sealed name is opened to search. A child who left the study is not
// "already in the cohort": listed again, they are held as a likely
// duplicate of their old record, and linking brings them back.
func (s *Store) existingChildren(db *gorm.DB, siteID string, keys []ChildKey) (map[ChildKey]string, error) {
	out := map[ChildKey]string{}
	if len(keys) == 0 || s.index == nil {
		// Without an index key no child with a name can have been stored.
		return out, nil
	}
	want := map[ChildKey]bool{}
	var tokens []string
	for _, k := range keys {
		k = k.Normal()
		want[k] = true
		for _, t := range s.index.Tokens(dedupe.Person{GivenName: k.GivenName, FamilyName: k.FamilyName, BirthDate: k.BirthDate}) {
			tokens = append(tokens, t.Value)
		}
	}
	slices.Sort(tokens)
	tokens = slices.Compact(tokens)
	kinds := map[string]map[string]bool{}
	for chunk := range slices.Chunk(tokens, lookupChunk) {
		var rows []ChildToken
		if err := db.Select("child_id", "kind").Where("token IN ? AND site_id = ?", chunk, siteID).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("blind index: %w", err)
		}
		for _, r := range rows {
			if kinds[r.ChildID] == nil {
				kinds[r.ChildID] = map[string]bool{}
			}
			kinds[r.ChildID][r.Kind] = true
		}
	}
	var ids []string
	for id, k := range kinds {
		if k[dedupe.KindBirthDate] && k[dedupe.KindName] {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for chunk := range slices.Chunk(ids, lookupChunk) {
		var rows []Child
		if err := db.Select("id", "school_id", "given_name", "family_name", "birth_date").
			Where("id IN ? AND site_id = ? AND same_as = '' AND left_at IS NULL", chunk, siteID).Order("id").Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("candidate children: %w", err)
		}
		for _, c := range rows {
			if k := KeyOf(c); want[k] {
				if _, dup := out[k]; !dup {
					out[k] = c.ID
				}
			}
		}
	}
	return out, nil
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
		existing, err := s.existingChildren(tx, rec.SiteID, keys)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if id, ok := existing[k]; ok {
				return fmt.Errorf("%w: %s", ErrChildExists, id)
			}
		}
		if err := s.insertFamilies(tx, families); err != nil {
			return err
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
