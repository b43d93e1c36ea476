package growth

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/khula-cop/khula/internal/growth/who"
)

// syntheticTables returns made-up tables in WHO's layout, covering the ages
// khula needs (and the extra rows WHO ships: month 60, 229, WFA 121), as
// file name → lines. Line i+1 of a file is lines[i].
func syntheticTables() map[string][]string {
	gen := func(withLoh bool, from, to int) []string {
		header := "sex\tage\tl\tm\ts"
		if withLoh {
			header += "\tloh"
		}
		lines := []string{header}
		for sex := 1; sex <= 2; sex++ {
			for age := from; age <= to; age++ {
				line := fmt.Sprintf("%d\t%d\t1\t%d\t0.04", sex, age, 50+age)
				if withLoh {
					loh := "L"
					if age >= 731 {
						loh = "H"
					}
					line += "\t" + loh
				}
				lines = append(lines, line)
			}
		}
		return lines
	}
	return map[string][]string{
		FileLengthForAge2006: gen(true, 0, 1826),
		FileWeightForAge2006: gen(false, 0, 1826),
		FileBMIForAge2006:    gen(true, 0, 1826),
		FileHeightForAge2007: gen(false, 60, 229),
		FileWeightForAge2007: gen(false, 60, 121),
		FileBMIForAge2007:    gen(false, 60, 229),
	}
}

