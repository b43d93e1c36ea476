package cli

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/khula-cop/khula/sites"
)

// `khula site validate` passes on the shipped sites in a plain checkout:
// the deployment's variables (mail relay, export directory) get stand-ins
// for the plugins' check and are listed; --deploy checks them as set.
func TestSiteValidateWithoutTheDeploymentsEnvironment(t *testing.T) {
	t.Setenv("KHULA_SMTP_ADDR", "")
	t.Setenv("KHULA_EXPORT_DIR", "")
	var seen []map[string]string
	old := SitePluginCheck
	SitePluginCheck = func(site *sites.Site, dir string) []error {
		vals := map[string]string{"KHULA_SMTP_ADDR": os.Getenv("KHULA_SMTP_ADDR"), "KHULA_EXPORT_DIR": os.Getenv("KHULA_EXPORT_DIR")}
		seen = append(seen, vals)
		var errs []error
		for name, v := range vals {
			if v == "" {
				errs = append(errs, errors.New("$"+name+" is not set"))
			}
		}
		return errs
	}
	t.Cleanup(func() { SitePluginCheck = old })

	code, out, stderr := run(t, "", "site", "validate", sitesDir)
	if code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, out, stderr)
	}
	if !strings.Contains(out, "needs at deployment: $KHULA_EXPORT_DIR, $KHULA_SMTP_ADDR") {
		t.Errorf("the needed variables are not listed:\n%s", out)
	}
	if len(seen) != 2 || seen[0]["KHULA_SMTP_ADDR"] != "127.0.0.1:25" {
		t.Errorf("stand-ins seen by the check: %v", seen)
	}
	if dir := seen[0]["KHULA_EXPORT_DIR"]; dir == "" {
		t.Error("no stand-in directory")
	} else if _, err := os.Stat(dir); err == nil {
		t.Errorf("the stand-in directory %s was left behind", dir)
	}
	if v := os.Getenv("KHULA_SMTP_ADDR"); v != "" {
		t.Errorf("the stand-in stayed in the environment: %q", v)
	}

	code, out, _ = run(t, "", "site", "validate", "--deploy", sitesDir)
	if code != 1 || !strings.Contains(out, "$KHULA_SMTP_ADDR is not set") {
		t.Errorf("--deploy: exit %d\n%s", code, out)
	}
}

func TestDeployVariablesAndStandIns(t *testing.T) {
	site := &sites.Site{Plugins: sites.Plugins{
		Referral: sites.PluginRef{Config: map[string]any{"smtp": map[string]any{"addr_env": "A_ADDR", "from": "x@example.org"}}},
		Export:   sites.PluginRef{Config: map[string]any{"dir_env": "B_DIR"}},
		Intake:   sites.IntakeRef{PluginRef: sites.PluginRef{Config: map[string]any{"token_env": "C_TOKEN", "url": "https://c.example.org"}}},
	}}
	got := strings.Join(deployVariables(site), " ")
	if got != "A_ADDR B_DIR C_TOKEN" {
		t.Errorf("deployVariables = %q", got)
	}
	for name, want := range map[string]string{"A_ADDR": "127.0.0.1:25", "B_DIR": "/tmp/x", "C_TOKEN": "stand-in-value", "D_URL": "https://stand-in.invalid"} {
		if v := standIn(name, "/tmp/x"); v != want {
			t.Errorf("standIn(%s) = %q, want %q", name, v, want)
		}
	}
}

// A command shows only the flags it uses: the database commands do not list
// the engine's connection and TLS flags.
func TestDatabaseCommandsShowOnlyTheirFlags(t *testing.T) {
	for _, args := range [][]string{{"user", "add", "--help"}, {"user", "token", "--help"}, {"migrate", "--help"}, {"audit", "verify", "--help"}, {"keys", "rotate", "--help"}} {
		code, out, stderr := run(t, "", args...)
		if code != 0 {
			t.Fatalf("%v: exit %d %s", args, code, stderr)
		}
		for _, unwanted := range []string{"--temporal-address", "--tls-cert", "--namespace", "--temporal-api-key-file"} {
			if strings.Contains(out, unwanted) {
				t.Errorf("%v lists %s:\n%s", args, unwanted, out)
			}
		}
		if !strings.Contains(out, "--db string") {
			t.Errorf("%v lacks --db:\n%s", args, out)
		}
	}
	if _, out, _ := run(t, "", "serve", "--help"); !strings.Contains(out, "--temporal-address") {
		t.Errorf("serve lost its engine flags:\n%s", out)
	}
}

// `khula site init NEW --from SITE` keeps every setting of each shipped
// site: the effective configurations differ only in what belongs to the
// source site (id, name, schools and the services' school lists, the
// coordinator's and programme manager's contacts).
func TestSiteInitFromEachShippedSiteKeepsEverySetting(t *testing.T) {
	for _, from := range []string{"johannesburg", "moutse"} {
		t.Run(from, func(t *testing.T) {
			dir := t.TempDir()
			code, out, stderr := run(t, "", "site", "init", "newsite", "--from", from, "--dir", dir)
			if code != 0 {
				t.Fatalf("init: exit %d\n%s%s", code, out, stderr)
			}
			src, err := sites.Load(os.DirFS(sitesDir), from)
			if err != nil {
				t.Fatal(err)
			}
			got, err := sites.Load(os.DirFS(dir), "newsite")
			if err != nil {
				t.Fatalf("the scaffold does not load: %v", err)
			}
			if got.ID != "newsite" || len(got.Schools) != 1 || got.Schools[0].ID != "newsite-school-1" {
				t.Errorf("id %q, schools %+v", got.ID, got.Schools)
			}
			if len(got.Schools[0].LLCoP) != len(src.Schools[0].LLCoP) {
				t.Errorf("LLCoP of %d, the source's first school has %d", len(got.Schools[0].LLCoP), len(src.Schools[0].LLCoP))
			}
			// Nothing else may differ.
			for _, s := range []*sites.Site{src, got} {
				s.ID, s.Name, s.Dir, s.Schools = "", "", "", nil
				s.Coordinator.Contact = sites.Contact{}
				for i := range s.Services {
					s.Services[i].Schools = nil // they named the source's schools
				}
				if s.ProgrammeManager != nil {
					pm := *s.ProgrammeManager
					pm.Contact = sites.Contact{}
					s.ProgrammeManager = &pm
				}
			}
			if !reflect.DeepEqual(src, got) {
				t.Errorf("settings dropped or changed:\nfrom %+v\ngot  %+v", src, got)
			}
		})
	}
}
