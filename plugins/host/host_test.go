package host

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/sites"
)

// receiver is a webhook endpoint that deduplicates on the Idempotency-Key
// header, as the protocol asks receivers to.
type receiver struct {
	mu        sync.Mutex
	requests  []string          // Idempotency-Key of every request, in order
	delivered map[string]string // key -> the ref given at first delivery
	bodies    map[string][]byte
	// onRequest runs for each request after it is recorded; return false
	// to send no reply (the request is held until the client goes away).
	onRequest func(n int, key string) bool
}

func newReceiver(t *testing.T) (*receiver, *httptest.Server) {
	r := &receiver{delivered: map[string]string{}, bodies: map[string][]byte{}}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	key := req.Header.Get("Idempotency-Key")
	body, _ := io.ReadAll(req.Body)
	rc.mu.Lock()
	rc.requests = append(rc.requests, key)
	n := len(rc.requests)
	ref, seen := rc.delivered[key]
	if !seen {
		ref = "rcv-" + string(rune('a'+len(rc.delivered)))
		rc.delivered[key] = ref
		rc.bodies[key] = body
	}
	hook := rc.onRequest
	rc.mu.Unlock()
	if hook != nil && !hook(n, key) {
		// No answer: hold the request until the client is gone.
		select {
		case <-req.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"ref": ref})
}

func (rc *receiver) counts() (requests, delivered int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.requests), len(rc.delivered)
}

func webhookSite(id, url string) *sites.Site {
	return testSite(id, sites.Plugins{Referral: sites.PluginRef{Builtin: "directory"}},
		sites.Service{ID: "svc-hook", Name: "Family support NGO", Type: "family_strengthening", Domains: []string{"caregiver"},
			Contact: sites.Contact{Channel: "webhook", Address: url}})
}

func referral(key string) plugins.ReferralRequest {
	return plugins.ReferralRequest{IdempotencyKey: key, SiteID: "s1", SchoolID: "school-a", ServiceID: "svc-hook",
		ServiceType: "family_strengthening", Domain: "caregiver", ChildRef: "cycle/s1/1/child-7", Language: "nso"}
}

