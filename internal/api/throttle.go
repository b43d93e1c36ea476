package api

import (
	"sync"
	"time"
)

// Sign-in throttling: every attempt counts as a failure until it succeeds,
// so a burst of parallel guesses is held back as well as a slow series.
const (
	// accountFailures wrong passwords for one username in throttleWindow
	// lock that username for accountLock, doubling with each further
	// failure up to maxAccountLock.
	accountFailures = 5
	accountLock     = 30 * time.Second
	maxAccountLock  = 15 * time.Minute
	// addressFailures wrong passwords from one address (of any usernames)
	// in throttleWindow lock the address for addressLock.
	addressFailures = 30
	addressLock     = 5 * time.Minute
	throttleWindow  = 15 * time.Minute
	// maxThrottleEntries bounds the memory an attacker can make us hold.
	maxThrottleEntries = 100000
)

// signInThrottle counts sign-in failures per username and per address in
// memory. Each API process counts its own: behind several replicas an
// attacker gets the limits once per replica.
type signInThrottle struct {
	mu      sync.Mutex
	entries map[string]*throttleEntry
}

type throttleEntry struct {
	failures    int
	first       time.Time
	lockedUntil time.Time
}

// attempt records a sign-in attempt for username from address at now and
// says how long to wait when either is locked (0: go on). The attempt
// counts as a failure until succeeded is called.
func (t *signInThrottle) attempt(username, address string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.entries == nil {
		t.entries = map[string]*throttleEntry{}
	}
	if len(t.entries) >= maxThrottleEntries {
		t.prune(now)
	}
	acct, addr := t.entry("u:"+username, now), t.entry("a:"+address, now)
	if wait := max(acct.lockedUntil.Sub(now), addr.lockedUntil.Sub(now)); wait > 0 {
		return wait
	}
	acct.failures++
	addr.failures++
	if acct.failures >= accountFailures {
		lock := accountLock << min(acct.failures-accountFailures, 10)
		acct.lockedUntil = now.Add(min(lock, maxAccountLock))
	}
	if addr.failures >= addressFailures {
		addr.lockedUntil = now.Add(addressLock)
	}
	return 0
}

// succeeded clears the username's failures after a right password; the
// address keeps its count (one right password does not excuse a spray).
func (t *signInThrottle) succeeded(username string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, "u:"+username)
}

func (t *signInThrottle) entry(key string, now time.Time) *throttleEntry {
	e, ok := t.entries[key]
	if !ok || (now.Sub(e.first) > throttleWindow && !now.Before(e.lockedUntil)) {
		e = &throttleEntry{first: now}
		t.entries[key] = e
	}
	return e
}

// prune forgets entries whose window and lock have passed; if that frees
// nothing, it forgets everything rather than grow without bound.
func (t *signInThrottle) prune(now time.Time) {
	for k, e := range t.entries {
		if now.Sub(e.first) > throttleWindow && !now.Before(e.lockedUntil) {
			delete(t.entries, k)
		}
	}
	if len(t.entries) >= maxThrottleEntries {
		t.entries = map[string]*throttleEntry{}
	}
}
