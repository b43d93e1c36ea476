package intake

import "strings"

// kind is what a raw field holds.
type kind uint8

const (
	kindNull    kind = iota // JSON null, or absent
	kindString              // JSON string or CSV cell
	kindNumber              // JSON number (its literal in s)
	kindBool                // JSON true/false
	kindComplex             // JSON array (or an object too deep to read)
)

// value is one raw field value as the input gave it.
type value struct {
	kind kind
	s    string
	b    bool
}

// empty reports an unanswered field: null, absent or blank.
func (v value) empty() bool {
	switch v.kind {
	case kindNull:
		return true
	case kindString:
		return strings.TrimSpace(v.s) == ""
	}
	return false
}

// text is the value as trimmed text ("" for null, bools and arrays).
func (v value) text() string {
	if v.kind == kindString || v.kind == kindNumber {
		return strings.TrimSpace(v.s)
	}
	return ""
}

// field is a raw field with its path: group names and field name joined by
// "/" whatever the input's separator ("caregiver/csg_received").
type field struct {
	path string
	v    value
}

// record is one row of input, format-neutral.
type record struct {
	row    int
	fields []field
	index  map[string]int
}

func newRecord() *record { return &record{index: map[string]int{}} }

// reset empties the record for the row given.
func (r *record) reset(row int) {
	r.row = row
	r.fields = r.fields[:0]
	clear(r.index)
}

// add sets a field; a path given twice keeps the last value.
func (r *record) add(path string, v value) {
	if i, ok := r.index[path]; ok {
		r.fields[i].v = v
		return
	}
	r.index[path] = len(r.fields)
	r.fields = append(r.fields, field{path: path, v: v})
}

// text returns the trimmed text of a field ("" when absent).
func (r *record) text(path string) string {
	if i, ok := r.index[path]; ok {
		return r.fields[i].v.text()
	}
	return ""
}
