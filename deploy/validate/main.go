// Command validate checks Kubernetes manifests rendered by `helm template`
// (and khula's alert rules and Grafana dashboard) without a cluster and
// without downloading schemas.
//
// Every object is decoded strictly into its Go type from k8s.io/api (unknown
// fields, duplicate fields and wrong types are errors), then checked the way
// the API server and the kubelet would check the parts that matter here:
// names, labels, selectors that match their pods, ports and volumes that
// exist, probes on declared ports, Services and Ingresses pointing at real
// ports, and khula's own policy (non-root, read-only root file system, no
// capabilities, seccomp, resources). ServiceMonitor and PrometheusRule are
// decoded strictly into local mirrors of the Prometheus Operator's types.
//
//	go run ./deploy/validate [-out DIR] [-sites DIR] [-metrics FILE] [-dashboard FILE] [-rules FILE] MANIFEST...
//
// With -sites, every site ConfigMap (label khula.io/site) must hold exactly
// the files of that site's folder, byte for byte: the chart's copy of a site
// never drifts from the repository's.
//
// With -out, the rule groups of every PrometheusRule are written to
// DIR/prometheusrule-<file>-<name>.yaml and the dashboard's queries to
// DIR/dashboard-queries.yaml (as recording rules) for `promtool check rules`,
// which parses every expression. With -metrics (a /metrics sample), every
// khula_ and temporal_sdk_ metric named in rules and dashboard queries must be
// one khula exports.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "directory for the extracted rule files (PrometheusRule groups, dashboard queries)")
	metricsFile := fs.String("metrics", "", "a /metrics sample: metric names in rules and dashboards must be among its names or khula's other known metrics")
	dashboard := fs.String("dashboard", "", "a Grafana dashboard JSON file to check")
	rules := fs.String("rules", "", "a plain Prometheus rule file whose metric names to check")
	sitesDir := fs.String("sites", "", "the repository's sites/ folder: each site ConfigMap must hold exactly its site's files")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 && *dashboard == "" && *rules == "" {
		fmt.Fprintln(stderr, "usage: validate [-out DIR] [-sites DIR] [-metrics FILE] [-dashboard FILE] [-rules FILE] MANIFEST...")
		return 2
	}
	var known map[string]bool
	if *metricsFile != "" {
		var err error
		if known, err = knownMetrics(*metricsFile); err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
	}
	failed := false
	report := func(what string, errs []error) {
		for _, e := range errs {
			fmt.Fprintf(stderr, "%s: %v\n", what, e)
		}
		if len(errs) > 0 {
			failed = true
		}
	}
	for _, path := range fs.Args() {
		data, err := os.ReadFile(path)
		if err != nil {
			report(path, []error{err})
			continue
		}
		set, errs := Validate(data)
		if set != nil && *sitesDir != "" {
			errs = append(errs, checkSiteConfigMaps(set, *sitesDir)...)
		}
		report(path, errs)
		if set == nil {
			continue
		}
		var kinds []string
		for k, n := range set.Count() {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		}
		sort.Strings(kinds)
		status := "ok"
		if len(errs) > 0 {
			status = fmt.Sprintf("%d problem(s)", len(errs))
		}
		fmt.Fprintf(stdout, "%s: %d objects (%s): %s\n", path, len(set.Objects), strings.Join(kinds, ", "), status)
		for _, pr := range set.PrometheusRules {
			if known != nil {
				report(path+": PrometheusRule "+pr.Name, checkRuleMetrics(pr.Spec.Groups, known))
			}
			if *out != "" {
				base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
				file := filepath.Join(*out, fmt.Sprintf("prometheusrule-%s-%s.yaml", base, pr.Name))
				if err := writeRuleFile(file, pr.Spec.Groups); err != nil {
					report(path, []error{err})
				} else {
					fmt.Fprintf(stdout, "  rule groups of PrometheusRule %s written to %s\n", pr.Name, file)
				}
			}
		}
	}
	if *rules != "" {
		groups, err := readRuleFile(*rules)
		if err != nil {
			report(*rules, []error{err})
		} else {
			errs := checkRuleGroups(groups)
			if known != nil {
				errs = append(errs, checkRuleMetrics(groups, known)...)
			}
			report(*rules, errs)
			if len(errs) == 0 {
				fmt.Fprintf(stdout, "%s: %d rule group(s): ok\n", *rules, len(groups))
			}
		}
	}
	if *dashboard != "" {
		data, err := os.ReadFile(*dashboard)
		if err != nil {
			report(*dashboard, []error{err})
		} else {
			d, errs := CheckDashboard(data, known)
			report(*dashboard, errs)
			if d != nil {
				fmt.Fprintf(stdout, "%s: %d panels, %d queries: %s\n", *dashboard, d.Panels, len(d.Queries), map[bool]string{true: "ok", false: "problems"}[len(errs) == 0])
				if *out != "" {
					file := filepath.Join(*out, "dashboard-queries.yaml")
					if err := writeRuleFile(file, d.AsRuleGroups()); err != nil {
						report(*dashboard, []error{err})
					} else {
						fmt.Fprintf(stdout, "  queries written as recording rules to %s\n", file)
					}
				}
			}
		}
	}
	if failed {
		return 1
	}
	return 0
}
