package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/khula-cop/khula/internal/app"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

// TestOfflineForms is the round trip of a fieldworker with no connection,
// in Debian's Chromium: online once (work list, forms and key kept), then
// the network is switched off through the DevTools protocol (and the
// server made unreachable, so nothing can leak through): three forms are
// filled and queued (a red flag shown at once with the safeguarding
// contact), the page is reloaded, the browser is closed and reopened, the
// network comes back, and each form arrives exactly once. A form whose
// window closed meanwhile comes back refused, with the reason, and stays
// on the device.
func TestOfflineForms(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded engine and a browser")
	}
	needChromium(t)
	shots := t.ArtifactDir()
	d, access, dataDir := startDevWith(t, 40)
	defer d.Stop(context.Background())

	// The browser reaches khula through a switch: "no connection" means the
	// server cannot be reached at all, service worker included.
	target, err := url.Parse(d.BaseURL)
	if err != nil {
		t.Fatal(err)
	}
	var down atomic.Bool
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			http.Error(w, "offline", http.StatusBadGateway)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	base := front.URL
	token := readToken(t, app.TokenFile(dataDir, app.SimulatorUser))

	// A wave whose windows stay open until closed (compressed days).
	callAPI(t, base, token, http.MethodPost, "/api/v1/waves", map[string]any{"site": "johannesburg", "number": 1, "day_length": "2s", "hold_windows": true}, http.StatusAccepted, http.StatusOK, http.StatusCreated)
	childA := waitForCycle(t, d.Store, "meadowlands", cycle.StageAssess)
	childB := waitForOtherCycle(t, d.Store, "meadowlands", cycle.StageAssess, childA)
	waitForCycles(t, d.Store, "meadowlands", cycle.StageAssess, 30)

	profile := t.TempDir()
	open := func() (*chrome, func()) {
		ctx, closeBrowser := newChromium(t, profile, 3*time.Minute, chromedp.WindowSize(360, 740))
		br := &chrome{t: t, ctx: ctx, base: base, shots: shots}
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			t.Fatalf("network events: %v", err)
		}
		return br, closeBrowser
	}
	setOffline := func(br *chrome, off bool) {
		t.Helper()
		down.Store(off)
		yes := true
		if _, err := chromedp.Call(br.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			EmulateOfflineServiceWorker: &yes,
			MatchedNetworkConditions:    []*network.Conditions{{Offline: off, DownloadThroughput: -1, UploadThroughput: -1}},
		}); err != nil {
			t.Fatalf("network conditions: %v", err)
		}
		if _, err := chromedp.Call(br.ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: off, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
			t.Fatalf("network state: %v", err)
		}
	}

	br, closeBrowser := open()
	// Online once: sign in, open today's work; the service worker keeps
	// the work list and the forms it links, the page fetches the key.
	br.login("social-worker", access["social-worker"])
	br.open("/work", "Today's work")
	links := br.count(`a[data-offline]`)
	if links < 4*30 {
		br.fail("the work list links %d forms, want those of 30 children or more", links)
	}
	waitJS(br, fmt.Sprintf(`caches.open("khula-pages").then(c => c.keys()).then(k => k.filter(r => r.url.includes("/forms/")).length >= %d)`, links))
	waitJS(br, `Promise.resolve(Object.keys(sessionStorage).some(k => k.startsWith("khula.key.")))`)
	// What the first offline load of the work list costs on the device.
	kept := evalJS[int](br, `caches.open("khula-pages").then(c => c.keys().then(ks => Promise.all(ks.map(k => c.match(k).then(r => r.arrayBuffer()).then(b => b.byteLength))))).then(a => a.reduce((x, y) => x + y, 0))`)
	usage := evalJS[int](br, `navigator.storage.estimate().then(e => e.usage)`)
	t.Logf("work list with %d forms (%d children) kept: %d pages' bytes %.0f KB, the origin's storage %.0f KB", links, links/4, links+1, float64(kept)/1024, float64(usage)/1024)
	if usage > 2<<20 {
		t.Errorf("the origin uses %d bytes on the device for the work list, over the 2 MB budget", usage)
	}
	br.shot("offline-0-work-online")
	// Pages read online with a child's name (the child's page) are not
	// written to the device: only the work list for the device and forms.
	br.open(fmt.Sprintf("/cycles/johannesburg/1/%s", childA), "Child "+childA)
	waitJS(br, `new Promise(r => setTimeout(() => r(true), 300))`)
	if !evalJS[bool](br, `caches.open("khula-pages").then(c => c.keys()).then(k => k.every(r => r.url.includes("/forms/") || r.url.endsWith("/work?device=1")))`) {
		br.fail("the device keeps a page other than the work list and its forms")
	}
	// And the pages kept name no child (the copies drawn for the device).
	var kid store.Child
	if err := d.Store.DB(context.Background()).Where("id = ?", childA).Take(&kid).Error; err != nil {
		t.Fatal(err)
	}
	named := evalJS[int](br, fmt.Sprintf(`caches.open("khula-pages").then(c => c.keys().then(ks => Promise.all(ks.map(k => c.match(k).then(r =>
	  (r.headers.get("X-Khula-Kept") === "gzip" ? new Response(r.body.pipeThrough(new DecompressionStream("gzip"))) : r).text()))))).then(pages =>
	  pages.filter(p => p.includes(%q)).length)`, kid.FamilyName))
	if named != 0 {
		t.Errorf("%d pages kept on the device name a child", named)
	}

	setOffline(br, true)
	forms := []struct {
		child, respondent string
		fill              []chromedp.Action[chromedp.Void]
		flag              bool
	}{
		{childA, "nurse", []chromedp.Action[chromedp.Void]{
			chromedp.SendKeys(chromedp.CSS("#i-weight_kg"), "21"), chromedp.SendKeys(chromedp.CSS("#i-height_cm"), "118"),
			chromedp.Click(chromedp.CSS("#i-rthb_seen-1")), chromedp.Click(chromedp.CSS("#i-chronic_illness-1")),
			chromedp.Click(chromedp.CSS("#i-nurse_injury")),
		}, true},
		{childB, "nurse", []chromedp.Action[chromedp.Void]{
			chromedp.SendKeys(chromedp.CSS("#i-weight_kg"), "19.5"), chromedp.SendKeys(chromedp.CSS("#i-height_cm"), "111"),
			chromedp.Click(chromedp.CSS("#i-rthb_seen-1")), chromedp.Click(chromedp.CSS("#i-chronic_illness-1")),
		}, false},
		{childA, "teacher", []chromedp.Action[chromedp.Void]{
			chromedp.Click(chromedp.CSS(`input[name="a.edu_reading"][value="achieved"]`)),
			chromedp.Click(chromedp.CSS(`input[name="a.edu_number"][value="achieved"]`)),
			chromedp.SendKeys(chromedp.CSS("#i-edu_days_absent"), "2"),
		}, false},
	}
	for i, f := range forms {
		// Opened from the device: the network is off.
		br.do(chromedp.Navigate(base + fmt.Sprintf("/cycles/johannesburg/1/%s/forms/%s?phase=baseline", f.child, f.respondent)))
		br.wantText("h1", strings.ToUpper(f.respondent[:1])+f.respondent[1:]+" form")
		if i == 0 {
			// The device checks the form as the server would: a weight of
			// 500 kg is refused, in the server's words, before anything is queued.
			br.do(chromedp.SendKeys(chromedp.CSS("#i-weight_kg"), "500"))
			br.do(chromedp.Click(chromedp.CSS(`button[name=action][value=submit]`)))
			br.wantText("#errors-js", "“Weight” must be from 5 to 80")
			br.shot("offline-1-device-validation")
			evalJS[bool](br, `(document.querySelector("#i-weight_kg").value = "") === ""`)
		}
		br.do(f.fill...)
		br.do(chromedp.Click(chromedp.CSS(`button[name=action][value=submit]`)))
		br.wantText("#queued", "Saved on this device")
		if f.flag {
			br.wantText("#flag-alert", "Safeguarding")
			br.wantText("#flag-alert", "sw.meadowlands@example.org")
			br.shot("offline-2-red-flag-shown-offline")
		}
	}
	if n := outboxCount(br); n != 3 {
		br.fail("the outbox holds %d forms, want 3", n)
	}
	// Nothing reached the server.
	if n := assessmentsOf(t, d.Store, childA, childB); n != 0 {
		t.Fatalf("%d forms reached the server while offline", n)
	}
	// Queued answers are stored encrypted: no answer in clear in IndexedDB.
	clear := evalJS[bool](br, `new Promise(r => { const q = indexedDB.open("khula"); q.onsuccess = () => {
	  const g = q.result.transaction("outbox").objectStore("outbox").getAll(); g.onsuccess = () => r(JSON.stringify(g.result).includes("weight_kg")); }; })`)
	if clear {
		t.Error("the outbox keeps answers in clear")
	}

	// Reload with no connection: the outbox is still there and readable.
	br.do(chromedp.Navigate(base + "/work"))
	br.wantText("#outbox", "3 form(s) waiting")
	br.shot("offline-3-reloaded")

	// Close and reopen the browser, still offline: the key went with the
	// browser session, so the queue is locked, not lost.
	closeBrowser()
	br, closeBrowser = open()
	defer func() { closeBrowser() }()
	setOffline(br, true)
	br.do(chromedp.Navigate(base + "/work"))
	br.wantText("#outbox-locked", "sign in with a connection")
	br.shot("offline-4-reopened-locked")
	// A form filled now cannot be kept safely (no key): it stays on the page,
	// with a warning, rather than being lost or kept in clear.
	br.do(chromedp.Navigate(base + fmt.Sprintf("/cycles/johannesburg/1/%s/forms/child?phase=baseline", childA)))
	br.do(chromedp.Click(chromedp.CSS(`input[name="a.child_feels_safe"][value="yes"]`)))
	br.do(chromedp.Click(chromedp.CSS(`button[name=action][value=submit]`)))
	br.wantText("main", "Not saved on this device yet")
	if n := outboxCount(br); n != 3 {
		br.fail("the outbox holds %d forms after a locked submit, want the 3 queued before", n)
	}
	if !evalJS[bool](br, `document.querySelector('input[name="a.child_feels_safe"][value="yes"]').checked`) {
		br.fail("the answers typed while locked were lost")
	}
	br.shot("offline-4b-locked-form-kept-on-page")

	// Meanwhile the window of child B's baseline closes (the coordinator).
	down.Store(false)
	callAPI(t, d.BaseURL, token, http.MethodPost, fmt.Sprintf("/api/v1/cycles/johannesburg/1/%s/close-window", childB),
		map[string]any{"phase": "baseline", "reason": "family moved away"}, http.StatusAccepted)
	waitForStatusNot(t, d.Store, childB, cycle.StageAssess)

	// Back online: sign in again if the session did not survive the
	// browser's restart; the page fetches the key and the outbox sends itself.
	setOffline(br, false)
	br.do(chromedp.Navigate(base + "/work"))
	if br.count(`form[action="/login"]`) > 0 {
		signInAgain(br, "social-worker", access["social-worker"])
		br.do(chromedp.Navigate(base + "/work"))
	}
	waitJS(br, `Promise.resolve(!!document.querySelector('#outbox li[data-status="refused"]') && document.querySelectorAll('#outbox li').length === 1)`)
	br.wantText(`#outbox li[data-status="refused"]`, "not accepted")
	if reason := br.text(`#outbox li[data-status="refused"] .reason`); !strings.Contains(reason, "closed") && !strings.Contains(reason, "not accepting") {
		t.Errorf("the refused form's reason %q does not say the window or cycle closed", reason)
	}
	br.shot("offline-5-online-sent-one-refused")
	if got := assessmentsOf(t, d.Store, childA); got != 2 {
		t.Errorf("child A has %d forms on the server, want 2 (nurse and teacher, once each)", got)
	}
	if got := assessmentsOf(t, d.Store, childB); got != 0 {
		t.Errorf("child B has %d forms on the server after its window closed, want 0", got)
	}
	// The red flag acted on arrival: an urgent referral for child A.
	waitForUrgent(t, d.Store, childA)
	// Sending again sends nothing twice.
	br.do(chromedp.Click(chromedp.CSS("#outbox-send")))
	time.Sleep(time.Second)
	if got := assessmentsOf(t, d.Store, childA); got != 2 {
		t.Errorf("after sending again child A has %d forms, want 2", got)
	}
}

