package codec

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Keyring holds named AES-256 keys and which one seals new payloads.
// It is immutable once built, so it is safe for concurrent use.
type Keyring struct {
	activeID string
	aeads    map[string]cipher.AEAD
	ids      []string
	// indexKey is the blind-index key derived from the active key (see IndexKey).
	indexKey []byte
	// auditKeys are the audit chain's MAC keys, one derived from each key.
	auditKeys map[string][]byte
}

// indexKeyInfo binds the derived blind-index key to its one use, so it is
// never the same bytes as the sealing key it comes from.
const indexKeyInfo = "khula/blind-index/v1"

// auditKeyInfo binds the derived audit-chain MAC keys to their one use.
const auditKeyInfo = "khula/audit-chain/v1"

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// NewKeyring builds a keyring from raw 32-byte keys by ID; activeID must be one of them.
func NewKeyring(activeID string, keys map[string][]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("codec: keyring has no keys")
	}
	k := &Keyring{activeID: activeID, aeads: make(map[string]cipher.AEAD, len(keys)), auditKeys: make(map[string][]byte, len(keys))}
	for id, raw := range keys {
		if !keyIDPattern.MatchString(id) {
			return nil, fmt.Errorf("codec: key id %q must be 1-64 letters, digits, '.', '_' or '-'", id)
		}
		aead, err := newAEAD(raw)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", id, err)
		}
		k.aeads[id] = aead
		k.ids = append(k.ids, id)
		mac, err := hkdf.Key(sha256.New, raw, nil, auditKeyInfo, 32)
		if err != nil {
			return nil, fmt.Errorf("codec: deriving the audit key of %q: %w", id, err)
		}
		k.auditKeys[id] = mac
		if id == activeID {
			derived, err := hkdf.Key(sha256.New, raw, nil, indexKeyInfo, 32)
			if err != nil {
				return nil, fmt.Errorf("codec: deriving the index key of %q: %w", id, err)
			}
			k.indexKey = derived
		}
	}
	sort.Strings(k.ids)
	if _, ok := k.aeads[activeID]; !ok {
		return nil, fmt.Errorf("codec: active key %q is not in the keyring (have %s)", activeID, strings.Join(k.ids, ", "))
	}
	return k, nil
}

// ActiveID names the key that seals new payloads.
func (k *Keyring) ActiveID() string { return k.activeID }

// IDs lists every key ID in the keyring, sorted.
func (k *Keyring) IDs() []string { return append([]string(nil), k.ids...) }

// IndexKey returns the key for the blind index over normalised names,
// birth dates and phones (HMAC tokens that let khula find a child already
// known without opening every sealed name), and the ID of the sealing key
// it is derived from: after a rotation the index is rebuilt with the new
// one. The bytes are derived with HKDF-SHA256, never the sealing key itself.
func (k *Keyring) IndexKey() (id string, key []byte) {
	return k.activeID, append([]byte(nil), k.indexKey...)
}

// AuditKey returns the key that signs new entries of the audit chain (an
// HMAC-SHA256 key derived with HKDF from the active key, never the sealing
// key itself) and the ID of the key it comes from. Without it nobody can
// rewrite the chain and recompute its hashes: the database alone is not
// enough.
func (k *Keyring) AuditKey() (id string, key []byte) {
	return k.activeID, append([]byte(nil), k.auditKeys[k.activeID]...)
}

// AuditKeyFor returns the audit-chain key derived from key id, for checking
// entries signed before a rotation.
func (k *Keyring) AuditKeyFor(id string) ([]byte, bool) {
	key, ok := k.auditKeys[id]
	return append([]byte(nil), key...), ok
}

func (k *Keyring) active() (string, cipher.AEAD) { return k.activeID, k.aeads[k.activeID] }

func (k *Keyring) lookup(id string) (cipher.AEAD, bool) {
	a, ok := k.aeads[id]
	return a, ok
}

// ParseKeyring reads the environment form "ACTIVE=id1;id1:BASE64;id2:BASE64"
// or simply "id1:BASE64[,id2:BASE64]" where the first key is active.
func ParseKeyring(spec string) (*Keyring, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("codec: empty key specification")
	}
	keys := map[string][]byte{}
	active := ""
	for _, part := range strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == ';' }) {
		part = strings.TrimSpace(part)
		if rest, ok := strings.CutPrefix(part, "ACTIVE="); ok {
			active = rest
			continue
		}
		id, b64, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("codec: key entry must be ID:BASE64, got an entry without ':'")
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q is not valid base64: %w", id, err)
		}
		if _, dup := keys[id]; dup {
			return nil, fmt.Errorf("codec: key %q appears twice", id)
		}
		keys[id] = raw
		if active == "" {
			active = id
		}
	}
	return NewKeyring(active, keys)
}

// keyFile is the JSON form of a keyring file.
type keyFile struct {
	Active string            `json:"active"`
	Keys   map[string]string `json:"keys"`
}

// LoadKeyringFile reads a keyring file ({"active": ID, "keys": {ID: BASE64}}).
func LoadKeyringFile(path string) (*Keyring, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("codec: reading keyring: %w", err)
	}
	var f keyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("codec: keyring %s: %w", path, err)
	}
	keys := make(map[string][]byte, len(f.Keys))
	for id, b64 := range f.Keys {
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("codec: keyring %s: key %q is not valid base64: %w", path, id, err)
		}
		keys[id] = raw
	}
	k, err := NewKeyring(f.Active, keys)
	if err != nil {
		return nil, fmt.Errorf("keyring %s: %w", path, err)
	}
	return k, nil
}

// LoadOrCreateKeyringFile loads the keyring at path, creating it with one fresh
// random key (mode 0600) when the file does not exist. Dev mode uses it so a
// data directory carries its own key across restarts.
func LoadOrCreateKeyringFile(path string) (*Keyring, bool, error) {
	if _, err := os.Stat(path); err == nil {
		k, err := LoadKeyringFile(path)
		return k, false, err
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("codec: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, false, fmt.Errorf("codec: generating key: %w", err)
	}
	id := "k" + time.Now().UTC().Format("20060102")
	f := keyFile{Active: id, Keys: map[string]string{id: base64.StdEncoding.EncodeToString(raw)}}
	data, _ := json.MarshalIndent(f, "", "  ")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("codec: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return nil, false, fmt.Errorf("codec: writing keyring: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, false, fmt.Errorf("codec: writing keyring: %w", err)
	}
	k, err := NewKeyring(id, map[string][]byte{id: raw})
	return k, true, err
}

// NewKey makes a fresh random 32-byte key and returns it in the
// environment form "id:BASE64" for adding to a keyring.
func NewKey(id string) (string, error) {
	if !keyIDPattern.MatchString(id) {
		return "", fmt.Errorf("codec: key id %q must be 1-64 letters, digits, '.', '_' or '-'", id)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("codec: generating key: %w", err)
	}
	return id + ":" + base64.StdEncoding.EncodeToString(raw), nil
}
