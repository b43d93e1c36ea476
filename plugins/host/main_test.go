package host

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/plugins/builtin"
	"github.com/khula-cop/khula/plugins/shared"
	"github.com/khula-cop/khula/sites"
)

// envPlugin makes the test binary serve a plugin instead of running tests:
// the host re-executes it, so every plugin in these tests is a real process.
const envPlugin = "KHULA_HOST_TEST_PLUGIN"

func TestMain(m *testing.M) {
	if name := os.Getenv(envPlugin); name != "" {
		if err := serveTestPlugin(name); err != nil {
			fmt.Fprintln(os.Stderr, "test plugin:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	// Secrets the plugins under test read from their environment, which
	// they inherit from the host (set here: parallel tests cannot Setenv).
	os.Setenv("KHULA_TEST_DHIS2_PASSWORD", "district")
	os.Setenv("KHULA_TEST_SMS_KEY", "test-key")
	os.Exit(m.Run())
}

// serveTestPlugin serves a built-in plugin, or one of the misbehaving
// plugins below.
func serveTestPlugin(name string) error {
	switch name {
	case "hang":
		return shared.Serve(&misbehaving{name: name})
	case "panic":
		return shared.Serve(&misbehaving{name: name})
	case "empty-ref":
		return shared.Serve(&misbehaving{name: name})
	case "notify-only":
		return shared.Serve(notifyOnly{})
	case "intake-3mib", "intake-oversize", "intake-refused":
		return shared.Serve(intakeFake{name: name})
	case "garbage":
		fmt.Println("hello, I am not a plugin")
		time.Sleep(2 * time.Second)
		return nil
	case "v2":
		set, err := shared.PluginSet(&misbehaving{name: name})
		if err != nil {
			return err
		}
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig:  shared.Handshake,
			VersionedPlugins: map[int]plugin.PluginSet{2: set},
			GRPCServer:       shared.NewGRPCServer,
		})
		return nil
	}
	return builtin.Serve(name)
}

// misbehaving is a referral plugin that hangs, panics or answers nonsense.
type misbehaving struct{ name string }

func (m *misbehaving) Name() string                                    { return m.name }
func (m *misbehaving) Configure(context.Context, plugins.Config) error { return nil }
func (m *misbehaving) Dispatch(ctx context.Context, req plugins.ReferralRequest) (plugins.ReferralReceipt, error) {
	switch m.name {
	case "hang":
		select {} // ignores its context, as a broken plugin would
	case "panic":
		panic("nil map somewhere")
	case "empty-ref":
		return plugins.ReferralReceipt{}, nil
	}
	return plugins.ReferralReceipt{DispatchRef: "ok"}, nil
}
func (m *misbehaving) Status(ctx context.Context, key string) (plugins.ReferralStatus, error) {
	return plugins.ReferralStatus{IdempotencyKey: key, State: plugins.ReferralUnknown}, nil
}

type notifyOnly struct{}

func (notifyOnly) Name() string                                    { return "notify-only" }
func (notifyOnly) Configure(context.Context, plugins.Config) error { return nil }
func (notifyOnly) Send(context.Context, plugins.Message) (plugins.Delivery, error) {
	return plugins.Delivery{MessageRef: "x"}, nil
}

// intakeFake is an intake plugin: "intake-3mib" returns testExport(3 MiB),
// "intake-oversize" one byte more than plugins.MaxIntakeBytes and
// "intake-refused" a permanent error.
type intakeFake struct{ name string }

const intakeSource = "ODK Central https://central.example.org, form cwbtt"

func (f intakeFake) Name() string                                    { return f.name }
func (f intakeFake) Configure(context.Context, plugins.Config) error { return nil }
func (f intakeFake) Fetch(_ context.Context, req plugins.IntakeRequest) (plugins.IntakeBatch, error) {
	switch f.name {
	case "intake-oversize":
		return plugins.IntakeBatch{Format: "central-json", Source: intakeSource, Data: testExport(plugins.MaxIntakeBytes + 1)}, nil
	case "intake-refused":
		return plugins.IntakeBatch{}, fmt.Errorf("%w: the form server refused the token", plugins.ErrPermanent)
	}
	return plugins.IntakeBatch{Format: "central-json", Source: intakeSource + " for " + req.SiteID, Data: testExport(3 << 20)}, nil
}

// testExport is n bytes the test and the plugin process both compute, with
// no period that a lost or repeated chunk could hide in.
func testExport(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i ^ i>>8 ^ i>>16)
	}
	return b
}

// testCommand serves built-in (and misbehaving) plugins from the test binary.
func testCommand(name string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envPlugin+"="+name)
	return cmd
}

type siteDir map[string]*sites.Site

func (d siteDir) Site(id string) (*sites.Site, bool) {
	s, ok := d[id]
	return s, ok
}

func testSite(id string, p sites.Plugins, services ...sites.Service) *sites.Site {
	return &sites.Site{ID: id, Timezone: "Africa/Johannesburg", Languages: []string{"en", "nso"}, DefaultLanguage: "nso", Plugins: p, Services: services}
}

// newHost starts a host for the sites, serving plugins from the test binary,
// with its own state directory and metrics registry.
func newHost(t *testing.T, opts Options, ss ...*sites.Site) (*Host, *prometheus.Registry) {
	t.Helper()
	d := siteDir{}
	for _, s := range ss {
		d[s.ID] = s
	}
	reg := prometheus.NewRegistry()
	opts.Sites = d
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
	}
	if opts.Command == nil {
		opts.Command = testCommand
	}
	opts.Registerer = reg
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h, reg
}

func pidOf(h *Host, site, role string) int {
	for _, p := range h.Processes() {
		if p.Site == site && p.Role == role {
			return p.PID
		}
	}
	return 0
}
