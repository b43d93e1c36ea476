package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/plugins/shared"
	"github.com/khula-cop/khula/sites"
)

// proc is the plugin process serving one role of one site.
type proc struct {
	h        *Host
	site     *sites.Site
	role     string
	ref      sites.PluginRef
	label    string // the plugin's name in metrics and messages
	path     string // third-party executable; empty for built-ins
	stateDir string

	mu     sync.Mutex
	client *plugin.Client
	rpc    plugin.ClientProtocol
	svc    any // the dispensed role client
	gen    int // counts starts; a failure only tears down the generation it saw
	dying  chan struct{}
	closed bool
}

type running struct {
	svc any
	gen int
}

func (p *proc) what() string {
	return fmt.Sprintf("%s plugin %q of site %q", p.role, p.label, p.site.ID)
}

// ensure returns the running plugin, starting it (again) if it has not
// started, has exited or was torn down after a failure.
func (p *proc) ensure(ctx context.Context) (running, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return running{}, ErrClosed
	}
	if p.client != nil && !p.client.Exited() {
		return running{p.svc, p.gen}, nil
	}
	if p.client != nil {
		p.h.log.Warn("plugin process exited; restarting it", "site", p.site.ID, "role", p.role, "plugin", p.label)
		p.teardownLocked()
	}
	if p.dying != nil {
		// The journal lock of the old process must be released first.
		select {
		case <-p.dying:
		case <-ctx.Done():
			return running{}, fmt.Errorf("%s: waiting for the old process to stop: %w: %w", p.what(), plugins.ErrUnavailable, ctx.Err())
		}
		p.dying = nil
	}
	if p.gen > 0 {
		p.h.metrics.restart(p.site.ID, p.role, p.label)
	}
	if err := p.startLocked(ctx); err != nil {
		return running{}, err
	}
	return running{p.svc, p.gen}, nil
}

func (p *proc) startLocked(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.h.opts.StartTimeout)
	defer cancel()
	cfg := &plugin.ClientConfig{
		HandshakeConfig:  shared.Handshake,
		VersionedPlugins: shared.ClientPluginSets(),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Managed:          true,
		StartTimeout:     p.h.opts.StartTimeout,
		Logger:           newHCLog(p.h.log, "plugin."+p.label).With("site", p.site.ID, "role", p.role),
	}
	if p.path != "" {
		want, err := hex.DecodeString(strings.ToLower(strings.TrimSpace(p.ref.SHA256)))
		if err != nil || len(want) != sha256.Size {
			return fmt.Errorf("%w: %w: %s: site.yaml plugins.%s.sha256 %q is not a SHA-256 (64 hex digits)", plugins.ErrUnavailable, ErrChecksum, p.what(), p.role, p.ref.SHA256)
		}
		// A fresh hash each start: SecureConfig's hash is stateful.
		cfg.SecureConfig = &plugin.SecureConfig{Checksum: want, Hash: sha256.New()}
		cfg.Cmd = execCommand(p.path)
	} else {
		cfg.Cmd = p.h.opts.Command(p.ref.Builtin)
	}
	client := plugin.NewClient(cfg)
	fail := func(err error) error {
		client.Kill()
		return err
	}
	rpc, err := client.Client()
	if err != nil {
		return fail(p.startError(err))
	}
	// The handshake accepts every known version (see
	// shared.KnownProtocols): a plugin built for another one is refused
	// here, by the version it announced.
	if v := client.NegotiatedVersion(); v != shared.ProtocolVersion {
		return fail(fmt.Errorf("%w: %w: %s speaks protocol %d, khula speaks %d: use a build of the plugin for protocol %d",
			plugins.ErrUnavailable, ErrProtocol, p.what(), v, shared.ProtocolVersion, shared.ProtocolVersion))
	}
	raw, err := rpc.Dispense(shared.NameControl)
	if err != nil {
		return fail(fmt.Errorf("%w: %w: %s: %v", plugins.ErrUnavailable, ErrStart, p.what(), err))
	}
	ctl, ok := raw.(shared.Controller)
	if !ok {
		return fail(fmt.Errorf("%w: %w: %s: unexpected control client %T", plugins.ErrUnavailable, ErrStart, p.what(), raw))
	}
	info, err := ctl.Info(ctx)
	if err != nil {
		return fail(fmt.Errorf("%w: %w: %s: Info: %v", plugins.ErrUnavailable, ErrStart, p.what(), err))
	}
	if info.ProtocolVersion != client.NegotiatedVersion() || info.ProtocolVersion != shared.ProtocolVersion {
		return fail(fmt.Errorf("%w: %w: %s (%s) speaks protocol %d, khula speaks %d", plugins.ErrUnavailable, ErrProtocol, p.what(), info.Name, info.ProtocolVersion, shared.ProtocolVersion))
	}
	if !slices.Contains(info.Roles, p.role) {
		return fail(fmt.Errorf("%w: %w: %s (%s) serves %v, not %s", plugins.ErrUnavailable, ErrStart, p.what(), info.Name, info.Roles, p.role))
	}
	conf, err := p.config()
	if err != nil {
		return fail(err)
	}
	if err := ctl.Configure(ctx, conf); err != nil {
		// Not permanent even when the plugin says so: a start failure must
		// not fail a referral for good; fixing the config heals it.
		return fail(fmt.Errorf("%w: %w: %s rejected its configuration: %v", plugins.ErrUnavailable, ErrStart, p.what(), err))
	}
	name, _ := shared.DispenseName(p.role)
	svc, err := rpc.Dispense(name)
	if err != nil {
		return fail(fmt.Errorf("%w: %w: %s: %v", plugins.ErrUnavailable, ErrStart, p.what(), err))
	}
	p.client, p.rpc, p.svc = client, rpc, svc
	p.gen++
	p.h.log.Info("plugin started", "site", p.site.ID, "role", p.role, "plugin", p.label, "name", info.Name, "version", info.Version, "pid", pid(client), "start", p.gen)
	return nil
}

