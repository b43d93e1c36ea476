// Package journal is the durable idempotency journal khula's plugins keep in
// their state directory so that a referral, message or export batch is sent
// once per idempotency key, across retries, crashes and restarts.
//
// The journal is an append-only file of JSON lines, one per state change,
// each written with fsync before the call goes on:
//
//  1. before sending, a "pending" line (with the attempt number and, when
//     the operation has one, its plan: e.g. which worker was assigned);
//  2. after the receiver accepted it, a "done" line with the receipt;
//  3. after a permanent rejection, a "failed" line with the reason.
//
// A key whose last line is "done" is never sent again: Do returns the
// recorded receipt with duplicate = true. A key left "pending" (the process
// died, or the call failed or timed out, between the two lines) is sent
// again with the same plan, and the sender must reuse the same idempotency
// key on the wire (an Idempotency-Key header, an SMTP Message-ID, a
// deterministic remote ID) so that a receiver which got the first attempt
// can recognise the second. That window, between the receiver accepting and
// the "done" line reaching the disk, is the only place a second delivery
// can happen; it is at-least-once there, exactly-once for a deduplicating
// receiver. A "failed" key may be tried again by a later, deliberate call.
//
// On open, the file is replayed; a torn last line (a crash mid-write) is cut
// off. A lock file keeps a second process from using the same journal.
package journal

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/khula-cop/khula/plugins"
)

// States of a key.
const (
	Pending = "pending"
	Done    = "done"
	Failed  = "failed"
)

// ErrKeyReused is returned when an idempotency key comes back with a
// different request than the one first sent under it. It wraps
// plugins.ErrPermanent.
var ErrKeyReused = fmt.Errorf("idempotency key reused for a different request: %w", plugins.ErrPermanent)

// Entry is the latest state of one key.
type Entry struct {
	Key         string          `json:"key"`
	State       string          `json:"state"`
	Attempt     int             `json:"attempt"`
	Seq         int             `json:"seq"`
	Fingerprint string          `json:"fp,omitempty"`
	Plan        json.RawMessage `json:"plan,omitempty"`
	Receipt     json.RawMessage `json:"receipt,omitempty"`
	Error       string          `json:"error,omitempty"`
	At          time.Time       `json:"at"`
}

// Journal is an open journal. Its methods are safe for concurrent use.
type Journal struct {
	path   string
	now    func() time.Time
	unlock func() error

	mu      sync.Mutex
	f       *os.File
	entries map[string]Entry
	nextSeq int
	lines   int
	keys    map[string]chan struct{}
}

// Open opens (creating if needed) the journal name.jsonl in dir.
func Open(dir, name string) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal directory: %w", err)
	}
	path := filepath.Join(dir, name+".jsonl")
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, err
	}
	j := &Journal{path: path, now: time.Now, unlock: unlock, entries: map[string]Entry{}, keys: map[string]chan struct{}{}}
	if err := j.replay(); err != nil {
		unlock()
		return nil, err
	}
	if j.lines > 1000 && j.lines > 4*len(j.entries) {
		if err := j.compact(); err != nil {
			unlock()
			return nil, err
		}
	}
	if j.f, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		unlock()
		return nil, fmt.Errorf("opening journal: %w", err)
	}
	return j, nil
}

func (j *Journal) replay() error {
	data, err := os.ReadFile(j.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading journal: %w", err)
	}
	good := 0 // length of the prefix made of complete, valid lines
	line := 0
	for len(data[good:]) > 0 {
		rest := data[good:]
		nl := bytes.IndexByte(rest, '\n')
		line++
		var e Entry
		if nl < 0 {
			// The last line lacks its newline: keep it if it is whole.
			if json.Unmarshal(rest, &e) == nil && e.Key != "" {
				j.apply(e)
				return appendNewline(j.path)
			}
			break
		}
		if json.Unmarshal(rest[:nl], &e) != nil || e.Key == "" {
			if !bytes.Contains(rest[nl+1:], []byte{'\n'}) {
				break // torn last line: cut below
			}
			return fmt.Errorf("journal %s is damaged at line %d: move it aside to start afresh (keys in it may then be sent once more)", j.path, line)
		}
		j.apply(e)
		good += nl + 1
	}
	if good < len(data) {
		if err := os.Truncate(j.path, int64(good)); err != nil {
			return fmt.Errorf("cutting the torn end of journal %s: %w", j.path, err)
		}
	}
	return nil
}

func appendNewline(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("repairing journal %s: %w", path, err)
	}
	_, err = f.Write([]byte{'\n'})
	return errors.Join(err, f.Close())
}

func (j *Journal) apply(e Entry) {
	j.lines++
	j.entries[e.Key] = e
	if e.Seq >= j.nextSeq {
		j.nextSeq = e.Seq + 1
	}
}

