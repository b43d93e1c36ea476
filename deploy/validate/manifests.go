package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	goyaml "go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Object is one decoded manifest.
type Object struct {
	// Where names the document: its index and Helm's "# Source:" template.
	Where      string
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	Meta       metav1.ObjectMeta
	// Hook is true for Helm hooks (created before the release's other objects).
	Hook bool
}

// Set is every object of one rendered release, by kind.
type Set struct {
	Objects         []*Object
	Deployments     []*appsv1.Deployment
	StatefulSets    []*appsv1.StatefulSet
	Jobs            []*batchv1.Job
	Services        []*corev1.Service
	ConfigMaps      map[string]*corev1.ConfigMap
	Secrets         map[string]*corev1.Secret
	Ingresses       []*networkingv1.Ingress
	PDBs            []*policyv1.PodDisruptionBudget
	ServiceMonitors []*ServiceMonitor
	PrometheusRules []*PrometheusRule
}

// Count returns how many objects of each kind the set holds.
func (s *Set) Count() map[string]int {
	out := map[string]int{}
	for _, o := range s.Objects {
		out[o.Kind]++
	}
	return out
}

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// The kinds the chart may render; anything else is an error so that a new
// kind is added here, with its checks, on purpose.
var kinds = map[string]func() any{
	"v1/ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                               func() any { return &corev1.Secret{} },
	"v1/Service":                              func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                       func() any { return &corev1.ServiceAccount{} },
	"apps/v1/Deployment":                      func() any { return &appsv1.Deployment{} },
	"apps/v1/StatefulSet":                     func() any { return &appsv1.StatefulSet{} },
	"batch/v1/Job":                            func() any { return &batchv1.Job{} },
	"networking.k8s.io/v1/Ingress":            func() any { return &networkingv1.Ingress{} },
	"policy/v1/PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &ServiceMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return &PrometheusRule{} },
}

var (
	docSeparator = regexp.MustCompile(`(?m)^---[ \t]*(?:#.*)?$`)
	sourceLine   = regexp.MustCompile(`(?m)^# Source: (.+)$`)
)

// splitDocuments splits a multi-document YAML stream, dropping documents
// that hold only comments or whitespace.
func splitDocuments(data []byte) [][]byte {
	var out [][]byte
	for _, d := range docSeparator.Split(string(data), -1) {
		empty := true
		for _, line := range strings.Split(d, "\n") {
			t := strings.TrimSpace(line)
			if t != "" && !strings.HasPrefix(t, "#") {
				empty = false
				break
			}
		}
		if !empty {
			out = append(out, []byte(d))
		}
	}
	return out
}

// decodeStrict converts YAML to JSON (rejecting duplicate keys) and decodes
// it into v, rejecting unknown fields and values of the wrong type, as the
// API server does with fieldValidation=Strict.
func decodeStrict(doc []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return fmt.Errorf("YAML: %w", err)
	}
	strictErrs, err := kjson.UnmarshalStrict(j, v, kjson.DisallowUnknownFields, kjson.DisallowDuplicateFields)
	if err != nil {
		return fmt.Errorf("decoding: %w", err)
	}
	if len(strictErrs) > 0 {
		msgs := make([]string, len(strictErrs))
		for i, e := range strictErrs {
			msgs[i] = e.Error()
		}
		return fmt.Errorf("strict decoding: %s", strings.Join(msgs, "; "))
	}
	return nil
}

