package research

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"hash"
	"io"
)

// KeySize is the length in bytes of a research key made by [NewKey], and
// the shortest key [Pseudonym] and [NewWriter] accept.
const KeySize = 32

// pseudonymContext separates research pseudonyms from any other use of the
// same key; the version lets a future scheme coexist with this one.
const pseudonymContext = "khula-research-pseudonym-v1\x00"

// pseudonymChars is how many base32 characters of the MAC a pseudonym keeps
// (80 bits: collisions are negligible for any cohort).
const pseudonymChars = 16

// ErrShortKey reports a research key shorter than [KeySize] bytes.
var ErrShortKey = fmt.Errorf("research key shorter than %d bytes", KeySize)

// ErrNoChildID reports a row or pseudonym request without a child ID.
var ErrNoChildID = errors.New("no child ID to pseudonymise")

// lowerBase32 is RFC 4648 base32 in lowercase, without padding.
var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewKey returns a new random research key of [KeySize] bytes. Each site
// has its own key, kept as a secret: with it, anyone holding a child's ID
// can find the child's rows; without it, pseudonyms cannot be reversed or
// linked across sites.
func NewKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return nil, fmt.Errorf("making a research key: %w", err)
	}
	return key, nil
}

// Pseudonym returns the child's research pseudonym under a site's key:
// "P" followed by the first 16 characters of the lowercase, unpadded base32
// encoding of HMAC-SHA256(key, "khula-research-pseudonym-v1\x00"+childID).
// It is the same in every wave for the same key and child. A key shorter
// than [KeySize] bytes fails with [ErrShortKey], an empty child ID with
// [ErrNoChildID].
func Pseudonym(key []byte, childID string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	p := newPseudonymiser(key)
	return p.pseudonym(childID)
}

// checkKey rejects keys too short to resist guessing.
func checkKey(key []byte) error {
	if len(key) < KeySize {
		return fmt.Errorf("%w: got %d", ErrShortKey, len(key))
	}
	return nil
}

// pseudonymiser computes pseudonyms with one reusable MAC.
type pseudonymiser struct {
	mac hash.Hash
	sum []byte
	out [1 + pseudonymChars]byte
}

func newPseudonymiser(key []byte) *pseudonymiser {
	return &pseudonymiser{mac: hmac.New(sha256.New, key), sum: make([]byte, 0, sha256.Size)}
}

func (p *pseudonymiser) pseudonym(childID string) (string, error) {
	if childID == "" {
		return "", ErrNoChildID
	}
	p.mac.Reset()
	_, _ = io.WriteString(p.mac, pseudonymContext) // a hash never fails to write
	_, _ = io.WriteString(p.mac, childID)
	p.sum = p.mac.Sum(p.sum[:0])
	// 10 bytes are exactly 16 base32 characters, the same as the first 16
	// characters of the whole MAC's encoding.
	p.out[0] = 'P'
	lowerBase32.Encode(p.out[1:], p.sum[:pseudonymChars*5/8])
	return string(p.out[:]), nil
}
