package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/khula-cop/khula/internal/dedupe"
)

// FieldCipher seals and opens personal fields (names, contact details, free
// text, answers) so the database never holds them in clear. Each value
// names the key that sealed it, so keys rotate (see RotateFields).
type FieldCipher interface {
	SealString(column, plain string) (string, error)
	OpenString(column, sealed string) (string, error)
}

type cipherKey struct{}

// ErrNoFieldCipher reports personal data about to be stored without a key.
var ErrNoFieldCipher = errors.New("store: no field key configured: personal data is never stored in clear")

// SetFieldCipher sets the cipher for personal fields; without one, writing
// a personal field fails. A cipher that also gives a blind-index key (see
// IndexKeyer) turns on the index that finds children already known; one
// that gives audit keys (see AuditKeyer) signs the audit chain.
func (s *Store) SetFieldCipher(c FieldCipher) {
	s.cipher = c
	s.index = nil
	if k, ok := c.(AuditKeyer); ok {
		s.auditKeys = k
	}
	if k, ok := c.(IndexKeyer); ok {
		id, key := k.IndexKey()
		if ix, err := dedupe.NewIndexer(id, key); err == nil {
			s.index = ix
		}
	}
}

// HasFieldCipher reports whether a field key is set (personal fields can
// be read and written).
func (s *Store) HasFieldCipher() bool { return s.cipher != nil }

// with is s.db for a call, carrying the field cipher to the model hooks.
func (s *Store) with(ctx context.Context) *gorm.DB {
	if s.cipher != nil {
		ctx = context.WithValue(ctx, cipherKey{}, s.cipher)
	}
	return s.db.WithContext(ctx)
}

func cipherOf(tx *gorm.DB) FieldCipher {
	c, _ := tx.Statement.Context.Value(cipherKey{}).(FieldCipher)
	return c
}

const sealedMark = "sealed:"

// sealFields seals each non-empty field in place; values already sealed stay.
func sealFields(tx *gorm.DB, table string, fields map[string]*string) error {
	c := cipherOf(tx)
	for col, p := range fields {
		if *p == "" || strings.HasPrefix(*p, sealedMark) {
			continue
		}
		if c == nil {
			return fmt.Errorf("%s.%s: %w", table, col, ErrNoFieldCipher)
		}
		v, err := c.SealString(table+"."+col, *p)
		if err != nil {
			return fmt.Errorf("sealing %s.%s: %w", table, col, err)
		}
		*p = v
	}
	return nil
}

// openFields opens each sealed field in place.
func openFields(tx *gorm.DB, table string, fields map[string]*string) error {
	c := cipherOf(tx)
	for col, p := range fields {
		if !strings.HasPrefix(*p, sealedMark) {
			continue
		}
		if c == nil {
			return fmt.Errorf("%s.%s is sealed: %w", table, col, ErrNoFieldCipher)
		}
		v, err := c.OpenString(table+"."+col, *p)
		if err != nil {
			return fmt.Errorf("opening %s.%s: %w", table, col, err)
		}
		*p = v
	}
	return nil
}

func (c *Caregiver) fields() map[string]*string {
	return map[string]*string{"given_name": &c.GivenName, "family_name": &c.FamilyName, "phone": &c.Phone}
}

// BeforeSave seals the caregiver's personal fields.
func (c *Caregiver) BeforeSave(tx *gorm.DB) error { return sealFields(tx, "caregivers", c.fields()) }

// AfterSave leaves the caller's copy in clear.
func (c *Caregiver) AfterSave(tx *gorm.DB) error { return openFields(tx, "caregivers", c.fields()) }

// AfterFind opens the caregiver's personal fields.
func (c *Caregiver) AfterFind(tx *gorm.DB) error { return openFields(tx, "caregivers", c.fields()) }

func (c *Child) fields() map[string]*string {
	return map[string]*string{"given_name": &c.GivenName, "family_name": &c.FamilyName}
}

