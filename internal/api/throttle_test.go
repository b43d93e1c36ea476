package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/users"
)

// signIn posts a sign-in from a client address.
func (f *fixture) signIn(username, password, from string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/api/v1/session", strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, username, password)))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = from + ":40000"
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return rec
}

// Finding 4 of the penetration test: 40 wrong passwords in 3 s and 120
// parallel guesses all got 401, never 429, and the right password then
// worked. Sign-in is now throttled per account and per address.
func TestSignInIsThrottled(t *testing.T) {
	f := newFixture(t)
	clock := now
	var mu sync.Mutex
	f.srv.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	_, err := users.Create(context.Background(), f.store, f.dir, users.Spec{Username: "sw", Role: auth.Practitioner, Practice: "social_worker",
		Sites: []string{"johannesburg"}, Schools: []string{"meadowlands"}, Password: "correct horse battery"})
	require.NoError(t, err)

	t.Run("per account", func(t *testing.T) {
		for i := range 5 {
			assert.Equal(t, http.StatusUnauthorized, f.signIn("sw", "wrong password", fmt.Sprintf("198.51.100.%d", i)).Code, "guess %d", i+1)
		}
		rec := f.signIn("SW", "correct horse battery", "198.51.100.99")
		p := wantProblem(t, rec, http.StatusTooManyRequests)
		assert.Equal(t, "Too many sign-in attempts", p.Title)
		wait, err := strconv.Atoi(rec.Header().Get("Retry-After"))
		require.NoError(t, err, "Retry-After is a number of seconds")
		assert.Equal(t, 30, wait, "the fifth failure locks the account for 30 s, whatever the address")

		advance(31 * time.Second)
		assert.Equal(t, http.StatusOK, f.signIn("sw", "correct horse battery", "198.51.100.99").Code, "after the wait the right password works")
		assert.Equal(t, http.StatusUnauthorized, f.signIn("sw", "wrong again", "198.51.100.99").Code, "a success starts the count again")
	})

	t.Run("parallel guesses", func(t *testing.T) {
		advance(time.Hour)
		codes := make(chan int, 120)
		var wg sync.WaitGroup
		for i := range 120 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes <- f.signIn("sw", fmt.Sprintf("guess %d", i), fmt.Sprintf("203.0.113.%d", i%100)).Code
			}()
		}
		wg.Wait()
		close(codes)
		counts := map[int]int{}
		for c := range codes {
			counts[c]++
		}
		assert.LessOrEqual(t, counts[http.StatusUnauthorized], 5, "at most five guesses reach the password check")
		assert.Equal(t, 120-counts[http.StatusUnauthorized], counts[http.StatusTooManyRequests])
	})

	t.Run("per address", func(t *testing.T) {
		advance(time.Hour)
		for i := range 30 {
			assert.Equal(t, http.StatusUnauthorized, f.signIn(fmt.Sprintf("user%d", i), "wrong password", "192.0.2.77").Code)
		}
		p := wantProblem(t, f.signIn("sw", "correct horse battery", "192.0.2.77"), http.StatusTooManyRequests)
		assert.Contains(t, p.Detail, "wait 300 seconds")
		assert.Equal(t, http.StatusOK, f.signIn("sw", "correct horse battery", "192.0.2.78").Code, "another address is not held back")
	})

	t.Run("X-Forwarded-For from an untrusted client is ignored", func(t *testing.T) {
		advance(time.Hour)
		for i := range 30 {
			req := httptest.NewRequest(http.MethodPost, "/api/v1/session", strings.NewReader(fmt.Sprintf(`{"username":"u%d","password":"x"}`, i)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.0.0.%d", i))
			req.RemoteAddr = "192.0.2.200:40000"
			f.handler.ServeHTTP(httptest.NewRecorder(), req)
		}
		wantProblem(t, f.signIn("sw", "correct horse battery", "192.0.2.200"), http.StatusTooManyRequests)
	})
}