// Validate decodes and checks every document of a rendered release.
func Validate(data []byte) (*Set, []error) {
	s := &Set{ConfigMaps: map[string]*corev1.ConfigMap{}, Secrets: map[string]*corev1.Secret{}}
	var errs []error
	seen := map[string]string{}
	for i, doc := range splitDocuments(data) {
		where := fmt.Sprintf("document %d", i+1)
		if m := sourceLine.FindSubmatch(doc); m != nil {
			where += " (" + string(m[1]) + ")"
		}
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
		}
		var tm typeMeta
		j, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			fail("YAML: %v", err)
			continue
		}
		if err := json.Unmarshal(j, &tm); err != nil {
			fail("not an object: %v", err)
			continue
		}
		key := tm.APIVersion + "/" + tm.Kind
		newObj, ok := kinds[key]
		if !ok {
			fail("kind %s %s is not one this validator knows", tm.APIVersion, tm.Kind)
			continue
		}
		v := newObj()
		if err := decodeStrict(doc, v); err != nil {
			fail("%s: %v", tm.Kind, err)
			continue
		}
		o := &Object{Where: where, APIVersion: tm.APIVersion, Kind: tm.Kind, Meta: objectMeta(v)}
		o.Name, o.Namespace = o.Meta.Name, o.Meta.Namespace
		_, o.Hook = o.Meta.Annotations["helm.sh/hook"]
		where = fmt.Sprintf("%s %s %q", where, tm.Kind, o.Name)
		id := tm.Kind + "/" + o.Namespace + "/" + o.Name
		if prev, dup := seen[id]; dup {
			fail("the same %s name is also used by %s", tm.Kind, prev)
		}
		seen[id] = where
		s.Objects = append(s.Objects, o)
		for _, e := range checkMeta(tm.Kind, o.Meta) {
			fail("%v", e)
		}
		switch x := v.(type) {
		case *appsv1.Deployment:
			s.Deployments = append(s.Deployments, x)
		case *appsv1.StatefulSet:
			s.StatefulSets = append(s.StatefulSets, x)
		case *batchv1.Job:
			s.Jobs = append(s.Jobs, x)
		case *corev1.Service:
			s.Services = append(s.Services, x)
		case *corev1.ConfigMap:
			s.ConfigMaps[x.Name] = x
		case *corev1.Secret:
			s.Secrets[x.Name] = x
		case *networkingv1.Ingress:
			s.Ingresses = append(s.Ingresses, x)
		case *policyv1.PodDisruptionBudget:
			s.PDBs = append(s.PDBs, x)
		case *ServiceMonitor:
			s.ServiceMonitors = append(s.ServiceMonitors, x)
		case *PrometheusRule:
			s.PrometheusRules = append(s.PrometheusRules, x)
		}
	}
	errs = append(errs, s.check()...)
	return s, errs
}

func objectMeta(v any) metav1.ObjectMeta {
	switch x := v.(type) {
	case *corev1.ConfigMap:
		return x.ObjectMeta
	case *corev1.Secret:
		return x.ObjectMeta
	case *corev1.Service:
		return x.ObjectMeta
	case *corev1.ServiceAccount:
		return x.ObjectMeta
	case *appsv1.Deployment:
		return x.ObjectMeta
	case *appsv1.StatefulSet:
		return x.ObjectMeta
	case *batchv1.Job:
		return x.ObjectMeta
	case *networkingv1.Ingress:
		return x.ObjectMeta
	case *policyv1.PodDisruptionBudget:
		return x.ObjectMeta
	case *ServiceMonitor:
		return x.ObjectMeta
	case *PrometheusRule:
		return x.ObjectMeta
	}
	return metav1.ObjectMeta{}
}

func checkMeta(kind string, m metav1.ObjectMeta) []error {
	var errs []error
	if m.Name == "" {
		errs = append(errs, fmt.Errorf("metadata.name is empty"))
	} else {
		check := validation.IsDNS1123Subdomain
		if kind == "Service" {
			check = validation.IsDNS1035Label
		}
		for _, msg := range check(m.Name) {
			errs = append(errs, fmt.Errorf("metadata.name %q: %s", m.Name, msg))
		}
	}
	if m.Namespace != "" {
		for _, msg := range validation.IsDNS1123Label(m.Namespace) {
			errs = append(errs, fmt.Errorf("metadata.namespace %q: %s", m.Namespace, msg))
		}
	}
	for _, e := range metavalidation.ValidateLabels(m.Labels, field.NewPath("metadata", "labels")) {
		errs = append(errs, e)
	}
	for _, e := range apivalidation.ValidateAnnotations(m.Annotations, field.NewPath("metadata", "annotations")) {
		errs = append(errs, e)
	}
	return errs
}

// podOwner is a workload with a pod template.
type podOwner struct {
	where    string
	kind     string
	name     string
	labels   map[string]string
	spec     corev1.PodSpec
	selector *metav1.LabelSelector
	// claims are a StatefulSet's volume claim templates, which its pods mount like volumes.
	claims []string
}