// BeforeSave seals the child's name.
func (c *Child) BeforeSave(tx *gorm.DB) error { return sealFields(tx, "children", c.fields()) }

// AfterSave leaves the caller's copy in clear.
func (c *Child) AfterSave(tx *gorm.DB) error { return openFields(tx, "children", c.fields()) }

// AfterFind opens the child's name.
func (c *Child) AfterFind(tx *gorm.DB) error { return openFields(tx, "children", c.fields()) }

func (a *Assessment) fields() map[string]*string { return map[string]*string{"answers": &a.Answers} }

// BeforeSave seals the answers.
func (a *Assessment) BeforeSave(tx *gorm.DB) error { return sealFields(tx, "assessments", a.fields()) }

// AfterSave leaves the caller's copy in clear.
func (a *Assessment) AfterSave(tx *gorm.DB) error { return openFields(tx, "assessments", a.fields()) }

// AfterFind opens the answers.
func (a *Assessment) AfterFind(tx *gorm.DB) error { return openFields(tx, "assessments", a.fields()) }

func (f *FollowUp) fields() map[string]*string { return map[string]*string{"note": &f.Note} }

// BeforeSave seals the note.
func (f *FollowUp) BeforeSave(tx *gorm.DB) error { return sealFields(tx, "follow_ups", f.fields()) }

// AfterSave leaves the caller's copy in clear.
func (f *FollowUp) AfterSave(tx *gorm.DB) error { return openFields(tx, "follow_ups", f.fields()) }

// AfterFind opens the note.
func (f *FollowUp) AfterFind(tx *gorm.DB) error { return openFields(tx, "follow_ups", f.fields()) }

func (r *PlanReview) fields() map[string]*string { return map[string]*string{"comment": &r.Comment} }

// BeforeSave seals the comment.
func (r *PlanReview) BeforeSave(tx *gorm.DB) error { return sealFields(tx, "plan_reviews", r.fields()) }

// AfterSave leaves the caller's copy in clear.
func (r *PlanReview) AfterSave(tx *gorm.DB) error { return openFields(tx, "plan_reviews", r.fields()) }

// AfterFind opens the comment.
func (r *PlanReview) AfterFind(tx *gorm.DB) error { return openFields(tx, "plan_reviews", r.fields()) }

func (k *ResearchKey) fields() map[string]*string {
	return map[string]*string{"key_sealed": &k.KeySealed}
}

// BeforeSave seals the key.
func (k *ResearchKey) BeforeSave(tx *gorm.DB) error {
	return sealFields(tx, "research_keys", k.fields())
}

// AfterSave leaves the caller's copy in clear.
func (k *ResearchKey) AfterSave(tx *gorm.DB) error {
	return openFields(tx, "research_keys", k.fields())
}

// AfterFind opens the key.
func (k *ResearchKey) AfterFind(tx *gorm.DB) error {
	return openFields(tx, "research_keys", k.fields())
}

func (k *DeviceKey) fields() map[string]*string {
	return map[string]*string{"key_sealed": &k.KeySealed}
}

// BeforeSave seals the key.
func (k *DeviceKey) BeforeSave(tx *gorm.DB) error { return sealFields(tx, "device_keys", k.fields()) }

// AfterSave leaves the caller's copy in clear.
func (k *DeviceKey) AfterSave(tx *gorm.DB) error { return openFields(tx, "device_keys", k.fields()) }

// AfterFind opens the key.
func (k *DeviceKey) AfterFind(tx *gorm.DB) error { return openFields(tx, "device_keys", k.fields()) }

// sealedTable is one table holding sealed personal data.
type sealedTable struct {
	table   string
	columns []string
	model   func() any
	// primaryKey is the table's key column ("id" when empty).
	primaryKey string
}

func (t sealedTable) key() string {
	if t.primaryKey == "" {
		return "id"
	}
	return t.primaryKey
}