// The plugin is SIGKILLed after the receiver got the referral and before it
// could answer. The host reports a retryable crash, restarts the plugin on
// the retry, and the plugin resends under the same Idempotency-Key: the
// receiver holds one delivery per key and the host returns its receipt.
func TestCrashMidDispatchDeliversExactlyOnce(t *testing.T) {
	t.Parallel()
	rc, srv := newReceiver(t)
	h, _ := newHost(t, Options{}, webhookSite("s1", srv.URL))
	rc.onRequest = func(n int, key string) bool {
		if n == 1 {
			if err := syscall.Kill(pidOf(h, "s1", plugins.RoleReferral), syscall.SIGKILL); err != nil {
				t.Errorf("killing the plugin: %v", err)
			}
			return false
		}
		return true
	}
	ref, err := h.Referrer("s1")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = ref.Dispatch(ctx, referral("referral/s1/1/child-7/0"))
	if !errors.Is(err, ErrCrashed) || !errors.Is(err, plugins.ErrUnavailable) || errors.Is(err, plugins.ErrPermanent) {
		t.Fatalf("dispatch during the crash: %v; want a retryable ErrCrashed", err)
	}
	// The activity's retry.
	rec, err := ref.Dispatch(ctx, referral("referral/s1/1/child-7/0"))
	if err != nil {
		t.Fatalf("retry after the crash: %v", err)
	}
	if rec.DispatchRef != "rcv-a" {
		t.Errorf("receipt %+v, want the receiver's first reference rcv-a", rec)
	}
	// A further retry is answered from the journal, without a request.
	again, err := ref.Dispatch(ctx, referral("referral/s1/1/child-7/0"))
	if err != nil || !again.Duplicate || again.DispatchRef != "rcv-a" {
		t.Errorf("third dispatch: %+v, %v; want the same receipt as a duplicate", again, err)
	}
	// Other referrals go through the restarted plugin normally.
	for _, k := range []string{"referral/s1/1/child-8/0", "referral/s1/1/child-9/0"} {
		if _, err := ref.Dispatch(ctx, referral(k)); err != nil {
			t.Fatal(err)
		}
	}
	requests, delivered := rc.counts()
	if delivered != 3 || requests != 4 {
		t.Errorf("receiver saw %d requests for %d keys, want 4 requests (one resend) for 3 keys", requests, delivered)
	}
	rc.mu.Lock()
	if rc.requests[0] != rc.requests[1] || rc.requests[0] != "referral/s1/1/child-7/0" {
		t.Errorf("the resend carried Idempotency-Key %q, the first %q", rc.requests[1], rc.requests[0])
	}
	var body map[string]any
	json.Unmarshal(rc.bodies["referral/s1/1/child-7/0"], &body)
	rc.mu.Unlock()
	if body["child_ref"] != "cycle/s1/1/child-7" || body["service_id"] != "svc-hook" || body["idempotency_key"] != "referral/s1/1/child-7/0" {
		t.Errorf("webhook body %v", body)
	}
	m := h.metrics
	if got := testutil.ToFloat64(m.restarts.WithLabelValues("s1", "referral", "directory")); got != 1 {
		t.Errorf("restarts_total = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.errors.WithLabelValues("s1", "referral", "directory", "Dispatch", kindCrash)); got != 1 {
		t.Errorf("errors_total{kind=crash} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.calls.WithLabelValues("s1", "referral", "directory", "Dispatch")); got != 5 {
		t.Errorf("calls_total = %v, want 5", got)
	}
	st, err := h.ReferralService("s1")
	if err != nil {
		t.Fatal(err)
	}
	status, err := st.Status(ctx, "referral/s1/1/child-7/0")
	if err != nil || status.State != plugins.ReferralDispatched || status.DispatchRef != "rcv-a" {
		t.Errorf("Status = %+v, %v", status, err)
	}
}

// A plugin that dies between calls is restarted by the next call, which succeeds.
func TestIdleCrashRestartsOnNextCall(t *testing.T) {
	t.Parallel()
	_, srv := newReceiver(t)
	h, reg := newHost(t, Options{}, webhookSite("s1", srv.URL))
	ref, err := h.Referrer("s1")
	if err != nil {
		t.Fatal(err)
	}
	pid := pidOf(h, "s1", plugins.RoleReferral)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return pidOf(h, "s1", plugins.RoleReferral) == 0 })
	if _, err := ref.Dispatch(context.Background(), referral("k1")); err != nil {
		t.Fatalf("dispatch after an idle crash: %v", err)
	}
	if p := pidOf(h, "s1", plugins.RoleReferral); p == 0 || p == pid {
		t.Errorf("plugin pid %d after restart (was %d)", p, pid)
	}
	if got := testutil.ToFloat64(h.metrics.restarts.WithLabelValues("s1", "referral", "directory")); got != 1 {
		t.Errorf("restarts_total = %v, want 1", got)
	}
	if n, err := testutil.GatherAndCount(reg, "khula_plugin_calls_total", "khula_plugin_call_duration_seconds", "khula_plugin_restarts_total"); err != nil || n != 3 {
		t.Errorf("registry holds %d series (%v), want 3", n, err)
	}
}

func TestChecksumMismatchIsRefused(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	actual := sha256File(t, exe)
	pinned := strings.Repeat("ab", 32)
	s := testSite("s1", sites.Plugins{Notify: sites.PluginRef{Path: exe, SHA256: pinned}})
	h, _ := newHost(t, Options{}, s)
	_, err = h.Notifier("s1")
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("err = %v, want ErrChecksum", err)
	}
	for _, want := range []string{`site "s1"`, "notify plugin", pinned, actual, exe} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if pidOf(h, "s1", plugins.RoleNotify) != 0 {
		t.Error("a plugin with the wrong checksum is running")
	}
	s.Plugins.Notify.SHA256 = "not-hex"
	h2, _ := newHost(t, Options{}, s)
	if _, err := h2.Notifier("s1"); !errors.Is(err, ErrChecksum) {
		t.Errorf("malformed pin: %v", err)
	}
}

