package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/khula-cop/khula/internal/store"
)

func cohortFamily(id, school, given string) store.Family {
	return store.Family{
		Caregiver: store.Caregiver{ID: "cg-" + id, SiteID: siteA, GivenName: "Care", FamilyName: "Giver", Language: "zu", CreatedAt: t0},
		Child: store.Child{ID: id, SiteID: siteA, SchoolID: school, CaregiverID: "cg-" + id, GivenName: given, FamilyName: "Dube",
			Sex: "female", BirthDate: t0.AddDate(-6, 0, 0).Truncate(24 * 3600e9), Grade: "R", CreatedAt: t0},
		Consent: &store.Consent{ID: "consent-" + id, ChildID: id, CaregiverID: "cg-" + id, Relationship: "parent", Scope: "cop-cycle", GivenAt: t0},
	}
}

func TestImportCohortOnceByKey(t *testing.T) {
	st := newStore(t)
	addSites(t, st)
	ctx := context.Background()
	rec := store.CohortImport{Key: "key-0001", SiteID: siteA, RequestHash: "h1", Status: 201, Imported: 2, Result: `{"imported":2}`, CreatedBy: "coord", CreatedAt: t0}
	got, replayed, err := st.ImportCohort(ctx, rec, []store.Family{cohortFamily("ch-1", schoolA1, "Ama"), cohortFamily("ch-2", schoolA2, "Bongi")})
	if err != nil || replayed || got.Result != rec.Result {
		t.Fatalf("first import: %+v %v %v", got, replayed, err)
	}
	// A retry with the key adds nothing and returns the first record.
	got, replayed, err = st.ImportCohort(ctx, store.CohortImport{Key: "key-0001", SiteID: siteA, RequestHash: "h1", Status: 201, Result: "other", CreatedAt: t0},
		[]store.Family{cohortFamily("ch-3", schoolA1, "Zola")})
	if err != nil || !replayed || got.Result != rec.Result || got.RequestHash != "h1" {
		t.Fatalf("retry: %+v %v %v", got, replayed, err)
	}
	if n, _ := st.CountChildren(ctx, siteA); n != 2 {
		t.Fatalf("%d children after a retry, want 2", n)
	}
	if _, err := st.CohortImportByKey(ctx, "key-0001"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CohortImportByKey(ctx, "no-such-key"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestImportCohortRefusesAChildAlreadyThere(t *testing.T) {
	st := newStore(t)
	addSites(t, st)
	ctx := context.Background()
	if _, _, err := st.ImportCohort(ctx, store.CohortImport{SiteID: siteA}, []store.Family{cohortFamily("ch-1", schoolA1, "Ama")}); err != nil {
		t.Fatal(err)
	}
	// The same child (names compared without case or extra spaces) in a second import.
	f := cohortFamily("ch-9", schoolA1, "  AMA ")
	keys := []store.ChildKey{store.KeyOf(f.Child), store.KeyOf(cohortFamily("ch-8", schoolA2, "Ama").Child)}
	found, err := st.ExistingChildren(ctx, siteA, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[keys[0]] != "ch-1" {
		t.Fatalf("existing children: %v", found)
	}
	_, _, err = st.ImportCohort(ctx, store.CohortImport{Key: "key-0002", SiteID: siteA}, []store.Family{cohortFamily("ch-7", schoolA2, "Zola"), f})
	if !errors.Is(err, store.ErrChildExists) {
		t.Fatalf("err = %v, want ErrChildExists", err)
	}
	if n, _ := st.CountChildren(ctx, siteA); n != 1 {
		t.Fatalf("%d children: the failed import must add none", n)
	}
	if _, err := st.CohortImportByKey(ctx, "key-0002"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a failed import records no key: %v", err)
	}
	// An import that added nothing is recorded by key too.
	if _, replayed, err := st.RecordCohortImport(ctx, store.CohortImport{Key: "key-0003", SiteID: siteA, RequestHash: "h", Status: 422, Result: "{}", CreatedAt: t0}); err != nil || replayed {
		t.Fatal(err, replayed)
	}
	if rec, err := st.CohortImportByKey(ctx, "key-0003"); err != nil || rec.Status != 422 {
		t.Fatalf("%+v %v", rec, err)
	}
}
