package api_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/users"
)

func TestHealthz(t *testing.T) {
	f := newFixture(t)
	rec := f.do(t, http.MethodGet, "/healthz", "")
	var body map[string]string
	wantJSON(t, rec, http.StatusOK, &body)
	assert.Equal(t, map[string]string{"status": "ok"}, body)
	f.noTemporalCalls(t)
}

func TestReadyz(t *testing.T) {
	cases := []struct {
		name       string
		ready      func(ctx context.Context) error
		wantStatus int
		wantDetail string
	}{
		{name: "no readiness check", wantStatus: http.StatusOK},
		{name: "ready", ready: func(context.Context) error { return nil }, wantStatus: http.StatusOK},
		{name: "database down", ready: func(context.Context) error { return errors.New("store: database unreachable") },
			wantStatus: http.StatusServiceUnavailable, wantDetail: "the database or the engine does not answer; the server log says which"},
		{name: "check gets a deadline", wantStatus: http.StatusOK, ready: func(ctx context.Context) error {
			dl, ok := ctx.Deadline()
			if !ok || time.Until(dl) > 3*time.Second {
				return errors.New("readiness check without a 3s deadline")
			}
			return nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(f *fixture) { f.srv.Ready = tc.ready })
			rec := f.do(t, http.MethodGet, "/readyz", "")
			if tc.wantStatus != http.StatusOK {
				p := wantProblem(t, rec, tc.wantStatus)
				assert.Equal(t, tc.wantDetail, p.Detail)
				return
			}
			var body map[string]string
			wantJSON(t, rec, http.StatusOK, &body)
			assert.Equal(t, map[string]string{"status": "ready"}, body)
		})
	}
}

// Finding 6 of the penetration test (in part): /metrics was readable
// without credentials, and /readyz told anyone which dependency failed.
func TestMetricsNeedTheOpsRole(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "khula_test_total", Help: "test"}))
	f := newFixture(t, func(f *fixture) { f.srv.Gatherer = reg })
	assert.Equal(t, http.StatusUnauthorized, f.doAs(t, http.MethodGet, "/metrics", "").Code)
	assert.Equal(t, http.StatusForbidden, f.do(t, http.MethodGet, "/metrics", "").Code, "a site coordinator's token")
	ops := tokenFor(t, f, users.Spec{Username: "prometheus", Role: auth.Ops})
	rec := f.doAs(t, http.MethodGet, "/metrics", "", "Authorization", "Bearer "+ops)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), "khula_test_total 0")
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	cases := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/nope", http.StatusNotFound},
		{http.MethodGet, "/api/v1/children", http.StatusNotFound},
		{http.MethodPost, "/api/v1/cycles/johannesburg/3/c-0001/scores", http.StatusNotFound},
		{http.MethodDelete, "/api/v1/waves", http.StatusMethodNotAllowed},
		{http.MethodPut, "/api/v1/meetings", http.StatusMethodNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			f := newFixture(t)
			wantProblem(t, f.do(t, tc.method, tc.path, ""), tc.status)
			f.noTemporalCalls(t)
		})
	}
}

// The access log names the route template, never the concrete path: paths
// carry child IDs.
func TestAccessLogOmitsIDs(t *testing.T) {
	var buf bytes.Buffer
	f := newFixture(t, func(f *fixture) {
		f.srv.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	wantProblem(t, f.do(t, http.MethodGet, "/api/v1/cycles/johannesburg/3/child-7f3a9", ""), http.StatusNotFound)
	wantProblem(t, f.do(t, http.MethodGet, "/no/such/child-7f3a9", ""), http.StatusNotFound)
	log := buf.String()
	require.Contains(t, log, "route=/api/v1/cycles/:site/:wave/:child")
	assert.Contains(t, log, "route=unmatched")
	assert.NotContains(t, log, "child-7f3a9")
}