// sealedTables lists the tables and columns holding sealed personal data.
var sealedTables = []sealedTable{
	{"caregivers", []string{"given_name", "family_name", "phone"}, func() any { return &[]Caregiver{} }, "id"},
	{"children", []string{"given_name", "family_name"}, func() any { return &[]Child{} }, "id"},
	{"assessments", []string{"answers"}, func() any { return &[]Assessment{} }, "id"},
	{"follow_ups", []string{"note"}, func() any { return &[]FollowUp{} }, "id"},
	{"agenda_concerns", []string{"reason"}, func() any { return &[]AgendaConcern{} }, "id"},
	{"plan_reviews", []string{"comment"}, func() any { return &[]PlanReview{} }, "id"},
	{"research_keys", []string{"key_sealed"}, func() any { return &[]ResearchKey{} }, "site_id"},
	{"device_keys", []string{"key_sealed"}, func() any { return &[]DeviceKey{} }, "user_id"},
}

// RotateFields re-seals every personal field not yet sealed with the key
// activeID (the cipher's active key), batch rows at a time, calling
// progress after each batch. It is safe to stop and run again: it picks up
// what is left. It returns how many rows it re-sealed.
func (s *Store) RotateFields(ctx context.Context, activeID string, batch int, progress func(done, total int)) (int, error) {
	if s.cipher == nil {
		return 0, ErrNoFieldCipher
	}
	if batch <= 0 {
		batch = 500
	}
	prefix := strings.ReplaceAll(sealedMark+"v1:"+activeID+":", "%", "")
	stale := func(cols []string) (string, []any) {
		var conds []string
		var args []any
		for _, c := range cols {
			conds = append(conds, fmt.Sprintf("(%s <> '' AND %s NOT LIKE ?)", c, c))
			args = append(args, prefix+"%")
		}
		return strings.Join(conds, " OR "), args
	}
	total := 0
	for _, t := range sealedTables {
		q, args := stale(t.columns)
		var n int64
		if err := s.with(ctx).Table(t.table).Where(q, args...).Count(&n).Error; err != nil {
			return 0, fmt.Errorf("counting %s: %w", t.table, err)
		}
		total += int(n)
	}
	done := 0
	for _, t := range sealedTables {
		q, args := stale(t.columns)
		for {
			rows := t.model()
			if err := s.with(ctx).Where(q, args...).Order(t.key()).Limit(batch).Find(rows).Error; err != nil {
				return done, fmt.Errorf("reading %s: %w", t.table, err)
			}
			n, err := s.reseal(ctx, rows, t.columns)
			if err != nil {
				return done, fmt.Errorf("re-sealing %s: %w", t.table, err)
			}
			if n == 0 {
				break
			}
			done += n
			if progress != nil {
				progress(done, total)
			}
		}
	}
	return done, nil
}

// reseal writes back rows read (and opened) by RotateFields: the model
// hooks seal them again with the active key.
func (s *Store) reseal(ctx context.Context, rows any, cols []string) (int, error) {
	n := 0
	err := s.with(ctx).Transaction(func(tx *gorm.DB) error {
		save := func(row any) error {
			n++
			return tx.Model(row).Select(cols).Updates(row).Error
		}
		switch r := rows.(type) {
		case *[]Caregiver:
			return saveEach(r, save)
		case *[]Child:
			return saveEach(r, save)
		case *[]Assessment:
			return saveEach(r, save)
		case *[]FollowUp:
			return saveEach(r, save)
		case *[]AgendaConcern:
			return saveEach(r, save)
		case *[]PlanReview:
			return saveEach(r, save)
		case *[]ResearchKey:
			return saveEach(r, save)
		case *[]DeviceKey:
			return saveEach(r, save)
		default:
			return fmt.Errorf("no re-sealing for %T", rows)
		}
	})
	return n, err
}

// saveEach saves every row of a slice, by address (the hooks need it).
func saveEach[T any](rows *[]T, save func(any) error) error {
	for i := range *rows {
		if err := save(&(*rows)[i]); err != nil {
			return err
		}
	}
	return nil
}
