package metrics

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// SDKHandler exports the Temporal SDK's own worker and client metrics
// (task slots, poll latencies, activity and workflow task outcomes) into a
// Prometheus registry. The SDK tags metrics with namespace, task queue and
// workflow or activity type, never workflow IDs, so no child identifier
// becomes a label.
type SDKHandler struct {
	reg  prometheus.Registerer
	tags map[string]string
	vecs *sdkVecs
}

type sdkVecs struct {
	mu       sync.Mutex
	counters map[string]*prometheus.CounterVec
	gauges   map[string]*prometheus.GaugeVec
	timers   map[string]*prometheus.HistogramVec
	labels   map[string][]string
}

var _ client.MetricsHandler = (*SDKHandler)(nil)

// NewSDKHandler returns a handler registering into reg.
func NewSDKHandler(reg prometheus.Registerer) *SDKHandler {
	return &SDKHandler{reg: reg, tags: map[string]string{}, vecs: &sdkVecs{
		counters: map[string]*prometheus.CounterVec{}, gauges: map[string]*prometheus.GaugeVec{},
		timers: map[string]*prometheus.HistogramVec{}, labels: map[string][]string{},
	}}
}

// WithTags returns a handler that adds tags to every metric.
func (h *SDKHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return &SDKHandler{reg: h.reg, tags: merged, vecs: h.vecs}
}

func promName(name string) string {
	return "temporal_sdk_" + strings.NewReplacer(".", "_", "-", "_").Replace(strings.TrimPrefix(name, "temporal_"))
}

// labelsFor fixes a metric's label names at first use; later calls with
// other tags are mapped onto them (missing ones empty, extra ones dropped),
// since a Prometheus metric has one set of label names.
func (v *sdkVecs) labelsFor(name string, tags map[string]string) []string {
	if l, ok := v.labels[name]; ok {
		return l
	}
	l := make([]string, 0, len(tags))
	for k := range tags {
		l = append(l, k)
	}
	sort.Strings(l)
	v.labels[name] = l
	return l
}

func values(labels []string, tags map[string]string) []string {
	out := make([]string, len(labels))
	for i, l := range labels {
		out[i] = tags[l]
	}
	return out
}

func (h *SDKHandler) register(c prometheus.Collector) prometheus.Collector {
	if err := h.reg.Register(c); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			return are.ExistingCollector
		}
	}
	return c
}

// Counter returns a counter named name.
func (h *SDKHandler) Counter(name string) client.MetricsCounter {
	v := h.vecs
	v.mu.Lock()
	defer v.mu.Unlock()
	labels := v.labelsFor(name, h.tags)
	vec, ok := v.counters[name]
	if !ok {
		vec = h.register(prometheus.NewCounterVec(prometheus.CounterOpts{Name: promName(name) + "_total", Help: "Temporal SDK metric " + name + "."}, labels)).(*prometheus.CounterVec)
		v.counters[name] = vec
	}
	c := vec.WithLabelValues(values(labels, h.tags)...)
	return counterFunc(func(d int64) { c.Add(float64(d)) })
}

// Gauge returns a gauge named name.
func (h *SDKHandler) Gauge(name string) client.MetricsGauge {
	v := h.vecs
	v.mu.Lock()
	defer v.mu.Unlock()
	labels := v.labelsFor(name, h.tags)
	vec, ok := v.gauges[name]
	if !ok {
		vec = h.register(prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: promName(name), Help: "Temporal SDK metric " + name + "."}, labels)).(*prometheus.GaugeVec)
		v.gauges[name] = vec
	}
	g := vec.WithLabelValues(values(labels, h.tags)...)
	return gaugeFunc(g.Set)
}

// Timer returns a histogram of durations named name.
func (h *SDKHandler) Timer(name string) client.MetricsTimer {
	v := h.vecs
	v.mu.Lock()
	defer v.mu.Unlock()
	labels := v.labelsFor(name, h.tags)
	vec, ok := v.timers[name]
	if !ok {
		vec = h.register(prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: promName(name) + "_seconds", Help: "Temporal SDK metric " + name + ".",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, labels)).(*prometheus.HistogramVec)
		v.timers[name] = vec
	}
	o := vec.WithLabelValues(values(labels, h.tags)...)
	return timerFunc(func(d time.Duration) { o.Observe(d.Seconds()) })
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }
