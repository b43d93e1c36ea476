package codec

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Sealed field values look like "sealed:v1:<key id>:<base64 nonce+ciphertext>".
const sealedPrefix = "sealed:v1:"

// ErrNotSealed reports a value that was stored in clear.
var ErrNotSealed = errors.New("codec: value is not sealed")

// SealString encrypts a database field with the active key. The column
// (e.g. "children.given_name") is bound as associated data, so a sealed
// value copied into another column does not open. The empty string stays
// empty: there is nothing to hide and erased fields stay recognisable.
func (k *Keyring) SealString(column, plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	id, aead := k.active()
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("codec: reading nonce: %w", err)
	}
	sealed := aead.Seal(nonce, nonce, []byte(plain), []byte(id+"|"+column))
	return sealedPrefix + id + ":" + base64.RawStdEncoding.EncodeToString(sealed), nil
}

// OpenString decrypts a field sealed by SealString with any key in the keyring.
func (k *Keyring) OpenString(column, sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	rest, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return "", ErrNotSealed
	}
	id, b64, ok := strings.Cut(rest, ":")
	if !ok {
		return "", fmt.Errorf("codec: sealed value has no key id")
	}
	aead, ok := k.lookup(id)
	if !ok {
		return "", fmt.Errorf("%w (key id %q)", ErrUnknownKey, id)
	}
	data, err := base64.RawStdEncoding.Strict().DecodeString(b64)
	if err != nil || len(data) < aead.NonceSize() {
		return "", fmt.Errorf("codec: sealed value is damaged")
	}
	plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(id+"|"+column))
	if err != nil {
		return "", fmt.Errorf("codec: opening a %s value with key %q: %w", column, id, err)
	}
	return string(plain), nil
}

// SealedKeyID returns the key ID a sealed value names ("" if not sealed).
func SealedKeyID(sealed string) string {
	rest, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, ":")
	return id
}

// SealedPrefixFor is the prefix of values sealed with key id, for queries
// that find values sealed with other keys.
func SealedPrefixFor(id string) string { return sealedPrefix + id + ":" }
