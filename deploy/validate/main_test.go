package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// release is a minimal release that passes every check; each case below
// breaks one thing in it.
const release = `---
# Source: khula/templates/secrets.yaml
apiVersion: v1
kind: Secret
metadata:
  name: k-db
type: Opaque
stringData:
  dsn: "postgres://k:p@db/k"
---
# Source: khula/templates/configmap-sites.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: k-site-a
  labels:
    app.kubernetes.io/name: khula
data:
  site.yaml: |
    id: a
---
apiVersion: v1
kind: Service
metadata:
  name: k-api
  labels:
    app.kubernetes.io/name: khula
spec:
  selector:
    app.kubernetes.io/name: khula
    app.kubernetes.io/component: api
  ports:
    - name: http
      port: 8080
      targetPort: http
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: k-api
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: khula
      app.kubernetes.io/component: api
  template:
    metadata:
      labels:
        app.kubernetes.io/name: khula
        app.kubernetes.io/component: api
    spec:
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        seccompProfile: {type: RuntimeDefault}
      containers:
        - name: api
          image: ghcr.io/khula-cop/khula:1.0.0
          args: [serve]
          env:
            - name: KHULA_DB_FILE
              value: /etc/khula/db/dsn
          ports:
            - name: http
              containerPort: 8080
          readinessProbe:
            httpGet: {path: /readyz, port: http}
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {memory: 512Mi}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
            - {name: db, mountPath: /etc/khula/db, readOnly: true}
            - {name: site, mountPath: /etc/khula/sites/a, readOnly: true}
      volumes:
        - name: tmp
          emptyDir: {}
        - name: db
          secret:
            secretName: k-db
            defaultMode: 0440
            items: [{key: dsn, path: dsn}]
        - name: site
          configMap: {name: k-site-a}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: k
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: khula
  endpoints:
    - port: http
      path: /metrics
      interval: 30s
      scrapeTimeout: 10s
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: k
spec:
  groups:
    - name: khula
      rules:
        - alert: KhulaStateUnreadable
          expr: khula_state_up == 0
          for: 5m
          labels: {severity: critical}
          annotations: {summary: s, description: d}
`

func TestValidRelease(t *testing.T) {
	set, errs := Validate([]byte(release))
	for _, e := range errs {
		t.Error(e)
	}
	if got := len(set.Objects); got != 6 {
		t.Errorf("decoded %d objects, want 6", got)
	}
	if set.Count()["Deployment"] != 1 || len(set.PrometheusRules) != 1 {
		t.Errorf("counts: %v", set.Count())
	}
}

