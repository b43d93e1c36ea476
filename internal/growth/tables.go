package growth

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/khula-cop/khula/internal/growth/who"
)

// The file names WHO's anthro and anthroplus packages use.
const (
	FileLengthForAge2006 = "lenanthro.txt"
	FileWeightForAge2006 = "weianthro.txt"
	FileBMIForAge2006    = "bmianthro.txt"
	FileHeightForAge2007 = "hfawho2007.txt"
	FileWeightForAge2007 = "wfawho2007.txt"
	FileBMIForAge2007    = "bfawho2007.txt"
)

// Age ranges khula needs from each table (inclusive), in the table's unit.
const (
	lastDay2006   = 1826 // 60 months = 1826.25 days, rounded
	firstMonth07  = 61
	lastMonth07   = 228
	lastMonthWFA7 = 120
)

// lms is one row of a reference table.
type lms struct{ l, m, s float64 }

// curve is one sex's rows of a table, indexed by age − start.
type curve struct {
	start int
	rows  []lms
	loh   []byte // 'L' or 'H' per row; nil when the table has no loh column
}

// at returns the row for a whole age.
func (c *curve) at(age int) (lms, bool) {
	i := age - c.start
	if i < 0 || i >= len(c.rows) {
		return lms{}, false
	}
	return c.rows[i], true
}

// position returns the loh code for a whole age, 0 if unknown.
func (c *curve) position(age int) byte {
	i := age - c.start
	if c.loh == nil || i < 0 || i >= len(c.loh) {
		return 0
	}
	return c.loh[i]
}

// table is one reference file: a curve per sex.
type table struct {
	path  string
	bySex [2]curve
}

func (t *table) curve(s Sex) *curve { return &t.bySex[s-1] }

// TableError reports a malformed reference table. Its message has the form
// "file:line: reason" (or "file: reason" when no single line is at fault).
type TableError struct {
	File   string
	Line   int
	Reason string
}

// Error formats the error as file:line: reason.
func (e *TableError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Reason)
}

// tableSpec says what khula needs from one file.
type tableSpec struct {
	file     string
	needLoh  bool
	from, to int // ages that must be present for both sexes
	unit     string
	dst      func(*References) **table
}

var tableSpecs = []tableSpec{
	{FileLengthForAge2006, true, 0, lastDay2006, "days", func(r *References) **table { return &r.len06 }},
	{FileWeightForAge2006, false, 0, lastDay2006, "days", func(r *References) **table { return &r.wei06 }},
	{FileBMIForAge2006, true, 0, lastDay2006, "days", func(r *References) **table { return &r.bmi06 }},
	{FileHeightForAge2007, false, firstMonth07, lastMonth07, "months", func(r *References) **table { return &r.hfa07 }},
	{FileWeightForAge2007, false, firstMonth07, lastMonthWFA7, "months", func(r *References) **table { return &r.wfa07 }},
	{FileBMIForAge2007, false, firstMonth07, lastMonth07, "months", func(r *References) **table { return &r.bfa07 }},
}

// LoadReferences reads WHO's six reference tables from dir, in the layout
// WHO's anthro and anthroplus packages distribute them (see the package doc).
// It is the override of the built-in tables ([LoadEmbedded]). When dir or
// any of the files is missing, the error wraps [ErrNoTables] and names the
// directory and the missing files. A malformed file yields an error that
// wraps a [*TableError] ("file:line: reason").
func LoadReferences(dir string) (*References, error) {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w: directory %s does not exist", ErrNoTables, dir)
	case err != nil:
		return nil, fmt.Errorf("growth: reading reference tables: %w", err)
	case !info.IsDir():
		return nil, fmt.Errorf("%w: %s is not a directory", ErrNoTables, dir)
	}
	refs, missing, err := loadFS(os.DirFS(dir), func(name string) string { return filepath.Join(dir, name) })
	switch {
	case len(missing) > 0:
		return nil, fmt.Errorf("%w: directory %s is missing %s", ErrNoTables, dir, strings.Join(missing, ", "))
	case err != nil:
		return nil, err
	}
	refs.dir = dir
	return refs, nil
}

// LoadEmbedded returns WHO's tables as built into khula (package
// [github.com/khula-cop/khula/internal/growth/who], copied unchanged from
// WHO's anthro and anthroplus software). It is the default wherever khula
// computes growth; [LoadReferences] reads another copy instead, and
// [References.Dir] is empty for these. An error here means the binary was
// built from a damaged checkout.
func LoadEmbedded() (*References, error) {
	refs, missing, err := loadFS(who.Tables(), func(name string) string { return embeddedPrefix + name })
	switch {
	case len(missing) > 0:
		return nil, fmt.Errorf("%w: the built-in tables lack %s", ErrNoTables, strings.Join(missing, ", "))
	case err != nil:
		return nil, err
	}
	return refs, nil
}

