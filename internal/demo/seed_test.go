package demo_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/codec/codectest"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/demo"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/sites"
)

// today anchors the seeded ages.
var today = time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC)

// testSite is a small made-up site with two schools (codes MDL and KWA).
func testSite() *sites.Site {
	return &sites.Site{
		ID: "alpha", Name: "Alpha", Setting: "urban", DefaultLanguage: "zu",
		Schools: []sites.School{
			{ID: "mdl", Name: "Modelo Primary", Quintile: 1},
			{ID: "kwa-school", Name: "Kwa Primary", Quintile: 3},
		},
	}
}

func newStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "khula.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	st.SetFieldCipher(codectest.Keyring())
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return st
}

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

func TestChildID(t *testing.T) {
	// Expected values: "ch-" and the first 5 bytes (10 hex digits) of
	// sha256("<site>/<school>/<i>"), computed with sha256sum.
	tests := []struct {
		site, school string
		i            int
		want         string
	}{
		{site: "alpha", school: "a-one", i: 1, want: "ch-ebce6e4c01"},
		{site: "alpha", school: "a-one", i: 2, want: "ch-1ef21a94bc"},
		{site: "alpha", school: "a-two", i: 1, want: "ch-c9b5db38bc"},
		{site: "beta", school: "a-one", i: 1, want: "ch-7471d85c8b"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s/%d", tt.site, tt.school, tt.i), func(t *testing.T) {
			got := demo.ChildID(tt.site, tt.school, tt.i)
			if got != tt.want {
				t.Errorf("ChildID = %q, want %q", got, tt.want)
			}
			if again := demo.ChildID(tt.site, tt.school, tt.i); again != got {
				t.Errorf("ChildID is not stable: %q then %q", got, again)
			}
		})
	}
}

func TestSeedCounts(t *testing.T) {
	// A child i (1..PerSchool) goes without consent when i % n == n/2, where
	// n is NoConsentEvery (default min(12, PerSchool)).
	tests := []struct {
		name          string
		opts          demo.Options
		wantPerSchool int
		wantNoConsent []int // per school
	}{
		{name: "defaults: 12 per school, n=12", opts: demo.Options{}, wantPerSchool: 12, wantNoConsent: []int{6}},
		{name: "5 per school, n defaults to 5", opts: demo.Options{PerSchool: 5}, wantPerSchool: 5, wantNoConsent: []int{2}},
		{name: "30 per school, n=12", opts: demo.Options{PerSchool: 30}, wantPerSchool: 30, wantNoConsent: []int{6, 18, 30}},
		{name: "6 per school, n=2", opts: demo.Options{PerSchool: 6, NoConsentEvery: 2}, wantPerSchool: 6, wantNoConsent: []int{1, 3, 5}},
		{name: "10 per school, n=4", opts: demo.Options{PerSchool: 10, NoConsentEvery: 4}, wantPerSchool: 10, wantNoConsent: []int{2, 6, 10}},
		{name: "2 per school, n defaults to 2", opts: demo.Options{PerSchool: 2}, wantPerSchool: 2, wantNoConsent: []int{1}},
		{name: "4 per school, n=20 larger than the school", opts: demo.Options{PerSchool: 4, NoConsentEvery: 20}, wantPerSchool: 4, wantNoConsent: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStore(t)
			ctx := context.Background()
			site := testSite()
			opts := tt.opts
			opts.Today = today
			res, err := demo.Seed(ctx, st, site, opts)
			if err != nil {
				t.Fatalf("Seed: %v", err)
			}
			schools := len(site.Schools)
			want := demo.Result{Children: tt.wantPerSchool * schools, Consented: (tt.wantPerSchool - len(tt.wantNoConsent)) * schools}
			if res != want {
				t.Errorf("Seed result = %+v, want %+v", res, want)
			}
			if n := count(t, st, &store.Child{}, ""); n != int64(want.Children) {
				t.Errorf("%d children stored, want %d", n, want.Children)
			}
			if n := count(t, st, &store.Caregiver{}, ""); n != int64(want.Children) {
				t.Errorf("%d caregivers stored, want %d", n, want.Children)
			}
			if n := count(t, st, &store.Consent{}, ""); n != int64(want.Consented) {
				t.Errorf("%d consents stored, want %d", n, want.Consented)
			}
			for _, sc := range site.Schools {
				if n := count(t, st, &store.Child{}, "school_id = ? AND site_id = ?", sc.ID, site.ID); n != int64(tt.wantPerSchool) {
					t.Errorf("school %s has %d children, want %d", sc.ID, n, tt.wantPerSchool)
				}
				var missing []int
				for i := 1; i <= tt.wantPerSchool; i++ {
					e, err := st.Enrolment(ctx, cycle.EnrolmentQuery{SiteID: site.ID, ChildID: demo.ChildID(site.ID, sc.ID, i)})
					if err != nil {
						t.Fatalf("Enrolment: %v", err)
					}
					if !e.Found || e.SchoolID != sc.ID {
						t.Errorf("child %d of %s: enrolment %+v, want found at %s", i, sc.ID, e, sc.ID)
					}
					if !e.Consented {
						missing = append(missing, i)
					}
				}
				if !reflect.DeepEqual(missing, tt.wantNoConsent) {
					t.Errorf("school %s: children without consent %v, want %v", sc.ID, missing, tt.wantNoConsent)
				}
			}
		})
	}
}