func TestValidateRejects(t *testing.T) {
	cases := []struct {
		name, old, new, want string
	}{
		{"unknown field", "  replicas: 2\n", "  replicas: 2\n  replica: 2\n", `unknown field "spec.replica"`},
		{"misplaced field", "          args: [serve]\n", "          args: [serve]\n          replicas: 1\n", `unknown field "spec.template.spec.containers[0].replicas"`},
		{"wrong type", "  replicas: 2\n", "  replicas: \"2\"\n", "cannot unmarshal string"},
		{"wrong case", "  replicas: 2\n", "  Replicas: 2\n", `unknown field "spec.Replicas"`},
		{"duplicate key", "  replicas: 2\n", "  replicas: 2\n  replicas: 3\n", `key "replicas" already set`},
		{"selector does not match the template", "      app.kubernetes.io/component: api\n  template:", "      app.kubernetes.io/component: worker\n  template:", "does not match the pod template"},
		{"service selects nothing", "    app.kubernetes.io/component: api\n  ports:", "    app.kubernetes.io/component: apl\n  ports:", "selects no Deployment's or StatefulSet's pods"},
		{"service target port missing", "      targetPort: http", "      targetPort: web", "targetPort web is not a port"},
		{"probe on an undeclared port", "port: http}", "port: metrics}", `readinessProbe.httpGet.port "metrics" is not a named port`},
		{"mount of an undeclared volume", "{name: site, mountPath", "{name: sites, mountPath", `names volume "sites"`},
		{"secret key that is not there", "items: [{key: dsn, path: dsn}]", "items: [{key: url, path: dsn}]", `Secret k-db has no key "url"`},
		{"writable root file system", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem must be true"},
		{"capabilities kept", "capabilities: {drop: [ALL]}", "capabilities: {drop: [NET_RAW]}", "capabilities.drop must include ALL"},
		{"root", "runAsNonRoot: true\n        runAsUser: 65532", "runAsNonRoot: false\n        runAsUser: 0", "runAsNonRoot must be true"},
		{"no seccomp", "        seccompProfile: {type: RuntimeDefault}\n", "", "seccompProfile must be RuntimeDefault"},
		{"no memory limit", "limits: {memory: 512Mi}", "limits: {cpu: '1'}", "resources.limits must set memory"},
		{"no /tmp", "{name: tmp, mountPath: /tmp}", "{name: tmp, mountPath: /scratch}", "/tmp must be an emptyDir"},
		{"service account token", "automountServiceAccountToken: false", "automountServiceAccountToken: true", "automountServiceAccountToken must be false"},
		{"bad label value", "    app.kubernetes.io/name: khula\ndata:", "    app.kubernetes.io/name: \"khula site\"\ndata:", "metadata.labels"},
		{"bad configmap key", "  site.yaml: |", "  a/site.yaml: |", `data key "a/site.yaml"`},
		{"bad name", "  name: k-site-a", "  name: K_Site", `metadata.name "K_Site"`},
		{"unknown kind", "apiVersion: v1\nkind: Secret", "apiVersion: v1\nkind: Pod", "kind v1 Pod is not one this validator knows"},
		{"old api version", "apiVersion: apps/v1\nkind: Deployment", "apiVersion: extensions/v1beta1\nkind: Deployment", "is not one this validator knows"},
		{"servicemonitor unknown field", "      path: /metrics\n", "      path: /metrics\n      metricsPath: /metrics\n", `unknown field "spec.endpoints[0].metricsPath"`},
		{"servicemonitor port not in service", "    - port: http\n", "    - port: metrics\n", `port "metrics" is a port of none`},
		{"servicemonitor timeout over interval", "scrapeTimeout: 10s", "scrapeTimeout: 1m", "longer than interval"},
		{"rule with alert and record", "        - alert: KhulaStateUnreadable\n", "        - alert: KhulaStateUnreadable\n          record: khula:x\n", "exactly one of alert and record"},
		{"rule bad for", "          for: 5m\n", "          for: 5 minutes\n", "not a Prometheus duration"},
		{"rule without severity", "labels: {severity: critical}", "labels: {team: ops}", "severity label"},
		{"rule unknown field", "          for: 5m\n", "          for: 5m\n          keep_firing: 1m\n", `unknown field "spec.groups[0].rules[0].keep_firing"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(release, tc.old) {
				t.Fatalf("the base release has no %q", tc.old)
			}
			doc := strings.Replace(release, tc.old, tc.new, 1)
			_, errs := Validate([]byte(doc))
			var all []string
			for _, e := range errs {
				all = append(all, e.Error())
			}
			if !strings.Contains(strings.Join(all, "\n"), tc.want) {
				t.Errorf("want an error containing %q, got:\n%s", tc.want, strings.Join(all, "\n"))
			}
		})
	}
}

func TestUnknownMetrics(t *testing.T) {
	known := map[string]bool{"khula_cycles": true, "temporal_sdk_request_failure_total": true}
	cases := map[string][]string{
		`max by (site) (khula_cycles{stage!="closed"})`:                                nil,
		`khula_cycle{site="khula_x"}`:                                                  {"khula_cycle"},
		`rate({__name__=~"temporal_sdk_(long_)?request_failure_total"}[5m])`:           nil,
		`rate({__name__=~"temporal_sdk_long_request_failures_total"}[5m])`:             {`__name__=~temporal_sdk_long_request_failures_total`},
		`label_replace(up, "site", "$1", "task_queue", "khula-(.+)") and khula_cycles`: nil,
	}
	for expr, want := range cases {
		got := unknownMetrics(expr, known)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("unknownMetrics(%s) = %v, want %v", expr, got, want)
		}
	}
}

func TestDashboardChecks(t *testing.T) {
	good := `{"uid": "u", "title": "t", "schemaVersion": 39,
	  "templating": {"list": [{"name": "datasource", "type": "datasource"}, {"name": "site", "type": "query"}]},
	  "panels": [
	    {"id": 1, "type": "row", "title": "r", "gridPos": {"h": 1, "w": 24, "x": 0, "y": 0}, "panels": []},
	    {"id": 2, "type": "timeseries", "title": "a", "datasource": {"type": "prometheus", "uid": "${datasource}"},
	     "gridPos": {"h": 8, "w": 12, "x": 0, "y": 1},
	     "targets": [{"refId": "A", "expr": "sum(rate(khula_http_requests_total{site=~\"$site\"}[$__rate_interval]))"}]}]}`
	known := map[string]bool{"khula_http_requests_total": true}
	d, errs := CheckDashboard([]byte(good), known)
	if len(errs) > 0 || d.Panels != 2 || len(d.Queries) != 1 {
		t.Fatalf("good dashboard: %v, %+v", errs, d)
	}
	rules := d.AsRuleGroups()
	if got := rules[0].Rules[0].Expr.String(); got != `sum(rate(khula_http_requests_total{site=~".*"}[5m]))` {
		t.Errorf("query as a rule: %s", got)
	}
	for name, c := range map[string]struct{ old, new, want string }{
		"overlap":           {`"x": 0, "y": 1}`, `"x": 0, "y": 0}`, "overlaps panel 1"},
		"too wide":          {`"w": 12, "x": 0`, `"w": 12, "x": 16`, "does not fit"},
		"fixed datasource":  {`"uid": "${datasource}"`, `"uid": "P1809F7CD0C75ACF3"`, "datasource must be the ${datasource} variable"},
		"undefined var":     {`$site`, `$school`, "variable $school is not defined"},
		"unknown metric":    {`khula_http_requests_total{`, `khula_http_request_total{`, "khula_http_request_total"},
		"duplicate id":      {`"id": 2`, `"id": 1`, "unique"},
		"not json":          {`"panels": [`, `"panels": [,`, "not JSON"},
		"old schema":        {`"schemaVersion": 39`, `"schemaVersion": 16`, "schemaVersion 16"},
		"no datasource var": {`{"name": "datasource", "type": "datasource"}, `, ``, "no data source variable"},
	} {
		_, errs := CheckDashboard([]byte(strings.Replace(good, c.old, c.new, 1)), known)
		var all []string
		for _, e := range errs {
			all = append(all, e.Error())
		}
		if !strings.Contains(strings.Join(all, "\n"), c.want) {
			t.Errorf("%s: want %q, got %v", name, c.want, all)
		}
	}
}

// The shipped rules and dashboard name only metrics khula exports, and
// their checks pass (promtool parses them in .ci/deploy-checks).
func TestShippedRulesAndDashboard(t *testing.T) {
	root := filepath.Join("..", "..")
	known, err := knownMetrics(filepath.Join(root, "deploy", "prometheus", "testdata", "metrics.txt"))
	if err != nil {
		t.Fatal(err)
	}
	groups, err := readRuleFile(filepath.Join(root, "deploy", "prometheus", "khula-rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range append(checkRuleGroups(groups), checkRuleMetrics(groups, known)...) {
		t.Error(e)
	}
	data, err := os.ReadFile(filepath.Join(root, "deploy", "grafana", "khula-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	d, errs := CheckDashboard(data, known)
	for _, e := range errs {
		t.Error(e)
	}
	if d != nil && len(d.Queries) < 20 {
		t.Errorf("the dashboard has %d queries", len(d.Queries))
	}
}

func TestRunUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "usage") {
		t.Errorf("run() = %d, %q", code, errOut.String())
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(release, "  replicas: 2\n", "  replicas: two\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errOut.Reset()
	if code := run([]string{"-out", filepath.Join(dir, "out"), bad}, &out, &errOut); code != 1 {
		t.Errorf("run(bad) = %d, want 1; stderr %s", code, errOut.String())
	}
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(release), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errOut.Reset()
	if code := run([]string{"-out", filepath.Join(dir, "out"), good}, &out, &errOut); code != 0 {
		t.Errorf("run(good) = %d; stderr %s", code, errOut.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "prometheusrule-good-k.yaml")); err != nil {
		t.Errorf("the PrometheusRule's groups were not written: %v (stdout %s)", err, out.String())
	}
}

// statefulSet is a site worker: a StatefulSet of one pod governed by a
// headless Service, mounting its volume claim template.
const statefulSet = `---
apiVersion: v1
kind: Service
metadata: {name: k-worker}
spec:
  clusterIP: None
  selector: {app.kubernetes.io/component: worker}
  ports: [{name: metrics, port: 9090, targetPort: metrics}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: k-worker-a}
spec:
  replicas: 1
  serviceName: k-worker
  selector:
    matchLabels: {app.kubernetes.io/component: worker, khula.io/site: a}
  template:
    metadata:
      labels: {app.kubernetes.io/component: worker, khula.io/site: a}
    spec:
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: worker
          image: khula:1
          ports: [{name: metrics, containerPort: 9090}]
          resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 1Gi}}
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
            - {name: plugin-state, mountPath: /var/lib/khula/plugins}
      volumes:
        - {name: tmp, emptyDir: {}}
  volumeClaimTemplates:
    - metadata: {name: plugin-state}
      spec:
        accessModes: [ReadWriteOnce]
        resources: {requests: {storage: 1Gi}}
`

func TestStatefulSet(t *testing.T) {
	if _, errs := Validate([]byte(statefulSet)); len(errs) > 0 {
		t.Fatalf("valid StatefulSet: %v", errs)
	}
	for name, c := range map[string]struct{ old, new, want string }{
		"no governing service":  {"serviceName: k-worker", "serviceName: k-workers", `spec.serviceName "k-workers" is not a Service`},
		"not headless":          {"clusterIP: None", "type: ClusterIP", "must be a headless Service"},
		"claim without storage": {"resources: {requests: {storage: 1Gi}}", "resources: {}", "requests.storage is not set"},
		"mount of no claim":     {"{name: plugin-state, mountPath", "{name: state, mountPath", `names volume "state"`},
		"claim unknown field":   {"accessModes: [ReadWriteOnce]", "accessMode: [ReadWriteOnce]", `unknown field "spec.volumeClaimTemplates[0].spec.accessMode"`},
	} {
		_, errs := Validate([]byte(strings.Replace(statefulSet, c.old, c.new, 1)))
		var all []string
		for _, e := range errs {
			all = append(all, e.Error())
		}
		if !strings.Contains(strings.Join(all, "\n"), c.want) {
			t.Errorf("%s: want %q, got %v", name, c.want, all)
		}
	}
}