// serves reports whether the workload's pods stay up to back a Service or PDB.
func (p podOwner) serves() bool { return p.kind == "Deployment" || p.kind == "StatefulSet" }

func (s *Set) pods() []podOwner {
	var out []podOwner
	for _, d := range s.Deployments {
		out = append(out, podOwner{"Deployment " + d.Name, "Deployment", d.Name, d.Spec.Template.Labels, d.Spec.Template.Spec, d.Spec.Selector, nil})
	}
	for _, st := range s.StatefulSets {
		var claims []string
		for _, c := range st.Spec.VolumeClaimTemplates {
			claims = append(claims, c.Name)
		}
		out = append(out, podOwner{"StatefulSet " + st.Name, "StatefulSet", st.Name, st.Spec.Template.Labels, st.Spec.Template.Spec, st.Spec.Selector, claims})
	}
	for _, j := range s.Jobs {
		out = append(out, podOwner{"Job " + j.Name, "Job", j.Name, j.Spec.Template.Labels, j.Spec.Template.Spec, nil, nil})
	}
	return out
}

// selects reports whether a Service-style selector (a label set) selects pods with lbls.
func selects(sel map[string]string, lbls map[string]string) bool {
	return len(sel) > 0 && labels.SelectorFromSet(sel).Matches(labels.Set(lbls))
}

