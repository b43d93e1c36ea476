package sites

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

// TestPlaceholder decides, value by value, what is a placeholder and by
// which marker. Capitals mark a placeholder anywhere as a word; lower or
// mixed case only as the whole value, so prose ("Todo list app") and real
// mailboxes (todos@school.za) pass.
func TestPlaceholder(t *testing.T) {
	for _, tc := range []struct {
		value, marker string // marker "" : not a placeholder
	}{
		// Editors' markers.
		{"TODO", "TODO"},
		{"TODO: the clinic's address", "TODO"},
		{"Dr TBD", "TBD"},
		{"TODO_ADDRESS", "TODO"},
		{"FIXME", "FIXME"},
		{"TBA", "TBA"},
		{"CHANGE_ME", "CHANGE_ME"},
		{"please REPLACE ME", "REPLACE ME"},
		{"todo", "todo"},
		{"Todo", "todo"},
		{" tbd. ", "tbd"},
		{"<todo>", "todo"},
		{"changeme", "changeme"},
		{"placeholder", "placeholder"},
		{"tbc", "tbc"},
		{"xxx", "xxx"},
		{"XXXX", "XXXX"},
		{"082 xxx xxxx", "xxx"},
		{"xxx@school.za", "xxx"},
		{"Lorem ipsum dolor sit amet", "Lorem ipsum"},
		{"<coordinator's e-mail>", "<coordinator's e-mail>"},
		// Reserved names: mail addresses, URLs and hosts.
		{"coordinator.jhb@example.org", "example.org"},
		{"https://central.example.org", "example.org"},
		{"https://central.EXAMPLE.com/v1/projects/3", "example.com"},
		{"smtp.example.net:25", "example.net"},
		{"http://hooks.invalid/khula", ".invalid"},
		{"mail@clinic.test", ".test"},
		{"https://kobo.site.example/api", ".example"},
		// Not placeholders.
		{"todos@school.za", ""},
		{"Todo list app", ""},
		{"Todos los niños", ""},
		{"TBC clinic", ""},                    // TBC counts only whole: it is also tuberculosis
		{"Bxxx Road", ""},                     // x's ending a word
		{"Room 12xxx", ""},                    // x's inside a number
		{"https://central.example.co.za", ""}, // example.co.za is not reserved
		{"referrals@myexample.org", ""},       // a longer name that ends the same
		{"a.example@school.za", ""},           // .example in the mailbox's name, not its domain
		{"http://localhost:8080/hook", ""},    // a sidecar on the worker's host
		{"Meadowlands community clinic (demo)", ""},
		{"instrument.yaml", ""},
		{"KHULA_SMTP_ADDR", ""},
		{"14:00", ""},
		{"", ""},
	} {
		marker, ok := Placeholder(tc.value)
		if marker != tc.marker || ok != (tc.marker != "") {
			t.Errorf("Placeholder(%q) = %q, %v; want %q", tc.value, marker, ok, tc.marker)
		}
	}
}

const placeholderSite = `id: demo
name: TODO
province: Gauteng
setting: urban
timezone: Africa/Johannesburg
languages: [en, zu]
default_language: en
respondents: [caregiver, nurse]
instrument: instrument.yaml
services: services.yaml
coordinator: {role: site_coordinator, title: Coordinator, language: en, contact: {channel: email, address: coordinator@school.za}}
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
      - {role: social_worker, title: SW, safeguarding: true, language: en, contact: {channel: email, address: todos@school.za}}
      - {role: nurse, title: Nurse (TBD), language: zu, contact: {channel: email, address: n@clinic.example.org}}
plugins:
  referral: {builtin: directory}
  notify:
    builtin: webhook
    config: {url: "https://hooks.invalid/khula"}
`

