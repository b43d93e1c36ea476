package odkcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// DefaultChromiumPath is where Debian's chromium package puts the browser.
const DefaultChromiumPath = "/usr/bin/chromium"

// Options configure Check. The zero value works on a machine with Debian's
// Chromium and npm.
type Options struct {
	// ChromiumPath is the browser to run. Empty means DefaultChromiumPath
	// when it exists, else chromedp's search of the usual names.
	ChromiumPath string
	// CacheDir holds the npm install and the engine bundle. Empty means
	// os.UserCacheDir()/khula/odk-engine-<EngineVersion>.
	CacheDir string
	// NPMPath is the npm to run when the cache must be built. Empty means
	// "npm" on PATH.
	NPMPath string
	// FormTimeout bounds the engine's work on one form. Zero means a minute.
	FormTimeout time.Duration
	// Logf, when set, gets progress lines (the build, the browser, each form).
	Logf func(format string, args ...any)
}

// Report is what ODK's form engine made of one form.
type Report struct {
	// OK says that the engine loaded the form, built an instance from it,
	// rendered every text in every language and serialized the instance,
	// with no error, no console error and no uncaught exception.
	OK bool
	// Errors are the engine's messages when OK is false.
	Errors []string
	// Warnings are the engine's load warnings and console warnings; they
	// do not make a form fail.
	Warnings []string
	// Questions counts the leaf questions the engine built: its control
	// nodes (input, select, note, range, rank, trigger, upload) in every
	// group and repeat instance, relevant or not. Model-only values
	// (calculates, meta) are not questions.
	Questions int
	// Languages are the form's itext languages as the engine lists them;
	// empty for a form without itext.
	Languages []string
	// ActiveLanguage is the language the engine starts in (the form's
	// default); empty for a form without itext.
	ActiveLanguage string
}

// result is what window.khulaCheck resolves to, plus the page's console.
type result struct {
	OK             bool     `json:"ok"`
	Errors         []string `json:"errors"`
	Warnings       []string `json:"warnings"`
	Questions      int      `json:"questions"`
	Languages      []string `json:"languages"`
	ActiveLanguage string   `json:"activeLanguage"`
	Engine         string   `json:"engine"`
	Console        []struct {
		Level string `json:"level"`
		Text  string `json:"text"`
	} `json:"console"`
}

