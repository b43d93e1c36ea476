package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL for KHULA_TEST_DB=postgres

	"github.com/khula-cop/khula/internal/codec/codectest"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

// The fixture: two sites, site alpha with two schools and site beta with one.
const (
	siteA    = "alpha"
	siteB    = "beta"
	schoolA1 = "a-one"
	schoolA2 = "a-two"
	schoolB1 = "b-one"
)

// t0 is the fixed instant the fixtures are recorded at.
var t0 = time.Date(2025, 3, 3, 8, 0, 0, 0, time.UTC)

// newStore opens and migrates a fresh database: a SQLite file in the test's
// temp dir, or, with KHULA_TEST_DB=postgres, a fresh schema in the
// machine's PostgreSQL (KHULA_TEST_POSTGRES, default the local test database).
func newStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "khula.db")
	if os.Getenv("KHULA_TEST_DB") == "postgres" {
		dsn = postgresSchema(t)
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	st.SetFieldCipher(codectest.Keyring())
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return st
}

// newSQLiteStore opens and migrates a SQLite file in the test's temp dir,
// with no field key: for tests that need the file itself, or no key.
func newSQLiteStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "khula.db")
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return st, path
}

// addSites records sites alpha and beta with their schools.
func addSites(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	if err := st.EnsureSite(ctx, store.Site{ID: siteA, Name: "Alpha", Setting: "urban", CreatedAt: t0}, []store.School{
		{ID: schoolA1, SiteID: siteA, Name: "A One", Quintile: 1, CreatedAt: t0},
		{ID: schoolA2, SiteID: siteA, Name: "A Two", Quintile: 2, CreatedAt: t0},
	}); err != nil {
		t.Fatalf("EnsureSite %s: %v", siteA, err)
	}
	if err := st.EnsureSite(ctx, store.Site{ID: siteB, Name: "Beta", Setting: "rural", CreatedAt: t0}, []store.School{
		{ID: schoolB1, SiteID: siteB, Name: "B One", Quintile: 3, CreatedAt: t0},
	}); err != nil {
		t.Fatalf("EnsureSite %s: %v", siteB, err)
	}
}

// family builds a caregiver and child; consent is recorded when consented.
func family(site, school, childID string, consented bool) store.Family {
	cg := store.Caregiver{ID: "cg-" + childID, SiteID: site, GivenName: "Test", FamilyName: "Caregiver", Language: "en", CreatedAt: t0}
	f := store.Family{
		Caregiver: cg,
		Child: store.Child{
			ID: childID, SiteID: site, SchoolID: school, CaregiverID: cg.ID, GivenName: "Test", FamilyName: "Child",
			Sex: "female", BirthDate: time.Date(2019, 6, 15, 0, 0, 0, 0, time.UTC), Grade: "R", CreatedAt: t0,
		},
	}
	if consented {
		f.Consent = &store.Consent{ID: "consent-" + childID, ChildID: childID, CaregiverID: cg.ID, Relationship: "parent", Scope: "cop-cycle", GivenAt: t0}
	}
	return f
}

// addChildren records consented children of one school.
func addChildren(t *testing.T, st *store.Store, site, school string, ids ...string) {
	t.Helper()
	fams := make([]store.Family, 0, len(ids))
	for _, id := range ids {
		fams = append(fams, family(site, school, id, true))
	}
	if err := st.AddFamilies(context.Background(), fams); err != nil {
		t.Fatalf("AddFamilies: %v", err)
	}
}

// addWave records wave n of a site as open and returns its ID.
func addWave(t *testing.T, st *store.Store, site string, n int) string {
	t.Helper()
	id := cycle.WaveID(site, n)
	if err := st.SaveWave(context.Background(), cycle.WaveRecord{
		WaveID: id, SiteID: site, Number: n, WindowOpen: t0, WindowClose: t0.AddDate(0, 0, 14),
		Status: cycle.WaveOpen, At: t0,
	}); err != nil {
		t.Fatalf("SaveWave %s: %v", id, err)
	}
	return id
}

// stageAt records a cycle of child in wave 1 of site at stage with seq.
func stageAt(t *testing.T, st *store.Store, site, school, child string, seq int, stage string, mod func(*cycle.StageRecord)) string {
	t.Helper()
	r := cycle.StageRecord{
		CycleID: cycle.CycleID(site, 1, child), WaveID: cycle.WaveID(site, 1), SiteID: site, SchoolID: school, ChildID: child,
		Seq: seq, Stage: stage, At: t0.Add(time.Duration(seq) * time.Hour),
	}
	if mod != nil {
		mod(&r)
	}
	if err := st.RecordStage(context.Background(), r); err != nil {
		t.Fatalf("RecordStage %s seq %d: %v", r.CycleID, seq, err)
	}
	return r.CycleID
}

// count counts the rows of model matching where.
func count(t *testing.T, st *store.Store, model any, where string, args ...any) int64 {
	t.Helper()
	var n int64
	q := st.DB(context.Background()).Model(model)
	if where != "" {
		q = q.Where(where, args...)
	}
	if err := q.Count(&n).Error; err != nil {
		t.Fatalf("counting %T: %v", model, err)
	}
	return n
}

// getCycle reads a cycle's row.
func getCycle(t *testing.T, st *store.Store, id string) store.Cycle {
	t.Helper()
	var c store.Cycle
	if err := st.DB(context.Background()).Where("id = ?", id).Take(&c).Error; err != nil {
		t.Fatalf("reading cycle %s: %v", id, err)
	}
	return c
}

// timePtr returns a pointer to tm.
func timePtr(tm time.Time) *time.Time { return &tm }

// sameTime compares two optional instants.
func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// postgresSchema creates a schema for one test and returns a URL using it.
func postgresSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("KHULA_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("khula_store_%d", time.Now().UnixNano())
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("PostgreSQL at %s: %v", base, err)
	}
	t.Cleanup(func() {
		db.Exec("DROP SCHEMA " + schema + " CASCADE")
		db.Close()
	})
	return base + "&search_path=" + schema
}