// writeTables writes tables into a new temporary directory.
func writeTables(t *testing.T, tables map[string][]string, eol string) string {
	t.Helper()
	dir := t.TempDir()
	for name, lines := range tables {
		if lines == nil {
			continue
		}
		text := strings.Join(lines, eol)
		if len(lines) > 0 {
			text += eol
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestLoadEmbedded checks that the built-in tables load and hold WHO's rows
// (values read off WHO's files), including the rows at the edges khula uses.
func TestLoadEmbedded(t *testing.T) {
	refs, err := LoadEmbedded()
	if err != nil {
		t.Fatalf("LoadEmbedded: %v", err)
	}
	if refs.Dir() != "" {
		t.Errorf("Dir() = %q, want \"\" for the built-in tables", refs.Dir())
	}
	cases := []struct {
		name     string
		tab      *table
		sex      Sex
		age      int
		want     lms
		position byte
	}{
		{"lenanthro boy day 0", refs.len06, Male, 0, lms{1, 49.8842, 0.03795}, 'L'},
		{"lenanthro girl day 731", refs.len06, Female, 731, lms{1, 85.7299, 0.03764}, 'H'},
		{"weianthro girl day 1826", refs.wei06, Female, 1826, lms{-0.3518, 18.2179, 0.14821}, 0},
		{"bmianthro boy day 730", refs.bmi06, Male, 730, lms{-0.6473, 15.7356, 0.07771}, 'L'},
		{"hfawho2007 boy month 61", refs.hfa07, Male, 61, lms{1, 110.2647, 0.04164}, 0},
		{"wfawho2007 girl month 120", refs.wfa07, Female, 120, lms{-0.5958, 31.8578, 0.17262}, 0},
		{"bfawho2007 girl month 228", refs.bfa07, Female, 228, lms{-0.7496, 21.4269, 0.14441}, 0},
		{"hfawho2007 girl month 228", refs.hfa07, Female, 228, lms{1, 163.1548, 0.04009}, 0},
		{"wfawho2007 boy month 120", refs.wfa07, Male, 120, lms{-0.6764, 31.1586, 0.16305}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.tab.curve(tc.sex)
			got, ok := c.at(tc.age)
			if !ok || got != tc.want {
				t.Errorf("row = %+v (found %v), want %+v", got, ok, tc.want)
			}
			if p := c.position(tc.age); p != tc.position {
				t.Errorf("loh = %q, want %q", p, tc.position)
			}
		})
	}
}

// TestEmbeddedEqualsWHOFiles checks that the built-in tables are WHO's
// files unchanged, byte for byte and as loaded, when a copy of WHO's files
// is at hand ($KHULA_WHO_GROWTH_DIR or ../shared/data/who-growth); without
// one the comparison is skipped (the built-in tables are still checked by
// TestLoadEmbedded and by their checksums in package who).
func TestEmbeddedEqualsWHOFiles(t *testing.T) {
	dir := sharedTablesDir()
	if dir == "" {
		t.Skipf("no copy of WHO's tables to compare with (set %s)", EnvDir)
	}
	for _, sp := range tableSpecs {
		t.Run(sp.file, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, sp.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := fs.ReadFile(who.Tables(), sp.file)
			if err != nil {
				t.Fatalf("not built in: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("built-in %s (%d bytes) differs from %s (%d bytes)", sp.file, len(got), filepath.Join(dir, sp.file), len(want))
			}
		})
	}
	fromDir, err := LoadReferences(dir)
	if err != nil {
		t.Fatalf("LoadReferences(%s): %v", dir, err)
	}
	embedded := loadRefs(t)
	for _, sp := range tableSpecs {
		a, b := *sp.dst(embedded), *sp.dst(fromDir)
		if !reflect.DeepEqual(a.bySex, b.bySex) {
			t.Errorf("%s: built-in rows differ from %s's", sp.file, dir)
		}
	}
}

func TestLoadReferencesLayouts(t *testing.T) {
	cases := []struct {
		name string
		edit func(map[string][]string)
		eol  string
	}{
		{"as WHO ships them", func(map[string][]string) {}, "\n"},
		{"CRLF line endings", func(map[string][]string) {}, "\r\n"},
		{"byte order mark, blank lines, upper-case header", func(tb map[string][]string) {
			l := tb[FileWeightForAge2006]
			l[0] = "\ufeffSEX\tAGE\tL\tM\tS"
			tb[FileWeightForAge2006] = append(append([]string{l[0], ""}, l[1:]...), "", "")
		}, "\n"},
		{"columns reordered and an extra column", func(tb map[string][]string) {
			l := tb[FileHeightForAge2007]
			for i, line := range l {
				f := strings.Split(line, "\t")
				l[i] = strings.Join([]string{f[4], f[1], f[0], f[3], f[2], "x"}, "\t")
			}
		}, "\n"},
		{"tables extending past the needed ages", func(tb map[string][]string) {
			tb[FileWeightForAge2007] = append(tb[FileWeightForAge2007], "2\t122\t1\t172\t0.04")
		}, "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tables := syntheticTables()
			tc.edit(tables)
			dir := writeTables(t, tables, tc.eol)
			refs, err := LoadReferences(dir)
			if err != nil {
				t.Fatalf("LoadReferences: %v", err)
			}
			// Synthetic rows have L=1, M=50+age, S=0.04: a 61-month boy of
			// 111 cm is on the median; at 100 days, 150 cm is the median too.
			res := refs.Compute(Measurement{Sex: Male, AgeDays: 61 * mo, HeightCm: 111})
			if !res.HFA.Computed || res.HFA.Z != 0 {
				t.Errorf("HFA at 61 months = %+v, want z 0", res.HFA)
			}
			res = refs.Compute(Measurement{Sex: Female, AgeDays: 100, WeightKg: 150})
			if !res.WFA.Computed || res.WFA.Z != 0 {
				t.Errorf("WFA at 100 days = %+v, want z 0", res.WFA)
			}
		})
	}
}

func TestLoadReferencesMissing(t *testing.T) {
	all := syntheticTables()
	withoutSome := func(names ...string) string {
		tables := syntheticTables()
		for _, n := range names {
			tables[n] = nil
		}
		return writeTables(t, tables, "\n")
	}
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var everything []string
	for name := range all {
		everything = append(everything, name)
	}

	cases := []struct {
		name     string
		dir      string
		mentions []string
	}{
		{"directory absent", filepath.Join(t.TempDir(), "no-such-dir"), []string{"no-such-dir", "does not exist"}},
		{"path is a file", notDir, []string{notDir, "not a directory"}},
		{"empty directory", withoutSome(everything...), everything},
		{"one file missing", withoutSome(FileBMIForAge2007), []string{FileBMIForAge2007}},
		{"two files missing", withoutSome(FileLengthForAge2006, FileWeightForAge2007), []string{FileLengthForAge2006, FileWeightForAge2007}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			refs, err := LoadReferences(tc.dir)
			if refs != nil {
				t.Errorf("refs = %v, want nil", refs)
			}
			if !errors.Is(err, ErrNoTables) {
				t.Fatalf("err = %v, want one wrapping ErrNoTables", err)
			}
			msg := err.Error()
			for _, want := range append(tc.mentions, tc.dir) {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not mention %q", msg, want)
				}
			}
		})
	}
}

