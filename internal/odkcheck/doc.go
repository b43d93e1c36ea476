// Package odkcheck loads XForms in ODK's own form engine, running in a real
// headless Chromium, and reports per form whether the engine accepted it.
//
// # Why
//
// khula generates ODK XForms (XML) from its instruments, and a form that ODK
// Collect or ODK Web Forms rejects is a form nobody can fill in. The usual
// reference check, pyxform with ODK Validate, comes from PyPI, which this
// project's machines and CI cannot reach. ODK's JavaScript
// form engine, @getodk/xforms-engine, is on the npm registry, which they can
// reach; it is the engine behind ODK Web Forms, and it runs in a browser. So
// the check is: bundle that engine, serve it from 127.0.0.1 to Debian's
// Chromium driven by chromedp, and hand it each form. The engine parses the
// XML, compiles every bind and body expression, builds the instance tree and
// evaluates it; this package also reads every label and hint in every itext
// language and serializes the blank instance. Any thrown error, any
// load-failure result, and any console.error or uncaught exception while a
// form is checked makes that form not OK, with the engine's message.
//
// # The engine and its cache
//
// The npm project lives in engine/: package.json pins the engine and esbuild
// exactly, package-lock.json pins the rest (only registry.npmjs.org URLs),
// and entry.js defines window.khulaCheck(xml). The three files are embedded
// in the Go binary. On first use Check copies them into the cache directory
// (Options.CacheDir, by default os.UserCacheDir()/khula/odk-engine-<version>),
// runs "npm ci --no-audit --no-fund --ignore-scripts" there, and bundles
// entry.js with esbuild into one browser ES module, bundle.js. A stamp file
// records the SHA-256 of the embedded files (and the bundling flags); later
// runs reuse bundle.js while the stamp matches, so only the first run needs
// npm and the network. An exclusive lock on the directory's .lock file keeps
// two processes (say two test binaries) from building at once, and bundle.js
// and the stamp are written to temporary names and renamed into place, so a
// reader never sees half a bundle.
//
// # The browser
//
// Check serves a small page and the bundle from an httptest.Server on
// 127.0.0.1 (modules need http, not file URLs), starts Chromium headless with
// the flags that keep it off the network (no background networking, no
// component updates, no sync, no first run) and a temporary profile, and
// evaluates window.khulaCheck for each form, awaiting its promise. A form that
// hangs the engine times out alone: its tab is closed and a fresh one checks
// the next form.
package odkcheck
