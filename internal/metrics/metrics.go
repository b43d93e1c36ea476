// Package metrics builds khula's Prometheus metrics on an injected registry:
// the cycle's state by site, wave and stage (read from the app database when
// scraped), HTTP requests, and the Temporal SDK's own worker metrics. No
// label ever carries a child, caregiver or cycle identifier.
package metrics

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/khula-cop/khula/internal/store"
)

// Namespace prefixes every khula metric.
const Namespace = "khula"

// HTTP holds the API's request metrics.
type HTTP struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewHTTP registers the HTTP metrics on reg.
func NewHTTP(reg prometheus.Registerer) *HTTP {
	h := &HTTP{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "http_requests_total", Help: "HTTP requests by method, route template and status code.",
		}, []string{"method", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "http_request_duration_seconds", Help: "HTTP request latency by method and route template.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route"}),
	}
	reg.MustRegister(h.requests, h.latency)
	return h
}

// Middleware counts requests by route template (never the concrete path,
// which holds child IDs).
func (h *HTTP) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		h.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(c.Writer.Status())).Inc()
		h.latency.WithLabelValues(c.Request.Method, route).Observe(time.Since(start).Seconds())
	}
}

// Snapshotter computes the database aggregates.
type Snapshotter interface {
	MetricsSnapshot(ctx context.Context, stalledAfter time.Duration, now time.Time) (store.Snapshot, error)
}

// StateCollector reports the cycle's state from the app database. It
// caches a snapshot for MaxAge so frequent scrapes cost one query set.
type StateCollector struct {
	Source       Snapshotter
	MaxAge       time.Duration
	StalledAfter time.Duration
	Logger       *slog.Logger

	mu      sync.Mutex
	at      time.Time
	snap    store.Snapshot
	lastErr error

	cycles, risk, plans, referrals, meetings, stalled, up *prometheus.Desc
	auditSeq, auditHash, auditQueued                      *prometheus.Desc
}

// NewStateCollector describes the state metrics.
func NewStateCollector(src Snapshotter, logger *slog.Logger) *StateCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
	}
	return &StateCollector{
		Source: src, MaxAge: 15 * time.Second, StalledAfter: 14 * 24 * time.Hour, Logger: logger,
		cycles:      d("cycles", "Child cycles by site, wave and stage.", "site", "wave", "stage"),
		risk:        d("domain_risk", "Children by baseline risk level per domain, by site and wave.", "site", "wave", "domain", "level"),
		plans:       d("plans_awaiting", "Children at risk awaiting an LLCoP plan, by site and school.", "site", "school"),
		referrals:   d("referrals", "Referrals by site, status and whether overdue.", "site", "status", "overdue"),
		meetings:    d("meetings_awaiting_minutes", "LLCoP meetings awaiting their minutes, by site and school.", "site", "school"),
		stalled:     d("cycles_stalled", "Open cycles whose stage has not changed for the stall period, by site.", "site"),
		up:          d("state_up", "1 if the last read of the cycle's state from the database succeeded."),
		auditSeq:    d("audit_head_seq", "Number of the audit chain's last entry. It only grows: a decrease means entries at the end were deleted."),
		auditHash:   d("audit_head_hash_prefix", "The first 48 bits of the audit chain's head hash, as a number: with audit_head_seq, a copy of the head outside the database."),
		auditQueued: d("audit_outbox_entries", "Audit entries of writes waiting in the outbox to be appended to the chain."),
	}
}

// Describe sends the metric descriptions.
func (s *StateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{s.cycles, s.risk, s.plans, s.referrals, s.meetings, s.stalled, s.up, s.auditSeq, s.auditHash, s.auditQueued} {
		ch <- d
	}
}

// Collect reads (or reuses) a snapshot and sends it.
func (s *StateCollector) Collect(ch chan<- prometheus.Metric) {
	snap, err := s.snapshot()
	up := 1.0
	if err != nil {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(s.up, prometheus.GaugeValue, up)
	if err != nil {
		return
	}
	emit := func(desc *prometheus.Desc, gs []store.Gauge) {
		for _, g := range gs {
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, g.Value, g.Labels...)
		}
	}
	emit(s.cycles, snap.CyclesByStage)
	emit(s.risk, snap.RiskByDomain)
	emit(s.plans, snap.PlansAwaiting)
	emit(s.referrals, snap.Referrals)
	emit(s.meetings, snap.MeetingBacklog)
	emit(s.stalled, snap.StalledCycles)
	ch <- prometheus.MustNewConstMetric(s.auditSeq, prometheus.GaugeValue, float64(snap.AuditHead.Seq))
	ch <- prometheus.MustNewConstMetric(s.auditHash, prometheus.GaugeValue, float64(HashPrefix(snap.AuditHead.Hash)))
	ch <- prometheus.MustNewConstMetric(s.auditQueued, prometheus.GaugeValue, float64(snap.AuditQueued))
}

// HashPrefix is the first 48 bits of a hex hash as a number (exact in a
// float64), 0 for an empty or malformed hash.
func HashPrefix(hexHash string) uint64 {
	if len(hexHash) < 12 {
		return 0
	}
	v, err := strconv.ParseUint(hexHash[:12], 16, 64)
	if err != nil {
		return 0
	}
	return v
}

func (s *StateCollector) snapshot() (store.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.at.IsZero() && time.Since(s.at) < s.MaxAge {
		return s.snap, s.lastErr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	snap, err := s.Source.MetricsSnapshot(ctx, s.StalledAfter, time.Now())
	s.at, s.snap, s.lastErr = time.Now(), snap, err
	if err != nil && s.Logger != nil {
		s.Logger.Warn("reading metrics from the database failed", "error", err)
	}
	return snap, err
}

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
