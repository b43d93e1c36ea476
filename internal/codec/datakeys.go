package codec

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Crypto-shredding: the payloads of a child's workflows are sealed with a
// data key of that child alone (kept wrapped by the keyring in the app
// database, see DataKeyVault). Destroying the key on withdrawal of consent
// or at the end of retention makes the engine's copy of those payloads
// unreadable at once, without waiting for the engine's history retention.

// dataKeyPrefix starts the key ID written on payloads sealed with a
// subject's data key ("dek:<id>"); keyring key IDs cannot contain ':'.
const dataKeyPrefix = "dek:"

// ErrDataKeyDestroyed reports a payload or a subject whose data key was
// destroyed: the data it sealed is erased and cannot be read by anyone.
var ErrDataKeyDestroyed = errors.New("codec: the data key was destroyed (consent withdrawn or retention ended): the payload is erased")

// DataKeyVault keeps subjects' data keys (raw 32-byte AES keys), wrapped
// by the keyring wherever it stores them. The store implements it.
type DataKeyVault interface {
	// DataKey returns the subject's key, creating it on first use. A
	// subject whose key was destroyed gets ErrDataKeyDestroyed, never a
	// new key: nothing new is written about an erased child.
	DataKey(ctx context.Context, subject string) (id string, key []byte, err error)
	// OpenDataKey returns the key with this ID, or ErrDataKeyDestroyed.
	OpenDataKey(ctx context.Context, id string) ([]byte, error)
}

// SubjectOf maps a workflow ID to the subject whose data key seals its
// payloads; ok is false for workflows about no one child (waves,
// meetings), whose payloads the keyring seals.
type SubjectOf func(workflowID string) (subject string, ok bool)

// DataKeyCacheFor bounds how long a process keeps a data key it looked up.
// A key destroyed by another process stays usable here for at most this
// long; the engine's stored copy is unreadable from the moment of
// destruction.
const DataKeyCacheFor = time.Minute

// dataKeyCacheMax bounds the cache; past it, the oldest half is dropped.
const dataKeyCacheMax = 20000

// DataKeys looks up subjects' data keys through a vault and caches them,
// so sealing and opening a child's payloads costs no database round trip
// on the worker's hot path. Share one between the processes' codecs.
type DataKeys struct {
	vault   DataKeyVault
	subject SubjectOf
	now     func() time.Time

	mu        sync.Mutex
	bySubject map[string]cachedKey
	byID      map[string]cachedKey
}

type cachedKey struct {
	id      string
	subject string
	aead    cipher.AEAD
	at      time.Time
}

// NewDataKeys returns a cache over vault; subject says which workflows
// are about one child.
func NewDataKeys(vault DataKeyVault, subject SubjectOf) *DataKeys {
	return &DataKeys{vault: vault, subject: subject, now: time.Now,
		bySubject: map[string]cachedKey{}, byID: map[string]cachedKey{}}
}

// Forget drops a subject's key from this process's cache (the process
// that destroys a key calls it at once).
func (d *DataKeys) Forget(subject string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if k, ok := d.bySubject[subject]; ok {
		delete(d.byID, k.id)
	}
	delete(d.bySubject, subject)
	for id, k := range d.byID {
		if k.subject == subject {
			delete(d.byID, id)
		}
	}
}

func (d *DataKeys) cached(m map[string]cachedKey, k string) (cachedKey, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := m[k]
	if !ok || d.now().Sub(c.at) > DataKeyCacheFor {
		return cachedKey{}, false
	}
	return c, true
}

func (d *DataKeys) remember(c cachedKey) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.byID) >= dataKeyCacheMax {
		cutoff := d.now().Add(-DataKeyCacheFor / 2)
		for id, k := range d.byID {
			if k.at.Before(cutoff) || len(d.byID) >= dataKeyCacheMax {
				delete(d.byID, id)
				delete(d.bySubject, k.subject)
			}
		}
	}
	d.byID[c.id] = c
	if c.subject != "" {
		d.bySubject[c.subject] = c
	}
}

// vaultTimeout bounds one vault call from inside the codec, which has no
// caller's context.
const vaultTimeout = 10 * time.Second

// forSubject returns the data key that seals the subject's new payloads.
func (d *DataKeys) forSubject(subject string) (string, cipher.AEAD, error) {
	if c, ok := d.cached(d.bySubject, subject); ok {
		return c.id, c.aead, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), vaultTimeout)
	defer cancel()
	id, raw, err := d.vault.DataKey(ctx, subject)
	if err != nil {
		return "", nil, fmt.Errorf("codec: the data key of a workflow's subject: %w", err)
	}
	aead, err := newAEAD(raw)
	if err != nil {
		return "", nil, fmt.Errorf("codec: data key %s: %w", id, err)
	}
	d.remember(cachedKey{id: id, subject: subject, aead: aead, at: d.now()})
	return id, aead, nil
}

// byKeyID returns the data key with this ID for opening a payload.
func (d *DataKeys) byKeyID(id string) (cipher.AEAD, error) {
	if c, ok := d.cached(d.byID, id); ok {
		return c.aead, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), vaultTimeout)
	defer cancel()
	raw, err := d.vault.OpenDataKey(ctx, id)
	if err != nil {
		if errors.Is(err, ErrDataKeyDestroyed) {
			return nil, ErrDataKeyDestroyed
		}
		return nil, fmt.Errorf("codec: looking up data key %s: %w", id, err)
	}
	aead, err := newAEAD(raw)
	if err != nil {
		return nil, fmt.Errorf("codec: data key %s: %w", id, err)
	}
	d.remember(cachedKey{id: id, aead: aead, at: d.now()})
	return aead, nil
}

// isDataKeyID reports a payload key ID naming a subject's data key.
func isDataKeyID(id string) bool { return strings.HasPrefix(id, dataKeyPrefix) }
