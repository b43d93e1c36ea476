package sites

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

const goodSite = `id: demo
name: Demo site
province: Gauteng
setting: urban
timezone: Africa/Johannesburg
languages: [en, zu]
default_language: en
respondents: [caregiver, nurse]
instrument: instrument.yaml
services: services.yaml
coordinator: {role: site_coordinator, title: Coordinator, language: en, contact: {channel: email, address: c@example.org}}
durations:
  assessment_window: 42d
  reminder_every: 7d
  plan_deadline: 21d
  urgent_referral_sla: 1h
  referral_ack_sla: 5d
  referral_sla: 30d
  follow_up_every: 2w
  reassess_after: 90d
  reassessment_window: 21d
meetings: {every: 14d, weekday: thursday, time: "14:00"}
schools:
  - id: north
    name: North Primary
    quintile: 2
    llcop:
      - {role: social_worker, title: SW, safeguarding: true, language: en, contact: {channel: email, address: sw@example.org}}
      - {role: nurse, title: Nurse, language: zu, contact: {channel: email, address: n@example.org}}
plugins:
  referral: {builtin: directory}
  notify: {builtin: log}
`

const goodServices = `services:
  - {id: clinic, name: Clinic, type: clinic, domains: [health], schools: [north], contact: {channel: email, address: clinic@example.org}}
`

func siteFS(site, services string) fstest.MapFS {
	return fstest.MapFS{
		"demo/site.yaml":       {Data: []byte(site)},
		"demo/services.yaml":   {Data: []byte(services)},
		"demo/instrument.yaml": {Data: []byte("extends: cwtt\n")},
	}
}

func TestLoadGoodSite(t *testing.T) {
	s, err := Load(siteFS(goodSite, goodServices), "demo")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Durations.FollowUpEvery.D(), 14*24*time.Hour; got != want {
		t.Errorf("follow_up_every = %s, want %s", got, want)
	}
	if got := s.SafeguardingLead("north").Title; got != "SW" {
		t.Errorf("safeguarding lead = %q, want SW", got)
	}
	if got := s.SafeguardingLead("nowhere").Role; got != RoleSiteCoordinator {
		t.Errorf("unknown school falls back to %q, want coordinator", got)
	}
	if got := s.ServicesFor("clinic", "north"); len(got) != 1 {
		t.Errorf("ServicesFor(clinic, north) = %v", got)
	}
	if got := s.TaskQueue(); got != "khula-demo" {
		t.Errorf("task queue = %q", got)
	}
}

