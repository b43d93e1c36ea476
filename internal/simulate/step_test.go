package simulate

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestJobsHonourTheContext fills the only slot with a job that waits for
// the context, queues another, and ends the context: both return at once
// and nothing counts as in flight afterwards.
func TestJobsHonourTheContext(t *testing.T) {
	s := &sim{busy: map[string]int{}, pools: map[string]chan struct{}{formPool: make(chan struct{}, 1)}}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	s.launch(ctx, formPool, []string{"baseline"}, func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return nil
	})
	<-started
	ran := false
	s.launch(ctx, formPool, []string{"baseline"}, func(context.Context) error { ran = true; return nil })
	if !s.inFlight("baseline") {
		t.Fatal("queued and running jobs must count as in flight")
	}
	cancel()
	done := make(chan struct{})
	go func() { s.jobs.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("jobs did not return when the context ended")
	}
	if ran {
		t.Error("a job queued behind a full pool ran after the context ended")
	}
	if s.inFlight("baseline") {
		t.Error("finished jobs still count as in flight")
	}
}

// TestCallTimeoutIsTransient: a call that outlives its own timeout is tried
// again later; one cut short because the simulation ended is not.
func TestCallTimeoutIsTransient(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := &apiClient{base: srv.URL, timeout: 100 * time.Millisecond, http: &http.Client{}}

	start := time.Now()
	err := c.do(context.Background(), http.MethodGet, "/slow", "", nil, nil)
	if err == nil || !isTransient(err) || !retryable(err) {
		t.Fatalf("a call past its timeout: %v (transient %v), want a transient error", err, isTransient(err))
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("the call took %s, its timeout is 100ms", time.Since(start))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	c.timeout = time.Minute
	err = c.do(ctx, http.MethodGet, "/slow", "", nil, nil)
	if err == nil || isTransient(err) {
		t.Fatalf("a call cut short by the simulation's end: %v (transient %v), want a final error", err, isTransient(err))
	}
}
