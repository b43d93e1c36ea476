package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// ServiceMonitor mirrors monitoring.coreos.com/v1 ServiceMonitor (the
// Prometheus Operator's API), field names and types as its CRD gives them,
// so that strict decoding rejects a misspelt or misplaced field. Sub-objects
// khula does not use (TLS, authentication) are accepted as they come.
type ServiceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ServiceMonitorSpec `json:"spec"`
}

// ServiceMonitorSpec is the ServiceMonitor's spec.
type ServiceMonitorSpec struct {
	JobLabel                       string               `json:"jobLabel,omitempty"`
	TargetLabels                   []string             `json:"targetLabels,omitempty"`
	PodTargetLabels                []string             `json:"podTargetLabels,omitempty"`
	Endpoints                      []Endpoint           `json:"endpoints"`
	Selector                       metav1.LabelSelector `json:"selector"`
	SelectorMechanism              string               `json:"selectorMechanism,omitempty"`
	NamespaceSelector              NamespaceSelector    `json:"namespaceSelector,omitempty"`
	SampleLimit                    *uint64              `json:"sampleLimit,omitempty"`
	TargetLimit                    *uint64              `json:"targetLimit,omitempty"`
	ScrapeProtocols                []string             `json:"scrapeProtocols,omitempty"`
	FallbackScrapeProtocol         string               `json:"fallbackScrapeProtocol,omitempty"`
	LabelLimit                     *uint64              `json:"labelLimit,omitempty"`
	LabelNameLengthLimit           *uint64              `json:"labelNameLengthLimit,omitempty"`
	LabelValueLengthLimit          *uint64              `json:"labelValueLengthLimit,omitempty"`
	ScrapeClassicHistograms        *bool                `json:"scrapeClassicHistograms,omitempty"`
	NativeHistogramBucketLimit     *uint64              `json:"nativeHistogramBucketLimit,omitempty"`
	NativeHistogramMinBucketFactor string               `json:"nativeHistogramMinBucketFactor,omitempty"`
	ConvertClassicHistogramsToNHCB *bool                `json:"convertClassicHistogramsToNHCB,omitempty"`
	KeepDroppedTargets             *uint64              `json:"keepDroppedTargets,omitempty"`
	AttachMetadata                 *struct {
		Node *bool `json:"node,omitempty"`
	} `json:"attachMetadata,omitempty"`
	ScrapeClass          string `json:"scrapeClass,omitempty"`
	BodySizeLimit        string `json:"bodySizeLimit,omitempty"`
	ServiceDiscoveryRole string `json:"serviceDiscoveryRole,omitempty"`
}

// NamespaceSelector picks the namespaces whose Services are selected.
type NamespaceSelector struct {
	Any        bool     `json:"any,omitempty"`
	MatchNames []string `json:"matchNames,omitempty"`
}

// Endpoint is one scrape endpoint of a ServiceMonitor.
type Endpoint struct {
	Port                     string              `json:"port,omitempty"`
	TargetPort               *intstr.IntOrString `json:"targetPort,omitempty"`
	Path                     string              `json:"path,omitempty"`
	Scheme                   string              `json:"scheme,omitempty"`
	Params                   map[string][]string `json:"params,omitempty"`
	Interval                 string              `json:"interval,omitempty"`
	ScrapeTimeout            string              `json:"scrapeTimeout,omitempty"`
	TLSConfig                map[string]any      `json:"tlsConfig,omitempty"`
	BearerTokenFile          string              `json:"bearerTokenFile,omitempty"`
	BearerTokenSecret        map[string]any      `json:"bearerTokenSecret,omitempty"`
	Authorization            map[string]any      `json:"authorization,omitempty"`
	HonorLabels              bool                `json:"honorLabels,omitempty"`
	HonorTimestamps          *bool               `json:"honorTimestamps,omitempty"`
	TrackTimestampsStaleness *bool               `json:"trackTimestampsStaleness,omitempty"`
	BasicAuth                map[string]any      `json:"basicAuth,omitempty"`
	OAuth2                   map[string]any      `json:"oauth2,omitempty"`
	MetricRelabelConfigs     []RelabelConfig     `json:"metricRelabelings,omitempty"`
	RelabelConfigs           []RelabelConfig     `json:"relabelings,omitempty"`
	ProxyURL                 *string             `json:"proxyUrl,omitempty"`
	NoProxy                  *string             `json:"noProxy,omitempty"`
	ProxyFromEnvironment     *bool               `json:"proxyFromEnvironment,omitempty"`
	ProxyConnectHeader       map[string][]any    `json:"proxyConnectHeader,omitempty"`
	FollowRedirects          *bool               `json:"followRedirects,omitempty"`
	EnableHTTP2              *bool               `json:"enableHttp2,omitempty"`
	FilterRunning            *bool               `json:"filterRunning,omitempty"`
}

