package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"

	"github.com/khula-cop/khula/internal/api"
	"github.com/khula-cop/khula/internal/codec"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/devserver"
	"github.com/khula-cop/khula/internal/growth"
	"github.com/khula-cop/khula/internal/metrics"
	"github.com/khula-cop/khula/internal/scoring"
	"github.com/khula-cop/khula/internal/sitedir"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/temporalx"
	"github.com/khula-cop/khula/internal/web"
	"github.com/khula-cop/khula/plugins/host"
)

// ConnectOptions say where the engine, the database and the sites are.
type ConnectOptions struct {
	TemporalAddress string
	Namespace       string
	TLS             *tls.Config
	APIKey          string
	Keys            *codec.Keyring
	// DB is a PostgreSQL URL or a SQLite file path.
	DB string
	// Migrate applies pending migrations on connect (dev); production runs `khula migrate`.
	Migrate   bool
	SitesDir  string
	GrowthDir string
	Logger    *slog.Logger
}

// Runtime is what every khula process shares: engine client, database,
// sites with their instruments, and the metrics registry.
type Runtime struct {
	Client  client.Client
	Store   *store.Store
	Sites   *sitedir.Directory
	Scoring *scoring.Registry
	Prom    *prometheus.Registry
	Keys    *codec.Keyring
	// DataKeys seals each child's cycle payloads with the child's own
	// key, kept in the app database (see codec.DataKeys).
	DataKeys   *codec.DataKeys
	GrowthNote string
	Logger     *slog.Logger
}

// Connect loads the sites and connects to the database and the engine.
func Connect(ctx context.Context, o ConnectOptions) (*Runtime, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	rt := &Runtime{Logger: o.Logger, Prom: metrics.NewRegistry(), Keys: o.Keys}
	ok := false
	defer func() {
		if !ok {
			rt.Close()
		}
	}()
	var err error
	if rt.Sites, err = sitedir.Load(o.SitesDir); err != nil {
		return nil, err
	}
	var refs *growth.References
	refs, rt.GrowthNote = loadGrowth(o.GrowthDir)
	if rt.Scoring, err = scoring.New(rt.Sites.Sites(), rt.Sites.FS, refs); err != nil {
		return nil, err
	}
	for _, s := range rt.Sites.Sites() {
		if ref, ok := rt.Scoring.SiteInstrument(s.ID); ok {
			rt.Sites.SetInstrument(s.ID, ref)
		}
	}
	if o.DB == "" {
		return nil, errors.New("no database: give --db or $KHULA_DB (postgres://… or a SQLite file)")
	}
	if rt.Store, err = store.Open(ctx, o.DB); err != nil {
		return nil, err
	}
	// The payload keyring also seals personal fields in the database.
	rt.Store.SetFieldCipher(o.Keys)
	current, latest, err := rt.Store.SchemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	if current < latest {
		if !o.Migrate {
			return nil, fmt.Errorf("the database schema is at version %d, this khula needs %d: run `khula migrate` first", current, latest)
		}
		if _, err := rt.Store.Migrate(ctx); err != nil {
			return nil, err
		}
	}
	// Children whose blind-index tokens were made with another key (after a
	// rotation) or before the index existed are indexed again, so the
	// duplicate check finds them.
	if n, err := rt.Store.ReindexChildren(ctx, 500, nil); err != nil {
		return nil, fmt.Errorf("rebuilding the duplicate-check index: %w", err)
	} else if n > 0 && o.Logger != nil {
		o.Logger.Info("duplicate-check index rebuilt", "children", n)
	}
	rt.Prom.MustRegister(metrics.NewStateCollector(rt.Store, o.Logger))
	rt.DataKeys = codec.NewDataKeys(rt.Store, temporalx.ChildSubject)
	rt.Store.AfterErase(rt.DataKeys.Forget)
	if rt.Client, err = temporalx.Dial(ctx, temporalx.Options{
		HostPort: o.TemporalAddress, Namespace: o.Namespace, Keys: o.Keys, DataKeys: rt.DataKeys, TLS: o.TLS, APIKey: o.APIKey,
		Logger: o.Logger, Metrics: metrics.NewSDKHandler(rt.Prom),
	}); err != nil {
		return nil, err
	}
	ok = true
	return rt, nil
}

// Close releases the engine client and the database.
func (rt *Runtime) Close() {
	if rt.Client != nil {
		rt.Client.Close()
	}
	if rt.Store != nil {
		_ = rt.Store.Close()
	}
}

// Ready checks the database and the engine.
func (rt *Runtime) Ready(ctx context.Context) error {
	if err := rt.Store.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if _, err := rt.Client.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return fmt.Errorf("temporal: %w", err)
	}
	return nil
}

// APIServer builds the HTTP API over the runtime.
func (rt *Runtime) APIServer(allowCompressedTime bool) *api.Server {
	return &api.Server{
		Temporal: rt.Client, Store: rt.Store, Sites: rt.Sites, Instruments: rt.Scoring, Logger: rt.Logger,
		AllowCompressedTime: allowCompressedTime, Ready: rt.Ready, Codec: codec.New(rt.Keys).WithDataKeys(rt.DataKeys),
		Metrics: metrics.NewHTTP(rt.Prom), Gatherer: rt.Prom,
		Mount: web.New(web.Options{Store: rt.Store, Sites: rt.Sites, Instruments: rt.Scoring, SitesFS: rt.Sites.FS,
			AllowCompressedTime: allowCompressedTime, Logger: rt.Logger}).Register,
	}
}

