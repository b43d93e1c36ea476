package odkcheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeEngine stands in for the bundle, to test the Go side without npm: it
// answers like window.khulaCheck, hangs on "hang", and logs on "console".
const fakeEngine = `
window.khulaEngineVersion = "` + EngineVersion + `";
window.khulaCheck = async (xml) => {
  const ok = { ok: true, errors: [], warnings: [], questions: xml.length, languages: ["xx"], activeLanguage: "xx" };
  if (xml === "hang") { for (;;) {} }
  if (xml === "console") {
    console.error("boom", { at: 1 });
    console.warn("careful");
    return ok;
  }
  if (xml === "late") {
    setTimeout(() => { throw new Error("thrown after the check"); }, 0);
    Promise.reject(new Error("never caught"));
    return ok;
  }
  if (xml === "bad") return { ...ok, ok: false, errors: ["engine said no"] };
  return ok;
};
`

// fakeCache makes a cache directory whose stamp matches, holding bundle.
func fakeCache(t *testing.T, bundle string) string {
	t.Helper()
	dir := t.TempDir()
	hash, err := engineHash()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, bundleName), []byte(bundle), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, stampName), []byte(hash+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func needChromium(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs Chromium")
	}
	if _, err := os.Stat(DefaultChromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: CI installs it (apt-get install -y chromium)", DefaultChromiumPath)
		}
		t.Skipf("needs %s: apt-get install -y chromium", DefaultChromiumPath)
	}
}

// TestCheckBrowserSide runs Check on a fake engine: results pass through,
// console errors fail a form and warnings do not, errors thrown after a
// check belong to it, and a form that hangs times out alone.
func TestCheckBrowserSide(t *testing.T) {
	needChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	reports, err := Check(ctx, map[string][]byte{
		"a-fine":    []byte("fine"),
		"b-console": []byte("console"),
		"c-hang":    []byte("hang"),
		"d-late":    []byte("late"),
		"e-bad":     []byte("bad"),
		"f-after":   []byte("after the hang"),
	}, Options{
		CacheDir:    fakeCache(t, fakeEngine),
		NPMPath:     "/nonexistent/npm",
		FormTimeout: 3 * time.Second,
		Logf:        t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range reports {
		t.Logf("%s: %+v", name, r)
	}
	if r := reports["a-fine"]; !r.OK || r.Questions != 4 || len(r.Languages) != 1 || r.ActiveLanguage != "xx" {
		t.Errorf("a-fine: %+v", r)
	}
	r := reports["b-console"]
	if r.OK || len(r.Errors) != 1 || !strings.Contains(r.Errors[0], `console.error: boom {"at":1}`) {
		t.Errorf("b-console: errors %q, want the console.error", r.Errors)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "careful") {
		t.Errorf("b-console: warnings %q, want the console.warn", r.Warnings)
	}
	if r := reports["c-hang"]; r.OK || len(r.Errors) != 1 || !strings.Contains(r.Errors[0], "did not finish") {
		t.Errorf("c-hang: %+v, want a timeout", r)
	}
	r = reports["d-late"]
	if msg := strings.Join(r.Errors, "\n"); r.OK || !strings.Contains(msg, "thrown after the check") || !strings.Contains(msg, "never caught") {
		t.Errorf("d-late: errors %q, want both late errors", r.Errors)
	}
	if r := reports["e-bad"]; r.OK || len(r.Errors) != 1 || r.Errors[0] != "engine said no" {
		t.Errorf("e-bad: %+v", r)
	}
	if r := reports["f-after"]; !r.OK || r.Questions != len("after the hang") {
		t.Errorf("f-after: %+v, want checked in a fresh tab", r)
	}
}

// TestCheckBrokenBundle: a bundle that fails to load is an error of Check,
// with the page's exception in it.
func TestCheckBrokenBundle(t *testing.T) {
	needChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := Check(ctx, map[string][]byte{"x": []byte("x")}, Options{
		CacheDir: fakeCache(t, `throw new Error("bundle is broken");`),
		NPMPath:  "/nonexistent/npm",
	})
	if err == nil || !strings.Contains(err.Error(), "bundle is broken") {
		t.Fatalf("err = %v, want the bundle's exception", err)
	}
}

// TestCachedBundle: a bundle counts only with a stamp of the embedded files.
func TestCachedBundle(t *testing.T) {
	dir := fakeCache(t, "bundle")
	want, _ := engineHash()
	if b, ok := cachedBundle(dir, want); !ok || string(b) != "bundle" {
		t.Fatalf("cachedBundle = %q, %v; want the bundle", b, ok)
	}
	if _, ok := cachedBundle(dir, "other"); ok {
		t.Error("a stale stamp was accepted")
	}
	os.Remove(filepath.Join(dir, stampName))
	if _, ok := cachedBundle(dir, want); ok {
		t.Error("a bundle without a stamp was accepted")
	}
}

// TestCheckNeedsNPM: without a cached bundle and without npm, Check says
// what to install.
func TestCheckNeedsNPM(t *testing.T) {
	_, err := Check(context.Background(), map[string][]byte{"x": []byte("x")}, Options{
		CacheDir: t.TempDir(),
		NPMPath:  "/nonexistent/npm",
	})
	if err == nil || !strings.Contains(err.Error(), "npm") {
		t.Fatalf("err = %v, want one that names npm", err)
	}
}