// RelabelConfig is a Prometheus relabelling step.
type RelabelConfig struct {
	SourceLabels []string `json:"sourceLabels,omitempty"`
	Separator    *string  `json:"separator,omitempty"`
	TargetLabel  string   `json:"targetLabel,omitempty"`
	Regex        string   `json:"regex,omitempty"`
	Modulus      uint64   `json:"modulus,omitempty"`
	Replacement  *string  `json:"replacement,omitempty"`
	Action       string   `json:"action,omitempty"`
}

// PrometheusRule mirrors monitoring.coreos.com/v1 PrometheusRule.
type PrometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Groups []RuleGroup `json:"groups"`
	} `json:"spec"`
}

// RuleGroup is a rule group, as in a Prometheus rule file and a PrometheusRule.
type RuleGroup struct {
	Name                    string            `json:"name"`
	Labels                  map[string]string `json:"labels,omitempty"`
	Interval                string            `json:"interval,omitempty"`
	QueryOffset             string            `json:"query_offset,omitempty"`
	Rules                   []Rule            `json:"rules"`
	PartialResponseStrategy string            `json:"partial_response_strategy,omitempty"`
	Limit                   *int              `json:"limit,omitempty"`
}

// Rule is an alerting or recording rule.
type Rule struct {
	Record        string             `json:"record,omitempty"`
	Alert         string             `json:"alert,omitempty"`
	Expr          intstr.IntOrString `json:"expr"`
	For           string             `json:"for,omitempty"`
	KeepFiringFor string             `json:"keep_firing_for,omitempty"`
	Labels        map[string]string  `json:"labels,omitempty"`
	Annotations   map[string]string  `json:"annotations,omitempty"`
}

var (
	promDuration  = regexp.MustCompile(`^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$`)
	promLabelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	promMetric    = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	relabelAction = map[string]bool{"": true, "replace": true, "keep": true, "drop": true, "hashmod": true, "labelmap": true, "labeldrop": true, "labelkeep": true, "lowercase": true, "uppercase": true, "keepequal": true, "dropequal": true,
		"Replace": true, "Keep": true, "Drop": true, "HashMod": true, "LabelMap": true, "LabelDrop": true, "LabelKeep": true, "Lowercase": true, "Uppercase": true, "KeepEqual": true, "DropEqual": true}
)

// parseDuration returns a Prometheus duration in milliseconds.
func parseDuration(s string) (int64, error) {
	if s == "" || s == "0" {
		return 0, fmt.Errorf("duration %q is empty", s)
	}
	m := promDuration.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not a Prometheus duration (e.g. 30s, 5m, 1h30m)", s)
	}
	units := []int64{365 * 24 * 3600e3, 7 * 24 * 3600e3, 24 * 3600e3, 3600e3, 60e3, 1e3, 1}
	var ms int64
	for i, u := range units {
		if v := m[2+2*i]; v != "" {
			var n int64
			fmt.Sscan(v, &n)
			ms += n * u
		}
	}
	return ms, nil
}