func TestSeedMakesArtificialChildren(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	site := testSite()
	if _, err := demo.Seed(ctx, st, site, demo.Options{PerSchool: 12, Today: today, Seed: 7}); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	var children []store.Child
	if err := st.DB(ctx).Find(&children).Error; err != nil {
		t.Fatalf("reading children: %v", err)
	}
	// Names are sealed in the database, so they sort here, not in SQL.
	sort.Slice(children, func(i, j int) bool {
		if children[i].SchoolID != children[j].SchoolID {
			return children[i].SchoolID < children[j].SchoolID
		}
		return children[i].FamilyName < children[j].FamilyName
	})
	if len(children) != 24 {
		t.Fatalf("%d children, want 24", len(children))
	}
	caregivers := map[string]store.Caregiver{}
	var cgs []store.Caregiver
	if err := st.DB(ctx).Find(&cgs).Error; err != nil {
		t.Fatalf("reading caregivers: %v", err)
	}
	for _, cg := range cgs {
		caregivers[cg.ID] = cg
	}
	idPattern := regexp.MustCompile(`^ch-[0-9a-f]{10}$`)
	phonePattern := regexp.MustCompile(`^\+27 00 000 [0-9]{4}$`)
	codes := map[string]string{"mdl": "MDL", "kwa-school": "KWA"}
	seen := map[string]bool{}
	for k, c := range children {
		i := k%12 + 1 // ordered by school, then label MDL-001..MDL-012
		label := fmt.Sprintf("%s-%03d", codes[c.SchoolID], i)
		if c.ID != demo.ChildID(site.ID, c.SchoolID, i) {
			t.Errorf("%s: ID %q, want ChildID(%s, %s, %d) = %q", label, c.ID, site.ID, c.SchoolID, i, demo.ChildID(site.ID, c.SchoolID, i))
		}
		if !idPattern.MatchString(c.ID) {
			t.Errorf("%s: ID %q is not ch- and 10 hex digits", label, c.ID)
		}
		for _, part := range []string{c.GivenName, c.FamilyName, "Demo", "child", c.SchoolID, codes[c.SchoolID]} {
			if strings.Contains(strings.ToLower(c.ID), strings.ToLower(part)) {
				t.Errorf("%s: ID %q contains %q", label, c.ID, part)
			}
		}
		if seen[c.ID] {
			t.Errorf("%s: ID %q repeated", label, c.ID)
		}
		seen[c.ID] = true
		if c.GivenName != "Demo child" || c.FamilyName != label || c.SiteID != site.ID {
			t.Errorf("%s: child named %q %q at %s, want \"Demo child\" %q at %s", label, c.GivenName, c.FamilyName, c.SiteID, label, site.ID)
		}
		if c.Sex != "female" && c.Sex != "male" {
			t.Errorf("%s: sex %q", label, c.Sex)
		}
		// Grade R children are 5, grade 1 children 6, plus under a year.
		years := map[string]int{"R": 5, "1": 6}[c.Grade]
		if years == 0 {
			t.Errorf("%s: grade %q, want R or 1", label, c.Grade)
		} else {
			oldest, youngest := today.AddDate(-years-1, 0, -1), today.AddDate(-years, 0, 0)
			if !c.BirthDate.After(oldest) || c.BirthDate.After(youngest) {
				t.Errorf("%s: grade %s born %v, want after %v and not after %v", label, c.Grade, c.BirthDate, oldest, youngest)
			}
		}
		if !c.CreatedAt.Equal(today) {
			t.Errorf("%s: created %v, want %v", label, c.CreatedAt, today)
		}
		cg, ok := caregivers[c.CaregiverID]
		if !ok {
			t.Errorf("%s: caregiver %q missing", label, c.CaregiverID)
			continue
		}
		if cg.ID != "cg-"+c.ID[3:] || cg.GivenName != "Demo caregiver" || cg.FamilyName != label || cg.Language != "zu" || cg.SiteID != site.ID {
			t.Errorf("%s: caregiver %+v, want cg-%s \"Demo caregiver\" %q speaking zu", label, cg, c.ID[3:], label)
		}
		if !phonePattern.MatchString(cg.Phone) {
			t.Errorf("%s: caregiver phone %q is not a +27 00 000 dddd placeholder", label, cg.Phone)
		}
	}

	var consents []store.Consent
	if err := st.DB(ctx).Find(&consents).Error; err != nil {
		t.Fatalf("reading consents: %v", err)
	}
	for _, c := range consents {
		if c.ID != "consent-"+c.ChildID[3:] || c.CaregiverID != "cg-"+c.ChildID[3:] || c.Relationship != "parent" ||
			c.Scope != "cop-cycle" || !c.GivenAt.Equal(today.AddDate(0, 0, -demo.ConsentDaysBefore)) || c.WithdrawnAt != nil {
			t.Errorf("consent %+v, want consent-<id> by the child's caregiver, parent, cop-cycle, given two weeks before %v", c, today)
		}
	}

	var schools []store.School
	if err := st.DB(ctx).Order("id").Find(&schools).Error; err != nil {
		t.Fatalf("reading schools: %v", err)
	}
	gotSchools := make([]string, len(schools))
	for i, sc := range schools {
		gotSchools[i] = fmt.Sprintf("%s/%s/%s/%d", sc.ID, sc.SiteID, sc.Name, sc.Quintile)
	}
	wantSchools := []string{"kwa-school/alpha/Kwa Primary/3", "mdl/alpha/Modelo Primary/1"}
	if !reflect.DeepEqual(gotSchools, wantSchools) {
		t.Errorf("schools = %q, want %q", gotSchools, wantSchools)
	}
	if n := count(t, st, &store.Site{}, "id = ? AND name = ? AND setting = ?", "alpha", "Alpha", "urban"); n != 1 {
		t.Errorf("%d site rows for alpha, want 1", n)
	}
}

