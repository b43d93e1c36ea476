package sitedir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/khula-cop/khula/sites"
)

// TestCheckDeploymentRefusesPlaceholders: the shipped demo sites load (a
// demo keeps its example.org addresses) but a deployment's check lists
// every placeholder with file and line; the same site with real addresses
// passes.
func TestCheckDeploymentRefusesPlaceholders(t *testing.T) {
	d, err := Load("../../sites")
	if err != nil {
		t.Fatal(err)
	}
	err = d.CheckDeployment()
	var per []*sites.Error
	for _, e := range unwrapJoined(err) {
		var se *sites.Error
		if !errors.As(e, &se) {
			t.Fatalf("not a site's error: %v", e)
		}
		per = append(per, se)
	}
	// Lines of the shipped files with an example.org address: 18 + 11 in
	// johannesburg's site and services files, 9 + 8 in moutse's.
	if len(per) != 2 || per[0].Site != "johannesburg" || len(per[0].Problems) != 29 || per[1].Site != "moutse" || len(per[1].Problems) != 17 {
		t.Fatalf("CheckDeployment = %v", err)
	}
	want := filepath.Join("../../sites", "johannesburg", "site.yaml") + ":19: coordinator.contact.address is a placeholder (example.org): replace it with the real value before deployment"
	if got := per[0].Problems[0].String(); got != want {
		t.Errorf("first problem %q\nwant          %q", got, want)
	}

	// Moutse with its real addresses: nothing to refuse.
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "moutse"), 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("../../sites/moutse")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("../../sites/moutse", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		data = []byte(strings.ReplaceAll(string(data), "@example.org", "@moutse.gov.za"))
		if err := os.WriteFile(filepath.Join(dir, "moutse", e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err = Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	only, err := d.Only("moutse")
	if err != nil {
		t.Fatal(err)
	}
	if err := only.CheckDeployment(); err != nil {
		t.Errorf("a site without placeholders: %v", err)
	}
}

// unwrapJoined lists the errors errors.Join joined (none for nil).
func unwrapJoined(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