// embeddedPrefix names a built-in table in errors.
const embeddedPrefix = "built-in "

// loadFS reads the six tables from the root of fsys; where turns a file name
// into the name errors give it. missing lists the files fsys lacks (refs is
// then nil and nothing was read).
func loadFS(fsys fs.FS, where func(string) string) (refs *References, missing []string, err error) {
	for _, sp := range tableSpecs {
		if _, err := fs.Stat(fsys, sp.file); errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, sp.file)
		}
	}
	if len(missing) > 0 {
		return nil, missing, nil
	}
	refs = &References{}
	for _, sp := range tableSpecs {
		t, err := readTable(fsys, sp, where(sp.file))
		if err != nil {
			return nil, nil, fmt.Errorf("growth: reading reference tables: %w", err)
		}
		*sp.dst(refs) = t
	}
	return refs, nil, nil
}

// readTable parses sp's file from fsys and checks it covers the ages sp
// needs; path is the file's name in errors.
func readTable(fsys fs.FS, sp tableSpec, path string) (*table, error) {
	f, err := fsys.Open(sp.file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()

	bad := func(line int, format string, args ...any) error {
		return &TableError{File: path, Line: line, Reason: fmt.Sprintf(format, args...)}
	}

	t := &table{path: path}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	line := 0
	col := map[string]int{}
	ncols := 0
	seen := [2]bool{}
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		if text == "" {
			continue
		}
		fields := strings.Fields(text)
		if ncols == 0 { // header
			for i, name := range fields {
				name = strings.ToLower(name)
				if _, dup := col[name]; dup {
					return nil, bad(line, "header repeats column %q", name)
				}
				col[name] = i
			}
			need := []string{"sex", "age", "l", "m", "s"}
			if sp.needLoh {
				need = append(need, "loh")
			}
			for _, name := range need {
				if _, ok := col[name]; !ok {
					return nil, bad(line, "header lacks column %q (have %s)", name, strings.Join(fields, " "))
				}
			}
			ncols = len(fields)
			continue
		}
		if len(fields) != ncols {
			return nil, bad(line, "%d fields, header has %d", len(fields), ncols)
		}

		sexText := fields[col["sex"]]
		sex, err := strconv.Atoi(sexText)
		if err != nil || !Sex(sex).Valid() {
			return nil, bad(line, "sex %q: want 1 or 2", sexText)
		}
		ageText := fields[col["age"]]
		age, err := strconv.Atoi(ageText)
		if err != nil || age < 0 {
			return nil, bad(line, "age %q: want a whole number of %s", ageText, sp.unit)
		}
		var row lms
		for _, p := range []struct {
			name string
			dst  *float64
		}{{"l", &row.l}, {"m", &row.m}, {"s", &row.s}} {
			v, err := strconv.ParseFloat(fields[col[p.name]], 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, bad(line, "column %s: %q is not a number", p.name, fields[col[p.name]])
			}
			*p.dst = v
		}
		if row.m <= 0 || row.s <= 0 {
			return nil, bad(line, "M and S must be positive (M=%v, S=%v)", row.m, row.s)
		}

		c := t.curve(Sex(sex))
		if !seen[sex-1] {
			seen[sex-1] = true
			c.start = age
		}
		if want := c.start + len(c.rows); age != want {
			return nil, bad(line, "sex %d: age %d out of order, want %d (rows must be consecutive and ascending)", sex, age, want)
		}
		c.rows = append(c.rows, row)
		if sp.needLoh {
			loh := strings.ToUpper(fields[col["loh"]])
			if loh != "L" && loh != "H" {
				return nil, bad(line, "loh %q: want L or H", fields[col["loh"]])
			}
			c.loh = append(c.loh, loh[0])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if ncols == 0 {
		return nil, bad(0, "empty file: no header line")
	}
	for i := range t.bySex {
		c := &t.bySex[i]
		if len(c.rows) == 0 {
			return nil, bad(0, "no rows for sex %d", i+1)
		}
		last := c.start + len(c.rows) - 1
		if c.start > sp.from || last < sp.to {
			return nil, bad(0, "sex %d covers ages %d–%d %s, need %d–%d", i+1, c.start, last, sp.unit, sp.from, sp.to)
		}
	}
	return t, nil
}
