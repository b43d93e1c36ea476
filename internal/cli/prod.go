package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/khula-cop/khula/internal/api"
	"github.com/khula-cop/khula/internal/app"
	"github.com/khula-cop/khula/internal/store"
)

// connFlags are the flags every production command shares. Secrets (the
// database password, the Temporal API key, payload keys) come from the
// environment or files, never from flags that show in process lists.
type connFlags struct {
	temporalAddress string
	namespace       string
	tlsCert         string
	tlsKey          string
	tlsCA           string
	tlsServerName   string
	apiKeyFile      string
	db              string
	dbFile          string
	keysFile        string
	sitesDir        string
	growthDir       string
}

// add registers every connection flag: the engine's and the database's.
func (f *connFlags) add(fs *pflag.FlagSet) {
	f.addEngine(fs)
	f.addStore(fs)
	fs.StringVar(&f.growthDir, "growth-dir", envOr("KHULA_WHO_GROWTH_DIR", ""), "directory of WHO growth reference tables to use instead of the built-in ones ($KHULA_WHO_GROWTH_DIR)")
}

// addStore registers the flags of a command that works on the database
// only (users, keys, the audit log, migrations): no engine flags in its help.
func (f *connFlags) addStore(fs *pflag.FlagSet) {
	fs.StringVar(&f.db, "db", "", "database: postgres://USER@HOST/DB (no password: use $KHULA_DB or --db-file) or a SQLite file ($KHULA_DB)")
	fs.StringVar(&f.dbFile, "db-file", envOr("KHULA_DB_FILE", ""), "file holding the database URL, e.g. a mounted secret ($KHULA_DB_FILE)")
	fs.StringVar(&f.keysFile, "payload-keys-file", envOr("KHULA_PAYLOAD_KEYS_FILE", ""), "payload keyring file (or $KHULA_PAYLOAD_KEYS)")
	fs.StringVar(&f.sitesDir, "sites-dir", envOr("KHULA_SITES_DIR", ""), "site configurations (default ./sites, else built in) ($KHULA_SITES_DIR)")
}