func TestProtocolMismatchIsRefused(t *testing.T) {
	t.Parallel()
	h, _ := newHost(t, Options{}, testSite("s1", sites.Plugins{Referral: sites.PluginRef{Builtin: "v2"}}))
	_, err := h.Referrer("s1")
	if !errors.Is(err, ErrProtocol) {
		t.Fatalf("err = %v, want ErrProtocol", err)
	}
	if !strings.Contains(err.Error(), `plugin "v2" of site "s1" speaks protocol 2, khula speaks 1`) {
		t.Errorf("error %q does not say which protocols", err)
	}
}

func TestHangingCallTimesOut(t *testing.T) {
	t.Parallel()
	h, _ := newHost(t, Options{CallTimeout: 300 * time.Millisecond}, testSite("s1", sites.Plugins{Referral: sites.PluginRef{Builtin: "hang"}}))
	ref, err := h.ReferralService("s1")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = ref.Dispatch(context.Background(), referral("k"))
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, plugins.ErrUnavailable) || errors.Is(err, plugins.ErrPermanent) {
		t.Fatalf("err = %v, want a retryable ErrTimeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the time-out took %v", d)
	}
	// The process still answers other calls: it is not restarted.
	if _, err := ref.Status(context.Background(), "k"); err != nil {
		t.Errorf("Status after a time-out: %v", err)
	}
	if got := testutil.ToFloat64(h.metrics.errors.WithLabelValues("s1", "referral", "hang", "Dispatch", kindTimeout)); got != 1 {
		t.Errorf("errors_total{kind=timeout} = %v", got)
	}
	if got := testutil.ToFloat64(h.metrics.restarts.WithLabelValues("s1", "referral", "hang")); got != 0 {
		t.Errorf("restarts_total = %v, want 0", got)
	}
}

func TestMisbehavingPluginsAreErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		plugin string
		start  bool // the failure shows at start
		want   string
	}{
		{"garbage", true, "did not answer the go-plugin handshake"},
		{"notify-only", true, "serves [notify], not referral"},
		{"empty-ref", false, "no dispatch reference"},
		{"panic", false, "panicked"},
	}
	for _, c := range cases {
		t.Run(c.plugin, func(t *testing.T) {
			t.Parallel()
			h, _ := newHost(t, Options{StartTimeout: 5 * time.Second}, testSite("s1", sites.Plugins{Referral: sites.PluginRef{Builtin: c.plugin}}))
			ref, err := h.Referrer("s1")
			if c.start {
				if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrStart) {
					t.Fatalf("start: %v, want ErrStart with %q", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = ref.Dispatch(ctx, referral("k"))
			if err == nil || !strings.Contains(err.Error(), c.want) || errors.Is(err, plugins.ErrPermanent) {
				t.Fatalf("dispatch: %v, want a retryable error with %q", err, c.want)
			}
			if pidOf(h, "s1", plugins.RoleReferral) == 0 {
				t.Error("the plugin process died")
			}
		})
	}
}

func TestConfigurationErrors(t *testing.T) {
	t.Parallel()
	bad := testSite("bad", sites.Plugins{Referral: sites.PluginRef{Builtin: "directory", Config: map[string]any{"smpt": map[string]any{"addr": "x:25"}}}})
	none := testSite("none", sites.Plugins{})
	h, _ := newHost(t, Options{}, bad, none)
	if _, err := h.Referrer("bad"); !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), `unknown field "smpt"`) || errors.Is(err, plugins.ErrPermanent) {
		t.Errorf("misspelt setting: %v", err)
	}
	if _, err := h.Notifier("none"); !errors.Is(err, ErrNoPlugin) {
		t.Errorf("no notify plugin: %v", err)
	}
	if _, err := h.Intaker("none"); !errors.Is(err, ErrNoPlugin) || !strings.Contains(err.Error(), "plugins.intake") {
		t.Errorf("no intake plugin: %v", err)
	}
	if _, err := h.Exporter("missing"); !errors.Is(err, ErrNoPlugin) {
		t.Errorf("unknown site: %v", err)
	}
	// With the default command, names are checked against the built-ins.
	h2, err := New(Options{Sites: siteDir{"x": testSite("x", sites.Plugins{Referral: sites.PluginRef{Builtin: "smtp"}})}, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	if _, err := h2.Referrer("x"); !errors.Is(err, ErrNoPlugin) || !strings.Contains(err.Error(), `"smtp" is not a built-in referral plugin`) {
		t.Errorf("notify plugin for referral: %v", err)
	}
	if _, err := New(Options{Sites: siteDir{}}); err == nil {
		t.Error("New without a state directory")
	}
}

func TestCloseStopsPlugins(t *testing.T) {
	t.Parallel()
	_, srv := newReceiver(t)
	h, _ := newHost(t, Options{}, webhookSite("s1", srv.URL))
	ref, err := h.Referrer("s1")
	if err != nil {
		t.Fatal(err)
	}
	pid := pidOf(h, "s1", plugins.RoleReferral)
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		// Reaped processes are gone; a zombie would still accept signal 0.
		waitFor(t, func() bool { return syscall.Kill(pid, 0) != nil })
	}
	if _, err := ref.Dispatch(context.Background(), referral("k")); !errors.Is(err, ErrClosed) {
		t.Errorf("dispatch after Close: %v", err)
	}
	if _, err := h.Referrer("s1"); !errors.Is(err, ErrClosed) {
		t.Errorf("Referrer after Close: %v", err)
	}
}

