package app

import (
	"context"
	"errors"
	"fmt"
	"github.com/khula-cop/khula/internal/sitedir"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/khula-cop/khula/internal/api"
	"github.com/khula-cop/khula/internal/codec"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/demo"
	"github.com/khula-cop/khula/internal/devserver"
	"github.com/khula-cop/khula/internal/growth"
	"github.com/khula-cop/khula/internal/metrics"
	"github.com/khula-cop/khula/internal/scoring"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/temporalx"
)

// EnvPayloadKeys holds the payload keyring ("id:BASE64[,id:BASE64]"); when it
// is unset, dev mode keeps a generated keyring in the data directory.
const EnvPayloadKeys = "KHULA_PAYLOAD_KEYS"

// DevOptions configure `khula dev`.
type DevOptions struct {
	DataDir      string
	Addr         string
	SitesDir     string
	GrowthDir    string
	TemporalPort int
	// DemoSite is seeded when the database has no children ("" seeds nothing).
	DemoSite string
	// DemoPerSchool is the number of demo children per school (default 12).
	DemoPerSchool int
	Out           io.Writer
	Logger        *slog.Logger
	// OnReady is called once everything serves, with the API's base URL.
	OnReady func(ctx context.Context, baseURL string) error
}

// Dev is a running single-process khula: engine, database, workers and API.
type Dev struct {
	Engine  *devserver.Server
	Store   *store.Store
	Client  client.Client
	Sites   *sitedir.Directory
	Workers []worker.Worker
	HTTP    *http.Server
	BaseURL string
	closers []io.Closer
}

// StartDev starts everything `khula dev` runs; call Stop to shut down.
func StartDev(ctx context.Context, opts DevOptions) (*Dev, error) {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory %s: %w", dataDir, err)
	}
	d := &Dev{}
	ok := false
	defer func() {
		if !ok {
			d.Stop(context.Background())
		}
	}()

	lock, err := lockDataDir(dataDir)
	if err != nil {
		return nil, err
	}
	if lock != nil {
		d.closers = append(d.closers, lock)
	}
	keys, keySource, err := loadKeys(dataDir)
	if err != nil {
		return nil, err
	}
	if d.Sites, err = sitedir.Load(opts.SitesDir); err != nil {
		return nil, err
	}
	refs, growthNote := loadGrowth(opts.GrowthDir)
	reg, err := scoring.New(d.Sites.Sites(), d.Sites.FS, refs)
	if err != nil {
		return nil, err
	}
	for _, s := range d.Sites.Sites() {
		if ref, ok := reg.SiteInstrument(s.ID); ok {
			d.Sites.SetInstrument(s.ID, ref)
		}
	}

	// The listener first: a busy port fails before the engine starts.
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s (is khula already running? choose another with --addr): %w", opts.Addr, err)
	}
	d.BaseURL = "http://" + ln.Addr().String()

	// The engine's own log is long and mostly routine: it goes to a file.
	engineLog, err := os.OpenFile(filepath.Join(dataDir, "temporal.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("engine log: %w", err)
	}
	d.closers = append(d.closers, engineLog)
	d.Engine, err = devserver.New(devserver.Options{
		DatabaseFile:     filepath.Join(dataDir, "temporal.db"),
		Namespace:        "khula",
		SearchAttributes: cycle.SearchAttributeTypes(),
		FrontendPort:     opts.TemporalPort,
		Logger:           slog.New(slog.NewTextHandler(engineLog, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		ln.Close()
		return nil, err
	}
	if err := d.Engine.Start(ctx); err != nil {
		ln.Close()
		d.Engine = nil
		return nil, err
	}
	if d.Store, err = store.Open(ctx, filepath.Join(dataDir, "khula.db")); err != nil {
		ln.Close()
		return nil, err
	}
	if _, err := d.Store.Migrate(ctx); err != nil {
		ln.Close()
		return nil, err
	}
	seeded, err := seedIfEmpty(ctx, d.Store, d.Sites, opts.DemoSite, opts.DemoPerSchool)
	if err != nil {
		ln.Close()
		return nil, err
	}
	promReg := metrics.NewRegistry()
	promReg.MustRegister(metrics.NewStateCollector(d.Store, opts.Logger))
	if d.Client, err = temporalx.Dial(ctx, temporalx.Options{
		HostPort: d.Engine.HostPort(), Namespace: d.Engine.Namespace(), Keys: keys, Logger: opts.Logger,
		Metrics: metrics.NewSDKHandler(promReg),
	}); err != nil {
		ln.Close()
		return nil, err
	}
	if d.Workers, err = StartWorkers(d.Client, d.Sites, reg, d.Store, RecordingPlugins{Outbox: d.Store}, WorkerOptions{}); err != nil {
		ln.Close()
		return nil, err
	}
	schedules, err := EnsureMeetingSchedules(ctx, d.Client, d.Sites)
	if err != nil {
		ln.Close()
		return nil, err
	}
	srv := &api.Server{
		Temporal: d.Client, Store: d.Store, Sites: d.Sites, Logger: opts.Logger, AllowCompressedTime: true,
		Metrics: metrics.NewHTTP(promReg), Gatherer: promReg,
		Ready: func(ctx context.Context) error {
			if err := d.Store.Ping(ctx); err != nil {
				return fmt.Errorf("database: %w", err)
			}
			if _, err := d.Client.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
				return fmt.Errorf("temporal: %w", err)
			}
			return nil
		},
	}
	d.HTTP = &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := d.HTTP.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			opts.Logger.Error("http server stopped", "error", err)
		}
	}()
	ok = true

	w := opts.Out
	fmt.Fprintf(w, "khula dev is running\n")
	fmt.Fprintf(w, "  API          %s/api/v1   (health %s/healthz, readiness %s/readyz, metrics %s/metrics)\n", d.BaseURL, d.BaseURL, d.BaseURL, d.BaseURL)
	fmt.Fprintf(w, "  Temporal     %s, namespace %s (temporal CLI: temporal workflow list --address %s -n khula)\n", d.Engine.HostPort(), d.Engine.Namespace(), d.Engine.HostPort())
	fmt.Fprintf(w, "  data         %s (engine temporal.db and temporal.log, app khula.db)\n", dataDir)
	fmt.Fprintf(w, "  payload key  %s (active key %s)\n", keySource, keys.ActiveID())
	fmt.Fprintf(w, "  sites        %s, from %s\n", siteList(d.Sites), d.Sites.Source)
	fmt.Fprintf(w, "  growth       %s\n", growthNote)
	if seeded != "" {
		fmt.Fprintf(w, "  demo         %s\n", seeded)
	}
	if schedules > 0 {
		fmt.Fprintf(w, "  meetings     %d school meeting schedule(s) created\n", schedules)
	}
	fmt.Fprintf(w, "Watch a whole wave: go run ./cmd/khula simulate --addr %s   (Ctrl-C stops khula dev)\n", d.BaseURL)

	if opts.OnReady != nil {
		if err := opts.OnReady(ctx, d.BaseURL); err != nil {
			return d, err
		}
	}
	return d, nil
}