// startError explains why go-plugin could not start the process. Only
// go-plugin's exported errors are told apart; anything else is a process
// that failed to start or did not answer the handshake, with go-plugin's
// first line as the detail.
func (p *proc) startError(err error) error {
	switch {
	case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
		got := "unreadable"
		if sum, herr := fileSHA256(p.path); herr == nil {
			got = sum
		}
		return fmt.Errorf("%w: %w: refusing to run the %s plugin of site %q: %s has SHA-256 %s, site.yaml pins %s (if the new build is trusted, update plugins.%s.sha256)",
			plugins.ErrUnavailable, ErrChecksum, p.role, p.site.ID, p.path, got, strings.ToLower(p.ref.SHA256), p.role)
	}
	return fmt.Errorf("%w: %w: %s did not start or did not answer the go-plugin handshake (is it a khula plugin?): %v", plugins.ErrUnavailable, ErrStart, p.what(), firstLine(err.Error()))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// config is what the plugin gets at Configure.
func (p *proc) config() (plugins.Config, error) {
	settings, err := json.Marshal(jsonable(p.ref.Config))
	if err != nil {
		return plugins.Config{}, fmt.Errorf("%w: %w: %s: site.yaml plugins.%s.config cannot be passed on as JSON: %v", plugins.ErrUnavailable, ErrStart, p.what(), p.role, err)
	}
	if p.ref.Config == nil {
		settings = []byte("{}")
	}
	if err := os.MkdirAll(p.stateDir, 0o700); err != nil {
		return plugins.Config{}, fmt.Errorf("%w: %w: %s: state directory: %v", plugins.ErrUnavailable, ErrStart, p.what(), err)
	}
	services := make([]plugins.Service, 0, len(p.site.Services))
	for _, s := range p.site.Services {
		services = append(services, plugins.Service{
			ID: s.ID, Name: s.Name, Type: s.Type, Domains: s.Domains, Schools: s.Schools,
			Contact: plugins.Contact{Channel: s.Contact.Channel, Address: s.Contact.Address},
		})
	}
	return plugins.Config{
		SiteID: p.site.ID, Role: p.role, Settings: settings, Services: services, StateDir: p.stateDir,
		Timezone: p.site.Timezone, Languages: p.site.Languages, DefaultLanguage: p.site.DefaultLanguage,
	}, nil
}

// jsonable turns YAML-decoded values (which may hold map[any]any) into
// values encoding/json accepts.
func jsonable(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = jsonable(x)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[fmt.Sprint(k)] = jsonable(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = jsonable(x)
		}
		return out
	}
	return v
}

// failed looks at a call's failure: if the process is gone or no longer
// answers its health check, the generation that saw it is torn down so the
// next call starts a fresh process. It reports whether that happened.
func (p *proc) failed(gen int) bool {
	p.mu.Lock()
	client, rpc := p.client, p.rpc
	if p.gen != gen || client == nil {
		p.mu.Unlock()
		return true // already torn down by another call
	}
	p.mu.Unlock()
	if !client.Exited() && healthy(rpc) {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gen == gen && p.client != nil {
		p.h.log.Warn("plugin process crashed or stopped answering; it is restarted on the next call", "site", p.site.ID, "role", p.role, "plugin", p.label)
		p.teardownLocked()
	}
	return true
}

// healthy asks the plugin's gRPC health service, briefly.
func healthy(rpc plugin.ClientProtocol) bool {
	g, ok := rpc.(*plugin.GRPCClient)
	if !ok {
		return rpc.Ping() == nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	resp, err := grpc_health_v1.NewHealthClient(g.Conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: plugin.GRPCServiceName})
	return err == nil && resp.GetStatus() == grpc_health_v1.HealthCheckResponse_SERVING
}

// teardownLocked stops the current process in the background; the next
// start waits for it (p.dying) so its journal lock is free.
func (p *proc) teardownLocked() {
	client := p.client
	p.client, p.rpc, p.svc = nil, nil, nil
	dying := make(chan struct{})
	p.dying = dying
	go func() {
		client.Kill()
		close(dying)
	}()
}

func (p *proc) stop() {
	p.mu.Lock()
	p.closed = true
	if p.client != nil {
		p.teardownLocked()
	}
	dying := p.dying
	p.mu.Unlock()
	if dying != nil {
		<-dying
	}
}

func (p *proc) describe() Process {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := Process{Site: p.site.ID, Role: p.role, Plugin: p.label, Starts: p.gen}
	if p.client != nil && !p.client.Exited() {
		d.PID = pid(p.client)
	}
	return d
}

func pid(c *plugin.Client) int {
	if rc := c.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}
