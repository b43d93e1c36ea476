package cli

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/khula-cop/khula/internal/odkform"
)

func TestInstrumentXLSFormWritesTheSiteForm(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "moutse.xlsx")
	code, stdout, stderr := run(t, "", "instrument", "xlsform", "--site", "moutse", "--sites-dir", sitesDir, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"wrote " + out, "XLSForm khula_moutse", "version 002000000_002000000", "cwtt-moutse@2.0.0",
		"questions", "languages English (en), Sepedi (nso), isiNdebele (nr)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output %q lacks %q", stdout, want)
		}
	}
	if n := strings.Count(stdout, "\n"); n != 1 {
		t.Errorf("want one line of output, got %d: %q", n, stdout)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	form, err := odkform.ReadXLSForm(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if form.ID != "khula_moutse" || form.Survey[0].Name != odkform.FieldCycleRef {
		t.Errorf("read back form %s starting with %s", form.ID, form.Survey[0].Name)
	}

	// An existing file is kept unless --force.
	code, _, stderr = run(t, "", "instrument", "xlsform", "--site", "moutse", "--sites-dir", sitesDir, "--out", out)
	if code == 0 || !strings.Contains(stderr, out) || !strings.Contains(stderr, "--force") {
		t.Errorf("overwriting without --force: exit %d, %q", code, stderr)
	}
	code, _, stderr = run(t, "", "instrument", "xlsform", "--site", "moutse", "--sites-dir", sitesDir, "--out", out, "--force")
	if code != 0 {
		t.Errorf("--force: exit %d, %s", code, stderr)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("want only moutse.xlsx in the folder (no temporary files left), got %v", names)
	}
}

func TestInstrumentXFormToStdoutAndFile(t *testing.T) {
	code, stdout, stderr := run(t, "", "instrument", "xform", "--site", "johannesburg", "--sites-dir", sitesDir, "--out", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		XMLName xml.Name
		Head    struct {
			Model struct {
				Instance struct {
					Data struct {
						ID      string `xml:"id,attr"`
						Version string `xml:"version,attr"`
					} `xml:"data"`
				} `xml:"instance"`
			} `xml:"model"`
		} `xml:"head"`
	}
	if err := xml.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("standard output is not the XForm: %v", err)
	}
	if doc.XMLName.Local != "html" || doc.Head.Model.Instance.Data.ID != "khula_johannesburg" || doc.Head.Model.Instance.Data.Version != "002000000_002000000" {
		t.Errorf("XForm %+v", doc)
	}
	if !strings.Contains(stderr, "wrote standard output: XForm khula_johannesburg") || !strings.Contains(stderr, "languages English (en)") {
		t.Errorf("status line on standard error: %q", stderr)
	}

	out := filepath.Join(t.TempDir(), "moutse.xml")
	code, stdout, stderr = run(t, "", "instrument", "xform", "--site", "moutse", "--sites-dir", sitesDir, "--out", out)
	if code != 0 || !strings.HasPrefix(stdout, "wrote "+out+": XForm khula_moutse") {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("<?xml")) || !bytes.Contains(data, []byte(`lang="Sepedi (nso)" default="true()"`)) {
		t.Errorf("the file does not look like the Moutse XForm:\n%.300s", data)
	}
}

func TestInstrumentODKUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no site", []string{"instrument", "xform", "--out", "-"}, "--site is required"},
		{"no out", []string{"instrument", "xlsform", "--site", "moutse"}, "--out FILE is required"},
		{"xlsform to stdout", []string{"instrument", "xlsform", "--site", "moutse", "--out", "-"}, "give a file name"},
		{"unknown site", []string{"instrument", "xform", "--site", "atlantis", "--sites-dir", sitesDir, "--out", "-"}, `no site "atlantis" (the sites are johannesburg, moutse`},
		{"out is a folder", []string{"instrument", "xform", "--site", "moutse", "--sites-dir", sitesDir, "--out", dir}, "is a directory"},
	}
	for _, tt := range tests {
		code, stdout, stderr := run(t, "", tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and %q", tt.name, code, stderr, tt.want)
		}
		if stdout != "" {
			t.Errorf("%s: nothing must be written to standard output, got %.100q", tt.name, stdout)
		}
	}
}
