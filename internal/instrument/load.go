package instrument

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// ErrBaseNotFound reports that a variant's base instrument is not among the bases.
var ErrBaseNotFound = errors.New("base instrument not found")

// Load reads the instrument definition at path in fsys. When it extends a
// base, the base is read from bases as <id>.yaml (the instruments folder,
// e.g. [instruments.FS]) and the variant merged onto it. Every problem in
// either file is reported, as a *LoadError whose lines read file:line: reason.
//
//	in, err := instrument.Load(sites.FS(), "moutse/instrument.yaml", instruments.FS)
func Load(fsys fs.FS, name string, bases fs.FS) (*Instrument, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("loading instrument: %w", err)
	}
	d, ps := parse(name, data)
	if d.root == nil {
		return nil, ps.err()
	}
	if !d.IsVariant() {
		in, err := build(nil, d)
		ps.merge(err)
		if err := ps.err(); err != nil {
			return nil, err
		}
		return in, nil
	}
	base, err := loadBase(d, bases, ps)
	if err != nil {
		return nil, err
	}
	if base == nil {
		return nil, ps.err()
	}
	in, err := build(base, d)
	ps.merge(err)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return in, nil
}

// splitExtends parses "<id>" or "<id>@<major>"; major is -1 when absent.
func splitExtends(s string) (id string, major int, ok bool) {
	id, m, found := strings.Cut(s, "@")
	if !found {
		return id, -1, id != ""
	}
	n, err := strconv.Atoi(m)
	if err != nil || n < 0 {
		return id, -1, false
	}
	return id, n, id != ""
}

// majorOf returns the MAJOR of a semantic version, or -1.
func majorOf(version string) int {
	m, _, _ := strings.Cut(version, ".")
	n, err := strconv.Atoi(m)
	if err != nil {
		return -1
	}
	return n
}

// loadBase finds and parses the base a variant extends. Problems go to ps;
// a nil base with a nil error means the problems say why.
func loadBase(d *Definition, bases fs.FS, ps *problems) (*Definition, error) {
	at := d.pos("extends")
	id, major, ok := splitExtends(d.Extends)
	if !ok {
		ps.add(at, "extends %q must be <base id> or <base id>@<major>", d.Extends)
		return nil, nil
	}
	if bases == nil {
		ps.add(at, "extends %q but no folder of base instruments was given", d.Extends)
		return nil, nil
	}
	file := id + ".yaml"
	data, err := fs.ReadFile(bases, file)
	if errors.Is(err, fs.ErrNotExist) {
		ps.add(at, "extends %q: %v (looked for %s)", d.Extends, ErrBaseNotFound, file)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading base instrument %s: %w", file, err)
	}
	b, bps := parse(path.Join("instruments", file), data)
	for _, p := range bps.list {
		ps.add(Pos{File: p.File, Line: p.Line}, "%s", p.Message)
	}
	if b.root == nil {
		return nil, nil
	}
	if b.IsVariant() {
		ps.add(at, "extends %q, which itself extends %q: a variant must extend a base instrument", d.Extends, b.Extends)
		return nil, nil
	}
	if b.ID != "" && b.ID != id {
		ps.add(at, "extends %q but %s declares id %q", d.Extends, file, b.ID)
	}
	if major >= 0 && majorOf(b.Version) != major {
		ps.add(at, "extends %q but the base is version %s: review the variant against the new major version", d.Extends, b.Version)
	}
	if d.ID != "" && d.ID == b.ID {
		ps.add(d.pos("id"), "a variant needs its own id, not its base's %q", b.ID)
	}
	return b, nil
}
