package dedupe

// Jaro–Winkler parameters: the usual prefix scale and longest prefix.
const (
	winklerScale     = 0.1
	winklerMaxPrefix = 4
)

// JaroWinkler returns the Jaro–Winkler similarity of a and b, from 0 (nothing
// in common) to 1 (equal), comparing runes. It is the standard measure:
// characters match when equal and no further apart than max(len)/2 − 1
// positions; with m matches and t half the number of matched characters
// that are out of order (rounded down, as in Winkler's strcmp95),
// Jaro = (m/len(a) + m/len(b) + (m−t)/m) / 3, and then
// Jaro–Winkler = Jaro + ℓ·0.1·(1 − Jaro) for a common prefix of ℓ ≤ 4 runes.
// Two empty strings are equal (1); an empty and a non-empty one share
// nothing (0). The caller normalises first if case or accents should not
// count.
func JaroWinkler(a, b string) float64 {
	var ba, bb [stackRunes]rune
	ra, rb := ba[:0], bb[:0]
	for _, r := range a {
		ra = append(ra, r)
	}
	for _, r := range b {
		rb = append(rb, r)
	}
	return jaroWinkler(ra, rb)
}

// jaroWinkler is JaroWinkler on rune slices.
func jaroWinkler(a, b []rune) float64 {
	if len(a) == 0 || len(b) == 0 {
		if len(a) == len(b) {
			return 1
		}
		return 0
	}
	// Scan the shorter string so the result does not depend on argument
	// order.
	if len(a) > len(b) {
		a, b = b, a
	}
	window := max(len(b)/2-1, 0)

	var fa, fb [stackRunes]bool
	var ma, mb []bool
	if len(b) <= stackRunes {
		ma, mb = fa[:len(a)], fb[:len(b)]
	} else {
		ma, mb = make([]bool, len(a)), make([]bool, len(b))
	}

	m := 0
	for i, r := range a {
		lo, hi := max(i-window, 0), min(i+window+1, len(b))
		for j := lo; j < hi; j++ {
			if !mb[j] && b[j] == r {
				ma[i], mb[j] = true, true
				m++
				break
			}
		}
	}
	if m == 0 {
		return 0
	}

	// Matched characters of a and of b, in order: count those that differ.
	out, j := 0, 0
	for i, r := range a {
		if !ma[i] {
			continue
		}
		for !mb[j] {
			j++
		}
		if b[j] != r {
			out++
		}
		j++
	}
	fm := float64(m)
	jaro := (fm/float64(len(a)) + fm/float64(len(b)) + (fm-float64(out/2))/fm) / 3

	prefix := 0
	for prefix < winklerMaxPrefix && prefix < len(a) && a[prefix] == b[prefix] {
		prefix++
	}
	return jaro + float64(prefix)*winklerScale*(1-jaro)
}