// snapshot lists every seeded child's generated fields.
func snapshot(t *testing.T, st *store.Store) []string {
	t.Helper()
	// Read through the models: phone numbers are sealed in the database.
	var children []store.Child
	var caregivers []store.Caregiver
	db := st.DB(context.Background())
	if err := db.Order("id").Find(&children).Error; err != nil {
		t.Fatalf("reading children: %v", err)
	}
	if err := db.Find(&caregivers).Error; err != nil {
		t.Fatalf("reading caregivers: %v", err)
	}
	phone := map[string]string{}
	for _, cg := range caregivers {
		phone[cg.ID] = cg.Phone
	}
	out := make([]string, len(children))
	for i, c := range children {
		out[i] = fmt.Sprintf("%s %s %s %s %s", c.ID, c.Sex, c.Grade, c.BirthDate.UTC().Format(time.DateOnly), phone[c.CaregiverID])
	}
	return out
}

func TestSeedIsReproducible(t *testing.T) {
	seed := func(s uint64) []string {
		st := newStore(t)
		if _, err := demo.Seed(context.Background(), st, testSite(), demo.Options{PerSchool: 6, Today: today, Seed: s}); err != nil {
			t.Fatalf("Seed(%d): %v", s, err)
		}
		return snapshot(t, st)
	}
	a, b, c := seed(3), seed(3), seed(4)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("two seeds with Seed 3 differ:\n%q\n%q", a, b)
	}
	if reflect.DeepEqual(a, c) {
		t.Errorf("Seed 3 and Seed 4 made the same cohort: %q", a)
	}
	// The IDs do not depend on the random seed.
	ids := func(rows []string) []string {
		out := make([]string, len(rows))
		for i, r := range rows {
			out[i] = strings.Fields(r)[0]
		}
		sort.Strings(out)
		return out
	}
	if !reflect.DeepEqual(ids(a), ids(c)) {
		t.Errorf("child IDs depend on the random seed: %q vs %q", ids(a), ids(c))
	}
}