func (s *Set) check() []error {
	var errs []error
	add := func(where string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
	}
	services := map[string]*corev1.Service{}
	for _, svc := range s.Services {
		services[svc.Name] = svc
	}
	pods := s.pods()

	for _, p := range pods {
		if !p.serves() {
			continue
		}
		where := p.where
		if p.selector == nil || (len(p.selector.MatchLabels) == 0 && len(p.selector.MatchExpressions) == 0) {
			add(where, "spec.selector is empty")
		} else {
			for _, e := range metavalidation.ValidateLabelSelector(p.selector, metavalidation.LabelSelectorValidationOptions{}, field.NewPath("spec", "selector")) {
				add(where, "%v", e)
			}
			sel, err := metav1.LabelSelectorAsSelector(p.selector)
			if err != nil {
				add(where, "spec.selector: %v", err)
			} else if !sel.Matches(labels.Set(p.labels)) {
				add(where, "spec.selector %s does not match the pod template's labels %v", sel, p.labels)
			}
		}
		if rp := p.spec.RestartPolicy; rp != "" && rp != corev1.RestartPolicyAlways {
			add(where, "a %s's pods must have restartPolicy Always, not %s", p.kind, rp)
		}
	}
	for _, d := range s.Deployments {
		if d.Spec.Replicas != nil && *d.Spec.Replicas < 0 {
			add("Deployment "+d.Name, "spec.replicas is negative")
		}
	}
	for _, st := range s.StatefulSets {
		where := "StatefulSet " + st.Name
		if st.Spec.Replicas != nil && *st.Spec.Replicas < 0 {
			add(where, "spec.replicas is negative")
		}
		if svc, ok := services[st.Spec.ServiceName]; !ok {
			add(where, "spec.serviceName %q is not a Service of this release", st.Spec.ServiceName)
		} else if svc.Spec.ClusterIP != corev1.ClusterIPNone {
			add(where, "spec.serviceName %q must be a headless Service (clusterIP None)", st.Spec.ServiceName)
		} else if !selects(svc.Spec.Selector, st.Spec.Template.Labels) {
			add(where, "its governing Service %s does not select its pods", svc.Name)
		}
		claims := map[string]bool{}
		for i, c := range st.Spec.VolumeClaimTemplates {
			at := fmt.Sprintf("spec.volumeClaimTemplates[%d]", i)
			for _, msg := range validation.IsDNS1123Label(c.Name) {
				add(where, "%s.metadata.name %q: %s", at, c.Name, msg)
			}
			if claims[c.Name] {
				add(where, "%s: claim %q is declared twice", at, c.Name)
			}
			claims[c.Name] = true
			for _, v := range st.Spec.Template.Spec.Volumes {
				if v.Name == c.Name {
					add(where, "%s: claim %q has the name of a pod volume", at, c.Name)
				}
			}
			if len(c.Spec.AccessModes) == 0 {
				add(where, "%s.spec.accessModes is empty", at)
			}
			if c.Spec.Resources.Requests.Storage().IsZero() {
				add(where, "%s.spec.resources.requests.storage is not set", at)
			}
		}
		if pol := st.Spec.PodManagementPolicy; pol != "" && pol != appsv1.OrderedReadyPodManagement && pol != appsv1.ParallelPodManagement {
			add(where, "spec.podManagementPolicy %q is not OrderedReady or Parallel", pol)
		}
	}
	for _, j := range s.Jobs {
		where := "Job " + j.Name
		if p := j.Spec.Template.Spec.RestartPolicy; p != corev1.RestartPolicyNever && p != corev1.RestartPolicyOnFailure {
			add(where, "a Job's pods need restartPolicy Never or OnFailure, not %q", p)
		}
	}
	for _, p := range pods {
		for _, e := range metavalidation.ValidateLabels(p.labels, field.NewPath("spec", "template", "metadata", "labels")) {
			add(p.where, "%v", e)
		}
		errs = append(errs, s.checkPodSpec(p.where, p.spec, p.claims)...)
	}

	for _, svc := range s.Services {
		where := "Service " + svc.Name
		if len(svc.Spec.Selector) == 0 {
			add(where, "spec.selector is empty (no pods would back it)")
			continue
		}
		var backing []podOwner
		for _, p := range pods {
			if p.serves() && selects(svc.Spec.Selector, p.labels) {
				backing = append(backing, p)
			}
		}
		if len(backing) == 0 {
			add(where, "spec.selector %v selects no Deployment's or StatefulSet's pods", svc.Spec.Selector)
		}
		names := map[string]bool{}
		for i, port := range svc.Spec.Ports {
			if len(svc.Spec.Ports) > 1 && port.Name == "" {
				add(where, "spec.ports[%d]: a Service with several ports must name each", i)
			}
			if port.Name != "" {
				for _, msg := range validation.IsDNS1123Label(port.Name) {
					add(where, "spec.ports[%d].name %q: %s", i, port.Name, msg)
				}
			}
			if names[port.Name] {
				add(where, "spec.ports[%d].name %q is used twice", i, port.Name)
			}
			names[port.Name] = true
			for _, msg := range validation.IsValidPortNum(int(port.Port)) {
				add(where, "spec.ports[%d].port: %s", i, msg)
			}
			for _, p := range backing {
				if !podHasPort(p.spec, port.TargetPort, port.Port) {
					add(where, "spec.ports[%d].targetPort %s is not a port of %s's containers", i, port.TargetPort.String(), p.where)
				}
			}
		}
		if svc.Spec.ClusterIP == corev1.ClusterIPNone && svc.Spec.Type != "" && svc.Spec.Type != corev1.ServiceTypeClusterIP {
			add(where, "a headless Service (clusterIP None) must be of type ClusterIP")
		}
	}

	for _, ing := range s.Ingresses {
		where := "Ingress " + ing.Name
		if len(ing.Spec.Rules) == 0 && ing.Spec.DefaultBackend == nil {
			add(where, "no rules and no default backend")
		}
		for i, r := range ing.Spec.Rules {
			if r.Host != "" {
				for _, msg := range validation.IsWildcardDNS1123Subdomain(r.Host) {
					if len(validation.IsDNS1123Subdomain(r.Host)) > 0 {
						add(where, "spec.rules[%d].host %q: %s", i, r.Host, msg)
					}
				}
			}
			if r.HTTP == nil {
				continue
			}
			for k, p := range r.HTTP.Paths {
				at := fmt.Sprintf("spec.rules[%d].http.paths[%d]", i, k)
				if !strings.HasPrefix(p.Path, "/") {
					add(where, "%s.path %q must start with /", at, p.Path)
				}
				if p.PathType == nil {
					add(where, "%s.pathType is required", at)
				} else if t := *p.PathType; t != networkingv1.PathTypeExact && t != networkingv1.PathTypePrefix && t != networkingv1.PathTypeImplementationSpecific {
					add(where, "%s.pathType %q is not Exact, Prefix or ImplementationSpecific", at, t)
				}
				b := p.Backend.Service
				if b == nil {
					add(where, "%s.backend.service is missing", at)
					continue
				}
				svc, ok := services[b.Name]
				if !ok {
					add(where, "%s.backend.service.name %q is not a Service of this release", at, b.Name)
					continue
				}
				if !serviceHasPort(svc, b.Port) {
					add(where, "%s.backend.service.port %+v is not a port of Service %s", at, b.Port, b.Name)
				}
			}
		}
		for i, t := range ing.Spec.TLS {
			if t.SecretName == "" {
				add(where, "spec.tls[%d].secretName is empty", i)
			}
		}
	}

	for _, pdb := range s.PDBs {
		where := "PodDisruptionBudget " + pdb.Name
		if (pdb.Spec.MinAvailable == nil) == (pdb.Spec.MaxUnavailable == nil) {
			add(where, "set exactly one of spec.minAvailable and spec.maxUnavailable")
		}
		for _, v := range []*intstr.IntOrString{pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable} {
			if v != nil && v.Type == intstr.String {
				for _, msg := range validation.IsValidPercent(v.StrVal) {
					add(where, "%q: %s", v.StrVal, msg)
				}
			}
		}
		if pdb.Spec.Selector == nil {
			add(where, "spec.selector is empty")
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil {
			add(where, "spec.selector: %v", err)
			continue
		}
		matched := false
		for _, p := range pods {
			if p.serves() && sel.Matches(labels.Set(p.labels)) {
				matched = true
			}
		}
		if !matched {
			add(where, "spec.selector %s selects no Deployment's or StatefulSet's pods", sel)
		}
	}

	for _, cm := range s.ConfigMaps {
		where := "ConfigMap " + cm.Name
		size := 0
		for k, v := range cm.Data {
			size += len(k) + len(v)
			for _, msg := range validation.IsConfigMapKey(k) {
				add(where, "data key %q: %s", k, msg)
			}
			switch {
			case strings.HasSuffix(k, ".json"):
				if !json.Valid([]byte(v)) {
					add(where, "data %q is not valid JSON", k)
				}
			case strings.HasSuffix(k, ".yaml"), strings.HasSuffix(k, ".yml"):
				var n goyaml.Node
				if err := goyaml.Unmarshal([]byte(v), &n); err != nil {
					add(where, "data %q is not valid YAML: %v", k, err)
				}
			}
		}
		for k, v := range cm.BinaryData {
			size += len(k) + len(v)
			if _, dup := cm.Data[k]; dup {
				add(where, "key %q is in both data and binaryData", k)
			}
		}
		if size > 1<<20 {
			add(where, "%d bytes: a ConfigMap holds at most 1 MiB", size)
		}
	}
	for _, sec := range s.Secrets {
		where := "Secret " + sec.Name
		size := 0
		for k, v := range sec.Data {
			size += len(k) + len(v)
			for _, msg := range validation.IsConfigMapKey(k) {
				add(where, "data key %q: %s", k, msg)
			}
		}
		for k, v := range sec.StringData {
			size += len(k) + len(v)
			for _, msg := range validation.IsConfigMapKey(k) {
				add(where, "stringData key %q: %s", k, msg)
			}
			if v == "" {
				add(where, "stringData %q is empty", k)
			}
		}
		if size > 1<<20 {
			add(where, "%d bytes: a Secret holds at most 1 MiB", size)
		}
	}

	for _, sm := range s.ServiceMonitors {
		errs = append(errs, s.checkServiceMonitor(sm)...)
	}
	for _, pr := range s.PrometheusRules {
		for _, e := range checkRuleGroups(pr.Spec.Groups) {
			add("PrometheusRule "+pr.Name, "%v", e)
		}
	}
	return errs
}

func podHasPort(spec corev1.PodSpec, target intstr.IntOrString, servicePort int32) bool {
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			switch {
			case target.Type == intstr.String && target.StrVal != "":
				if p.Name == target.StrVal {
					return true
				}
			case target.Type == intstr.Int && target.IntVal != 0:
				if p.ContainerPort == target.IntVal {
					return true
				}
			default: // targetPort unset: the Service's port
				if p.ContainerPort == servicePort {
					return true
				}
			}
		}
	}
	return false
}