// An intake plugin's export, larger than one gRPC message may be, reaches
// the host byte for byte; errors keep their kind.
func TestIntakeFetch(t *testing.T) {
	t.Parallel()
	intake := func(name string) sites.Plugins {
		return sites.Plugins{Intake: sites.IntakeRef{PluginRef: sites.PluginRef{Builtin: name}}}
	}
	h, _ := newHost(t, Options{}, testSite("s1", intake("intake-3mib")), testSite("big", intake("intake-oversize")),
		testSite("refused", intake("intake-refused")))
	ctx := context.Background()
	in, err := h.Intaker("s1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := in.Fetch(ctx, plugins.IntakeRequest{SiteID: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := testExport(3 << 20); !bytes.Equal(b.Data, want) {
		t.Errorf("Fetch gave %d bytes, not the plugin's %d", len(b.Data), len(want))
	}
	if b.Format != "central-json" || b.Source != intakeSource+" for s1" {
		t.Errorf("Fetch gave format %q, source %q", b.Format, b.Source)
	}
	if got := testutil.ToFloat64(h.metrics.calls.WithLabelValues("s1", "intake", "intake-3mib", "Fetch")); got != 1 {
		t.Errorf("calls_total = %v, want 1", got)
	}
	for _, site := range []string{"big", "refused"} {
		in, err := h.Intaker(site)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := in.Fetch(ctx, plugins.IntakeRequest{SiteID: site}); !errors.Is(err, plugins.ErrPermanent) {
			t.Errorf("site %s: %v, want a permanent error", site, err)
		}
		if pidOf(h, site, plugins.RoleIntake) == 0 {
			t.Errorf("site %s: the plugin process died", site)
		}
	}
	if _, err := h.Intaker("missing"); !errors.Is(err, ErrNoPlugin) {
		t.Errorf("unknown site: %v", err)
	}
}

// CheckSite starts the intake plugin too.
func TestCheckSiteChecksIntake(t *testing.T) {
	t.Parallel()
	ok := testSite("s1", sites.Plugins{Intake: sites.IntakeRef{PluginRef: sites.PluginRef{Builtin: "intake-3mib"}}})
	if errs := CheckSite(context.Background(), ok, "", Options{Command: testCommand}); len(errs) != 0 {
		t.Errorf("CheckSite: %v", errs)
	}
	wrong := testSite("s1", sites.Plugins{Intake: sites.IntakeRef{PluginRef: sites.PluginRef{Builtin: "notify-only"}}})
	errs := CheckSite(context.Background(), wrong, "", Options{Command: testCommand})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "serves [notify], not intake") {
		t.Errorf("CheckSite of a notify plugin named for intake: %v", errs)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