func TestSeedTwiceAddsNothing(t *testing.T) {
	tests := []struct {
		name   string
		second demo.Options
	}{
		{name: "same options", second: demo.Options{PerSchool: 4, Today: today}},
		{name: "larger cohort", second: demo.Options{PerSchool: 6, Today: today}},
		{name: "other random seed", second: demo.Options{PerSchool: 4, Today: today, Seed: 99}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStore(t)
			ctx := context.Background()
			site := testSite()
			if _, err := demo.Seed(ctx, st, site, demo.Options{PerSchool: 4, Today: today}); err != nil {
				t.Fatalf("first Seed: %v", err)
			}
			before := snapshot(t, st)
			// 4 per school, n=4: child 2 of each school has no consent.
			const wantChildren, wantConsents = 8, 6
			res, err := demo.Seed(ctx, st, site, tt.second)
			if err == nil {
				t.Fatalf("second Seed succeeded with %+v, want an error", res)
			}
			if !strings.Contains(err.Error(), "seeding alpha") {
				t.Errorf("error %q does not name the site", err)
			}
			if res != (demo.Result{}) {
				t.Errorf("failed Seed returned %+v, want a zero result", res)
			}
			if n := count(t, st, &store.Child{}, ""); n != wantChildren {
				t.Errorf("%d children after the failed Seed, want %d", n, wantChildren)
			}
			if n := count(t, st, &store.Caregiver{}, ""); n != wantChildren {
				t.Errorf("%d caregivers after the failed Seed, want %d", n, wantChildren)
			}
			if n := count(t, st, &store.Consent{}, ""); n != wantConsents {
				t.Errorf("%d consents after the failed Seed, want %d", n, wantConsents)
			}
			if after := snapshot(t, st); !reflect.DeepEqual(after, before) {
				t.Errorf("children changed by the failed Seed:\n%q\n%q", before, after)
			}
		})
	}
}

func TestEnsureSiteTwice(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	site := testSite()
	for i := range 2 {
		if err := demo.EnsureSite(ctx, st, site); err != nil {
			t.Fatalf("EnsureSite call %d: %v", i+1, err)
		}
	}
	if n := count(t, st, &store.Site{}, ""); n != 1 {
		t.Errorf("%d sites, want 1", n)
	}
	if n := count(t, st, &store.School{}, "site_id = ?", "alpha"); n != 2 {
		t.Errorf("%d schools, want 2", n)
	}
	if n := count(t, st, &store.Child{}, ""); n != 0 {
		t.Errorf("EnsureSite added %d children, want 0", n)
	}
}