func (s *Set) checkServiceMonitor(sm *ServiceMonitor) []error {
	var errs []error
	where := "ServiceMonitor " + sm.Name
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
	}
	if len(sm.Spec.Endpoints) == 0 {
		add("spec.endpoints is empty")
	}
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		add("spec.selector: %v", err)
		return errs
	}
	if sel.Empty() {
		add("spec.selector is empty: it would select every Service in the namespace")
	}
	var matched []string
	ports := map[string]bool{}
	for _, svc := range s.Services {
		if sel.Matches(labels.Set(svc.Labels)) {
			matched = append(matched, svc.Name)
			for _, p := range svc.Spec.Ports {
				ports[p.Name] = true
			}
		}
	}
	if len(matched) == 0 {
		add("spec.selector %s selects none of the release's Services", sel)
	}
	for i, ep := range sm.Spec.Endpoints {
		at := fmt.Sprintf("spec.endpoints[%d]", i)
		if ep.Port == "" && ep.TargetPort == nil {
			add("%s: set port (a Service port name)", at)
		}
		if ep.Port != "" && !ports[ep.Port] {
			add("%s.port %q is a port of none of the selected Services %v", at, ep.Port, matched)
		}
		if ep.Path != "" && !strings.HasPrefix(ep.Path, "/") {
			add("%s.path %q must start with /", at, ep.Path)
		}
		if ep.Scheme != "" && ep.Scheme != "http" && ep.Scheme != "https" && ep.Scheme != "HTTP" && ep.Scheme != "HTTPS" {
			add("%s.scheme %q is not http or https", at, ep.Scheme)
		}
		var interval, timeout int64
		if ep.Interval != "" {
			if interval, err = parseDuration(ep.Interval); err != nil {
				add("%s.interval: %v", at, err)
			}
		}
		if ep.ScrapeTimeout != "" {
			if timeout, err = parseDuration(ep.ScrapeTimeout); err != nil {
				add("%s.scrapeTimeout: %v", at, err)
			}
		}
		if interval > 0 && timeout > interval {
			add("%s: scrapeTimeout %s is longer than interval %s", at, ep.ScrapeTimeout, ep.Interval)
		}
		for k, rc := range append(append([]RelabelConfig{}, ep.RelabelConfigs...), ep.MetricRelabelConfigs...) {
			rat := fmt.Sprintf("%s relabelling %d", at, k)
			if !relabelAction[rc.Action] {
				add("%s: action %q is not a relabel action", rat, rc.Action)
			}
			if rc.Regex != "" {
				if _, err := regexp.Compile("^(?:" + rc.Regex + ")$"); err != nil {
					add("%s: regex: %v", rat, err)
				}
			}
			if (rc.Action == "" || strings.EqualFold(rc.Action, "replace")) && rc.TargetLabel == "" {
				add("%s: replace needs targetLabel", rat)
			}
			if rc.TargetLabel != "" && !strings.Contains(rc.TargetLabel, "$") && !promLabelName.MatchString(rc.TargetLabel) {
				add("%s: targetLabel %q is not a label name", rat, rc.TargetLabel)
			}
		}
	}
	return errs
}

// checkRuleGroups checks rule groups the way Prometheus loads them, plus
// khula's conventions for alerts (a severity, a summary and a description).
func checkRuleGroups(groups []RuleGroup) []error {
	var errs []error
	if len(groups) == 0 {
		errs = append(errs, errors.New("no rule groups"))
	}
	names := map[string]bool{}
	for _, g := range groups {
		gw := fmt.Sprintf("group %q", g.Name)
		if g.Name == "" {
			errs = append(errs, errors.New("a rule group has no name"))
		}
		if names[g.Name] {
			errs = append(errs, fmt.Errorf("%s: the group name is used twice", gw))
		}
		names[g.Name] = true
		if g.Interval != "" {
			if _, err := parseDuration(g.Interval); err != nil {
				errs = append(errs, fmt.Errorf("%s: interval: %w", gw, err))
			}
		}
		if len(g.Rules) == 0 {
			errs = append(errs, fmt.Errorf("%s: no rules", gw))
		}
		for i, r := range g.Rules {
			rw := fmt.Sprintf("%s rule %d", gw, i)
			if r.Alert != "" {
				rw = fmt.Sprintf("%s alert %s", gw, r.Alert)
			} else if r.Record != "" {
				rw = fmt.Sprintf("%s record %s", gw, r.Record)
			}
			add := func(format string, args ...any) {
				errs = append(errs, fmt.Errorf("%s: %s", rw, fmt.Sprintf(format, args...)))
			}
			if (r.Alert == "") == (r.Record == "") {
				add("a rule needs exactly one of alert and record")
			}
			if r.Record != "" && !promMetric.MatchString(r.Record) {
				add("record %q is not a metric name", r.Record)
			}
			if strings.TrimSpace(r.Expr.String()) == "" {
				add("expr is empty")
			}
			if r.For != "" {
				if r.Record != "" {
					add("for applies to alerts only")
				}
				if _, err := parseDuration(r.For); err != nil {
					add("for: %v", err)
				}
			}
			if r.KeepFiringFor != "" {
				if _, err := parseDuration(r.KeepFiringFor); err != nil {
					add("keep_firing_for: %v", err)
				}
			}
			for k := range r.Labels {
				if !promLabelName.MatchString(k) {
					add("label name %q is not valid", k)
				}
			}
			for k := range r.Annotations {
				if !promLabelName.MatchString(k) {
					add("annotation name %q is not valid", k)
				}
			}
			if r.Alert != "" {
				if r.Labels["severity"] == "" {
					add("khula's alerts carry a severity label")
				}
				if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
					add("khula's alerts carry summary and description annotations")
				}
			}
		}
	}
	return errs
}