// TestPlaceholdersInSiteFiles finds each placeholder of a site's files at
// its file and line, with its path in the file (lines counted by hand).
func TestPlaceholdersInSiteFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"demo/site.yaml": {Data: []byte(placeholderSite)},
		"demo/services.yaml": {Data: []byte(`services:
  - {id: clinic, name: Clinic, type: clinic, domains: [health], schools: [north], contact: {channel: email, address: xxx@clinic.co.za}}
`)},
		"demo/instrument.yaml": {Data: []byte("extends: cwtt\ntitle: CHANGEME\n")},
	}
	site, err := Load(fsys, "demo")
	if err != nil {
		t.Fatalf("placeholders must not stop a site from loading: %v", err)
	}
	var got []string
	for _, p := range Placeholders(fsys, site) {
		got = append(got, p.String())
	}
	want := []string{
		"demo/site.yaml:2: name is a placeholder (TODO)",
		"demo/site.yaml:29: schools[0].llcop[1].title is a placeholder (TBD)",
		"demo/site.yaml:29: schools[0].llcop[1].contact.address is a placeholder (example.org)",
		"demo/site.yaml:34: plugins.notify.config.url is a placeholder (.invalid)",
		"demo/services.yaml:2: services[0].contact.address is a placeholder (xxx)",
		"demo/instrument.yaml:2: title is a placeholder (CHANGEME)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("placeholders:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The good site of the loader's tests holds only example.org addresses.
	good := siteFS(goodSite, goodServices)
	site, err = Load(good, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(Placeholders(good, site)); n != 4 {
		t.Errorf("the good site has %d placeholders, want 4 (three site.yaml addresses, one service)", n)
	}
}

const pluginSite = `id: demo
plugins:
  referral:
    builtin: outreach
    config:
      chws:
        - {id: chw-a, title: CHW, contact: {channel: email, address: a@school.za}}
      send_at: "17:00"
      smtp: {addr_env: KHULA_SMTP_ADDR, from: referrals@school.za, tls: none}
  notify:
    builtin: smtp
    config:
      addr_env: KHULA_MAIL_RELAY
      from: khula@school.za
  export:
    path: plugins/khula-dhis2
    sha256: 0000000000000000000000000000000000000000000000000000000000000000
`

// TestPluginProblem places the plugin check's problems in site.yaml: at the
// setting the plugin names, else at the plugin's entry, else at plugins
// (lines counted by hand in pluginSite). The messages are the plugin
// host's, as khula site validate shows them.
func TestPluginProblem(t *testing.T) {
	fsys := fstest.MapFS{"demo/site.yaml": {Data: []byte(pluginSite)}}
	site := &Site{ID: "demo", Dir: "demo"}
	const rejected = `plugin: unavailable: plugin did not start: %s plugin "%s" of site "demo" rejected its configuration: Configure: plugin: permanent failure: configuring plugin "%[2]s" for site "demo": plugin: permanent failure: `
	for _, tc := range []struct {
		name, msg string
		line      int
	}{
		{"a nested setting, named whole", fmt.Sprintf(rejected, "referral", "outreach") + "smtp.addr_env: $KHULA_SMTP_ADDR is not set (the mail relay's host:port)", 9},
		{"a setting of the plugin's own, named with a prefix", fmt.Sprintf(rejected, "notify", "smtp") + `smtp.from "khula@" is not a mail address: no angle-addr`, 14},
		{"a list", fmt.Sprintf(rejected, "referral", "outreach") + `chws: id "" must be unique, non-empty, without / \ or .`, 6},
		{"the variable a _env setting names", fmt.Sprintf(rejected, "notify", "smtp") + "environment variable KHULA_MAIL_RELAY (named in the plugin config) is not set", 13},
		{"a setting the site does not have: the plugin's entry", fmt.Sprintf(rejected, "referral", "outreach") + `visit_days: "someday" is not a weekday`, 3},
		{"the plugin's name is not a setting", `plugin: unavailable: plugin did not start: referral plugin "smtp" of site "demo" did not answer the go-plugin handshake (is it a khula plugin?)`, 3},
		{"a pinned checksum", `plugin: unavailable: plugin checksum mismatch: refusing to run the export plugin of site "demo": /srv/khula-dhis2 has SHA-256 abc, site.yaml pins 000 (if the new build is trusted, update plugins.export.sha256)`, 17},
		{"a role the site does not name: plugins", `plugin: site "demo" configures no intake plugin (site.yaml plugins.intake)`, 2},
		{"no role, a variable", "$KHULA_SMTP_ADDR is not set", 9},
		{"no role, nothing named: plugins", "the plugin host could not start", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := PluginProblem(fsys, site, tc.msg)
			if p.File != "demo/site.yaml" || p.Line != tc.line || p.Message != tc.msg {
				t.Errorf("%s:%d, message %q; want demo/site.yaml:%d and the message unchanged", p.File, p.Line, p.Message, tc.line)
			}
		})
	}
	// Without the file, the problem still names it.
	if p := PluginProblem(fstest.MapFS{}, site, "referral plugin: x"); p.String() != "demo/site.yaml: referral plugin: x" {
		t.Errorf("without site.yaml: %q", p.String())
	}
}
