package evidence

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/findings"
	"github.com/khula-cop/khula/internal/instrument"
	"github.com/khula-cop/khula/internal/research"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/sites"
)

// Instruments finds a loaded instrument version.
type Instruments interface {
	Instrument(ref cycle.InstrumentRef) (*instrument.Instrument, bool)
}

// FindingsInput reads a wave of a site into the findings report's input.
func FindingsInput(ctx context.Context, st *store.Store, site *sites.Site, domains []findings.Domain, wave store.Wave, now time.Time) (findings.Input, error) {
	in := findings.Input{Site: site.ID, SiteName: site.Name, Wave: wave.Number, WaveStatus: wave.Status, GeneratedAt: now,
		Domains: domains, PlansBySchool: map[string]int{}}
	for _, sc := range site.Schools {
		in.Schools = append(in.Schools, findings.School{ID: sc.ID, Name: sc.Name})
	}
	err := st.EachCycleEvidence(ctx, store.EvidenceQuery{SiteID: site.ID, Wave: wave.Number, Answers: true}, func(ev store.CycleEvidence) error {
		child, err := Child(ev)
		if err != nil {
			return err
		}
		in.Children = append(in.Children, child)
		if len(ev.Plans) > 0 {
			in.Plans++
			in.PlansBySchool[ev.Cycle.SchoolID]++
		}
		in.Referrals = append(in.Referrals, Referrals(ev)...)
		in.Actions = append(in.Actions, Actions(ev, now)...)
		return nil
	})
	if err != nil {
		return in, fmt.Errorf("reading wave %d of %s: %w", wave.Number, site.ID, err)
	}
	return in, nil
}

// ResearchSchema builds a site's research dataset schema from the
// instrument versions its scores were made with (the site's current one,
// current, when nothing was scored yet).
func ResearchSchema(ctx context.Context, st *store.Store, reg Instruments, siteID string, current cycle.InstrumentRef) (*research.Schema, error) {
	used, err := st.InstrumentsUsed(ctx, siteID)
	if err != nil {
		return nil, err
	}
	refs := []cycle.InstrumentRef{}
	for _, u := range used {
		refs = append(refs, cycle.InstrumentRef{ID: u.InstrumentID, Version: u.InstrumentVersion})
	}
	if len(refs) == 0 && current.ID != "" {
		refs = append(refs, current)
	}
	var ins []*instrument.Instrument
	var domains []string
	for _, ref := range refs {
		in, ok := reg.Instrument(ref)
		if !ok {
			return nil, fmt.Errorf("the scores were made with instrument %s %s, which is not loaded: the codebook cannot describe it", ref.ID, ref.Version)
		}
		ins = append(ins, in)
		for _, d := range in.Domains() {
			if !contains(domains, d.ID) {
				domains = append(domains, d.ID)
			}
		}
	}
	if len(ins) == 0 {
		return nil, fmt.Errorf("no instrument: the site has no scores and no instrument configured")
	}
	schema, err := research.NewSchema(ins, domains)
	if err != nil {
		return nil, fmt.Errorf("research schema: %w", err)
	}
	return schema, nil
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// Progress is told how many of a site's cycles were written.
type Progress func(done, total int)

// WriteResearch streams a site's research dataset to data, one row per
// child per time point, reading the store a batch at a time, and tells
// progress after each cycle. It returns the number of rows written.
func WriteResearch(ctx context.Context, st *store.Store, schema *research.Schema, key []byte, siteID string, now time.Time, data io.Writer, progress Progress) (int, error) {
	w, err := research.NewWriter(data, schema, key)
	if err != nil {
		return 0, err
	}
	total := 0
	if progress != nil {
		n, err := st.CountCycles(ctx, siteID, 0)
		if err != nil {
			return 0, err
		}
		total = int(n)
	}
	done := 0
	err = st.EachCycleEvidence(ctx, store.EvidenceQuery{SiteID: siteID, Answers: true}, func(ev store.CycleEvidence) error {
		rows, err := Rows(ev, now)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := w.Write(r); err != nil {
				return fmt.Errorf("wave %d: %w", ev.Wave, err)
			}
		}
		done++
		if progress != nil {
			progress(done, total)
		}
		return nil
	})
	if err != nil {
		return w.Rows(), err
	}
	if err := w.Close(); err != nil {
		return w.Rows(), err
	}
	return w.Rows(), nil
}

// ReadMe describes the research export's files.
func ReadMe(siteID string, rows int, now time.Time) string {
	return fmt.Sprintf(`khula research dataset: site %s, exported %s

data.csv      one row per child per time point (wave and phase), %d rows.
              Children are keyed by a pseudonym: a keyed hash that stays the
              same from wave to wave and differs between sites. No name,
              child ID, date of birth (age in months instead) or phone number
              is in it. Text cells that a spreadsheet would run as a formula
              start with an apostrophe.
codebook.csv  every column of data.csv: label, type, allowed values and the
              instrument versions that produced it.

The export was recorded in khula's audit log with its purpose. Keep it
under the study's data agreement: small groups may still be identifiable.
`, siteID, now.UTC().Format(time.RFC3339), rows)
}

// WriteResearchZip streams the dataset, its codebook and a README as one
// ZIP archive.
func WriteResearchZip(ctx context.Context, st *store.Store, schema *research.Schema, key []byte, siteID string, now time.Time, out io.Writer) (int, error) {
	z := zip.NewWriter(out)
	head := func(name string) (io.Writer, error) {
		return z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: now})
	}
	data, err := head("data.csv")
	if err != nil {
		return 0, err
	}
	rows, err := WriteResearch(ctx, st, schema, key, siteID, now, data, nil)
	if err != nil {
		return rows, err
	}
	cb, err := head("codebook.csv")
	if err != nil {
		return rows, err
	}
	if err := research.WriteCodebook(cb, schema.Codebook()); err != nil {
		return rows, err
	}
	rd, err := head("README.txt")
	if err != nil {
		return rows, err
	}
	if _, err := io.WriteString(rd, ReadMe(siteID, rows, now)); err != nil {
		return rows, err
	}
	return rows, z.Close()
}
