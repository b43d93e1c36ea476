package sitecheck_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/khula-cop/khula/internal/sitecheck"
	"github.com/khula-cop/khula/sites"
)

func TestShippedSitesPass(t *testing.T) {
	for _, name := range []string{"johannesburg", "moutse"} {
		rep := sitecheck.Check(sites.FS(), name, nil)
		if !rep.OK() {
			t.Errorf("%s: %v", name, rep.Problems)
		}
		if !strings.Contains(rep.Summary, "instrument cwtt-"+name) || rep.PluginsChecked {
			t.Errorf("%s: summary %q, plugins checked %v", name, rep.Summary, rep.PluginsChecked)
		}
	}
}

func TestProblemsAndPlugins(t *testing.T) {
	// A site file that does not parse: the loader's problems, with file and line.
	fsys := fstest.MapFS{"broken/site.yaml": {Data: []byte("id: broken\nschools: [\n")}}
	rep := sitecheck.Check(fsys, "broken", nil)
	if rep.OK() || !strings.Contains(rep.Problems[0], "site.yaml") {
		t.Fatalf("broken site: %+v", rep)
	}
	// Plugin problems are problems, at the plugin's entry in site.yaml or
	// at the setting the plugin's own check names.
	moutse := "../../sites/moutse/site.yaml"
	for _, tc := range []struct{ msg, want string }{
		{"referral plugin: handshake failed", fmt.Sprintf("moutse/site.yaml:%d: referral plugin: handshake failed", lineOf(t, moutse, "  referral:$"))},
		{`plugin: unavailable: plugin did not start: export plugin "csv" of site "moutse" rejected its configuration: Configure: plugin: permanent failure: dir_env: $KHULA_EXPORT_DIR is not set (the export directory)`,
			fmt.Sprintf("moutse/site.yaml:%d: plugin: unavailable: ", lineOf(t, moutse, "config: {dir_env: KHULA_EXPORT_DIR}"))},
	} {
		rep = sitecheck.Check(sites.FS(), "moutse", func(*sites.Site) []error { return []error{errors.New(tc.msg)} })
		if rep.OK() || !rep.PluginsChecked || !strings.HasPrefix(rep.Problems[len(rep.Problems)-1], tc.want) {
			t.Errorf("plugin problem: %q\nwant prefix %q", rep.Problems, tc.want)
		}
	}
}

// TestPlaceholdersAreWarnings: the shipped sites' example.org addresses are
// readiness warnings with file and line, not problems.
func TestPlaceholdersAreWarnings(t *testing.T) {
	for _, tc := range []struct {
		site  string
		count int // lines of the site's files with an example.org address
		first string
	}{
		{"johannesburg", 29, "johannesburg/site.yaml:19: coordinator.contact.address is a placeholder (example.org): fine for a demo, refused with --deploy"},
		{"moutse", 17, "moutse/site.yaml:28: coordinator.contact.address is a placeholder (example.org): fine for a demo, refused with --deploy"},
	} {
		rep := sitecheck.Check(sites.FS(), tc.site, nil)
		if !rep.OK() {
			t.Errorf("%s: %v", tc.site, rep.Problems)
		}
		var found []string
		for _, w := range rep.Warnings {
			if strings.Contains(w, "is a placeholder") {
				found = append(found, w)
			}
		}
		if len(found) != tc.count || found[0] != tc.first {
			t.Errorf("%s: %d placeholder warnings, want %d starting with %q:\n%s", tc.site, len(found), tc.count, tc.first, strings.Join(found, "\n"))
		}
	}
}

// siteCopy copies a shipped site's files into a map file system, applying
// replacements to services.yaml and instrument.yaml.
func siteCopy(t *testing.T, name string, services, instrument [][2]string) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	for _, file := range []string{"site.yaml", "services.yaml", "instrument.yaml", "messages.yaml"} {
		data, err := fs.ReadFile(sites.FS(), name+"/"+file)
		if err != nil {
			continue
		}
		text := string(data)
		edits := map[string][][2]string{"services.yaml": services, "instrument.yaml": instrument}[file]
		for _, e := range edits {
			if !strings.Contains(text, e[0]) {
				t.Fatalf("%s/%s lacks %q", name, file, e[0])
			}
			text = strings.Replace(text, e[0], e[1], 1)
		}
		fsys[name+"/"+file] = &fstest.MapFile{Data: []byte(text)}
	}
	return fsys
}

// lineOf is the 1-based line of the first line of file holding s (ending
// with s, when s ends in "$").
func lineOf(t *testing.T, file, s string) int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if end, ok := strings.CutSuffix(s, "$"); ok && strings.HasSuffix(l, end) || !ok && strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%s lacks %q", file, s)
	return 0
}