// pageHTML captures console errors and warnings and uncaught errors before
// it imports the bundle; window.khulaReady settles when the engine is ready.
const pageHTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>khula XForm check</title>
<script>
window.__khulaConsole = [];
(function () {
  const text = (v) => {
    if (v instanceof Error) return v.stack || String(v);
    if (typeof v === "string") return v;
    try { return JSON.stringify(v); } catch (e) { return String(v); }
  };
  for (const level of ["error", "warn"]) {
    const orig = console[level].bind(console);
    console[level] = (...args) => {
      window.__khulaConsole.push({ level, text: args.map(text).join(" ") });
      orig(...args);
    };
  }
  window.addEventListener("error", (e) => {
    window.__khulaConsole.push({ level: "exception", text: e.error ? text(e.error) : String(e.message) });
  });
  window.addEventListener("unhandledrejection", (e) => {
    window.__khulaConsole.push({ level: "exception", text: "unhandled rejection: " + text(e.reason) });
  });
  window.khulaReady = new Promise((resolve, reject) => {
    window.__khulaResolve = resolve;
    window.__khulaReject = reject;
  });
})();
</script>
<script type="module">
import("/engine.js").then(
  () => window.__khulaResolve(window.khulaEngineVersion || "unknown"),
  (err) => window.__khulaReject(new Error("loading the engine: " + (err && err.stack || err))),
);
</script>
</head><body></body></html>
`

// checkExpr checks one form: it clears the console log, runs the engine,
// lets queued errors (timers, unhandled rejections) surface, and returns
// the result with the log.
const checkExpr = `(async (xml) => {
  window.__khulaConsole.length = 0;
  const r = await window.khulaCheck(xml);
  for (let i = 0; i < 2; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  r.console = window.__khulaConsole.splice(0);
  return r;
})(%s)`

// Check loads each XForm in ODK's form engine running in headless Chromium
// and reports, per form, whether the engine accepted it and what it said.
//
// The error is for the check itself (npm, the bundle, the browser, the
// context); a form the engine rejects is a Report with OK false.
func Check(ctx context.Context, forms map[string][]byte, opts Options) (map[string]Report, error) {
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if len(forms) == 0 {
		return map[string]Report{}, nil
	}
	formTimeout := opts.FormTimeout
	if formTimeout <= 0 {
		formTimeout = time.Minute
	}
	cacheDir := opts.CacheDir
	if cacheDir == "" {
		cacheDir = defaultCacheDir()
	}
	npm := opts.NPMPath
	if npm == "" {
		npm = "npm"
	}
	if p, err := exec.LookPath(npm); err == nil {
		npm = p
	} else if _, ok := cachedBundleIfAny(cacheDir); !ok {
		return nil, fmt.Errorf("odkcheck: npm is needed to build the ODK form engine once (apt-get install -y npm): %w", err)
	}

	bundle, err := loadBundle(ctx, cacheDir, npm, logf)
	if err != nil {
		return nil, err
	}

	srv := httptest.NewServer(pageHandler(bundle))
	defer srv.Close()

	b, err := startBrowser(ctx, opts.ChromiumPath, srv.URL, logf)
	if err != nil {
		return nil, err
	}
	defer b.close()

	names := make([]string, 0, len(forms))
	for name := range forms {
		names = append(names, name)
	}
	slices.Sort(names)

	reports := make(map[string]Report, len(forms))
	for _, name := range names {
		start := time.Now()
		rep, err := b.check(ctx, forms[name], formTimeout)
		if err != nil {
			return nil, fmt.Errorf("odkcheck: %s: %w", name, err)
		}
		reports[name] = rep
		if rep.OK {
			logf("odkcheck: %s: OK, %d questions, languages %v (%s)", name, rep.Questions, rep.Languages, time.Since(start).Round(time.Millisecond))
		} else {
			logf("odkcheck: %s: rejected: %s", name, strings.Join(rep.Errors, "; "))
		}
	}
	return reports, nil
}

// CheckFiles is Check on files, keyed by their paths.
func CheckFiles(ctx context.Context, paths []string, opts Options) (map[string]Report, error) {
	forms := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("odkcheck: %w", err)
		}
		forms[p] = b
	}
	return Check(ctx, forms, opts)
}

// cachedBundleIfAny reports whether dir holds an up-to-date bundle, without
// the lock: it only decides whether npm must be found.
func cachedBundleIfAny(dir string) ([]byte, bool) {
	want, err := engineHash()
	if err != nil {
		return nil, false
	}
	return cachedBundle(dir, want)
}

// pageHandler serves the page and the bundle.
func pageHandler(bundle []byte) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprint(w, pageHTML)
	})
	mux.HandleFunc("GET /engine.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(bundle)
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// browser is a Chromium with the check page open in one tab.
type browser struct {
	url    string
	logf   func(string, ...any)
	cancel func() // stops the browser

	root context.Context // owns the browser process

	tab       context.Context // the tab that checks forms
	cancelTab context.CancelFunc
	events    *pageEvents
}

// pageEvents collects exceptions and console errors that the page reports
// through the DevTools protocol, for errors the page's own capture misses
// (a bundle that does not parse, say).
type pageEvents struct {
	mu   sync.Mutex
	msgs []string
}

func (e *pageEvents) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = "exception: " + exceptionText(ev.ExceptionDetails)
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		parts := make([]string, 0, len(ev.Args))
		for _, a := range ev.Args {
			switch {
			case a.Description != "":
				parts = append(parts, a.Description)
			case len(a.Value) > 0:
				parts = append(parts, string(a.Value))
			default:
				parts = append(parts, string(a.Type))
			}
		}
		msg = "console." + string(ev.Type) + ": " + strings.Join(parts, " ")
	default:
		return
	}
	e.mu.Lock()
	e.msgs = append(e.msgs, msg)
	e.mu.Unlock()
}

func (e *pageEvents) take() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.msgs
	e.msgs = nil
	return m
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "unknown exception"
	}
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return d.Text
}

// startBrowser starts Chromium and opens the check page.
func startBrowser(ctx context.Context, path, url string, logf func(string, ...any)) (*browser, error) {
	if path == "" {
		if _, err := os.Stat(DefaultChromiumPath); err == nil {
			path = DefaultChromiumPath
		}
	}
	profile, err := os.MkdirTemp("", "khula-odkcheck-chromium-")
	if err != nil {
		return nil, fmt.Errorf("odkcheck: %w", err)
	}
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.UserDataDir(profile),
	)
	if path != "" {
		opts = append(opts, chromedp.ExecPath(path))
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	root, cancelRoot := chromedp.NewContext(alloc)
	b := &browser{url: url, logf: logf, root: root}
	b.cancel = func() {
		cancelRoot()
		cancelAlloc()
		os.RemoveAll(profile)
	}
	name := path
	if name == "" {
		name = "chromium (found by chromedp)"
	}
	// The first Run starts the browser; it gets no deadline of its own.
	start := time.Now()
	if err := chromedp.Do(root, chromedp.Navigate("about:blank")); err != nil {
		b.cancel()
		return nil, fmt.Errorf("odkcheck: starting %s: %w", name, err)
	}
	logf("odkcheck: started %s (%s)", name, time.Since(start).Round(time.Millisecond))
	if err := b.openTab(ctx); err != nil {
		b.cancel()
		return nil, err
	}
	return b, nil
}

// openTab opens a fresh tab on the check page and waits for the engine.
func (b *browser) openTab(ctx context.Context) error {
	if b.cancelTab != nil {
		b.cancelTab()
	}
	b.events = &pageEvents{}
	b.tab, b.cancelTab = chromedp.NewContext(b.root, chromedp.WithListener(b.events.listen))
	if err := chromedp.Do(b.tab, chromedp.Navigate("about:blank")); err != nil {
		return fmt.Errorf("odkcheck: opening a tab: %w", err)
	}
	start := time.Now()
	lctx, cancel := context.WithTimeout(b.tab, 2*time.Minute)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	if err := chromedp.Do(lctx, chromedp.Navigate(b.url+"/")); err != nil {
		return fmt.Errorf("odkcheck: opening the check page: %w", err)
	}
	version, err := chromedp.Run(lctx, chromedp.Evaluate[string]("window.khulaReady", chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("odkcheck: loading the ODK form engine in Chromium: %w%s", err, joinEvents(b.events.take()))
	}
	if version != EngineVersion {
		return fmt.Errorf("odkcheck: the bundle holds @getodk/xforms-engine %s, want %s", version, EngineVersion)
	}
	b.events.take()
	b.logf("odkcheck: ODK form engine %s ready in Chromium (%s)", version, time.Since(start).Round(time.Millisecond))
	return nil
}

func joinEvents(msgs []string) string {
	if len(msgs) == 0 {
		return ""
	}
	return "\npage: " + strings.Join(msgs, "\npage: ")
}

// check runs one form through the engine. A form that times out is a failed
// Report and leaves a fresh tab for the next form; an error means the check
// itself broke (the context ended, the browser died).
func (b *browser) check(ctx context.Context, xml []byte, timeout time.Duration) (Report, error) {
	arg, err := json.Marshal(string(xml))
	if err != nil {
		return Report{}, err
	}
	fctx, cancel := context.WithTimeout(b.tab, timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()

	b.events.take()
	res, err := chromedp.Run(fctx, chromedp.Evaluate[result](fmt.Sprintf(checkExpr, arg), chromedp.EvalAwaitPromise))
	events := b.events.take()
	if err != nil {
		if ctx.Err() != nil {
			return Report{}, ctx.Err()
		}
		if errors.Is(fctx.Err(), context.DeadlineExceeded) {
			rep := Report{Errors: []string{fmt.Sprintf("the engine did not finish with the form within %s", timeout)}}
			if err := b.openTab(ctx); err != nil {
				return Report{}, err
			}
			return rep, nil
		}
		var exc *chromedp.ExceptionError
		if errors.As(err, &exc) {
			// khulaCheck never rejects; an exception here is the page's.
			return Report{Errors: append([]string{"the check page threw: " + exceptionText(exc.ExceptionDetails)}, events...)}, nil
		}
		return Report{}, err
	}

	rep := Report{
		OK:             res.OK,
		Errors:         res.Errors,
		Warnings:       res.Warnings,
		Questions:      res.Questions,
		Languages:      res.Languages,
		ActiveLanguage: res.ActiveLanguage,
	}
	for _, c := range res.Console {
		switch c.Level {
		case "warn":
			rep.Warnings = append(rep.Warnings, "console.warn: "+c.Text)
		case "error":
			rep.Errors = append(rep.Errors, "console.error: "+c.Text)
		default:
			rep.Errors = append(rep.Errors, c.Text)
		}
	}
	if len(rep.Errors) > 0 {
		rep.OK = false
	}
	if rep.Languages == nil {
		rep.Languages = []string{}
	}
	return rep, nil
}

func (b *browser) close() {
	if b.cancelTab != nil {
		b.cancelTab()
	}
	b.cancel()
}
