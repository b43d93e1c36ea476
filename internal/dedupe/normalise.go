package dedupe

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// stackRunes is the size of the rune buffers kept on the stack; longer
// names still work, they just cost an allocation.
const stackRunes = 64

// Normalise returns s ready for comparison: accents stripped (é→e, ñ→n,
// ş→s, ø→o, ß→ss...), lower case, hyphens, apostrophes (' ’ ‘ ʼ `), full
// stops and commas dropped, every other run of punctuation, symbols or white
// space turned into a single space, and no space at either end.
func Normalise(s string) string {
	var buf [stackRunes]rune
	return string(appendNormalised(buf[:0], s))
}

// appendNormalised appends the runes of Normalise(s) to dst.
func appendNormalised(dst []rune, s string) []rune {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			// Decompose so that accents become separate combining marks,
			// which the loop below drops.
			s = norm.NFD.String(s)
			break
		}
	}
	start := len(dst)
	space := false // a gap is pending before the next kept rune
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			// Most names are plain ASCII: no table look-ups.
		case 'A' <= r && r <= 'Z':
			r += 'a' - 'A'
		case isDropped(r), unicode.Is(unicode.Mn, r):
			continue // dropped without a gap: "O'Neill" → "oneill"
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			r = unicode.ToLower(r)
		default:
			space = true
			continue
		}
		if space && len(dst) > start {
			dst = append(dst, ' ')
		}
		space = false
		dst = appendFolded(dst, r)
	}
	return dst
}

// isDropped reports whether r is removed outright by Normalise: hyphens and
// dashes, apostrophes and the like, full stops and commas.
func isDropped(r rune) bool {
	switch r {
	case '\'', '.', ',', '`', '´',
		'\u2018', '\u2019', // ‘ ’
		'\u02bc', '\u02bb': // ʼ ʻ (modifier-letter apostrophes)
		return true
	}
	return unicode.Is(unicode.Pd, r) // -, ‐, ‑, –, —...
}

// folded spells the lower-case letters that Unicode does not decompose into
// a base letter and a mark.
var folded = map[rune]string{
	'ø': "o", 'đ': "d", 'ð': "d", 'ł': "l", 'ħ': "h", 'ŧ': "t", 'ı': "i",
	'ŀ': "l", 'ß': "ss", 'æ': "ae", 'œ': "oe", 'þ': "th", 'ĳ': "ij",
}

// appendFolded appends r, or its plain spelling when it has one.
func appendFolded(dst []rune, r rune) []rune {
	if r < utf8.RuneSelf {
		return append(dst, r)
	}
	if s, ok := folded[r]; ok {
		for _, f := range s {
			dst = append(dst, f)
		}
		return dst
	}
	return append(dst, r)
}

// NormalisePhone returns the digits of s with a South African number in its
// national form: the country code 27 (written +27, 0027 or 27) in front of a
// nine-digit number becomes a leading 0, so "+27 82 123 4567" gives
// "0821234567" (a 0 written after the country code, "+27 (0)82...", is kept
// once, not twice). A nine-digit number without its leading 0, as
// spreadsheets often store phones, gets the 0 back. Fewer than nine digits
// gives "".
func NormalisePhone(s string) string {
	var buf [24]byte
	return string(appendPhone(buf[:0], s))
}

// appendPhone appends NormalisePhone(s) to dst.
func appendPhone(dst []byte, s string) []byte {
	start := len(dst)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			dst = append(dst, c)
		}
	}
	d := dst[start:]
	var national []byte
	switch {
	case len(d) == 13 && string(d[:4]) == "0027":
		national = d[4:]
	case len(d) == 14 && string(d[:5]) == "00270":
		national = d[5:]
	case len(d) == 11 && string(d[:2]) == "27":
		national = d[2:]
	case len(d) == 12 && string(d[:3]) == "270":
		national = d[3:]
	case len(d) == 9 && d[0] != '0':
		national = d
	default:
		if len(d) < 9 {
			return dst[:start]
		}
		return dst
	}
	// Rewrite in place as "0" + the nine national digits.
	var nine [9]byte
	copy(nine[:], national)
	dst = append(dst[:start], '0')
	return append(dst, nine[:]...)
}