// compact rewrites the journal with one line per key.
func (j *Journal) compact() error {
	tmp := j.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("compacting journal: %w", err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, e := range j.entries {
		if err := enc.Encode(e); err != nil {
			f.Close()
			return fmt.Errorf("compacting journal: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("compacting journal: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("compacting journal: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("compacting journal: %w", err)
	}
	if err := os.Rename(tmp, j.path); err != nil {
		return fmt.Errorf("compacting journal: %w", err)
	}
	j.lines = len(j.entries)
	return syncDir(filepath.Dir(j.path))
}

// Close closes the journal and releases its lock.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	var err error
	if j.f != nil {
		err = j.f.Close()
		j.f = nil
	}
	return errors.Join(err, j.unlock())
}

// Get returns the latest entry of key.
func (j *Journal) Get(key string) (Entry, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	e, ok := j.entries[key]
	return e, ok
}

// Len is the number of keys in the journal.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.entries)
}

// append writes e durably and makes it the key's latest entry.
func (j *Journal) append(e Entry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("journal entry: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return errors.New("journal is closed")
	}
	if _, err := j.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("writing journal %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("syncing journal %s: %w", j.path, err)
	}
	j.apply(e)
	return nil
}

// lockKey serialises operations on one key: a retry that arrives while the
// first attempt is still running waits for it and then sees its outcome.
func (j *Journal) lockKey(ctx context.Context, key string) (func(), error) {
	for {
		j.mu.Lock()
		ch, busy := j.keys[key]
		if !busy {
			ch = make(chan struct{})
			j.keys[key] = ch
			j.mu.Unlock()
			return func() {
				j.mu.Lock()
				delete(j.keys, key)
				j.mu.Unlock()
				close(ch)
			}, nil
		}
		j.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for an earlier attempt of the same key: %w", ctx.Err())
		}
	}
}

// Attempt tells a sender which attempt this is.
type Attempt struct {
	// N counts attempts of the key, from 1.
	N int
	// Resumed is true when an earlier attempt was left pending: the
	// receiver may have it already, so the same key must go on the wire.
	Resumed bool
	// Seq numbers keys in the order they were first seen, from 0.
	Seq int
}

// Op is one idempotent operation of Do.
type Op[P, R any] struct {
	// Fingerprint identifies the request (e.g. a hash of its fields); a key
	// that comes back with another fingerprint is refused with ErrKeyReused.
	// Empty disables the check.
	Fingerprint string
	// Plan, if set, decides once per key what the send will do (e.g. which
	// worker gets a referral); seq numbers keys in first-seen order. The
	// plan is journaled with the pending line and reused by every attempt.
	Plan func(seq int) (P, error)
	// Send performs the operation. An error wrapping plugins.ErrPermanent
	// marks the key failed; any other error leaves it pending.
	Send func(ctx context.Context, plan P, a Attempt) (R, error)
}

// Do runs op for key at most once to completion and returns its receipt.
// duplicate is true when an earlier call completed it and the receipt is
// that call's. See the package comment for the guarantees.
func Do[P, R any](ctx context.Context, j *Journal, key string, op Op[P, R]) (receipt R, duplicate bool, err error) {
	if key == "" {
		return receipt, false, fmt.Errorf("%w: empty idempotency key", plugins.ErrPermanent)
	}
	unlock, err := j.lockKey(ctx, key)
	if err != nil {
		return receipt, false, err
	}
	defer unlock()

	prev, seen := j.Get(key)
	if seen && op.Fingerprint != "" && prev.Fingerprint != "" && prev.Fingerprint != op.Fingerprint {
		return receipt, false, fmt.Errorf("key %q: %w", key, ErrKeyReused)
	}
	if seen && prev.State == Done {
		if err := json.Unmarshal(prev.Receipt, &receipt); err != nil {
			return receipt, false, fmt.Errorf("journaled receipt of %q: %w", key, err)
		}
		return receipt, true, nil
	}

	var plan P
	var planJSON json.RawMessage
	a := Attempt{N: 1}
	if seen {
		a = Attempt{N: prev.Attempt + 1, Resumed: prev.State == Pending, Seq: prev.Seq}
		planJSON = prev.Plan
		if len(planJSON) > 0 {
			if err := json.Unmarshal(planJSON, &plan); err != nil {
				return receipt, false, fmt.Errorf("journaled plan of %q: %w", key, err)
			}
		}
	} else {
		j.mu.Lock()
		a.Seq = j.nextSeq
		j.nextSeq++
		j.mu.Unlock()
		if op.Plan != nil {
			if plan, err = op.Plan(a.Seq); err != nil {
				return receipt, false, err
			}
			if planJSON, err = json.Marshal(plan); err != nil {
				return receipt, false, fmt.Errorf("plan of %q: %w", key, err)
			}
		}
	}
	fp := op.Fingerprint
	if fp == "" {
		fp = prev.Fingerprint
	}
	entry := Entry{Key: key, State: Pending, Attempt: a.N, Seq: a.Seq, Fingerprint: fp, Plan: planJSON, At: j.now().UTC()}
	if err := j.append(entry); err != nil {
		return receipt, false, err
	}

	receipt, err = op.Send(ctx, plan, a)
	if err != nil {
		if errors.Is(err, plugins.ErrPermanent) {
			entry.State, entry.Error, entry.At = Failed, err.Error(), j.now().UTC()
			if jerr := j.append(entry); jerr != nil {
				return receipt, false, errors.Join(err, jerr)
			}
		}
		return receipt, false, err
	}
	raw, err := json.Marshal(receipt)
	if err != nil {
		return receipt, false, fmt.Errorf("receipt of %q: %w", key, err)
	}
	entry.State, entry.Receipt, entry.At = Done, raw, j.now().UTC()
	if err := j.append(entry); err != nil {
		// The receiver has it; saying so is right. Without the done line a
		// later call resends under the same key, which the receiver dedups.
		j.mu.Lock()
		j.entries[key] = entry
		j.mu.Unlock()
	}
	return receipt, false, nil
}