// Serve serves h on ln until ctx ends, then shuts down gracefully.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("http shutdown", "error", err)
	}
	return nil
}

// Engine is the embedded Temporal server with its data directory lock and log.
type Engine struct {
	*devserver.Server
	closers []io.Closer
}

// StartEngine starts the embedded engine on dataDir (locked while it runs).
func StartEngine(ctx context.Context, dataDir, ip string, port int) (*Engine, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory %s: %w", dataDir, err)
	}
	e := &Engine{}
	lock, err := lockDataDir(dataDir)
	if err != nil {
		return nil, err
	}
	if lock != nil {
		e.closers = append(e.closers, lock)
	}
	// The engine's own log is long and mostly routine: it goes to a file.
	engineLog, err := os.OpenFile(filepath.Join(dataDir, "temporal.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		e.close()
		return nil, fmt.Errorf("engine log: %w", err)
	}
	e.closers = append(e.closers, engineLog)
	srv, err := devserver.New(devserver.Options{
		DatabaseFile:     filepath.Join(dataDir, "temporal.db"),
		Namespace:        "khula",
		SearchAttributes: cycle.SearchAttributeTypes(),
		IP:               ip,
		FrontendPort:     port,
		Logger:           slog.New(slog.NewTextHandler(engineLog, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		e.close()
		return nil, err
	}
	if err := srv.Start(ctx); err != nil {
		e.close()
		return nil, err
	}
	e.Server = srv
	return e, nil
}

// Stop stops the engine and releases the data directory.
func (e *Engine) Stop() error {
	var err error
	if e.Server != nil {
		err = e.Server.Stop()
	}
	e.close()
	return err
}

func (e *Engine) close() {
	for _, c := range e.closers {
		_ = c.Close()
	}
}

// loadKeys reads the payload keyring from $KHULA_PAYLOAD_KEYS, or (dev) from
// or into the data directory.
func loadKeys(dataDir string) (*codec.Keyring, string, error) {
	if spec := os.Getenv(EnvPayloadKeys); spec != "" {
		k, err := codec.ParseKeyring(spec)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", EnvPayloadKeys, err)
		}
		return k, "from $" + EnvPayloadKeys, nil
	}
	path := filepath.Join(dataDir, "keys", "payload.json")
	k, created, err := codec.LoadOrCreateKeyringFile(path)
	if err != nil {
		return nil, "", err
	}
	if created {
		return k, path + " (new; keep it with the data: without it the engine's history cannot be read)", nil
	}
	return k, path, nil
}

// LoadKeys reads the payload keyring for production: $KHULA_PAYLOAD_KEYS or a
// keyring file. It never generates one.
func LoadKeys(file string) (*codec.Keyring, error) {
	if spec := os.Getenv(EnvPayloadKeys); spec != "" {
		k, err := codec.ParseKeyring(spec)
		if err != nil {
			return nil, fmt.Errorf("$%s: %w", EnvPayloadKeys, err)
		}
		return k, nil
	}
	if file == "" {
		return nil, fmt.Errorf("no payload keys: set $%s or --payload-keys-file (workflow payloads are never stored in clear)", EnvPayloadKeys)
	}
	return codec.LoadKeyringFile(file)
}

// loadGrowth returns WHO's tables and a note saying where they came from:
// the given directory (the --growth-dir flag, which defaults to
// $KHULA_WHO_GROWTH_DIR), else $KHULA_WHO_GROWTH_DIR, else the tables built
// into the binary. A directory that was asked for but fails to load is not
// replaced by the built-in tables: growth is then not computed, and the
// note says why.
func loadGrowth(dir string) (*growth.References, string) {
	if dir == "" {
		dir = os.Getenv(growth.EnvDir)
	}
	if dir != "" {
		refs, err := growth.LoadReferences(dir)
		if err != nil {
			return nil, fmt.Sprintf("not computed: %v", err)
		}
		return refs, "WHO reference tables from " + dir
	}
	refs, err := growth.LoadEmbedded()
	if err != nil {
		return nil, fmt.Sprintf("not computed: %v", err)
	}
	return refs, "WHO reference tables built in (WHO 2006 standards and 2007 reference, unchanged)"
}

// PluginOptions say how a process runs its sites' plugins.
type PluginOptions struct {
	// StateDir keeps each plugin's idempotency journal: durable, one worker only.
	StateDir string
	// Command starts a built-in plugin; nil lets the host re-execute this
	// binary as `khula plugin serve NAME` (and check built-in names against
	// the shipped list). Env is added to every plugin's environment.
	Command func(name string) *exec.Cmd
	Env     []string
}

// StartPlugins starts the plugin host serving the runtime's sites: every
// referral and notification goes through it, to plugin processes.
func (rt *Runtime) StartPlugins(o PluginOptions) (*host.Host, error) {
	if o.StateDir == "" {
		return nil, errors.New("plugins need a state directory (--plugin-state-dir): it keeps the record that makes dispatch exactly-once")
	}
	h, err := host.New(host.Options{
		Sites: rt.Sites, StateDir: o.StateDir, SitesDir: rt.Sites.Dir, Command: o.Command, Env: o.Env,
		Registerer: rt.Prom, Logger: rt.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("plugin host: %w", err)
	}
	return h, nil
}