// TestLoadReportsEveryProblemWithItsLine breaks a good site in many ways at
// once and checks that each problem is reported at its file and line.
func TestLoadReportsEveryProblemWithItsLine(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		services string
		want     string // file:line: fragment
	}{
		{name: "unknown key", old: "province: Gauteng", new: "provnce: Gauteng", want: "demo/site.yaml:3: unknown key provnce"},
		{name: "negative SLA", old: "referral_sla: 30d", new: "referral_sla: -3d", want: "demo/site.yaml:18: durations.referral_sla is -3d: a wait cannot be negative"},
		{name: "bad duration", old: "plan_deadline: 21d", new: "plan_deadline: soon", want: `demo/site.yaml:15: "soon" is not a duration`},
		{name: "wrong type", old: "quintile: 2", new: "quintile: two", want: "demo/site.yaml:26: cannot unmarshal"},
		{name: "quintile range", old: "quintile: 2", new: "quintile: 9", want: "demo/site.yaml:26: school \"north\" quintile 9 must be 1 to 5"},
		{name: "school without llcop", old: "    llcop:\n      - {role: social_worker, title: SW, safeguarding: true, language: en, contact: {channel: email, address: sw@example.org}}\n      - {role: nurse, title: Nurse, language: zu, contact: {channel: email, address: n@example.org}}\n", new: "", want: "demo/site.yaml:24: school \"north\" has no LLCoP members"},
		{name: "no safeguarding lead", old: "safeguarding: true, ", new: "", want: "has no designated safeguarding social worker"},
		{name: "unknown language", old: "language: zu, contact", new: "language: fr, contact", want: "demo/site.yaml:29: language \"fr\" is not one of the site's languages"},
		{name: "default language", old: "default_language: en", new: "default_language: xh", want: "demo/site.yaml:7: default_language \"xh\" is not in languages"},
		{name: "timezone", old: "Africa/Johannesburg", new: "Africa/Gotham", want: "demo/site.yaml:5: timezone \"Africa/Gotham\""},
		{name: "missing instrument file", old: "instrument: instrument.yaml", new: "instrument: other.yaml", want: "demo/site.yaml:9: instrument file \"other.yaml\" does not exist"},
		{name: "builtin", old: "builtin: directory", new: "builtin: carrier-pigeon", want: "demo/site.yaml:31: plugins.referral builtin \"carrier-pigeon\""},
		{name: "intake builtin", old: "notify: {builtin: log}", new: "notify: {builtin: log}\n  intake: {builtin: odk-collect}", want: "demo/site.yaml:33: plugins.intake builtin \"odk-collect\" is not one of [odk-central kobo]"},
		{name: "intake too often", old: "notify: {builtin: log}", new: "notify: {builtin: log}\n  intake: {builtin: kobo, every: 30s}", want: "plugins.intake.every is 30s: pull at most once a minute"},
		{name: "intake every without a plugin", old: "notify: {builtin: log}", new: "notify: {builtin: log}\n  intake: {every: 1h}", want: "plugins.intake.every is set but no intake plugin is named"},
		{name: "intake unknown key", old: "notify: {builtin: log}", new: "notify: {builtin: log}\n  intake: {builtin: kobo, interval: 1h}", want: "interval"},
		{name: "path without sha", old: "referral: {builtin: directory}", new: "referral: {path: /opt/ref}", want: "needs sha256"},
		{name: "ack after sla", old: "referral_ack_sla: 5d", new: "referral_ack_sla: 40d", want: "referral_ack_sla (40d) must be shorter than referral_sla (30d)"},
		{name: "weekday", old: "weekday: thursday", new: "weekday: Thursday", want: "meetings.weekday \"Thursday\""},
		{name: "review period without reviews", old: "schools:\n", new: "alcop: {review_within: 7d}\nschools:\n", want: "alcop.review_within is set but review_high_risk_plans is not true"},
		{name: "review period too short", old: "schools:\n", new: "alcop: {review_high_risk_plans: true, review_within: 10m}\nschools:\n", want: "alcop.review_within of 10m is under an hour"},
		{name: "unknown alcop key", old: "schools:\n", new: "alcop: {review: true}\nschools:\n", want: "review"},
		{name: "dangling school in services", services: strings.Replace(goodServices, "schools: [north]", "schools: [south]", 1), want: "demo/services.yaml:2: service \"clinic\" names school \"south\""},
		{name: "unknown domain", services: strings.Replace(goodServices, "domains: [health]", "domains: [wealth]", 1), want: "demo/services.yaml:2: service \"clinic\" domain \"wealth\""},
		{name: "syntax error", old: "name: Demo site", new: "name: [Demo", want: "demo/site.yaml:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			site := goodSite
			if tc.old != "" {
				if !strings.Contains(site, tc.old) {
					t.Fatalf("test broken: %q not in the good site", tc.old)
				}
				site = strings.Replace(site, tc.old, tc.new, 1)
			}
			services := goodServices
			if tc.services != "" {
				services = tc.services
			}
			_, err := Load(siteFS(site, services), "demo")
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *sites.Error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error does not mention %q:\n%v", tc.want, err)
			}
		})
	}
}

func TestLoadListsAllProblemsNotJustTheFirst(t *testing.T) {
	site := strings.NewReplacer("referral_sla: 30d", "referral_sla: -3d", "quintile: 2", "quintile: 0", "province:", "provnce:").Replace(goodSite)
	_, err := Load(siteFS(site, goodServices), "demo")
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("err = %v", err)
	}
	if len(se.Problems) < 3 {
		t.Fatalf("got %d problems, want at least 3:\n%v", len(se.Problems), err)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"14d", 14 * 24 * time.Hour, false},
		{"2w", 14 * 24 * time.Hour, false},
		{"36h", 36 * time.Hour, false},
		{"30m", 30 * time.Minute, false},
		{"1.5d", 36 * time.Hour, false},
		{"-3d", -3 * 24 * time.Hour, false},
		{"", 0, true},
		{"d", 0, true},
		{"fortnight", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseDuration(tc.in)
		if (err != nil) != tc.err || (!tc.err && got.D() != tc.want) {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, err=%v", tc.in, got.D(), err, tc.want, tc.err)
		}
	}
	if got := Duration(14 * 24 * time.Hour).String(); got != "2w" {
		t.Errorf("String(14d) = %q, want 2w", got)
	}
	if got := Duration(36 * time.Hour).String(); got != "36h" {
		t.Errorf("String(36h) = %q", got)
	}
}

