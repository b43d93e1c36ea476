// Package demo seeds a made-up cohort for `khula dev`: children and
// caregivers with plainly artificial names ("Demo child MDL-004"), fake phone
// numbers, consent recorded for most and missing for a few. No real person's
// data is ever part of the demo.
package demo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/sites"
)

// Options shape the seeded cohort.
type Options struct {
	// PerSchool is the number of children per school. Default 12.
	PerSchool int
	// NoConsentEvery leaves one child in every n without consent.
	// Default 12, or PerSchool when that is smaller.
	NoConsentEvery int
	// Today anchors ages. Default time.Now.
	Today time.Time
	// Seed makes the cohort reproducible. Default 1.
	Seed uint64
}

// Result counts what was seeded.
type Result struct {
	Children  int
	Consented int
}

// ConsentDaysBefore is how many days before the seeding day the demo's
// consents are dated.
const ConsentDaysBefore = 14

// ChildID is the opaque ID of the demo child i of a school: stable across
// runs, never derived from a name that could identify anyone.
func ChildID(siteID, schoolID string, i int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%d", siteID, schoolID, i)))
	return "ch-" + hex.EncodeToString(sum[:5])
}

// Seed adds the site, its schools and a demo cohort in one transaction, so
// a crash mid-seed leaves no half cohort. Call it on a database without children.
func Seed(ctx context.Context, st *store.Store, site *sites.Site, opts Options) (Result, error) {
	if opts.PerSchool <= 0 {
		opts.PerSchool = 12
	}
	if opts.NoConsentEvery <= 0 {
		opts.NoConsentEvery = min(12, opts.PerSchool)
	}
	if opts.Today.IsZero() {
		opts.Today = time.Now().UTC()
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if err := EnsureSite(ctx, st, site); err != nil {
		return Result{}, err
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x6b68756c61))
	var res Result
	var families []store.Family
	now := opts.Today.UTC()
	for _, sc := range site.Schools {
		code := strings.ToUpper(sc.ID[:min(3, len(sc.ID))])
		for i := 1; i <= opts.PerSchool; i++ {
			id := ChildID(site.ID, sc.ID, i)
			label := fmt.Sprintf("%s-%03d", code, i)
			sex := "female"
			if rng.IntN(2) == 0 {
				sex = "male"
			}
			grade, years := "R", 5
			if rng.IntN(2) == 0 {
				grade, years = "1", 6
			}
			birth := now.AddDate(-years, -rng.IntN(12), -rng.IntN(28)).Truncate(24 * time.Hour)
			cg := store.Caregiver{
				ID: "cg-" + id[3:], SiteID: site.ID, GivenName: "Demo caregiver", FamilyName: label,
				Phone: fmt.Sprintf("+27 00 000 %04d", rng.IntN(10000)), Language: site.DefaultLanguage, CreatedAt: now,
			}
			child := store.Child{
				ID: id, SiteID: site.ID, SchoolID: sc.ID, CaregiverID: cg.ID, GivenName: "Demo child", FamilyName: label,
				Sex: sex, BirthDate: birth, Grade: grade, CreatedAt: now,
			}
			var consent *store.Consent
			if i%opts.NoConsentEvery != opts.NoConsentEvery/2 {
				// Consent is collected before a wave: two weeks before today, so
				// a site that renews consent each wave needs it renewed for the next.
				consent = &store.Consent{ID: "consent-" + id[3:], ChildID: id, CaregiverID: cg.ID, Relationship: "parent", Scope: "cop-cycle", GivenAt: now.AddDate(0, 0, -ConsentDaysBefore)}
				res.Consented++
			}
			families = append(families, store.Family{Caregiver: cg, Child: child, Consent: consent})
			res.Children++
		}
	}
	if err := st.AddFamilies(ctx, families); err != nil {
		return Result{}, fmt.Errorf("seeding %s: %w", site.ID, err)
	}
	return res, nil
}

// EnsureSite records a site and its schools from their configuration.
func EnsureSite(ctx context.Context, st *store.Store, site *sites.Site) error {
	now := time.Now().UTC()
	schools := make([]store.School, 0, len(site.Schools))
	for _, sc := range site.Schools {
		schools = append(schools, store.School{ID: sc.ID, SiteID: site.ID, Name: sc.Name, Quintile: sc.Quintile, CreatedAt: now})
	}
	return st.EnsureSite(ctx, store.Site{ID: site.ID, Name: site.Name, Setting: site.Setting, CreatedAt: now}, schools)
}
