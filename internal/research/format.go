package research

import (
	"math"
	"strconv"
)

// Cell values of booleans.
const (
	cellTrue  = "1"
	cellFalse = "0"
)

// smallInts holds the strings of the whole numbers most cells take (choice
// values, counts, scores), so writing them allocates nothing.
var smallInts = func() [256]string {
	var s [256]string
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

// formatInt writes a whole number.
func formatInt(n int) string {
	if n >= 0 && n < len(smallInts) {
		return smallInts[n]
	}
	return strconv.Itoa(n)
}

// formatNumber writes a number in the shortest decimal form that reads back
// exactly, without exponent or trailing zeros: 3, 4.5, -0.25. Negative zero
// is written 0.
func formatNumber(f float64) string {
	if f == math.Trunc(f) && f >= 0 && f < float64(len(smallInts)) {
		return smallInts[int(f)]
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// round2 rounds to two decimals, halves away from zero, as package growth
// does before it flags implausible z-scores.
func round2(f float64) float64 { return math.Round(f*100) / 100 }

// formatRound2 writes a number rounded to two decimals without trailing
// zeros: -2.31, 0.5, 1.
func formatRound2(f float64) string { return formatNumber(round2(f)) }

// formatBool writes a boolean as 1 or 0.
func formatBool(b bool) string {
	if b {
		return cellTrue
	}
	return cellFalse
}

// finite reports whether f can be written as a number.
func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// neutralise makes a text cell safe to open in a spreadsheet: a cell
// starting with =, +, -, @, a tab or a carriage return would be read as a
// formula (CSV injection), so it gets a leading apostrophe. Only text cells
// go through it: numbers the writer formats itself stay numbers.
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

// isCode reports whether s is a lowercase identifier: a letter, then
// letters, digits, '_', '-' or '.'. Codes never hold a list separator, a
// formula or free text.
func isCode(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}
