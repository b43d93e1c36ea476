package store_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/codec"
	"github.com/khula-cop/khula/internal/codec/codectest"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

// person builds a family with the given names, birth date and caregiver.
func person(site, school, id, given, family, born, cgGiven, cgFamily, phone string) store.Family {
	bd, _ := time.Parse(time.DateOnly, born)
	cg := store.Caregiver{ID: "cg-" + id, SiteID: site, GivenName: cgGiven, FamilyName: cgFamily, Phone: phone, Language: "zu", CreatedAt: t0}
	return store.Family{
		Caregiver: cg,
		Child: store.Child{ID: id, SiteID: site, SchoolID: school, CaregiverID: cg.ID, GivenName: given, FamilyName: family,
			Sex: "female", BirthDate: bd, Grade: "2", CreatedAt: t0},
		Consent: &store.Consent{ID: "consent-" + id, ChildID: id, CaregiverID: cg.ID, Relationship: "parent", Scope: "cop-cycle", GivenAt: t0},
	}
}

func TestFindDuplicates(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	known := []store.Family{
		person(siteA, schoolA1, "known-thandiwe", "Thandiwe", "Nkosi", "2016-03-04", "Zanele", "Nkosi", "082 123 4567"),
		person(siteA, schoolA1, "known-sipho", "Sipho", "Dlamini", "2015-11-20", "Busi", "Dlamini", "0831112222"),
		person(siteB, schoolB1, "known-lerato", "Lerato", "Mokoena", "2017-01-09", "Palesa", "Mokoena", "0725556666"),
	}
	if err := st.AddFamilies(ctx, known); err != nil {
		t.Fatal(err)
	}
	incoming := []store.Family{
		// 0: the same child, typed again at another school of the site.
		person(siteA, schoolA2, "new-0", "Thandiwe", "Nkosi", "2016-03-04", "Zanele", "Nkosi", "+27 82 123 4567"),
		// 1: a transliterated spelling and the day and month swapped.
		person(siteA, schoolA2, "new-1", "Sipho", "Dhlamini", "2015-11-20", "Busi", "Dhlamini", "0831112222"),
		// 2: known at the other site.
		person(siteA, schoolA1, "new-2", "Lerato", "Mokwena", "2017-09-01", "Palesa", "Mokwena", "0725556666"),
		// 3: same name and birth date, another caregiver: a different child.
		person(siteA, schoolA2, "new-3", "Thandiwe", "Nkosi", "2016-03-04", "Mpho", "Khumalo", "0609998888"),
		// 4: nobody known.
		person(siteA, schoolA1, "new-4", "Karabo", "Mahlangu", "2016-07-07", "Dineo", "Mahlangu", "0614443333"),
	}
	got, err := st.FindDuplicates(ctx, siteA, incoming)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{0: "known-thandiwe", 1: "known-sipho", 2: "known-lerato"}
	found := map[int]store.Suspect{}
	for _, s := range got {
		found[s.Index] = s
	}
	for i, id := range want {
		if found[i].KnownChildID != id {
			t.Errorf("incoming %d matched %q, want %s", i, found[i].KnownChildID, id)
		}
	}
	for _, i := range []int{3, 4} {
		if s, ok := found[i]; ok {
			t.Errorf("incoming %d should not match, got %+v", i, s)
		}
	}
	if found[2].KnownSiteID != siteB {
		t.Errorf("the match at the other site says site %q", found[2].KnownSiteID)
	}
	for _, s := range got {
		for _, e := range s.Match.Evidence {
			if strings.ContainsAny(e, "0123456789") || strings.Contains(strings.ToLower(e), "nkosi") {
				t.Errorf("evidence carries personal data: %q", e)
			}
		}
	}
	// The index holds HMAC tokens, never a name or date.
	var tokens []store.ChildToken
	if err := st.DB(ctx).Find(&tokens).Error; err != nil {
		t.Fatal(err)
	}
	for _, tk := range tokens {
		if strings.Contains(strings.ToLower(tk.Token), "nkosi") || strings.Contains(tk.Token, "2016") {
			t.Fatalf("token in clear: %+v", tk)
		}
	}
}