func serviceHasPort(svc *corev1.Service, port networkingv1.ServiceBackendPort) bool {
	for _, p := range svc.Spec.Ports {
		if (port.Name != "" && p.Name == port.Name) || (port.Number != 0 && p.Port == port.Number) {
			return true
		}
	}
	return false
}

// checkPodSpec checks what the API server would reject in a pod template,
// the references inside it, and khula's security policy.
func (s *Set) checkPodSpec(where string, spec corev1.PodSpec, claims []string) []error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
	}
	volumes := map[string]corev1.Volume{}
	for _, c := range claims {
		volumes[c] = corev1.Volume{Name: c, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c}}}
	}
	for i, v := range spec.Volumes {
		for _, msg := range validation.IsDNS1123Label(v.Name) {
			add("volumes[%d].name %q: %s", i, v.Name, msg)
		}
		if _, dup := volumes[v.Name]; dup {
			add("volume %q is declared twice", v.Name)
		}
		volumes[v.Name] = v
		if n := countVolumeSources(v.VolumeSource); n != 1 {
			add("volume %q has %d sources; it needs exactly one", v.Name, n)
		}
		if v.Secret != nil {
			if v.Secret.SecretName == "" {
				add("volume %q: secret.secretName is empty", v.Name)
			} else if sec, ok := s.Secrets[v.Secret.SecretName]; ok {
				for _, it := range v.Secret.Items {
					if !secretHasKey(sec, it.Key) {
						add("volume %q: Secret %s has no key %q", v.Name, sec.Name, it.Key)
					}
				}
			}
			checkMode(add, v.Name, v.Secret.DefaultMode)
			checkItems(add, v.Name, v.Secret.Items)
		}
		if v.ConfigMap != nil {
			if v.ConfigMap.Name == "" {
				add("volume %q: configMap.name is empty", v.Name)
			} else if cm, ok := s.ConfigMaps[v.ConfigMap.Name]; ok {
				for _, it := range v.ConfigMap.Items {
					if _, has := cm.Data[it.Key]; !has {
						add("volume %q: ConfigMap %s has no key %q", v.Name, cm.Name, it.Key)
					}
				}
				if len(cm.Data) == 0 && len(cm.BinaryData) == 0 {
					add("volume %q: ConfigMap %s is empty", v.Name, cm.Name)
				}
			}
			checkMode(add, v.Name, v.ConfigMap.DefaultMode)
			checkItems(add, v.Name, v.ConfigMap.Items)
		}
	}
	if len(spec.Containers) == 0 {
		add("no containers")
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		add("policy: automountServiceAccountToken must be false (khula never calls the Kubernetes API)")
	}
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	containerNames := map[string]bool{}
	all := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for _, c := range all {
		cw := fmt.Sprintf("container %q", c.Name)
		for _, msg := range validation.IsDNS1123Label(c.Name) {
			add("%s: name: %s", cw, msg)
		}
		if containerNames[c.Name] {
			add("%s is declared twice", cw)
		}
		containerNames[c.Name] = true
		if strings.TrimSpace(c.Image) == "" {
			add("%s: image is empty", cw)
		} else if strings.HasSuffix(c.Image, ":") || strings.Contains(c.Image, " ") {
			add("%s: image %q is malformed", cw, c.Image)
		}
		switch c.ImagePullPolicy {
		case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
		default:
			add("%s: imagePullPolicy %q is not Always, IfNotPresent or Never", cw, c.ImagePullPolicy)
		}
		ports := map[string]bool{}
		numbers := map[int32]bool{}
		for i, p := range c.Ports {
			if p.Name != "" {
				for _, msg := range validation.IsValidPortName(p.Name) {
					add("%s: ports[%d].name %q: %s", cw, i, p.Name, msg)
				}
				if ports[p.Name] {
					add("%s: port name %q is used twice", cw, p.Name)
				}
				ports[p.Name] = true
			}
			for _, msg := range validation.IsValidPortNum(int(p.ContainerPort)) {
				add("%s: ports[%d].containerPort: %s", cw, i, msg)
			}
			if numbers[p.ContainerPort] {
				add("%s: containerPort %d is declared twice", cw, p.ContainerPort)
			}
			numbers[p.ContainerPort] = true
		}
		for name, pr := range map[string]*corev1.Probe{"startupProbe": c.StartupProbe, "livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe} {
			if pr == nil {
				continue
			}
			n := 0
			if pr.HTTPGet != nil {
				n++
				if !strings.HasPrefix(pr.HTTPGet.Path, "/") {
					add("%s: %s.httpGet.path %q must start with /", cw, name, pr.HTTPGet.Path)
				}
				if pr.HTTPGet.Port.Type == intstr.String && !ports[pr.HTTPGet.Port.StrVal] {
					add("%s: %s.httpGet.port %q is not a named port of the container", cw, name, pr.HTTPGet.Port.StrVal)
				}
			}
			if pr.TCPSocket != nil {
				n++
				if pr.TCPSocket.Port.Type == intstr.String && !ports[pr.TCPSocket.Port.StrVal] {
					add("%s: %s.tcpSocket.port %q is not a named port of the container", cw, name, pr.TCPSocket.Port.StrVal)
				}
			}
			if pr.Exec != nil {
				n++
			}
			if pr.GRPC != nil {
				n++
			}
			if n != 1 {
				add("%s: %s needs exactly one handler, has %d", cw, name, n)
			}
			if pr.TimeoutSeconds < 0 || pr.PeriodSeconds < 0 || pr.FailureThreshold < 0 {
				add("%s: %s has a negative setting", cw, name)
			}
			if name != "readinessProbe" && pr.SuccessThreshold > 1 {
				add("%s: %s.successThreshold must be 1", cw, name)
			}
		}
		mounts := map[string]bool{}
		for i, m := range c.VolumeMounts {
			if _, ok := volumes[m.Name]; !ok {
				add("%s: volumeMounts[%d] names volume %q, which the pod does not declare", cw, i, m.Name)
			}
			if !strings.HasPrefix(m.MountPath, "/") {
				add("%s: volumeMounts[%d].mountPath %q is not absolute", cw, i, m.MountPath)
			}
			if mounts[m.MountPath] {
				add("%s: mountPath %s is used twice", cw, m.MountPath)
			}
			mounts[m.MountPath] = true
		}
		envs := map[string]bool{}
		for i, e := range c.Env {
			for _, msg := range validation.IsEnvVarName(e.Name) {
				add("%s: env[%d].name %q: %s", cw, i, e.Name, msg)
			}
			if envs[e.Name] {
				add("%s: env %s is set twice", cw, e.Name)
			}
			envs[e.Name] = true
			if e.ValueFrom != nil {
				if e.Value != "" {
					add("%s: env %s has both value and valueFrom", cw, e.Name)
				}
				if r := e.ValueFrom.SecretKeyRef; r != nil {
					if r.Name == "" || r.Key == "" {
						add("%s: env %s: secretKeyRef needs name and key", cw, e.Name)
					} else if sec, ok := s.Secrets[r.Name]; ok && !secretHasKey(sec, r.Key) {
						add("%s: env %s: Secret %s has no key %q", cw, e.Name, r.Name, r.Key)
					}
				}
				if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
					if r.Name == "" || r.Key == "" {
						add("%s: env %s: configMapKeyRef needs name and key", cw, e.Name)
					} else if cm, ok := s.ConfigMaps[r.Name]; ok {
						if _, has := cm.Data[r.Key]; !has {
							add("%s: env %s: ConfigMap %s has no key %q", cw, e.Name, r.Name, r.Key)
						}
					}
				}
			}
			if strings.Contains(strings.ToUpper(e.Name), "PASSWORD") && e.Value != "" {
				add("%s: env %s holds a literal password: take it from a Secret", cw, e.Name)
			}
		}
		errs = append(errs, checkContainerPolicy(where, cw, c, psc, volumes)...)
	}
	return errs
}

