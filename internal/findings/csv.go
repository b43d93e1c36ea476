package findings

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

// ErrNotFound is returned for a scope or table the report does not have.
var ErrNotFound = errors.New("findings: no such scope or table")

// AllCSVHeader is the header row [Report.WriteAllCSV] writes.
var AllCSVHeader = []string{"scope", "school_id", "table", "row", "column", "value"}

// Scope returns the scope with the given key ([Scope.Key]).
func (r Report) Scope(key string) (Scope, bool) {
	for _, s := range r.Scopes {
		if s.Key == key {
			return s, true
		}
	}
	return Scope{}, false
}

// Table returns the table with the given ID.
func (s Scope) Table(id string) (Table, bool) {
	for _, t := range s.Tables {
		if t.ID == id {
			return t, true
		}
	}
	return Table{}, false
}

// table finds a table by scope key and table ID.
func (r Report) table(scope, tableID string) (Table, error) {
	s, ok := r.Scope(scope)
	if !ok {
		return Table{}, fmt.Errorf("scope %q: %w", scope, ErrNotFound)
	}
	t, ok := s.Table(tableID)
	if !ok {
		return Table{}, fmt.Errorf("table %q of scope %q: %w", tableID, scope, ErrNotFound)
	}
	return t, nil
}

// WriteTableCSV writes one table, suppressed, as CSV: a header row of the
// column labels, then one row per table row (label first). scope is a
// [Scope.Key]. Any cell that starts with =, +, -, @, a tab or a carriage
// return gets a leading apostrophe so that spreadsheets do not run it as
// a formula (school IDs, names and domain labels are site-configured).
// It returns an error wrapping [ErrNotFound] for an unknown scope or table.
func (r Report) WriteTableCSV(w io.Writer, scope, tableID string) error {
	t, err := r.table(scope, tableID)
	if err != nil {
		return fmt.Errorf("writing CSV: %w", err)
	}
	cw := csv.NewWriter(w)
	head := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		head[i] = neutralise(c.Label)
	}
	if err := cw.Write(head); err != nil {
		return fmt.Errorf("writing CSV of %s/%s: %w", scope, tableID, err)
	}
	for _, line := range t.Cells(true) {
		for i := range line {
			line[i] = neutralise(line[i])
		}
		if err := cw.Write(line); err != nil {
			return fmt.Errorf("writing CSV of %s/%s: %w", scope, tableID, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing CSV of %s/%s: %w", scope, tableID, err)
	}
	return nil
}

// WriteAllCSV writes every cell of every table of every scope, suppressed,
// as one long CSV with the header [AllCSVHeader]: scope is "site" or
// "school", school_id is empty for the site, table the table ID, row and
// column the row's and column's keys (a domain row's key is the domain
// ID), value the cell as published. Scopes, tables, rows and columns come
// in report order. Cells are neutralised as in [Report.WriteTableCSV].
func (r Report) WriteAllCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(AllCSVHeader); err != nil {
		return fmt.Errorf("writing CSV: %w", err)
	}
	rec := make([]string, len(AllCSVHeader))
	for _, s := range r.Scopes {
		for _, t := range s.Tables {
			for i, line := range t.Cells(true) {
				for j, v := range line[1:] {
					rec = append(rec[:0], s.Kind, s.SchoolID, t.ID, t.Rows[i].Key, t.Columns[j+1].Key, v)
					for k := range rec {
						rec[k] = neutralise(rec[k])
					}
					if err := cw.Write(rec); err != nil {
						return fmt.Errorf("writing CSV of %s/%s: %w", s.Key, t.ID, err)
					}
				}
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing CSV: %w", err)
	}
	return nil
}

// neutralise defuses a cell a spreadsheet would read as a formula.
func neutralise(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