// TestRedFlagRoutes: every red flag must reach a service of its type at
// every school; a school without one is a problem naming the flag and the
// school, at the line declaring the route, never a silent fallback.
func TestRedFlagRoutes(t *testing.T) {
	cwtt := "../../instruments/cwtt.yaml"
	// Malvern is served by the Alexandra clinic only; take it off the list.
	fsys := siteCopy(t, "johannesburg", [][2]string{{"schools: [alexandra, malvern]", "schools: [alexandra]"}}, nil)
	rep := sitecheck.Check(fsys, "johannesburg", nil)
	got := rep.Problems
	var want []string
	for _, code := range []string{"phq9.self_harm", "growth.severe_thinness", "nutrition.oedema"} {
		want = append(want, fmt.Sprintf("instruments/cwtt.yaml:%d: red flag %s sends its urgent referral to service type \"clinic\", but no clinic service in johannesburg/services.yaml serves school malvern: ",
			lineOf(t, cwtt, "- code: "+code+"$"), code))
	}
	if len(got) != len(want) {
		t.Fatalf("problems:\n%s\nwant %d", strings.Join(got, "\n"), len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %q\nwant prefix    %q", i, got[i], want[i])
		}
	}
	if rep.OK() || rep.Summary != "" {
		t.Errorf("a site with an unroutable red flag passed: %+v", rep)
	}
	// The readiness warning still says which type misses which school.
	if len(rep.Warnings) == 0 || !strings.Contains(strings.Join(rep.Warnings, "\n"), "service type clinic reaches no service for school(s) malvern") {
		t.Errorf("warnings = %v", rep.Warnings)
	}

	// A social development office for some schools only: each school left out
	// is named, for each protection flag.
	fsys = siteCopy(t, "johannesburg", [][2]string{{"schools: [ivory-park, malvern, alexandra]", "schools: [ivory-park, malvern]"}}, nil)
	rep = sitecheck.Check(fsys, "johannesburg", nil)
	if len(rep.Problems) != 4 {
		t.Fatalf("problems: %v", rep.Problems)
	}
	for i, code := range []string{"protection.disclosure", "protection.signs_of_abuse", "protection.neglect", "protection.feels_unsafe"} {
		if !strings.Contains(rep.Problems[i], "red flag "+code+" sends its urgent referral to service type \"social_development\"") ||
			!strings.Contains(rep.Problems[i], "serves school alexandra") {
			t.Errorf("problem %d = %q", i, rep.Problems[i])
		}
	}
}

// TestRedFlagRoutesOfAVariant: a flag Moutse re-routes is checked against
// its new type, at the variant's line; the notify-only flag needs nothing.
func TestRedFlagRoutesOfAVariant(t *testing.T) {
	fsys := siteCopy(t, "moutse", [][2]string{{"type: outreach", "type: outreach_team"}}, nil)
	rep := sitecheck.Check(fsys, "moutse", nil)
	variant := "../../sites/moutse/instrument.yaml"
	var want []string
	for _, code := range []string{"phq9.self_harm", "growth.severe_thinness", "nutrition.oedema"} {
		want = append(want, fmt.Sprintf("moutse/instrument.yaml:%d: red flag %s sends its urgent referral to service type \"outreach\", but no outreach service in moutse/services.yaml serves school moutse-primary", lineOf(t, variant, "  "+code+": outreach"), code))
	}
	// The site's own health rule suggests the outreach team too.
	want = append(want, fmt.Sprintf("moutse/instrument.yaml:%d: domain rule of health (high, %q) suggests service type \"outreach\", which no service in moutse/services.yaml offers",
		lineOf(t, variant, "    - level: high"), "An unmet health need and the clinic is too far away; the ward-based outreach team should visit"))
	if len(rep.Problems) != len(want) {
		t.Fatalf("problems:\n%s", strings.Join(rep.Problems, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(rep.Problems[i], want[i]) {
			t.Errorf("problem %d = %q\nwant prefix    %q", i, rep.Problems[i], want[i])
		}
	}
}

// TestRuleServicesExistAtTheSite: a domain rule's suggested service type
// need only exist somewhere at the site.
func TestRuleServicesExistAtTheSite(t *testing.T) {
	cwtt := "../../instruments/cwtt.yaml"
	fsys := siteCopy(t, "johannesburg", [][2]string{{"type: home_affairs", "type: documents"}}, nil)
	rep := sitecheck.Check(fsys, "johannesburg", nil)
	var want []string
	for _, reason := range []string{
		"No Child Support Grant and no birth certificate (documents and grant application needed)",
		"No birth certificate (refer to Home Affairs)",
		"Caregiver has no ID document (needed for the grant)",
	} {
		// The rule starts two lines above its reason.
		want = append(want, fmt.Sprintf("instruments/cwtt.yaml:%d: domain rule of material (", lineOf(t, cwtt, "reason: "+reason)-2))
	}
	if len(rep.Problems) != len(want) {
		t.Fatalf("problems:\n%s", strings.Join(rep.Problems, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(rep.Problems[i], want[i]) || !strings.Contains(rep.Problems[i], `suggests service type "home_affairs", which no service in johannesburg/services.yaml offers`) {
			t.Errorf("problem %d = %q\nwant prefix    %q", i, rep.Problems[i], want[i])
		}
	}
	// Serving one school is enough for a suggestion.
	fsys = siteCopy(t, "johannesburg", [][2]string{{"type: home_affairs, domains: [material],", "type: home_affairs, domains: [material], schools: [malvern],"}}, nil)
	if rep := sitecheck.Check(fsys, "johannesburg", nil); !rep.OK() {
		t.Errorf("problems: %v", rep.Problems)
	}
}