func countVolumeSources(v corev1.VolumeSource) int {
	j, _ := json.Marshal(v)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(j, &m)
	return len(m)
}

func secretHasKey(s *corev1.Secret, key string) bool {
	if _, ok := s.Data[key]; ok {
		return true
	}
	_, ok := s.StringData[key]
	return ok
}

func checkMode(add func(string, ...any), volume string, mode *int32) {
	if mode != nil && (*mode < 0 || *mode > 0o777) {
		add("volume %q: defaultMode %d is not a file mode (0-0777)", volume, *mode)
	}
}

func checkItems(add func(string, ...any), volume string, items []corev1.KeyToPath) {
	paths := map[string]bool{}
	for _, it := range items {
		if it.Path == "" || strings.HasPrefix(it.Path, "/") || strings.Contains(it.Path, "..") {
			add("volume %q: item path %q must be relative without '..'", volume, it.Path)
		}
		if paths[it.Path] {
			add("volume %q: item path %q is used twice", volume, it.Path)
		}
		paths[it.Path] = true
	}
}

// checkContainerPolicy is khula's policy for its containers (the Pod
// Security Standard "restricted" profile, plus resources and /tmp).
func checkContainerPolicy(where, cw string, c corev1.Container, psc *corev1.PodSecurityContext, volumes map[string]corev1.Volume) []error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: policy: %s", where, cw, fmt.Sprintf(format, args...)))
	}
	sc := c.SecurityContext
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	nonRoot := (sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) || (sc.RunAsNonRoot == nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
	if !nonRoot {
		add("runAsNonRoot must be true")
	}
	if (sc.RunAsUser != nil && *sc.RunAsUser == 0) || (sc.RunAsUser == nil && psc.RunAsUser != nil && *psc.RunAsUser == 0) {
		add("runAsUser must not be 0")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		add("readOnlyRootFilesystem must be true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		add("allowPrivilegeEscalation must be false")
	}
	if sc.Privileged != nil && *sc.Privileged {
		add("privileged must not be true")
	}
	dropAll := false
	if sc.Capabilities != nil {
		for _, d := range sc.Capabilities.Drop {
			if d == "ALL" {
				dropAll = true
			}
		}
		if len(sc.Capabilities.Add) > 0 {
			add("capabilities.add must be empty, has %v", sc.Capabilities.Add)
		}
	}
	if !dropAll {
		add("capabilities.drop must include ALL")
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil {
		seccomp = psc.SeccompProfile
	}
	if seccomp == nil || (seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost) {
		add("seccompProfile must be RuntimeDefault (or Localhost)")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		add("resources.requests must set cpu and memory")
	}
	if c.Resources.Limits.Memory().IsZero() {
		add("resources.limits must set memory")
	}
	for name, lim := range c.Resources.Limits {
		if req, ok := c.Resources.Requests[name]; ok && req.Cmp(lim) > 0 {
			add("resources.requests.%s %s is over its limit %s", name, req.String(), lim.String())
		}
	}
	tmp := false
	for _, m := range c.VolumeMounts {
		if m.MountPath == "/tmp" {
			if v, ok := volumes[m.Name]; ok && v.EmptyDir != nil {
				tmp = true
			}
		}
	}
	if !tmp {
		add("/tmp must be an emptyDir (the root file system is read-only)")
	}
	return errs
}

// checkSiteConfigMaps compares each site ConfigMap (label khula.io/site,
// component site) with the files of dir/<site>/.
func checkSiteConfigMaps(s *Set, dir string) []error {
	var errs []error
	for _, cm := range s.ConfigMaps {
		site := cm.Labels["khula.io/site"]
		if site == "" || cm.Labels["app.kubernetes.io/component"] != "site" {
			continue
		}
		where := "ConfigMap " + cm.Name
		entries, err := os.ReadDir(filepath.Join(dir, site))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: site %s: %w", where, site, err))
			continue
		}
		files := map[string]bool{}
		for _, e := range entries {
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			files[e.Name()] = true
			want, err := os.ReadFile(filepath.Join(dir, site, e.Name()))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			got, ok := cm.Data[e.Name()]
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("%s: has no %s, which %s holds", where, e.Name(), filepath.Join(dir, site)))
			case got != string(want):
				errs = append(errs, fmt.Errorf("%s: %s differs from %s", where, e.Name(), filepath.Join(dir, site, e.Name())))
			}
		}
		for k := range cm.Data {
			if !files[k] {
				errs = append(errs, fmt.Errorf("%s: holds %s, which %s does not", where, k, filepath.Join(dir, site)))
			}
		}
	}
	return errs
}