// addEngine registers the flags that reach the Temporal frontend.
func (f *connFlags) addEngine(fs *pflag.FlagSet) {
	fs.StringVar(&f.temporalAddress, "temporal-address", envOr("KHULA_TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend host:port ($KHULA_TEMPORAL_ADDRESS)")
	fs.StringVar(&f.namespace, "namespace", envOr("KHULA_NAMESPACE", "khula"), "Temporal namespace ($KHULA_NAMESPACE)")
	fs.StringVar(&f.tlsCert, "tls-cert", envOr("KHULA_TLS_CERT", ""), "client certificate for mTLS to Temporal ($KHULA_TLS_CERT)")
	fs.StringVar(&f.tlsKey, "tls-key", envOr("KHULA_TLS_KEY", ""), "client key for mTLS to Temporal ($KHULA_TLS_KEY)")
	fs.StringVar(&f.tlsCA, "tls-ca", envOr("KHULA_TLS_CA", ""), "CA bundle to verify Temporal's certificate ($KHULA_TLS_CA)")
	fs.StringVar(&f.tlsServerName, "tls-server-name", envOr("KHULA_TLS_SERVER_NAME", ""), "server name to verify ($KHULA_TLS_SERVER_NAME)")
	fs.StringVar(&f.apiKeyFile, "temporal-api-key-file", envOr("KHULA_TEMPORAL_API_KEY_FILE", ""), "file holding a Temporal Cloud API key (or $KHULA_TEMPORAL_API_KEY)")
}

// dsn resolves the database URL: the flag (without a password), $KHULA_DB, or a file.
func (f *connFlags) dsn() (string, error) {
	if f.db != "" {
		if u, err := url.Parse(f.db); err == nil && u.User != nil {
			if _, has := u.User.Password(); has {
				return "", errors.New("--db holds a password, which would show in process lists: pass the URL in $KHULA_DB or --db-file")
			}
		}
		return f.db, nil
	}
	if v := os.Getenv("KHULA_DB"); v != "" {
		return v, nil
	}
	if f.dbFile != "" {
		data, err := os.ReadFile(f.dbFile)
		if err != nil {
			return "", fmt.Errorf("--db-file: %w", err)
		}
		return strings.TrimSpace(string(data)), nil
	}
	return "", errors.New("no database: set $KHULA_DB, --db-file or --db")
}

func (f *connFlags) tlsConfig() (*tls.Config, error) {
	if f.tlsCert == "" && f.tlsCA == "" && f.tlsServerName == "" {
		return nil, nil
	}
	cfg := &tls.Config{ServerName: f.tlsServerName, MinVersion: tls.VersionTLS12}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if f.tlsCert != "" {
		pair, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("loading the TLS client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if f.tlsCA != "" {
		pem, err := os.ReadFile(f.tlsCA)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s holds no PEM certificate", f.tlsCA)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

func (f *connFlags) connect(ctx context.Context, g *globals) (*app.Runtime, error) {
	dsn, err := f.dsn()
	if err != nil {
		return nil, err
	}
	keys, err := app.LoadKeys(f.keysFile)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := f.tlsConfig()
	if err != nil {
		return nil, err
	}
	apiKey := os.Getenv("KHULA_TEMPORAL_API_KEY")
	if f.apiKeyFile != "" {
		data, err := os.ReadFile(f.apiKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--temporal-api-key-file: %w", err)
		}
		apiKey = strings.TrimSpace(string(data))
	}
	if apiKey != "" && tlsCfg == nil {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12} // API keys travel over TLS only
	}
	return app.Connect(ctx, app.ConnectOptions{
		TemporalAddress: f.temporalAddress, Namespace: f.namespace, TLS: tlsCfg, APIKey: apiKey, Keys: keys,
		DB: dsn, SitesDir: f.sitesDir, GrowthDir: f.growthDir, Logger: g.logger(),
	})
}

func newServeCmd(g *globals) *cobra.Command {
	var f connFlags
	var addr string
	var demoTime bool
	var trustedProxies []string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the API against an external Temporal and database (production)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			rt, err := f.connect(ctx, g)
			if err != nil {
				return err
			}
			defer rt.Close()
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listening on %s: %w", addr, err)
			}
			fmt.Fprintf(g.stdout, "khula serve: API on http://%s (Temporal %s, namespace %s, database %s)\n", ln.Addr(), f.temporalAddress, f.namespace, rt.Store.Dialect())
			srv := rt.APIServer(demoTime)
			srv.TrustedProxies = trustedProxies
			defer srv.Wait() // before rt.Close: background writes finish first
			return app.Serve(ctx, ln, srv.Handler(), rt.Logger)
		},
	}
	f.add(cmd.Flags())
	cmd.Flags().StringVar(&addr, "addr", envOr("KHULA_ADDR", "0.0.0.0:8080"), "HTTP address ($KHULA_ADDR)")
	cmd.Flags().BoolVar(&demoTime, "allow-compressed-time", envOr("KHULA_ALLOW_COMPRESSED_TIME", "") == "true", "let waves run on compressed time (demonstrations and tests only)")
	cmd.Flags().StringSliceVar(&trustedProxies, "trusted-proxy", splitEnv("KHULA_TRUSTED_PROXIES"), "address or CIDR of a proxy whose X-Forwarded-For names the client, e.g. the ingress's pod network; repeat for several ($KHULA_TRUSTED_PROXIES, comma-separated). Without it the client is the connection's address: behind a proxy, every sign-in then counts against the proxy's address")
	return cmd
}