func TestLoadReferencesMalformed(t *testing.T) {
	set := func(name string, line int, text string) func(map[string][]string) {
		return func(tb map[string][]string) { tb[name][line-1] = text }
	}
	cases := []struct {
		name   string
		edit   func(map[string][]string)
		file   string
		line   int // 0: no single line at fault
		reason string
	}{
		{"M not a number", set(FileLengthForAge2006, 5, "1\t3\t1\tabc\t0.04\tL"), FileLengthForAge2006, 5, `column m: "abc" is not a number`},
		{"L not a number", set(FileWeightForAge2006, 9, "1\t7\tNaN\t57\t0.04"), FileWeightForAge2006, 9, `column l: "NaN" is not a number`},
		{"field missing", set(FileBMIForAge2006, 10, "1\t8\t1\t58\t0.04"), FileBMIForAge2006, 10, "5 fields, header has 6"},
		{"sex 3", set(FileHeightForAge2007, 7, "3\t65\t1\t115\t0.04"), FileHeightForAge2007, 7, `sex "3": want 1 or 2`},
		{"decimal age", set(FileHeightForAge2007, 3, "1\t61.5\t1\t111\t0.04"), FileHeightForAge2007, 3, `age "61.5": want a whole number of months`},
		{"S not positive", set(FileBMIForAge2007, 4, "1\t62\t1\t112\t0"), FileBMIForAge2007, 4, "M and S must be positive (M=112, S=0)"},
		{"loh not L or H", set(FileLengthForAge2006, 12, "1\t10\t1\t60\t0.04\tX"), FileLengthForAge2006, 12, `loh "X": want L or H`},
		{"header lacks loh", set(FileBMIForAge2006, 1, "sex\tage\tl\tm\ts\tpos"), FileBMIForAge2006, 1, `header lacks column "loh" (have sex age l m s pos)`},
		{"header repeats a column", set(FileWeightForAge2007, 1, "sex\tage\tl\tm\tm"), FileWeightForAge2007, 1, `header repeats column "m"`},
		{"age gap", func(tb map[string][]string) {
			l := tb[FileWeightForAge2006]
			tb[FileWeightForAge2006] = append(l[:19:19], l[20:]...) // drop age 18 (line 20)
		}, FileWeightForAge2006, 20, "sex 1: age 19 out of order, want 18 (rows must be consecutive and ascending)"},
		{"duplicate row", func(tb map[string][]string) {
			l := tb[FileHeightForAge2007]
			tb[FileHeightForAge2007] = append(append(l[:4:4], l[3]), l[4:]...) // month 62 twice
		}, FileHeightForAge2007, 5, "sex 1: age 62 out of order, want 63 (rows must be consecutive and ascending)"},
		{"WFA 2007 short of 120 months", func(tb map[string][]string) {
			tb[FileWeightForAge2007] = tb[FileWeightForAge2007][:len(tb[FileWeightForAge2007])-21] // sex 2 ends at month 100
		}, FileWeightForAge2007, 0, "sex 2 covers ages 60–100 months, need 61–120"},
		{"2006 table without sex 2", func(tb map[string][]string) {
			tb[FileLengthForAge2006] = tb[FileLengthForAge2006][:1828]
		}, FileLengthForAge2006, 0, "no rows for sex 2"},
		{"empty file", func(tb map[string][]string) { tb[FileBMIForAge2007] = []string{} }, FileBMIForAge2007, 0, "empty file: no header line"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tables := syntheticTables()
			tc.edit(tables)
			dir := writeTables(t, tables, "\n")
			refs, err := LoadReferences(dir)
			if err == nil {
				t.Fatalf("LoadReferences succeeded (%v), want an error", refs != nil)
			}
			if errors.Is(err, ErrNoTables) {
				t.Errorf("err %v wraps ErrNoTables; a malformed file is not a missing one", err)
			}
			var te *TableError
			if !errors.As(err, &te) {
				t.Fatalf("err = %v, want a *TableError", err)
			}
			path := filepath.Join(dir, tc.file)
			if te.File != path || te.Line != tc.line || te.Reason != tc.reason {
				t.Errorf("TableError = {%s %d %q}, want {%s %d %q}", te.File, te.Line, te.Reason, path, tc.line, tc.reason)
			}
			want := fmt.Sprintf("%s:%d: %s", path, tc.line, tc.reason)
			if tc.line == 0 {
				want = fmt.Sprintf("%s: %s", path, tc.reason)
			}
			if !strings.HasSuffix(err.Error(), want) {
				t.Errorf("error %q does not end with %q", err.Error(), want)
			}
		})
	}
}
