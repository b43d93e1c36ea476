package growth

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// ErrMissingColumn reports that a CSV header lacks a column ProcessCSV needs.
var ErrMissingColumn = errors.New("growth: CSV header lacks required column")

// The output columns ProcessCSV adds, in order.
var outputColumns = []string{"zhfa", "zwfa", "zbfa", "fhfa", "fwfa", "fbfa"}

// Report summarises a [ProcessCSV] run.
type Report struct {
	// Rows is the number of data rows read (the header not counted).
	Rows int `json:"rows"`
	// RowsWithErrors is the number of rows that had bad values; each has one
	// entry in Errors.
	RowsWithErrors int        `json:"rowsWithErrors"`
	Errors         []RowError `json:"errors,omitempty"`
}

// RowError is a bad row: its 1-based line in the file (the header is line
// 1; a quoted field spanning lines counts every line) and why.
type RowError struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// Error formats the row error as "line N: reason".
func (e RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// ProcessCSV is the engine behind `khula growth`: it reads a CSV of
// measurements from r and writes it to w with z-scores added.
//
// The header must name the columns sex (1 male, 2 female), agedays or agemons
// (decimal months; agedays wins when a row has both), weight (kg) and height
// (cm), matched case-insensitively; an optional measure column (L recumbent,
// H standing) sets [Measurement.Position], and an optional oedema column
// (bilateral pitting oedema: y/n, yes/no, 1/0 or true/false, any case;
// empty when not recorded, which counts as no oedema) sets
// [Measurement.Oedema], so a row with oedema gets no zwfa and no zbfa. A
// missing required column is an error wrapping [ErrMissingColumn] that names
// it, and nothing is written.
//
// Every input column is written back untouched and in order, followed by
// zhfa, zwfa, zbfa (rounded to two decimals, empty where not computed) and
// fhfa, fwfa, fbfa (1 flagged implausible, 0 not, empty where not computed).
// If the input already has one of these columns (a re-run), it is
// overwritten in place rather than duplicated.
//
// Empty cells are missing values. A bad row (an unparseable number, a sex
// other than 1 or 2, a negative age, a weight or height that is not
// positive, an oedema value not listed above, a wrong number of fields) is recorded in the Report with its line
// number and still written, with empty z-scores. An unreadable CSV (e.g. a
// bad quote) or a write failure stops processing with an error. refs may be
// nil, in which case every z-score is empty.
func ProcessCSV(r io.Reader, w io.Writer, refs *References) (Report, error) {
	var rep Report
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return rep, errors.New("growth: reading CSV: empty input, no header line")
	}
	if err != nil {
		return rep, fmt.Errorf("growth: reading CSV header: %w", err)
	}
	header[0] = strings.TrimPrefix(header[0], "\ufeff")

	cols := map[string]int{}
	for i, name := range header {
		key := strings.ToLower(strings.TrimSpace(name))
		if _, dup := cols[key]; !dup {
			cols[key] = i
		}
	}
	var missing []string
	for _, name := range []string{"sex", "weight", "height"} {
		if _, ok := cols[name]; !ok {
			missing = append(missing, name)
		}
	}
	_, hasDays := cols["agedays"]
	_, hasMonths := cols["agemons"]
	if !hasDays && !hasMonths {
		missing = append(missing, "agemons (or agedays)")
	}
	if len(missing) > 0 {
		return rep, fmt.Errorf("%w: %s", ErrMissingColumn, strings.Join(missing, ", "))
	}

	// Where each output column goes: in place if present, else appended.
	outHeader := append([]string(nil), header...)
	width := len(header)
	outIdx := make([]int, len(outputColumns))
	for i, name := range outputColumns {
		if j, ok := cols[name]; ok {
			outIdx[i] = j
			continue
		}
		outIdx[i] = len(outHeader)
		outHeader = append(outHeader, name)
	}

	cw := csv.NewWriter(w)
	if err := cw.Write(outHeader); err != nil {
		return rep, fmt.Errorf("growth: writing CSV: %w", err)
	}

	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			cw.Flush()
			return rep, fmt.Errorf("growth: reading CSV: %w", err)
		}
		var problems []string
		if len(rec) != width {
			problems = append(problems, fmt.Sprintf("%d fields, header has %d", len(rec), width))
		}
		rep.Rows++
		line, _ := cr.FieldPos(0)

		m, ok, rowProblems := parseRow(rec, cols)
		problems = append(problems, rowProblems...)

		out := make([]string, len(outHeader))
		copy(out, rec[:min(len(rec), width)])
		for _, j := range outIdx {
			out[j] = ""
		}
		if len(problems) > 0 {
			rep.RowsWithErrors++
			rep.Errors = append(rep.Errors, RowError{Line: line, Reason: strings.Join(problems, "; ")})
		} else if ok {
			res := refs.Compute(m)
			for i, z := range []ZScore{res.HFA, res.WFA, res.BFA} {
				if !z.Computed {
					continue
				}
				out[outIdx[i]] = formatZ(z.Z)
				out[outIdx[i+3]] = "0"
				if z.Flagged {
					out[outIdx[i+3]] = "1"
				}
			}
		}
		if len(rec) > width { // over-long row (reported): keep the extra fields at the end
			out = append(out, rec[width:]...)
		}
		if err := cw.Write(out); err != nil {
			return rep, fmt.Errorf("growth: writing CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return rep, fmt.Errorf("growth: writing CSV: %w", err)
	}
	return rep, nil
}

