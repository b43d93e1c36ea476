package web_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// needChromium skips the test when Debian's Chromium is not installed, or
// fails it on CI, which installs it.
func needChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: CI installs Debian's chromium (apt-get install -y chromium)", chromiumPath)
		}
		t.Skipf("browser tests need Debian's chromium at %s: apt-get install -y chromium", chromiumPath)
	}
}

// newChromium starts a headless Chromium with the profile in profileDir
// and the extra options (a window size, say), opens a blank tab on a
// context without a deadline, and returns the tab's context with the
// timeout for the test's steps. The cancel function closes the tab and
// the browser.
func newChromium(t *testing.T, profileDir string, timeout time.Duration, extra ...chromedp.ExecAllocatorOption) (context.Context, context.CancelFunc) {
	t.Helper()
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profileDir),
	}, extra...)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(alloc)
	// Start the browser on a context without a deadline; the steps get one.
	if err := chromedp.Do(browserCtx, chromedp.Navigate("about:blank")); err != nil {
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("starting chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(browserCtx, timeout)
	return ctx, func() { cancel(); cancelBrowser(); cancelAlloc() }
}
