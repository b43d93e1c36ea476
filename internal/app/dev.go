// Package app wires khula's processes: `khula dev` (engine, database,
// workers and API in one process), `khula serve`, `khula worker` and
// `khula engine`.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"go.temporal.io/sdk/worker"

	"github.com/khula-cop/khula/internal/demo"
	"github.com/khula-cop/khula/internal/mailsink"
	"github.com/khula-cop/khula/internal/sitedir"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/plugins/host"
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
	// DB is the app database (default: khula.db in the data directory).
	DB string
	// DemoSite is seeded when the database has no children ("" seeds nothing).
	DemoSite string
	// DemoPerSchool is the number of demo children per school (default 12).
	DemoPerSchool int
	// PluginCommand starts a built-in plugin (tests); nil re-executes khula.
	PluginCommand func(name string) *exec.Cmd
	Out           io.Writer
	Logger        *slog.Logger
	// OnReady is called once everything serves, with the API's base URL and
	// the simulator's API token.
	OnReady func(ctx context.Context, baseURL, token string) error
}

// Dev is a running single-process khula: engine, database, workers and API.
type Dev struct {
	*Runtime
	Engine  *Engine
	Workers []worker.Worker
	BaseURL string
	// SimulatorToken is the API token of the dev user the simulator acts as.
	SimulatorToken string
	// DataDir is the absolute data directory.
	DataDir string
	// Mail is the dev mail relay: e-mail referrals and messages land there.
	Mail    *mailsink.Sink
	Plugins *host.Host
	sites   *SiteWorkers
	cancel  context.CancelFunc
	served  chan struct{}
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
	d := &Dev{served: make(chan struct{}), DataDir: dataDir}
	var ln net.Listener
	ok := false
	defer func() {
		if !ok {
			if ln != nil {
				ln.Close()
			}
			d.Stop(context.Background())
		}
	}()
	// The listener first: a busy port fails before the engine starts.
	if ln, err = net.Listen("tcp", opts.Addr); err != nil {
		return nil, fmt.Errorf("listening on %s (is khula already running? choose another with --addr): %w", opts.Addr, err)
	}
	d.BaseURL = "http://" + ln.Addr().String()
	if d.Engine, err = StartEngine(ctx, dataDir, "127.0.0.1", opts.TemporalPort); err != nil {
		return nil, err
	}
	keys, keySource, err := loadKeys(dataDir)
	if err != nil {
		return nil, err
	}
	db := opts.DB
	if db == "" {
		db = filepath.Join(dataDir, "khula.db")
	}
	if d.Runtime, err = Connect(ctx, ConnectOptions{
		TemporalAddress: d.Engine.HostPort(), Namespace: d.Engine.Namespace(), Keys: keys, DB: db, Migrate: true,
		SitesDir: opts.SitesDir, GrowthDir: opts.GrowthDir, Logger: opts.Logger,
	}); err != nil {
		return nil, err
	}
	seeded, err := seedIfEmpty(ctx, d.Store, d.Sites, opts.DemoSite, opts.DemoPerSchool)
	if err != nil {
		return nil, err
	}
	access, err := seedDevUsers(ctx, d.Store, d.Sites, dataDir)
	if err != nil {
		return nil, err
	}
	if tok, err := os.ReadFile(TokenFile(dataDir, SimulatorUser)); err == nil {
		d.SimulatorToken = strings.TrimSpace(string(tok))
	}
	// Plugins mail through a relay of dev's own that keeps every message.
	if d.Mail, err = mailsink.Start("127.0.0.1:0", filepath.Join(dataDir, "mail")); err != nil {
		return nil, err
	}
	exportDir := filepath.Join(dataDir, "exports")
	if err := os.MkdirAll(exportDir, 0o700); err != nil {
		return nil, err
	}
	if d.sites, err = d.RunSites(ctx, d.Sites, PluginOptions{
		StateDir: filepath.Join(dataDir, "plugins"), Command: opts.PluginCommand,
		Env: []string{"KHULA_SMTP_ADDR=" + d.Mail.Addr(), "KHULA_EXPORT_DIR=" + exportDir},
	}, WorkerOptions{}); err != nil {
		return nil, err
	}
	d.Plugins, d.Workers = d.sites.Plugins, d.sites.Workers
	schedules := d.sites.MeetingSchedules
	serveCtx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go func() {
		defer close(d.served)
		srv := d.APIServer(true)
		if err := Serve(serveCtx, ln, srv.Handler(), opts.Logger); err != nil {
			opts.Logger.Error("http server stopped", "error", err)
		}
		srv.Wait()
	}()
	ok = true

	w := opts.Out
	fmt.Fprintf(w, "khula dev is running\n")
	fmt.Fprintf(w, "  API          %s/api/v1   (health %s/healthz, readiness %s/readyz, metrics %s/metrics with the ops token)\n", d.BaseURL, d.BaseURL, d.BaseURL, d.BaseURL)
	fmt.Fprintf(w, "  Temporal     %s, namespace %s (temporal CLI: temporal workflow list --address %s -n khula)\n", d.Engine.HostPort(), d.Engine.Namespace(), d.Engine.HostPort())
	fmt.Fprintf(w, "  data         %s (engine temporal.db and temporal.log, app %s)\n", dataDir, dbLabel(db))
	fmt.Fprintf(w, "  payload key  %s (active key %s)\n", keySource, keys.ActiveID())
	fmt.Fprintf(w, "  sites        %s, from %s\n", siteList(d.Sites), d.Sites.Source)
	fmt.Fprintf(w, "  growth       %s\n", d.GrowthNote)
	if seeded != "" {
		fmt.Fprintf(w, "  demo         %s\n", seeded)
	}
	fmt.Fprintf(w, "  users        %s\n", access)
	fmt.Fprintf(w, "  plugins      run as processes, state in %s; e-mail lands in %s, exports in %s\n", filepath.Join(dataDir, "plugins"), d.Mail.Dir(), exportDir)
	if schedules > 0 {
		fmt.Fprintf(w, "  meetings     %d school meeting schedule(s) created\n", schedules)
	}
	fmt.Fprintf(w, "Watch a whole wave: go run ./cmd/khula simulate --addr %s --token-file %s   (Ctrl-C stops khula dev)\n", d.BaseURL, TokenFile(opts.DataDir, SimulatorUser))

	if opts.OnReady != nil {
		if err := opts.OnReady(ctx, d.BaseURL, d.SimulatorToken); err != nil {
			return d, err
		}
	}
	return d, nil
}

// Stop shuts everything down in reverse order.
func (d *Dev) Stop(ctx context.Context) {
	if d.cancel != nil {
		d.cancel()
		<-d.served
	}
	if d.sites != nil {
		d.sites.Stop()
	}
	if d.Mail != nil {
		_ = d.Mail.Close()
	}
	if d.Runtime != nil {
		d.Runtime.Close()
	}
	if d.Engine != nil {
		_ = d.Engine.Stop()
	}
}

func dbLabel(db string) string {
	if strings.HasPrefix(db, "postgres") {
		return "PostgreSQL"
	}
	return filepath.Base(db)
}

func siteList(d *sitedir.Directory) string {
	var parts []string
	for _, s := range d.Sites() {
		parts = append(parts, fmt.Sprintf("%s (%d schools, queue %s)", s.ID, len(s.Schools), s.TaskQueue()))
	}
	return strings.Join(parts, "; ")
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