// parseRow turns a record into a Measurement. ok is false when sex or age is
// missing (nothing to compute, but not an error); problems lists bad values.
func parseRow(rec []string, cols map[string]int) (m Measurement, ok bool, problems []string) {
	cell := func(name string) string {
		i, present := cols[name]
		if !present || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	number := func(name, text string) (float64, bool) {
		v, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			problems = append(problems, fmt.Sprintf("%s %q is not a number", name, text))
			return 0, false
		}
		return v, true
	}

	ok = true
	switch sex := cell("sex"); sex {
	case "":
		ok = false
	case "1", "2":
		m.Sex = Sex(sex[0] - '0')
	default:
		problems = append(problems, fmt.Sprintf("sex %q must be 1 (male) or 2 (female)", sex))
	}

	m.AgeDays = math.NaN()
	if text := cell("agedays"); text != "" {
		if v, good := number("agedays", text); good {
			m.AgeDays = v
		}
	} else if text := cell("agemons"); text != "" {
		if v, good := number("agemons", text); good {
			m.AgeDays = v * DaysPerMonth
		}
	} else {
		ok = false
	}
	if m.AgeDays < 0 {
		problems = append(problems, "age must not be negative")
	}

	if text := cell("weight"); text != "" {
		if v, good := number("weight", text); good {
			if v <= 0 {
				problems = append(problems, fmt.Sprintf("weight %s must be positive", text))
			}
			m.WeightKg = v
		}
	}
	if text := cell("height"); text != "" {
		if v, good := number("height", text); good {
			if v <= 0 {
				problems = append(problems, fmt.Sprintf("height %s must be positive", text))
			}
			m.HeightCm = v
		}
	}
	switch pos := cell("measure"); strings.ToUpper(pos) {
	case "":
	case "L":
		m.Position = Recumbent
	case "H":
		m.Position = Standing
	default:
		problems = append(problems, fmt.Sprintf("measure %q must be L (recumbent) or H (standing)", pos))
	}
	if text := cell("oedema"); text != "" {
		present, known := parseOedema(text)
		if !known {
			problems = append(problems, fmt.Sprintf("oedema %q must be y/n, yes/no, 1/0 or true/false (empty: not recorded)", text))
		}
		m.Oedema = present
	}
	return m, ok, problems
}

// parseOedema reads an oedema cell; known is false for a value it does not
// recognise. WHO's anthro also reads 2 as no and anything else as no; khula
// reports such a value instead, since beside 1/0 a 2 is more likely a slip
// than WHO's coding, and a mistyped yes must not pass as no.
func parseOedema(text string) (present, known bool) {
	switch strings.ToLower(text) {
	case "y", "yes", "1", "true":
		return true, true
	case "n", "no", "0", "false":
		return false, true
	}
	return false, false
}

// formatZ writes z rounded to two decimals, never as "-0.00".
func formatZ(z float64) string {
	r := round2(z)
	if r == 0 {
		r = 0 // drop the sign of −0
	}
	return strconv.FormatFloat(r, 'f', 2, 64)
}