func newWorkerCmd(g *globals) *cobra.Command {
	var f connFlags
	var siteIDs []string
	var metricsAddr, pluginState string
	var allowPlaceholders bool
	cmd := &cobra.Command{
		Use:   "worker --site SITE",
		Short: "Run the workflows and activities of one or more sites against an external Temporal (production)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if len(siteIDs) == 0 {
				return &ExitError{Code: 2, Err: errors.New("--site is required (repeat it for several sites)")}
			}
			rt, err := f.connect(ctx, g)
			if err != nil {
				return err
			}
			defer rt.Close()
			dir, err := rt.Sites.Only(siteIDs...)
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			// A worker serves children: an example.org address or a TODO
			// in its sites would send a referral nowhere.
			if err := dir.CheckDeployment(); err != nil {
				if !allowPlaceholders {
					return &ExitError{Code: 2, Err: fmt.Errorf("the sites hold placeholders (give --allow-placeholders for a demonstration):\n%w", err)}
				}
				rt.Logger.Warn("the sites hold placeholders; running anyway (--allow-placeholders, a demonstration)", "sites", strings.Join(siteIDs, ","))
			}
			running, err := rt.RunSites(ctx, dir, app.PluginOptions{StateDir: pluginState}, app.WorkerOptions{})
			if err != nil {
				return err
			}
			defer running.Stop() // the workers, then their plugins
			ln, err := net.Listen("tcp", metricsAddr)
			if err != nil {
				return fmt.Errorf("listening on %s: %w", metricsAddr, err)
			}
			fmt.Fprintf(g.stdout, "khula worker: sites %s on Temporal %s; metrics and health on http://%s\n", strings.Join(siteIDs, ", "), f.temporalAddress, ln.Addr())
			return app.Serve(ctx, ln, opsHandler(rt), rt.Logger)
		},
	}
	f.add(cmd.Flags())
	cmd.Flags().StringSliceVar(&siteIDs, "site", splitEnv("KHULA_SITES"), "site to serve; repeat for several ($KHULA_SITES, comma-separated)")
	cmd.Flags().StringVar(&metricsAddr, "metrics-addr", envOr("KHULA_METRICS_ADDR", "0.0.0.0:9090"), "address of /metrics, /healthz and /readyz ($KHULA_METRICS_ADDR)")
	cmd.Flags().BoolVar(&allowPlaceholders, "allow-placeholders", envOr("KHULA_ALLOW_PLACEHOLDERS", "") == "true", "start although the sites hold placeholders (example.org addresses, TODO): demonstrations only ($KHULA_ALLOW_PLACEHOLDERS)")
	cmd.Flags().StringVar(&pluginState, "plugin-state-dir", envOr("KHULA_PLUGIN_STATE_DIR", ""), "durable directory for the plugins' idempotency journals, one worker only ($KHULA_PLUGIN_STATE_DIR)")
	return cmd
}

// opsHandler serves a worker's /metrics, /healthz and /readyz.
func opsHandler(rt *app.Runtime) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	api.HealthRoutes(r, rt.Ready, rt.Logger)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(rt.Prom, promhttp.HandlerOpts{})))
	return r
}

func splitEnv(name string) []string {
	v := os.Getenv(name)
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func newEngineCmd(g *globals) *cobra.Command {
	var dataDir, ip string
	var port int
	cmd := &cobra.Command{
		Use:   "engine",
		Short: "Run only the embedded Temporal server (for a worker and the API in other processes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			e, err := app.StartEngine(ctx, dataDir, ip, port)
			if err != nil {
				return err
			}
			defer e.Stop()
			fmt.Fprintf(g.stdout, "khula engine: Temporal on %s, namespace %s, data in %s\n", e.HostPort(), e.Namespace(), dataDir)
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", envOr("KHULA_DATA_DIR", ".khula"), "where the engine keeps its SQLite file ($KHULA_DATA_DIR)")
	cmd.Flags().StringVar(&ip, "ip", envOr("KHULA_ENGINE_IP", "127.0.0.1"), "address to listen on ($KHULA_ENGINE_IP)")
	cmd.Flags().IntVar(&port, "temporal-port", 7233, "frontend port (0: a free one)")
	return cmd
}

func newMigrateCmd(g *globals) *cobra.Command {
	var f connFlags
	var statusOnly bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the database's pending migrations (run before a new version's serve and workers)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			dsn, err := f.dsn()
			if err != nil {
				return err
			}
			st, err := store.Open(ctx, dsn)
			if err != nil {
				return err
			}
			defer st.Close()
			current, latest, err := st.SchemaVersion(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "database (%s) schema version %d; this khula knows %d\n", st.Dialect(), current, latest)
			if statusOnly || current == latest {
				return nil
			}
			n, err := st.Migrate(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "applied %d migration(s)\n", n)
			return nil
		},
	}
	f.addStore(cmd.Flags())
	cmd.Flags().BoolVar(&statusOnly, "status", false, "only report the schema version")
	return cmd
}

// openStoreWithKeys opens the database with the payload keyring, for
// commands that read sealed fields or sign the audit chain: without the
// keyring they stop with a usage error instead of half working.
func (f *connFlags) openStoreWithKeys(ctx context.Context) (*store.Store, error) {
	dsn, err := f.dsn()
	if err != nil {
		return nil, &ExitError{Code: 2, Err: err}
	}
	keys, err := app.LoadKeys(f.keysFile)
	if err != nil {
		return nil, &ExitError{Code: 2, Err: fmt.Errorf("%w (the audit chain is signed with a key derived from it)", err)}
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	st.SetFieldCipher(keys)
	return st, nil
}