func TestDecideDuplicate(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	if err := st.AddFamilies(ctx, []store.Family{person(siteB, schoolB1, "known", "Lerato", "Mokoena", "2017-01-09", "Palesa", "Mokoena", "0725556666")}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.LeaveStudy(ctx, siteB, "known", cycle.LeftArea, "coord-b", t0); err != nil {
		t.Fatal(err)
	}
	newcomer := person(siteA, schoolA1, "held", "Lerato", "Mokwena", "2017-01-09", "Palesa", "Mokoena", "0725556666")
	sus, err := st.FindDuplicates(ctx, siteA, []store.Family{newcomer})
	if err != nil || len(sus) != 1 {
		t.Fatalf("suspects = %+v, %v", sus, err)
	}
	newcomer.Hold = store.HoldFor("h1", siteA, "held", sus[0], t0)
	if err := st.AddFamilies(ctx, []store.Family{newcomer}); err != nil {
		t.Fatal(err)
	}
	if ids := cohortIDs(t, st, siteA); len(ids) != 0 {
		t.Errorf("a held child is in the cohort: %v", ids)
	}
	holds, err := st.DuplicateHolds(ctx, siteB, store.HoldPending, 10)
	if err != nil || len(holds) != 1 {
		t.Fatalf("the known child's site sees %d holds (%v)", len(holds), err)
	}
	h, err := st.DecideDuplicate(ctx, "h1", store.HoldLinked, "pm", t0.AddDate(0, 0, 1), true)
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != store.HoldLinked || h.DecidedBy != "pm" {
		t.Errorf("hold = %+v", h)
	}
	var held, knownChild store.Child
	st.DB(ctx).Where("id = ?", "held").Take(&held)
	st.DB(ctx).Where("id = ?", "known").Take(&knownChild)
	if held.LeftReason != cycle.LeftDuplicate || held.SameAs != "known" {
		t.Errorf("held record: left %q same as %q", held.LeftReason, held.SameAs)
	}
	if held.ErasedAt == nil || held.GivenName != "" {
		t.Errorf("the linked record keeps a second copy of the child's personal data (erased %v)", held.ErasedAt)
	}
	if knownChild.SiteID != siteA || knownChild.SchoolID != schoolA1 || knownChild.LeftAt != nil {
		t.Errorf("known child now at %s/%s, left %v; want followed at the new school", knownChild.SiteID, knownChild.SchoolID, knownChild.LeftAt)
	}
	if n := count(t, st, &store.Consent{}, "child_id = ?", "known"); n != 2 {
		t.Errorf("the known child has %d consents, want 2 (the new one moved over)", n)
	}
	if n := count(t, st, &store.ChildToken{}, "child_id = ?", "held"); n != 0 {
		t.Errorf("the linked record keeps %d index tokens", n)
	}
	if ids := cohortIDs(t, st, siteA); len(ids) != 1 || ids[0] != "known" {
		t.Errorf("cohort after the link = %v, want [known]", ids)
	}
	if _, err := st.DecideDuplicate(ctx, "h1", store.HoldDifferent, "pm", t0, true); !errors.Is(err, store.ErrHoldDecided) {
		t.Errorf("deciding twice: %v", err)
	}
	if _, err := st.DecideDuplicate(ctx, "nope", store.HoldDifferent, "pm", t0, true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deciding an unknown hold: %v", err)
	}
}

func TestDecideDifferentReleasesAndErasureForgets(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	twin := person(siteA, schoolA1, "first", "Ayanda", "Zulu", "2016-05-05", "Nomsa", "Zulu", "0711234567")
	if err := st.AddFamilies(ctx, []store.Family{twin}); err != nil {
		t.Fatal(err)
	}
	other := person(siteA, schoolA1, "second", "Ayanda", "Zulu", "2016-05-05", "Nomsa", "Zulu", "0711234567")
	other.Hold = &store.DuplicateHold{ID: "h2", SiteID: siteA, ChildID: "second", KnownChildID: "first", KnownSiteID: siteA, Score: 1, Status: store.HoldPending, CreatedAt: t0}
	other.Child.SchoolID = schoolA2
	if err := st.AddFamilies(ctx, []store.Family{other}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DecideDuplicate(ctx, "h2", store.HoldDifferent, "coord", t0, false); err != nil {
		t.Fatal(err)
	}
	if ids := cohortIDs(t, st, siteA); len(ids) != 2 {
		t.Errorf("after 'different' the cohort = %v, want both", ids)
	}
	if err := st.ErasePersonal(ctx, "first", t0); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, &store.ChildToken{}, "child_id = ?", "first"); n != 0 {
		t.Errorf("an erased child keeps %d index tokens", n)
	}
	sus, err := st.FindDuplicates(ctx, siteA, []store.Family{person(siteA, schoolA1, "third", "Ayanda", "Zulu", "2016-05-05", "Nomsa", "Zulu", "0711234567")})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sus {
		if s.KnownChildID == "first" {
			t.Error("an erased child was found again")
		}
	}
}

func TestReindexAfterKeyRotation(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	if err := st.AddFamilies(ctx, []store.Family{person(siteA, schoolA1, "k1", "Naledi", "Sithole", "2016-02-02", "Refilwe", "Sithole", "0712223333")}); err != nil {
		t.Fatal(err)
	}
	old := count(t, st, &store.ChildToken{}, "child_id = ?", "k1")
	if old == 0 {
		t.Fatal("no tokens were written at enrolment")
	}
	if n, err := st.ReindexChildren(ctx, 10, nil); err != nil || n != 0 {
		t.Errorf("reindex with the same key touched %d (%v), want 0", n, err)
	}
	rotated, err := codec.ParseKeyring("ACTIVE=rotated;" + codectest.Spec + ";rotated:" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	if err != nil {
		t.Fatal(err)
	}
	st.SetFieldCipher(rotated)
	n, err := st.ReindexChildren(ctx, 10, nil)
	if err != nil || n != 1 {
		t.Fatalf("reindex after rotation = %d, %v; want 1", n, err)
	}
	if got := count(t, st, &store.ChildToken{}, "child_id = ? AND key_id = ?", "k1", "rotated"); got != old {
		t.Errorf("tokens under the new key = %d, want %d", got, old)
	}
	sus, err := st.FindDuplicates(ctx, siteA, []store.Family{person(siteA, schoolA2, "k2", "Naledi", "Sithole", "2016-02-02", "Refilwe", "Sithole", "0712223333")})
	if err != nil || len(sus) != 1 {
		t.Errorf("after rotation the known child is found %d times (%v)", len(sus), err)
	}
}

func TestLinkAcrossSitesIsGuarded(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	if err := st.AddFamilies(ctx, []store.Family{person(siteB, schoolB1, "known", "Lerato", "Mokoena", "2017-01-09", "Palesa", "Mokoena", "0725556666")}); err != nil {
		t.Fatal(err)
	}
	held := person(siteA, schoolA1, "held", "Lerato", "Mokwena", "2017-01-09", "Palesa", "Mokoena", "0725556666")
	held.Hold = &store.DuplicateHold{ID: "h", SiteID: siteA, ChildID: "held", KnownChildID: "known", KnownSiteID: siteB, Score: 0.9, Status: store.HoldPending, CreatedAt: t0}
	if err := st.AddFamilies(ctx, []store.Family{held}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DecideDuplicate(ctx, "h", store.HoldLinked, "coord", t0, false); !errors.Is(err, store.ErrCrossSiteLink) {
		t.Errorf("a coordinator's link across sites: %v, want ErrCrossSiteLink", err)
	}
	// The known child's cycle at their own site is still open: not linked yet.
	addWave(t, st, siteB, 1)
	if err := st.RecordStage(ctx, cycle.StageRecord{CycleID: cycle.CycleID(siteB, 1, "known"), WaveID: cycle.WaveID(siteB, 1), SiteID: siteB,
		SchoolID: schoolB1, ChildID: "known", Seq: 1, Stage: cycle.StageAssess, At: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DecideDuplicate(ctx, "h", store.HoldLinked, "pm", t0, true); !errors.Is(err, store.ErrOpenElsewhere) {
		t.Errorf("a link while the known child's cycle is open at their site: %v, want ErrOpenElsewhere", err)
	}
	h, err := st.DuplicateHold(ctx, "h")
	if err != nil || h.Status != store.HoldPending {
		t.Errorf("a refused link changed the hold: %+v %v", h, err)
	}
}

func TestAChildWhoLeftIsHeldNotRefused(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	addSites(t, st)
	if err := st.AddFamilies(ctx, []store.Family{person(siteA, schoolA1, "old", "Naledi", "Sithole", "2016-02-02", "Refilwe", "Sithole", "0712223333")}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.LeaveStudy(ctx, siteA, "old", cycle.LeftMovedSchool, "coord", t0); err != nil {
		t.Fatal(err)
	}
	back := person(siteA, schoolA1, "back", "Naledi", "Sithole", "2016-02-02", "Refilwe", "Sithole", "0712223333")
	existing, err := st.ExistingChildren(ctx, siteA, []store.ChildKey{store.KeyOf(back.Child)})
	if err != nil || len(existing) != 0 {
		t.Errorf("a child who left is 'already in the cohort': %v %v", existing, err)
	}
	sus, err := st.FindDuplicates(ctx, siteA, []store.Family{back})
	if err != nil || len(sus) != 1 || sus[0].KnownChildID != "old" {
		t.Fatalf("the returning child is not matched to their old record: %+v %v", sus, err)
	}
	back.Hold = store.HoldFor("h", siteA, "back", sus[0], t0)
	if err := st.AddFamilies(ctx, []store.Family{back}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DecideDuplicate(ctx, "h", store.HoldLinked, "coord", t0, false); err != nil {
		t.Fatal(err)
	}
	if ids := cohortIDs(t, st, siteA); len(ids) != 1 || ids[0] != "old" {
		t.Errorf("after the link the cohort is %v, want the old record back", ids)
	}
}
