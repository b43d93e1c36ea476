package sites_test

import (
	"errors"
	"io/fs"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/khula-cop/khula/sites"
)

// fuzzDirs are the shipped site folders a fuzzed site.yaml is loaded as; the
// folder decides which id matches and whether messages.yaml is read.
var fuzzDirs = []string{"johannesburg", "moutse"}

// shipped reads one of the shipped sites' files from the embedded copy.
func shipped(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := fs.ReadFile(sites.Embedded, name)
	if err != nil {
		tb.Fatalf("reading shipped %s: %v", name, err)
	}
	return data
}

// FuzzLoadSite loads arbitrary bytes as a site's site.yaml, services.yaml
// and messages.yaml. Load must never panic; it either returns a site whose
// required fields are set or a *sites.Error listing each problem with its
// file and a line ≥ 0, and the same input always gives the same problems.
func FuzzLoadSite(f *testing.F) {
	jhb, jhbServices := shipped(f, "johannesburg/site.yaml"), shipped(f, "johannesburg/services.yaml")
	mts, mtsServices, mtsMessages := shipped(f, "moutse/site.yaml"), shipped(f, "moutse/services.yaml"), shipped(f, "moutse/messages.yaml")
	add := func(dir uint8, site, services, messages []byte) { f.Add(dir, site, services, messages) }

	// The shipped sites as they are.
	add(0, jhb, jhbServices, nil)
	add(1, mts, mtsServices, mtsMessages)
	// Truncated: half, and cut inside a flow mapping.
	add(0, jhb[:len(jhb)/2], jhbServices, nil)
	add(1, mts, mtsServices[:len(mtsServices)/3], mtsMessages[:len(mtsMessages)/2])
	if i := strings.Index(string(jhb), "contact: {"); i > 0 {
		add(0, jhb[:i+12], jhbServices, nil)
	}
	// Mangled values, one class of mistake each.
	for _, r := range [][2]string{
		{"id: johannesburg", "id: moutse"},                       // id differs from its folder
		{"referral_sla: 30d", "referral_sla: -30d"},              // negative wait
		{"plan_deadline: 21d", "plan_deadline: NaNd"},            // not a number of days
		{"reassess_after: 90d", "reassess_after: 1e300d"},        // overflows time.Duration
		{"reassess_after: 90d", "reassess_after: [90d]"},         // sequence for a scalar
		{"quintile: 1", "quintile: 1.5"},                         // wrong type
		{"timezone: Africa/Johannesburg", "timezone: ../etc"},    // not a zone name
		{"languages: [en, zu, st, tn]", "languages: {en: 1}"},    // mapping for a list
		{"  notify: {builtin: log}", "  notify: {path: /bin/x}"}, // path without sha256
		{"services: services.yaml", "services: ../moutse/services.yaml"},
		{"setting: urban", "setting: urban\nsetting: rural"}, // duplicate key
		{"meetings:\n", "meetings: &m\n"},                    // anchor
		{"schools:\n", "messages: messages.yaml\nschools:\n"},
		{"\n  ", "\n\t"}, // tabs in indentation
	} {
		add(0, []byte(strings.Replace(string(jhb), r[0], r[1], 1)), jhbServices, mtsMessages)
	}
	add(1, []byte(strings.Replace(string(mts), "sync_every: 7d", "sync_every: 90d", 1)), mtsServices, mtsMessages)
	add(1, mts, []byte(strings.Replace(string(mtsServices), "domains: [material]", "domains: [wealth, material]", 1)), mtsMessages)
	add(1, mts, mtsServices, []byte("templates:\n  assessment_reminder:\n    nso: {subject: x, body: \"{{.cycle\"}\n    fr: {subject: y}\n"))
	// Documents that are not mappings, or barely YAML.
	for _, s := range []string{"", "~", "[]", "- a\n- b\n", "{}", "id: johannesburg\n", "a: *b\n", "x: &a [*a]\n", "? [a]\n: b\n",
		"2001-12-14: t\nid: 2001-12-14t21:59:43.10-05:00\n", "id: !!binary aGVsbG8=\n", "%YAML 1.1\n---\nid: a\n...\n---\nid: b\n", "\xff\xfe"} {
		add(0, []byte(s), jhbServices, nil)
	}

	f.Fuzz(func(t *testing.T, pick uint8, site, services, messages []byte) {
		dir := fuzzDirs[int(pick)%len(fuzzDirs)]
		fsys := fstest.MapFS{
			dir + "/site.yaml":       {Data: site},
			dir + "/services.yaml":   {Data: services},
			dir + "/messages.yaml":   {Data: messages},
			dir + "/instrument.yaml": {Data: []byte("extends: cwtt@1\n")},
		}
		s, err := sites.Load(fsys, dir)
		if err == nil {
			checkLoaded(t, dir, s)
			return
		}
		if s != nil {
			t.Fatalf("Load returned a site and an error: %v", err)
		}
		var se *sites.Error
		if !errors.As(err, &se) {
			t.Fatalf("Load returned %T (%v), want *sites.Error", err, err)
		}
		if se.Site != dir || len(se.Problems) == 0 {
			t.Fatalf("error names site %q with %d problems: %v", se.Site, len(se.Problems), err)
		}
		files := []string{path.Join(dir, "site.yaml"), path.Join(dir, "services.yaml"), path.Join(dir, "messages.yaml")}
		for _, p := range se.Problems {
			if !slices.Contains(files, p.File) || p.Line < 0 || strings.TrimSpace(p.Message) == "" {
				t.Fatalf("problem without a file, line or message: %+v", p)
			}
		}
		// The same files give the same problems.
		_, again := sites.Load(fsys, dir)
		if !sameProblems(err, again) {
			t.Fatalf("loading twice gave different problems:\n%v\n---\n%v", err, again)
		}
	})
}

