// Package host runs a site's plugins as go-plugin processes and gives the
// activities Go values for them: Host implements activities.Plugins.
//
// For each site and role the host keeps one plugin process. Built-in plugins
// are the khula binary itself, re-executed as `khula plugin serve <name>`;
// third-party plugins are the executable at PluginRef.Path, started only if
// its SHA-256 matches PluginRef.SHA256. Start-up goes: go-plugin handshake
// (magic cookie, protocol version negotiation, automatic mutual TLS), then
// Info (the plugin must serve the role and speak the negotiated protocol),
// then Configure (the site's plugin config and services, and a state
// directory of its own for its idempotency journal).
//
// Every call has a time-out (Options.CallTimeout). A plugin process that
// exits, crashes or stops answering is noticed (go-plugin's Exited, a failed
// health check after a transport error) and started again on the next call;
// the call that saw the crash fails with an error wrapping
// plugins.ErrUnavailable, so the Temporal activity retries it with the same
// idempotency key and the plugin's journal keeps the send exactly-once.
package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/plugins/builtin"
	"github.com/khula-cop/khula/sites"
)

// Errors the host returns, wrapped with the site, role and plugin. All of
// them except ErrNoPlugin and ErrClosed also wrap plugins.ErrUnavailable:
// retrying later, after the cause is fixed, is the way out.
var (
	// ErrChecksum: a third-party plugin's executable does not match the
	// SHA-256 pinned in site.yaml; the host refuses to run it.
	ErrChecksum = errors.New("plugin executable does not match its pinned SHA-256")
	// ErrProtocol: the plugin speaks another protocol version than khula.
	ErrProtocol = errors.New("plugin protocol version mismatch")
	// ErrStart: the plugin process did not start, complete the handshake,
	// or accept its configuration.
	ErrStart = errors.New("plugin did not start")
	// ErrCrashed: the plugin process died or stopped answering during a call.
	ErrCrashed = errors.New("plugin process crashed")
	// ErrTimeout: a call took longer than Options.CallTimeout.
	ErrTimeout = errors.New("plugin call timed out")
	// ErrNoPlugin: the site names no plugin for the role, or an unknown one.
	ErrNoPlugin = errors.New("no plugin for this role")
	// ErrClosed: the host has been closed.
	ErrClosed = errors.New("plugin host is closed")
)

// SiteDirectory finds a site's configuration (internal/sitedir.Directory
// implements it).
type SiteDirectory interface {
	Site(id string) (*sites.Site, bool)
}

// Options configure a Host. Sites and StateDir are required.
type Options struct {
	Sites SiteDirectory
	// StateDir is where plugins keep state across restarts: each gets
	// <StateDir>/<site>/<role>-<plugin>/ for its idempotency journal. It
	// must be durable (a volume, not a tmpfs) and used by one worker only.
	StateDir string
	// SitesDir is the directory the sites were loaded from, when on disk:
	// a relative PluginRef.Path is resolved against <SitesDir>/<site dir>.
	// Without it, third-party plugin paths must be absolute.
	SitesDir string
	// Command builds the command that serves the built-in plugin name. The
	// default re-executes this binary (os.Executable) as
	// `khula plugin serve <name>`. Tests point it at their own binary.
	// With a custom Command, names are not checked against the built-in list.
	Command func(name string) *exec.Cmd
	// Env is added to every plugin process's environment (the default
	// Command's and a custom one's alike).
	Env []string
	// CallTimeout bounds each plugin call; default 10s.
	CallTimeout time.Duration
	// FetchTimeout bounds an intake plugin's Fetch, which downloads a
	// form server's submissions; default 10m.
	FetchTimeout time.Duration
	// StartTimeout bounds a plugin's start (handshake, Info, Configure);
	// default 30s.
	StartTimeout time.Duration
	// Registerer receives the host's metrics (khula_plugin_*); nil: none.
	Registerer prometheus.Registerer
	// Logger receives the host's and the plugins' logs; nil discards them.
	Logger *slog.Logger
}

// Host runs the plugins of every site and role asked for. Its methods are
// safe for concurrent use.
type Host struct {
	opts Options
	// checkBuiltins: built-in names must be in the builtin package's list.
	checkBuiltins bool
	metrics       *metrics
	log           *slog.Logger
	// siteDir, when set, replaces SitesDir-based resolution (CheckSite).
	siteDir string

	mu     sync.Mutex
	procs  map[procKey]*proc
	closed bool
}

type procKey struct{ site, role string }

