package dedupe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
	"time"
)

// Token kinds.
const (
	KindBirthDate = "birth_date" // the child's birth date, YYYY-MM-DD
	KindPhone     = "phone"      // the caregiver's phone, see NormalisePhone
	KindName      = "name"       // family-name skeleton and given-name initial
)

// MinKeyLen is the shortest blind-index key NewIndexer accepts, in bytes.
const MinKeyLen = 32

// Token is one entry of the blind index: its Kind and Value, the hex
// HMAC-SHA256 of kind + "\x00" + the normalised value under the Indexer's key.
type Token struct {
	Kind, Value string
}

// Indexer computes blind-index tokens under one secret key. It is safe for
// concurrent use.
type Indexer struct {
	keyID string
	key   []byte
}

// NewIndexer returns an Indexer for key, which must be at least MinKeyLen
// bytes, known by keyID (stored with the tokens so that a key can be
// rotated), which must not be empty. The key is copied.
func NewIndexer(keyID string, key []byte) (*Indexer, error) {
	if keyID == "" {
		return nil, errors.New("dedupe: blind-index key ID is empty")
	}
	if len(key) < MinKeyLen {
		return nil, errors.New("dedupe: blind-index key is shorter than 32 bytes")
	}
	return &Indexer{keyID: keyID, key: append([]byte(nil), key...)}, nil
}

// KeyID returns the ID of the Indexer's key.
func (ix *Indexer) KeyID() string { return ix.keyID }

// Tokens returns the tokens to store for p, in this order: birth_date (when
// p.BirthDate is a real date), phone (when NormalisePhone of the caregiver's
// phone is not empty) and name (when the family name has letters). The same
// person, however typed, gives the same tokens.
func (ix *Indexer) Tokens(p Person) []Token {
	t := tokenizer{ix: ix}
	if d, ok := parseDate(p.BirthDate); ok {
		t.add(KindBirthDate, d.String())
	}
	if phone := NormalisePhone(p.CaregiverPhone); phone != "" {
		t.add(KindPhone, phone)
	}
	if key, ok := nameKey(Normalise(p.FamilyName), Normalise(p.GivenName)); ok {
		t.add(KindName, key)
	}
	return t.out
}

// QueryTokens returns the tokens to look up when checking whether p is
// already known: Tokens(p), then the birth_date token of the date with day
// and month swapped when that is another real date (a slip that turns
// 2015-04-03 into 2015-03-04), then the name token with given and family
// names the other way round (when both have letters and it differs). Any
// known person sharing any of them is a candidate for Compare.
func (ix *Indexer) QueryTokens(p Person) []Token {
	t := tokenizer{ix: ix, out: ix.Tokens(p)}
	if d, ok := parseDate(p.BirthDate); ok {
		if s, ok := d.swapped(); ok {
			t.add(KindBirthDate, s.String())
		}
	}
	given, family := Normalise(p.GivenName), Normalise(p.FamilyName)
	if key, ok := nameKey(given, family); ok && skeleton(family) != "" {
		t.add(KindName, key)
	}
	return t.out
}

// tokenizer collects distinct tokens, reusing one HMAC.
type tokenizer struct {
	ix  *Indexer
	mac hash.Hash
	out []Token
	sum []byte
}

// add appends the token of kind and value unless it is already there.
func (t *tokenizer) add(kind, value string) {
	if t.mac == nil {
		t.mac = hmac.New(sha256.New, t.ix.key)
	} else {
		t.mac.Reset()
	}
	t.mac.Write([]byte(kind))
	t.mac.Write([]byte{0})
	t.mac.Write([]byte(value))
	t.sum = t.mac.Sum(t.sum[:0])
	tok := Token{Kind: kind, Value: hex.EncodeToString(t.sum)}
	for _, have := range t.out {
		if have == tok {
			return
		}
	}
	t.out = append(t.out, tok)
}

// nameKey is the value of a name token: the skeleton of the normalised
// family name, ":", and the first letter of the skeleton of the normalised
// given name (nothing when there is no given name). It reports false when
// the family name has no letters to make a skeleton of.
func nameKey(family, given string) (string, bool) {
	fam := skeleton(family)
	if fam == "" {
		return "", false
	}
	for _, r := range skeleton(given) {
		return fam + ":" + string(r), true
	}
	return fam + ":", true
}

// skeleton reduces a normalised name to its consonant outline so that
// spelling and transliteration variants collide (see the package
// documentation): alike letters mapped, h after a consonant dropped, vowels
// after the first letter dropped, repeated letters collapsed. Spaces and
// digits are ignored.
func skeleton(s string) string {
	// 1. Letters only, alike letters mapped.
	var mb [stackRunes]rune
	mapped := mb[:0]
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		next := rune(0)
		if i+1 < len(rs) {
			next = rs[i+1]
		}
		switch {
		case r == ' ' || (r >= '0' && r <= '9'):
			continue
		case r == 'p' && next == 'h':
			r = 'f'
			i++
		case r == 'c' && next == 'k':
			r = 'k'
			i++
		case r == 'c', r == 'q', r == 'x':
			r = 'k'
		case r == 'z':
			r = 's'
		case r == 'v':
			r = 'f'
		case r == 'y':
			r = 'i'
		case r == 'w':
			r = 'u'
		}
		mapped = append(mapped, r)
	}

	// 2–4. Drop h after a consonant and vowels after the first letter,
	// then collapse repeats.
	var ob [stackRunes]rune
	out := ob[:0]
	for i, r := range mapped {
		if i > 0 {
			if r == 'h' && !isVowel(mapped[i-1]) {
				continue
			}
			if isVowel(r) {
				continue
			}
		}
		if len(out) > 0 && out[len(out)-1] == r {
			continue
		}
		out = append(out, r)
	}
	return string(out)
}

// isVowel reports whether r is a vowel once y and w have been mapped.
func isVowel(r rune) bool {
	switch r {
	case 'a', 'e', 'i', 'o', 'u':
		return true
	}
	return false
}

// date is a calendar date.
type date struct {
	year, month, day int
}

// parseDate reads s (surrounding spaces ignored) as YYYY-MM-DD and reports
// whether it is a real calendar date.
func parseDate(s string) (date, bool) {
	s = strings.TrimSpace(s)
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return date{}, false
	}
	num := func(part string) (int, bool) {
		n := 0
		for i := 0; i < len(part); i++ {
			c := part[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(s[:4])
	m, ok2 := num(s[5:7])
	d, ok3 := num(s[8:])
	if !ok1 || !ok2 || !ok3 {
		return date{}, false
	}
	return makeDate(y, m, d)
}

// makeDate returns the date y-m-d and whether it exists.
func makeDate(y, m, d int) (date, bool) {
	if y < 1 || m < 1 || m > 12 || d < 1 || d > 31 {
		return date{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d { // 31 April rolls over into May
		return date{}, false
	}
	return date{y, m, d}, true
}

// swapped returns d with day and month exchanged, when that is a real date
// different from d.
func (d date) swapped() (date, bool) {
	if d.day == d.month {
		return date{}, false
	}
	return makeDate(d.year, d.day, d.month)
}

// String returns d as YYYY-MM-DD.
func (d date) String() string {
	b := []byte("0000-00-00")
	put := func(at, n, width int) {
		for i := at + width - 1; i >= at; i-- {
			b[i] = byte('0' + n%10)
			n /= 10
		}
	}
	put(0, d.year, 4)
	put(5, d.month, 2)
	put(8, d.day, 2)
	return string(b)
}