func TestShippedSitesLoad(t *testing.T) {
	all, err := LoadAll(FS())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]*Site{}
	for _, s := range all {
		ids[s.ID] = s
	}
	jhb, moutse := ids["johannesburg"], ids["moutse"]
	if jhb == nil || moutse == nil {
		t.Fatalf("shipped sites = %v, want johannesburg and moutse", ids)
	}
	var schools []string
	for _, sc := range jhb.Schools {
		schools = append(schools, sc.Name)
	}
	for _, want := range []string{"Meadowlands", "Ivory Park", "Doornkop", "Malvern", "Alexandra"} {
		found := false
		for _, n := range schools {
			found = found || strings.HasPrefix(n, want)
		}
		if !found {
			t.Errorf("johannesburg has no %s school: %v", want, schools)
		}
	}
	if moutse.Setting != "rural" || len(moutse.Schools) != 1 {
		t.Errorf("moutse: setting %q, %d schools", moutse.Setting, len(moutse.Schools))
	}
	if moutse.Durations.ReferralSLA <= jhb.Durations.ReferralSLA {
		t.Errorf("moutse's referral SLA (%s) should be longer than Johannesburg's (%s)", moutse.Durations.ReferralSLA, jhb.Durations.ReferralSLA)
	}
}

func TestSchemaAndLoaderAgreeWithoutRepeating(t *testing.T) {
	// The loader's message wins; the schema adds nothing on the same line.
	site := strings.Replace(goodSite, "quintile: 2", "quintile: 9", 1)
	_, err := Load(siteFS(site, goodServices), "demo")
	var se *Error
	if !errors.As(err, &se) || len(se.Problems) != 1 {
		t.Fatalf("want exactly one problem, got %v", err)
	}
	// Something only the schema says: a sha256 in capitals next to a builtin.
	site = strings.Replace(goodSite, "notify: {builtin: log}", "notify: {builtin: log, sha256: ABC}", 1)
	_, err = Load(siteFS(site, goodServices), "demo")
	if err == nil || !strings.Contains(err.Error(), "site.schema.json") {
		t.Fatalf("schema problem not reported: %v", err)
	}
}

func TestIntermittentConnectivityAndMessages(t *testing.T) {
	fsys := siteFS(strings.Replace(goodSite, "plugins:", "connectivity: {mode: intermittent}\nmessages: messages.yaml\nplugins:", 1), goodServices)
	fsys["demo/messages.yaml"] = &fstest.MapFile{Data: []byte(`templates:
  plan_overdue:
    zu: {subject: "Uhlelo lubambekile", body: "{{.cycle}} {{.waited}}"}
    fr: {subject: "Plan en retard", body: "{{.cycle}}"}
  no_such_template:
    en: {subject: x, body: y}
  follow_up_due:
    en: {subject: x, body: "{{.broken"}
`)}
	_, err := Load(fsys, "demo")
	if err == nil {
		t.Fatal("broken connectivity and messages accepted")
	}
	for _, want := range []string{"sync_every is required", `"fr", which is not one of the site's languages`, `template "no_such_template"`, "does not parse"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestIntakePluginSettings(t *testing.T) {
	site := strings.Replace(goodSite, "notify: {builtin: log}", "notify: {builtin: log}\n  intake: {builtin: odk-central, every: 1h, config: {url: https://central.example.org, project: 3, form_id: f, token_env: T}}", 1)
	s, err := Load(siteFS(site, goodServices), "demo")
	if err != nil {
		t.Fatal(err)
	}
	in := s.Plugins.Intake
	if !in.Configured() || in.Builtin != "odk-central" || in.Interval() != time.Hour || in.Config["form_id"] != "f" {
		t.Errorf("intake %+v", in)
	}
	s, err = Load(siteFS(goodSite, goodServices), "demo")
	if err != nil {
		t.Fatal(err)
	}
	if s.Plugins.Intake.Configured() || s.Plugins.Intake.Interval() != DefaultIntakeEvery {
		t.Errorf("a site without intake: %+v", s.Plugins.Intake)
	}
}