// New validates opts and returns a Host. Plugins start when first asked for.
func New(opts Options) (*Host, error) {
	if opts.Sites == nil {
		return nil, errors.New("plugin host: Options.Sites is required")
	}
	if opts.StateDir == "" {
		return nil, errors.New("plugin host: Options.StateDir is required: plugins keep their idempotency journals there")
	}
	abs, err := filepath.Abs(opts.StateDir)
	if err != nil {
		return nil, fmt.Errorf("plugin host: state directory: %w", err)
	}
	opts.StateDir = abs
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("plugin host: state directory: %w", err)
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 10 * time.Second
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 30 * time.Second
	}
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = 10 * time.Minute
	}
	checkBuiltins := opts.Command == nil
	if opts.Command == nil {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("plugin host: finding the khula binary to run built-in plugins: %w", err)
		}
		opts.Command = func(name string) *exec.Cmd { return exec.Command(exe, "plugin", "serve", name) }
	}
	if env, command := opts.Env, opts.Command; len(env) > 0 {
		opts.Command = func(name string) *exec.Cmd {
			cmd := command(name)
			if cmd.Env == nil {
				cmd.Env = os.Environ()
			}
			cmd.Env = append(cmd.Env, env...)
			return cmd
		}
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("plugin host: metrics: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Host{opts: opts, checkBuiltins: checkBuiltins, metrics: m, log: log, procs: map[procKey]*proc{}}, nil
}

// Referrer returns the referral plugin of a site, started if need be. The
// value also implements plugins.ReferralService (FindServices, Status).
func (h *Host) Referrer(siteID string) (plugins.Referrer, error) {
	return h.ReferralService(siteID)
}

// ReferralService is Referrer with the full referral interface.
func (h *Host) ReferralService(siteID string) (plugins.ReferralService, error) {
	p, err := h.started(siteID, plugins.RoleReferral)
	if err != nil {
		return nil, err
	}
	return &referrer{p}, nil
}

// Notifier returns the notify plugin of a site, started if need be. The
// value also implements plugins.NotifyService (DeliveryStatus).
func (h *Host) Notifier(siteID string) (plugins.Notifier, error) {
	return h.NotifyService(siteID)
}

// NotifyService is Notifier with the full notify interface.
func (h *Host) NotifyService(siteID string) (plugins.NotifyService, error) {
	p, err := h.started(siteID, plugins.RoleNotify)
	if err != nil {
		return nil, err
	}
	return &notifier{p}, nil
}

// Exporter returns the export plugin of a site, started if need be.
func (h *Host) Exporter(siteID string) (plugins.Exporter, error) {
	p, err := h.started(siteID, plugins.RoleExport)
	if err != nil {
		return nil, err
	}
	return &exporter{p}, nil
}

// Intaker returns the intake plugin of a site, started if need be.
func (h *Host) Intaker(siteID string) (plugins.Intaker, error) {
	p, err := h.started(siteID, plugins.RoleIntake)
	if err != nil {
		return nil, err
	}
	return &intaker{p}, nil
}

// started returns the site's plugin for role, starting its process now so
// that configuration problems surface here rather than on the first call.
func (h *Host) started(siteID, role string) (*proc, error) {
	p, err := h.proc(siteID, role)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.opts.StartTimeout)
	defer cancel()
	if _, err := p.ensure(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

func (h *Host) proc(siteID, role string) (*proc, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	k := procKey{siteID, role}
	if p, ok := h.procs[k]; ok {
		return p, nil
	}
	site, ok := h.opts.Sites.Site(siteID)
	if !ok {
		return nil, fmt.Errorf("%w: no site %q", ErrNoPlugin, siteID)
	}
	var ref sites.PluginRef
	switch role {
	case plugins.RoleReferral:
		ref = site.Plugins.Referral
	case plugins.RoleNotify:
		ref = site.Plugins.Notify
	case plugins.RoleExport:
		ref = site.Plugins.Export
	case plugins.RoleIntake:
		ref = site.Plugins.Intake.PluginRef
	}
	p := &proc{h: h, site: site, role: role, ref: ref}
	switch {
	case ref.Builtin != "" && ref.Path != "":
		return nil, fmt.Errorf("%w: site %q names both a built-in and a path for its %s plugin", ErrNoPlugin, siteID, role)
	case ref.Builtin != "":
		p.label = ref.Builtin
		if b, known := builtin.Lookup(ref.Builtin); h.checkBuiltins && (!known || b.Role != role) {
			return nil, fmt.Errorf("%w: site %q: %q is not a built-in %s plugin (khula plugin list shows them)", ErrNoPlugin, siteID, ref.Builtin, role)
		}
	case ref.Path != "":
		path, err := h.resolve(site, ref.Path)
		if err != nil {
			return nil, fmt.Errorf("%w: site %q, %s plugin: %v", ErrNoPlugin, siteID, role, err)
		}
		p.path = path
		p.label = filepath.Base(path)
	default:
		return nil, fmt.Errorf("%w: site %q configures no %s plugin (site.yaml plugins.%s)", ErrNoPlugin, siteID, role, role)
	}
	p.stateDir = filepath.Join(h.opts.StateDir, safe(siteID), role+"-"+safe(p.label))
	h.procs[k] = p
	return p, nil
}

func (h *Host) resolve(site *sites.Site, path string) (string, error) {
	if filepath.IsAbs(path) {
		return path, nil
	}
	switch {
	case h.siteDir != "":
		return filepath.Abs(filepath.Join(h.siteDir, path))
	case h.opts.SitesDir != "":
		return filepath.Abs(filepath.Join(h.opts.SitesDir, filepath.FromSlash(site.Dir), path))
	}
	return "", fmt.Errorf("plugin path %q is relative and the host does not know where the site folder is on disk: use an absolute path", path)
}

// safe makes s usable as one path element.
func safe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}

// Process describes one plugin process the host manages.
type Process struct {
	Site, Role, Plugin string
	// PID is the running process, 0 when none is running.
	PID int
	// Starts counts how often the process was started.
	Starts int
}

// Processes lists the plugin processes, by site and role.
func (h *Host) Processes() []Process {
	h.mu.Lock()
	procs := make([]*proc, 0, len(h.procs))
	for _, p := range h.procs {
		procs = append(procs, p)
	}
	h.mu.Unlock()
	out := make([]Process, 0, len(procs))
	for _, p := range procs {
		out = append(out, p.describe())
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Site != out[j].Site {
			return out[i].Site < out[j].Site
		}
		return out[i].Role < out[j].Role
	})
	return out
}

// Close stops every plugin process and waits for them to exit. Calls after
// Close fail with ErrClosed.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	procs := make([]*proc, 0, len(h.procs))
	for _, p := range h.procs {
		procs = append(procs, p)
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.stop()
		}()
	}
	wg.Wait()
	return nil
}