func readToken(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// callAPI calls khula's API with a token and checks the status.
func callAPI(t *testing.T, base, token, method, path string, body any, ok ...int) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, base+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", fmt.Sprintf("test-%d", time.Now().UnixNano()))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	for _, s := range ok {
		if res.StatusCode == s {
			return
		}
	}
	var p bytes.Buffer
	_, _ = p.ReadFrom(res.Body)
	t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, p.String())
}

func evalJS[T any](br *chrome, expr string) T {
	br.t.Helper()
	v, err := chromedp.Run(br.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		br.fail("evaluating %s: %v", clipText(expr), err)
	}
	return v
}

// waitJS waits until a promise-returning expression gives true.
func waitJS(br *chrome, expr string) {
	br.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if evalJS[bool](br, expr) {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	br.fail("waited 30 s for %s", clipText(expr))
}

func outboxCount(br *chrome) int {
	return evalJS[int](br, `new Promise(r => { const q = indexedDB.open("khula"); q.onsuccess = () => {
	  const g = q.result.transaction("outbox").objectStore("outbox").count(); g.onsuccess = () => r(g.result); }; })`)
}

// assessmentsOf counts the forms the server recorded for the children.
func assessmentsOf(t *testing.T, st *store.Store, children ...string) int64 {
	t.Helper()
	var n int64
	for _, c := range children {
		var k int64
		if err := st.DB(context.Background()).Model(&store.Assessment{}).Where("cycle_id LIKE ?", "%/"+c).Count(&k).Error; err != nil {
			t.Fatal(err)
		}
		n += k
	}
	return n
}

// waitForOtherCycle is waitForCycle for a child other than skip.
func waitForOtherCycle(t *testing.T, st *store.Store, school, stage, skip string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var c store.Cycle
		err := st.DB(context.Background()).Where("school_id = ? AND stage = ? AND child_id <> ?", school, stage, skip).Order("id").First(&c).Error
		if err == nil {
			return c.ChildID
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no second cycle of %s reached %s", school, stage)
	return ""
}

// waitForStatusNot waits until the child's cycle has left a stage.
func waitForStatusNot(t *testing.T, st *store.Store, child, stage string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var c store.Cycle
		if err := st.DB(context.Background()).Where("child_id = ?", child).First(&c).Error; err == nil && c.Stage != stage {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("child %s is still at %s", child, stage)
}

// waitForCycles waits until n cycles of a school are at a stage.
func waitForCycles(t *testing.T, st *store.Store, school, stage string, n int64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var got int64
	for time.Now().Before(deadline) {
		if err := st.DB(context.Background()).Model(&store.Cycle{}).Where("school_id = ? AND stage = ?", school, stage).Count(&got).Error; err == nil && got >= n {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%d cycles of %s at %s, want %d", got, school, stage, n)
}

// signInAgain signs in on a reopened browser. The sign-in form's token
// lives in a cookie; a browser just restarted can still be settling its
// cookie store, and a first attempt may find the form expired (403): the
// page then offers a fresh form, as a person would see.
func signInAgain(br *chrome, user, password string) {
	br.t.Helper()
	for attempt := 1; ; attempt++ {
		br.openStatus("/login", http.StatusOK)
		br.do(chromedp.SendKeys(chromedp.CSS("#username"), user), chromedp.SendKeys(chromedp.CSS("#password"), password))
		res, err := chromedp.RunResponse(br.ctx, chromedp.Click(chromedp.CSS(`form[action="/login"] button`)))
		if err != nil {
			br.fail("signing in: %v", err)
		}
		if res.Status == http.StatusOK && br.count(`form.signout`) == 1 {
			return
		}
		if attempt == 3 {
			br.fail("signing in again answered %d three times", res.Status)
		}
	}
}