type ruleFile struct {
	Groups []RuleGroup `json:"groups"`
}

func readRuleFile(path string) ([]RuleGroup, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f ruleFile
	if err := decodeStrict(data, &f); err != nil {
		return nil, err
	}
	return f.Groups, nil
}

func writeRuleFile(path string, groups []RuleGroup) error {
	data, err := yaml.Marshal(ruleFile{Groups: groups})
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// Metrics khula exports that a /metrics sample need not show: the state
// gauges only have series once the database holds such rows
// (internal/metrics), the plugin host's metrics only once a site has a
// plugin (plugins/host/metrics.go), and the Temporal SDK creates its failure
// counters at the first failure.
var otherKnownMetrics = []string{
	"khula_cycles", "khula_domain_risk", "khula_plans_awaiting", "khula_referrals",
	"khula_meetings_awaiting_minutes", "khula_cycles_stalled", "khula_state_up",
	"khula_plugin_calls_total", "khula_plugin_errors_total", "khula_plugin_restarts_total",
	"khula_plugin_call_duration_seconds_bucket", "khula_plugin_call_duration_seconds_sum", "khula_plugin_call_duration_seconds_count",
	"temporal_sdk_request_failure_total", "temporal_sdk_long_request_failure_total",
	"temporal_sdk_workflow_task_queue_poll_empty_total", "temporal_sdk_workflow_task_execution_failed_total",
	"temporal_sdk_activity_execution_failed_total", "temporal_sdk_request_resource_exhausted_total",
}

// knownMetrics reads the metric names of a Prometheus text exposition,
// adding the series names of its histograms and summaries and otherKnownMetrics.
func knownMetrics(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	known := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			fields := strings.Fields(rest)
			if len(fields) == 2 {
				known[fields[0]] = true
				if fields[1] == "histogram" || fields[1] == "summary" {
					for _, suffix := range []string{"_bucket", "_sum", "_count"} {
						known[fields[0]+suffix] = true
					}
				}
			}
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := line
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name = line[:i]
		}
		known[name] = true
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(known) == 0 {
		return nil, fmt.Errorf("%s holds no metrics", path)
	}
	for _, m := range otherKnownMetrics {
		known[m] = true
	}
	return known, nil
}

var (
	quoted      = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	nameMatcher = regexp.MustCompile(`__name__\s*=~\s*"((?:[^"\\]|\\.)*)"`)
	metricToken = regexp.MustCompile(`\b(?:khula|temporal_sdk)_[a-zA-Z0-9_]*`)
)

// unknownMetrics lists the khula_ and temporal_sdk_ metric names an
// expression uses that are not in known (label values are skipped; a
// __name__ regular expression must match at least one known name).
func unknownMetrics(expr string, known map[string]bool) []string {
	var out []string
	for _, m := range nameMatcher.FindAllStringSubmatch(expr, -1) {
		re, err := regexp.Compile("^(?:" + m[1] + ")$")
		if err != nil {
			out = append(out, "__name__=~"+m[1]+" (invalid)")
			continue
		}
		if !strings.Contains(m[1], "khula_") && !strings.Contains(m[1], "temporal_sdk_") {
			continue
		}
		hit := false
		for k := range known {
			if re.MatchString(k) {
				hit = true
				break
			}
		}
		if !hit {
			out = append(out, "__name__=~"+m[1])
		}
	}
	bare := quoted.ReplaceAllString(expr, `""`)
	for _, tok := range metricToken.FindAllString(bare, -1) {
		if !known[tok] {
			out = append(out, tok)
		}
	}
	sort.Strings(out)
	return out
}

func checkRuleMetrics(groups []RuleGroup, known map[string]bool) []error {
	var errs []error
	for _, g := range groups {
		for _, r := range g.Rules {
			name := r.Alert + r.Record
			if bad := unknownMetrics(r.Expr.String(), known); len(bad) > 0 {
				errs = append(errs, fmt.Errorf("group %q rule %s: metrics khula does not export: %s", g.Name, name, strings.Join(bad, ", ")))
			}
		}
	}
	return errs
}
