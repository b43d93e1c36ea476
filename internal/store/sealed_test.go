package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/khula-cop/khula/internal/codec"
	"github.com/khula-cop/khula/internal/codec/codectest"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

func TestPersonalFieldsAreSealedAtRest(t *testing.T) {
	st := newStore(t)
	addSites(t, st)
	ctx := context.Background()
	fam := store.Family{
		Caregiver: store.Caregiver{ID: "cg-1", SiteID: siteA, GivenName: "Nomsa", FamilyName: "Dlamini", Phone: "+27 82 555 0101", Language: "zu", CreatedAt: t0},
		Child:     store.Child{ID: "ch-1", SiteID: siteA, SchoolID: schoolA1, CaregiverID: "cg-1", GivenName: "Lwazi", FamilyName: "Dlamini", Sex: "male", BirthDate: t0.AddDate(-6, 0, 0), Grade: "1", CreatedAt: t0},
	}
	if err := st.AddFamilies(ctx, []store.Family{fam}); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveWave(ctx, cycle.WaveRecord{WaveID: "wave/alpha/1", SiteID: siteA, Number: 1, WindowOpen: t0, WindowClose: t0, Status: cycle.WaveOpen, At: t0}); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordStage(ctx, cycle.StageRecord{CycleID: "cy-1", WaveID: "wave/alpha/1", SiteID: siteA, SchoolID: schoolA1, ChildID: "ch-1", Seq: 1, Stage: cycle.StageAssess, At: t0}); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveFollowUp(ctx, cycle.FollowUpRecord{ID: "fu-1", CycleID: "cy-1", Note: "Spoke to Nomsa at home", RecordedBy: "sw", At: t0}); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveAssessment(ctx, cycle.AssessmentRecord{CycleID: "cy-1", Phase: cycle.PhaseBaseline, Respondent: "caregiver", Answers: cycle.Answers{"sdq01": 2.0}, SubmittedBy: "sw", SubmittedAt: t0}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Assessments(ctx, "cy-1", cycle.PhaseBaseline)
	if err != nil || got["caregiver"]["sdq01"] != 2.0 {
		t.Fatalf("answers read back: %v, %v", got, err)
	}

	// What the database holds: no name, number or note in clear.
	var raw []string
	st.DB(ctx).Raw("SELECT given_name || family_name || phone FROM caregivers UNION ALL SELECT given_name || family_name FROM children UNION ALL SELECT note FROM follow_ups UNION ALL SELECT answers FROM assessments").Scan(&raw)
	for _, v := range raw {
		for _, secret := range []string{"Nomsa", "Dlamini", "Lwazi", "555", "Spoke", "sdq01"} {
			if strings.Contains(v, secret) {
				t.Errorf("%q is stored in clear: %q", secret, v)
			}
		}
		if !strings.Contains(v, "sealed:v1:test:") {
			t.Errorf("value not sealed with the test key: %q", v)
		}
	}
	if len(raw) != 4 {
		t.Fatalf("%d sealed values, want 4", len(raw))
	}
	// What the store gives back: the clear values.
	var child store.Child
	if err := st.DB(ctx).Where("id = ?", "ch-1").Take(&child).Error; err != nil {
		t.Fatal(err)
	}
	if child.GivenName != "Lwazi" || child.FamilyName != "Dlamini" {
		t.Errorf("read back %q %q", child.GivenName, child.FamilyName)
	}
}

func TestNoFieldKeyNoPersonalData(t *testing.T) {
	ctx := context.Background()
	st, _ := newSQLiteStore(t)
	addSites(t, st)
	err := st.AddFamilies(ctx, []store.Family{{
		Caregiver: store.Caregiver{ID: "cg-1", SiteID: siteA, GivenName: "Nomsa", Language: "zu", CreatedAt: t0},
		Child:     store.Child{ID: "ch-1", SiteID: siteA, SchoolID: schoolA1, CaregiverID: "cg-1", GivenName: "Lwazi", Sex: "male", BirthDate: t0, Grade: "1", CreatedAt: t0},
	}})
	if !errors.Is(err, store.ErrNoFieldCipher) {
		t.Fatalf("writing a name without a key: %v, want ErrNoFieldCipher", err)
	}
	if n, _ := st.CountChildren(ctx, ""); n != 0 {
		t.Fatalf("%d children written", n)
	}
}

func TestRotateFields(t *testing.T) {
	st := newStore(t)
	addSites(t, st)
	ctx := context.Background()
	var fams []store.Family
	for i := range 30 {
		id := string(rune('a'+i%26)) + string(rune('a'+i/26))
		fams = append(fams, store.Family{
			Caregiver: store.Caregiver{ID: "cg-" + id, SiteID: siteA, GivenName: "Given " + id, FamilyName: "Family", Phone: "0", Language: "en", CreatedAt: t0},
			Child:     store.Child{ID: "ch-" + id, SiteID: siteA, SchoolID: schoolA1, CaregiverID: "cg-" + id, GivenName: "Child " + id, FamilyName: "Family", Sex: "female", BirthDate: t0, Grade: "R", CreatedAt: t0},
		})
	}
	if err := st.AddFamilies(ctx, fams); err != nil {
		t.Fatal(err)
	}
	// An advisor's review comment and a research key are sealed too.
	if err := st.SaveReview(ctx, store.PlanReview{ID: "r1", PlanID: "p1", CycleID: "c1", SiteID: siteA, SchoolID: schoolA1,
		Reviewer: "adv", Verdict: "endorsed", Comment: "a comment naming the family", ReviewedAt: t0}); err != nil {
		t.Fatal(err)
	}
	researchKey, err := st.ResearchKeyFor(ctx, siteA, func() ([]byte, error) { return []byte("0123456789abcdef0123456789abcdef"), nil })
	if err != nil {
		t.Fatal(err)
	}
	deviceKey, err := st.DeviceKeyFor(ctx, "u-fieldworker", func() ([]byte, error) { return []byte("fedcba9876543210fedcba9876543210"), nil })
	if err != nil {
		t.Fatal(err)
	}
	// A new key becomes active; the old one stays for reading.
	k2, err := codec.NewKeyring("k2", map[string][]byte{"test": []byte("khula-test-key-not-a-secret-0123"), "k2": []byte("another-test-key-not-a-secret-01")})
	if err != nil {
		t.Fatal(err)
	}
	st.SetFieldCipher(k2)
	var progress []int
	n, err := st.RotateFields(ctx, "k2", 7, func(done, total int) { progress = append(progress, done) })
	if err != nil {
		t.Fatal(err)
	}
	if n != 63 {
		t.Errorf("rotated %d rows, want 63 (30 caregivers, 30 children, a review, a research key and a device key)", n)
	}
	if len(progress) < 2 {
		t.Errorf("progress reported %v times, want several", progress)
	}
	var stale int64
	st.DB(ctx).Raw("SELECT count(*) FROM children WHERE given_name NOT LIKE 'sealed:v1:k2:%'").Scan(&stale)
	if stale != 0 {
		t.Errorf("%d children still under the old key", stale)
	}
	// With only the new key, every value still opens.
	onlyNew, _ := codec.NewKeyring("k2", map[string][]byte{"k2": []byte("another-test-key-not-a-secret-01")})
	st.SetFieldCipher(onlyNew)
	var kids []store.Child
	if err := st.DB(ctx).Find(&kids).Error; err != nil {
		t.Fatalf("reading after rotation with only the new key: %v", err)
	}
	again, err := st.ResearchKeyFor(ctx, siteA, func() ([]byte, error) { return nil, errors.New("a second key must not be made") })
	if err != nil || string(again) != string(researchKey) {
		t.Errorf("research key after rotation = %q (%v), want the same key", again, err)
	}
	if again, err := st.DeviceKeyFor(ctx, "u-fieldworker", func() ([]byte, error) { return nil, errors.New("a second key must not be made") }); err != nil || string(again) != string(deviceKey) {
		t.Errorf("device key after rotation = %q (%v), want the same key", again, err)
	}
	for _, table := range []string{"plan_reviews WHERE comment", "research_keys WHERE key_sealed", "device_keys WHERE key_sealed"} {
		var n int64
		st.DB(ctx).Raw("SELECT count(*) FROM " + table + " NOT LIKE 'sealed:v1:k2:%'").Scan(&n)
		if n != 0 {
			t.Errorf("%s: %d rows still under the old key", table, n)
		}
	}
	if n, _ := st.RotateFields(ctx, "k2", 7, nil); n != 0 {
		t.Errorf("a second rotation re-sealed %d rows", n)
	}
	_ = codectest.Spec
}
