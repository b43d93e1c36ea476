package odkform

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/odkcheck"
)

// TestGeneratedXFormsLoadInODKsEngine writes each shipped site's XForm and
// loads it in ODK's own form engine (@getodk/xforms-engine) in Chromium:
// every form must load, build an instance, render every text in every
// language and serialise, with one question per field the form declares.
func TestGeneratedXFormsLoadInODKsEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ODK's form engine in Chromium")
	}
	for what, path := range map[string]string{"Chromium": odkcheck.DefaultChromiumPath} {
		if _, err := os.Stat(path); err != nil {
			skipOrFail(t, what+" is missing: apt-get install -y chromium")
		}
	}
	if _, err := exec.LookPath("npm"); err != nil {
		skipOrFail(t, "npm is missing: apt-get install -y npm")
	}
	forms := map[string][]byte{}
	fields := map[string]int{}
	langs := map[string]int{}
	for _, id := range []string{"moutse", "johannesburg"} {
		site, in := shipped(t, id)
		f, err := Build(in, site)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		var b bytes.Buffer
		if err := WriteXForm(&b, f); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		forms[id] = b.Bytes()
		fields[id] = f.Fields()
		langs[id] = len(f.Languages)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	reports, err := odkcheck.Check(ctx, forms, odkcheck.Options{CacheDir: os.Getenv("KHULA_ODKCHECK_CACHE"), Logf: t.Logf})
	if err != nil {
		t.Fatalf("running ODK's engine: %v", err)
	}
	for id, r := range reports {
		t.Logf("%s: ok=%v questions=%d languages=%v warnings=%v", id, r.OK, r.Questions, r.Languages, r.Warnings)
		if !r.OK {
			t.Errorf("%s: ODK's engine refused the form: %v", id, r.Errors)
		}
		if r.Questions != fields[id] {
			t.Errorf("%s: the engine built %d questions, the form declares %d fields", id, r.Questions, fields[id])
		}
		if len(r.Languages) != langs[id] && !(langs[id] <= 1 && len(r.Languages) <= 1) {
			t.Errorf("%s: the engine lists languages %v, the form has %d", id, r.Languages, langs[id])
		}
	}
}

func skipOrFail(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI installs it)")
	}
	t.Skip(msg)
}
