package sitecheck_test

import (
	"errors"
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
	// Plugin problems are problems.
	rep = sitecheck.Check(sites.FS(), "moutse", func(*sites.Site) []error { return []error{errors.New("referral plugin: handshake failed")} })
	if rep.OK() || !rep.PluginsChecked || rep.Problems[len(rep.Problems)-1] != "referral plugin: handshake failed" {
		t.Fatalf("plugin problem: %+v", rep)
	}
}