// Stop shuts everything down in reverse order.
func (d *Dev) Stop(ctx context.Context) {
	if d.HTTP != nil {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_ = d.HTTP.Shutdown(sctx)
		cancel()
	}
	for _, w := range d.Workers {
		w.Stop()
	}
	if d.Client != nil {
		d.Client.Close()
	}
	if d.Engine != nil {
		_ = d.Engine.Stop()
	}
	if d.Store != nil {
		_ = d.Store.Close()
	}
	for _, c := range d.closers {
		_ = c.Close()
	}
}

func siteList(d *sitedir.Directory) string {
	var parts []string
	for _, s := range d.Sites() {
		parts = append(parts, fmt.Sprintf("%s (%d schools, queue %s)", s.ID, len(s.Schools), s.TaskQueue()))
	}
	return strings.Join(parts, "; ")
}

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

// loadGrowth finds WHO's tables: the given directory, $KHULA_WHO_GROWTH_DIR,
// or ../shared/data/who-growth beside the checkout. Absent tables are not an
// error: growth is then reported as not computed.
func loadGrowth(dir string) (*growth.References, string) {
	candidates := []string{dir, os.Getenv(growth.EnvDir), filepath.Join("..", "shared", "data", "who-growth")}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		refs, err := growth.LoadReferences(c)
		if err == nil {
			return refs, "WHO reference tables from " + c
		}
		if dir != "" && c == dir {
			return nil, fmt.Sprintf("not computed: %v", err)
		}
	}
	return nil, "not computed: no reference tables (give --growth-dir or $" + growth.EnvDir + "; WHO publishes them with its anthro and anthroplus software)"
}

func seedIfEmpty(ctx context.Context, st *store.Store, dir *sitedir.Directory, demoSite string, perSchool int) (string, error) {
	for _, s := range dir.Sites() {
		if err := demo.EnsureSite(ctx, st, s); err != nil {
			return "", err
		}
	}
	if demoSite == "" {
		return "", nil
	}
	site, ok := dir.Site(demoSite)
	if !ok {
		return "", fmt.Errorf("demo site %q is not among the sites", demoSite)
	}
	n, err := st.CountChildren(ctx, "")
	if err != nil {
		return "", err
	}
	if n > 0 {
		return fmt.Sprintf("%d children already in the database (not seeded again)", n), nil
	}
	res, err := demo.Seed(ctx, st, site, demo.Options{PerSchool: perSchool})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("seeded %s: %d made-up children in %d schools, %d with consent, %d without", site.ID, res.Children, len(site.Schools), res.Consented, res.Children-res.Consented), nil
}
