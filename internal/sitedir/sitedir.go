// Package sitedir finds the site configurations khula runs with (a directory on
// disk, ./sites, or those built into the binary) and which instrument each uses.
package sitedir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/sites"
)

// Directory is the loaded site configurations, keyed by ID, with the
// instrument version each site uses.
type Directory struct {
	byID        map[string]*sites.Site
	instruments map[string]cycle.InstrumentRef
	// FS is the file system the sites were loaded from.
	FS fs.FS
	// Source says where the sites came from, for the start-up banner.
	Source string
	// Dir is the sites directory on disk ("" for the built-in sites).
	Dir string
}

// Load loads every site under dir, or the sites embedded in the binary
// when dir is empty and ./sites does not exist.
func Load(dir string) (*Directory, error) {
	var fsys fs.FS
	source, onDisk := "", ""
	switch {
	case dir != "":
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("sites directory: %w", err)
		}
		fsys, source, onDisk = os.DirFS(dir), dir, dir
	default:
		if st, err := os.Stat("sites"); err == nil && st.IsDir() {
			if matches, _ := filepath.Glob(filepath.Join("sites", "*", sites.SiteFile)); len(matches) > 0 {
				fsys, source, onDisk = os.DirFS("sites"), "./sites", "sites"
			}
		}
		if fsys == nil {
			fsys, source = sites.FS(), "built into the binary"
		}
	}
	all, err := sites.LoadAll(fsys)
	if err != nil {
		return nil, err
	}
	d := &Directory{byID: map[string]*sites.Site{}, instruments: map[string]cycle.InstrumentRef{}, FS: fsys, Source: source, Dir: onDisk}
	schools := map[string]string{}
	var errs []error
	for _, s := range all {
		d.byID[s.ID] = s
		for _, sc := range s.Schools {
			if other, dup := schools[sc.ID]; dup {
				errs = append(errs, fmt.Errorf("school id %q is used by sites %s and %s: school IDs must be unique across sites", sc.ID, other, s.ID))
			}
			schools[sc.ID] = s.ID
		}
	}
	return d, errors.Join(errs...)
}

// Site returns the site with id.
func (d *Directory) Site(id string) (*sites.Site, bool) {
	s, ok := d.byID[id]
	return s, ok
}

// Sites lists every site, sorted by ID.
func (d *Directory) Sites() []*sites.Site {
	out := make([]*sites.Site, 0, len(d.byID))
	for _, s := range d.byID {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// SetInstrument records the instrument version a site uses.
func (d *Directory) SetInstrument(siteID string, ref cycle.InstrumentRef) {
	d.instruments[siteID] = ref
}

// Instrument returns the instrument version a site uses.
func (d *Directory) Instrument(siteID string) (cycle.InstrumentRef, bool) {
	r, ok := d.instruments[siteID]
	return r, ok
}

// Only returns a directory holding just the named sites, with their instruments.
func (d *Directory) Only(ids ...string) (*Directory, error) {
	out := &Directory{byID: map[string]*sites.Site{}, instruments: map[string]cycle.InstrumentRef{}, FS: d.FS, Source: d.Source, Dir: d.Dir}
	for _, id := range ids {
		s, ok := d.byID[id]
		if !ok {
			return nil, fmt.Errorf("no site %q (sites from %s)", id, d.Source)
		}
		out.byID[id] = s
		if ref, ok := d.instruments[id]; ok {
			out.instruments[id] = ref
		}
	}
	return out, nil
}

// CheckDeployment refuses sites that still hold placeholder values
// (sites.Placeholders: TODO, xxx, addresses and URLs on example.org,
// .invalid, …): the shipped demo sites keep them on purpose, but a
// deployment that serves children must not mail example.org. The error
// lists every placeholder of every site with file and line, as `khula site
// validate --deploy` does; nil when there is none. A production worker
// calls it on the sites it serves (Only) before it starts.
func (d *Directory) CheckDeployment() error {
	var errs []error
	for _, s := range d.Sites() {
		found := sites.Placeholders(d.FS, s)
		if len(found) == 0 {
			continue
		}
		for i := range found {
			if d.Dir != "" {
				found[i].File = filepath.Join(d.Dir, found[i].File)
			}
			found[i].Message += ": " + sites.PlaceholderRefused
		}
		errs = append(errs, &sites.Error{Site: s.ID, Problems: found})
	}
	return errors.Join(errs...)
}