// sameProblems compares two load errors' problems as sets.
func sameProblems(a, b error) bool {
	var ea, eb *sites.Error
	if !errors.As(a, &ea) || !errors.As(b, &eb) || len(ea.Problems) != len(eb.Problems) {
		return false
	}
	key := func(ps []sites.Problem) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = p.String()
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(ea.Problems), key(eb.Problems))
}

// checkLoaded checks what a loaded site promises the rest of khula.
func checkLoaded(t *testing.T, dir string, s *sites.Site) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("site %s loaded but "+format, append([]any{dir}, args...)...)
	}
	if s == nil {
		fail("is nil")
	}
	if s.ID != dir || s.Dir != dir || s.Name == "" {
		fail("id %q, dir %q, name %q", s.ID, s.Dir, s.Name)
	}
	if s.Setting != "urban" && s.Setting != "rural" {
		fail("setting is %q", s.Setting)
	}
	if _, err := time.LoadLocation(s.Timezone); s.Timezone == "" || err != nil {
		fail("timezone %q: %v", s.Timezone, err)
	}
	if len(s.Languages) == 0 || !slices.Contains(s.Languages, s.DefaultLanguage) {
		fail("languages %v, default %q", s.Languages, s.DefaultLanguage)
	}
	if len(s.Respondents) == 0 || s.InstrumentFile == "" || s.ServicesFile == "" || len(s.Services) == 0 {
		fail("respondents %v, instrument %q, services %q (%d)", s.Respondents, s.InstrumentFile, s.ServicesFile, len(s.Services))
	}
	if s.Coordinator.Role != sites.RoleSiteCoordinator || s.Coordinator.Title == "" || s.Coordinator.Contact.Channel == "" || s.Coordinator.Contact.Address == "" {
		fail("coordinator %+v", s.Coordinator)
	}
	d := s.Durations
	for name, v := range map[string]sites.Duration{"assessment_window": d.AssessmentWindow, "reminder_every": d.ReminderEvery,
		"plan_deadline": d.PlanDeadline, "urgent_referral_sla": d.UrgentReferralSLA, "referral_ack_sla": d.ReferralAckSLA,
		"referral_sla": d.ReferralSLA, "follow_up_every": d.FollowUpEvery, "reassess_after": d.ReassessAfter,
		"reassessment_window": d.ReassessmentWindow, "meetings.every": s.Meetings.Every} {
		if v.D() <= 0 {
			fail("%s is %v", name, v.D())
		}
	}
	if d.ReferralAckSLA >= d.ReferralSLA || d.ReminderEvery >= d.AssessmentWindow {
		fail("durations out of order: %+v", d)
	}
	if s.Connectivity.Intermittent() && (s.Connectivity.SyncEvery <= 0 || s.Connectivity.SyncEvery >= d.AssessmentWindow) {
		fail("sync_every %v", s.Connectivity.SyncEvery)
	}
	if len(s.Schools) == 0 {
		fail("has no schools")
	}
	for _, sc := range s.Schools {
		if sc.ID == "" || sc.Name == "" || sc.Quintile < 1 || sc.Quintile > 5 || len(sc.LLCoP) == 0 {
			fail("school %+v", sc)
		}
		lead := s.SafeguardingLead(sc.ID)
		if lead.Role != sites.RoleSocialWorker || !lead.Safeguarding {
			fail("school %s has safeguarding lead %+v", sc.ID, lead)
		}
	}
	if (s.Plugins.Referral.Builtin == "" && s.Plugins.Referral.Path == "") || (s.Plugins.Notify.Builtin == "" && s.Plugins.Notify.Path == "") {
		fail("plugins %+v", s.Plugins)
	}
	for _, svc := range s.Services {
		if svc.ID == "" || svc.Name == "" || svc.Type == "" || len(svc.Domains) == 0 || svc.Contact.Channel == "" || svc.Contact.Address == "" {
			fail("service %+v", svc)
		}
	}
}

// FuzzParseDuration checks that a duration written in a site file either
// fails to parse or means what it says: the sign of the number it was
// written with, and no wrap-around for spans beyond time.Duration's range.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"14d", "2w", "36h", "30m", "1.5d", "-3d", "1h30m", "", "d", "0d", " 7d ", "1e3d", "0x1p4d", "1_000d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := sites.ParseDuration(s)
		if err != nil {
			return
		}
		trimmed := strings.TrimSpace(s)
		unit := trimmed[len(trimmed)-1]
		if unit != 'd' && unit != 'w' {
			if want, err := time.ParseDuration(trimmed); err != nil || want != d.D() {
				t.Fatalf("ParseDuration(%q) = %v, time.ParseDuration says %v, %v", s, d.D(), want, err)
			}
			return
		}
		n, err := strconv.ParseFloat(trimmed[:len(trimmed)-1], 64)
		if err != nil {
			t.Fatalf("ParseDuration(%q) accepted a number strconv rejects: %v", s, err)
		}
		days := n
		if unit == 'w' {
			days *= 7
		}
		limit := float64(math.MaxInt64) / float64(24*time.Hour)
		if math.IsNaN(days) || math.Abs(days) >= limit {
			// Known bug, kept as a seed: the float is converted to
			// time.Duration without a range or NaN check, so the result
			// depends on the CPU (amd64: math.MinInt64, a negative wait).
			t.Fatalf("regression: sites.ParseDuration (sites/duration.go:53) accepts %q, out of time.Duration's range, as %v", s, d.D())
		}
		if (n > 0 && d.D() < 0) || (n < 0 && d.D() > 0) {
			t.Fatalf("ParseDuration(%q) = %v: the sign changed", s, d.D())
		}
	})
}
