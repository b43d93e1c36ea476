package host

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the host's counters; a nil *metrics records nothing. Labels
// name the site, role, plugin and method: never a child or a key.
type metrics struct {
	calls    *prometheus.CounterVec
	errors   *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	restarts *prometheus.CounterVec
}

// Error kinds of khula_plugin_errors_total.
const (
	kindPermanent   = "permanent"
	kindUnsupported = "unsupported"
	kindTimeout     = "timeout"
	kindCrash       = "crash"
	kindStart       = "start"
	kindCanceled    = "canceled"
	kindTransient   = "transient"
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	labels := []string{"site", "role", "plugin", "method"}
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "khula", Subsystem: "plugin", Name: "calls_total",
			Help: "Calls from the host to site plugins.",
		}, labels),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "khula", Subsystem: "plugin", Name: "errors_total",
			Help: "Failed plugin calls, by kind: permanent, unsupported, timeout, crash, start, canceled, transient.",
		}, append(labels, "kind")),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "khula", Subsystem: "plugin", Name: "call_duration_seconds",
			Help:    "Duration of plugin calls, including a (re)start of the plugin process.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, labels),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "khula", Subsystem: "plugin", Name: "restarts_total",
			Help: "Plugin processes started again after one exited, crashed or stopped answering.",
		}, []string{"site", "role", "plugin"}),
	}
	var err error
	m.calls, err = register(reg, m.calls)
	if err != nil {
		return nil, err
	}
	if m.errors, err = register(reg, m.errors); err != nil {
		return nil, err
	}
	if m.latency, err = register(reg, m.latency); err != nil {
		return nil, err
	}
	if m.restarts, err = register(reg, m.restarts); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// its name (a second host on the same registry shares the counters).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

func (m *metrics) call(site, role, plugin, method string, d time.Duration, errKind string) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(site, role, plugin, method).Inc()
	m.latency.WithLabelValues(site, role, plugin, method).Observe(d.Seconds())
	if errKind != "" {
		m.errors.WithLabelValues(site, role, plugin, method, errKind).Inc()
	}
}

func (m *metrics) restart(site, role, plugin string) {
	if m == nil {
		return
	}
	m.restarts.WithLabelValues(site, role, plugin).Inc()
}
