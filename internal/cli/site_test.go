package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/khula-cop/khula/sites"
)

// withPluginCheck sets SitePluginCheck for one test.
func withPluginCheck(t *testing.T, check func(site *sites.Site, dir string) []error) {
	t.Helper()
	old := SitePluginCheck
	SitePluginCheck = check
	t.Cleanup(func() { SitePluginCheck = old })
}

// The shipped demo sites' example.org addresses: warnings with file, line
// and field in plain `khula site validate` (exit 0), problems with
// --deploy (exit 1). Counts are the lines of the shipped files holding an
// example.org address: johannesburg 18 in site.yaml and 11 in
// services.yaml, moutse 9 and 8.
func TestSiteValidatePlaceholdersWarnOrFailWithDeploy(t *testing.T) {
	withPluginCheck(t, nil)
	jhb := filepath.Join(sitesDir, "johannesburg", "site.yaml")
	moutse := filepath.Join(sitesDir, "moutse", "site.yaml")
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		want     []string
		warnings int
	}{
		{"plain: warnings", []string{"site", "validate", sitesDir}, 0, []string{
			"ok   johannesburg",
			"     warning: " + jhb + ":19: coordinator.contact.address is a placeholder (example.org): fine for a demo, refused with --deploy",
			"     warning: " + moutse + ":98: plugins.referral.config.smtp.from is a placeholder (example.org): fine for a demo, refused with --deploy",
			"ok   moutse",
		}, 29 + 17},
		{"one site folder", []string{"site", "validate", filepath.Join(sitesDir, "moutse")}, 0, []string{
			"ok   moutse",
			"     warning: " + moutse + ":28: coordinator.contact.address is a placeholder (example.org): fine for a demo, refused with --deploy",
		}, 17},
		{"--deploy: problems", []string{"site", "validate", "--deploy", sitesDir}, 1, []string{
			"FAIL johannesburg: 29 problem(s)",
			"  " + jhb + ":19: coordinator.contact.address is a placeholder (example.org): replace it with the real value before deployment",
			"FAIL moutse: 17 problem(s)",
			"  " + moutse + ":93: plugins.referral.config.chws[0].contact.address is a placeholder (example.org): replace it with the real value before deployment",
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := run(t, "", tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s%s", code, tc.code, out, stderr)
			}
			lines := strings.Split(out, "\n")
			for _, want := range tc.want {
				found := false
				for _, l := range lines {
					found = found || strings.HasPrefix(l, want)
				}
				if !found {
					t.Errorf("no line starting %q in:\n%s", want, out)
				}
			}
			if n := strings.Count(out, "warning: "); n != tc.warnings {
				t.Errorf("%d warnings, want %d:\n%s", n, tc.warnings, out)
			}
		})
	}

	// The same site with its real addresses passes --deploy.
	dir := t.TempDir()
	copySite(t, filepath.Join(sitesDir, "moutse"), filepath.Join(dir, "moutse"), "@example.org", "@moutse.gov.za")
	if code, out, stderr := run(t, "", "site", "validate", "--deploy", dir); code != 0 || !strings.Contains(out, "ok   moutse") || strings.Contains(out, "warning") {
		t.Errorf("a site without placeholders, --deploy: exit %d\n%s%s", code, out, stderr)
	}
}

// A plugin's problem from its own check of its settings names site.yaml and
// the line of the setting (lines 102 and 98 hold the smtp settings of the
// shipped sites' referral plugins); one the site cannot place is at the
// plugin's entry.
func TestSiteValidatePlacesPluginProblems(t *testing.T) {
	withPluginCheck(t, func(site *sites.Site, dir string) []error {
		// The plugin host's words for a referral plugin refusing its settings.
		return []error{
			fmt.Errorf(`plugin: unavailable: plugin did not start: referral plugin %q of site %q rejected its configuration: Configure: plugin: permanent failure: configuring plugin %[1]q for site %[2]q: plugin: permanent failure: smtp.addr_env: $KHULA_SMTP_ADDR is not set (the mail relay's host:port)`,
				site.Plugins.Referral.Builtin, site.ID),
			errors.New(`plugin: unavailable: plugin did not start: notify plugin "log" of site "` + site.ID + `" did not answer the go-plugin handshake`),
		}
	})
	code, out, _ := run(t, "", "site", "validate", "--deploy", sitesDir)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{
		"  " + filepath.Join(sitesDir, "johannesburg", "site.yaml") + `:102: plugin: unavailable: plugin did not start: referral plugin "directory" of site "johannesburg" rejected its configuration: `,
		"  " + filepath.Join(sitesDir, "moutse", "site.yaml") + `:98: plugin: unavailable: plugin did not start: referral plugin "outreach" of site "moutse" rejected its configuration: `,
		"  " + filepath.Join(sitesDir, "johannesburg", "site.yaml") + `:103: plugin: unavailable: plugin did not start: notify plugin "log" of site "johannesburg" did not answer`,
		"  " + filepath.Join(sitesDir, "moutse", "site.yaml") + `:99: plugin: unavailable: plugin did not start: notify plugin "log" of site "moutse" did not answer`,
	} {
		if !strings.Contains(out, "\n"+want) {
			t.Errorf("no line starting %q in:\n%s", want, out)
		}
	}
}

// copySite copies a site folder, replacing old with new in every file.
func copySite(t *testing.T, from, to, old, new string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), []byte(strings.ReplaceAll(string(data), old, new)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
